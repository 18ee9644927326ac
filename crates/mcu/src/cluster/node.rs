//! The node's background work: connect (and keep trying), heartbeat, watch both buckets,
//! re-place the rooms of dead nodes, release rooms while draining, evict stale rooms.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use conference_proto::ErrorCode;
use futures_util::StreamExt;
use tokio::sync::oneshot;

use super::kv::{self, Cas, Stores};
use super::load::Meter;
use super::metrics::Counters;
use super::placement::{NodeRecord, Placement};
use super::{Fleet, State};
use crate::room::{Input, RoomId};
use crate::transport::hub::{HubMsg, Snapshot};

/// Rooms re-placed per sweep at most (a big fleet's dead node is handled over a few ticks).
const SWEEP_BATCH: usize = 64;

impl Fleet {
    pub(super) async fn run(self: Arc<Self>, mut usr1: Option<tokio::signal::unix::Signal>) {
        tokio::spawn(self.clone().connect());
        let mut meter = Meter::new(&self.stats);
        let mut tick = tokio::time::interval(self.settings.heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if !self.tick(&mut meter).await {
                        return;
                    }
                }
                Some(()) = async { match usr1.as_mut() { Some(s) => s.recv().await, None => None } } => {
                    tracing::info!("SIGUSR1 received");
                    self.drain();
                }
            }
        }
    }

    /// Opens the buckets (retrying until NATS answers), then starts the watches.
    async fn connect(self: Arc<Self>) {
        let retry = self.settings.heartbeat.max(Duration::from_secs(1));
        let stores = loop {
            match kv::open(&self.settings).await {
                Ok(stores) => break stores,
                Err(err) => {
                    tracing::warn!("fleet: {err:#}; retrying");
                    tokio::time::sleep(retry).await;
                }
            }
        };
        let secret = loop {
            match kv::secret(&stores, self.settings.secret.as_deref()).await {
                Ok(secret) => break secret,
                Err(err) => {
                    tracing::warn!("fleet: {err:#}; retrying");
                    tokio::time::sleep(retry).await;
                }
            }
        };
        let _ = self.secret.set(secret);
        if self.stores.set(stores).is_err() {
            return;
        }
        tracing::info!(node = %self.settings.node, "fleet: connected to NATS");
        tokio::spawn(self.clone().watch_nodes());
        tokio::spawn(self.clone().watch_rooms());
        tokio::spawn(self.clone().watch_config());
        tokio::spawn(self.clone().maintain());
    }

    /// Measures the load and writes the heartbeat; false once the hub is gone (the server
    /// stopped).
    async fn tick(&self, meter: &mut Meter) -> bool {
        let Some(snapshot) = self.snapshot().await else {
            return false;
        };
        let (cpu_percent, egress_bytes_per_s) = meter.sample(&self.stats);
        let local = occupied(&snapshot);
        {
            let mut state = self.state.lock();
            state.record = Some(NodeRecord {
                name: self.settings.node.clone(),
                address: self.settings.advertise.clone(),
                capacity: self.settings.capacity,
                users: local.values().sum(),
                rooms: local.len() as u32,
                connections: snapshot.connections as u32,
                egress_bytes_per_s,
                cpu_percent,
                draining: self.draining(),
                room_users: local.iter().map(|(room, users)| (*room, *users)).collect(),
            });
            state.local = local;
        }
        if let Some(stores) = self.stores.get()
            && let Err(err) = self.heartbeat(stores).await
        {
            tracing::warn!("fleet: heartbeat not written: {err}");
        }
        true
    }

    /// The fleet-wide chores, apart from the heartbeat so that a slow NATS answer here
    /// never delays this node's own lease.
    async fn maintain(self: Arc<Self>) {
        let Some(stores) = self.stores.get() else {
            return;
        };
        let mut tick = tokio::time::interval(self.settings.heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while self.hub.upgrade().is_some() {
            tick.tick().await;
            self.refresh_nodes(stores).await;
            self.tell_core().await;
            self.sweep(stores).await;
            if self.draining() {
                self.release_empty(stores).await;
            }
            self.evict_stale().await;
        }
    }

    /// Gives the room core what its answers show of the fleet, when it changed: users of
    /// rooms homed elsewhere (room lists), the other serving nodes (logins).
    async fn tell_core(&self) {
        let news = {
            let mut state = self.state.lock();
            let (now, lease, own) = (Instant::now(), self.settings.lease, &self.settings.node);
            let mut others: Vec<String> = state
                .view
                .serving(now, lease)
                .into_iter()
                .filter(|node| node.name != *own)
                .map(|node| node.address.clone())
                .collect();
            others.sort();
            let news = (state.view.remote_users(own, now, lease), others);
            if news == state.told_core {
                return;
            }
            state.told_core = news.clone();
            news
        };
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        let (remote_users, other_nodes) = news;
        let view = Input::FleetView {
            remote_users,
            other_nodes,
        };
        let _ = hub.send(HubMsg::Core(view)).await;
    }

    /// Rereads the known nodes' records: the view stays right while a watch recovers from
    /// a NATS server's death (the watch still brings in new nodes).
    async fn refresh_nodes(&self, stores: &Stores) {
        let names: Vec<String> = self.state.lock().view.nodes.keys().cloned().collect();
        for name in names {
            match kv::node(stores, &name).await {
                Ok(Some((record, revision))) => {
                    self.state
                        .lock()
                        .view
                        .heard(record, revision, Instant::now());
                }
                Ok(None) => {}
                Err(_) => return,
            }
        }
    }

    /// Writes this node's record; the lease then runs from the moment the write was sent.
    pub(super) async fn heartbeat(&self, stores: &Stores) -> Result<(), String> {
        let record = {
            let state = self.state.lock();
            if state.left {
                return Err("left the fleet".into());
            }
            state.record.clone().ok_or("no record yet")?
        };
        let sent = Instant::now();
        let written = kv::put_node(stores, &record).await;
        let mut state = self.state.lock();
        match written {
            Ok(_) => {
                state.lease_until = Some(sent + self.settings.lease);
                state.writes_ok_since.get_or_insert(sent);
                Ok(())
            }
            Err(err) => {
                state.writes_ok_since = None;
                Err(err)
            }
        }
    }

    /// Re-places the rooms of homes that NATS no longer holds a heartbeat for, on two
    /// sweeps in a row and only while NATS has been writable for a lease (see `settled`).
    /// The compare-and-set makes one node win when several sweep at once.
    async fn sweep(&self, stores: &Stores) {
        let now = Instant::now();
        if !self.settled(now) {
            self.state.lock().suspects.clear();
            return;
        }
        let orphans: Vec<(RoomId, String, u64, u64)> = {
            let state = self.state.lock();
            state
                .view
                .rooms
                .iter()
                .filter(|(_, placed)| {
                    placed.placement.home != self.settings.node
                        && state
                            .view
                            .alive(&placed.placement.home, now, self.settings.lease)
                            .is_none()
                })
                .map(|(room, placed)| {
                    (
                        *room,
                        placed.placement.home.clone(),
                        placed.placement.epoch,
                        placed.revision,
                    )
                })
                .collect()
        };
        let homes: HashSet<String> = orphans.iter().map(|(_, home, ..)| home.clone()).collect();
        let mut dead = HashSet::new();
        for home in homes {
            if let Ok(None) = kv::node(stores, &home).await {
                dead.insert(home);
            }
        }
        let confirmed: HashSet<String> = {
            let mut state = self.state.lock();
            let confirmed = dead.intersection(&state.suspects).cloned().collect();
            state.suspects = dead;
            confirmed
        };
        let mut moved = 0;
        for (room, home, epoch, revision) in orphans {
            if !confirmed.contains(&home) || moved >= SWEEP_BATCH {
                continue;
            }
            let Some(target) = self.choose_home() else {
                return;
            };
            let placement = Placement {
                home: target.name.clone(),
                epoch: epoch + 1,
            };
            match kv::update_placement(stores, room, &placement, revision).await {
                Cas::Done(_) => {
                    moved += 1;
                    Counters::add(&self.counters.replaced);
                    tracing::info!(room, dead = %home, home = %target.name, epoch = epoch + 1, "room re-placed: its home's heartbeat expired");
                }
                Cas::Conflict => {}
                Cas::Unavailable(err) => {
                    tracing::warn!("fleet: re-placement stopped: {err}");
                    return;
                }
            }
        }
    }

    /// The hub's live state (`None` once the server stopped).
    async fn snapshot(&self) -> Option<Snapshot> {
        let hub = self.hub.upgrade()?;
        let (tx, rx) = oneshot::channel();
        hub.send(HubMsg::Snapshot(tx)).await.ok()?;
        drop(hub);
        rx.await.ok()
    }

    /// While draining: hands back the placements of this node's empty rooms (empty now, not
    /// at the last heartbeat: a user may just have come in).
    async fn release_empty(&self, stores: &Stores) {
        let Some(snapshot) = self.snapshot().await else {
            return;
        };
        let local = occupied(&snapshot);
        let empty: Vec<(RoomId, u64)> = {
            let state = self.state.lock();
            state
                .view
                .rooms
                .iter()
                .filter(|(room, placed)| {
                    placed.placement.home == self.settings.node && !local.contains_key(room)
                })
                .map(|(room, placed)| (*room, placed.revision))
                .collect()
        };
        for (room, revision) in empty {
            if let Cas::Done(_) = kv::release_placement(stores, room, revision).await {
                Counters::add(&self.counters.released);
                self.state.lock().admitted.remove(&room);
                tracing::info!(room, "draining: empty room released");
            }
        }
    }

    /// Rooms this node let users into that now have a newer home elsewhere: their users
    /// get `ROOM_EXIT` + `Bye` with `retCode_NvalidSessionErr` and reconnect (they are then
    /// redirected to the room's node).
    async fn evict_stale(&self) {
        let stale: Vec<RoomId> = {
            let mut state = self.state.lock();
            let State { view, admitted, .. } = &mut *state;
            let stale: Vec<RoomId> = admitted
                .iter()
                .filter(|(room, revision)| {
                    view.rooms.get(room).is_some_and(|placed| {
                        placed.placement.home != self.settings.node && placed.revision > **revision
                    })
                })
                .map(|(room, _)| *room)
                .collect();
            for room in &stale {
                admitted.remove(room);
            }
            stale
        };
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        for room in stale {
            Counters::add(&self.counters.evicted);
            tracing::warn!(
                room,
                "the fleet moved this room to another node: closing its clients here"
            );
            let evict = Input::Evict {
                room,
                code: ErrorCode::NvalidSessionErr,
            };
            let _ = hub.send(HubMsg::Core(evict)).await;
        }
    }

    async fn watch_nodes(self: Arc<Self>) {
        let Some(stores) = self.stores.get() else {
            return;
        };
        loop {
            match stores.nodes.watch_with_history(">").await {
                Ok(mut entries) => {
                    while let Some(entry) = entries.next().await {
                        let Ok(entry) = entry else {
                            break;
                        };
                        {
                            let mut state = self.state.lock();
                            match kv::decode_node(&entry) {
                                Some((record, revision)) => {
                                    state.view.heard(record, revision, Instant::now());
                                }
                                None => {
                                    state.view.nodes.remove(&entry.key);
                                }
                            }
                        }
                        // Logins name the other nodes from the first moment they are known.
                        self.tell_core().await;
                    }
                }
                Err(err) => tracing::warn!("fleet: cannot watch the nodes: {err}"),
            }
            if self.hub.upgrade().is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn watch_rooms(self: Arc<Self>) {
        let Some(stores) = self.stores.get() else {
            return;
        };
        loop {
            match stores.rooms.watch_with_history("room.>").await {
                Ok(mut entries) => {
                    while let Some(entry) = entries.next().await {
                        let Ok(entry) = entry else {
                            break;
                        };
                        let Some(room) = kv::key_room(&entry.key) else {
                            continue;
                        };
                        {
                            let mut state = self.state.lock();
                            match kv::decode_placement(&entry) {
                                Some(placed) => state.view.learn(room, placed),
                                None => state.view.forget(room, entry.revision),
                            }
                        }
                        self.evict_stale().await;
                    }
                }
                Err(err) => tracing::warn!("fleet: cannot watch the placements: {err}"),
            }
            if self.hub.upgrade().is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Leaving on purpose (shutdown): the heartbeat and this node's placements go at once,
    /// so other nodes take its rooms without waiting for the lease.
    pub async fn leave(&self) {
        let Some(stores) = self.stores.get() else {
            return;
        };
        // Draining first: a join elsewhere must not place a released room back here.
        self.draining
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let own: HashMap<RoomId, u64> = {
            let mut state = self.state.lock();
            if let Some(record) = state.record.as_mut() {
                record.draining = true;
            }
            // Rooms users were let into under a placement this node's view may not hold yet
            // (made by another node a moment ago), and the rooms the view homes here.
            let mut own = state.admitted.clone();
            for (room, placed) in &state.view.rooms {
                if placed.placement.home == self.settings.node {
                    own.insert(*room, placed.revision);
                }
            }
            own
        };
        let work = async {
            let _ = self.heartbeat(stores).await;
            self.state.lock().left = true;
            for (room, revision) in own {
                let _ = kv::release_placement(stores, room, revision).await;
            }
            let _ = kv::delete_node(stores, &self.settings.node).await;
        };
        if tokio::time::timeout(Duration::from_secs(3), work)
            .await
            .is_err()
        {
            tracing::warn!("fleet: leaving took too long; the lease will expire instead");
        }
    }
}

/// Users per room with users.
fn occupied(snapshot: &Snapshot) -> HashMap<RoomId, u32> {
    snapshot
        .rooms
        .iter()
        .filter(|room| !room.users.is_empty())
        .map(|room| (room.id, room.users.len() as u32))
        .collect()
}
