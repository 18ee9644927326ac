//! What the fleet keeps in NATS JetStream KV, and the few operations on it. Every call is
//! bounded by [`OP_TIMEOUT`]: a NATS outage turns into a clear refusal, never a hang.
//!
//! Buckets (`<prefix>` from `[cluster] prefix`):
//! - `<prefix>_nodes`: key = node name, value = [`NodeRecord`] (JSON). Max age = the lease:
//!   a node that stops rewriting its record vanishes from it.
//! - `<prefix>_rooms`: key `room.<id>` = [`Placement`] (JSON), taken with create-if-absent,
//!   moved with compare-and-set on the revision, released by a delete on the revision;
//!   key `fleet.secret` = the token key when `[cluster] secret` is not set.
//! - `<prefix>_config` (only with `[cluster] config = "kv"`): key `shared` = the fleet's
//!   accounts and rooms (see [`super::shared_config`]).

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, kv, stream};
use bytes::Bytes;

use super::config::{ConfigSource, Settings};
use super::placement::{NodeRecord, Placed, Placement};
use crate::room::RoomId;

/// Longest wait for one KV operation.
pub const OP_TIMEOUT: Duration = Duration::from_secs(2);

const SECRET_KEY: &str = "fleet.secret";

pub struct Stores {
    pub nodes: kv::Store,
    pub rooms: kv::Store,
    /// With `[cluster] config = "kv"` only.
    pub config: Option<kv::Store>,
}

/// The outcome of a conditional write.
#[derive(Debug)]
pub enum Cas {
    Done(u64),
    /// Someone else wrote first (create of an existing key, stale revision).
    Conflict,
    /// NATS did not answer in time or refused.
    Unavailable(String),
}

pub fn room_key(room: RoomId) -> String {
    format!("room.{room}")
}

/// The room of a `room.<id>` key.
pub fn key_room(key: &str) -> Option<RoomId> {
    key.strip_prefix("room.")?.parse().ok()
}

/// Connects to NATS (`urls` comma-separated), bounded by [`OP_TIMEOUT`] per operation.
pub async fn connect(urls: &str, name: &str) -> anyhow::Result<jetstream::Context> {
    let addrs = urls
        .split(',')
        .map(|url| url.trim().parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .context("invalid NATS URL")?;
    let client = async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(OP_TIMEOUT)
        // Reconnect forever: a NATS outage must not end a node that still serves lessons.
        .max_reconnects(None)
        .connect(addrs)
        .await
        .context("cannot reach NATS")?;
    Ok(jetstream::ContextBuilder::new()
        .timeout(OP_TIMEOUT)
        .build(client))
}

/// Connects and opens (or creates) the fleet's buckets.
pub async fn open(settings: &Settings) -> anyhow::Result<Stores> {
    let js = connect(&settings.urls, &format!("conference-mcu {}", settings.node)).await?;
    let nodes = bucket(
        &js,
        &format!("{}_nodes", settings.prefix),
        "conference-mcu fleet: node heartbeats",
        settings.lease,
        settings.replicas,
        1,
    )
    .await?;
    let rooms = bucket(
        &js,
        &format!("{}_rooms", settings.prefix),
        "conference-mcu fleet: room placements",
        Duration::ZERO,
        settings.replicas,
        1,
    )
    .await?;
    let config = match settings.config {
        ConfigSource::Kv => Some(config_bucket(&js, &settings.prefix, settings.replicas).await?),
        ConfigSource::File => None,
    };
    Ok(Stores {
        nodes,
        rooms,
        config,
    })
}

/// Revisions of the shared configuration NATS keeps (`nats kv history`: what was published
/// before, to compare or to publish again).
const CONFIG_HISTORY: i64 = 10;

/// The name of the bucket holding the fleet's shared accounts and rooms.
pub fn config_bucket_name(prefix: &str) -> String {
    format!("{prefix}_config")
}

/// Opens (or creates) `<prefix>_config`.
pub async fn config_bucket(
    js: &jetstream::Context,
    prefix: &str,
    replicas: usize,
) -> anyhow::Result<kv::Store> {
    bucket(
        js,
        &config_bucket_name(prefix),
        "conference-mcu fleet: shared accounts and rooms",
        Duration::ZERO,
        replicas,
        CONFIG_HISTORY,
    )
    .await
}

/// Opens a bucket, creating it when missing (the first node of a fleet does). The stream is
/// made by hand with the KV layout (`KV_<bucket>`, subjects `$KV.<bucket>.>`, `history`
/// messages per key, rollups, direct gets): the client's own bucket creation first reads
/// account limits in a form nats-server 2.9 does not send.
async fn bucket(
    js: &jetstream::Context,
    name: &str,
    description: &str,
    max_age: Duration,
    replicas: usize,
    history: i64,
) -> anyhow::Result<kv::Store> {
    let config = stream::Config {
        name: format!("KV_{name}"),
        description: Some(description.into()),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: history,
        max_age,
        num_replicas: replicas,
        storage: stream::StorageType::File,
        discard: stream::DiscardPolicy::New,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        ..Default::default()
    };
    js.get_or_create_stream(config)
        .await
        .with_context(|| format!("cannot create the KV bucket {name}"))?;
    js.get_key_value(name)
        .await
        .with_context(|| format!("cannot open the KV bucket {name}"))
}

pub async fn bounded<T, E: std::fmt::Display>(
    op: impl Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(OP_TIMEOUT, op).await {
        Ok(result) => result.map_err(|err| err.to_string()),
        Err(_) => Err("NATS did not answer in time".into()),
    }
}

/// The fleet's token key: the configured one, else the one stored in KV (the first node to
/// get here stores a random one).
pub async fn secret(stores: &Stores, configured: Option<&[u8]>) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = configured {
        return Ok(secret.to_vec());
    }
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|err| anyhow::anyhow!("no randomness: {err}"))?;
    // Losing this race is fine: the winner's key is read back below.
    let _ = bounded(
        stores
            .rooms
            .create(SECRET_KEY, Bytes::copy_from_slice(&random)),
    )
    .await;
    let stored = bounded(stores.rooms.get(SECRET_KEY))
        .await
        .map_err(anyhow::Error::msg)?;
    match stored {
        Some(secret) if secret.len() >= 16 => Ok(secret.to_vec()),
        _ => anyhow::bail!("the fleet's token key is missing from KV"),
    }
}

pub async fn put_node(stores: &Stores, record: &NodeRecord) -> Result<u64, String> {
    let value = serde_json::to_vec(record).map_err(|err| err.to_string())?;
    bounded(stores.nodes.put(&record.name, value.into())).await
}

/// Leaving the fleet on purpose: the record goes at once instead of at the lease's end.
pub async fn delete_node(stores: &Stores, name: &str) -> Result<(), String> {
    bounded(stores.nodes.delete(name)).await
}

/// A node's record as NATS holds it now, with its revision: `None` once its lease ran out.
pub async fn node(stores: &Stores, name: &str) -> Result<Option<(NodeRecord, u64)>, String> {
    let entry = bounded(stores.nodes.entry(name)).await?;
    Ok(entry.and_then(|e| decode_node(&e)))
}

pub fn decode_node(entry: &kv::Entry) -> Option<(NodeRecord, u64)> {
    if entry.operation != kv::Operation::Put {
        return None;
    }
    let record = serde_json::from_slice(&entry.value).ok()?;
    Some((record, entry.revision))
}

/// The placement NATS holds now (`None`: never placed or released).
pub async fn placement(stores: &Stores, room: RoomId) -> Result<Option<Placed>, String> {
    let entry = bounded(stores.rooms.entry(room_key(room))).await?;
    Ok(entry.and_then(|e| decode_placement(&e)))
}

pub fn decode_placement(entry: &kv::Entry) -> Option<Placed> {
    if entry.operation != kv::Operation::Put {
        return None;
    }
    let placement: Placement = serde_json::from_slice(&entry.value).ok()?;
    Some(Placed {
        placement,
        revision: entry.revision,
    })
}

fn encode(placement: &Placement) -> Bytes {
    serde_json::to_vec(placement)
        .expect("a placement serialises")
        .into()
}

/// Takes an unplaced room (create-if-absent; a released key counts as absent).
pub async fn create_placement(stores: &Stores, room: RoomId, placement: &Placement) -> Cas {
    let op = stores.rooms.create(room_key(room), encode(placement));
    match tokio::time::timeout(OP_TIMEOUT, op).await {
        Ok(Ok(revision)) => Cas::Done(revision),
        Ok(Err(err)) if err.kind() == kv::CreateErrorKind::AlreadyExists => Cas::Conflict,
        Ok(Err(err)) => Cas::Unavailable(err.to_string()),
        Err(_) => Cas::Unavailable("NATS did not answer in time".into()),
    }
}

/// Rewrites a placement only if it is still at `revision` (compare-and-set).
pub async fn update_placement(
    stores: &Stores,
    room: RoomId,
    placement: &Placement,
    revision: u64,
) -> Cas {
    let op = stores
        .rooms
        .update(room_key(room), encode(placement), revision);
    match tokio::time::timeout(OP_TIMEOUT, op).await {
        Ok(Ok(revision)) => Cas::Done(revision),
        Ok(Err(err)) if err.kind() == kv::UpdateErrorKind::WrongLastRevision => Cas::Conflict,
        Ok(Err(err)) => Cas::Unavailable(err.to_string()),
        Err(_) => Cas::Unavailable("NATS did not answer in time".into()),
    }
}

/// Releases a placement only if it is still at `revision`.
pub async fn release_placement(stores: &Stores, room: RoomId, revision: u64) -> Cas {
    let op = stores
        .rooms
        .delete_expect_revision(room_key(room), Some(revision));
    match tokio::time::timeout(OP_TIMEOUT, op).await {
        Ok(Ok(())) => Cas::Done(revision),
        // A stale revision is refused like an update's (the server's "wrong last sequence").
        Ok(Err(err)) if err.to_string().contains("wrong last sequence") => Cas::Conflict,
        Ok(Err(err)) => Cas::Unavailable(err.to_string()),
        Err(_) => Cas::Unavailable("NATS did not answer in time".into()),
    }
}
