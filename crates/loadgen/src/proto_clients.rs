//! A diagnostic client of the MCU (`--client raw`): the wire protocol spoken directly by
//! tokio tasks on one shared runtime, the way the NATS clients run. It does what the
//! classroom needs (login, room requests, pongs, media) and nothing else.
//!
//! The official figures use the SDK's session core (`--client sdk`, every instance on one
//! shared core of network and dispatcher threads). This client leaves out the SDK's own
//! work (the hand-off to a dispatcher thread), showing what the MCU alone costs when hundreds
//! of receivers in one process are cheap to wake (see `docs/PERFORMANCE.md`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use conference_proto::client::{ClientConn, ClientEvent, Timing};
use conference_proto::login::LoginParams;
use conference_proto::media::encode_media;
use conference_proto::pb::client_message::Body;
use conference_proto::{ErrorCode, MediaHeader, MediaType, pb};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::runtime::{Handle, Runtime};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::accounts;
use crate::classroom::Clients;
use crate::schedule::Publisher;
use crate::streams::{StreamInfo, StreamTable};
use crate::tracker::{self, RxCounters, Tracker};
use crate::workload::StreamKind;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A request for the connection's driver task.
struct Command {
    body: Body,
    reply: oneshot::Sender<Result<pb::Response, ErrorCode>>,
}

/// One protocol-level connection to the MCU: a [`ClientConn`] driven by one task, media
/// written straight to the socket's writer.
pub struct RawClient {
    pub user_id: u32,
    out: mpsc::UnboundedSender<Bytes>,
    commands: mpsc::UnboundedSender<Command>,
    tracker: Arc<Mutex<Tracker>>,
    table: Arc<std::sync::OnceLock<Arc<StreamTable>>>,
    lost: Arc<AtomicU64>,
    tasks: Vec<JoinHandle<()>>,
}

impl RawClient {
    async fn connect(
        addr: SocketAddr,
        username: &str,
        password: &str,
        epoch: Instant,
    ) -> anyhow::Result<RawClient> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect to {addr}"))?;
        stream.set_nodelay(true)?;
        let (reader, writer) = stream.into_split();
        let (out, mut queue) = mpsc::unbounded_channel::<Bytes>();
        let writer_task = tokio::spawn(async move {
            let mut writer = BufWriter::with_capacity(64 * 1024, writer);
            while let Some(frame) = queue.recv().await {
                if writer.write_all(&frame).await.is_err() {
                    return;
                }
                while let Ok(frame) = queue.try_recv() {
                    if writer.write_all(&frame).await.is_err() {
                        return;
                    }
                }
                if writer.flush().await.is_err() {
                    return;
                }
            }
        });
        let tracker = Arc::new(Mutex::new(Tracker::new(epoch)));
        let table: Arc<std::sync::OnceLock<Arc<StreamTable>>> = Arc::default();
        let lost = Arc::new(AtomicU64::new(0));
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (logged_in, login) = oneshot::channel();
        // The diagnostic client sends what its schedule says (see `--quiet-listeners`): no
        // stream demand.
        let params = LoginParams::new("conference-loadgen raw", username, password);
        let conn = ClientConn::new(
            &params,
            Timing {
                request_timeout: REQUEST_TIMEOUT,
            },
            Instant::now(),
        );
        let driver = Driver {
            conn,
            out: out.clone(),
            tracker: Arc::clone(&tracker),
            table: Arc::clone(&table),
            lost: Arc::clone(&lost),
            waiters: HashMap::new(),
            logged_in: Some(logged_in),
        };
        let reader_task = tokio::spawn(driver.run(reader, command_rx));
        let login = login
            .await
            .context("connection task ended")?
            .map_err(|code| anyhow::anyhow!("login of {username} refused: {code}"))?;
        Ok(RawClient {
            user_id: login.user_id,
            out,
            commands,
            tracker,
            table,
            lost,
            tasks: vec![writer_task, reader_task],
        })
    }

    async fn request(&self, body: Body) -> anyhow::Result<pb::Response> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command { body, reply })
            .map_err(|_| anyhow::anyhow!("connection closed"))?;
        // The driver answers every request by its deadline; this bound only guards against a
        // driver that is gone.
        tokio::time::timeout(REQUEST_TIMEOUT + Duration::from_secs(1), answer)
            .await
            .context("request timed out")?
            .context("connection closed")?
            .map_err(|code| anyhow::anyhow!("request failed: {code}"))
    }

    /// A request that must be accepted.
    async fn call(&self, what: &str, body: Body) -> anyhow::Result<pb::Response> {
        let response = self.request(body).await?;
        if response.code != 0 {
            bail!("{what} refused: code {}", response.code);
        }
        Ok(response)
    }

    async fn join(&self, room: u32) -> anyhow::Result<()> {
        self.call("join", Body::JoinRoom(pb::JoinRoom { room_id: room }))
            .await
            .map(drop)
    }

    async fn subscribe(&self, user_id: u32, media_type: MediaType) -> anyhow::Result<()> {
        let body = Body::Subscribe(pb::Subscribe {
            user_id,
            media_type: media_type as u32,
            on: true,
        });
        self.call("subscribe", body).await.map(drop)
    }
}

impl Publisher for RawClient {
    fn publish(&self, media_type: MediaType, header: MediaHeader, payload: &[u8]) -> bool {
        let header = MediaHeader {
            sender_id: 0,
            stream_type: media_type as u8,
            ..header
        };
        self.out.send(encode_media(&header, payload)).is_ok()
    }
}

/// The classroom of [`crate::sdk_clients::setup_classroom`], with raw clients on one runtime.
pub struct Classroom {
    runtime: Runtime,
    pub clients: Vec<RawClient>,
    pub table: Arc<StreamTable>,
}

pub fn setup_classroom(
    addr: SocketAddr,
    rooms: u32,
    listeners: u32,
    password: &str,
    frag_size: usize,
    epoch: Instant,
) -> anyhow::Result<Classroom> {
    if listeners == 0 {
        bail!("a classroom needs at least one listener");
    }
    let runtime = crate::nats::runtime()?;
    let handle: Handle = runtime.handle().clone();
    let clients = handle.block_on(async {
        let mut all = Vec::new();
        let mut table = StreamTable::new(frag_size);
        for r in 0..rooms {
            let room = accounts::classroom_room(r);
            let master =
                RawClient::connect(addr, &accounts::master_name(r), password, epoch).await?;
            master.join(room).await?;
            master
                .call(
                    "apply_master",
                    Body::ApplyMaster(pb::ApplyMaster { on: true }),
                )
                .await?;
            master
                .call("apply_aux", Body::ApplyAux(pb::ApplyAux { on: true }))
                .await?;
            for kind in [pb::MediaKind::Video, pb::MediaKind::Audio] {
                let body = Body::Bcast(pb::Bcast {
                    kind: kind as i32,
                    user_id: master.user_id,
                    on: true,
                });
                master.call("bcast", body).await?;
            }
            let master_id = master.user_id;
            let joins = (1..=listeners).map(|i| async move {
                let name = accounts::listener_name(r, i);
                let client = RawClient::connect(addr, &name, password, epoch).await?;
                client.join(room).await?;
                for media_type in [
                    MediaType::VideoMajor,
                    MediaType::VideoMinor,
                    MediaType::Audio,
                ] {
                    client.subscribe(master_id, media_type).await?;
                }
                anyhow::Ok(client)
            });
            let room_listeners = futures_util::future::try_join_all(joins).await?;
            let interactive = room_listeners[0].user_id;
            master
                .call(
                    "set_interact",
                    Body::SetInteract(pb::SetInteract {
                        user_id: interactive,
                    }),
                )
                .await?;
            for media_type in [MediaType::VideoMajor, MediaType::Audio] {
                master.subscribe(interactive, media_type).await?;
            }
            let base = all.len();
            for kind in StreamKind::MASTER {
                table.insert(StreamInfo::new(base, kind, master_id, listeners));
            }
            all.push(master);
            for (i, listener) in room_listeners.into_iter().enumerate() {
                for kind in StreamKind::LISTENER {
                    let subscribers = u32::from(i == 0);
                    table.insert(StreamInfo::new(
                        base + 1 + i,
                        kind,
                        listener.user_id,
                        subscribers,
                    ));
                }
                all.push(listener);
            }
        }
        anyhow::Ok((all, table))
    })?;
    let (clients, table) = clients;
    let table = Arc::new(table);
    for client in &clients {
        let _ = client.table.set(Arc::clone(&table));
    }
    Ok(Classroom {
        runtime,
        clients,
        table,
    })
}

impl Classroom {
    pub fn close(mut self) {
        // Each driver says Goodbye when its client's command channel closes.
        for client in &mut self.clients {
            let (closed, _) = mpsc::unbounded_channel();
            client.commands = closed;
        }
        std::thread::sleep(Duration::from_millis(200));
        for client in &self.clients {
            for task in &client.tasks {
                task.abort();
            }
        }
        drop(self.clients);
        self.runtime.shutdown_timeout(Duration::from_secs(2));
    }
}

impl Clients for Classroom {
    fn publishers(&self) -> Vec<&dyn Publisher> {
        self.clients.iter().map(|c| c as &dyn Publisher).collect()
    }

    fn delivered_frames(&self) -> u64 {
        tracker::delivered(self.clients.iter().map(|c| &*c.tracker))
    }

    fn finish(&self) -> RxCounters {
        tracker::finish_all(self.clients.iter().map(|c| &*c.tracker))
    }

    fn client_drops(&self) -> u64 {
        0
    }

    fn disconnects(&self) -> u64 {
        self.clients
            .iter()
            .map(|c| c.lost.load(Ordering::Relaxed))
            .sum()
    }
}

/// The task that owns one connection's [`ClientConn`]: bytes from the socket, requests from
/// the client's callers, timeouts; frames to the writer, answers to the callers, media to the
/// tracker.
struct Driver {
    conn: ClientConn,
    out: mpsc::UnboundedSender<Bytes>,
    tracker: Arc<Mutex<Tracker>>,
    table: Arc<std::sync::OnceLock<Arc<StreamTable>>>,
    lost: Arc<AtomicU64>,
    waiters: HashMap<u32, oneshot::Sender<Result<pb::Response, ErrorCode>>>,
    logged_in: Option<oneshot::Sender<Result<pb::LoginResult, ErrorCode>>>,
}

enum Wake {
    Read(std::io::Result<usize>, usize),
    Command(Option<Command>),
    Timer,
}

impl Driver {
    async fn run(
        mut self,
        mut reader: tokio::net::tcp::OwnedReadHalf,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        loop {
            while let Some(frame) = self.conn.poll_transmit() {
                let _ = self.out.send(frame);
            }
            while let Some(event) = self.conn.poll_event() {
                if !self.handle(event) {
                    while let Some(frame) = self.conn.poll_transmit() {
                        let _ = self.out.send(frame);
                    }
                    return;
                }
            }
            let deadline = self.conn.poll_timeout().map(tokio::time::Instant::from_std);
            let wake = {
                let target = self.conn.read_buffer();
                let spare = target.capacity() - target.len();
                tokio::select! {
                    read = reader.read_buf(target) => Wake::Read(read, spare),
                    command = commands.recv() => Wake::Command(command),
                    () = sleep_until(deadline) => Wake::Timer,
                }
            };
            match wake {
                Wake::Read(Ok(0) | Err(_), _) => self.conn.handle_eof(Instant::now()),
                Wake::Read(Ok(n), spare) => self.conn.handle_read(n, spare, Instant::now()),
                Wake::Command(Some(Command { body, reply })) => {
                    match self.conn.request(body, Instant::now()) {
                        Ok(id) => {
                            self.waiters.insert(id, reply);
                        }
                        Err(code) => {
                            let _ = reply.send(Err(code));
                        }
                    }
                }
                // The client is gone: say goodbye.
                Wake::Command(None) => self.conn.close(),
                Wake::Timer => self.conn.handle_timeout(Instant::now()),
            }
        }
    }

    /// One event; false once the connection is closed.
    fn handle(&mut self, event: ClientEvent) -> bool {
        match event {
            ClientEvent::LoggedIn(login) => {
                if let Some(tx) = self.logged_in.take() {
                    let _ = tx.send(Ok(login));
                }
            }
            ClientEvent::Response { id, answer } => {
                if let Some(tx) = self.waiters.remove(&id) {
                    let _ = tx.send(answer);
                }
            }
            ClientEvent::Media(media) => {
                if let Some(table) = self.table.get() {
                    let sender = media.header.sender_id;
                    self.tracker
                        .lock()
                        .on_fragment(table, sender, &media.header, &media.payload);
                }
            }
            // The raw client does not ask for resume: its sessions are never suspended.
            ClientEvent::Suspended(_) | ClientEvent::Connect | ClientEvent::Resumed => {}
            ClientEvent::Closed(code) => {
                if code != ErrorCode::NotLoginErr {
                    self.lost.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(tx) = self.logged_in.take() {
                    let _ = tx.send(Err(code));
                }
                return false;
            }
            // Nothing to apply: the raw client sends what its schedule says.
            ClientEvent::StreamDemand { seq, .. } => self.conn.demand_applied(seq),
            ClientEvent::Event(_) | ClientEvent::UserUpdate(_) | ClientEvent::Link { .. } => {}
        }
        true
    }
}

/// Sleeps until `deadline`; forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
