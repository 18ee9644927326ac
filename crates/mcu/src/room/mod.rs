//! The room core: a plain state machine with no I/O.
//!
//! Input: (connection id, decoded request) and a few transport notices; output: encoded
//! frames per connection, closes, and forwarding-table updates ([`Output`]). The transport
//! applies the outputs in order, so every client sees a request's events before its response.

mod ops;
mod outbox;
mod state;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use conference_proto::pb;
use conference_proto::pb::client_message::Body;
use conference_proto::{ErrorCode, MediaType};

use outbox::Outbox;
pub use outbox::{Output, StreamRoutes};
use state::{Directory, Room};

use crate::config::Config;
use crate::ratelimit::TokenBucket;

/// How often a room in its last second is checked for its end.
const ROOM_END_POLL: Duration = Duration::from_millis(100);

/// Transport-assigned connection id.
pub type ConnId = u64;
pub type UserId = u32;
pub type RoomId = u32;

/// The clock of one input: monotonic for throttles, wall clock for room opening times.
#[derive(Copy, Clone, Debug)]
pub struct Now {
    pub mono: Instant,
    pub unix: i64,
}

impl Now {
    pub fn system() -> Now {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Now {
            mono: Instant::now(),
            unix,
        }
    }
}

/// What the transport hands the core.
#[derive(Debug, Clone)]
pub enum Input {
    /// Credentials of `conn` were verified for account `user`.
    Login {
        conn: ConnId,
        request_id: u32,
        user: UserId,
        /// The client asked for `StreamDemand` (it withholds unwatched streams).
        stream_demand: bool,
        /// The SCRAM server-final-message for `LoginResult` (empty after a legacy login).
        scram_final: String,
        /// The client asked to be resumable and the MCU keeps sessions: what `LoginResult`
        /// tells it (docs/PROTOCOL.md §8).
        resume: Option<ResumeGrant>,
    },
    /// A request of a logged-in connection.
    Request {
        conn: ConnId,
        request_id: u32,
        body: Body,
    },
    /// The signal status measured from heartbeats changed.
    Signal { conn: ConnId, status: u8 },
    /// The connection is gone (EOF, error, dead peer, Goodbye, protocol violation).
    Disconnected { conn: ConnId },
    /// The link of a resumable session is gone: the user stays, with signal 0, for the
    /// resume window.
    Suspended { conn: ConnId },
    /// The suspended session is on a new link (the transport has replayed what it missed).
    Resumed { conn: ConnId },
    /// At [`Core::poll_timeout`]: flushes throttled LOOKED events, releases held answers,
    /// closes rooms past their end time, releases sessions suspended past the window.
    Tick,
    /// Server shutdown: every client is told, then closed.
    Shutdown,
    /// An operator (admin API) removes `user` from `room`: like a moderator's kick.
    AdminKick { room: RoomId, user: UserId },
    /// An operator closes `room`: its users get `ROOM_EXIT` with `retCode_RoomClosed`; the
    /// room stays configured (it can be joined again).
    AdminCloseRoom { room: RoomId },
    /// An operator's notice to everyone in `room`: a `USER_CHAT` from no user (`src_id` 0).
    AdminNotice {
        room: RoomId,
        text: String,
        color: i32,
    },
    /// A reread configuration: rooms added, changed and removed (users of a removed room
    /// get `ROOM_EXIT` with `retCode_RoomClosed`), accounts replaced.
    Reload(Box<Config>),
    /// The fleet moved `room` to another node: its users here get `ROOM_EXIT` and `Bye`
    /// with `code` and are closed (docs/CLUSTER.md).
    Evict { room: RoomId, code: ErrorCode },
    /// The fleet as its node sees it now (replaces the last).
    FleetView {
        /// Users of rooms homed on other nodes (room lists show them).
        remote_users: HashMap<RoomId, u32>,
        /// Other live serving nodes' client addresses (logins tell them).
        other_nodes: Vec<String>,
    },
}

/// What a resumable login is told beside its user id.
#[derive(Debug, Clone)]
pub struct ResumeGrant {
    pub token: bytes::Bytes,
    /// Sent only after a legacy (password) login, over TLS: a SCRAM login derives it.
    pub key: bytes::Bytes,
}

/// One room as the admin API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoomSnapshot {
    pub id: RoomId,
    pub name: String,
    pub max_users: u32,
    pub master: Option<UserId>,
    pub users: Vec<UserSnapshot>,
}

/// One room member as the admin API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserSnapshot {
    pub id: UserId,
    pub username: String,
    pub nickname: String,
    pub chair: bool,
    pub master: bool,
    pub hand_raised: bool,
    pub talking: bool,
    /// Bit i set: holds auxiliary slot i.
    pub aux: u32,
    pub bcast_video: bool,
    pub bcast_audio: bool,
    /// `m_u8SignalStatus` (0..=5).
    pub signal: u8,
    /// Number of streams this user pulls.
    pub watching: usize,
    /// The streams it pulls: (sender, stream type).
    pub subscriptions: Vec<SubscriptionSnapshot>,
}

/// One stream a user pulls.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SubscriptionSnapshot {
    pub user: UserId,
    /// `audio`, `video_major`, `video_minor`, `video_minor2`.
    pub stream: &'static str,
}

/// Limits that protect the server from one client.
#[derive(Clone, Debug)]
pub struct Limits {
    pub chat_per_sec: f64,
    pub chat_burst: f64,
    pub data_per_sec: f64,
    pub data_burst: f64,
    pub data_bytes_per_sec: f64,
    pub data_bytes_burst: f64,
    pub max_pending_invites: usize,
    pub looked_interval: Duration,
    /// Longest a subscriber's answer waits for the sender to acknowledge its `StreamDemand`.
    pub demand_ack_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            chat_per_sec: 5.0,
            chat_burst: 10.0,
            data_per_sec: 20.0,
            data_burst: 40.0,
            data_bytes_per_sec: 512.0 * 1024.0,
            data_bytes_burst: 1024.0 * 1024.0,
            max_pending_invites: 32,
            looked_interval: Duration::from_millis(500),
            demand_ack_timeout: Duration::from_secs(1),
        }
    }
}

/// A logged-in connection.
struct Session {
    user: UserId,
    room: Option<RoomId>,
    signal: u8,
    /// The client asked for `StreamDemand` messages.
    stream_demand: bool,
    /// Its link is gone since then; it is released when the resume window has passed.
    suspended_since: Option<Instant>,
    chat: TokenBucket,
    data: TokenBucket,
    data_bytes: TokenBucket,
}

pub struct Core {
    dir: Directory,
    rooms: BTreeMap<RoomId, Room>,
    sessions: HashMap<ConnId, Session>,
    online: HashMap<UserId, ConnId>,
    limits: Limits,
    server_name: String,
    heartbeat_ms: u32,
    resume_window: Duration,
    /// Streams with a LOOKED held back by the throttle: (room, sender, stream index).
    looked_pending: BTreeSet<(RoomId, UserId, usize)>,
    /// LOOKED ctrl 1 sent to senders (each asks for a key frame), since the start.
    key_frame_requests: u64,
    /// Subscribers' answers waiting for the sender to acknowledge its `StreamDemand`.
    held: Vec<HeldResponse>,
    /// Users of rooms homed on other fleet nodes, as the fleet last said.
    remote_users: HashMap<RoomId, u32>,
    /// Other fleet nodes' client addresses, as the fleet last said.
    other_nodes: Vec<String>,
    outbox: Outbox,
}

/// A successful answer to a subscription that made a stream of `sender` watched: it goes out
/// once the sender has applied the news (or left, or after `demand_ack_timeout`), so whatever
/// the subscriber's application does next, the sender's SDK already sends the stream.
struct HeldResponse {
    room: RoomId,
    sender: UserId,
    seq: u32,
    conn: ConnId,
    request_id: u32,
    since: Instant,
}

/// Per-request context: who asks, when.
struct Caller {
    conn: ConnId,
    user: UserId,
    request_id: u32,
    now: Now,
}

type OpResult = Result<(), ErrorCode>;

impl Core {
    pub fn new(config: &Config, limits: Limits) -> Self {
        Core {
            dir: Directory::new(&config.accounts),
            rooms: config
                .rooms
                .iter()
                .map(|spec| (spec.id, Room::new(spec.clone())))
                .collect(),
            sessions: HashMap::new(),
            online: HashMap::new(),
            limits,
            server_name: config.server_name.clone(),
            heartbeat_ms: config.heartbeat_ms,
            resume_window: Duration::from_millis(u64::from(config.resume_window_ms)),
            looked_pending: BTreeSet::new(),
            key_frame_requests: 0,
            held: Vec::new(),
            remote_users: HashMap::new(),
            other_nodes: Vec::new(),
            outbox: Outbox::default(),
        }
    }

    /// Handles one input, appending its effects to `out` in the order they must happen.
    pub fn handle(&mut self, now: Now, input: Input, out: &mut Vec<Output>) {
        match input {
            Input::Login {
                conn,
                request_id,
                user,
                stream_demand,
                scram_final,
                resume,
            } => self.login(
                now,
                conn,
                request_id,
                user,
                ops::LoginOptions {
                    stream_demand,
                    scram_final,
                    resume,
                },
            ),
            Input::Request {
                conn,
                request_id,
                body,
            } => self.request(now, conn, request_id, body),
            Input::Signal { conn, status } => self.signal(conn, status.min(5)),
            Input::Disconnected { conn } => self.disconnect(conn),
            Input::Suspended { conn } => self.suspend(now, conn),
            Input::Resumed { conn } => self.resume(conn),
            Input::Tick => self.tick(now),
            Input::Shutdown => self.shutdown(),
            Input::AdminKick { room, user } => {
                let _ = self.admin_kick(room, user);
            }
            Input::Reload(config) => self.reload(&config),
            Input::AdminCloseRoom { room } => self.admin_close_room(room),
            Input::AdminNotice { room, text, color } => self.admin_notice(room, text, color),
            Input::Evict { room, code } => self.evict_room(room, code),
            Input::FleetView {
                remote_users,
                other_nodes,
            } => {
                self.remote_users = remote_users;
                self.other_nodes = other_nodes;
            }
        }
        self.outbox.demand_raised.clear();
        self.release_held(now);
        // Routing first: a sender learns that a stream is watched (and its table is in place)
        // before anything the same change causes (a LOOKED, the subscriber's response) can
        // make it send a frame.
        out.append(&mut self.outbox.routing);
        out.append(&mut self.outbox.out);
    }

    /// A read-only picture of the rooms for the admin API.
    pub fn snapshot(&self) -> Vec<RoomSnapshot> {
        self.rooms
            .values()
            .map(|room| RoomSnapshot {
                id: room.spec.id,
                name: room.spec.name.clone(),
                max_users: room.spec.max_users,
                master: room.master,
                users: room
                    .members_in_join_order()
                    .into_iter()
                    .filter_map(|id| room.members.get(&id).map(|member| (id, member)))
                    .map(|(id, member)| {
                        let account = self.dir.get(id);
                        UserSnapshot {
                            id,
                            username: account.map(|a| a.username.clone()).unwrap_or_default(),
                            nickname: account.map(|a| a.nickname.clone()).unwrap_or_default(),
                            chair: self.dir.is_chair(id),
                            master: room.master == Some(id),
                            hand_raised: member.audio_state == 1,
                            talking: member.audio_state == 2,
                            aux: room.aux_bits(id),
                            bcast_video: member.bcast_video,
                            bcast_audio: member.bcast_audio,
                            signal: member.signal,
                            watching: member.watching.len(),
                            subscriptions: member
                                .watching
                                .iter()
                                .map(|&(user, stream)| SubscriptionSnapshot {
                                    user,
                                    stream: stream.label(),
                                })
                                .collect(),
                        }
                    })
                    .collect(),
            })
            .collect()
    }

    /// Key-frame requests (LOOKED ctrl 1) sent to senders since the start.
    pub fn key_frame_requests(&self) -> u64 {
        self.key_frame_requests
    }

    /// Number of logged-in connections.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// When the core next has work of its own (a throttled LOOKED, an answer held for a
    /// `DemandAck`, a room's end, a suspended session's window): the transport feeds it
    /// `Input::Tick` then. `None`: nothing until the next input.
    pub fn poll_timeout(&self, now: Now) -> Option<Instant> {
        let looked = self.looked_pending.iter().map(|&(room, src, index)| {
            self.rooms
                .get(&room)
                .and_then(|r| r.members.get(&src))
                .and_then(|m| m.looked[index].last_sent)
                .map_or(now.mono, |last| last + self.limits.looked_interval)
        });
        let held = self
            .held
            .iter()
            .map(|held| held.since + self.limits.demand_ack_timeout);
        let suspended = self
            .sessions
            .values()
            .filter_map(|s| s.suspended_since)
            .map(|since| since + self.resume_window);
        // Room ends are in Unix seconds: polled every 100 ms in their last second.
        let ends = self
            .rooms
            .values()
            .filter(|r| r.spec.end_time != 0 && !r.members.is_empty())
            .map(|r| {
                let left = u64::try_from(r.spec.end_time - now.unix).unwrap_or(0);
                now.mono + Duration::from_secs(left.saturating_sub(1)).max(ROOM_END_POLL)
            });
        looked.chain(held).chain(suspended).chain(ends).min()
    }

    /// Whether `conn` is logged in.
    pub fn has_session(&self, conn: ConnId) -> bool {
        self.sessions.contains_key(&conn)
    }

    /// Sessions waiting for their client to come back.
    pub fn suspended_sessions(&self) -> usize {
        self.sessions
            .values()
            .filter(|s| s.suspended_since.is_some())
            .count()
    }

    /// How long a suspended session is kept (0: sessions are never suspended).
    pub fn resume_window(&self) -> Duration {
        self.resume_window
    }

    /// Answers to `conn` held until a sender acknowledges its `StreamDemand`.
    pub fn held_responses(&self, conn: ConnId) -> usize {
        self.held.iter().filter(|held| held.conn == conn).count()
    }

    fn request(&mut self, now: Now, conn: ConnId, request_id: u32, body: Body) {
        let Some(session) = self.sessions.get(&conn) else {
            // The transport only forwards requests of logged-in connections.
            return;
        };
        let caller = Caller {
            conn,
            user: session.user,
            request_id,
            now,
        };
        let room = session.room;
        let result = match body {
            Body::Hello(_) | Body::Authenticate(_) => Err(ErrorCode::ReloginedErr),
            Body::JoinRoom(req) => return self.join(&caller, req.room_id),
            Body::LeaveRoom(_) => self.leave(&caller),
            Body::Pong(_) | Body::Goodbye(_) | Body::AckOnly(_) => return,
            Body::DemandAck(ack) => {
                if let Some(member) = room
                    .and_then(|id| self.rooms.get_mut(&id))
                    .and_then(|room| room.members.get_mut(&caller.user))
                {
                    member.demand_acked = ack.seq;
                }
                return;
            }
            body => match room {
                None => Err(ErrorCode::NotLoginErr),
                Some(room) => self.room_request(&caller, room, body),
            },
        };
        self.finish(&caller, room, result);
    }

    fn room_request(&mut self, caller: &Caller, room: RoomId, body: Body) -> OpResult {
        match body {
            Body::Kick(req) => self.kick(caller, room, req.user_id),
            Body::Invite(req) => self.invite(caller, room, req),
            Body::AnswerInvite(req) => self.answer_invite(caller, room, req.user_id, req.accept),
            Body::Chat(req) => self.chat(caller, room, req),
            Body::ApplyMaster(req) => self.apply_master(caller, room, req.on),
            Body::ApplyTalk(req) => self.apply_talk(caller, room, req.on),
            Body::ApplyAux(req) => self.apply_aux(caller, room, req.on),
            Body::CtrlTalk(req) => self.ctrl_talk(caller, room, req.user_id, req.on),
            Body::Auth(req) => self.auth(caller, room, req),
            Body::Check(req) => self.check(caller, room, req),
            Body::Bcast(req) => self.bcast(caller, room, req),
            Body::SetInteract(req) => self.set_interact(caller, room, req.user_id),
            Body::Subscribe(req) => {
                let stream = MediaType::from_u32(req.media_type).ok_or(ErrorCode::ParamErr)?;
                self.subscribe(caller, room, req.user_id, stream, req.on, false)
            }
            Body::Transparent(req) => self.transparent(caller, room, req),
            Body::Hello(_)
            | Body::Authenticate(_)
            | Body::JoinRoom(_)
            | Body::LeaveRoom(_)
            | Body::Pong(_)
            | Body::Goodbye(_)
            | Body::AckOnly(_)
            | Body::DemandAck(_) => Ok(()),
        }
    }

    /// Flushes the refreshes and routes of an operation, then answers the caller, unless the
    /// answer must wait for a sender to learn that its stream is now watched.
    fn finish(&mut self, caller: &Caller, room: Option<RoomId>, result: OpResult) {
        self.flush(room);
        let raised = self
            .outbox
            .demand_raised
            .iter()
            .find(|(sender, _)| *sender != caller.user);
        if let (Ok(()), Some(room), Some(&(sender, seq))) = (result, room, raised) {
            self.held.push(HeldResponse {
                room,
                sender,
                seq,
                conn: caller.conn,
                request_id: caller.request_id,
                since: caller.now.mono,
            });
            return;
        }
        self.outbox.respond(caller.conn, caller.request_id, result);
    }

    /// Sends the held answers whose sender acknowledged, left, or took too long.
    fn release_held(&mut self, now: Now) {
        if self.held.is_empty() {
            return;
        }
        let timeout = self.limits.demand_ack_timeout;
        let rooms = &self.rooms;
        let outbox = &mut self.outbox;
        self.held.retain(|held| {
            let acked = rooms
                .get(&held.room)
                .and_then(|room| room.members.get(&held.sender))
                .is_none_or(|member| member.demand_acked.wrapping_sub(held.seq) < u32::MAX / 2);
            if acked || now.mono.duration_since(held.since) >= timeout {
                outbox.respond(held.conn, held.request_id, Ok(()));
                return false;
            }
            true
        });
    }

    fn flush(&mut self, room: Option<RoomId>) {
        match room.and_then(|id| self.rooms.get_mut(&id)) {
            Some(room) => {
                self.outbox.flush_refresh(&self.dir, room);
                self.outbox.flush_routes(room);
            }
            None => {
                self.outbox.refresh.clear();
                self.outbox.routes.clear();
            }
        }
    }

    /// The room list: a room nobody is in here may be in use on another fleet node.
    fn room_infos(&self) -> Vec<pb::RoomInfo> {
        self.rooms
            .values()
            .map(|room| {
                let mut info = room_info(room);
                if room.members.is_empty() {
                    info.cur_users = self.remote_users.get(&room.spec.id).copied().unwrap_or(0);
                }
                info
            })
            .collect()
    }
}

fn room_info(room: &Room) -> pb::RoomInfo {
    pb::RoomInfo {
        id: room.spec.id,
        name: room.spec.name.clone(),
        creator_id: room.spec.creator_id,
        start_time: room.spec.start_time,
        end_time: room.spec.end_time,
        max_users: room.spec.max_users,
        cur_users: room.members.len() as u32,
    }
}
