//! The tokio transport: accepts connections, runs one task per connection (plus its writer)
//! and the hub task that owns the room core. Tasks only move bytes and events.

pub mod admin;
mod conn;
mod credentials;
pub mod forward;
pub(crate) mod hub;
pub mod queue;
mod resume;
mod socket;
pub mod throttle;
pub mod tls;
mod writer;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::cluster::shared_config;
use crate::config::Config;
use crate::room::{Core, Limits};
use credentials::Credentials;
use forward::MediaStats;
use hub::{Hub, HubMsg};

/// How the server runs, beyond the configuration file.
#[derive(Clone, Debug)]
pub struct Options {
    /// Connections that have not logged in by then are closed.
    pub auth_timeout: Duration,
    pub limits: Limits,
    /// The file to reread on `SIGHUP` or `POST /api/reload` (none: reload unavailable).
    pub config_path: Option<std::path::PathBuf>,
    /// With `[cluster] config = "kv"`: the KV revision the configuration's accounts and rooms
    /// were read from (docs/CLUSTER.md); newer revisions are applied as they come.
    pub shared_revision: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            auth_timeout: Duration::from_secs(10),
            limits: Limits::default(),
            config_path: None,
            shared_revision: None,
        }
    }
}

/// What every connection task shares.
pub(crate) struct Shared {
    hub: mpsc::Sender<HubMsg>,
    credentials: parking_lot::RwLock<Arc<Credentials>>,
    stats: Arc<MediaStats>,
    counters: Arc<admin::Counters>,
    auth_timeout: Duration,
    heartbeat: Duration,
    throttle: parking_lot::Mutex<throttle::LoginThrottle>,
    /// Replaced on reload (a renewed certificate needs no restart).
    tls: parking_lot::RwLock<tls::TlsServer>,
    /// This node's fleet, with `[cluster]` / `--cluster` (docs/CLUSTER.md).
    fleet: Option<Arc<crate::cluster::Fleet>>,
}

/// Serves `listener` until `shutdown` resolves; then every client is told
/// (`ROOM_EXIT`/`Bye` with `retCode_ServerStoped`) and closed, and this returns.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    options: Options,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    serve_with_admin(listener, None, config, options, shutdown).await
}

/// [`serve`], plus the operator's HTTP listener on `admin` if given (docs/OPERATIONS.md).
pub async fn serve_with_admin(
    listener: TcpListener,
    admin: Option<TcpListener>,
    config: Config,
    options: Options,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let counters = Arc::new(admin::Counters::default());
    let stats = Arc::new(MediaStats::default());
    let (hub_tx, hub_rx) = mpsc::channel(4096);
    let core = Core::new(&config, options.limits.clone());
    let hub = tokio::spawn(Hub::new(core, stats.clone()).run(hub_rx));
    let (config_tx, mut config_rx) = mpsc::channel::<shared_config::Update>(4);
    let fleet = crate::cluster::Fleet::start(
        &config,
        listener.local_addr()?,
        options.shared_revision,
        &hub_tx,
        stats.clone(),
        config_tx,
    )?;
    let shared = Arc::new(Shared {
        hub: hub_tx.clone(),
        credentials: parking_lot::RwLock::new(Arc::new(Credentials::new(&config.accounts))),
        stats: stats.clone(),
        counters: counters.clone(),
        auth_timeout: options.auth_timeout,
        heartbeat: Duration::from_millis(u64::from(config.heartbeat_ms)),
        throttle: parking_lot::Mutex::new(throttle::LoginThrottle::new(config.login.policy())),
        tls: parking_lot::RwLock::new(tls::TlsServer::load(&config.tls)?),
        fleet: fleet.clone(),
    });
    let (reload_tx, mut reload_rx) = mpsc::channel::<admin::ReloadReply>(4);
    let admin_state = Arc::new(admin::AdminState::new(
        hub_tx.clone(),
        stats.clone(),
        counters.clone(),
        config.admin.accounts.clone(),
        reload_tx,
        fleet.clone(),
    ));
    let admin_task =
        admin.map(|listener| tokio::spawn(admin::serve(listener, admin_state.clone())));
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|err| tracing::warn!("cannot watch SIGHUP: {err}"))
        .ok();
    // What the last reload applied: a KV revision replaces its accounts and rooms only.
    let mut running = config.clone();
    let mut tasks = JoinSet::new();
    let mut next_conn: u64 = 1;
    counters
        .ready
        .store(true, std::sync::atomic::Ordering::Relaxed);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => None } } => {
                tracing::info!("SIGHUP received: rereading the configuration");
                let _ = reload(&options, &shared, &admin_state, &mut running, Source::File).await;
            }
            Some(reply) = reload_rx.recv() => {
                let _ = reply.send(reload(&options, &shared, &admin_state, &mut running, Source::File).await);
            }
            Some(update) = config_rx.recv() => {
                tracing::info!(revision = update.revision, "new shared configuration in NATS");
                let _ = reload(&options, &shared, &admin_state, &mut running, Source::Kv(update)).await;
            }
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of descriptors and the like: back off instead of spinning.
                        tracing::warn!("accept failed: {err}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tasks.len() >= config.max_connections {
                    counters.connections_refused_limit.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(%peer, "connection limit reached, refusing");
                    drop(stream);
                    continue;
                }
                let conn = next_conn;
                next_conn += 1;
                counters.connections_accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tasks.spawn(conn::run(stream, peer, conn, shared.clone()));
            }
        }
    }
    counters
        .ready
        .store(false, std::sync::atomic::Ordering::Relaxed);
    tracing::info!("shutting down: telling {} connections", tasks.len());
    drop(listener);
    let (done_tx, done_rx) = oneshot::channel();
    if hub_tx.send(HubMsg::Shutdown(done_tx)).await.is_ok() {
        let _ = done_rx.await;
    }
    if let Some(fleet) = &fleet {
        fleet.leave().await;
    }
    let drained = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("{} connections did not close in time", tasks.len());
        tasks.abort_all();
    }
    if let Some(task) = admin_task {
        task.abort();
        let _ = task.await;
    }
    // Every hub sender must go for the hub task to end (the admin state holds one).
    drop(admin_state);
    drop(shared);
    drop(hub_tx);
    let _ = hub.await;
    Ok(())
}

/// What a reload applies.
enum Source {
    /// The `--config` file, reread (`SIGHUP`, `POST /api/reload`). With `[cluster] config =
    /// "kv"` its accounts and rooms are not used: the running ones stay.
    File,
    /// A new revision of the fleet's shared accounts and rooms: the running configuration
    /// with those (the file is not reread).
    Kv(shared_config::Update),
}

/// Applies a reread file or a new shared configuration; an invalid one keeps the running
/// configuration.
async fn reload(
    options: &Options,
    shared: &Shared,
    admin_state: &admin::AdminState,
    running: &mut Config,
    source: Source,
) -> Result<(), String> {
    let (loaded, revision) = match source {
        Source::File => {
            let Some(path) = &options.config_path else {
                tracing::warn!("reload: the MCU runs without --config, nothing to reread");
                return Err("the MCU runs without --config".into());
            };
            let loaded = Config::load(path).map(|mut config| {
                // `[cluster]` is read at start only (`--cluster` included).
                config.cluster = running.cluster.clone();
                if config.cluster.config == crate::cluster::ConfigSource::Kv {
                    shared_config::warn_unused(&config);
                    config.accounts = running.accounts.clone();
                    config.rooms = running.rooms.clone();
                }
                config
            });
            (loaded, None)
        }
        Source::Kv(update) => (
            shared_config::apply(running, &update.value),
            Some(update.revision),
        ),
    };
    let config = match loaded {
        Ok(config) => config,
        Err(err) => {
            match revision {
                Some(revision) => {
                    tracing::warn!(
                        revision,
                        "shared configuration from NATS refused, keeping the running configuration: {err:#}"
                    );
                    if let Some(fleet) = &shared.fleet {
                        fleet.config_refused();
                    }
                }
                None => {
                    tracing::error!("reload refused, keeping the running configuration: {err:#}")
                }
            }
            return Err(format!("{err:#}"));
        }
    };
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    // The file's own sections; a KV revision leaves them as they run (a certificate is not
    // reread, the login throttle keeps its counts).
    if revision.is_none() {
        let tls = match tls::TlsServer::load(&config.tls) {
            Ok(tls) => tls,
            Err(err) => {
                tracing::error!("reload refused, keeping the running configuration: {err:#}");
                return Err(format!("{err:#}"));
            }
        };
        *shared.tls.write() = tls;
        *shared.throttle.lock() = throttle::LoginThrottle::new(config.login.policy());
        admin_state.set_accounts(config.admin.accounts.clone());
    }
    *shared.credentials.write() = Arc::new(Credentials::new(&config.accounts));
    tracing::info!(
        accounts = config.accounts.len(),
        rooms = config.rooms.len(),
        revision,
        "configuration reloaded"
    );
    *running = config.clone();
    let rooms: Vec<crate::room::RoomId> = config.rooms.iter().map(|room| room.id).collect();
    if let Some(fleet) = &shared.fleet {
        fleet.rooms_coming(rooms.iter().copied());
    }
    let sent = shared
        .hub
        .send(HubMsg::Core(crate::room::Input::Reload(Box::new(config))))
        .await
        .map_err(|_| "hub stopped".to_string());
    if let Some(fleet) = &shared.fleet {
        fleet.rooms_configured(rooms);
        if let Some(revision) = revision {
            fleet.config_applied(revision);
        }
    }
    sent
}
