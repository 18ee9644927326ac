//! A small blocking protocol-level client for tests: it logs in, sends requests, collects
//! events, user updates and media, and answers pings (unless told not to).

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bytes::Bytes;
use conference_proto::frame::{FrameBuffer, FrameKind, encode_control};
use conference_proto::login::{ClientLogin, LoginParams, Next};
use conference_proto::media::{MediaFrame, MediaHeader, encode_media};
use conference_proto::message::{StateId, decode_server};
use conference_proto::pb::{self, client_message::Body, server_message::Body as ServerBody};
use conference_proto::{MediaType, PROTOCOL_VERSION};

/// How long a call waits for its response by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a client received, in order of arrival.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    Event(pb::Event),
    Update(pb::UserUpdate),
    Media(MediaFrame),
}

pub struct TestClient {
    stream: TcpStream,
    frames: FrameBuffer,
    next_id: u32,
    responses: VecDeque<pb::Response>,
    inbox: VecDeque<Received>,
    /// `Bye` code once received.
    pub bye: Option<u32>,
    /// The connection ended (EOF or error).
    pub closed: bool,
    /// Answer pings (default true).
    pub auto_pong: bool,
    pub pings: u32,
    pub user_id: u32,
    /// Ask for `StreamDemand` messages in `Hello` (default false: a client that sends
    /// everything).
    pub stream_demand: bool,
    /// Every `StreamDemand.watched` received, in order.
    pub demands: Vec<u32>,
}

impl TestClient {
    pub fn connect(addr: SocketAddr) -> TestClient {
        let stream = TcpStream::connect(addr).expect("connect to the MCU");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        TestClient {
            stream,
            frames: FrameBuffer::new(64 * 1024, 64 * 1024),
            next_id: 1,
            responses: VecDeque::new(),
            inbox: VecDeque::new(),
            bye: None,
            closed: false,
            auto_pong: true,
            pings: 0,
            user_id: 0,
            stream_demand: false,
            demands: Vec::new(),
        }
    }

    /// Connects and logs in; panics unless the login succeeds.
    pub fn login(
        addr: SocketAddr,
        username: &str,
        password: &str,
    ) -> (TestClient, pb::LoginResult) {
        let mut client = TestClient::connect(addr);
        let response = client.hello(PROTOCOL_VERSION, username, password);
        assert_eq!(response.code, 0, "login of {username} refused");
        let Some(pb::response::Result::Login(login)) = response.result else {
            panic!("login response without LoginResult: {response:?}");
        };
        client.user_id = login.user_id;
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

    /// Runs the login (`Hello`, then `Authenticate` if challenged, docs/PROTOCOL.md §2) and
    /// returns the last response: a refusal, or the `LoginResult` (the MCU's SCRAM signature
    /// checked: a bad one panics).
    pub fn hello(&mut self, version: u32, username: &str, password: &str) -> pb::Response {
        let params = LoginParams {
            stream_demand: self.stream_demand,
            protocol_version: version,
            ..LoginParams::new("conference-testkit", username, password)
        };
        let (mut login, hello) = ClientLogin::start(&params);
        let mut response = self.request(hello);
        loop {
            if response.code != 0 {
                return response;
            }
            match login.on_response(response.clone()) {
                Ok(Next::Send(body)) => response = self.request(body),
                Ok(Next::Done(_)) => return response,
                Err(code) => panic!("login of {username} broke: {code} ({response:?})"),
            }
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

    /// Sends a request without waiting; returns its id.
    pub fn send_request(&mut self, body: Body) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        self.send_message(&pb::ClientMessage::request(id, body));
        id
    }

    pub fn send_message(&mut self, message: &pb::ClientMessage) {
        let frame = encode_control(message);
        self.send_raw(&frame);
    }

    /// Writes raw bytes (garbage included); write errors mark the client closed.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        if self.stream.write_all(bytes).is_err() {
            self.closed = true;
        }
    }

    pub fn send_media(&mut self, header: &MediaHeader, payload: &[u8]) {
        let frame = encode_media(header, payload);
        self.send_raw(&frame);
    }

    /// Waits for the response with `id`.
    pub fn response(&mut self, id: u32, timeout: Duration) -> Option<pb::Response> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(pos) = self.responses.iter().position(|r| r.request_id == id) {
                return self.responses.remove(pos);
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
            {
                if let Some(Received::Media(frame)) = self.inbox.remove(pos) {
                    return Some(frame);
                }
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

    /// Reads and dispatches one frame; false at the deadline or when closed.
    fn pump(&mut self, deadline: Instant) -> bool {
        loop {
            match self.frames.next_frame() {
                Ok(Some(frame)) => {
                    self.dispatch(frame);
                    return true;
                }
                Ok(None) => {}
                Err(err) => panic!("the MCU sent a bad frame: {err}"),
            }
            if self.closed {
                return false;
            }
            let now = Instant::now();
            let wait = deadline.saturating_duration_since(now);
            let wait = if wait.is_zero() {
                Duration::from_micros(1)
            } else {
                wait
            };
            let _ = self.stream.set_read_timeout(Some(wait));
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => self.closed = true,
                Ok(n) => self.frames.extend(&chunk[..n]),
                Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                }
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.closed = true,
            }
        }
    }

    fn dispatch(&mut self, frame: conference_proto::RawFrame) {
        if frame.kind == FrameKind::Media {
            let bytes: Bytes = frame.bytes.freeze();
            let media =
                MediaFrame::from_frame_bytes(bytes).expect("valid media frame from the MCU");
            self.inbox.push_back(Received::Media(media));
            return;
        }
        match decode_server(&frame).expect("valid control message from the MCU") {
            ServerBody::Response(response) => self.responses.push_back(response),
            ServerBody::Event(event) => self.inbox.push_back(Received::Event(event)),
            ServerBody::UserUpdate(update) => self.inbox.push_back(Received::Update(update)),
            ServerBody::Ping(ping) => {
                self.pings += 1;
                if self.auto_pong {
                    self.send_message(&pb::ClientMessage::request(
                        0,
                        Body::Pong(pb::Pong { nonce: ping.nonce }),
                    ));
                }
            }
            ServerBody::Bye(bye) => self.bye = Some(bye.code),
            ServerBody::StreamDemand(demand) => {
                self.demands.push(demand.watched);
                self.send_message(&pb::ClientMessage::request(
                    0,
                    Body::DemandAck(pb::DemandAck { seq: demand.seq }),
                ));
            }
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
