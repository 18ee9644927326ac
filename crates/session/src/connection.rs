//! One MCU session: connect with a timeout, the Hello/login handshake, then the connection
//! task (frames → cache, events, responses; heartbeat) and a writer task per link (control
//! frames first, then queued media). A resumable session outlives its links: when one breaks
//! the task reconnects on the protocol's backoff and resumes (docs/PROTOCOL.md §8), the
//! callers and the application noticing nothing but a pause.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use bytes::Bytes;
use conference_proto::client::{ClientConn, ClientEvent, Timing};
use conference_proto::login::LoginParams;
use conference_proto::media::MediaHeader;
use conference_proto::pb::{self, client_message};
use conference_proto::scram::ChannelBinding;
use conference_proto::{ErrorCode, PROTOCOL_VERSION};
use parking_lot::{Condvar, Mutex};
use tokio::io::{
    AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter, ReadHalf, WriteHalf,
};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use crate::requests::{self, Pending, RequestKind};
use crate::send_queue::SendQueue;
use crate::stats::Uplinked;
use crate::tls::{self, TlsFailure, TlsMode, TlsSettings};
use crate::uplink::Uplink;

/// What a connection reports to (the session's shared state implements it: the connection
/// knows nothing of the session), and the figures it runs with.
pub(crate) trait Owner: Send + Sync + 'static {
    fn settings(&self) -> Settings;
    /// The connection or the handshake failed.
    fn connect_failed(&self, generation: u64, code: ErrorCode);
    /// Logged in; an error refuses the connection (the session moved on meanwhile).
    fn connected(
        &self,
        generation: u64,
        conn: &Arc<Conn>,
        login: pb::LoginResult,
        username: &str,
    ) -> Result<(), ErrorCode>;
    /// The link ended without a local close.
    fn lost(&self, generation: u64, reason: ErrorCode);
    /// The link broke; the session waits for a new one (nothing is lost).
    fn suspended(&self, generation: u64, reason: ErrorCode);
    /// The resume was refused and a new login went through on `conn`: rejoin the room.
    fn relogged(self: Arc<Self>, generation: u64, conn: &Arc<Conn>, login: pb::LoginResult);
    /// The session is back on a new link.
    fn resumed(&self, generation: u64);
    fn response(&self, generation: u64, conn: &Conn, response: pb::Response);
    fn event(&self, generation: u64, event: pb::Event);
    fn user_update(&self, generation: u64, users: Vec<pb::UserInfo>);
    fn media(&self, conn: &Conn, frame: conference_proto::media::MediaFrame);
    /// A heartbeat with the MCU's view of the link.
    fn link(&self, rtt_us: u32, loss_permille: u32);
}

/// The figures a connection runs with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    /// Bound on the login and on every request.
    pub request_timeout: Duration,
    /// Withhold unwatched streams (ask the MCU for `StreamDemand`).
    pub withhold_unwatched: bool,
    pub send_budget: crate::send_queue::SendBudget,
    /// How long `disconnect` waits for the MCU to close its side.
    pub disconnect_grace: Duration,
    /// Ask the MCU to keep the session across link cuts (docs/PROTOCOL.md §8).
    pub resumable: bool,
}

/// The byte stream to the MCU: TCP, or TLS over TCP.
pub(crate) trait Link: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Link for T {}
type BoxedLink = Box<dyn Link>;

/// Write buffer of the connection's writer.
const WRITE_BUFFER: usize = 64 * 1024;

/// How much later than the caller `ClientConn` gives up on a request itself: the caller's own
/// timeout (`requests::wait`) decides, the protocol's deadline only clears its books.
const PROTOCOL_DEADLINE_MARGIN: Duration = Duration::from_secs(1);

/// Where to connect, and as whom.
#[derive(Clone)]
pub(crate) struct ConnectParams {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub tls: TlsSettings,
}

/// A request to carry the session to another node of the fleet (a redirect, docs/PROTOCOL.md
/// §9): log in there with the same credentials, then Goodbye on the current link.
struct Move {
    /// `host:port` as the redirect names it.
    address: String,
    reply: SyncSender<Result<(), ErrorCode>>,
}

/// A one-shot flag a thread can wait on with a timeout.
struct Latch {
    set: Mutex<bool>,
    cond: Condvar,
}

impl Latch {
    fn new() -> Self {
        Latch {
            set: Mutex::new(false),
            cond: Condvar::new(),
        }
    }

    fn set(&self) {
        *self.set.lock() = true;
        self.cond.notify_all();
    }

    fn wait(&self, timeout: Duration) -> bool {
        let mut set = self.set.lock();
        if !*set {
            let _ = self.cond.wait_for(&mut set, timeout);
        }
        *set
    }
}

/// The API side of a live connection.
pub(crate) struct Conn {
    pub generation: u64,
    pub own_id: u32,
    /// The MCU keeps this session across link cuts (it gave a resume token).
    pub resumable: bool,
    pub pending: Pending,
    pub media: SendQueue,
    /// Which outgoing frames are withheld (`send_media` asks it, the reader feeds it).
    pub uplink: Mutex<Uplink>,
    /// The protocol state machine, shared by the reader task and the calling threads (a
    /// request takes its id and queues its frame under this lock, so its response cannot be
    /// processed before its waiter is registered).
    client: Mutex<ClientConn>,
    /// Control frames to the current link's writer (replaced by a resume).
    control: Mutex<mpsc::UnboundedSender<Bytes>>,
    /// Moves to another node, carried out by the connection task.
    moves: mpsc::UnboundedSender<Move>,
    /// A link carries the session (false between a cut and the resume).
    linked: AtomicBool,
    close: watch::Sender<bool>,
    /// Cleared by a local close: frames still arriving are no longer delivered.
    live: AtomicBool,
    /// Set when the socket is closed and the tasks are gone.
    done: Latch,
    request_timeout: Duration,
}

impl Conn {
    /// Sends a request and blocks the calling thread until the MCU answers or the timeout.
    pub fn request(
        &self,
        body: client_message::Body,
        kind: RequestKind,
    ) -> Result<pb::Response, ErrorCode> {
        self.request_with_token(body, kind, Bytes::new())
    }

    /// [`request`](Self::request) carrying a fleet redirect's token (empty: none).
    pub fn request_with_token(
        &self,
        body: client_message::Body,
        kind: RequestKind,
        redirect_token: Bytes,
    ) -> Result<pb::Response, ErrorCode> {
        let (id, rx) = {
            let mut client = self.client.lock();
            // Closed under us: withdrawn by a local close, else lost (the reader reports how).
            let id = client
                .request_with_token(body, redirect_token, Instant::now())
                .map_err(|_| self.pending.closed().unwrap_or(ErrorCode::NetworkException))?;
            let rx = self.pending.register(id, kind)?;
            if !self.flush(&mut client) {
                self.pending.take(id);
                return Err(ErrorCode::NetworkException);
            }
            (id, rx)
        };
        requests::wait(&self.pending, id, &rx, self.request_timeout)
    }

    /// A request nobody waits for (its answer is dropped): sent from the network thread,
    /// which must not block.
    pub fn send_detached(&self, body: client_message::Body) {
        let mut client = self.client.lock();
        if client.request(body, Instant::now()).is_ok() {
            self.flush(&mut client);
        }
    }

    /// A request whose answer is only its code.
    pub fn call(&self, body: client_message::Body) -> Result<(), ErrorCode> {
        let response = self.request(body, RequestKind::Plain)?;
        ErrorCode::check(response.code)
    }

    /// Hands every frame `client` has to transmit to the writer; false once it is gone and
    /// the session cannot wait for another link.
    fn flush(&self, client: &mut ClientConn) -> bool {
        let mut open = true;
        let control = self.control.lock();
        while let Some(frame) = client.poll_transmit() {
            // A closed writer means the link is already going (a resumable session keeps
            // the frame for the next one).
            open &= control.send(frame).is_ok();
        }
        open || client.is_resumable()
    }

    /// Queues one encoded media frame of `send_stream`, unless nobody watches its stream or
    /// the session is between links; what a new viewer needs goes first. The uplink sees
    /// every frame (it keeps the latest key frame for the resume).
    pub fn send_media(&self, header: &MediaHeader, frame: Bytes) -> Result<Uplinked, ErrorCode> {
        let mut uplink = self.uplink.lock();
        let mut replay = Vec::new();
        let send = uplink.admit(header, &frame, Instant::now(), &mut replay);
        if !self.linked.load(Ordering::Acquire) {
            return Ok(Uplinked::LinkDown);
        }
        self.media.push_replay(replay);
        if send {
            self.media.push(frame).map(|()| Uplinked::Sent)
        } else {
            Ok(Uplinked::Withheld)
        }
    }

    /// The MCU's `StreamDemand`: new viewers get their replay at once, then the MCU is told
    /// (it answers the subscriber on that acknowledgement).
    fn on_stream_demand(&self, watched: u32, seq: u32) {
        {
            let mut uplink = self.uplink.lock();
            uplink.set_watched(watched);
            let mut replay = Vec::new();
            uplink.take_replay(Instant::now(), &mut replay);
            self.media.push_replay(replay);
        }
        let mut client = self.client.lock();
        client.demand_applied(seq);
        self.flush(&mut client);
    }

    /// Carries the session to the fleet node at `address` (`host:port`); blocks until it is
    /// logged in there (the current link then says Goodbye), or fails and stays where it is.
    pub fn move_to(&self, address: &str) -> Result<(), ErrorCode> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        let order = Move {
            address: address.to_owned(),
            reply,
        };
        self.moves
            .send(order)
            .map_err(|_| self.pending.closed().unwrap_or(ErrorCode::NetworkException))?;
        // The connection task bounds the login by the request timeout; this only guards
        // against a task that ended meanwhile.
        answer
            .recv_timeout(self.request_timeout * 2)
            .unwrap_or(Err(ErrorCode::Timeout))
    }

    /// How long the MCU keeps this session across a cut (zero: not resumable).
    pub fn resume_window(&self) -> Duration {
        self.client.lock().resume_window()
    }

    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// Ends the session from this side: Goodbye, then the socket closes. Waiting requests
    /// fail with `NotLoginErr`.
    pub fn close_locally(&self) {
        self.live.store(false, Ordering::Release);
        self.pending.close(ErrorCode::NotLoginErr);
        {
            let mut client = self.client.lock();
            client.close();
            self.flush(&mut client);
        }
        self.close.send_replace(true);
    }

    /// Waits (bounded) until the connection task closed the socket.
    pub fn wait_closed(&self, timeout: Duration) -> bool {
        self.done.wait(timeout)
    }
}

/// How a connection ended.
enum End {
    /// `disconnect` or `shutdown`.
    Local,
    /// The MCU closed it, went silent, or sent garbage: the USER_CLOSE reason.
    Lost(ErrorCode),
}

/// The connection task: handshake, then reading until the end. Answers the `connect` call
/// through `reply` as soon as the handshake is over.
pub(crate) async fn run<O: Owner>(
    owner: Arc<O>,
    generation: u64,
    params: ConnectParams,
    reply: SyncSender<Result<(), ErrorCode>>,
) {
    let settings = owner.settings();
    let timeout = settings.request_timeout;
    let withhold = settings.withhold_unwatched;
    let established = tokio::time::timeout(timeout, establish(&params, &settings))
        .await
        .unwrap_or(Err(ErrorCode::Timeout));
    let (stream, client, login) = match established {
        Ok(established) => established,
        Err(code) => {
            tracing::info!(host = %params.host, port = params.port, ?code, "connect failed");
            owner.connect_failed(generation, code);
            let _ = reply.send(Err(code));
            return;
        }
    };
    let (control, control_rx) = mpsc::unbounded_channel();
    let (moves, moves_rx) = mpsc::unbounded_channel();
    let (close, close_rx) = watch::channel(false);
    let conn = Arc::new(Conn {
        generation,
        own_id: login.user_id,
        resumable: client.is_resumable(),
        pending: Pending::new(),
        media: SendQueue::new(settings.send_budget),
        uplink: Mutex::new(Uplink::new(login.stream_demand && withhold)),
        client: Mutex::new(client),
        control: Mutex::new(control),
        moves,
        linked: AtomicBool::new(true),
        close,
        live: AtomicBool::new(true),
        done: Latch::new(),
        request_timeout: timeout,
    });
    tracing::info!(user_id = login.user_id, server = %login.server_name, "connected to the MCU");
    let alternates = login.fleet_nodes.clone();
    if let Err(code) = owner.connected(generation, &conn, login, &params.username) {
        let _ = reply.send(Err(code));
        conn.done.set();
        return;
    }
    let _ = reply.send(Ok(()));

    let link = LinkIo::start(stream, control_rx, &conn, &close_rx);
    let mut driver = Driver {
        owner: &owner,
        conn: &conn,
        entry: params.clone(),
        params,
        alternates,
        moves: moves_rx,
        settings,
        link: Some(link),
        connecting: None,
        close: close_rx,
        suspended: None,
        relogin: false,
    };
    let end = driver.run().await;
    let link = driver.link.take();
    conn.close.send_replace(true);
    match end {
        End::Local => {
            // Goodbye is flushed, then the MCU closes its side; waiting for that means the
            // MCU has forgotten this session when `disconnect` returns.
            if let Some(mut link) = link {
                let grace = settings.disconnect_grace;
                if tokio::time::timeout(grace, &mut link.writer).await.is_ok() {
                    let _ = tokio::time::timeout(grace, drain(&mut link.reader)).await;
                }
            }
        }
        End::Lost(reason) => {
            tracing::warn!(?reason, "MCU connection lost");
            if let Some(link) = link {
                link.writer.abort();
            }
            conn.live.store(false, Ordering::Release);
            conn.pending.close(ErrorCode::NetworkException);
            owner.lost(generation, reason);
        }
    }
    conn.done.set();
}

/// One link's halves: the reader (read by the connection task) and the writer task.
struct LinkIo {
    reader: ReadHalf<BoxedLink>,
    writer: tokio::task::JoinHandle<()>,
}

impl LinkIo {
    fn start(
        stream: BoxedLink,
        control: mpsc::UnboundedReceiver<Bytes>,
        conn: &Arc<Conn>,
        close: &watch::Receiver<bool>,
    ) -> LinkIo {
        let (reader, writer) = tokio::io::split(stream);
        let writer = tokio::spawn(write_loop(writer, control, Arc::clone(conn), close.clone()));
        LinkIo { reader, writer }
    }
}

/// A connection attempt of the resume backoff.
type Connecting = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<(BoxedLink, ChannelBinding), ErrorCode>> + Send>,
>;

/// The connection task after the login: reads the current link, feeds the protocol, and
/// between links runs the reconnect attempts the protocol asks for.
struct Driver<'a, O: Owner> {
    owner: &'a Arc<O>,
    conn: &'a Arc<Conn>,
    /// Where `connect_MCU` connected: a fleet's entry (a node, or a load balancer in front).
    entry: ConnectParams,
    /// The node carrying the session: the entry, or where a redirect sent it.
    params: ConnectParams,
    /// A fleet's other nodes, as the last login named them (`LoginResult.fleet_nodes`).
    alternates: Vec<String>,
    moves: mpsc::UnboundedReceiver<Move>,
    settings: Settings,
    link: Option<LinkIo>,
    connecting: Option<Connecting>,
    close: watch::Receiver<bool>,
    /// Why the session has no link, and until when the MCU keeps it.
    suspended: Option<(ErrorCode, Instant)>,
    /// The MCU refused the resume: log in again before anything else.
    relogin: bool,
}

impl<O: Owner> Driver<'_, O> {
    async fn run(&mut self) -> End {
        let conn = self.conn;
        loop {
            let (events, deadline) = {
                let mut client = conn.client.lock();
                let events: Vec<ClientEvent> = std::iter::from_fn(|| client.poll_event()).collect();
                conn.flush(&mut client);
                (events, client.poll_timeout())
            };
            for event in events {
                if let Some(end) = self.handle(event) {
                    return end;
                }
            }
            if std::mem::take(&mut self.relogin) {
                if let Err(end) = self.log_in_again().await {
                    return end;
                }
                continue;
            }
            let deadline = deadline.map(tokio::time::Instant::from_std);
            let mut buf = conn.client.lock().take_read_buffer();
            let spare = buf.capacity() - buf.len();
            tokio::select! {
                _ = self.close.changed() => return End::Local,
                read = read_link(self.link.as_mut(), &mut buf) => {
                    let mut client = conn.client.lock();
                    match read {
                        Ok(n) if n > 0 => client.handle_read_buffer(buf, n, spare, Instant::now()),
                        result => {
                            if let Err(err) = result {
                                tracing::debug!(%err, "read failed");
                            }
                            client.handle_read_buffer(buf, 0, spare, Instant::now());
                            client.handle_eof(Instant::now());
                        }
                    }
                }
                opened = connect_attempt(self.connecting.as_mut()) => {
                    self.connecting = None;
                    let mut client = conn.client.lock();
                    client.handle_read_buffer(buf, 0, spare, Instant::now());
                    match opened {
                        Ok((stream, binding)) => {
                            let (control, control_rx) = mpsc::unbounded_channel();
                            *conn.control.lock() = control;
                            self.link = Some(LinkIo::start(stream, control_rx, conn, &self.close));
                            client.resume_link(binding, Instant::now());
                        }
                        Err(ErrorCode::SockCnntErr) if self.can_fall_back() => {
                            // Nobody listens at the fleet node carrying the session: it died.
                            // The entry, or another node, knows (after the fleet's lease)
                            // where the room lives now.
                            tracing::info!(node = %self.params.host, port = self.params.port, "the node is gone: rejoining through another");
                            self.fall_back();
                            self.relogin = true;
                        }
                        Err(code) => {
                            tracing::debug!(?code, "reconnect attempt failed");
                            client.link_failed(Instant::now());
                        }
                    }
                }
                () = sleep_until(deadline) => {
                    let mut client = conn.client.lock();
                    client.handle_read_buffer(buf, 0, spare, Instant::now());
                    client.handle_timeout(Instant::now());
                }
                Some(order) = self.moves.recv() => {
                    conn.client.lock().handle_read_buffer(buf, 0, spare, Instant::now());
                    let moved = self.move_to(&order.address).await;
                    let _ = order.reply.send(moved);
                }
            }
        }
    }

    /// One event of the protocol state machine. `Some` ends the session.
    fn handle(&mut self, event: ClientEvent) -> Option<End> {
        let conn = self.conn;
        match event {
            ClientEvent::Suspended(reason) => {
                if self.suspended.is_none() {
                    tracing::warn!(?reason, "MCU link lost: resuming");
                    let window = conn.client.lock().resume_window();
                    self.suspended = Some((reason, Instant::now() + window));
                    self.owner.suspended(conn.generation, reason);
                }
                self.unlink();
                None
            }
            ClientEvent::Connect => {
                // Owned: the attempt is a future of its own (at the node carrying the session).
                let params = self.params.clone();
                let bound = conn.client.lock().attempt_timeout();
                self.connecting = Some(Box::pin(async move {
                    let attempt = async {
                        // Resolved again: the MCU may have moved.
                        let addrs = resolve(&params.host, params.port).await?;
                        open_link(&addrs, &params.host, &params.tls).await
                    };
                    tokio::time::timeout(bound, attempt)
                        .await
                        .unwrap_or(Err(ErrorCode::Timeout))
                }));
                None
            }
            ClientEvent::Resumed => {
                tracing::info!("session resumed on a new link");
                {
                    let mut uplink = conn.uplink.lock();
                    let mut replay = Vec::new();
                    uplink.resumed(Instant::now(), &mut replay);
                    conn.media.push_replay(replay);
                }
                conn.linked.store(true, Ordering::Release);
                self.suspended = None;
                self.owner.resumed(conn.generation);
                None
            }
            ClientEvent::Closed(ErrorCode::NvalidSessionErr) if self.suspended.is_some() => {
                tracing::info!("the MCU no longer knows the session: logging in again");
                self.params = self.entry.clone();
                self.relogin = true;
                None
            }
            ClientEvent::Closed(ErrorCode::NvalidSessionErr) if conn.resumable => {
                // A fleet node that was cut off sends its stale room's users away: the room
                // lives on another node now; the entry redirects there.
                tracing::info!("the fleet moved the room: rejoining it where it lives now");
                let reason = ErrorCode::NvalidSessionErr;
                let window = conn.client.lock().resume_window();
                self.suspended = Some((reason, Instant::now() + window));
                self.owner.suspended(conn.generation, reason);
                self.unlink();
                self.params = self.entry.clone();
                self.relogin = true;
                None
            }
            ClientEvent::Closed(reason) if self.suspended.is_some() => {
                // The window ran out: the reason is why the link was lost in the first place.
                let original = self.suspended.map_or(reason, |(why, _)| why);
                handle_event(&**self.owner, conn, ClientEvent::Closed(original))
            }
            event => handle_event(&**self.owner, conn, event),
        }
    }
}

impl<O: Owner> Driver<'_, O> {
    /// Between links: media stops at once.
    fn unlink(&mut self) {
        self.conn.linked.store(false, Ordering::Release);
        if let Some(link) = self.link.take() {
            link.writer.abort();
        }
        self.conn.media.clear();
    }

    /// A redirect moved the session away from the entry.
    fn redirected(&self) -> bool {
        (&self.params.host, self.params.port) != (&self.entry.host, self.entry.port)
    }

    /// Another address to log in at exists when the current one stops answering.
    fn can_fall_back(&self) -> bool {
        self.redirected() || !self.alternates.is_empty()
    }

    /// The next address to log in at: the entry, then the fleet's other nodes in turn (a
    /// redirect's node falls back to the entry first).
    fn fall_back(&mut self) {
        let current = address_of(&self.params.host, self.params.port);
        let mut candidates = vec![address_of(&self.entry.host, self.entry.port)];
        candidates.extend(self.alternates.iter().cloned());
        let next = match candidates.iter().position(|c| *c == current) {
            Some(i) => &candidates[(i + 1) % candidates.len()],
            None => &candidates[0],
        };
        if let Some((host, port)) = split_address(next) {
            self.params.host = host;
            self.params.port = port;
        }
    }

    /// Logs in at the fleet node `address` and puts the session there: the old link says
    /// Goodbye and closes. Nothing is reported: to the application it is still one session.
    async fn move_to(&mut self, address: &str) -> Result<(), ErrorCode> {
        let conn = self.conn;
        let (host, port) = split_address(address).ok_or(ErrorCode::AddrErr)?;
        let params = ConnectParams {
            host,
            port,
            ..self.params.clone()
        };
        let login = tokio::time::timeout(
            self.settings.request_timeout,
            establish(&params, &self.settings),
        )
        .await
        .unwrap_or(Err(ErrorCode::Timeout));
        let (stream, client, login) = login.inspect_err(|code| {
            tracing::info!(%address, ?code, "cannot reach the room's node");
        })?;
        if login.user_id != conn.own_id {
            // The nodes' account files differ: the application knows us by the first id.
            tracing::warn!(%address, own = conn.own_id, there = login.user_id, "the fleet's nodes disagree on this user's id");
            return Err(ErrorCode::IDEnrityErr);
        }
        let (control, control_rx) = mpsc::unbounded_channel();
        {
            let mut current = conn.client.lock();
            current.close();
            conn.flush(&mut current);
            *current = client;
            // The old writer sends the Goodbye, sees its channel closed and shuts the socket.
            *conn.control.lock() = control;
        }
        // Requests of the old link cannot be answered on the new one.
        conn.pending.fail_waiting(ErrorCode::NetworkException);
        conn.uplink.lock().reset();
        let old = self
            .link
            .replace(LinkIo::start(stream, control_rx, conn, &self.close));
        if let Some(old) = old {
            let grace = self.settings.disconnect_grace;
            tokio::spawn(async move {
                let LinkIo { reader, writer } = old;
                let _ = tokio::time::timeout(grace, writer).await;
                drop(reader);
            });
        }
        tracing::info!(%address, node = %login.server_name, "the session moved to the room's node");
        self.params = params;
        self.alternates = login.fleet_nodes;
        Ok(())
    }

    /// A new login with the same credentials, retried on the backoff until the MCU's resume
    /// window (counted from the cut) ends; then the session rejoins its room (`Owner`).
    /// `Err` ends the session: a final refusal (credentials, version, TLS trust), the window
    /// over, or a local close.
    async fn log_in_again(&mut self) -> Result<(), End> {
        let conn = self.conn;
        let (reason, until) = self
            .suspended
            .unwrap_or((ErrorCode::NetworkException, Instant::now()));
        let mut attempt = 0u32;
        loop {
            if *self.close.borrow() {
                return Err(End::Local);
            }
            let now = Instant::now();
            if now >= until {
                return Err(End::Lost(reason));
            }
            let bound = self.settings.request_timeout.min(until - now);
            let login = tokio::time::timeout(bound, establish(&self.params, &self.settings))
                .await
                .unwrap_or(Err(ErrorCode::Timeout));
            match login {
                Ok((stream, client, login)) => {
                    let (control, control_rx) = mpsc::unbounded_channel();
                    *conn.control.lock() = control;
                    *conn.client.lock() = client;
                    self.link = Some(LinkIo::start(stream, control_rx, conn, &self.close));
                    conn.uplink.lock().reset();
                    conn.linked.store(true, Ordering::Release);
                    self.suspended = None;
                    tracing::info!(user_id = login.user_id, "logged in again after the cut");
                    self.alternates = login.fleet_nodes.clone();
                    Arc::clone(self.owner).relogged(conn.generation, conn, login);
                    return Ok(());
                }
                Err(code) if is_final(code) => {
                    tracing::warn!(?code, "logging in again was refused");
                    return Err(End::Lost(code));
                }
                Err(code) => {
                    tracing::debug!(?code, attempt, "logging in again failed, retrying");
                    if code == ErrorCode::SockCnntErr && self.can_fall_back() {
                        self.fall_back();
                    }
                    let delay = BACKOFF_STEP
                        .saturating_mul(1 << attempt.min(4))
                        .min(BACKOFF_MAX);
                    attempt += 1;
                    tokio::select! {
                        _ = self.close.changed() => return Err(End::Local),
                        () = tokio::time::sleep(delay.min(until.saturating_duration_since(now))) => {}
                    }
                }
            }
        }
    }
}

/// Backoff of repeated logins after a refused resume.
const BACKOFF_STEP: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// A login refusal that retrying cannot change.
fn is_final(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::UserPasswordErr
            | ErrorCode::ServerMismatch
            | ErrorCode::ErrorAuthFailed
            | ErrorCode::IDEnrityErr
            | ErrorCode::VerifiFailureErr
            | ErrorCode::OpNotSupport
            | ErrorCode::AddrErr
    )
}

/// Reads the current link; pending forever between links.
async fn read_link(link: Option<&mut LinkIo>, buf: &mut bytes::BytesMut) -> std::io::Result<usize> {
    match link {
        Some(link) => link.reader.read_buf(buf).await,
        None => std::future::pending().await,
    }
}

/// The connection attempt in progress; pending forever without one.
async fn connect_attempt(
    connecting: Option<&mut Connecting>,
) -> Result<(BoxedLink, ChannelBinding), ErrorCode> {
    match connecting {
        Some(attempt) => attempt.await,
        None => std::future::pending().await,
    }
}

/// Resolves, connects and logs in. Every failure maps to the code `connect_MCU` returns.
/// The `ClientConn` keeps whatever arrived after the login for the reader.
async fn establish(
    params: &ConnectParams,
    settings: &Settings,
) -> Result<(BoxedLink, ClientConn, pb::LoginResult), ErrorCode> {
    let (withhold_unwatched, resumable) = (settings.withhold_unwatched, settings.resumable);
    let request_timeout = settings.request_timeout;
    let addrs = resolve(&params.host, params.port).await?;
    let (mut stream, binding) = open_link(&addrs, &params.host, &params.tls).await?;
    let login = LoginParams {
        client_name: concat!("conference_sdk ", env!("CARGO_PKG_VERSION")),
        username: &params.username,
        password: &params.password,
        stream_demand: withhold_unwatched,
        resumable,
        binding,
        protocol_version: PROTOCOL_VERSION,
    };
    let timing = Timing {
        request_timeout: request_timeout + PROTOCOL_DEADLINE_MARGIN,
    };
    let mut client = ClientConn::new(&login, timing, Instant::now());
    loop {
        while let Some(frame) = client.poll_transmit() {
            stream
                .write_all(&frame)
                .await
                .map_err(|_| ErrorCode::SockSendErr)?;
        }
        stream.flush().await.map_err(|_| ErrorCode::SockSendErr)?;
        while let Some(event) = client.poll_event() {
            match event {
                ClientEvent::LoggedIn(result) => return Ok((stream, client, result)),
                // A link that fails before the login is a receive failure for connect_MCU.
                ClientEvent::Closed(ErrorCode::NetworkException) => {
                    return Err(ErrorCode::SockRecvErr);
                }
                ClientEvent::Closed(code) => return Err(code),
                _ => {}
            }
        }
        let mut buf = client.take_read_buffer();
        let spare = buf.capacity() - buf.len();
        match stream.read_buf(&mut buf).await {
            Ok(n) if n > 0 => client.handle_read_buffer(buf, n, spare, Instant::now()),
            _ => {
                client.handle_read_buffer(buf, 0, spare, Instant::now());
                client.handle_eof(Instant::now());
            }
        }
    }
}

/// TCP, then TLS as the settings say (docs/SECURITY.md): `prefer` falls back to a new plain
/// connection when the MCU does not offer TLS, unless a CA or pin is set.
async fn open_link(
    addrs: &[SocketAddr],
    host: &str,
    settings: &TlsSettings,
) -> Result<(BoxedLink, ChannelBinding), ErrorCode> {
    let tcp = connect_any(addrs).await?;
    if settings.mode == TlsMode::Off {
        return Ok((Box::new(tcp), ChannelBinding::None));
    }
    match tls::handshake(tcp, host, settings).await {
        Ok(tls) => Ok((
            Box::new(tls.stream),
            ChannelBinding::TlsExporter(tls.exporter),
        )),
        Err(TlsFailure::Refused(code)) => Err(code),
        Err(TlsFailure::NotOffered) if settings.mode == TlsMode::Require || settings.verifies() => {
            Err(ErrorCode::OpNotSupport)
        }
        Err(TlsFailure::NotOffered) => {
            tracing::info!(
                "the MCU offers no TLS: plain link (CONFERENCE_SDK_TLS=require refuses this)"
            );
            Ok((Box::new(connect_any(addrs).await?), ChannelBinding::None))
        }
    }
}

/// `host:port` as a fleet names its nodes (an IPv6 literal in brackets).
fn address_of(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `host:port` or `[v6]:port` of a redirect; `None` when malformed (or port 0).
fn split_address(address: &str) -> Option<(String, u16)> {
    let (host, port) = address.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|&p| p != 0)?;
    if host.is_empty() || (host.contains(':') && !host.starts_with('[')) {
        return None;
    }
    Some((host.to_owned(), port))
}

/// An IP literal, or a syntactically valid host name looked up by the system resolver.
async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, ErrorCode> {
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    if !is_host_name(host) {
        return Err(ErrorCode::AddrErr);
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| ErrorCode::AddrErr)?
        .collect();
    if addrs.is_empty() {
        return Err(ErrorCode::AddrErr);
    }
    Ok(addrs)
}

/// RFC 1123 host name syntax: checked before the resolver so garbage never reaches DNS.
pub(crate) fn is_host_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

async fn connect_any(addrs: &[SocketAddr]) -> Result<TcpStream, ErrorCode> {
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                if let Err(err) = stream.set_nodelay(true) {
                    tracing::debug!(%err, "TCP_NODELAY not set");
                }
                return Ok(stream);
            }
            Err(err) => tracing::debug!(%addr, %err, "connect failed"),
        }
    }
    Err(ErrorCode::SockCnntErr)
}

/// Sleeps until `deadline`; forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// One event of the protocol state machine. `Some` ends the connection.
fn handle_event<O: Owner>(owner: &O, conn: &Conn, event: ClientEvent) -> Option<End> {
    if !conn.is_live() {
        return Some(End::Local);
    }
    match event {
        ClientEvent::Media(media) => owner.media(conn, media),
        ClientEvent::Response { id, answer } => match answer {
            Ok(response) => owner.response(conn.generation, conn, response),
            // The protocol's own deadline, after the caller's: nobody waits any more.
            Err(code) => {
                if let Some(waiter) = conn.pending.take(id) {
                    waiter.answer(Err(code));
                }
            }
        },
        ClientEvent::Event(event) => owner.event(conn.generation, event),
        ClientEvent::Link {
            rtt_us,
            loss_permille,
        } => owner.link(rtt_us, loss_permille),
        ClientEvent::UserUpdate(users) => owner.user_update(conn.generation, users),
        ClientEvent::StreamDemand { watched, seq } => conn.on_stream_demand(watched, seq),
        ClientEvent::LoggedIn(_)
        | ClientEvent::Suspended(_)
        | ClientEvent::Connect
        | ClientEvent::Resumed => {}
        ClientEvent::Closed(reason) => {
            match reason {
                ErrorCode::NetworkException => {
                    tracing::warn!("the MCU went silent, closed the link or sent garbage")
                }
                code => tracing::info!(code = code.code(), "the MCU said goodbye"),
            }
            return Some(End::Lost(reason));
        }
    }
    None
}

/// Writes control frames as they come and media frames in between; flushes when idle.
async fn write_loop(
    writer: WriteHalf<BoxedLink>,
    mut control: mpsc::UnboundedReceiver<Bytes>,
    conn: Arc<Conn>,
    mut close: watch::Receiver<bool>,
) {
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, writer);
    let result: std::io::Result<()> = async {
        loop {
            // Control first: replies and requests never wait behind media.
            while let Ok(frame) = control.try_recv() {
                out.write_all(&frame).await?;
            }
            if *close.borrow() {
                break;
            }
            if let Some(frame) = conn.media.pop() {
                out.write_all(&frame).await?;
                continue;
            }
            out.flush().await?;
            tokio::select! {
                biased;
                frame = control.recv() => match frame {
                    Some(frame) => out.write_all(&frame).await?,
                    None => break,
                },
                changed = close.changed() => if changed.is_err() {
                    break;
                },
                () = conn.media.ready() => {}
            }
        }
        out.flush().await?;
        out.shutdown().await
    }
    .await;
    if let Err(err) = result {
        tracing::debug!(%err, "MCU connection write ended");
    }
}

/// Reads and discards until the MCU closes its side.
async fn drain(reader: &mut ReadHalf<BoxedLink>) {
    let mut sink = [0u8; 4096];
    while let Ok(n) = reader.read(&mut sink).await {
        if n == 0 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_checked_before_any_lookup() {
        for good in ["localhost", "mcu.example.com", "a-b.c1", "x.", "A"] {
            assert!(is_host_name(good), "{good}");
        }
        let long_label = "a".repeat(64);
        for bad in [
            "",
            "not a host!",
            "-a.b",
            "a-.b",
            "a..b",
            "host:80",
            long_label.as_str(),
            "é.com",
        ] {
            assert!(!is_host_name(bad), "{bad}");
        }
    }

    #[test]
    fn fleet_addresses_split_and_join_back() {
        assert_eq!(
            split_address("10.0.0.5:6870"),
            Some(("10.0.0.5".into(), 6870))
        );
        assert_eq!(split_address("[::1]:6870"), Some(("[::1]".into(), 6870)));
        assert_eq!(
            split_address("mcu-a.example:1"),
            Some(("mcu-a.example".into(), 1))
        );
        for bad in [
            "",
            "10.0.0.5",
            "10.0.0.5:0",
            ":6870",
            "::1:6870",
            "h:99999",
            "h:x",
        ] {
            assert_eq!(split_address(bad), None, "{bad}");
        }
        assert_eq!(address_of("::1", 7), "[::1]:7");
        assert_eq!(address_of("[::1]", 7), "[::1]:7");
        assert_eq!(address_of("10.0.0.5", 7), "10.0.0.5:7");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn bad_addresses_never_reach_the_network() {
        assert_eq!(resolve("not a host!", 1).await, Err(ErrorCode::AddrErr));
        assert_eq!(resolve("", 1).await, Err(ErrorCode::AddrErr));
        assert_eq!(
            resolve("[::1]", 7).await,
            Ok(vec!["[::1]:7".parse().unwrap()])
        );
        assert_eq!(
            resolve("127.0.0.1", 7).await,
            Ok(vec!["127.0.0.1:7".parse().unwrap()])
        );
    }
}
