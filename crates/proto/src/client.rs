//! The client side of docs/PROTOCOL.md as one state machine with no I/O, no clock and no
//! threads (after quinn-proto and str0m): bytes in with `now`, timeouts in, frames out, typed
//! events out. It owns the framing, the login, request matching and request deadlines, the
//! heartbeat (answering pings, declaring a silent MCU dead after 3 intervals) and stream
//! demand with its acknowledgement. The SDK's tokio task, testkit's blocking client and the
//! load generator's raw client are its drivers: they move bytes and events, nothing else.
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
use crate::message::decode_server;
use crate::pb::{self, client_message::Body, server_message};

/// Heartbeats that may be missed before the MCU is declared dead.
pub const MISSED_HEARTBEATS: u32 = 3;
/// Used until the MCU states its heartbeat interval, and when it states 0.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(5);
/// Smallest heartbeat interval believed (a hostile value must not make the driver spin).
pub const MIN_HEARTBEAT: Duration = Duration::from_millis(50);

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
    /// The connection is over, with the reason: the login's refusal, the MCU's `Bye` code,
    /// `NetworkException` for a silent, closed or garbled link, `NotLoginErr` after
    /// [`ClientConn::close`]. Nothing follows.
    Closed(ErrorCode),
}

enum State {
    LoggingIn {
        login: ClientLogin,
        awaiting: u32,
        deadline: Instant,
    },
    Ready,
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

    /// Whether the login is over and the connection open.
    pub fn is_ready(&self) -> bool {
        matches!(self.state, State::Ready)
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// The heartbeat interval the MCU stated (bounded), or the default.
    pub fn heartbeat(&self) -> Duration {
        self.heartbeat
    }

    /// Sends a request; its answer comes as [`ClientEvent::Response`] with the returned id.
    /// `NotLoginErr` before the login is over or after the close.
    pub fn request(&mut self, body: Body, now: Instant) -> Result<u32, ErrorCode> {
        if !self.is_ready() {
            return Err(ErrorCode::NotLoginErr);
        }
        let id = self.allocate_id();
        self.queue(id, body);
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
        if self.is_ready() {
            self.queue(0, Body::DemandAck(pb::DemandAck { seq }));
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
        self.received(n, now);
    }

    /// The buffer to read into; then [`handle_read`](Self::handle_read).
    pub fn read_buffer(&mut self) -> &mut bytes::BytesMut {
        self.rx.read_target()
    }

    /// Bytes were read into [`read_buffer`](Self::read_buffer) (`n` of `spare` free).
    pub fn handle_read(&mut self, n: usize, spare: usize, now: Instant) {
        self.rx.filled(n, spare);
        self.received(n, now);
    }

    /// Bytes from elsewhere (tests, fuzzing).
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        self.rx.extend(bytes);
        self.received(bytes.len(), now);
    }

    /// `n` new bytes are buffered: the MCU is alive (if any), frames are processed.
    fn received(&mut self, n: usize, now: Instant) {
        if n > 0 && !self.is_closed() {
            self.last_rx = now;
        }
        self.process(now);
    }

    /// The MCU closed its side (or the socket failed).
    pub fn handle_eof(&mut self) {
        self.fail(ErrorCode::NetworkException);
    }

    /// The next instant [`handle_timeout`](Self::handle_timeout) must be called at.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let requests = self.pending.values().min().copied();
        let own = match &self.state {
            State::LoggingIn { deadline, .. } => Some(*deadline),
            State::Ready => Some(self.last_rx + self.heartbeat * MISSED_HEARTBEATS),
            State::Closed => return None,
        };
        [requests, own].into_iter().flatten().min()
    }

    /// Fires what is due at `now`: request deadlines, the login deadline, a silent MCU.
    pub fn handle_timeout(&mut self, now: Instant) {
        match &self.state {
            State::Closed => return,
            State::LoggingIn { deadline, .. } if now >= *deadline => {
                self.fail(ErrorCode::Timeout);
                return;
            }
            State::Ready if now >= self.last_rx + self.heartbeat * MISSED_HEARTBEATS => {
                self.fail(ErrorCode::NetworkException);
                return;
            }
            _ => {}
        }
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

    fn allocate_id(&mut self) -> u32 {
        let mut id = self.next_id;
        while id == 0 || self.pending.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        self.next_id = id.wrapping_add(1);
        id
    }

    fn queue(&mut self, id: u32, body: Body) {
        self.tx
            .push_back(encode_control(&pb::ClientMessage::request(id, body)));
    }

    fn process(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        loop {
            match self.rx.next_frame() {
                Ok(Some(frame)) => {
                    self.frame(frame, now);
                    if self.is_closed() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(_) => return self.fail(ErrorCode::NetworkException),
            }
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
        let Ok(body) = decode_server(&frame) else {
            return self.fail(ErrorCode::NetworkException);
        };
        match body {
            server_message::Body::Bye(bye) => {
                let code = ErrorCode::check(bye.code)
                    .err()
                    .unwrap_or(ErrorCode::NetworkException);
                self.fail(code);
            }
            server_message::Body::Ping(ping) => {
                if ping.heartbeat_ms != 0 {
                    self.heartbeat = heartbeat_interval(ping.heartbeat_ms);
                }
                self.queue(0, Body::Pong(pb::Pong { nonce: ping.nonce }));
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

    fn response(&mut self, response: pb::Response, now: Instant) {
        if let State::LoggingIn {
            login, awaiting, ..
        } = &mut self.state
        {
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
                    self.heartbeat = heartbeat_interval(result.heartbeat_ms);
                    self.last_rx = now;
                    self.state = State::Ready;
                    self.events.push_back(ClientEvent::LoggedIn(result));
                }
                Err(code) => self.fail(code),
            }
            return;
        }
        // A response nobody waits for (timed out already) is dropped.
        if self.pending.remove(&response.request_id).is_some() {
            self.events.push_back(ClientEvent::Response {
                id: response.request_id,
                answer: Ok(response),
            });
        }
    }

    /// The link failed with `code`.
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
