//! Test helpers for end-to-end tests against the real `conference-mcu` process.
//!
//! - [`McuProcess`]: builds (if needed) and starts the `conference-mcu` binary on an ephemeral
//!   loopback port, waits until it listens, and kills it on drop.
//! - [`TestConfig`]: writes a configuration file with cheaply hashed passwords.
//! - [`client::TestClient`]: a small blocking client driving `ClientConn`, with a raw escape
//!   hatch for hostile input ([`client::raw`]).
//! - [`child::ChildProcess`]: every child process of a test or tool (killed and reaped on drop).
//! - [`nats`], [`fleet`]: a NATS cluster and a fleet of MCUs on it, redirect-following joins.
//! - [`proxy`]: a recording TCP proxy and a TLS man in the middle; [`pki`]: test certificates.

pub mod child;
pub mod client;
pub mod fleet;
pub mod nats;
pub mod pki;
mod process;
pub mod proxy;

pub use process::{McuProcess, SpawnOptions, mcu_binary};

use std::collections::HashMap;
use std::sync::Mutex;

use conference_mcu::password::{self, Cost};
use conference_proto::scram::MIN_ITERATIONS;

/// `make` of `password`, computed once per password (hashing is the slow part of a test's
/// configuration).
fn cached(
    cache: &Mutex<Option<HashMap<String, String>>>,
    password: &str,
    make: impl FnOnce(&str) -> String,
) -> String {
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    let cache = cache.get_or_insert_with(HashMap::new);
    cache
        .entry(password.to_string())
        .or_insert_with(|| make(password))
        .clone()
}

/// A SCRAM-SHA-256 verifier at RFC 7677's minimum cost (4096 iterations), cached per
/// password: what a test account's `password_hash` holds. The MCU's own `hash-password`.
pub fn hash_password_cheap(password: &str) -> String {
    static CACHE: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);
    cached(&CACHE, password, |p| {
        password::scram_verifier(p, MIN_ITERATIONS)
    })
}

/// A legacy argon2id PHC hash with a tiny cost (what configurations held before SCRAM;
/// such an account logs in over TLS only), made by the MCU's `password` module.
pub fn hash_password_legacy(password: &str) -> String {
    static CACHE: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);
    // Smaller than `Cost::CHEAP`: tests only need the form.
    const TINY: Cost = Cost { m_kib: 64, t: 1 };
    cached(&CACHE, password, |p| {
        password::hash_password(p, TINY).expect("argon2 hashing")
    })
}

/// One account of a [`TestConfig`].
#[derive(Clone, Debug)]
pub struct TestAccount {
    pub username: String,
    pub password: String,
    pub nickname: Option<String>,
    pub chair: bool,
    /// A fixed `id` in the file; `None`: the MCU assigns one (from 10001).
    pub id: Option<u32>,
    /// Stored as a legacy argon2 hash instead of a SCRAM verifier.
    pub legacy: bool,
}

/// One room of a [`TestConfig`].
#[derive(Clone, Debug)]
pub struct TestRoom {
    pub id: u32,
    pub name: String,
    pub creator: String,
    pub max_users: u32,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
}

/// Builds a configuration file. User ids follow account order from 10001 (the MCU's
/// numbering) unless [`TestConfig::with_ids_from`] fixes them.
#[derive(Clone, Debug, Default)]
pub struct TestConfig {
    pub accounts: Vec<TestAccount>,
    pub rooms: Vec<TestRoom>,
    pub heartbeat_ms: Option<u32>,
    /// `[server] resume_window_ms` (the MCU's default otherwise).
    pub resume_window_ms: Option<u32>,
    /// Appended to the file as is (`[tls]`, `[login]` sections).
    pub extra: String,
}

impl TestConfig {
    pub fn new() -> Self {
        TestConfig::default()
    }

    /// The built-in demo's accounts and room, as a file: `teacher` (chair, id 10001),
    /// `class1`..`class8` (ids 10002..10009), password = username; room 1001, 16 users.
    pub fn demo() -> Self {
        let mut config = TestConfig::new().account("teacher", "teacher", true);
        for i in 1..=8 {
            let name = format!("class{i}");
            config = config.account(&name, &name, false);
        }
        config.room(1001, "Demo Classroom", "teacher", 16)
    }

    pub fn account(mut self, username: &str, password: &str, chair: bool) -> Self {
        self.accounts.push(TestAccount {
            username: username.into(),
            password: password.into(),
            nickname: None,
            chair,
            id: None,
            legacy: false,
        });
        self
    }

    /// Fixes the accounts' ids in the file, in account order from `first` (ids of 10000 or
    /// less are what older configurations have: accepted with a warning).
    pub fn with_ids_from(mut self, first: u32) -> Self {
        for (account, id) in self.accounts.iter_mut().zip(first..) {
            account.id = Some(id);
        }
        self
    }

    pub fn room(mut self, id: u32, name: &str, creator: &str, max_users: u32) -> Self {
        self.rooms.push(TestRoom {
            id,
            name: name.into(),
            creator: creator.into(),
            max_users,
            start_time: None,
            end_time: None,
        });
        self
    }

    /// Stores `username`'s password as a legacy argon2 hash.
    pub fn legacy(mut self, username: &str) -> Self {
        for account in &mut self.accounts {
            if account.username == username {
                account.legacy = true;
            }
        }
        self
    }

    /// Appends TOML (sections the builder has no method for).
    pub fn extra(mut self, toml: &str) -> Self {
        self.extra.push_str(toml);
        self.extra.push('\n');
        self
    }

    pub fn heartbeat_ms(mut self, ms: u32) -> Self {
        self.heartbeat_ms = Some(ms);
        self
    }

    /// How long the MCU keeps a resumable session after its link broke.
    pub fn resume_window_ms(mut self, ms: u32) -> Self {
        self.resume_window_ms = Some(ms);
        self
    }

    /// The file, written through the MCU's own configuration types.
    pub fn to_toml(&self) -> String {
        use conference_mcu::config::{
            AccountEntry, GeneratedConfig, RoomEntry, ServerSection, TimeValue,
        };
        let defaults = ServerSection::default();
        let file = GeneratedConfig {
            server: ServerSection {
                heartbeat_ms: self.heartbeat_ms.unwrap_or(defaults.heartbeat_ms),
                resume_window_ms: self.resume_window_ms.unwrap_or(defaults.resume_window_ms),
                ..defaults
            },
            accounts: self
                .accounts
                .iter()
                .map(|a| AccountEntry {
                    username: a.username.clone(),
                    nickname: a.nickname.clone(),
                    password_hash: if a.legacy {
                        hash_password_legacy(&a.password)
                    } else {
                        hash_password_cheap(&a.password)
                    },
                    chair: a.chair,
                    id: a.id,
                })
                .collect(),
            rooms: self
                .rooms
                .iter()
                .map(|r| RoomEntry {
                    id: r.id,
                    name: r.name.clone(),
                    creator: r.creator.clone(),
                    max_users: r.max_users,
                    start_time: r.start_time.map(TimeValue::Unix),
                    end_time: r.end_time.map(TimeValue::Unix),
                })
                .collect(),
        };
        let mut text = file.to_toml();
        text.push('\n');
        text.push_str(&self.extra);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conference_mcu::config::Config;

    /// Written through the MCU's types, read back by its parser.
    #[test]
    fn the_mcu_reads_what_test_configs_write() {
        let mut room = TestConfig::new()
            .account("teacher", "pw", true)
            .account("名前 \"quoted\"", "pw2", false)
            .legacy("teacher")
            .with_ids_from(20_001)
            .heartbeat_ms(100)
            .room(7, "Physics \"101\"", "teacher", 40);
        room.rooms[0].start_time = Some(1_600_000_000);
        room.rooms[0].end_time = Some(1_600_003_600);
        let config = Config::parse(&room.to_toml()).expect("a valid configuration");
        assert_eq!(config.heartbeat_ms, 100);
        let names: Vec<_> = config
            .accounts
            .iter()
            .map(|a| (a.id, a.username.as_str()))
            .collect();
        assert_eq!(names, [(20_001, "teacher"), (20_002, "名前 \"quoted\"")]);
        assert!(config.accounts[0].password_hash.starts_with("$argon2id$"));
        assert!(conference_mcu::password::verify_password(
            "pw2",
            &config.accounts[1].password_hash
        ));
        let room = &config.rooms[0];
        assert_eq!(
            (room.id, room.name.as_str(), room.creator_id, room.max_users),
            (7, "Physics \"101\"", 20_001, 40)
        );
        assert_eq!(
            (room.start_time, room.end_time),
            (1_600_000_000, 1_600_003_600)
        );
        assert!(Config::parse(&TestConfig::demo().to_toml()).is_ok());
    }
}
