//! `conference-loadgen`: drives the classroom workload against `conference-mcu` or
//! `nats-server` and reports latency, delivery, correctness and the server's cost.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use conference_loadgen::report::{self, Report};
use conference_loadgen::{ClientKind, RunOptions, Scenario, Target, accounts};

#[derive(Parser)]
#[command(
    name = "conference-loadgen",
    version,
    about = "Classroom load generator for conference-mcu, with nats-server as the peer",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario against one target (the default command).
    Run(RunArgs),
    /// Print an MCU configuration with the accounts and rooms a run needs.
    GenConfig {
        #[arg(long, default_value_t = 1)]
        rooms: u32,
        #[arg(long, default_value_t = 100)]
        listeners: u32,
        /// Accounts u1..uN and room 9001 for the join storm.
        #[arg(long, default_value_t = 0)]
        users: u32,
        #[arg(long, default_value = accounts::DEFAULT_PASSWORD)]
        password: String,
    },
    /// Print two `--json` reports side by side with the ratios ours ÷ peer.
    Compare { ours: PathBuf, peer: PathBuf },
    /// Print the table of a `--json` report.
    Show { report: PathBuf },
    /// Print a free TCP port on 127.0.0.1 (for scripts).
    FreePort,
}

#[derive(Copy, Clone, ValueEnum)]
enum TargetArg {
    Mcu,
    Nats,
}

#[derive(Copy, Clone, ValueEnum)]
enum ClientArg {
    /// The SDK's session core, one instance per client.
    Sdk,
    /// Diagnostic: the wire protocol on one shared tokio runtime.
    Raw,
}

#[derive(Copy, Clone, ValueEnum)]
enum ScenarioArg {
    Classroom,
    Join,
}

#[derive(clap::Args)]
struct RunArgs {
    #[arg(long, value_enum, default_value = "mcu")]
    target: TargetArg,
    #[arg(long, value_enum, default_value = "classroom")]
    scenario: ScenarioArg,
    /// Clients of the mcu target.
    #[arg(long, value_enum, default_value = "sdk")]
    client: ClientArg,
    /// A running server. Without it (mcu only) the load generator starts `conference-mcu`
    /// with a generated configuration on a free loopback port.
    #[arg(long)]
    addr: Option<SocketAddr>,
    /// Process id of the server at --addr (its CPU time and memory are read from /proc).
    #[arg(long)]
    server_pid: Option<u32>,
    /// The conference-mcu binary to start (default: next to this executable).
    #[arg(long)]
    mcu_bin: Option<PathBuf>,
    /// Password of every account (see `gen-config`).
    #[arg(long, default_value = accounts::DEFAULT_PASSWORD)]
    password: String,
    #[arg(long, default_value_t = 1)]
    rooms: u32,
    /// Listeners per room.
    #[arg(long, default_value_t = 100)]
    listeners: u32,
    /// Seconds of media.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Send frames in fragments of this many bytes (0: one send_stream call per frame).
    #[arg(long, default_value_t = 0)]
    fragment: usize,
    /// Users of the join storm.
    #[arg(long, default_value_t = 1000)]
    users: u32,
    /// Longest wait (s) for the last frames after the senders stop.
    #[arg(long, default_value_t = 5.0)]
    drain: f64,
    #[arg(long, default_value_t = 16)]
    setup_threads: usize,
    /// nats-server's monitoring address (its -m port), for its slow-consumer counter.
    #[arg(long)]
    nats_monitor: Option<SocketAddr>,
    /// Diagnostic: listeners nobody watches send nothing (the workload has them all send).
    #[arg(long)]
    quiet_listeners: bool,
    /// Diagnostic: SDK clients send every stream, watched or not (the SDK's default is to
    /// keep streams nobody subscribes to off the wire).
    #[arg(long)]
    sdk_sends_unwatched: bool,
    /// Print the report as JSON on stdout (the table goes to stderr).
    #[arg(long)]
    json: bool,
}

impl RunArgs {
    fn options(&self) -> anyhow::Result<RunOptions> {
        let seconds = |s: f64, what: &str| {
            Duration::try_from_secs_f64(s).with_context(|| format!("--{what} {s}"))
        };
        Ok(RunOptions {
            target: match self.target {
                TargetArg::Mcu => Target::Mcu,
                TargetArg::Nats => Target::Nats,
            },
            scenario: match self.scenario {
                ScenarioArg::Classroom => Scenario::Classroom,
                ScenarioArg::Join => Scenario::Join,
            },
            client: match self.client {
                ClientArg::Sdk => ClientKind::Sdk,
                ClientArg::Raw => ClientKind::Raw,
            },
            addr: self.addr,
            server_pid: self.server_pid,
            mcu_bin: self.mcu_bin.clone(),
            password: self.password.clone(),
            rooms: self.rooms,
            listeners: self.listeners,
            duration: seconds(self.duration, "duration")?,
            fragment: self.fragment,
            users: self.users,
            drain: seconds(self.drain, "drain")?,
            setup_threads: self.setup_threads,
            nats_monitor: self.nats_monitor,
            listener_uploads: !self.quiet_listeners,
            sdk_withholds: !self.sdk_sends_unwatched,
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => run(&cli.run),
        Some(Command::Run(args)) => run(&args),
        Some(Command::GenConfig {
            rooms,
            listeners,
            users,
            password,
        }) => accounts::mcu_config(rooms, listeners, users, &password).map(|text| print!("{text}")),
        Some(Command::Compare { ours, peer }) => compare(&ours, &peer),
        Some(Command::Show { report }) => load(&report).map(|r| print!("{}", report::render(&r))),
        Some(Command::FreePort) => free_port(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("conference-loadgen: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &RunArgs) -> anyhow::Result<()> {
    let options = args.options()?;
    let report = conference_loadgen::run(&options)?;
    let table = report::render(&report);
    if args.json {
        eprint!("{table}");
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{table}");
    }
    Ok(())
}

fn load(path: &PathBuf) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parse {}", path.display()))
}

fn compare(ours: &PathBuf, peer: &PathBuf) -> anyhow::Result<()> {
    let (ours, peer) = (load(ours)?, load(peer)?);
    print!("{}", report::compare(&ours, &peer));
    Ok(())
}

fn free_port() -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!("{}", listener.local_addr()?.port());
    Ok(())
}
