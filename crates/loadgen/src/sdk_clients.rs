//! The MCU target: every client is a `conference_session::Sdk` (the SDK's real session core,
//! many in this one process, sharing the network and dispatcher threads of one
//! [`SharedCore`]), so the SDK's own cost is part of every figure.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use conference_proto::{ErrorCode, MediaHeader, MediaType};
use conference_session::{
    Event, EventSink, MediaKind, Sdk, SdkConfig, SharedCore, StateId, Tuning,
};
use parking_lot::Mutex;

use crate::classroom::Clients;
use crate::schedule::Publisher;
use crate::streams::{StreamInfo, StreamTable};
use crate::tracker::{self, RxCounters, Tracker};
use crate::workload::StreamKind;
use crate::{accounts, procstat};

/// What a client's event sink shares with the run.
pub struct ClientState {
    tracker: Mutex<Tracker>,
    /// Set once every subscription is in place, before the first frame is sent.
    table: OnceLock<Arc<StreamTable>>,
    /// When this client last learnt of a user in its room (LOGIN_ROOM or USER_ENTER).
    last_presence: Mutex<Option<Instant>>,
    /// ROOM_EXIT / USER_CLOSE seen: the client lost its room or connection.
    lost: AtomicU64,
    /// Media that arrived before the stream table was set.
    early_media: AtomicU64,
}

struct Sink(Arc<ClientState>);

impl EventSink for Sink {
    fn deliver(&mut self, event: Event) {
        let state = &self.0;
        match event {
            Event::Media(media) => match state.table.get() {
                Some(table) => state.tracker.lock().on_fragment(
                    table,
                    u32::try_from(media.user_id).unwrap_or(0),
                    &media.header,
                    &media.payload,
                ),
                None => {
                    state.early_media.fetch_add(1, Ordering::Relaxed);
                }
            },
            Event::State(event) => match event.state {
                StateId::LoginRoom | StateId::UserEnter => {
                    *state.last_presence.lock() = Some(Instant::now());
                }
                StateId::RoomExit | StateId::UserClose => {
                    state.lost.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            },
        }
    }
}

/// One SDK instance logged in to the MCU.
pub struct McuClient {
    pub sdk: Sdk,
    pub user_id: u32,
    pub state: Arc<ClientState>,
    /// `send_stream` failures other than a full queue.
    send_errors: AtomicU64,
}

/// The threads every client of a run shares: one network thread per core and one
/// dispatcher thread, which is enough: the sinks only count and check frames, and more
/// dispatcher threads measured no better (`docs/PERFORMANCE.md`). The clients keep the
/// threads alive; the last one's shutdown joins them.
fn shared_core() -> anyhow::Result<SharedCore> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    SharedCore::new(cores, 1).map_err(|code| anyhow::anyhow!("start the SDK threads: {code}"))
}

impl McuClient {
    /// Starts an SDK instance on `core` and connects it (`connect_MCU`).
    pub fn connect(
        core: &SharedCore,
        addr: SocketAddr,
        username: &str,
        password: &str,
        epoch: Instant,
        withhold_unwatched: bool,
    ) -> anyhow::Result<McuClient> {
        let state = Arc::new(ClientState {
            tracker: Mutex::new(Tracker::new(epoch)),
            table: OnceLock::new(),
            last_presence: Mutex::new(None),
            lost: AtomicU64::new(0),
            early_media: AtomicU64::new(0),
        });
        let sdk = Sdk::start_on(
            core,
            SdkConfig::default(),
            Tuning {
                withhold_unwatched,
                ..Tuning::default()
            },
            Box::new(Sink(Arc::clone(&state))),
        )
        .context("start an SDK instance")?;
        sdk.connect(&addr.ip().to_string(), addr.port(), username, password)
            .with_context(|| format!("connect_MCU as {username}"))?;
        let user_id = sdk.own_user().context("own user after connect")?.id;
        Ok(McuClient {
            sdk,
            user_id,
            state,
            send_errors: AtomicU64::new(0),
        })
    }
}

impl McuClient {
    /// Times this client lost its room or connection.
    pub fn state_lost(&self) -> u64 {
        self.state.lost.load(Ordering::Relaxed)
    }
}

impl Publisher for McuClient {
    fn publish(&self, media_type: MediaType, header: MediaHeader, payload: &[u8]) -> bool {
        match self.sdk.send_stream(header, payload, media_type) {
            Ok(()) => true,
            Err(ErrorCode::QueueFullErr) => false,
            Err(_) => {
                self.send_errors.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }
}

/// Runs `job(i)` for `0..count` on `threads` threads; the first error wins.
fn parallel<T: Send>(
    count: usize,
    threads: usize,
    job: impl Fn(usize) -> anyhow::Result<T> + Sync,
) -> anyhow::Result<Vec<T>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<anyhow::Result<T>>>> =
        Mutex::new((0..count).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, count.max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let result = job(i);
                    let failed = result.is_err();
                    results.lock()[i] = Some(result);
                    if failed {
                        // Stop handing out work; the others finish their current job.
                        next.store(count, Ordering::Relaxed);
                        break;
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.unwrap_or_else(|| Err(anyhow::anyhow!("job {i} did not run"))))
        .collect()
}

/// Shuts SDK instances down in parallel (each waits for its Goodbye to be flushed).
pub fn close_all(clients: Vec<McuClient>, threads: usize) {
    let clients: Vec<Mutex<Option<McuClient>>> =
        clients.into_iter().map(|c| Mutex::new(Some(c))).collect();
    let _ = parallel(clients.len(), threads, |i| {
        if let Some(client) = clients[i].lock().take() {
            client.sdk.shutdown();
        }
        Ok(())
    });
}

/// The clients of a classroom run: per room the master, then its listeners.
pub struct Classroom {
    pub clients: Vec<McuClient>,
    pub table: Arc<StreamTable>,
}

/// Logs every client in and sets the room up as a lecture would (SPEC §5): the master takes
/// the master role and aux slot 0 and broadcasts its video and audio; each listener pulls the
/// master's three streams; the master makes listener 1 the interactive user and pulls its
/// video and audio.
pub fn setup_classroom(
    addr: SocketAddr,
    opts: &crate::RunOptions,
    epoch: Instant,
) -> anyhow::Result<Classroom> {
    let (rooms, listeners, password) = (opts.rooms, opts.listeners, opts.password.as_str());
    let (frag_size, threads) = (opts.fragment, opts.setup_threads);
    let withhold_unwatched = opts.sdk_withholds;
    if listeners == 0 {
        bail!("a classroom needs at least one listener");
    }
    let per_room = listeners as usize + 1;
    let core = shared_core()?;
    let mut clients = Vec::with_capacity(rooms as usize * per_room);
    let mut table = StreamTable::new(frag_size);
    for r in 0..rooms {
        let room = accounts::classroom_room(r);
        let master = McuClient::connect(
            &core,
            addr,
            &accounts::master_name(r),
            password,
            epoch,
            withhold_unwatched,
        )?;
        let sdk = &master.sdk;
        sdk.login_room(room)
            .with_context(|| format!("master joins room {room}"))?;
        sdk.apply_master(true).context("apply_for_master")?;
        sdk.apply_aux(true).context("apply_for_aux")?;
        sdk.bcast(MediaKind::Video, master.user_id, true)
            .context("bcast_user_video")?;
        sdk.bcast(MediaKind::Audio, master.user_id, true)
            .context("bcast_user_audio")?;
        let master_id = master.user_id;
        let room_listeners = parallel(listeners as usize, threads, |i| {
            let name = accounts::listener_name(r, i as u32 + 1);
            let client =
                McuClient::connect(&core, addr, &name, password, epoch, withhold_unwatched)?;
            client
                .sdk
                .login_room(room)
                .with_context(|| format!("{name} joins room {room}"))?;
            for media_type in [
                MediaType::VideoMajor,
                MediaType::VideoMinor,
                MediaType::Audio,
            ] {
                client
                    .sdk
                    .recv_stream(master_id, media_type, true)
                    .with_context(|| format!("{name}: recv_stream({media_type:?})"))?;
            }
            Ok(client)
        })?;
        let interactive = room_listeners[0].user_id;
        master
            .sdk
            .set_interact(interactive)
            .context("set_interact")?;
        for media_type in [MediaType::VideoMajor, MediaType::Audio] {
            master
                .sdk
                .recv_stream(interactive, media_type, true)
                .with_context(|| format!("master: recv_stream({media_type:?})"))?;
        }
        let base = clients.len();
        for kind in StreamKind::MASTER {
            table.insert(StreamInfo::new(base, kind, master_id, listeners));
        }
        clients.push(master);
        for (i, listener) in room_listeners.into_iter().enumerate() {
            let index = base + 1 + i;
            for kind in StreamKind::LISTENER {
                table.insert(StreamInfo::new(
                    index,
                    kind,
                    listener.user_id,
                    u32::from(i == 0),
                ));
            }
            clients.push(listener);
        }
    }
    let table = Arc::new(table);
    for client in &clients {
        let _ = client.state.table.set(Arc::clone(&table));
    }
    Ok(Classroom { clients, table })
}

impl Clients for Classroom {
    fn publishers(&self) -> Vec<&dyn Publisher> {
        self.clients.iter().map(|c| c as &dyn Publisher).collect()
    }

    fn delivered_frames(&self) -> u64 {
        tracker::delivered(self.clients.iter().map(|c| &c.state.tracker))
    }

    fn finish(&self) -> RxCounters {
        let mut total = RxCounters::default();
        for client in &self.clients {
            let mut tracker = client.state.tracker.lock();
            tracker.finish();
            tracker.counters.unexpected += client.state.early_media.load(Ordering::Relaxed);
            total.merge(&tracker.counters);
        }
        total
    }

    fn client_drops(&self) -> u64 {
        self.clients
            .iter()
            .map(|c| c.sdk.media_drop_stats().frames)
            .sum()
    }

    fn disconnects(&self) -> u64 {
        self.clients
            .iter()
            .map(|c| c.state.lost.load(Ordering::Relaxed) + c.send_errors.load(Ordering::Relaxed))
            .sum()
    }

    fn withheld_frames(&self) -> Option<u64> {
        Some(
            self.clients
                .iter()
                .map(|c| c.sdk.withheld_stats().frames)
                .sum(),
        )
    }
}

/// What the join storm measured.
pub struct JoinOutcome {
    pub connect: Duration,
    /// Server VmRSS once every client is connected, before any joined, KiB.
    pub rss_connected_kb: u64,
    pub join: Duration,
    pub clients: Vec<McuClient>,
    pub errors: u64,
    pub first_error: Option<String>,
}

/// The server's resident memory once the clients' logins settled.
pub fn connected_rss(server_pid: u32) -> u64 {
    std::thread::sleep(Duration::from_millis(500));
    procstat::sample(server_pid).map_or(0, |s| s.rss_kb)
}

/// Connects `users` clients, then has them all join one room at once and waits until every
/// client's user list holds everyone.
pub fn join_storm(
    addr: SocketAddr,
    server_pid: u32,
    users: u32,
    password: &str,
    epoch: Instant,
    threads: usize,
    timeout: Duration,
) -> anyhow::Result<JoinOutcome> {
    let core = shared_core()?;
    let started = Instant::now();
    let clients = parallel(users as usize, threads, |i| {
        McuClient::connect(
            &core,
            addr,
            &accounts::join_user_name(i as u32 + 1),
            password,
            epoch,
            true,
        )
    })?;
    let connect = started.elapsed();
    let rss_connected_kb = connected_rss(server_pid);
    let ready = AtomicUsize::new(0);
    let barrier = Barrier::new(clients.len() + 1);
    let errors = AtomicU64::new(0);
    let first_error = Mutex::new(None);
    let t0 = std::thread::scope(|scope| {
        for client in &clients {
            let (ready, barrier, errors, first_error) = (&ready, &barrier, &errors, &first_error);
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn_scoped(scope, move || {
                    ready.fetch_add(1, Ordering::Release);
                    barrier.wait();
                    if let Err(err) = client.sdk.login_room(accounts::JOIN_ROOM) {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error
                            .lock()
                            .get_or_insert_with(|| format!("login_conference_room: {err}"));
                    }
                })
                .expect("spawn a join thread");
        }
        // Start the clock only when every thread is at the barrier.
        while ready.load(Ordering::Acquire) < clients.len() {
            std::thread::sleep(Duration::from_millis(1));
        }
        let t0 = Instant::now();
        barrier.wait();
        t0
    });
    let everyone = users as usize;
    let deadline = Instant::now() + timeout;
    let mut pending: Vec<&McuClient> = clients.iter().collect();
    while !pending.is_empty() && Instant::now() < deadline {
        pending.retain(|c| c.sdk.user_count().map_or(true, |n| n < everyone));
        std::thread::sleep(Duration::from_millis(10));
    }
    let incomplete = pending.len() as u64;
    let done = clients
        .iter()
        .filter_map(|c| *c.state.last_presence.lock())
        .max()
        .unwrap_or(t0);
    let mut first_error = first_error.into_inner();
    if incomplete > 0 && first_error.is_none() {
        first_error = Some(format!(
            "{incomplete} clients did not see all {users} users within {timeout:?}"
        ));
    }
    Ok(JoinOutcome {
        connect,
        rss_connected_kb,
        join: done.saturating_duration_since(t0),
        clients,
        errors: errors.into_inner() + incomplete,
        first_error,
    })
}
