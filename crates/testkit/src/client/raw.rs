//! The raw escape hatch of [`TestClient`](super::TestClient): bytes and hand-built messages
//! the MCU must survive (garbage, oversized frames, requests before `Hello`, malformed
//! logins), and the reader that finds the MCU's last word (`Bye`) on a connection that no
//! `ClientConn` drives (before the login, after it ended). The one place outside
//! `conference_proto::client::ClientConn` that encodes or decodes a client-side protocol
//! message; well-behaved traffic never goes through here.

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpStream;

use conference_proto::frame::{FrameBuffer, FrameKind, encode_control};
use conference_proto::message::decode_server;
use conference_proto::pb::{self, client_message::Body, server_message::Body as ServerBody};

/// Writes what a test hands it, unchecked. Obtained from [`TestClient::raw`](super::TestClient::raw).
pub struct RawSender<'a> {
    pub(super) stream: &'a mut TcpStream,
    pub(super) closed: &'a mut bool,
    /// Ids of raw requests (responses to them are not matched: nothing waits for them).
    pub(super) next_id: &'a mut u32,
}

impl RawSender<'_> {
    /// Any bytes (garbage included); a write error marks the client closed.
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        if self.stream.write_all(bytes).is_err() {
            *self.closed = true;
        }
    }

    /// One control message, as given.
    pub fn send_message(&mut self, message: &pb::ClientMessage) {
        self.send_bytes(&encode_control(message));
    }

    /// `body` as a request with an id of its own; returns the id.
    pub fn send_request(&mut self, body: Body) -> u32 {
        let id = *self.next_id;
        *self.next_id += 1;
        self.send_message(&pb::ClientMessage::request(id, body));
        id
    }
}

/// Reads the server's frames where no `ClientConn` does (before the login, after the
/// connection ended): the MCU's `Bye` and its responses to raw requests; the rest is dropped.
pub(super) struct RawReader {
    frames: FrameBuffer,
    pub bye: Option<u32>,
    pub responses: HashMap<u32, pb::Response>,
}

impl RawReader {
    pub fn new() -> Self {
        RawReader {
            frames: FrameBuffer::new(16 * 1024, 64 * 1024),
            bye: None,
            responses: HashMap::new(),
        }
    }

    /// Buffers `bytes` and reads the whole frames among them.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.frames.extend(bytes);
        while let Ok(Some(frame)) = self.frames.next_frame() {
            if frame.kind != FrameKind::Control {
                continue;
            }
            match decode_server(&frame) {
                Ok(ServerBody::Bye(bye)) => self.bye = Some(bye.code),
                Ok(ServerBody::Response(response)) => {
                    self.responses.insert(response.request_id, response);
                }
                _ => {}
            }
        }
    }
}
