//! What the core produces for one input: encoded frames per connection, closes, route
//! tables, and the silent user refreshes gathered during the operation.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use conference_proto::frame::encode_control;
use conference_proto::message::StateId;
use conference_proto::{ErrorCode, pb};

use super::state::{Directory, Kind, Room};
use super::{ConnId, UserId};

/// Subscribers of each stream of one sender, indexed by stream type − 1; `None` = the sender
/// may not send that stream (not in a room, or aux slot not held): its frames are dropped.
pub type StreamRoutes = [Option<Arc<[ConnId]>>; 4];

/// One effect for the transport.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// An encoded control frame (a `ServerMessage`) for one connection.
    Send { conn: ConnId, frame: Bytes },
    /// Send `Bye{code}` after everything queued, then close. The core has forgotten the
    /// connection.
    Close { conn: ConnId, code: ErrorCode },
    /// The complete forwarding table of a sender.
    Routes {
        conn: ConnId,
        user_id: UserId,
        streams: StreamRoutes,
    },
}

/// An event to send: its id, result, subject (whose snapshot it carries) and extra.
pub struct Ev {
    pub state: StateId,
    /// The event's `result` (a number only on the wire).
    pub result: Result<(), ErrorCode>,
    pub subject: Option<UserId>,
    pub extra: Option<pb::event::Extra>,
}

impl Ev {
    pub fn new(state: StateId, subject: Option<UserId>) -> Ev {
        Ev {
            state,
            result: Ok(()),
            subject,
            extra: None,
        }
    }

    pub fn result(self, result: Result<(), ErrorCode>) -> Ev {
        Ev { result, ..self }
    }

    pub fn with(self, extra: Option<pb::event::Extra>) -> Ev {
        Ev { extra, ..self }
    }
}

/// Collects outputs; per-receiver user snapshots are encoded once per distinct variant.
#[derive(Default)]
pub struct Outbox {
    /// Forwarding tables and `StreamDemand` messages: applied before `out` (see
    /// `Core::handle`).
    pub routing: Vec<Output>,
    pub out: Vec<Output>,
    /// (receiver, subject) pairs whose visible user state changed without an event.
    pub refresh: BTreeSet<(UserId, UserId)>,
    /// Senders whose forwarding table changed.
    pub routes: BTreeSet<UserId>,
    /// Senders told in this input that a stream of theirs is now watched, with the message's
    /// sequence number.
    pub demand_raised: Vec<(UserId, u32)>,
}

/// `user_info_t` of `subject` as seen by `receiver`.
pub fn user_info(dir: &Directory, room: &Room, subject: UserId, receiver: UserId) -> pb::UserInfo {
    let account = dir.get(subject);
    let member = room.members.get(&subject);
    pb::UserInfo {
        id: subject,
        username: account.map(|a| a.username.clone()).unwrap_or_default(),
        nickname: account.map(|a| a.nickname.clone()).unwrap_or_default(),
        is_master: room.master == Some(subject),
        is_chair: dir.is_chair(subject),
        bcast_video: member.is_some_and(|m| m.bcast_video),
        bcast_audio: member.is_some_and(|m| m.bcast_audio),
        aux_slots: room.aux_bits(subject),
        signal_status: member.map_or(0, |m| u32::from(m.signal)),
        auth_video: u32::from(room.auth_field(dir, receiver, subject, Kind::Video)),
        auth_audio: u32::from(room.auth_field(dir, receiver, subject, Kind::Audio)),
        audio_state: member.map_or(0, |m| u32::from(m.audio_state)),
    }
}

pub fn encode(message: &pb::ServerMessage) -> Bytes {
    encode_control(message)
}

impl Outbox {
    pub fn send(&mut self, conn: ConnId, message: &pb::ServerMessage) {
        self.out.push(Output::Send {
            conn,
            frame: encode(message),
        });
    }

    /// The answer to a request: accepted, or refused with its code (numbers only on the wire).
    pub fn respond(&mut self, conn: ConnId, request_id: u32, result: Result<(), ErrorCode>) {
        let code = conference_proto::codes::result_code(result);
        self.send(conn, &pb::ServerMessage::response(request_id, code, None));
    }

    /// Sends one event to each receiver (members of `room`), with `subject`'s snapshot as seen
    /// by that receiver. Receivers that see the same snapshot share one encoded frame.
    pub fn fanout(
        &mut self,
        dir: &Directory,
        room: &Room,
        receivers: impl IntoIterator<Item = UserId>,
        ev: Ev,
    ) {
        // Only auth_video/auth_audio depend on the receiver: 3 × 3 variants.
        let mut cache: [Option<Bytes>; 9] = Default::default();
        for receiver in receivers {
            let Some(member) = room.members.get(&receiver) else {
                continue;
            };
            let slot = match ev.subject {
                Some(subject) => {
                    let video = room.auth_field(dir, receiver, subject, Kind::Video);
                    let audio = room.auth_field(dir, receiver, subject, Kind::Audio);
                    usize::from(video * 3 + audio)
                }
                None => 0,
            };
            let frame = cache[slot]
                .get_or_insert_with(|| {
                    let user = ev.subject.map(|s| user_info(dir, room, s, receiver));
                    let mut event = pb::Event::new(
                        ev.state,
                        conference_proto::codes::result_code(ev.result),
                        user,
                    );
                    event.extra = ev.extra.clone();
                    encode(&pb::ServerMessage::event(event))
                })
                .clone();
            self.out.push(Output::Send {
                conn: member.conn,
                frame,
            });
        }
    }

    /// Sends an event to every member of the room.
    pub fn all(&mut self, dir: &Directory, room: &Room, ev: Ev) {
        let receivers: Vec<UserId> = room.members.keys().copied().collect();
        self.fanout(dir, room, receivers, ev);
    }

    /// Sends an event to every member of the room but `except`.
    pub fn others(&mut self, dir: &Directory, room: &Room, except: UserId, ev: Ev) {
        let receivers: Vec<UserId> = room
            .members
            .keys()
            .copied()
            .filter(|&u| u != except)
            .collect();
        self.fanout(dir, room, receivers, ev);
    }

    /// Sends an event to one member.
    pub fn one(&mut self, dir: &Directory, room: &Room, receiver: UserId, ev: Ev) {
        self.fanout(dir, room, [receiver], ev);
    }

    /// Marks that `receiver`'s view of every member changed (its moderator status did).
    pub fn refresh_all_for(&mut self, room: &Room, receiver: UserId) {
        for &subject in room.members.keys() {
            if subject != receiver {
                self.refresh.insert((receiver, subject));
            }
        }
    }

    /// Emits the gathered refreshes as one `UserUpdate` per receiver still in the room.
    pub fn flush_refresh(&mut self, dir: &Directory, room: &Room) {
        let refresh = std::mem::take(&mut self.refresh);
        let mut current: Option<(UserId, Vec<pb::UserInfo>)> = None;
        for (receiver, subject) in refresh {
            if !room.contains(receiver) || !room.contains(subject) {
                continue;
            }
            if current.as_ref().is_some_and(|(r, _)| *r != receiver) {
                self.emit_update(room, current.take());
            }
            current
                .get_or_insert_with(|| (receiver, Vec::new()))
                .1
                .push(user_info(dir, room, subject, receiver));
        }
        self.emit_update(room, current);
    }

    fn emit_update(&mut self, room: &Room, update: Option<(UserId, Vec<pb::UserInfo>)>) {
        let Some((receiver, users)) = update else {
            return;
        };
        let Some(member) = room.members.get(&receiver) else {
            return;
        };
        let message = pb::ServerMessage::of(pb::server_message::Body::UserUpdate(pb::UserUpdate {
            users,
        }));
        self.send(member.conn, &message);
    }

    /// Emits the forwarding tables of the senders marked during the operation, and a
    /// `StreamDemand` to each of them that takes it and whose set of watched streams changed.
    pub fn flush_routes(&mut self, room: &mut Room) {
        for user in std::mem::take(&mut self.routes) {
            let Some(member) = room.members.get(&user) else {
                continue;
            };
            let streams: StreamRoutes = std::array::from_fn(|index| {
                let stream = conference_proto::MediaType::ALL[index];
                let allowed = match stream.aux_slot() {
                    Some(slot) => room.aux[slot] == Some(user),
                    None => true,
                };
                allowed.then(|| {
                    member.viewers[index]
                        .iter()
                        .filter_map(|viewer| room.members.get(viewer).map(|m| m.conn))
                        .collect::<Arc<[ConnId]>>()
                })
            });
            let conn = member.conn;
            let watched = watched_bits(&streams);
            // The table first: what the sender sends once told its stream is watched must
            // find the new subscribers.
            self.routing.push(Output::Routes {
                conn,
                user_id: user,
                streams,
            });
            if let Some(member) = room.members.get_mut(&user)
                && let Some(told) = member.demand.as_mut()
                && *told != watched
            {
                let raised = watched & !*told != 0;
                *told = watched;
                member.demand_seq = member.demand_seq.wrapping_add(1);
                let seq = member.demand_seq;
                if raised {
                    self.demand_raised.push((user, seq));
                }
                let message = pb::ServerMessage::of(pb::server_message::Body::StreamDemand(
                    pb::StreamDemand {
                        watched: u32::from(watched),
                        seq,
                    },
                ));
                self.routing.push(Output::Send {
                    conn,
                    frame: encode(&message),
                });
            }
        }
    }
}

/// Bit (stream type − 1) set for each stream that may be sent and has a subscriber.
fn watched_bits(streams: &StreamRoutes) -> u8 {
    streams
        .iter()
        .enumerate()
        .filter(|(_, subs)| subs.as_ref().is_some_and(|subs| !subs.is_empty()))
        .fold(0, |bits, (index, _)| bits | 1 << index)
}
