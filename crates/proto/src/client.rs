//! The client side of docs/PROTOCOL.md as one state machine with no I/O, no clock and no
//! threads (after quinn-proto and str0m): bytes in with `now`, timeouts in, frames out, typed
//! events out. It owns the framing, the login, request matching and request deadlines, the
//! heartbeat (answering pings, declaring a silent MCU dead after 3 intervals) and stream
//! demand with its acknowledgement, and a resumable session's life across link cuts
//! (docs/PROTOCOL.md §8: sequence numbers and acknowledgements, the replay buffer, the
//! reconnect backoff, the resume handshake). The SDK's tokio task, testkit's blocking client
//! and the load generator's raw client are its drivers: they move bytes and events, nothing
//! else.
//!
//! A resumable session whose link fails is `Suspended` instead of closed: the driver gets
//! [`ClientEvent::Connect`] at each attempt of the backoff, opens a new link and calls
//! [`ClientConn::resume_link`] (or [`ClientConn::link_failed`] when it could not connect);
//! the session is back at [`ClientEvent::Resumed`]. Requests made meanwhile wait in the replay
//! buffer (their deadlines still run); a refused resume ends the session with
//! `Closed(NvalidSessionErr)` (the driver logs in afresh), a window that runs out with the
//! reason the link failed.
//!
//! A driver's loop:
//! 1. read into [`ClientConn::read_buffer`], then [`ClientConn::handle_read`] (or
//!    [`ClientConn::handle_input`] with a slice), or [`ClientConn::handle_eof`];
//! 2. at [`ClientConn::poll_timeout`], [`ClientConn::handle_timeout`];
//! 3. write every [`ClientConn::poll_transmit`] frame, handle every
//!    [`ClientConn::poll_event`] event (in order: an event a request caused comes before its
//!    response, docs/PROTOCOL.md §3).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::ErrorCode;
use crate::frame::{FrameBuffer, FrameKind, RawFrame, encode_control};
use crate::login::{ClientLogin, LoginParams, Next};
use crate::media::MediaFrame;
use crate::message::decode_server_sequenced;
use crate::pb::{self, client_message::Body, server_message};
use crate::resume::{self, ReplayBuffer};
use crate::scram::ChannelBinding;

/// Heartbeats that may be missed before the MCU is declared dead.
pub const MISSED_HEARTBEATS: u32 = 3;
/// Used until the MCU states its heartbeat interval, and when it states 0.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(5);
/// Smallest heartbeat interval believed (a hostile value must not make the driver spin).
pub const MIN_HEARTBEAT: Duration = Duration::from_millis(50);

/// Reconnect backoff: the first attempt at once, then doubling from the first step up to the
/// cap, each delay scaled by a jitter factor in [0.5, 1].
pub const BACKOFF_FIRST: Duration = Duration::from_millis(100);
pub const BACKOFF_CAP: Duration = Duration::from_secs(1);
/// Shortest bound on one reconnect attempt.
const ATTEMPT_MIN: Duration = Duration::from_secs(1);

/// A resumable client acknowledges at least every this many messages received (its every
/// message carries the acknowledgement; an `Ack` goes when it has nothing else to send), so
/// the MCU's replay buffer stays small in a busy room.
const ACK_EVERY: u64 = 16;

/// Read sizes of the client's frame buffer.
const IDLE_CHUNK: usize = 16 * 1024;
const BUSY_CHUNK: usize = 64 * 1024;

/// The timing of a connection.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Bound on the login and on every request.
    pub request_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// What the driver must act on.
#[derive(Debug)]
pub enum ClientEvent {
    /// The login succeeded; requests may be sent.
    LoggedIn(pb::LoginResult),
    /// The answer to request `id`: the MCU's response, or `Timeout` at its deadline, or
    /// `NetworkException` when the link ended first (`NotLoginErr` after [`ClientConn::close`]).
    Response {
        id: u32,
        answer: Result<pb::Response, ErrorCode>,
    },
    Event(pb::Event),
    UserUpdate(Vec<pb::UserInfo>),
    /// Which of this client's streams are watched (bit per media type). Once applied (the
    /// uplink knows, a new viewer's key frame is queued), the driver calls
    /// [`ClientConn::demand_applied`]: the MCU answers the subscriber on that acknowledgement.
    StreamDemand {
        watched: u32,
        seq: u32,
    },
    Media(MediaFrame),
    /// A heartbeat and the MCU's view of the link.
    Link {
        rtt_us: u32,
        loss_permille: u32,
    },
    /// The link of a resumable session failed (`reason`); the session waits on the MCU.
    /// Nothing is lost: requests wait, the driver drops its link and follows `Connect`.
    Suspended(ErrorCode),
    /// Time for a connection attempt: open a link, then [`ClientConn::resume_link`] (or
    /// [`ClientConn::link_failed`]).
    Connect,
    /// The session is back on the new link; what the MCU replays follows as usual.
    Resumed,
    /// The connection is over, with the reason: the login's refusal, the MCU's `Bye` code,
    /// `NetworkException` for a silent, closed or garbled link, `NotLoginErr` after
    /// [`ClientConn::close`], `NvalidSessionErr` when the MCU refused a resume (log in
    /// again). Nothing follows.
    Closed(ErrorCode),
}

/// What a session needs to be resumed, from its login.
struct Resumption {
    token: Bytes,
    key: [u8; 32],
    window: Duration,
}

enum ResumeStep {
    /// The resume `Hello` is out; the challenge is awaited.
    Hello { client_nonce: String },
    /// The proof is out; `Resumed` is awaited.
    Proof,
}

enum State {
    LoggingIn {
        login: ClientLogin,
        awaiting: u32,
        deadline: Instant,
    },
    Ready,
    /// No link: attempts follow the backoff until the window closes.
    Suspended {
        since: Instant,
        reason: ErrorCode,
        next_attempt: Option<Instant>,
    },
    /// A new link proves the session.
    Resuming {
        since: Instant,
        reason: ErrorCode,
        awaiting: u32,
        binding: ChannelBinding,
        step: ResumeStep,
        deadline: Instant,
    },
    Closed,
}

/// One connection to the MCU.
pub struct ClientConn {
    state: State,
    rx: FrameBuffer,
    tx: VecDeque<Bytes>,
    events: VecDeque<ClientEvent>,
    timing: Timing,
    next_id: u32,
    /// Requests in flight and their deadlines.
    pending: HashMap<u32, Instant>,
    heartbeat: Duration,
    last_rx: Instant,
    /// Asked in the `Hello`: the session is resumable once the MCU gives a token.
    client_name: String,
    stream_demand: bool,
    resumption: Option<Resumption>,
    /// Sequenced messages sent and not yet acknowledged by the MCU.
    unacked: ReplayBuffer,
    /// The last sequenced message received from the MCU, and the last one acknowledged.
    received: u64,
    acked: u64,
    /// Failed attempts in a row (the backoff's exponent) and the jitter generator's state.
    attempts: u32,
    /// When the attempt in progress began: the next one is due a backoff step after it, so a
    /// link that hangs does not add its own timeout to the wait.
    attempt_started: Option<Instant>,
    jitter: u64,
    /// The login's session key, until its result says whether the session is resumable.
    login_key: Option<[u8; 32]>,
}

impl ClientConn {
    /// Starts the login; the `Hello` is the first frame to transmit.
    pub fn new(params: &LoginParams<'_>, timing: Timing, now: Instant) -> ClientConn {
        let (login, hello) = ClientLogin::start(params);
        let mut conn = ClientConn {
            state: State::Closed,
            rx: FrameBuffer::new(IDLE_CHUNK, BUSY_CHUNK),
            tx: VecDeque::new(),
            events: VecDeque::new(),
            timing,
            next_id: 1,
            pending: HashMap::new(),
            heartbeat: DEFAULT_HEARTBEAT,
            last_rx: now,
            client_name: params.client_name.to_string(),
            stream_demand: params.stream_demand,
            resumption: None,
            unacked: ReplayBuffer::new(),
            received: 0,
            acked: 0,
            attempts: 0,
            attempt_started: None,
            jitter: 0x9E37_79B9_7F4A_7C15,
            login_key: None,
        };
        let awaiting = conn.allocate_id();
        conn.queue(awaiting, hello);
        conn.state = State::LoggingIn {
            login,
            awaiting,
            deadline: now + timing.request_timeout,
        };
        conn
    }

    /// Whether the login is over and the link up (requests go out at once).
    pub fn is_ready(&self) -> bool {
        matches!(self.state, State::Ready)
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Whether the session is between links (suspended or resuming).
    pub fn is_suspended(&self) -> bool {
        matches!(self.state, State::Suspended { .. } | State::Resuming { .. })
    }

    /// Whether the MCU keeps this session across link cuts (it gave a token).
    pub fn is_resumable(&self) -> bool {
        self.resumption.is_some()
    }

    /// How long the MCU keeps the session after a cut (zero: not resumable).
    pub fn resume_window(&self) -> Duration {
        self.resumption
            .as_ref()
            .map_or(Duration::ZERO, |r| r.window)
    }

    /// Bound on one reconnect attempt (connect, TLS, each resume step): a link that does not
    /// answer that soon is given up for the next attempt, so a link that comes back is used
    /// within about this long.
    pub fn attempt_timeout(&self) -> Duration {
        self.heartbeat
            .clamp(ATTEMPT_MIN, self.timing.request_timeout.max(ATTEMPT_MIN))
    }

    /// The heartbeat interval the MCU stated (bounded), or the default.
    pub fn heartbeat(&self) -> Duration {
        self.heartbeat
    }

    /// Sequenced messages kept for a replay, and their bytes.
    pub fn unacked(&self) -> (usize, usize) {
        (self.unacked.len(), self.unacked.bytes())
    }

    /// Sends a request; its answer comes as [`ClientEvent::Response`] with the returned id.
    /// `NotLoginErr` before the login is over or after the close. While the session is
    /// suspended the request waits for the resume (its deadline runs).
    pub fn request(&mut self, body: Body, now: Instant) -> Result<u32, ErrorCode> {
        self.request_with_token(body, Bytes::new(), now)
    }

    /// [`request`](Self::request) carrying a fleet redirect's token (a `JoinRoom` that
    /// follows a redirect, docs/PROTOCOL.md §9).
    pub fn request_with_token(
        &mut self,
        body: Body,
        redirect_token: Bytes,
        now: Instant,
    ) -> Result<u32, ErrorCode> {
        if !self.is_ready() && !self.is_suspended() {
            return Err(ErrorCode::NotLoginErr);
        }
        let id = self.allocate_id();
        self.queue_sequenced(id, body, redirect_token);
        if self.is_closed() {
            // The replay buffer overflowed and ended the session.
            return Err(ErrorCode::NetworkException);
        }
        self.pending.insert(id, now + self.timing.request_timeout);
        Ok(id)
    }

    /// Ends the session from this side: `Goodbye`, then the driver closes the socket once
    /// transmitted. Requests in flight are answered `NotLoginErr`.
    pub fn close(&mut self) {
        if self.is_closed() {
            return;
        }
        if self.is_ready() {
            self.queue(0, Body::Goodbye(pb::Goodbye {}));
        }
        self.end(ErrorCode::NotLoginErr);
    }

    /// The `StreamDemand` of `seq` is applied: acknowledge it.
    pub fn demand_applied(&mut self, seq: u32) {
        if self.is_ready() || self.is_suspended() {
            self.queue_sequenced(0, Body::DemandAck(pb::DemandAck { seq }), Bytes::new());
        }
    }

    /// The read buffer, taken out (for a driver that shares this connection behind a lock and
    /// must not hold it across the read); give it back with
    /// [`handle_read_buffer`](Self::handle_read_buffer).
    pub fn take_read_buffer(&mut self) -> bytes::BytesMut {
        self.rx.take_target()
    }

    /// The buffer of [`take_read_buffer`](Self::take_read_buffer) with `n` bytes read into
    /// it, where `spare` were free.
    pub fn handle_read_buffer(
        &mut self,
        buf: bytes::BytesMut,
        n: usize,
        spare: usize,
        now: Instant,
    ) {
        self.rx.restore(buf, n, spare);
        self.received_bytes(n, now);
    }

    /// The buffer to read into; then [`handle_read`](Self::handle_read).
    pub fn read_buffer(&mut self) -> &mut bytes::BytesMut {
        self.rx.read_target()
    }

    /// Bytes were read into [`read_buffer`](Self::read_buffer) (`n` of `spare` free).
    pub fn handle_read(&mut self, n: usize, spare: usize, now: Instant) {
        self.rx.filled(n, spare);
        self.received_bytes(n, now);
    }

    /// Bytes from elsewhere (tests, fuzzing).
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        self.rx.extend(bytes);
        self.received_bytes(bytes.len(), now);
    }

    /// `n` new bytes are buffered: the MCU is alive (if any), frames are processed.
    fn received_bytes(&mut self, n: usize, now: Instant) {
        if n > 0 && !self.is_closed() {
            self.last_rx = now;
        }
        self.process(now);
    }

    /// The MCU closed its side (or the socket failed).
    pub fn handle_eof(&mut self, now: Instant) {
        self.link_lost(ErrorCode::NetworkException, now);
    }

    /// A connection attempt after [`ClientEvent::Connect`] failed (no link was opened).
    pub fn link_failed(&mut self, now: Instant) {
        if let State::Suspended { .. } = self.state {
            self.schedule_attempt(now);
        } else {
            self.link_lost(ErrorCode::NetworkException, now);
        }
    }

    /// A new link is open after [`ClientEvent::Connect`]: prove the session on it. The
    /// frames of the old link are forgotten (what matters is in the replay buffer).
    pub fn resume_link(&mut self, binding: ChannelBinding, now: Instant) {
        let State::Suspended { since, reason, .. } = self.state else {
            return;
        };
        let Some(resumption) = &self.resumption else {
            return;
        };
        let client_nonce = resume::nonce();
        let hello = Body::Hello(pb::Hello {
            protocol_version: crate::PROTOCOL_VERSION,
            client_name: self.client_name.clone(),
            stream_demand: self.stream_demand,
            scram_first: String::new(),
            resumable: true,
            resume: Some(pb::ResumeHello {
                token: resumption.token.clone(),
                client_nonce: client_nonce.clone(),
            }),
        });
        self.rx = FrameBuffer::new(IDLE_CHUNK, BUSY_CHUNK);
        self.tx.clear();
        let awaiting = self.allocate_id();
        self.queue(awaiting, hello);
        self.last_rx = now;
        self.state = State::Resuming {
            since,
            reason,
            awaiting,
            binding,
            step: ResumeStep::Hello { client_nonce },
            deadline: now + self.attempt_timeout(),
        };
    }

    /// The next instant [`handle_timeout`](Self::handle_timeout) must be called at.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let requests = self.pending.values().min().copied();
        let own = match &self.state {
            State::LoggingIn { deadline, .. } => Some(*deadline),
            State::Ready => Some(self.last_rx + self.heartbeat * MISSED_HEARTBEATS),
            State::Suspended {
                since,
                next_attempt,
                ..
            } => [Some(self.window_end(*since)), *next_attempt]
                .into_iter()
                .flatten()
                .min(),
            State::Resuming {
                since, deadline, ..
            } => Some((*deadline).min(self.window_end(*since))),
            State::Closed => return None,
        };
        [requests, own].into_iter().flatten().min()
    }

    /// Fires what is due at `now`: request deadlines, the login deadline, a silent MCU, a
    /// connection attempt, the end of the resume window.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.expire_requests(now);
        match self.state {
            State::Closed => {}
            State::LoggingIn { deadline, .. } if now >= deadline => self.fail(ErrorCode::Timeout),
            State::Ready if now >= self.last_rx + self.heartbeat * MISSED_HEARTBEATS => {
                self.link_lost(ErrorCode::NetworkException, now)
            }
            State::Suspended { since, reason, .. } | State::Resuming { since, reason, .. }
                if now >= self.window_end(since) =>
            {
                self.end(reason)
            }
            State::Suspended {
                next_attempt: Some(at),
                since,
                reason,
            } if now >= at => {
                self.state = State::Suspended {
                    since,
                    reason,
                    next_attempt: None,
                };
                self.attempt_started = Some(now);
                self.events.push_back(ClientEvent::Connect);
            }
            State::Resuming { deadline, .. } if now >= deadline => {
                self.link_lost(ErrorCode::Timeout, now)
            }
            _ => {}
        }
    }

    fn expire_requests(&mut self, now: Instant) {
        let mut due: Vec<u32> = self
            .pending
            .iter()
            .filter(|&(_, &deadline)| now >= deadline)
            .map(|(&id, _)| id)
            .collect();
        due.sort_unstable();
        for id in due {
            self.pending.remove(&id);
            self.events.push_back(ClientEvent::Response {
                id,
                answer: Err(ErrorCode::Timeout),
            });
        }
    }

    /// The next encoded frame to write.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.tx.pop_front()
    }

    /// The next event for the driver.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    fn window_end(&self, since: Instant) -> Instant {
        since + self.resume_window()
    }

    fn allocate_id(&mut self) -> u32 {
        let mut id = self.next_id;
        while id == 0 || self.pending.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        self.next_id = id.wrapping_add(1);
        id
    }

    /// An unsequenced message (login, pong, ack, goodbye), on the current link only.
    fn queue(&mut self, id: u32, body: Body) {
        let mut message = pb::ClientMessage::request(id, body);
        message.ack = self.received;
        self.acked = self.received;
        self.tx.push_back(encode_control(&message));
    }

    /// A request or `DemandAck`: numbered and kept until acknowledged when the session is
    /// resumable, sent at once while the link is up.
    fn queue_sequenced(&mut self, id: u32, body: Body, redirect_token: Bytes) {
        let mut message = pb::ClientMessage::request(id, body);
        message.ack = self.received;
        message.redirect_token = redirect_token;
        if self.is_ready() {
            self.acked = self.received;
        }
        if self.resumption.is_none() {
            self.tx.push_back(encode_control(&message));
            return;
        }
        message.seq = self.unacked.next_seq();
        let frame = encode_control(&message);
        if self.unacked.push(frame.clone()).is_err() {
            // Never drop silently: a session that cannot keep its messages ends.
            return self.end(ErrorCode::NetworkException);
        }
        if self.is_ready() {
            self.tx.push_back(frame);
        }
    }

    fn process(&mut self, now: Instant) {
        if self.is_closed() || matches!(self.state, State::Suspended { .. }) {
            return;
        }
        loop {
            match self.rx.next_frame() {
                Ok(Some(frame)) => {
                    let before = self.link_epoch();
                    self.frame(frame, now);
                    if self.link_epoch() != before {
                        return;
                    }
                }
                Ok(None) => return,
                Err(_) => return self.link_lost(ErrorCode::NetworkException, now),
            }
        }
    }

    /// Changes when the link ends (the rest of the buffer belongs to a dead link).
    fn link_epoch(&self) -> u8 {
        match self.state {
            State::Closed => 0,
            State::Suspended { .. } => 1,
            _ => 2,
        }
    }

    fn frame(&mut self, frame: RawFrame, now: Instant) {
        if frame.kind == FrameKind::Media {
            // A frame that is not media is skipped, not fatal: the stream goes on.
            if self.is_ready()
                && let Ok(media) = MediaFrame::from_frame_bytes(frame.bytes.freeze())
            {
                self.events.push_back(ClientEvent::Media(media));
            }
            return;
        }
        let Ok(message) = decode_server_sequenced(&frame) else {
            return self.link_lost(ErrorCode::NetworkException, now);
        };
        if message.ack != 0 {
            self.unacked.ack(message.ack);
        }
        if message.seq != 0 {
            if message.seq <= self.received {
                // Seen before the cut: never twice.
                return;
            }
            if message.seq != self.received + 1 && self.received != 0 {
                // A gap: the link lost something; a resume replays from what arrived.
                return self.link_lost(ErrorCode::NetworkException, now);
            }
            self.received = message.seq;
            if self.is_ready() && self.received - self.acked >= ACK_EVERY {
                self.queue(0, Body::AckOnly(pb::Ack {}));
            }
        }
        match message.body {
            server_message::Body::Bye(bye) => {
                let code = ErrorCode::check(bye.code)
                    .err()
                    .unwrap_or(ErrorCode::NetworkException);
                self.bye(code, now);
            }
            server_message::Body::Ping(ping) => {
                if ping.heartbeat_ms != 0 {
                    self.heartbeat = heartbeat_interval(ping.heartbeat_ms);
                }
                if self.is_resumable() && ping.sent > self.received {
                    // Messages sent before this Ping never came: the link lost them.
                    return self.link_lost(ErrorCode::NetworkException, now);
                }
                let sent = self.unacked.last_seq();
                self.queue(
                    0,
                    Body::Pong(pb::Pong {
                        nonce: ping.nonce,
                        sent,
                    }),
                );
                if self.is_ready() {
                    self.events.push_back(ClientEvent::Link {
                        rtt_us: ping.rtt_us,
                        loss_permille: ping.loss_permille,
                    });
                }
            }
            server_message::Body::Response(response) => self.response(response, now),
            _ if !self.is_ready() => self.fail(ErrorCode::MsgErr),
            server_message::Body::Event(event) => self.events.push_back(ClientEvent::Event(event)),
            server_message::Body::UserUpdate(update) => {
                self.events.push_back(ClientEvent::UserUpdate(update.users))
            }
            server_message::Body::StreamDemand(demand) => {
                self.events.push_back(ClientEvent::StreamDemand {
                    watched: demand.watched,
                    seq: demand.seq,
                });
            }
        }
    }

    /// The MCU's last word. A stopping server, one that lost our heartbeats or read garbage
    /// (a hole in the stream) is a link failure a resumable session survives (a restarted MCU
    /// refuses the resume: the driver logs in again); anything else ends the session.
    fn bye(&mut self, code: ErrorCode, now: Instant) {
        match code {
            ErrorCode::ServerStoped | ErrorCode::LongTimeNoReSponse | ErrorCode::MsgErr
                if self.is_resumable() =>
            {
                self.link_lost(code, now)
            }
            ErrorCode::NvalidSessionErr if matches!(self.state, State::Resuming { .. }) => {
                self.end(code)
            }
            code => self.fail(code),
        }
    }

    fn response(&mut self, response: pb::Response, now: Instant) {
        match &mut self.state {
            State::LoggingIn {
                login, awaiting, ..
            } => {
                if response.request_id != *awaiting {
                    return self.fail(ErrorCode::MsgErr);
                }
                match login.on_response(response) {
                    Ok(Next::Send(body)) => {
                        let id = self.allocate_id();
                        self.queue(id, body);
                        if let State::LoggingIn { awaiting, .. } = &mut self.state {
                            *awaiting = id;
                        }
                    }
                    Ok(Next::Done(result)) => {
                        self.login_key = login.session_key();
                        self.logged_in(result, now)
                    }
                    Err(code) => self.fail(code),
                }
            }
            State::Resuming { awaiting, .. } => {
                if response.request_id != *awaiting {
                    return self.fail(ErrorCode::MsgErr);
                }
                self.resume_response(response, now)
            }
            _ => {
                // A response nobody waits for (timed out already) is dropped.
                if self.pending.remove(&response.request_id).is_some() {
                    self.events.push_back(ClientEvent::Response {
                        id: response.request_id,
                        answer: Ok(response),
                    });
                }
            }
        }
    }

    fn logged_in(&mut self, result: pb::LoginResult, now: Instant) {
        self.heartbeat = heartbeat_interval(result.heartbeat_ms);
        self.last_rx = now;
        self.resumption = match (self.login_key.take(), result.resume_token.is_empty()) {
            (Some(key), false) => Some(Resumption {
                token: result.resume_token.clone(),
                key,
                window: resume_window(result.resume_window_ms),
            }),
            _ => None,
        };
        // Seeds the backoff's jitter: per session, so a classroom's recorders spread out.
        for byte in &result.resume_token {
            self.jitter = (self.jitter ^ u64::from(*byte)).wrapping_mul(0x100_0000_01B3);
        }
        self.state = State::Ready;
        self.events.push_back(ClientEvent::LoggedIn(result));
    }

    /// The MCU's answers during a resume: the challenge, then `Resumed` or a refusal.
    fn resume_response(&mut self, response: pb::Response, now: Instant) {
        if response.code != 0 {
            return self.end(ErrorCode::NvalidSessionErr);
        }
        let State::Resuming {
            since,
            reason,
            binding,
            step,
            ..
        } = std::mem::replace(&mut self.state, State::Closed)
        else {
            return;
        };
        let Some(resumption) = &self.resumption else {
            return self.end(ErrorCode::NvalidSessionErr);
        };
        match (step, response.result) {
            (ResumeStep::Hello { client_nonce }, Some(pb::response::Result::Challenge(c))) => {
                let proof = resume::proof(
                    &resumption.key,
                    &resumption.token,
                    &client_nonce,
                    &c.resume_nonce,
                    binding,
                );
                let awaiting = self.allocate_id();
                let authenticate = Body::Authenticate(pb::Authenticate {
                    resume_proof: Bytes::copy_from_slice(&proof),
                    received: self.received,
                    ..Default::default()
                });
                self.queue(awaiting, authenticate);
                self.state = State::Resuming {
                    since,
                    reason,
                    awaiting,
                    binding,
                    step: ResumeStep::Proof,
                    deadline: now + self.attempt_timeout(),
                };
            }
            (ResumeStep::Proof, Some(pb::response::Result::Resumed(resumed))) => {
                if resumed.heartbeat_ms != 0 {
                    self.heartbeat = heartbeat_interval(resumed.heartbeat_ms);
                }
                if let Some(resumption) = &mut self.resumption {
                    resumption.window = resume_window(resumed.resume_window_ms);
                }
                let replay: Vec<Bytes> = self
                    .unacked
                    .replay_after(resumed.received)
                    .cloned()
                    .collect();
                self.tx.extend(replay);
                self.attempts = 0;
                self.last_rx = now;
                self.state = State::Ready;
                self.events.push_back(ClientEvent::Resumed);
            }
            _ => self.end(ErrorCode::NvalidSessionErr),
        }
    }

    /// The link failed with `code`: a resumable session waits for a new one, any other ends.
    fn link_lost(&mut self, code: ErrorCode, now: Instant) {
        match self.state {
            State::Ready if self.is_resumable() => {
                self.state = State::Suspended {
                    since: now,
                    reason: code,
                    next_attempt: None,
                };
                self.attempts = 0;
                self.attempt_started = None;
                self.suspend(code, now);
            }
            State::Resuming { since, reason, .. } => {
                self.state = State::Suspended {
                    since,
                    reason,
                    next_attempt: None,
                };
                self.suspend(reason, now);
            }
            State::Suspended { .. } => self.schedule_attempt(now),
            _ => self.fail(code),
        }
    }

    fn suspend(&mut self, reason: ErrorCode, now: Instant) {
        self.tx.clear();
        self.rx = FrameBuffer::new(IDLE_CHUNK, BUSY_CHUNK);
        self.events.push_back(ClientEvent::Suspended(reason));
        self.schedule_attempt(now);
    }

    /// The next attempt of the backoff: at once, then 100 ms doubling to 1 s, jittered.
    fn schedule_attempt(&mut self, now: Instant) {
        let State::Suspended { next_attempt, .. } = &mut self.state else {
            return;
        };
        let delay = if self.attempts == 0 {
            Duration::ZERO
        } else {
            let base = BACKOFF_FIRST
                .saturating_mul(1 << (self.attempts - 1).min(10))
                .min(BACKOFF_CAP);
            self.jitter ^= self.jitter << 13;
            self.jitter ^= self.jitter >> 7;
            self.jitter ^= self.jitter << 17;
            let factor = 0.5 + (self.jitter % 1000) as f64 / 2000.0;
            base.mul_f64(factor)
        };
        self.attempts = self.attempts.saturating_add(1);
        let from = self.attempt_started.take().unwrap_or(now).min(now);
        *next_attempt = Some((from + delay).max(now));
    }

    /// The link failed with `code` and the session with it.
    fn fail(&mut self, code: ErrorCode) {
        if !self.is_closed() {
            self.end(code);
        }
    }

    fn end(&mut self, code: ErrorCode) {
        self.state = State::Closed;
        // Requests in flight are lost with the link whatever its last word was (the `Bye`
        // code goes to `Closed`); after a local close they were withdrawn.
        let lost = if code == ErrorCode::NotLoginErr {
            ErrorCode::NotLoginErr
        } else {
            ErrorCode::NetworkException
        };
        let mut ids: Vec<u32> = self.pending.drain().map(|(id, _)| id).collect();
        ids.sort_unstable();
        for id in ids {
            self.events.push_back(ClientEvent::Response {
                id,
                answer: Err(lost),
            });
        }
        self.events.push_back(ClientEvent::Closed(code));
    }
}

/// The MCU's stated interval, bounded.
pub fn heartbeat_interval(ms: u32) -> Duration {
    if ms == 0 {
        DEFAULT_HEARTBEAT
    } else {
        Duration::from_millis(u64::from(ms)).max(MIN_HEARTBEAT)
    }
}

/// The MCU's stated resume window, bounded.
fn resume_window(ms: u32) -> Duration {
    Duration::from_millis(u64::from(ms.min(resume::MAX_WINDOW_MS)))
}
