//! The join path of a fleet node: is the room here, elsewhere, or nowhere yet?
//!
//! Common cases read the local [`View`](super::placement::View) only (no NATS round trip):
//! a room homed here while this node's lease is held, a room homed on a live node
//! (redirect), a join carrying a valid token for this node. NATS is asked when the room is
//! unplaced, its home looks dead, or this node's lease lapsed (frozen, cut off).

use std::time::{Duration, Instant};

use conference_proto::{ErrorCode, pb};

use super::kv::{self, Cas};
use super::metrics::Counters;
use super::placement::{self, NodeRecord, Placed, Placement};
use super::token::{self, Claims};
use super::{Fleet, random_below, unix_ms};
use crate::room::{RoomId, UserId};

/// What becomes of a JoinRoom.
#[derive(Debug)]
pub enum Admit {
    /// The room is (now) homed here: the room core handles the join.
    Local,
    /// Answered here: a redirect (`retCode_ServerFull` + `Redirect`) or a refusal.
    Answer {
        code: ErrorCode,
        redirect: Option<pb::Redirect>,
    },
}

/// NATS cannot be asked: no new placement now.
const UNAVAILABLE: Admit = Admit::Answer {
    code: ErrorCode::ServerCascadeFailure,
    redirect: None,
};

/// Attempts when placements race (each loss re-reads the winner's).
const ATTEMPTS: usize = 3;

impl Fleet {
    /// Decides a `JoinRoom{room}` of `user` that carried `token` (empty: none).
    pub async fn admit_join(&self, user: UserId, room: RoomId, token: &[u8]) -> Admit {
        let now = Instant::now();
        let cached = {
            let state = self.state.lock();
            if !state.configured.contains(&room) {
                // The core answers retCode_RoomUnexist.
                return Admit::Local;
            }
            state.view.rooms.get(&room).cloned()
        };
        if let Some(claims) = self.valid_token(token, user, room)
            && cached
                .as_ref()
                .is_none_or(|p| p.revision <= claims.revision)
            && self.lease_held(now)
        {
            // The placing node sent the client here: trust it over a view that may lag.
            self.admitted(room, claims.revision);
            return Admit::Local;
        }
        match cached {
            Some(placed) if placed.placement.home == self.settings.node => {
                if self.lease_held(now) {
                    self.admitted(room, placed.revision);
                    return Admit::Local;
                }
                self.confirm_own(user, room).await
            }
            Some(placed) => {
                let home = self.live_record(&placed.placement.home, now);
                match home {
                    Some(home) => self.redirect(user, room, placed.revision, &home),
                    None => self.place(user, room).await,
                }
            }
            None => self.place(user, room).await,
        }
    }

    fn valid_token(&self, token: &[u8], user: UserId, room: RoomId) -> Option<Claims> {
        if token.is_empty() {
            return None;
        }
        let claims = token::verify(self.secret.get()?, token, unix_ms())?;
        (claims.user == user && claims.room == room && claims.node == self.settings.node)
            .then_some(claims)
    }

    fn lease_held(&self, now: Instant) -> bool {
        self.state
            .lock()
            .lease_until
            .is_some_and(|until| until > now)
    }

    fn live_record(&self, name: &str, now: Instant) -> Option<NodeRecord> {
        let state = self.state.lock();
        state.view.alive(name, now, self.settings.lease).cloned()
    }

    /// Records that users enter `room` under the placement at `revision`.
    fn admitted(&self, room: RoomId, revision: u64) {
        let mut state = self.state.lock();
        let entry = state.admitted.entry(room).or_insert(revision);
        *entry = (*entry).max(revision);
    }

    /// `revision`: the placement's, the token's fencing number (KV revisions only grow, also
    /// across a release and a new placement, where the epoch starts again).
    fn redirect(&self, user: UserId, room: RoomId, revision: u64, home: &NodeRecord) -> Admit {
        let Some(secret) = self.secret.get() else {
            return UNAVAILABLE;
        };
        let expires_unix_ms = unix_ms() + self.settings.token_ttl.as_millis() as u64;
        let claims = Claims {
            room,
            user,
            node: home.name.clone(),
            revision,
            expires_unix_ms,
        };
        tracing::debug!(room, user, home = %home.name, "join redirected");
        Admit::Answer {
            code: ErrorCode::ServerFull,
            redirect: Some(pb::Redirect {
                address: home.address.clone(),
                token: token::sign(secret, &claims).into(),
                expires_unix_ms,
                node: home.name.clone(),
                room_id: room,
            }),
        }
    }

    /// Where a placement read from NATS sends the join.
    fn route(&self, user: UserId, room: RoomId, placed: Placed, home: &NodeRecord) -> Admit {
        let (revision, here) = (placed.revision, placed.placement.home == self.settings.node);
        self.state.lock().view.learn(room, placed);
        if here {
            self.admitted(room, revision);
            return Admit::Local;
        }
        self.redirect(user, room, revision, home)
    }

    /// The room is unplaced or its home looks dead: settle it in NATS (create-if-absent or
    /// compare-and-set), then route the join.
    async fn place(&self, user: UserId, room: RoomId) -> Admit {
        let Some(stores) = self.stores.get() else {
            return UNAVAILABLE;
        };
        for _ in 0..ATTEMPTS {
            let current = match kv::placement(stores, room).await {
                Ok(current) => current,
                Err(err) => {
                    tracing::warn!(room, "placement refused, NATS unavailable: {err}");
                    return UNAVAILABLE;
                }
            };
            let (epoch, revision) = match &current {
                Some(placed) => match kv::node(stores, &placed.placement.home).await {
                    Ok(Some((home, _))) => return self.route(user, room, placed.clone(), &home),
                    // A home without a heartbeat is dead, unless NATS itself just stalled.
                    Ok(None) if self.settled(Instant::now()) => {
                        (placed.placement.epoch + 1, Some(placed.revision))
                    }
                    Ok(None) => return UNAVAILABLE,
                    Err(_) => return UNAVAILABLE,
                },
                None => (1, None),
            };
            let Some(target) = self.choose_home() else {
                tracing::warn!(room, "no serving node can take the room");
                return UNAVAILABLE;
            };
            let placement = Placement {
                home: target.name.clone(),
                epoch,
            };
            let written = match revision {
                Some(revision) => kv::update_placement(stores, room, &placement, revision).await,
                None => kv::create_placement(stores, room, &placement).await,
            };
            match written {
                Cas::Done(revision) => {
                    Counters::add(&self.counters.placed);
                    tracing::info!(room, home = %placement.home, epoch, "room placed");
                    return self.route(
                        user,
                        room,
                        Placed {
                            placement,
                            revision,
                        },
                        &target,
                    );
                }
                Cas::Conflict => continue,
                Cas::Unavailable(err) => {
                    tracing::warn!(room, "placement refused, NATS unavailable: {err}");
                    return UNAVAILABLE;
                }
            }
        }
        UNAVAILABLE
    }

    /// The home for a new placement: the less loaded of two random serving nodes (this one
    /// among them while it holds its lease and is not draining).
    pub(super) fn choose_home(&self) -> Option<NodeRecord> {
        let now = Instant::now();
        let state = self.state.lock();
        let lease_held = state.lease_until.is_some_and(|until| until > now);
        let candidates: Vec<&NodeRecord> = state
            .view
            .serving(now, self.settings.lease)
            .into_iter()
            .filter(|node| node.name != self.settings.node || (lease_held && !self.draining()))
            .collect();
        let homes = state.view.homes();
        placement::choose(&candidates, &homes, random_below).cloned()
    }

    /// A join for a room homed here while this node's lease lapsed (it was frozen or cut off
    /// from NATS): renew the lease, then fence the placement with a compare-and-set, so a
    /// node that meant to move the room meanwhile fails. Without NATS a running lesson keeps
    /// taking its users back; an empty room is refused.
    async fn confirm_own(&self, user: UserId, room: RoomId) -> Admit {
        let Some(stores) = self.stores.get() else {
            return self.without_nats(room);
        };
        if self.heartbeat(stores).await.is_err() {
            return self.without_nats(room);
        }
        match kv::placement(stores, room).await {
            Ok(Some(placed)) if placed.placement.home == self.settings.node => {
                match kv::update_placement(stores, room, &placed.placement, placed.revision).await {
                    Cas::Done(revision) => {
                        let placed = Placed {
                            placement: placed.placement,
                            revision,
                        };
                        let me = self.state.lock().record.clone();
                        match me {
                            Some(me) => self.route(user, room, placed, &me),
                            None => self.without_nats(room),
                        }
                    }
                    Cas::Conflict => self.place(user, room).await,
                    Cas::Unavailable(_) => self.without_nats(room),
                }
            }
            Ok(_) => self.place(user, room).await,
            Err(_) => self.without_nats(room),
        }
    }

    fn without_nats(&self, room: RoomId) -> Admit {
        let running = self.state.lock().local.get(&room).copied().unwrap_or(0) > 0;
        if running {
            return Admit::Local;
        }
        UNAVAILABLE
    }
}

/// How long a join may wait on NATS before the client is told to come back later.
const JOIN_BUDGET: Duration = Duration::from_secs(5);

impl Fleet {
    /// For the connection task: `None` lets the room core take the JoinRoom in `frame`;
    /// `Some` is the encoded answer to send instead.
    pub async fn gate_join(
        &self,
        user: UserId,
        request_id: u32,
        room: RoomId,
        frame: &conference_proto::RawFrame,
    ) -> Option<bytes::Bytes> {
        let token = redirect_token(frame);
        let admit = tokio::time::timeout(JOIN_BUDGET, self.admit_join(user, room, &token))
            .await
            .unwrap_or(UNAVAILABLE);
        let Admit::Answer { code, redirect } = admit else {
            Counters::add(&self.counters.joins_local);
            return None;
        };
        match redirect {
            Some(_) => Counters::add(&self.counters.redirects),
            None => Counters::add(&self.counters.refused),
        }
        let message = pb::ServerMessage::response(
            request_id,
            code.code(),
            redirect.map(pb::response::Result::Redirect),
        );
        Some(conference_proto::frame::encode_control(&message))
    }
}

/// The token a `JoinRoom` frame carries (`ClientMessage.redirect_token`).
pub fn redirect_token(frame: &conference_proto::RawFrame) -> bytes::Bytes {
    conference_proto::frame::decode_control::<pb::ClientMessage>(frame)
        .map(|message| message.redirect_token)
        .unwrap_or_default()
}
