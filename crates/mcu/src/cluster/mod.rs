//! A fleet of MCUs on NATS (docs/CLUSTER.md): each node announces itself in a JetStream KV
//! bucket, each room has one home node recorded in another, and a node answers a join for
//! a room homed elsewhere with a signed redirect. Media never passes through NATS.
//!
//! - [`config`]: `[cluster]` and `--cluster`.
//! - [`placement`]: the fleet as this node sees it, and the placement rule (no I/O).
//! - [`kv`]: the buckets and the few conditional writes on them.
//! - [`token`]: redirect tokens (HMAC-SHA256).
//! - `gate`: the join path (from the connection task, beside the room core).
//! - `node`: heartbeats, watches, re-placement of dead nodes' rooms, drain, eviction.
//! - [`shared_config`]: accounts and rooms from KV (`[cluster] config = "kv"`), published by
//!   `conference-mcu publish-config`, followed by a watch.
//! - `load`: this process's CPU, for the heartbeat; `metrics`: the `/metrics` series.
//!
//! The room core stays unaware of the fleet: it only gets `Input::Evict` when another node
//! took over one of its rooms.

pub mod config;
mod gate;
pub mod kv;
mod load;
mod metrics;
mod node;
pub mod placement;
pub mod shared_config;
pub mod token;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tokio::sync::mpsc;

use crate::room::RoomId;
use crate::transport::forward::MediaStats;
use crate::transport::hub::HubMsg;
pub use config::{ClusterSection, ConfigSource, Settings};
pub use gate::Admit;
use placement::{NodeRecord, View};

/// This node's membership of the fleet, shared by the connection tasks (the join gate), the
/// admin API (status, drain) and the node's own background tasks.
pub struct Fleet {
    settings: Settings,
    /// Ready once NATS answered and the buckets are open.
    stores: OnceLock<kv::Stores>,
    secret: OnceLock<Vec<u8>>,
    state: parking_lot::Mutex<State>,
    draining: AtomicBool,
    /// Weak: the hub ends at shutdown although the node's tasks still run.
    hub: mpsc::WeakSender<HubMsg>,
    stats: Arc<MediaStats>,
    counters: metrics::Counters,
    /// New revisions of the shared configuration, for the serve loop (`config = "kv"`).
    config_updates: mpsc::Sender<shared_config::Update>,
    /// The newest revision of the shared configuration the watch saw (0: none).
    config_seen: AtomicU64,
    /// The revision of the shared configuration running (0: none, or `config = "file"`).
    config_revision: AtomicU64,
}

#[derive(Default)]
struct State {
    view: View,
    /// Rooms this node let users into, with the placement epoch it did so under: a newer
    /// epoch elsewhere makes those users stale.
    admitted: HashMap<RoomId, u64>,
    /// Configured rooms (placements are made for these only); set at start and by each
    /// reload, from the file or from KV.
    configured: HashSet<RoomId>,
    /// Users per room here, from the hub's last snapshot.
    local: HashMap<RoomId, u32>,
    /// NATS holds this node's heartbeat at least until then (the write was sent before).
    lease_until: Option<Instant>,
    /// Since when every heartbeat write succeeded (`None` after a failure).
    writes_ok_since: Option<Instant>,
    /// Homes found without a heartbeat by the previous sweep.
    suspects: HashSet<String>,
    /// The last record written.
    record: Option<NodeRecord>,
    /// Left the fleet (shutdown): no more heartbeats, which would bring the record back.
    left: bool,
    /// What the room core was last told of the fleet (`node.rs`, `tell_core`).
    told_core: (HashMap<RoomId, u32>, Vec<String>),
}

impl Fleet {
    /// Joins the fleet when `[cluster]` names NATS servers; the node's tasks run in the
    /// background (NATS may come later: until then placements are refused).
    /// `shared_revision`: the revision of the shared configuration `config` holds (`config =
    /// "kv"`); newer ones go to `config_updates`.
    pub fn start(
        config: &crate::config::Config,
        listening: std::net::SocketAddr,
        shared_revision: Option<u64>,
        hub: &mpsc::Sender<HubMsg>,
        stats: Arc<MediaStats>,
        config_updates: mpsc::Sender<shared_config::Update>,
    ) -> anyhow::Result<Option<Arc<Fleet>>> {
        let section = &config.cluster;
        if !section.enabled() {
            return Ok(None);
        }
        let settings = section.settings(listening, config.max_connections)?;
        tracing::info!(node = %settings.node, advertise = %settings.advertise, nats = %settings.urls, "joining the fleet");
        let fleet = Arc::new(Fleet {
            settings,
            stores: OnceLock::new(),
            secret: OnceLock::new(),
            state: parking_lot::Mutex::new(State {
                configured: config.rooms.iter().map(|room| room.id).collect(),
                ..State::default()
            }),
            draining: AtomicBool::new(false),
            hub: hub.downgrade(),
            stats,
            counters: metrics::Counters::default(),
            config_updates,
            config_seen: AtomicU64::new(shared_revision.unwrap_or(0)),
            config_revision: AtomicU64::new(shared_revision.unwrap_or(0)),
        });
        // Registered now: SIGUSR1's default action would end the process.
        let usr1 = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
            .map_err(|err| tracing::warn!("cannot watch SIGUSR1: {err}"))
            .ok();
        tokio::spawn(fleet.clone().run(usr1));
        Ok(Some(fleet))
    }

    pub fn name(&self) -> &str {
        &self.settings.node
    }

    /// Stop taking rooms; release this node's rooms as they empty (admin action, SIGUSR1).
    pub fn drain(&self) {
        if !self.draining.swap(true, Ordering::Relaxed) {
            tracing::info!(node = %self.settings.node, "draining: no new rooms, rooms released as they empty");
        }
    }

    /// Whether a missing heartbeat means a dead node. After NATS stalled (a server died, a
    /// leader election: several seconds without writes) every record may have expired at
    /// once; this node's own writes must have worked for a whole lease, so every live node
    /// had the time to write again, before a missing record moves rooms.
    fn settled(&self, now: Instant) -> bool {
        let state = self.state.lock();
        state
            .writes_ok_since
            .is_some_and(|since| now.saturating_duration_since(since) >= self.settings.lease)
    }

    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// The fleet as this node sees it (admin API).
    pub fn status(&self) -> serde_json::Value {
        let state = self.state.lock();
        let now = Instant::now();
        let nodes: Vec<_> = state
            .view
            .nodes
            .values()
            .map(|seen| {
                serde_json::json!({
                    "record": seen.record,
                    "alive": now.saturating_duration_since(seen.at) < self.settings.lease,
                    "seen_ms_ago": now.saturating_duration_since(seen.at).as_millis() as u64,
                })
            })
            .collect();
        let mut rooms: Vec<_> = state
            .view
            .rooms
            .iter()
            .map(|(room, placed)| {
                serde_json::json!({
                    "room": room,
                    "home": placed.placement.home,
                    "epoch": placed.placement.epoch,
                })
            })
            .collect();
        rooms.sort_by_key(|r| r["room"].as_u64());
        serde_json::json!({
            "node": self.settings.node,
            "advertise": self.settings.advertise,
            "connected": self.stores.get().is_some(),
            "lease_held": state.lease_until.is_some_and(|until| until > now),
            "draining": self.draining(),
            "config": self.config_status(),
            "nodes": nodes,
            "rooms": rooms,
        })
    }

    /// Where accounts and rooms come from, for `/api/cluster`.
    fn config_status(&self) -> serde_json::Value {
        match self.settings.config {
            ConfigSource::File => serde_json::json!({"from": "file"}),
            ConfigSource::Kv => serde_json::json!({
                "from": "kv",
                "bucket": kv::config_bucket_name(&self.settings.prefix),
                "revision": self.config_revision.load(Ordering::Relaxed),
            }),
        }
    }
}

/// Milliseconds since the Unix epoch (token expiry).
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A number below `n` (placement's random picks).
fn random_below(n: usize) -> usize {
    getrandom::u32().map_or(0, |r| r as usize % n.max(1))
}
