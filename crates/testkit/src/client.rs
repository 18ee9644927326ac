//! A small blocking client for tests, driving `conference_proto::client::ClientConn` (the
//! protocol itself: framing, login, request matching, pongs, `DemandAck`) over a blocking
//! socket: it logs in, sends requests, collects events, user updates and media.
//!
//! Hostile input (garbage, hand-built messages, requests before the login) goes through the
//! [`raw`] escape hatch ([`TestClient::raw`], [`TestClient::raw_request`]), the one exception to "only `ClientConn` speaks
//! the client protocol".

pub mod raw;

use std::collections::{HashMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use conference_proto::client::{ClientConn, ClientEvent, Timing};
use conference_proto::login::LoginParams;
use conference_proto::media::{MediaFrame, MediaHeader, encode_media};
use conference_proto::message::StateId;
use conference_proto::pb::{self, client_message::Body};
use conference_proto::{ErrorCode, MediaType, PROTOCOL_VERSION};

use self::raw::{RawReader, RawSender};

/// How long a call waits for its response by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a client received, in order of arrival.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    Event(pb::Event),
    Update(Vec<pb::UserInfo>),
    Media(MediaFrame),
}

pub struct TestClient {
    stream: TcpStream,
    /// From `hello` until the connection ends; before and after, a [`RawReader`] reads.
    conn: Option<ClientConn>,
    raw_reader: RawReader,
    /// The outcome of the login in progress.
    login: Option<Result<pb::LoginResult, ErrorCode>>,
    logged_in: bool,
    responses: HashMap<u32, Result<pb::Response, ErrorCode>>,
    inbox: VecDeque<Received>,
    raw_ids: u32,
    chunk: Box<[u8]>,
    /// The MCU's `Bye` code once received.
    pub bye: Option<u32>,
    /// The connection ended (EOF or error).
    pub closed: bool,
    /// Answer pings (default true).
    pub auto_pong: bool,
    /// Pings received after the login.
    pub pings: u32,
    pub user_id: u32,
}

impl TestClient {
    /// A connection with nothing sent yet: log in with [`hello`](Self::hello), or use
    /// [`raw`](Self::raw).
    pub fn connect(addr: SocketAddr) -> TestClient {
        TestClient::try_connect(addr).expect("connect to the MCU")
    }

    /// [`connect`](Self::connect) for an address that may have gone (a redirect's target).
    pub fn try_connect(addr: SocketAddr) -> std::io::Result<TestClient> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(TestClient {
            stream,
            conn: None,
            raw_reader: RawReader::new(),
            login: None,
            logged_in: false,
            responses: HashMap::new(),
            inbox: VecDeque::new(),
            raw_ids: 1,
            chunk: vec![0; 64 * 1024].into_boxed_slice(),
            bye: None,
            closed: false,
            auto_pong: true,
            pings: 0,
            user_id: 0,
        })
    }

    /// Connects and logs in; panics unless the login succeeds.
    pub fn login(
        addr: SocketAddr,
        username: &str,
        password: &str,
    ) -> (TestClient, pb::LoginResult) {
        let mut client = TestClient::connect(addr);
        let login = client
            .hello(PROTOCOL_VERSION, username, password)
            .unwrap_or_else(|code| panic!("login of {username} refused: {code:#x}"));
        (client, login)
    }

    /// Connects, logs in and joins `room`; returns the client and what the join returned.
    pub fn join(
        addr: SocketAddr,
        username: &str,
        password: &str,
        room: u32,
    ) -> (TestClient, pb::RoomJoined) {
        let (mut client, _) = TestClient::login(addr, username, password);
        let joined = client.join_room(room).expect("join the room");
        (client, joined)
    }

    /// Runs the login (docs/PROTOCOL.md §2) with `version` in `Hello`: the `LoginResult`
    /// (the MCU's SCRAM signature checked), or the code that ended it (the MCU's refusal).
    pub fn hello(
        &mut self,
        version: u32,
        username: &str,
        password: &str,
    ) -> Result<pb::LoginResult, u32> {
        assert!(self.conn.is_none(), "hello on a connection already driven");
        let params = LoginParams {
            protocol_version: version,
            ..LoginParams::new("conference-testkit", username, password)
        };
        // Longer than the MCU's own login deadline (10 s): a login it holds back (throttled
        // to its slot) is answered by the MCU, not cut short here. Responses to requests are
        // waited for DEFAULT_TIMEOUT by `response`.
        let timing = Timing {
            request_timeout: DEFAULT_TIMEOUT * 2,
        };
        self.conn = Some(ClientConn::new(&params, timing, Instant::now()));
        self.flush(false);
        // The connection's own login deadline ends the wait.
        while self.login.is_none() && self.pump(Instant::now() + DEFAULT_TIMEOUT * 3) {}
        match self.login.take() {
            Some(Ok(login)) => Ok(login),
            Some(Err(code)) => Err(code.code()),
            None => panic!("login of {username}: no outcome (closed: {})", self.closed),
        }
    }

    pub fn join_room(&mut self, room: u32) -> Result<pb::RoomJoined, u32> {
        let response = self.request(Body::JoinRoom(pb::JoinRoom { room_id: room }));
        match (response.code, response.result) {
            (0, Some(pb::response::Result::Joined(joined))) => Ok(joined),
            (0, other) => panic!("join succeeded without RoomJoined: {other:?}"),
            (code, _) => Err(code),
        }
    }

    /// Sends a request and waits for its response (other traffic is kept for later).
    pub fn request(&mut self, body: Body) -> pb::Response {
        let id = self.send_request(body);
        self.response(id, DEFAULT_TIMEOUT)
            .unwrap_or_else(|| panic!("no response to request {id} (bye: {:?})", self.bye))
    }

    /// Sends a request and returns its response code.
    pub fn call(&mut self, body: Body) -> u32 {
        self.request(body).code
    }

    /// Sends a request without waiting; returns its id (0, never answered, when the
    /// connection is not logged in).
    pub fn send_request(&mut self, body: Body) -> u32 {
        self.send_request_with_token(body, &[])
    }

    /// [`send_request`](Self::send_request) carrying a fleet redirect's token.
    pub fn send_request_with_token(&mut self, body: Body, redirect_token: &[u8]) -> u32 {
        let Some(conn) = self.conn.as_mut() else {
            return 0;
        };
        let token = bytes::Bytes::copy_from_slice(redirect_token);
        let id = conn
            .request_with_token(body, token, Instant::now())
            .unwrap_or(0);
        self.flush(false);
        id
    }

    /// One media frame (the media codec, as the SDK's send queue uses it).
    pub fn send_media(&mut self, header: &MediaHeader, payload: &[u8]) {
        let frame = encode_media(header, payload);
        self.raw().send_bytes(&frame);
    }

    /// The escape hatch for hostile input: bytes and messages no `ClientConn` would send.
    pub fn raw(&mut self) -> RawSender<'_> {
        RawSender {
            stream: &mut self.stream,
            closed: &mut self.closed,
            next_id: &mut self.raw_ids,
        }
    }

    /// Sends `body` through the [`raw`](Self::raw) hatch (no `ClientConn`: before a login, or
    /// instead of one) and waits for the MCU's response to it.
    pub fn raw_request(&mut self, body: Body) -> pb::Response {
        assert!(
            self.conn.is_none(),
            "raw requests go where no ClientConn reads"
        );
        let id = self.raw().send_request(body);
        let deadline = Instant::now() + DEFAULT_TIMEOUT;
        loop {
            if let Some(response) = self.raw_reader.responses.remove(&id) {
                return response;
            }
            if !self.pump(deadline) {
                panic!("no response to raw request {id} (bye: {:?})", self.bye);
            }
        }
    }

    /// Waits for the response with `id`; `None` at the timeout or when the link ended first.
    pub fn response(&mut self, id: u32, timeout: Duration) -> Option<pb::Response> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(answer) = self.responses.remove(&id) {
                return answer.ok();
            }
            if !self.pump(deadline) {
                return None;
            }
        }
    }

    /// The next event, update or media frame, waiting up to `timeout`.
    pub fn next(&mut self, timeout: Duration) -> Option<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(item) = self.inbox.pop_front() {
                return Some(item);
            }
            if !self.pump(deadline) {
                return None;
            }
        }
    }

    /// The next event, skipping user updates and media.
    pub fn next_event(&mut self, timeout: Duration) -> Option<pb::Event> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left)? {
                Received::Event(event) => return Some(event),
                _ => continue,
            }
        }
    }

    /// The next event, which must have `state`.
    pub fn expect_event(&mut self, state: StateId) -> pb::Event {
        match self.next_event(DEFAULT_TIMEOUT) {
            Some(event) if event.state == state.id() => event,
            other => panic!("expected {state:?}, got {other:?}"),
        }
    }

    /// All events already received or arriving within `quiet` of each other.
    pub fn drain_events(&mut self, quiet: Duration) -> Vec<pb::Event> {
        let mut events = Vec::new();
        while let Some(event) = self.next_event(quiet) {
            events.push(event);
        }
        events
    }

    /// The next media frame, skipping events and updates.
    pub fn next_media(&mut self, timeout: Duration) -> Option<MediaFrame> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(pos) = self
                .inbox
                .iter()
                .position(|r| matches!(r, Received::Media(_)))
                && let Some(Received::Media(frame)) = self.inbox.remove(pos)
            {
                return Some(frame);
            }
            if !self.pump(deadline) {
                return None;
            }
        }
    }

    /// Everything received so far without waiting.
    pub fn take_inbox(&mut self) -> Vec<Received> {
        while self.pump(Instant::now()) {}
        self.inbox.drain(..).collect()
    }

    /// Reads until the server closes the connection; returns the `Bye` code if one came.
    pub fn wait_closed(&mut self, timeout: Duration) -> Option<u32> {
        let deadline = Instant::now() + timeout;
        while !self.closed && Instant::now() < deadline {
            self.pump(deadline);
        }
        assert!(self.closed, "the server did not close the connection");
        self.bye
    }

    /// Stops reading and writing (a frozen or vanished peer).
    pub fn shutdown(&self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// One read (bounded by `deadline` and the connection's next timeout), then the
    /// connection's timeouts, frames and events. False once closed, or at the deadline with
    /// nothing read.
    fn pump(&mut self, deadline: Instant) -> bool {
        if self.closed {
            return false;
        }
        let until = self
            .conn
            .as_ref()
            .and_then(ClientConn::poll_timeout)
            .map_or(deadline, |timeout| timeout.min(deadline));
        let wait = until
            .saturating_duration_since(Instant::now())
            .max(Duration::from_micros(1));
        let _ = self.stream.set_read_timeout(Some(wait));
        let read = match self.stream.read(&mut self.chunk) {
            Ok(0) => None,
            Ok(n) => Some(n),
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Some(0)
            }
            Err(err) if err.kind() == ErrorKind::Interrupted => Some(0),
            Err(_) => None,
        };
        let now = Instant::now();
        match read {
            None => {
                self.closed = true;
                if let Some(conn) = self.conn.as_mut() {
                    conn.handle_eof(now);
                }
            }
            Some(0) => {}
            Some(n) => match self.conn.as_mut() {
                Some(conn) => conn.handle_input(&self.chunk[..n], now),
                None => self.raw_reader.feed(&self.chunk[..n]),
            },
        }
        if let Some(conn) = self.conn.as_mut() {
            conn.handle_timeout(now);
        }
        self.flush(true);
        self.handle_events();
        self.flush(false);
        self.hand_over_if_ended();
        if let Some(code) = self.raw_reader.bye.take() {
            self.bye = Some(code);
        }
        read != Some(0) || (!self.closed && Instant::now() < deadline)
    }

    /// Writes what the connection queued. Once logged in, a read queues nothing but pongs
    /// (login steps come before, `DemandAck` after its event): a client that does not answer
    /// pings drops those.
    fn flush(&mut self, after_read: bool) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let mute = after_read && !self.auto_pong && conn.is_ready();
        while let Some(frame) = conn.poll_transmit() {
            if !mute && self.stream.write_all(&frame).is_err() {
                self.closed = true;
            }
        }
    }

    fn handle_events(&mut self) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        while let Some(event) = conn.poll_event() {
            match event {
                ClientEvent::LoggedIn(login) => {
                    self.user_id = login.user_id;
                    self.logged_in = true;
                    self.login = Some(Ok(login));
                }
                ClientEvent::Response { id, answer } => {
                    self.responses.insert(id, answer);
                }
                ClientEvent::Event(event) => self.inbox.push_back(Received::Event(event)),
                ClientEvent::UserUpdate(users) => self.inbox.push_back(Received::Update(users)),
                ClientEvent::StreamDemand { seq, .. } => conn.demand_applied(seq),
                ClientEvent::Media(frame) => self.inbox.push_back(Received::Media(frame)),
                ClientEvent::Link { .. } => self.pings += 1,
                // The test client does not ask for resume: never suspended.
                ClientEvent::Suspended(_) | ClientEvent::Connect | ClientEvent::Resumed => {}
                // Logged in, the MCU's reasons are its `Bye` codes; a lost link has none.
                ClientEvent::Closed(code) if self.logged_in => {
                    if code != ErrorCode::NetworkException {
                        self.bye = Some(code.code());
                    }
                }
                ClientEvent::Closed(code) => self.login = Some(Err(code)),
            }
        }
    }

    /// An ended connection reads nothing more: what it left unread, and the rest of the
    /// stream, go to the `Bye` reader (a refused login's `Bye` follows its answer).
    fn hand_over_if_ended(&mut self) {
        if let Some(conn) = self.conn.as_mut()
            && conn.is_closed()
        {
            let rest = conn.take_read_buffer();
            self.conn = None;
            self.raw_reader.feed(&rest);
        }
    }
}

/// A media header for `stream` with the given fragment flag, key flag and timestamp.
pub fn media_header(stream: MediaType, frame_seq: u16, key: bool, timestamp: u64) -> MediaHeader {
    MediaHeader {
        sender_id: 0,
        stream_type: stream as u8,
        media_type: if stream.is_video() { 1 } else { 0 },
        codec_id: if stream.is_video() { 3 } else { 1 },
        frame_seq,
        key_frame: u16::from(key),
        framerate: if stream.is_video() { 30 } else { 20 },
        stream_id: 0,
        width_or_rate: if stream.is_video() { 1920 } else { 48_000 },
        height_or_channels: if stream.is_video() { 1080 } else { 2 },
        bitrate: 4000,
        timestamp,
    }
}
