//! `conference-loadgen`: the classroom load generator (issue 6).
//!
//! Two scenarios against two targets:
//! - **classroom**: R rooms, each with one master (main video, aux video, audio) and L
//!   listeners (each pulls the master's three streams and sends its own video and audio; the
//!   master pulls the interactive listener). Every frame is stamped, checked byte for byte on
//!   receipt, and timed end to end.
//! - **join**: U users join one room at once; how long until every client saw every other,
//!   and the server's memory per idle user.
//!
//! Targets: `conference-mcu` (started by [`mcu_process`]) through the SDK's session core
//! ([`sdk_clients`], `--client sdk`) or tasks driving `ClientConn` directly
//! ([`proto_clients`], `--client raw`), and `nats-server` through `async-nats` ([`nats`]),
//! the peer to beat. See `docs/PERFORMANCE.md`.

pub mod accounts;
pub mod classroom;
pub mod mcu_process;
pub mod nats;
pub mod payload;
pub mod procstat;
pub mod proto_clients;
pub mod report;
pub mod schedule;
pub mod sdk_clients;
pub mod streams;
pub mod tracker;
pub mod workload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::classroom::Clients;
use crate::mcu_process::SpawnedMcu;
use crate::report::{JoinReport, Report};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Mcu,
    Nats,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Mcu => "mcu",
            Target::Nats => "nats",
        }
    }
}

/// How the MCU target's clients are built.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ClientKind {
    /// The SDK's session core, one `Sdk` per client (the official figures).
    Sdk,
    /// Diagnostic: the wire protocol on tokio tasks sharing one runtime ([`raw`]).
    Raw,
}

impl ClientKind {
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Sdk => "sdk",
            ClientKind::Raw => "raw",
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Scenario {
    Classroom,
    Join,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Classroom => "classroom",
            Scenario::Join => "join",
        }
    }
}

/// Everything one run needs.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub target: Target,
    pub scenario: Scenario,
    /// Clients of the MCU target (classroom only).
    pub client: ClientKind,
    /// A running server; `None` (MCU only): start `conference-mcu` with a generated config.
    pub addr: Option<SocketAddr>,
    /// Process id of the server at `addr`, for its CPU and memory.
    pub server_pid: Option<u32>,
    /// `conference-mcu` to start when `addr` is `None`.
    pub mcu_bin: Option<PathBuf>,
    /// Password of every generated account.
    pub password: String,
    pub rooms: u32,
    pub listeners: u32,
    /// Length of the media window.
    pub duration: Duration,
    /// 0: every frame in one `send_stream` call; else fragments of this many bytes.
    pub fragment: usize,
    /// Users of the join storm.
    pub users: u32,
    /// Longest wait for the last frames after the senders stop.
    pub drain: Duration,
    /// Threads that log clients in during setup.
    pub setup_threads: usize,
    /// nats-server's monitoring address (`-m`), for its slow-consumer counter.
    pub nats_monitor: Option<SocketAddr>,
    /// Every listener sends its video and audio (the workload); `false` (diagnostic): only
    /// streams somebody subscribes to are sent.
    pub listener_uploads: bool,
    /// SDK clients keep unwatched streams off the wire (the SDK's default); `false`
    /// (diagnostic): they send everything, as before the MCU told them who watches.
    pub sdk_withholds: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            target: Target::Mcu,
            scenario: Scenario::Classroom,
            client: ClientKind::Sdk,
            addr: None,
            server_pid: None,
            mcu_bin: None,
            password: accounts::DEFAULT_PASSWORD.into(),
            rooms: 1,
            listeners: 100,
            duration: Duration::from_secs(10),
            fragment: 0,
            users: 1000,
            drain: Duration::from_secs(5),
            setup_threads: 16,
            nats_monitor: None,
            listener_uploads: true,
            sdk_withholds: true,
        }
    }
}

/// The server a run talks to.
struct Server {
    addr: SocketAddr,
    pid: u32,
    spawned: Option<SpawnedMcu>,
}

impl Server {
    fn open(opts: &RunOptions) -> anyhow::Result<Server> {
        if let Some(addr) = opts.addr {
            let pid = opts
                .server_pid
                .context("--server-pid is needed with --addr (the server's CPU and memory)")?;
            return Ok(Server {
                addr,
                pid,
                spawned: None,
            });
        }
        anyhow::ensure!(
            opts.target == Target::Mcu,
            "--addr is needed for the nats target (scripts/bench.sh starts nats-server)"
        );
        let (rooms, listeners, users) = match opts.scenario {
            Scenario::Classroom => (opts.rooms, opts.listeners, 0),
            Scenario::Join => (0, 0, opts.users),
        };
        let config = accounts::mcu_config(rooms, listeners, users, &opts.password)?;
        let binary = mcu_process::mcu_binary(opts.mcu_bin.as_deref())?;
        let mcu = SpawnedMcu::start(&binary, &config)?;
        Ok(Server {
            addr: mcu.addr,
            pid: mcu.pid(),
            spawned: Some(mcu),
        })
    }

    /// Stops a server this run started; its media counters, when it logged them.
    fn close(self) -> Option<mcu_process::McuCounters> {
        self.spawned.and_then(SpawnedMcu::stop)
    }
}

/// Runs one scenario against one target.
pub fn run(opts: &RunOptions) -> anyhow::Result<Report> {
    raise_fd_limit();
    let server = Server::open(opts)?;
    let mut report = Report {
        target: opts.target.name().into(),
        scenario: opts.scenario.name().into(),
        ..Report::default()
    };
    match opts.scenario {
        Scenario::Classroom => {
            let mut classroom = run_classroom(opts, &server)?;
            let counters = server.close();
            if opts.target == Target::Mcu {
                classroom.frames.server_drops = counters.map(|c| c.dropped_slow_subscriber);
                classroom.frames.server_drops_unit = if counters.is_some() {
                    "fragments (dropped_slow_subscriber, MCU log at shutdown)".into()
                } else {
                    "(MCU not started by the load generator: counter not read)".into()
                };
                classroom.server_counters = counters;
            }
            report.classroom = Some(classroom);
        }
        Scenario::Join => {
            report.join = Some(run_join(opts, &server)?);
            server.close();
        }
    }
    Ok(report)
}

fn run_classroom(opts: &RunOptions, server: &Server) -> anyhow::Result<report::ClassroomReport> {
    let epoch = Instant::now();
    let started = Instant::now();
    match (opts.target, opts.client) {
        (Target::Mcu, ClientKind::Sdk) => {
            let room = sdk_clients::setup_classroom(server.addr, opts, epoch)?;
            let report = measure(opts, server, &room, &room.table, epoch, started, None)?;
            sdk_clients::close_all(room.clients, opts.setup_threads);
            Ok(report)
        }
        (Target::Mcu, ClientKind::Raw) => {
            let room = proto_clients::setup_classroom(
                server.addr,
                opts.rooms,
                opts.listeners,
                &opts.password,
                opts.fragment,
                epoch,
            )?;
            let report = measure(opts, server, &room, &room.table, epoch, started, None)?;
            room.close();
            Ok(report)
        }
        (Target::Nats, _) => {
            let room = nats::setup_classroom(
                server.addr,
                opts.rooms,
                opts.listeners,
                opts.fragment,
                epoch,
            )?;
            let drops = opts
                .nats_monitor
                .map(|m| (m, nats::server_slow_consumers(m)));
            let mut report = measure(opts, server, &room, &room.table, epoch, started, None)?;
            room.close();
            // nats-server counts slow consumers since it started: report the run's own.
            if let Some((monitor, before)) = drops {
                let after = nats::server_slow_consumers(monitor);
                report.frames.server_drops = after.map(|a| a.saturating_sub(before.unwrap_or(0)));
                report.frames.server_drops_unit =
                    "slow-consumer incidents (nats-server /varz)".into();
            }
            Ok(report)
        }
    }
}

/// Plays the workload on connected clients and builds the report.
fn measure(
    opts: &RunOptions,
    server: &Server,
    clients: &dyn Clients,
    table: &streams::StreamTable,
    epoch: Instant,
    setup_started: Instant,
    server_drops: Option<u64>,
) -> anyhow::Result<report::ClassroomReport> {
    let setup = setup_started.elapsed();
    let played = classroom::play(
        clients,
        table,
        epoch,
        server.pid,
        opts.duration,
        opts.drain,
        opts.listener_uploads,
    )?;
    let rx = clients.finish();
    let client = match opts.target {
        Target::Mcu => opts.client.name(),
        Target::Nats => "async-nats",
    };
    let context = classroom::Context {
        client,
        rooms: opts.rooms,
        listeners: opts.listeners,
        fragment_bytes: opts.fragment,
        clients: clients.publishers().len() as u32,
        setup,
        server_pid: server.pid,
        server_drops,
        server_drops_unit: "",
        listener_uploads: opts.listener_uploads,
    };
    Ok(classroom::report(
        context,
        table,
        &played,
        &rx,
        clients.client_drops(),
        clients.disconnects(),
        clients.withheld_frames(),
    ))
}

/// How long idle clients stay connected before the server's memory is read.
const SETTLE: Duration = Duration::from_secs(1);
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);

fn run_join(opts: &RunOptions, server: &Server) -> anyhow::Result<JoinReport> {
    let sample = || {
        procstat::sample(server.pid)
            .with_context(|| format!("server process {} is not running", server.pid))
    };
    let before = sample()?;
    let (connect, connected_kb, join, errors, first_error, after) = match opts.target {
        Target::Mcu => {
            let outcome = sdk_clients::join_storm(
                server.addr,
                server.pid,
                opts.users,
                &opts.password,
                Instant::now(),
                opts.setup_threads,
                JOIN_TIMEOUT,
            )?;
            std::thread::sleep(SETTLE);
            let after = sample()?;
            let lost: u64 = outcome.clients.iter().map(|c| c.state_lost()).sum();
            let result = (
                outcome.connect,
                outcome.rss_connected_kb,
                outcome.join,
                outcome.errors + lost,
                outcome.first_error,
                after,
            );
            sdk_clients::close_all(outcome.clients, opts.setup_threads);
            result
        }
        Target::Nats => {
            let outcome = nats::join_storm(server.addr, server.pid, opts.users, JOIN_TIMEOUT)?;
            std::thread::sleep(SETTLE);
            let after = sample()?;
            let result = (
                outcome.connect,
                outcome.rss_connected_kb,
                outcome.join,
                outcome.errors,
                outcome.first_error.clone(),
                after,
            );
            outcome.close();
            result
        }
    };
    let users = opts.users.max(1);
    Ok(JoinReport {
        users: opts.users,
        connect_s: connect.as_secs_f64(),
        join_s: join.as_secs_f64(),
        server_cpu_s: after.cpu_s - before.cpu_s,
        rss_before_kb: before.rss_kb,
        rss_connected_kb: connected_kb,
        rss_after_kb: after.rss_kb,
        rss_per_connected_user_kb: connected_kb.saturating_sub(before.rss_kb) as f64
            / f64::from(users),
        rss_per_user_kb: after.rss_kb.saturating_sub(before.rss_kb) as f64 / f64::from(users),
        peak_rss_kb: after.hwm_kb,
        errors,
        first_error,
    })
}

/// Hundreds of clients need thousands of descriptors: lift the soft limit to the hard one.
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid, initialised struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
