//! `[cluster] config = "kv"`: the fleet's accounts and rooms in NATS KV (docs/CLUSTER.md).
//!
//! Bucket `<prefix>_config`, key `shared`: the `[[account]]` and `[[room]]` sections of a
//! configuration file, as TOML text. `conference-mcu publish-config FILE` writes it once
//! FILE is valid. A node with `config = "kv"` reads it at start (a bounded wait for NATS; no
//! configuration there is an error, never the file's as a fallback: nodes must not serve
//! different accounts unnoticed) and follows the key: each new revision is handed to the
//! serve loop and applied by the same reload as `SIGHUP`, an invalid one is logged and the
//! running configuration kept. Everything else (`[server]`, `[tls]`, `[admin]`, `[login]`,
//! `[cluster]`) stays in each node's file.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use async_nats::jetstream::kv as nats_kv;
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::config::ClusterSection;
use super::kv;
use super::{Fleet, RoomId};
use crate::config::{AccountEntry, Config, ConfigFile, RoomEntry};

/// The one key of `<prefix>_config`.
pub const KEY: &str = "shared";

/// How long a starting node waits for NATS to hand it its accounts and rooms. Below
/// systemd's start timeout (90 s); `Restart=on-failure` tries again after it.
pub const START_WAIT: Duration = Duration::from_secs(30);

/// A watch can stall unnoticed while JetStream elects a leader: the key is also reread this
/// often, so a node misses a publish for this long at most.
const REREAD: Duration = Duration::from_secs(10);

const HEADER: &str = "# The accounts and rooms of a conference-mcu fleet (docs/CLUSTER.md), \
                      written by `conference-mcu publish-config`.\n\n";

/// The shared sections, in the file's own types and names.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedConfig {
    #[serde(default, rename = "account")]
    pub accounts: Vec<AccountEntry>,
    #[serde(default, rename = "room")]
    pub rooms: Vec<RoomEntry>,
}

/// A new revision of the key, for the serve loop to apply.
#[derive(Debug)]
pub struct Update {
    pub revision: u64,
    pub value: Bytes,
}

/// The value as nodes read it. Anything may have been written there (`nats kv put`): bytes
/// that are not such a TOML text are an error, never a panic.
pub fn decode(value: &[u8]) -> anyhow::Result<SharedConfig> {
    let text = std::str::from_utf8(value).context("not UTF-8 text")?;
    let shared: SharedConfig =
        toml::from_str(text).context("not the TOML of [[account]] and [[room]] sections")?;
    // An empty value is more likely a mistake than a fleet meant to serve nobody.
    if shared.accounts.is_empty() {
        bail!("no [[account]]");
    }
    if shared.rooms.is_empty() {
        bail!("no [[room]]");
    }
    Ok(shared)
}

pub fn encode(shared: &SharedConfig) -> String {
    let body = toml::to_string(shared).expect("configuration types serialize to TOML");
    format!("{HEADER}{body}")
}

/// `base` with the accounts and rooms of `value`, validated as a file's are.
pub fn apply(base: &Config, value: &[u8]) -> anyhow::Result<Config> {
    let shared = decode(value)?;
    base.with_directory(shared.accounts, shared.rooms)
}

/// Under `config = "kv"` the file's own accounts and rooms are not used: say so.
pub fn warn_unused(file: &Config) {
    if !file.accounts.is_empty() || !file.rooms.is_empty() {
        tracing::warn!(
            accounts = file.accounts.len(),
            rooms = file.rooms.len(),
            "the file's accounts and rooms are not used: [cluster] config = \"kv\" takes them from NATS"
        );
    }
}

/// The bucket, and the largest message the NATS server takes.
async fn open(section: &ClusterSection, name: &str) -> anyhow::Result<(nats_kv::Store, usize)> {
    let js = kv::connect(&section.urls(), name).await?;
    let max_payload = js.client().server_info().max_payload;
    let store = kv::config_bucket(&js, &section.prefix, section.replicas()).await?;
    Ok((store, max_payload))
}

async fn read(section: &ClusterSection) -> anyhow::Result<Option<nats_kv::Entry>> {
    let (store, _) = open(section, "conference-mcu (configuration)").await?;
    kv::bounded(store.entry(KEY))
        .await
        .map_err(anyhow::Error::msg)
}

/// A starting node's accounts and rooms: `file` with those of the key, and the key's
/// revision. NATS is waited for up to [`START_WAIT`]; a missing or invalid value is an error
/// at once.
pub async fn load_at_start(file: &Config) -> anyhow::Result<(Config, u64)> {
    let section = &file.cluster;
    if !section.enabled() {
        bail!("[cluster] config = \"kv\" needs NATS servers ([cluster] nats or --cluster)");
    }
    warn_unused(file);
    let bucket = kv::config_bucket_name(&section.prefix);
    let deadline = Instant::now() + START_WAIT;
    let retry = Duration::from_secs(1);
    let mut attempts = 0u32;
    let entry = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        attempts += 1;
        match tokio::time::timeout(left, read(section)).await {
            Ok(Ok(entry)) => break entry,
            Ok(Err(err)) if Instant::now() + retry < deadline => {
                if attempts % 5 == 1 {
                    tracing::warn!("waiting for NATS to read the shared configuration: {err:#}");
                }
                tokio::time::sleep(retry).await;
            }
            Ok(Err(err)) => {
                return Err(err.context(format!(
                    "no shared configuration: NATS did not answer within {} s",
                    START_WAIT.as_secs()
                )));
            }
            Err(_) => bail!(
                "no shared configuration: NATS did not answer within {} s",
                START_WAIT.as_secs()
            ),
        }
    };
    let Some(entry) = entry.filter(|e| e.operation == nats_kv::Operation::Put) else {
        bail!(
            "no shared configuration in NATS (bucket {bucket}, key {KEY}): publish one with \
             `conference-mcu --cluster nats://… publish-config FILE`, or set [cluster] config = \"file\""
        );
    };
    let config = apply(file, &entry.value).with_context(|| {
        format!(
            "the shared configuration in NATS ({bucket}, revision {}) is invalid; publish a valid one",
            entry.revision
        )
    })?;
    tracing::info!(
        revision = entry.revision,
        accounts = config.accounts.len(),
        rooms = config.rooms.len(),
        "accounts and rooms from NATS KV {bucket}"
    );
    Ok((config, entry.revision))
}

/// What `publish-config` did.
#[derive(Debug)]
pub struct Published {
    pub bucket: String,
    pub revision: u64,
    pub accounts: usize,
    pub rooms: usize,
    /// The key already held this text: nothing written, no node reloads.
    pub unchanged: bool,
}

/// Validates the file at `path` (all of it) and writes its accounts and rooms to the key.
/// NATS: `nats` if given, else the file's `[cluster] nats`; bucket prefix and replicas from
/// its `[cluster]`. An invalid file writes nothing; NATS is retried for [`PUBLISH_WAIT`].
pub async fn publish(path: &Path, nats: &[String]) -> anyhow::Result<Published> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let config = Config::parse(&text)
        .with_context(|| format!("invalid configuration {}", path.display()))?;
    let file: ConfigFile = toml::from_str(&text)?;
    let value = encode(&SharedConfig {
        accounts: file.accounts,
        rooms: file.rooms,
    });
    // What every node would refuse is refused here, before anything is written.
    let shared = apply(&config, value.as_bytes())
        .with_context(|| format!("{} cannot be published", path.display()))?;
    let mut section = config.cluster.clone();
    if !nats.is_empty() {
        section.nats = nats.to_vec();
    }
    if !section.enabled() {
        bail!(
            "no NATS servers: give --cluster nats://… or [cluster] nats in {}",
            path.display()
        );
    }
    let accounts = shared.accounts.len();
    let rooms = shared.rooms.len();
    let deadline = Instant::now() + PUBLISH_WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let error = match tokio::time::timeout(left, write(&section, &value)).await {
            Ok(Ok(Written::Done {
                bucket,
                revision,
                unchanged,
            })) => {
                return Ok(Published {
                    bucket,
                    revision,
                    accounts,
                    rooms,
                    unchanged,
                });
            }
            Ok(Ok(Written::TooLarge { max_payload })) => bail!(
                "{} cannot be published: its accounts and rooms take {} bytes, more than the \
                 {max_payload} bytes NATS takes in a message (nats-server's max_payload)",
                path.display(),
                value.len()
            ),
            Ok(Err(err)) => err,
            Err(_) => anyhow::anyhow!("no answer"),
        };
        if Instant::now() + Duration::from_secs(1) >= deadline {
            return Err(error.context(format!(
                "NATS did not take the configuration within {} s",
                PUBLISH_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// How long `publish-config` retries NATS (a JetStream leader election takes a few
/// seconds); the file's validation is never retried.
const PUBLISH_WAIT: Duration = Duration::from_secs(15);

enum Written {
    Done {
        bucket: String,
        revision: u64,
        unchanged: bool,
    },
    /// Not worth retrying.
    TooLarge { max_payload: usize },
}

/// Writes `value` unless the key holds it already. Retrying after a write whose answer was
/// lost finds the value there and writes nothing more.
async fn write(section: &ClusterSection, value: &str) -> anyhow::Result<Written> {
    let bucket = kv::config_bucket_name(&section.prefix);
    let (store, max_payload) = open(section, "conference-mcu publish-config").await?;
    // The KV subject and headers come on top of the value.
    if value.len() + 256 > max_payload {
        return Ok(Written::TooLarge { max_payload });
    }
    let current = kv::bounded(store.entry(KEY))
        .await
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("cannot read {bucket}"))?;
    if let Some(current) = current
        && current.operation == nats_kv::Operation::Put
        && current.value == value.as_bytes()
    {
        return Ok(Written::Done {
            bucket,
            revision: current.revision,
            unchanged: true,
        });
    }
    let revision = kv::bounded(store.put(KEY, Bytes::copy_from_slice(value.as_bytes())))
        .await
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("cannot write {bucket}/{KEY} ({} bytes)", value.len()))?;
    Ok(Written::Done {
        bucket,
        revision,
        unchanged: false,
    })
}

impl Fleet {
    /// Follows the key (with `config = "kv"`): each revision newer than the one running is
    /// handed to the serve loop, which applies it like a `SIGHUP` reload.
    pub(super) async fn watch_config(self: Arc<Self>) {
        let Some(store) = self.stores.get().and_then(|stores| stores.config.as_ref()) else {
            return;
        };
        let mut reread = tokio::time::interval(REREAD);
        reread.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            match store.watch_with_history(KEY).await {
                Ok(mut entries) => loop {
                    tokio::select! {
                        entry = entries.next() => match entry {
                            Some(Ok(entry)) => {
                                if !self.offer_config(entry).await {
                                    return;
                                }
                            }
                            _ => break,
                        },
                        _ = reread.tick() => {
                            if let Ok(Some(entry)) = kv::bounded(store.entry(KEY)).await
                                && !self.offer_config(entry).await
                            {
                                return;
                            }
                        }
                    }
                },
                Err(err) => tracing::warn!("fleet: cannot watch the shared configuration: {err}"),
            }
            if self.hub.upgrade().is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Hands a revision not seen yet to the serve loop; false once the server stopped.
    async fn offer_config(&self, entry: nats_kv::Entry) -> bool {
        // Revisions only grow: a restarted watch or the reread brings the same one again.
        if self
            .config_seen
            .fetch_max(entry.revision, Ordering::Relaxed)
            >= entry.revision
        {
            return true;
        }
        if entry.operation != nats_kv::Operation::Put {
            tracing::warn!(
                revision = entry.revision,
                "the shared configuration was deleted from NATS: keeping the running one \
                 (a node starting now refuses to start until one is published)"
            );
            return true;
        }
        let update = Update {
            revision: entry.revision,
            value: entry.value,
        };
        self.config_updates.send(update).await.is_ok()
    }

    /// Before the room core gets a new configuration: its new rooms are configured for the
    /// gate already (a room the core knows and the gate does not would be joined here
    /// without a placement; the other way round a join is only refused `RoomUnexist`).
    pub fn rooms_coming(&self, rooms: impl IntoIterator<Item = RoomId>) {
        self.state.lock().configured.extend(rooms);
    }

    /// Once the core was handed the new configuration (the hub takes messages in order, so
    /// later joins reach it after): exactly its rooms.
    pub fn rooms_configured(&self, rooms: impl IntoIterator<Item = RoomId>) {
        self.state.lock().configured = rooms.into_iter().collect();
    }

    /// The serve loop applied this revision of the key.
    pub fn config_applied(&self, revision: u64) {
        self.config_revision.store(revision, Ordering::Relaxed);
    }

    /// The serve loop refused a revision of the key (it was logged).
    pub fn config_refused(&self) {
        super::metrics::Counters::add(&self.counters.config_refused);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password;
    use conference_proto::scram;

    fn file() -> String {
        let h = password::scram_verifier("x", scram::MIN_ITERATIONS);
        format!(
            "[server]\nname = \"node\"\n\
             [[account]]\nusername = \"t\"\npassword_hash = \"{h}\"\nchair = true\n\
             [[account]]\nusername = \"s\"\nnickname = \"Student\"\npassword_hash = \"{h}\"\nid = 20001\n\
             [[room]]\nid = 7\nname = \"R\"\ncreator = \"t\"\nmax_users = 3\n\
             start_time = 2025-09-01T08:00:00+08:00\nend_time = 1756699200\n"
        )
    }

    #[test]
    fn what_is_published_reads_back_as_the_same_accounts_and_rooms() {
        let original = Config::parse(&file()).unwrap();
        let parsed: ConfigFile = toml::from_str(&file()).unwrap();
        let value = encode(&SharedConfig {
            accounts: parsed.accounts,
            rooms: parsed.rooms,
        });
        assert!(value.starts_with("# The accounts and rooms"), "{value}");
        let base = Config::demo().unwrap();
        let shared = apply(&base, value.as_bytes()).unwrap();
        let ids = |c: &Config| {
            c.accounts
                .iter()
                .map(|a| (a.id, a.username.clone(), a.nickname.clone(), a.chair))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&shared), ids(&original));
        let room = &shared.rooms[0];
        assert_eq!(
            (room.id, room.creator_id, room.start_time, room.end_time),
            (
                7,
                original.rooms[0].creator_id,
                1_756_684_800,
                1_756_699_200
            )
        );
        // The rest is the base's: server, TLS, admin and cluster stay local.
        assert_eq!(shared.server_name, base.server_name);
    }

    #[test]
    fn anything_else_in_the_key_is_an_error_not_a_panic() {
        let base = Config::demo().unwrap();
        let h = password::scram_verifier("x", scram::MIN_ITERATIONS);
        let cases: Vec<Vec<u8>> = vec![
            vec![0xff, 0xfe, 0x00, 0x80],
            b"".to_vec(),
            b"[[account]\nusername = ".to_vec(),
            b"{\"account\": []}".to_vec(),
            // A whole node file: [server] is not shared.
            file().into_bytes(),
            // Valid TOML, invalid configuration: the creator is not an account.
            format!(
                "[[account]]\nusername = \"t\"\npassword_hash = \"{h}\"\n\
                 [[room]]\nid = 1\nname = \"r\"\ncreator = \"nobody\"\nmax_users = 2\n"
            )
            .into_bytes(),
            // Accounts without rooms.
            format!("[[account]]\nusername = \"t\"\npassword_hash = \"{h}\"\n").into_bytes(),
        ];
        for value in cases {
            assert!(
                apply(&base, &value).is_err(),
                "{:?}",
                String::from_utf8_lossy(&value)
            );
        }
    }
}
