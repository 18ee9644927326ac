//! `[cluster]`: how this MCU joins a fleet on NATS (docs/CLUSTER.md). Without NATS servers
//! (here or `--cluster`) the MCU runs alone, exactly as before.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::bail;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterSection {
    /// NATS servers (`nats://host:port`); several for a NATS cluster. Empty: no fleet.
    pub nats: Vec<String>,
    /// This node's name in the fleet; default `mcu-<advertised address>`.
    pub node: Option<String>,
    /// Where clients reach this node (`host:port`, sent in redirects); default: the
    /// listening address (which must then not be a wildcard).
    pub advertise: Option<String>,
    /// Users this node is sized for: placement compares users / capacity. Default:
    /// `server.max_connections`.
    pub capacity: Option<u32>,
    /// How often the node rewrites its heartbeat record.
    pub heartbeat_ms: u64,
    /// Age at which NATS drops a heartbeat record (the nodes bucket's max age): a node
    /// silent this long loses its rooms.
    pub lease_ms: u64,
    /// Shared key (any text, ≥ 16 bytes) signing redirect tokens. Absent: a random key the
    /// first node stores in the fleet's KV.
    pub secret: Option<String>,
    /// Life of a redirect token.
    pub token_ttl_ms: u64,
    /// JetStream replicas of the buckets. Default: 3 with several NATS URLs, else 1.
    pub replicas: Option<usize>,
    /// Bucket name prefix, so several fleets can share one NATS.
    pub prefix: String,
    /// Where accounts and rooms come from: this file, or the fleet's KV bucket
    /// `<prefix>_config` (written by `conference-mcu publish-config`).
    pub config: ConfigSource,
}

/// `[cluster] config`: where a node takes its accounts and rooms from (docs/CLUSTER.md).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ConfigSource {
    /// The `[[account]]` and `[[room]]` sections of the node's own file.
    #[default]
    File,
    /// The fleet's shared configuration in NATS KV, followed while the node runs.
    Kv,
}

impl Default for ClusterSection {
    fn default() -> Self {
        ClusterSection {
            nats: Vec::new(),
            node: None,
            advertise: None,
            capacity: None,
            heartbeat_ms: 1000,
            lease_ms: 4000,
            secret: None,
            token_ttl_ms: 30_000,
            replicas: None,
            prefix: "conference".into(),
            config: ConfigSource::File,
        }
    }
}

/// NATS KV keys and bucket names allow these characters only.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl ClusterSection {
    pub fn enabled(&self) -> bool {
        !self.nats.is_empty()
    }

    /// The NATS servers, comma-separated, as `async_nats::connect` takes them.
    pub fn urls(&self) -> String {
        self.nats.join(",")
    }

    /// JetStream replicas of the buckets.
    pub fn replicas(&self) -> usize {
        self.replicas
            .unwrap_or(if self.nats.len() > 1 { 3 } else { 1 })
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if !(100..=60_000).contains(&self.heartbeat_ms) {
            bail!("cluster.heartbeat_ms must be within 100..=60000");
        }
        if self.lease_ms < 2 * self.heartbeat_ms {
            bail!("cluster.lease_ms must be at least twice cluster.heartbeat_ms");
        }
        if self.token_ttl_ms < 1000 {
            bail!("cluster.token_ttl_ms must be at least 1000");
        }
        if let Some(node) = &self.node
            && !valid_name(node)
        {
            bail!("cluster.node must be 1..64 letters, digits, '-' or '_'");
        }
        if !valid_name(&self.prefix) {
            bail!("cluster.prefix must be 1..64 letters, digits, '-' or '_'");
        }
        if self.secret.as_ref().is_some_and(|s| s.len() < 16) {
            bail!("cluster.secret must be at least 16 bytes");
        }
        if self.replicas.is_some_and(|r| !(1..=5).contains(&r)) {
            bail!("cluster.replicas must be within 1..=5");
        }
        Ok(())
    }

    /// The values this node runs with, once its listening address is known.
    pub fn settings(
        &self,
        listening: SocketAddr,
        max_connections: usize,
    ) -> anyhow::Result<Settings> {
        let advertise = match &self.advertise {
            Some(advertise) => advertise.clone(),
            None if listening.ip().is_unspecified() => {
                bail!("cluster.advertise is needed: the MCU listens on a wildcard address")
            }
            None => listening.to_string(),
        };
        let node = self.node.clone().unwrap_or_else(|| {
            let cleaned: String = advertise
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            format!("mcu-{cleaned}")
        });
        Ok(Settings {
            urls: self.urls(),
            node,
            advertise,
            capacity: self
                .capacity
                .unwrap_or(u32::try_from(max_connections).unwrap_or(u32::MAX))
                .max(1),
            heartbeat: Duration::from_millis(self.heartbeat_ms),
            lease: Duration::from_millis(self.lease_ms),
            secret: self.secret.clone().map(String::into_bytes),
            token_ttl: Duration::from_millis(self.token_ttl_ms),
            replicas: self.replicas(),
            prefix: self.prefix.clone(),
            config: self.config,
        })
    }
}

/// The resolved `[cluster]` of a running node.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Comma-separated, as `async_nats::connect` takes them.
    pub urls: String,
    pub node: String,
    pub advertise: String,
    pub capacity: u32,
    pub heartbeat: Duration,
    pub lease: Duration,
    pub secret: Option<Vec<u8>>,
    pub token_ttl: Duration,
    pub replicas: usize,
    pub prefix: String,
    pub config: ConfigSource,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_name_the_node_after_its_address() {
        let section = ClusterSection {
            nats: vec!["nats://127.0.0.1:4222".into()],
            ..ClusterSection::default()
        };
        section.validate().unwrap();
        let settings = section
            .settings("127.0.0.1:6870".parse().unwrap(), 500)
            .unwrap();
        assert_eq!(settings.node, "mcu-127-0-0-1-6870");
        assert_eq!(settings.advertise, "127.0.0.1:6870");
        assert_eq!(settings.capacity, 500);
        assert_eq!(settings.replicas, 1);
        assert!(
            section
                .settings("0.0.0.0:6870".parse().unwrap(), 1)
                .is_err()
        );
    }

    #[test]
    fn accounts_and_rooms_come_from_the_file_unless_kv_is_asked() {
        let parse = |text: &str| crate::config::Config::parse(text).map(|c| c.cluster.config);
        assert_eq!(parse("").unwrap(), ConfigSource::File);
        assert_eq!(
            parse("[cluster]\nconfig = \"kv\"").unwrap(),
            ConfigSource::Kv
        );
        assert_eq!(
            parse("[cluster]\nconfig = \"file\"").unwrap(),
            ConfigSource::File
        );
        assert!(parse("[cluster]\nconfig = \"nats\"").is_err());
    }

    #[test]
    fn refuses_what_breaks_leases_or_keys() {
        let bad = [
            ClusterSection {
                lease_ms: 1500,
                ..ClusterSection::default()
            },
            ClusterSection {
                node: Some("a.b".into()),
                ..ClusterSection::default()
            },
            ClusterSection {
                secret: Some("short".into()),
                ..ClusterSection::default()
            },
        ];
        for section in bad {
            assert!(section.validate().is_err(), "{section:?}");
        }
    }
}
