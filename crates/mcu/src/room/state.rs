//! Room and member state, and the authorisation rule (SPEC §5).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Instant;

use conference_proto::{AUX_SLOTS, MediaType};

use super::{ConnId, RoomId, UserId};
use crate::config::{Account, RoomSpec};

/// Audio or video, for grants, broadcasts and invitations.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Video,
    Audio,
}

impl Kind {
    pub fn of_stream(stream: MediaType) -> Kind {
        if stream.is_video() {
            Kind::Video
        } else {
            Kind::Audio
        }
    }
}

/// The accounts, immutable while the server runs.
pub struct Directory {
    accounts: HashMap<UserId, Account>,
}

impl Directory {
    pub fn new(accounts: &[Account]) -> Self {
        Directory {
            accounts: accounts.iter().map(|a| (a.id, a.clone())).collect(),
        }
    }

    pub fn get(&self, id: UserId) -> Option<&Account> {
        self.accounts.get(&id)
    }

    pub fn is_chair(&self, id: UserId) -> bool {
        self.accounts.get(&id).is_some_and(|a| a.chair)
    }
}

/// Index of a stream type in per-stream arrays.
pub fn stream_index(stream: MediaType) -> usize {
    stream as usize - 1
}

/// LOOKED throttling state of one stream of a sender.
#[derive(Default, Clone, Copy)]
pub struct LookedThrottle {
    pub last_sent: Option<Instant>,
    /// A viewer whose LOOKED was held back by the throttle.
    pub pending: Option<UserId>,
}

/// One user inside a room.
pub struct Member {
    pub conn: ConnId,
    /// Position in the room's join order (from [`Room::next_join_seq`]): the roster's order.
    pub join_seq: u64,
    /// 0 silent, 1 hand raised, 2 talking.
    pub audio_state: u8,
    pub bcast_video: bool,
    pub bcast_audio: bool,
    pub signal: u8,
    /// Who is subscribed to each of this user's streams (indexed by [`stream_index`]).
    pub viewers: [BTreeSet<UserId>; 4],
    /// The streams this user is subscribed to.
    pub watching: BTreeSet<(UserId, MediaType)>,
    pub looked: [LookedThrottle; 4],
    /// The watched-stream bits last told to a client that takes `StreamDemand`; `None` for a
    /// client that sends everything.
    pub demand: Option<u8>,
    /// Sequence number of the last `StreamDemand` sent, and the last one acknowledged.
    pub demand_seq: u32,
    pub demand_acked: u32,
}

impl Member {
    pub fn new(conn: ConnId, join_seq: u64, signal: u8, stream_demand: bool) -> Self {
        Member {
            conn,
            join_seq,
            audio_state: 0,
            bcast_video: false,
            bcast_audio: false,
            signal,
            viewers: Default::default(),
            watching: BTreeSet::new(),
            looked: Default::default(),
            demand: stream_demand.then_some(0),
            demand_seq: 0,
            demand_acked: 0,
        }
    }

    pub fn bcast(&self, kind: Kind) -> bool {
        match kind {
            Kind::Video => self.bcast_video,
            Kind::Audio => self.bcast_audio,
        }
    }
}

/// A pending or accepted invitation / join request between two users for one kind.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct InviteState {
    /// Sent by a listener (a join request) rather than by the master (an invitation).
    pub join: bool,
    pub accepted: bool,
}

pub struct Room {
    pub spec: RoomSpec,
    pub members: BTreeMap<UserId, Member>,
    pub master: Option<UserId>,
    pub interact: Option<UserId>,
    pub aux: [Option<UserId>; AUX_SLOTS],
    /// (src, dst, kind): dst may pull src's stream of that kind.
    pub grants: HashSet<(UserId, UserId, Kind)>,
    /// (from, to, kind) → state. At most one entry per unordered pair and kind.
    pub invites: BTreeMap<(UserId, UserId, Kind), InviteState>,
    /// The next member's [`Member::join_seq`].
    pub next_join_seq: u64,
}

impl Room {
    pub fn new(spec: RoomSpec) -> Self {
        Room {
            spec,
            members: BTreeMap::new(),
            master: None,
            interact: None,
            aux: [None; AUX_SLOTS],
            grants: HashSet::new(),
            invites: BTreeMap::new(),
            next_join_seq: 0,
        }
    }

    pub fn id(&self) -> RoomId {
        self.spec.id
    }

    /// The members in join order (the order of the roster a joiner receives).
    pub fn members_in_join_order(&self) -> Vec<UserId> {
        let mut users: Vec<_> = self.members.iter().map(|(&u, m)| (m.join_seq, u)).collect();
        users.sort_unstable();
        users.into_iter().map(|(_, u)| u).collect()
    }

    pub fn contains(&self, user: UserId) -> bool {
        self.members.contains_key(&user)
    }

    pub fn is_moderator(&self, dir: &Directory, user: UserId) -> bool {
        self.master == Some(user) || dir.is_chair(user)
    }

    pub fn aux_bits(&self, user: UserId) -> u32 {
        self.aux
            .iter()
            .enumerate()
            .filter(|(_, holder)| **holder == Some(user))
            .fold(0, |bits, (slot, _)| bits | 1 << slot)
    }

    /// True while `a` and `b` are the master and the interactive user.
    pub fn interact_pair(&self, a: UserId, b: UserId) -> bool {
        match (self.master, self.interact) {
            (Some(m), Some(i)) => (a == m && b == i) || (a == i && b == m),
            _ => false,
        }
    }

    /// The invitation entry between `a` and `b` for `kind`, in either direction.
    pub fn invite_between(
        &self,
        a: UserId,
        b: UserId,
        kind: Kind,
    ) -> Option<((UserId, UserId, Kind), InviteState)> {
        [(a, b, kind), (b, a, kind)]
            .into_iter()
            .find_map(|key| self.invites.get(&key).map(|state| (key, *state)))
    }

    /// May `viewer` pull `src`'s `stream`? (SPEC §5; aux slots are room-wide: anyone may.)
    pub fn authorised(
        &self,
        dir: &Directory,
        viewer: UserId,
        src: UserId,
        stream: MediaType,
    ) -> bool {
        if stream.aux_slot().is_some() {
            return true;
        }
        self.authorised_kind(dir, viewer, src, Kind::of_stream(stream))
    }

    pub fn authorised_kind(
        &self,
        dir: &Directory,
        viewer: UserId,
        src: UserId,
        kind: Kind,
    ) -> bool {
        viewer == src
            || self.is_moderator(dir, viewer)
            || self.members.get(&src).is_some_and(|m| m.bcast(kind))
            || self.grants.contains(&(src, viewer, kind))
            || self.interact_pair(viewer, src)
            || self
                .invite_between(viewer, src, kind)
                .is_some_and(|(_, state)| state.accepted)
    }

    /// `m_u8AuthVideo`/`m_u8AuthAudio` of `subject` as seen by `receiver`.
    pub fn auth_field(&self, dir: &Directory, receiver: UserId, subject: UserId, kind: Kind) -> u8 {
        if self.authorised_kind(dir, receiver, subject, kind) {
            2
        } else if self.invite_between(receiver, subject, kind).is_some() {
            1
        } else {
            0
        }
    }

    /// Outgoing pending invitations of `user`.
    pub fn pending_from(&self, user: UserId) -> usize {
        self.invites
            .range((user, 0, Kind::Video)..=(user, UserId::MAX, Kind::Audio))
            .filter(|(_, state)| !state.accepted)
            .count()
    }
}
