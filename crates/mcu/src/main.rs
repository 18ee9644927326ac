//! `conference-mcu`: the MCU server binary.

use std::io::{IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use conference_mcu::cluster::{ConfigSource, shared_config};
use conference_mcu::config::Config;
use conference_mcu::password;
use conference_mcu::transport::{self, Options};
use conference_proto::scram;

#[derive(Parser)]
#[command(name = "conference-mcu", version, about = "The conference MCU server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address and port to listen on (port 0: any free port; the bound address is printed
    /// on stdout as `listening on ADDR:PORT`).
    #[arg(long, default_value_t = SocketAddr::from(([127, 0, 0, 1], conference_proto::DEFAULT_PORT)))]
    listen: SocketAddr,
    /// Configuration file (TOML). Without it, a built-in demo is served on loopback only.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Load and validate this configuration file, print a summary and exit (0: valid).
    #[arg(long, value_name = "PATH", conflicts_with = "config")]
    check_config: Option<PathBuf>,
    /// Close connections that have not logged in within this many milliseconds.
    #[arg(
        long,
        hide = true,
        env = "CONFERENCE_MCU_AUTH_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    auth_timeout_ms: u64,
    /// Runtime worker threads (0: one per core). The MCU's work is mostly system calls and
    /// thread wake-ups: where it shares a small machine with other busy processes, fewer
    /// workers cost less CPU per delivered byte (docs/PERFORMANCE.md).
    #[arg(long, env = "CONFERENCE_MCU_WORKERS", default_value_t = 0)]
    workers: usize,
    /// Operator HTTP listener (health, metrics, admin API); overrides `[admin] listen`.
    /// Off unless this or the config sets it (docs/OPERATIONS.md).
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
    /// Join a fleet of MCUs (`publish-config`: publish to it): NATS servers, comma-separated
    /// (`nats://host:port,...`); overrides `[cluster] nats` (docs/CLUSTER.md).
    #[arg(long, value_name = "URLS", value_delimiter = ',', global = true)]
    cluster: Vec<String>,
    /// Log line format on stderr: `text` (default) or `json` (one object per line).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Print the SCRAM-SHA-256 verifier of PASSWORD (read from stdin if absent) for an
    /// account's `password_hash` (docs/SECURITY.md).
    HashPassword {
        password: Option<String>,
        /// PBKDF2 iterations the client computes at each login (RFC 7677: at least 4096).
        #[arg(long, default_value_t = scram::DEFAULT_ITERATIONS,
              value_parser = clap::value_parser!(u32).range(i64::from(scram::MIN_ITERATIONS)..=i64::from(scram::MAX_ITERATIONS)))]
        iterations: u32,
    },
    /// Validate FILE and publish its accounts and rooms to the fleet's NATS KV (bucket
    /// `<prefix>_config`), where nodes with `[cluster] config = "kv"` take them from and
    /// apply them at once (docs/CLUSTER.md). NATS: `--cluster`, else FILE's `[cluster]
    /// nats`; prefix and replicas from FILE's `[cluster]`. An invalid FILE writes nothing.
    PublishConfig { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::HashPassword {
            ref password,
            iterations,
        }) => hash_password(password.clone(), iterations),
        Some(Command::PublishConfig { ref file }) => publish_config(file, &cli.cluster),
        None => match &cli.check_config {
            Some(path) => check_config(path),
            None => serve(&cli),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("conference-mcu: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn hash_password(password: Option<String>, iterations: u32) -> anyhow::Result<()> {
    let password = match password {
        Some(password) => password,
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            text.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    println!("{}", password::scram_verifier(&password, iterations));
    Ok(())
}

fn check_config(path: &std::path::Path) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    conference_mcu::transport::tls::TlsServer::load(&config.tls)?;
    if config.cluster.config == ConfigSource::Kv {
        println!(
            "{}: valid (accounts and rooms from NATS KV {})",
            path.display(),
            conference_mcu::cluster::kv::config_bucket_name(&config.cluster.prefix)
        );
        return Ok(());
    }
    for warning in config.warnings() {
        eprintln!("warning: {warning}");
    }
    println!(
        "{}: valid ({} accounts, {} rooms)",
        path.display(),
        config.accounts.len(),
        config.rooms.len()
    );
    Ok(())
}

fn publish_config(path: &std::path::Path, nats: &[String]) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let published = runtime.block_on(shared_config::publish(path, nats))?;
    let what = format!("{} accounts, {} rooms", published.accounts, published.rooms);
    if published.unchanged {
        println!(
            "{}: unchanged, NATS KV {} already holds it ({what}, revision {})",
            path.display(),
            published.bucket,
            published.revision
        );
    } else {
        println!(
            "{}: published to NATS KV {} ({what}, revision {})",
            path.display(),
            published.bucket,
            published.revision
        );
    }
    Ok(())
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CONFERENCE_MCU_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if format == LogFormat::Json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
        return;
    }
    // Plain `key=value` fields when logging to a file or pipe (scripts parse the counters).
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

fn serve(cli: &Cli) -> anyhow::Result<()> {
    // First, while this is the only thread: argon2 buffers must not stay resident.
    let tuned = conference_mcu::malloc::tune();
    init_logging(cli.log_format);
    if !tuned {
        tracing::warn!(
            "cannot fix the allocator's mmap threshold: idle memory may grow after logins"
        );
    }
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => {
            if !cli.listen.ip().is_loopback() {
                bail!("without --config the built-in demo serves loopback addresses only");
            }
            tracing::info!(
                "no --config: serving the built-in demo (room 1001 \"Demo Classroom\", \
                 accounts teacher (chair) and class1..class8, password = username) on loopback only"
            );
            Config::demo()?
        }
    };
    if !cli.cluster.is_empty() {
        config.cluster.nats = cli.cluster.clone();
    }
    let from_kv = config.cluster.config == ConfigSource::Kv;
    if !from_kv {
        for warning in config.warnings() {
            tracing::warn!("{warning}");
        }
    }
    raise_fd_limit();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if cli.workers > 0 {
        runtime.worker_threads(cli.workers);
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(cli.listen)
            .await
            .with_context(|| format!("cannot listen on {}", cli.listen))?;
        let admin_addr = cli.admin_listen.or(config.admin.listen);
        let admin = match admin_addr {
            Some(admin_addr) => {
                let admin = tokio::net::TcpListener::bind(admin_addr)
                    .await
                    .with_context(|| format!("cannot listen on {admin_addr} (admin)"))?;
                tracing::info!(addr = %admin.local_addr()?, "admin listening");
                Some(admin)
            }
            None => None,
        };
        // Not ready (nothing on stdout, no READY=1) before the accounts and rooms are here;
        // early clients wait in the listen backlog.
        let shared_revision = if from_kv {
            let (shared, revision) = shared_config::load_at_start(&config).await?;
            config = shared;
            for warning in config.warnings() {
                tracing::warn!("{warning}");
            }
            Some(revision)
        } else {
            None
        };
        let addr = listener.local_addr()?;
        tracing::info!(%addr, accounts = config.accounts.len(), rooms = config.rooms.len(), "listening");
        // The one machine-readable line on stdout: tests and scripts wait for it.
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {addr}")?;
        stdout.flush()?;
        drop(stdout);
        // Under systemd (Type=notify): ready once the socket is bound.
        if let Err(err) = conference_mcu::notify::notify("READY=1") {
            tracing::warn!("cannot notify the service manager: {err}");
        }
        let options = Options {
            auth_timeout: Duration::from_millis(cli.auth_timeout_ms.max(1)),
            config_path: cli.config.clone(),
            shared_revision,
            ..Options::default()
        };
        transport::serve_with_admin(listener, admin, config, options, shutdown_signal()).await
    })?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(err) => {
            tracing::warn!("cannot watch SIGTERM: {err}");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
    }
}

/// Many recorders means many sockets: lift the soft descriptor limit to the hard one.
fn raise_fd_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "descriptor limit"),
        Err(err) => tracing::warn!("cannot raise the descriptor limit: {err}"),
    }
}
