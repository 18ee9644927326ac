//! One client connection: login, then reading frames (control to the hub, media straight to
//! the subscribers), heartbeats, and the close.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use conference_proto::frame::{FRAME_HEADER_LEN, FrameKind, RawFrame, decode_frame};
use conference_proto::media::MediaHeader;
use conference_proto::message::decode_client;
use conference_proto::pb::client_message::Body;
use conference_proto::{ErrorCode, PROTOCOL_VERSION, pb};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::watch;
use tokio::time::Instant;

use super::forward::{Forwarder, RouteTable};
use super::hub::{HubMsg, bye};
use super::queue::OutQueue;
use super::{Shared, writer};
use crate::room::{ConnId, Input};
use crate::signal::SignalMeter;

/// Read buffer growth step; idle connections keep at most about this much.
const READ_CHUNK: usize = 8 * 1024;
/// Larger reads once a connection streams media.
const READ_CHUNK_BUSY: usize = 64 * 1024;
/// At most this much input is read and discarded while a closing connection lingers.
const LINGER_BYTES: usize = 1024 * 1024;

/// Why a connection ended.
#[derive(Debug)]
enum End {
    /// The peer closed or the socket failed.
    Gone(String),
    /// Broke the protocol: told `Bye{code}` and closed.
    Violation(ErrorCode, String),
    /// Login refused (already answered): `Bye{code}`.
    Refused(ErrorCode),
    /// No frame for three heartbeat intervals.
    Dead,
    /// The client said Goodbye.
    Goodbye,
    /// The hub closed it (relogin elsewhere, shutdown, control backlog).
    ByServer,
}

pub async fn run(stream: TcpStream, peer: SocketAddr, conn: ConnId, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let (mut reader, writer_half) = stream.into_split();
    let writer_half = Arc::new(writer_half);
    let out = Arc::new(OutQueue::with_socket(writer_half.clone()));
    let (routes_tx, mut routes_rx) = watch::channel(Arc::new(RouteTable::default()));
    let registered = shared
        .hub
        .send(HubMsg::Register {
            conn,
            out: out.clone(),
            routes: routes_tx,
        })
        .await;
    if registered.is_err() {
        return;
    }
    let writer = tokio::spawn(writer::run(writer_half, out.clone()));
    let mut conn_state = Connection {
        conn,
        reader: &mut reader,
        buf: BytesMut::new(),
        chunk: READ_CHUNK,
        out: &out,
        shared: &shared,
        forwarder: Forwarder::new(shared.stats.clone()),
    };
    let end = conn_state.serve(&mut routes_rx).await;
    drop(conn_state);
    if let End::Violation(ErrorCode::Timeout, _) = &end {
        shared
            .counters
            .logins_refused_timeout
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    match &end {
        End::Gone(why) => tracing::debug!(conn, %peer, "connection closed: {why}"),
        End::Violation(_, why) => tracing::warn!(conn, %peer, "protocol violation, closing: {why}"),
        End::Refused(code) => tracing::info!(conn, %peer, "login refused: {code}"),
        End::Dead => tracing::info!(conn, %peer, "no heartbeat for 3 intervals, closing"),
        End::Goodbye => tracing::debug!(conn, %peer, "client said goodbye"),
        End::ByServer => tracing::debug!(conn, %peer, "closed by the server"),
    }
    match end {
        End::Gone(_) => out.abort(),
        End::Violation(code, _) | End::Refused(code) => out.close(Some(bye(code))),
        End::Dead => out.close(Some(bye(ErrorCode::LongTimeNoReSponse))),
        End::Goodbye | End::ByServer => out.close(None),
    }
    let _ = shared
        .hub
        .send(HubMsg::Core(Input::Disconnected { conn }))
        .await;
    // Let the writer flush (a Bye) before the socket goes; meanwhile read and discard what the
    // peer still sends (bounded), so unread input does not turn the close into a reset that
    // could swallow the Bye.
    let linger = async {
        let _ = writer.await;
        let mut sink = [0u8; 4096];
        let mut discarded = 0usize;
        while discarded < LINGER_BYTES {
            match tokio::time::timeout(Duration::from_millis(500), reader.read(&mut sink)).await {
                Ok(Ok(n)) if n > 0 => discarded += n,
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), linger).await;
}

struct Connection<'a> {
    conn: ConnId,
    reader: &'a mut OwnedReadHalf,
    buf: BytesMut,
    chunk: usize,
    out: &'a Arc<OutQueue>,
    shared: &'a Shared,
    forwarder: Forwarder,
}

impl Connection<'_> {
    async fn serve(&mut self, routes: &mut watch::Receiver<Arc<RouteTable>>) -> End {
        if let Err(end) = self.login().await {
            return end;
        }
        self.session(routes).await.unwrap_or_else(|end| end)
    }

    /// Reads more bytes; `Err` when the peer is gone.
    async fn fill(&mut self) -> Result<(), End> {
        if self.buf.capacity() - self.buf.len() < 1024 {
            self.buf.reserve(self.chunk);
        }
        let spare = self.buf.capacity() - self.buf.len();
        match self.reader.read_buf(&mut self.buf).await {
            Ok(0) => Err(End::Gone("end of stream".into())),
            Ok(n) => {
                // Streaming: read bigger chunks; the buffer is shared with the frames it held.
                self.chunk = if n == spare {
                    READ_CHUNK_BUSY
                } else {
                    READ_CHUNK
                };
                Ok(())
            }
            Err(err) => Err(End::Gone(err.to_string())),
        }
    }

    fn next_frame(&mut self) -> Result<Option<RawFrame>, End> {
        decode_frame(&mut self.buf)
            .map_err(|err| End::Violation(ErrorCode::MsgErr, err.to_string()))
    }

    /// Until a `Hello` with a good version and good credentials has arrived.
    async fn login(&mut self) -> Result<(), End> {
        let deadline = Instant::now() + self.shared.auth_timeout;
        let out = self.out.clone();
        let hello = tokio::time::timeout_at(deadline, async {
            loop {
                if let Some(frame) = self.next_frame()? {
                    if frame.kind != FrameKind::Control {
                        return Err(End::Violation(
                            ErrorCode::NotLoginErr,
                            "media before login".into(),
                        ));
                    }
                    return match decode_client(&frame) {
                        Ok((request_id, Body::Hello(hello))) => Ok((request_id, hello)),
                        Ok(_) => Err(End::Violation(
                            ErrorCode::NotLoginErr,
                            "first message is not Hello".into(),
                        )),
                        Err(err) => Err(End::Violation(ErrorCode::MsgErr, err.to_string())),
                    };
                }
                tokio::select! {
                    _ = out.closed() => return Err(End::ByServer),
                    filled = self.fill() => filled?,
                }
            }
        })
        .await
        .map_err(|_| {
            End::Violation(ErrorCode::Timeout, "no login within the time limit".into())
        })??;
        let (request_id, hello) = hello;
        if hello.protocol_version != PROTOCOL_VERSION {
            self.shared
                .counters
                .logins_refused_version
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.respond(request_id, ErrorCode::ServerMismatch);
            return Err(End::Refused(ErrorCode::ServerMismatch));
        }
        let credentials = self.shared.credentials.read().clone();
        let verified = tokio::time::timeout_at(
            deadline,
            credentials.verify(&hello.username, hello.password),
        )
        .await
        .map_err(|_| End::Violation(ErrorCode::Timeout, "no login within the time limit".into()))?;
        let Some(user) = verified else {
            self.shared
                .counters
                .logins_refused_password
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.respond(request_id, ErrorCode::UserPasswordErr);
            return Err(End::Refused(ErrorCode::UserPasswordErr));
        };
        tracing::info!(conn = self.conn, user, username = %hello.username, client = %hello.client_name, "logged in");
        self.shared
            .counters
            .logins_accepted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.forwarder.set_sender_withholds(hello.stream_demand);
        self.to_hub(Input::Login {
            conn: self.conn,
            request_id,
            user,
            stream_demand: hello.stream_demand,
        })
        .await
    }

    fn respond(&self, request_id: u32, code: ErrorCode) {
        let message = pb::ServerMessage::response(request_id, code.code(), None);
        let _ = self
            .out
            .push_control(conference_proto::frame::encode_control(&message));
    }

    async fn to_hub(&self, input: Input) -> Result<(), End> {
        self.shared
            .hub
            .send(HubMsg::Core(input))
            .await
            .map_err(|_| End::ByServer)
    }

    async fn session(&mut self, routes: &mut watch::Receiver<Arc<RouteTable>>) -> Result<End, End> {
        let heartbeat = self.shared.heartbeat;
        let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_rx = Instant::now();
        let mut meter = SignalMeter::new(last_rx.into_std());
        let mut reported = 5u8;
        let out = self.out.clone();
        loop {
            while let Some(frame) = self.next_frame()? {
                if let Some(end) = self.frame(frame, &mut meter).await? {
                    return Ok(end);
                }
            }
            tokio::select! {
                biased;
                _ = out.closed() => return Ok(End::ByServer),
                changed = routes.changed() => {
                    if changed.is_err() {
                        return Ok(End::ByServer);
                    }
                    let table = routes.borrow_and_update().clone();
                    self.forwarder.apply(&table);
                }
                _ = ping.tick() => {
                    let now = Instant::now();
                    if now.duration_since(last_rx) > heartbeat * 3 {
                        return Ok(End::Dead);
                    }
                    let link = meter.link(now.into_std(), heartbeat);
                    let nonce = meter.ping(now.into_std());
                    let ping = pb::ServerMessage {
                        body: Some(pb::server_message::Body::Ping(pb::Ping {
                            nonce,
                            heartbeat_ms: heartbeat.as_millis() as u32,
                            rtt_us: link.map_or(0, |l| {
                                u32::try_from(l.rtt.as_micros()).unwrap_or(u32::MAX).max(1)
                            }),
                            loss_permille: link.map_or(0, |l| (l.loss * 1000.0).round() as u32),
                        })),
                    };
                    if out.push_control(conference_proto::frame::encode_control(&ping)).is_err() {
                        return Ok(End::Gone("control backlog over its cap".into()));
                    }
                    let status = meter.status(now.into_std(), heartbeat);
                    if status != reported {
                        reported = status;
                        self.to_hub(Input::Signal { conn: self.conn, status }).await?;
                    }
                }
                filled = self.fill() => {
                    filled?;
                    last_rx = Instant::now();
                }
            }
        }
    }

    /// Handles one frame of a logged-in client; `Some` ends the connection.
    async fn frame(
        &mut self,
        frame: RawFrame,
        meter: &mut SignalMeter,
    ) -> Result<Option<End>, End> {
        if frame.kind == FrameKind::Media {
            let header = MediaHeader::parse(&frame.bytes[FRAME_HEADER_LEN..])
                .map_err(|err| End::Violation(ErrorCode::MsgErr, err.to_string()))?;
            self.forwarder.forward(frame.bytes, &header);
            return Ok(None);
        }
        let (request_id, body) = decode_client(&frame)
            .map_err(|err| End::Violation(ErrorCode::MsgErr, err.to_string()))?;
        match body {
            Body::Pong(pong) => {
                if let Some(rtt) = meter.pong(pong.nonce, std::time::Instant::now()) {
                    self.shared.counters.heartbeat_rtt.observe(rtt);
                }
            }
            Body::Goodbye(_) => return Ok(Some(End::Goodbye)),
            body => {
                self.to_hub(Input::Request {
                    conn: self.conn,
                    request_id,
                    body,
                })
                .await?
            }
        }
        Ok(None)
    }
}
