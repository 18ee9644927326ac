//! One client connection: login, then reading frames (control to the hub, media straight to
//! the subscribers), heartbeats, and the close.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use conference_proto::frame::{FRAME_HEADER_LEN, FrameBuffer, FrameKind, RawFrame};
use conference_proto::media::MediaHeader;
use conference_proto::message::decode_client_sequenced;
use conference_proto::pb::client_message::Body;
use conference_proto::scram::{ChannelBinding, ClientHello, ServerFirst};
use conference_proto::{ErrorCode, PROTOCOL_VERSION, pb, resume};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use super::credentials::Challenge;
use super::forward::{Forwarder, RouteTable};
use super::hub::{HubMsg, bye};
use super::queue::OutQueue;
use super::resume::{ResumeState, Token};
use super::socket::{self, ReadHalf};
use super::throttle::Admission;
use super::tls::{self, Link, Refusal};
use super::{Shared, writer};
use crate::room::{ConnId, Input, ResumeGrant};
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
    let tls = shared.tls.read().clone();
    let login_deadline = Instant::now() + shared.auth_timeout;
    let (link, binding) = match tls::classify(stream, &tls, login_deadline).await {
        Ok(Link::Plain(stream)) => (socket::split_tcp(stream), ChannelBinding::None),
        Ok(Link::Tls { socket, binding }) => {
            shared
                .counters
                .tls_connections
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            (socket::split_unix(socket), binding)
        }
        Err(refusal) => {
            if let Refusal::Idle(_) = refusal {
                shared
                    .counters
                    .logins_refused_timeout
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            refuse_link(refusal, peer, conn).await;
            return;
        }
    };
    let ((mut reader, writer_half), binding) = (link, binding);
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
        session: conn,
        resume: None,
        seen: 0,
        reader: &mut reader,
        frames: FrameBuffer::new(READ_CHUNK, READ_CHUNK_BUSY),
        out: &out,
        shared: &shared,
        forwarder: Forwarder::new(shared.stats.clone()),
        peer,
        binding,
        login_deadline,
        user: 0,
    };
    let end = conn_state.serve(&mut routes_rx).await;
    let session = conn_state.session;
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
        End::Refused(code) => tracing::debug!(conn, %peer, "closed after the refusal: {code}"),
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
    // A link that broke (rather than ended on purpose) leaves a resumable session suspended;
    // a garbled stream counts as broken (a hole in it reads as garbage: the resume replays
    // what the hole swallowed).
    let resumable = matches!(end, End::Gone(_) | End::Dead | End::Violation(..));
    let _ = shared
        .hub
        .send(HubMsg::LinkDown {
            session,
            link: conn,
            resumable,
        })
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

/// Queues a `Ping`. For a resumable session it acknowledges the client's messages (the
/// client may forget them) and says how far the MCU's went, under the lock that orders them
/// on the link.
fn push_ping(
    out: &OutQueue,
    resume: Option<&ResumeState>,
    mut ping: pb::Ping,
) -> Result<(), super::queue::Overflow> {
    let Some(state) = resume else {
        let message = pb::ServerMessage::of(pb::server_message::Body::Ping(ping));
        return out.push_control(conference_proto::frame::encode_control(&message));
    };
    let ack = state.received();
    state.with_last_sent(|sent| {
        ping.sent = sent;
        let mut message = pb::ServerMessage::of(pb::server_message::Body::Ping(ping));
        message.ack = ack;
        out.push_control(conference_proto::frame::encode_control(&message))
    })
}

/// Closes a connection that never reached the login, saying why in the log (and, to a
/// plain client of a TLS-only MCU, in a `Bye`).
async fn refuse_link(refusal: Refusal, peer: SocketAddr, conn: ConnId) {
    match refusal {
        Refusal::Gone => tracing::debug!(conn, %peer, "closed before its first byte"),
        Refusal::Idle(stream) => {
            tracing::info!(conn, %peer, "no login within the time limit, closing");
            say_bye(stream, ErrorCode::Timeout).await;
        }
        Refusal::TlsUnavailable => {
            tracing::info!(conn, %peer, "TLS offered, but no certificate is configured: closing")
        }
        Refusal::Handshake(why) => tracing::warn!(conn, %peer, "TLS handshake failed: {why}"),
        Refusal::PlainRefused(stream) => {
            tracing::warn!(conn, %peer, "plain connection refused: tls.require is set");
            say_bye(stream, ErrorCode::OpNotSupport).await;
        }
    }
}

/// `Bye{code}` on a connection that never reached its connection task, then the close.
async fn say_bye(mut stream: TcpStream, code: ErrorCode) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = stream.write_all(&bye(code)).await;
        let _ = stream.shutdown().await;
        // Read what the client sent meanwhile, so the close does not become a reset that
        // swallows the Bye.
        let mut sink = [0u8; 4096];
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

struct Connection<'a> {
    /// This link.
    conn: ConnId,
    /// The session it carries: its own id, or a resumed session's.
    session: ConnId,
    /// Set for a resumable session: acknowledgements in, the MCU's own out.
    resume: Option<Arc<ResumeState>>,
    /// The last sequenced client message that came on this link (or before it).
    seen: u64,
    peer: SocketAddr,
    /// The link as this side sees it: what the client's SCRAM binding must match.
    binding: ChannelBinding,
    reader: &'a mut ReadHalf,
    frames: FrameBuffer,
    out: &'a Arc<OutQueue>,
    shared: &'a Shared,
    forwarder: Forwarder,
    /// The whole login (TLS handshake included) must be over by then.
    login_deadline: Instant,
    /// The account, once logged in (the fleet's redirect tokens name it).
    user: crate::room::UserId,
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
        let target = self.frames.read_target();
        let spare = target.capacity() - target.len();
        match self.reader.read_buf(target).await {
            Ok(0) => Err(End::Gone("end of stream".into())),
            Ok(n) => {
                // Streaming: read bigger chunks; the buffer is shared with the frames it held.
                self.frames.filled(n, spare);
                Ok(())
            }
            Err(err) => Err(End::Gone(err.to_string())),
        }
    }

    fn next_frame(&mut self) -> Result<Option<RawFrame>, End> {
        self.frames
            .next_frame()
            .map_err(|err| End::Violation(ErrorCode::MsgErr, err.to_string()))
    }

    /// The next control message before the login: media, or nothing in time, breaks it.
    async fn login_message(&mut self, deadline: Instant) -> Result<(u32, Body), End> {
        let out = self.out.clone();
        tokio::time::timeout_at(deadline, async {
            loop {
                if let Some(frame) = self.next_frame()? {
                    if frame.kind != FrameKind::Control {
                        return Err(End::Violation(
                            ErrorCode::NotLoginErr,
                            "media before login".into(),
                        ));
                    }
                    return decode_client_sequenced(&frame)
                        .map(|message| (message.request_id, message.body))
                        .map_err(|err| End::Violation(ErrorCode::MsgErr, err.to_string()));
                }
                tokio::select! {
                    _ = out.closed() => return Err(End::ByServer),
                    filled = self.fill() => filled?,
                }
            }
        })
        .await
        .map_err(|_| End::Violation(ErrorCode::Timeout, "no login within the time limit".into()))?
    }

    /// `Hello`, `Challenge`, `Authenticate`, `LoginResult` (docs/PROTOCOL.md §2), throttled
    /// per address and account (`super::throttle`).
    async fn login(&mut self) -> Result<(), End> {
        let deadline = self.login_deadline;
        let (request_id, hello) = match self.login_message(deadline).await? {
            (request_id, Body::Hello(hello)) => (request_id, hello),
            _ => {
                return Err(End::Violation(
                    ErrorCode::NotLoginErr,
                    "first message is not Hello".into(),
                ));
            }
        };
        if hello.protocol_version != PROTOCOL_VERSION {
            self.count(&self.shared.counters.logins_refused_version);
            self.respond(request_id, ErrorCode::ServerMismatch);
            return Err(End::Refused(ErrorCode::ServerMismatch));
        }
        if let Some(resume) = hello.resume {
            self.forwarder.set_sender_withholds(hello.stream_demand);
            return self.resume(request_id, resume, deadline).await;
        }
        let Ok(client_first) = ClientHello::parse(&hello.scram_first) else {
            return Err(End::Violation(
                ErrorCode::MsgErr,
                "Hello without a valid SCRAM client-first-message".into(),
            ));
        };
        let username = client_first.username.clone();
        let admission =
            self.shared
                .throttle
                .lock()
                .admit(self.peer.ip(), &username, Instant::now(), deadline);
        match admission {
            Admission::At(slot) => tokio::time::sleep_until(slot).await,
            Admission::Refused => {
                tracing::warn!(conn = self.conn, peer = %self.peer, username, "login refused: too many failed logins, throttled");
                self.count(&self.shared.counters.logins_refused_throttled);
                self.respond(request_id, ErrorCode::MuchVisitedErr);
                return Err(End::Refused(ErrorCode::MuchVisitedErr));
            }
        }
        let tls = matches!(self.binding, ChannelBinding::TlsExporter(_));
        let credentials = self.shared.credentials.read().clone();
        let (user, scram_final, auth_id, scram_key) = match credentials.challenge(&username, tls) {
            Challenge::Scram { user, verifier } => {
                let (server, server_first) = ServerFirst::start(client_first, verifier);
                self.challenge(request_id, server_first, false);
                let (request_id, authenticate) = self.authenticate(deadline).await?;
                match (
                    user,
                    server.finish_with_key(&authenticate.scram_final, self.binding),
                ) {
                    (Some(user), Ok((server_final, key))) => {
                        (user, server_final, request_id, Some(key))
                    }
                    (_, result) => {
                        let why = result
                            .err()
                            .map_or("not an account".to_string(), |e| e.to_string());
                        return Err(self.refuse_login(request_id, &username, &why));
                    }
                }
            }
            Challenge::Legacy { user, hash } => {
                self.challenge(request_id, String::new(), true);
                let (request_id, authenticate) = self.authenticate(deadline).await?;
                let verified = tokio::time::timeout_at(
                    deadline,
                    credentials.verify_legacy(hash, authenticate.password),
                )
                .await
                .unwrap_or(false);
                if !verified {
                    return Err(self.refuse_login(
                        request_id,
                        &username,
                        "wrong password (legacy)",
                    ));
                }
                (user, String::new(), request_id, None)
            }
        };
        self.shared.throttle.lock().succeeded(&username);
        tracing::info!(conn = self.conn, user, username, client = %hello.client_name, tls, "logged in");
        self.count(&self.shared.counters.logins_accepted);
        self.forwarder.set_sender_withholds(hello.stream_demand);
        self.user = user;
        let mut login = Input::Login {
            conn: self.conn,
            request_id: auth_id,
            user,
            stream_demand: hello.stream_demand,
            scram_final,
            resume: None,
        };
        if !hello.resumable {
            return self.to_hub(login).await;
        }
        // A SCRAM login's key is derived on both ends; a legacy one's travels (inside TLS).
        let (key, sent_key) = match scram_key {
            Some(key) => (key, bytes::Bytes::new()),
            None => {
                let mut key = [0u8; 32];
                conference_proto::scram::fill_random(&mut key);
                (key, bytes::Bytes::copy_from_slice(&key))
            }
        };
        let state = Arc::new(ResumeState::new(resume::token(), key));
        if let Input::Login { resume, .. } = &mut login {
            *resume = Some(ResumeGrant {
                token: bytes::Bytes::copy_from_slice(&state.token),
                key: sent_key,
            });
        }
        self.resume = Some(state.clone());
        self.shared
            .hub
            .send(HubMsg::ResumableLogin {
                input: login,
                state,
            })
            .await
            .map_err(|_| End::ByServer)
    }

    /// A resume (docs/PROTOCOL.md §8): the session of the token, a challenge, the proof, then
    /// the hub moves the session onto this link and replays what the client missed. Every
    /// refusal is `NvalidSessionErr`: the client logs in afresh.
    async fn resume(
        &mut self,
        request_id: u32,
        hello: pb::ResumeHello,
        deadline: Instant,
    ) -> Result<(), End> {
        let refused = ErrorCode::NvalidSessionErr;
        let found = match Token::try_from(&hello.token[..]) {
            Ok(token) => {
                let (reply, answer) = tokio::sync::oneshot::channel();
                self.to_hub_msg(HubMsg::FindSession { token, reply })
                    .await?;
                answer.await.ok().flatten()
            }
            Err(_) => None,
        };
        let Some((session, state)) = found else {
            tracing::info!(conn = self.conn, peer = %self.peer, "resume refused: no such session");
            self.respond(request_id, refused);
            return Err(End::Refused(refused));
        };
        let server_nonce = resume::nonce();
        let message = pb::ServerMessage::response(
            request_id,
            0,
            Some(pb::response::Result::Challenge(pb::Challenge {
                resume_nonce: server_nonce.clone(),
                ..Default::default()
            })),
        );
        let _ = self
            .out
            .push_control(conference_proto::frame::encode_control(&message));
        let (auth_id, authenticate) = self.authenticate(deadline).await?;
        let expected = resume::proof(
            &state.key,
            &state.token,
            &hello.client_nonce,
            &server_nonce,
            self.binding,
        );
        if !resume::verify(&expected, &authenticate.resume_proof) {
            tracing::warn!(conn = self.conn, peer = %self.peer, session, "resume refused: wrong proof");
            self.respond(auth_id, refused);
            return Err(End::Refused(refused));
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.to_hub_msg(HubMsg::Attach {
            session,
            link: self.conn,
            request_id: auth_id,
            received: authenticate.received,
            reply,
        })
        .await?;
        match answer.await {
            Ok(Ok(())) => {
                tracing::info!(conn = self.conn, peer = %self.peer, session, "session resumed");
                self.session = session;
                self.seen = state.received();
                self.resume = Some(state);
                Ok(())
            }
            Ok(Err(code)) => {
                self.respond(auth_id, code);
                Err(End::Refused(code))
            }
            Err(_) => Err(End::ByServer),
        }
    }

    /// Answers the `Hello` with the challenge.
    fn challenge(&self, request_id: u32, scram_first: String, legacy: bool) {
        let message = pb::ServerMessage::response(
            request_id,
            0,
            Some(pb::response::Result::Challenge(pb::Challenge {
                scram_first,
                legacy,
                resume_nonce: String::new(),
            })),
        );
        let _ = self
            .out
            .push_control(conference_proto::frame::encode_control(&message));
    }

    /// The `Authenticate` that must follow the challenge.
    async fn authenticate(&mut self, deadline: Instant) -> Result<(u32, pb::Authenticate), End> {
        match self.login_message(deadline).await? {
            (request_id, Body::Authenticate(authenticate)) => Ok((request_id, authenticate)),
            _ => Err(End::Violation(
                ErrorCode::NotLoginErr,
                "the challenge was not answered by Authenticate".into(),
            )),
        }
    }

    /// A failed login: counted, throttled, logged once with the address, answered with the
    /// one code for every reason (unknown name and wrong password look alike).
    fn refuse_login(&self, request_id: u32, username: &str, why: &str) -> End {
        self.shared
            .throttle
            .lock()
            .failed(self.peer.ip(), username, Instant::now());
        tracing::warn!(conn = self.conn, peer = %self.peer, username, "login refused: {why}");
        self.count(&self.shared.counters.logins_refused_password);
        self.respond(request_id, ErrorCode::UserPasswordErr);
        End::Refused(ErrorCode::UserPasswordErr)
    }

    fn count(&self, counter: &std::sync::atomic::AtomicU64) {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn respond(&self, request_id: u32, code: ErrorCode) {
        let message = pb::ServerMessage::response(request_id, code.code(), None);
        let _ = self
            .out
            .push_control(conference_proto::frame::encode_control(&message));
    }

    async fn to_hub(&self, input: Input) -> Result<(), End> {
        self.to_hub_msg(HubMsg::Core(input)).await
    }

    async fn to_hub_msg(&self, message: HubMsg) -> Result<(), End> {
        self.shared
            .hub
            .send(message)
            .await
            .map_err(|_| End::ByServer)
    }

    /// An input of the session this link carries (`seq` 0: not sequenced).
    async fn session_input(&self, seq: u64, input: Input) -> Result<(), End> {
        self.to_hub_msg(HubMsg::FromLink {
            session: self.session,
            link: self.conn,
            seq,
            input,
        })
        .await
    }

    async fn session(&mut self, routes: &mut watch::Receiver<Arc<RouteTable>>) -> Result<End, End> {
        let heartbeat = self.shared.heartbeat;
        let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_rx = Instant::now();
        let mut meter = SignalMeter::new(last_rx.into_std());
        let mut reported = 5u8;
        let out = self.out.clone();
        // The table published at the login or the resume, before any frame is forwarded (a
        // resumed sender replays its key frame at once).
        let table = routes.borrow_and_update().clone();
        self.forwarder.apply(&table);
        loop {
            while let Some(frame) = self.next_frame()? {
                if let Some(end) = self.frame(frame, &mut meter).await? {
                    return Ok(end);
                }
            }
            tokio::select! {
                biased;
                _ = out.closed() => return Ok(if out.failed() {
                    End::Gone("write failed".into())
                } else {
                    End::ByServer
                }),
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
                    let ping = pb::Ping {
                        nonce,
                        heartbeat_ms: heartbeat.as_millis() as u32,
                        rtt_us: link.map_or(0, |l| {
                            u32::try_from(l.rtt.as_micros()).unwrap_or(u32::MAX).max(1)
                        }),
                        loss_permille: link.map_or(0, |l| (l.loss * 1000.0).round() as u32),
                        sent: 0,
                    };
                    let pushed = push_ping(&out, self.resume.as_deref(), ping);
                    if pushed.is_err() {
                        return Ok(End::Gone("control backlog over its cap".into()));
                    }
                    let status = meter.status(now.into_std(), heartbeat);
                    if status != reported {
                        reported = status;
                        self.session_input(0, Input::Signal { conn: self.session, status }).await?;
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
        let message = decode_client_sequenced(&frame)
            .map_err(|err| End::Violation(ErrorCode::MsgErr, err.to_string()))?;
        if message.ack != 0
            && let Some(state) = &self.resume
        {
            state.ack(message.ack);
        }
        if message.seq != 0 {
            if message.seq > self.seen + 1 {
                return Err(End::Gone("a client message is missing".into()));
            }
            self.seen = self.seen.max(message.seq);
        }
        let (request_id, body) = (message.request_id, message.body);
        if let (Some(fleet), Body::JoinRoom(join)) = (&self.shared.fleet, &body)
            && let Some(answer) = fleet
                .gate_join(self.user, request_id, join.room_id, &frame)
                .await
        {
            // Homed elsewhere (a redirect) or unplaceable now (docs/CLUSTER.md): answered in
            // the session's order (and sequence, for a resumable one) through the hub.
            self.to_hub_msg(HubMsg::Reply {
                session: self.session,
                link: self.conn,
                seq: message.seq,
                frame: answer,
            })
            .await?;
            return Ok(None);
        }
        match body {
            Body::Pong(pong) if self.resume.is_some() && pong.sent > self.seen => {
                // Sent before this Pong and never came: the link lost it (a resume replays it).
                return Err(End::Gone("a client message is missing".into()));
            }
            Body::Pong(pong) => {
                if let Some(rtt) = meter.pong(pong.nonce, std::time::Instant::now()) {
                    self.shared.counters.heartbeat_rtt.observe(rtt);
                }
            }
            Body::Goodbye(_) => return Ok(Some(End::Goodbye)),
            // Its acknowledgement was taken above.
            Body::AckOnly(_) => {}
            body => {
                let request = Input::Request {
                    conn: self.session,
                    request_id,
                    body,
                };
                self.session_input(message.seq, request).await?
            }
        }
        Ok(None)
    }
}
