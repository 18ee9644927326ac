//! The hub task: owns the room core and the table of connections; feeds the core its inputs
//! and applies its outputs (queue frames, close connections, publish forwarding tables).
//! Media never passes through here.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use conference_proto::{ErrorCode, pb};
use tokio::sync::{mpsc, oneshot, watch};

use super::forward::{MediaStats, RouteTable, Sub};
use super::queue::OutQueue;
use super::resume::{Accept, ResumeState, Token};
use crate::room::{ConnId, Core, Input, Now, Output, StreamRoutes, UserId};

/// Messages to the hub.
pub enum HubMsg {
    /// A new connection (before login).
    Register {
        conn: ConnId,
        out: Arc<OutQueue>,
        routes: watch::Sender<Arc<RouteTable>>,
    },
    Core(Input),
    /// A logged-in link's input for its session (`Login`, `Request`, `Signal`): dropped when
    /// `link` no longer carries `session` (a link replaced by a resume), and a request whose
    /// `seq` was applied before (replayed across a cut) is not applied twice.
    FromLink {
        session: ConnId,
        link: ConnId,
        seq: u64,
        input: Input,
    },
    /// An answer the transport made itself (the fleet's redirect of a `JoinRoom`), sent in
    /// the session's order and sequence like the core's, its request's `seq` counted.
    Reply {
        session: ConnId,
        link: ConnId,
        seq: u64,
        frame: bytes::Bytes,
    },
    /// A login that asked to be resumable: the session keeps `state` (its token is findable).
    ResumableLogin {
        input: Input,
        state: Arc<ResumeState>,
    },
    /// A link ended; `resumable`: it broke (EOF, reset, silence) rather than ended on
    /// purpose, so a resumable session is suspended rather than released.
    LinkDown {
        session: ConnId,
        link: ConnId,
        resumable: bool,
    },
    /// A resume `Hello`: the session of `token`, if it is kept.
    FindSession {
        token: Token,
        reply: oneshot::Sender<Option<(ConnId, Arc<ResumeState>)>>,
    },
    /// A proven resume: `link` (registered) takes over `session`; the MCU answers
    /// `request_id` with `Resumed`, replays what the client did not receive after
    /// `received`, then the session goes on. `Err` when the session ended meanwhile.
    Attach {
        session: ConnId,
        link: ConnId,
        request_id: u32,
        received: u64,
        reply: oneshot::Sender<Result<(), ErrorCode>>,
    },
    /// Tell every client the server stops, close them all, then answer.
    Shutdown(oneshot::Sender<()>),
    /// The admin API asks for the live state.
    Snapshot(oneshot::Sender<Snapshot>),
}

/// The live state handed to the admin API.
pub struct Snapshot {
    pub connections: usize,
    pub sessions: usize,
    pub suspended_sessions: usize,
    pub resumes: u64,
    pub rooms: Vec<crate::room::RoomSnapshot>,
    pub key_frame_requests: u64,
}

/// A connection, or a logged-in session and the link that carries it.
struct Entry {
    out: Arc<OutQueue>,
    routes: watch::Sender<Arc<RouteTable>>,
    /// The link carrying it now (the entry's own id until a resume).
    link: ConnId,
    /// No link: a suspended session; its messages are only kept for the replay.
    attached: bool,
    resume: Option<Arc<ResumeState>>,
}

pub fn bye(code: ErrorCode) -> bytes::Bytes {
    let code = code.code();
    let message = pb::ServerMessage::of(pb::server_message::Body::Bye(pb::Bye { code }));
    conference_proto::frame::encode_control(&message)
}

pub struct Hub {
    core: Core,
    conns: HashMap<ConnId, Entry>,
    /// Resumable sessions by token.
    tokens: HashMap<Token, ConnId>,
    resumes: u64,
    outputs: Vec<Output>,
    stats: Arc<MediaStats>,
    stopped: bool,
}

impl Hub {
    pub fn new(core: Core, stats: Arc<MediaStats>) -> Self {
        Hub {
            core,
            conns: HashMap::new(),
            tokens: HashMap::new(),
            resumes: 0,
            outputs: Vec::new(),
            stats,
            stopped: false,
        }
    }

    pub async fn run(mut self, mut rx: mpsc::Receiver<HubMsg>) {
        let mut stats_tick = tokio::time::interval(Duration::from_secs(10));
        let mut last_dropped = (0, 0);
        loop {
            tokio::select! {
                message = rx.recv() => match message {
                    Some(message) => self.handle(message),
                    None => return,
                },
                () = sleep_until(self.core.poll_timeout(Now::system())) => self.input(Input::Tick),
                _ = stats_tick.tick() => {
                    let dropped = (
                        self.stats.dropped_slow.load(Ordering::Relaxed),
                        self.stats.dropped_unrouted.load(Ordering::Relaxed),
                    );
                    if dropped != last_dropped {
                        self.log_counters("media fragments dropped");
                        last_dropped = dropped;
                    }
                }
            }
        }
    }

    /// One line with every media counter (`key=value`; the load generator parses it).
    fn log_counters(&self, what: &str) {
        tracing::info!(
            connections = self.conns.len(),
            sessions = self.core.sessions(),
            frames_in = self.stats.frames_in.load(Ordering::Relaxed),
            fragments_out = self.stats.fragments_out.load(Ordering::Relaxed),
            dropped_slow_subscriber = self.stats.dropped_slow.load(Ordering::Relaxed),
            dropped_unrouted = self.stats.dropped_unrouted.load(Ordering::Relaxed),
            "{what}"
        );
    }

    fn handle(&mut self, message: HubMsg) {
        match message {
            HubMsg::Register { conn, out, routes } => {
                if self.stopped {
                    out.close(Some(bye(ErrorCode::ServerStoped)));
                    return;
                }
                self.conns.insert(
                    conn,
                    Entry {
                        out,
                        routes,
                        link: conn,
                        attached: true,
                        resume: None,
                    },
                );
            }
            HubMsg::Core(input) => self.input(input),
            HubMsg::FromLink {
                session,
                link,
                seq,
                input,
            } => {
                if self.accept_from_link(session, link, seq) {
                    self.input(input);
                }
            }
            HubMsg::Reply {
                session,
                link,
                seq,
                frame,
            } => {
                if self.accept_from_link(session, link, seq) {
                    self.outputs.push(Output::Send {
                        conn: session,
                        frame,
                    });
                    self.apply_outputs();
                }
            }
            HubMsg::ResumableLogin { input, state } => {
                if let Input::Login { conn, .. } = &input
                    && let Some(entry) = self.conns.get_mut(conn)
                {
                    self.tokens.insert(state.token, *conn);
                    entry.resume = Some(state);
                }
                self.input(input);
            }
            HubMsg::LinkDown {
                session,
                link,
                resumable,
            } => self.link_down(session, link, resumable),
            HubMsg::FindSession { token, reply } => {
                let found = self.tokens.get(&token).and_then(|&session| {
                    let state = self.conns.get(&session)?.resume.clone()?;
                    Some((session, state))
                });
                let _ = reply.send(found);
            }
            HubMsg::Attach {
                session,
                link,
                request_id,
                received,
                reply,
            } => {
                let _ = reply.send(self.attach(session, link, request_id, received));
            }
            HubMsg::Snapshot(reply) => {
                let _ = reply.send(Snapshot {
                    connections: self.conns.values().filter(|e| e.attached).count(),
                    sessions: self.core.sessions(),
                    suspended_sessions: self.core.suspended_sessions(),
                    resumes: self.resumes,
                    rooms: self.core.snapshot(),
                    key_frame_requests: self.core.key_frame_requests(),
                });
            }
            HubMsg::Shutdown(done) => {
                self.log_counters("media counters at shutdown");
                self.stopped = true;
                self.input(Input::Shutdown);
                for (_, entry) in self.conns.drain() {
                    entry.out.close(Some(bye(ErrorCode::ServerStoped)));
                }
                self.tokens.clear();
                let _ = done.send(());
            }
        }
    }

    /// A link ended. A resumable session whose link broke is suspended (the core keeps the
    /// user for the resume window); anything else is released. A link that no longer
    /// carries its session (replaced by a resume) changes nothing.
    fn link_down(&mut self, session: ConnId, link: ConnId, resumable: bool) {
        let Some(entry) = self.conns.get_mut(&session) else {
            return;
        };
        if entry.link != link || !entry.attached {
            return;
        }
        entry.out.close(None);
        if resumable
            && entry.resume.is_some()
            && self.core.has_session(session)
            && !self.core.resume_window().is_zero()
        {
            entry.attached = false;
            self.input(Input::Suspended { conn: session });
        } else {
            self.forget(session);
            self.input(Input::Disconnected { conn: session });
        }
    }

    /// Moves the registered `link` under `session` and brings the client up to date.
    fn attach(
        &mut self,
        session: ConnId,
        link: ConnId,
        request_id: u32,
        received: u64,
    ) -> Result<(), ErrorCode> {
        if !self.conns.contains_key(&session) {
            return Err(ErrorCode::NvalidSessionErr);
        }
        let Some(new) = self.conns.remove(&link) else {
            // The new link went away meanwhile.
            return Err(ErrorCode::NetworkException);
        };
        let entry = self.conns.get_mut(&session).expect("checked above");
        let Some(state) = entry.resume.clone() else {
            return Err(ErrorCode::NvalidSessionErr);
        };
        if entry.attached {
            // The old link has not noticed it is dead (a one-way stall): it is replaced.
            entry.out.abort();
        }
        let resumed = pb::ServerMessage::response(
            request_id,
            0,
            Some(pb::response::Result::Resumed(pb::Resumed {
                received: state.received(),
                heartbeat_ms: 0,
                resume_window_ms: self.core.resume_window().as_millis() as u32,
            })),
        );
        let mut frames = vec![conference_proto::frame::encode_control(&resumed)];
        frames.extend(state.replay_after(received));
        for frame in frames {
            if new.out.push_control(frame).is_err() {
                new.out.abort();
                return Err(ErrorCode::NetworkException);
            }
        }
        entry.out = new.out;
        entry.routes = new.routes;
        entry.link = link;
        entry.attached = true;
        self.resumes += 1;
        self.input(Input::Resumed { conn: session });
        Ok(())
    }

    /// Forgets a session's entry and token.
    fn forget(&mut self, session: ConnId) -> Option<Entry> {
        let entry = self.conns.remove(&session)?;
        if let Some(state) = &entry.resume {
            self.tokens.remove(&state.token);
        }
        Some(entry)
    }

    /// Whether a message of `link` for `session` is to be handled: the link still carries
    /// the session, and a sequenced message (`seq` ≠ 0) is the next one. A message seen
    /// before (replayed across a cut) is skipped; one after a gap gives the link up (the
    /// resume replays what it lost).
    fn accept_from_link(&mut self, session: ConnId, link: ConnId, seq: u64) -> bool {
        let Some(entry) = self.conns.get(&session) else {
            return false;
        };
        if entry.link != link || !entry.attached {
            return false;
        }
        let Some(state) = entry.resume.as_ref().filter(|_| seq != 0) else {
            return true;
        };
        match state.accept(seq) {
            Accept::New => true,
            Accept::Seen => false,
            Accept::Gap => {
                tracing::warn!(
                    session,
                    seq,
                    "a client message is missing: the link is given up"
                );
                entry.out.abort();
                self.link_down(session, link, true);
                false
            }
        }
    }

    fn input(&mut self, input: Input) {
        self.core.handle(Now::system(), input, &mut self.outputs);
        self.apply_outputs();
    }

    /// Applies what the core (or the transport) produced, and what that causes in turn.
    fn apply_outputs(&mut self) {
        loop {
            let outputs = std::mem::take(&mut self.outputs);
            if outputs.is_empty() {
                return;
            }
            let mut overflowed = Vec::new();
            for output in outputs {
                if let Some(conn) = self.apply(output) {
                    // The client does not read its control messages: cut it off.
                    tracing::warn!(conn, "control backlog over its cap, closing");
                    if let Some(entry) = self.forget(conn) {
                        entry.out.abort();
                    }
                    overflowed.push(conn);
                }
            }
            for conn in overflowed {
                let input = Input::Disconnected { conn };
                self.core.handle(Now::system(), input, &mut self.outputs);
            }
        }
    }

    /// Applies one output; returns a connection whose control queue overflowed.
    fn apply(&mut self, output: Output) -> Option<ConnId> {
        match output {
            Output::Send { conn, frame } => {
                let entry = self.conns.get(&conn)?;
                let attached = entry.attached;
                let send = |frame| {
                    if attached {
                        entry.out.push_control(frame)
                    } else {
                        Ok(())
                    }
                };
                let sent = match &entry.resume {
                    // Kept until acknowledged: a session that cannot keep it ends.
                    Some(state) => match state.keep_and_send(&frame, send) {
                        Ok(sent) => sent,
                        Err(_) => return Some(conn),
                    },
                    None => send(frame),
                };
                sent.err().map(|_| conn)
            }
            Output::Close { conn, code } => {
                if let Some(entry) = self.forget(conn)
                    && entry.attached
                {
                    entry.out.close(Some(bye(code)));
                }
                None
            }
            Output::Routes {
                conn,
                user_id,
                streams,
            } => {
                let table = self.route_table(conn, user_id, streams);
                if let Some(entry) = self.conns.get(&conn) {
                    entry.routes.send_replace(Arc::new(table));
                }
                None
            }
        }
    }

    /// Resolves connection ids to queues, reusing unchanged subscriber lists so the sender's
    /// task can skip them.
    fn route_table(&self, conn: ConnId, user_id: UserId, streams: StreamRoutes) -> RouteTable {
        let previous = self.conns.get(&conn).map(|e| e.routes.borrow().clone());
        let mut table = RouteTable {
            user_id,
            streams: Default::default(),
        };
        for (index, ids) in streams.into_iter().enumerate() {
            let Some(ids) = ids else {
                continue;
            };
            let old = previous.as_ref().and_then(|t| t.streams[index].clone());
            // Reused only if every subscriber is still on the same link (a resumed one is not).
            if let Some(old) = old
                && old.len() == ids.len()
                && old.iter().zip(ids.iter()).all(|(sub, id)| {
                    sub.conn == *id
                        && self
                            .conns
                            .get(id)
                            .is_some_and(|entry| Arc::ptr_eq(&entry.out, &sub.out))
                })
            {
                table.streams[index] = Some(old);
                continue;
            }
            let subs: Vec<Sub> = ids
                .iter()
                .filter_map(|id| {
                    self.conns.get(id).map(|entry| Sub {
                        conn: *id,
                        out: entry.out.clone(),
                    })
                })
                .collect();
            table.streams[index] = Some(Arc::from(subs));
        }
        table
    }
}

/// Sleeps until `deadline`; forever without one.
async fn sleep_until(deadline: Option<std::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}
