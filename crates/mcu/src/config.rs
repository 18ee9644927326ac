//! The configuration file (TOML), its validation, and the built-in demo.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use conference_proto::{resume, scram};

use crate::password::{self, Secret};

/// Largest `max_users` a room may declare.
pub const MAX_ROOM_USERS: u32 = 10_000;

/// The file as written by an operator.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default, rename = "account")]
    pub accounts: Vec<AccountEntry>,
    #[serde(default, rename = "room")]
    pub rooms: Vec<RoomEntry>,
    #[serde(default)]
    pub admin: AdminSection,
    #[serde(default)]
    pub tls: TlsSection,
    #[serde(default)]
    pub login: LoginSection,
    #[serde(default)]
    pub cluster: crate::cluster::ClusterSection,
}

/// `[tls]`: TLS 1.3 on the client port, next to plain connections unless `require`
/// (docs/SECURITY.md).
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// PEM certificate chain, the server's first.
    #[serde(alias = "cert", alias = "cert_file", alias = "certificate_file")]
    pub certificate: Option<std::path::PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    #[serde(alias = "key", alias = "key_file", alias = "private_key_file")]
    pub private_key: Option<std::path::PathBuf>,
    /// Refuse plain connections (`Bye{retCode_OpNotSupport}`).
    #[serde(alias = "require_tls")]
    pub require: bool,
}

/// `[login]`: throttling of failed logins per address and per account (docs/SECURITY.md).
#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields, default)]
pub struct LoginSection {
    /// Failures before logins are spaced.
    pub free_failures: u32,
    /// First spacing, doubled per further failure.
    pub delay_base_ms: u64,
    /// Largest spacing.
    pub delay_max_ms: u64,
    /// One failure is forgotten per this many seconds.
    pub forgive_s: u64,
}

impl Default for LoginSection {
    fn default() -> Self {
        let policy = crate::transport::throttle::Policy::default();
        LoginSection {
            free_failures: policy.free,
            delay_base_ms: policy.base.as_millis() as u64,
            delay_max_ms: policy.max.as_millis() as u64,
            forgive_s: policy.forgive.as_secs(),
        }
    }
}

impl LoginSection {
    pub fn policy(&self) -> crate::transport::throttle::Policy {
        crate::transport::throttle::Policy {
            free: self.free_failures,
            base: std::time::Duration::from_millis(self.delay_base_ms),
            max: std::time::Duration::from_millis(self.delay_max_ms),
            forgive: std::time::Duration::from_secs(self.forgive_s.max(1)),
        }
    }
}

/// `[admin]`: the operator's HTTP listener (docs/OPERATIONS.md). Off unless `listen` is set.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSection {
    /// e.g. `127.0.0.1:9090`.
    pub listen: Option<std::net::SocketAddr>,
    #[serde(rename = "account")]
    pub accounts: Vec<AdminAccount>,
}

/// An operator allowed to use the admin actions.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct AdminAccount {
    pub username: String,
    /// SCRAM verifier (`conference-mcu hash-password`) or argon2 PHC string.
    pub password_hash: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Shown to clients in `LoginResult.server_name`.
    pub name: String,
    /// Ping interval; a peer silent for 3 intervals is dead.
    pub heartbeat_ms: u32,
    /// Connections beyond this are closed at once.
    pub max_connections: usize,
    /// How long a resumable client's session outlives its link (docs/PROTOCOL.md §8);
    /// 0 releases users at once, as clients that do not ask for resume are.
    pub resume_window_ms: u32,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            name: "conference-mcu".into(),
            heartbeat_ms: 1000,
            max_connections: 10_000,
            resume_window_ms: resume::DEFAULT_WINDOW_MS,
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccountEntry {
    pub username: String,
    /// Defaults to the username.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// SCRAM-SHA-256 verifier, as printed by `conference-mcu hash-password`; a legacy argon2
    /// PHC string still works over TLS (docs/SECURITY.md).
    pub password_hash: String,
    #[serde(default)]
    pub chair: bool,
    /// Fixed user id; accounts without one are numbered from [`FIRST_ASSIGNED_USER_ID`] in
    /// file order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoomEntry {
    pub id: u32,
    pub name: String,
    /// Username of the creator account.
    pub creator: String,
    pub max_users: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<TimeValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<TimeValue>,
}

/// A file that tools write (test configurations, the load generator's): the sections a
/// generated file needs, in the parser's own types, so what is written is what is read.
#[derive(Debug, Default, Serialize)]
pub struct GeneratedConfig {
    pub server: ServerSection,
    #[serde(rename = "account")]
    pub accounts: Vec<AccountEntry>,
    #[serde(rename = "room")]
    pub rooms: Vec<RoomEntry>,
}

impl GeneratedConfig {
    /// The file's text (other sections may follow it).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("configuration types serialize to TOML")
    }
}

/// A point in time: Unix seconds or a TOML offset date-time (`2025-09-01T08:00:00+08:00`).
#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum TimeValue {
    Unix(i64),
    Datetime(toml::value::Datetime),
}

impl TimeValue {
    fn unix(&self) -> anyhow::Result<i64> {
        match self {
            TimeValue::Unix(secs) => Ok(*secs),
            TimeValue::Datetime(dt) => datetime_to_unix(dt),
        }
    }
}

fn datetime_to_unix(dt: &toml::value::Datetime) -> anyhow::Result<i64> {
    let (Some(date), Some(time)) = (dt.date, dt.time) else {
        bail!("{dt}: a full date and time is needed");
    };
    let Some(offset) = dt.offset else {
        bail!("{dt}: a time zone offset (Z or +hh:mm) is needed");
    };
    let offset_minutes = match offset {
        toml::value::Offset::Z => 0,
        toml::value::Offset::Custom { minutes } => i64::from(minutes),
    };
    let days = days_from_civil(
        i64::from(date.year),
        i64::from(date.month),
        i64::from(date.day),
    );
    let secs = days * 86_400
        + i64::from(time.hour) * 3600
        + i64::from(time.minute) * 60
        + i64::from(time.second.unwrap_or(0));
    Ok(secs - offset_minutes * 60)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// One account, validated, with its user id.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: u32,
    pub username: String,
    pub nickname: String,
    pub password_hash: String,
    pub chair: bool,
}

/// One room, validated.
#[derive(Debug, Clone)]
pub struct RoomSpec {
    pub id: u32,
    pub name: String,
    pub creator_id: u32,
    /// Unix seconds, 0 = unset.
    pub start_time: i64,
    pub end_time: i64,
    pub max_users: u32,
}

/// The validated configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub server_name: String,
    pub heartbeat_ms: u32,
    pub max_connections: usize,
    pub resume_window_ms: u32,
    pub accounts: Vec<Account>,
    pub rooms: Vec<RoomSpec>,
    pub admin: AdminSection,
    pub tls: TlsSection,
    pub login: LoginSection,
    /// `[cluster]` (docs/CLUSTER.md); read at start only.
    pub cluster: crate::cluster::ClusterSection,
}

/// The first user id the MCU assigns: above any roster position (`MAX_ROOM_USERS`), so that
/// `get_user_info(v)` can take a position or an id without ambiguity.
pub const FIRST_ASSIGNED_USER_ID: u32 = 10_001;

impl Config {
    /// What an operator should fix although the file is valid: ids a position-passing
    /// firmware would confuse with list positions.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        for room in &self.rooms {
            if (room.id as usize) < self.rooms.len() {
                warnings.push(format!(
                    "room {} {:?}: its id is also a position in the room list (0..{}); a firmware \
                     passing positions to login_conference_room({}) enters this room, not the \
                     room at position {}",
                    room.id,
                    room.name,
                    self.rooms.len(),
                    room.id,
                    room.id
                ));
            }
        }
        for account in &self.accounts {
            if let Ok(Secret::Legacy(_)) = Secret::parse(&account.password_hash) {
                let tls = if self.tls.certificate.is_some() {
                    "it logs in over TLS only"
                } else {
                    "it cannot log in: no [tls] certificate is configured"
                };
                warnings.push(format!(
                    "account {:?}: legacy argon2 password_hash: {tls}; replace it with the \
                     SCRAM verifier `conference-mcu hash-password` prints",
                    account.username
                ));
            }
            if account.id < FIRST_ASSIGNED_USER_ID {
                warnings.push(format!(
                    "account {:?}: id {} is below {FIRST_ASSIGNED_USER_ID}; get_user_info({}) \
                     returns this user only while the roster has at most {} users",
                    account.username, account.id, account.id, account.id
                ));
            }
        }
        warnings
    }

    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Config::parse(&text).with_context(|| format!("invalid configuration {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let file: ConfigFile = toml::from_str(text)?;
        Config::from_file(file)
    }

    pub fn from_file(file: ConfigFile) -> anyhow::Result<Config> {
        file.cluster.validate()?;
        if !(50..=60_000).contains(&file.server.heartbeat_ms) {
            bail!("server.heartbeat_ms must be within 50..=60000");
        }
        if file.server.resume_window_ms > resume::MAX_WINDOW_MS {
            bail!(
                "server.resume_window_ms must be within 0..={}",
                resume::MAX_WINDOW_MS
            );
        }
        for admin in &file.admin.accounts {
            password::validate_hash(&admin.password_hash)
                .with_context(|| format!("admin account {:?}", admin.username))?;
        }
        let (accounts, rooms) = directory(file.accounts, file.rooms)?;
        Ok(Config {
            server_name: file.server.name,
            heartbeat_ms: file.server.heartbeat_ms,
            max_connections: file.server.max_connections.max(1),
            resume_window_ms: file.server.resume_window_ms,
            accounts,
            rooms,
            admin: file.admin,
            tls: file.tls,
            login: file.login,
            cluster: file.cluster,
        })
    }

    /// This configuration with other accounts and rooms (a fleet's shared ones,
    /// docs/CLUSTER.md), validated as a file's are.
    pub fn with_directory(
        &self,
        accounts: Vec<AccountEntry>,
        rooms: Vec<RoomEntry>,
    ) -> anyhow::Result<Config> {
        let (accounts, rooms) = directory(accounts, rooms)?;
        Ok(Config {
            accounts,
            rooms,
            ..self.clone()
        })
    }

    /// The built-in demo: room 1001 "Demo Classroom" (16 users), `teacher` (chair) and
    /// `class1`..`class8`, each with its username as password (cheap hashes: loopback only).
    pub fn demo() -> anyhow::Result<Config> {
        let names =
            std::iter::once("teacher".to_string()).chain((1..=8).map(|i| format!("class{i}")));
        let mut accounts = Vec::new();
        for (index, name) in names.enumerate() {
            accounts.push(Account {
                id: FIRST_ASSIGNED_USER_ID + index as u32,
                nickname: name.clone(),
                password_hash: password::scram_verifier(&name, scram::MIN_ITERATIONS),
                chair: index == 0,
                username: name,
            });
        }
        Ok(Config {
            server_name: "conference-mcu demo".into(),
            heartbeat_ms: 1000,
            max_connections: 1000,
            resume_window_ms: resume::DEFAULT_WINDOW_MS,
            accounts,
            rooms: vec![RoomSpec {
                id: 1001,
                name: "Demo Classroom".into(),
                creator_id: FIRST_ASSIGNED_USER_ID,
                start_time: 0,
                end_time: 0,
                max_users: 16,
            }],
            admin: AdminSection::default(),
            tls: TlsSection::default(),
            login: LoginSection::default(),
            cluster: Default::default(),
        })
    }
}

/// Validates accounts and rooms together (a room's creator must be an account) and numbers
/// the accounts without a fixed id.
fn directory(
    account_entries: Vec<AccountEntry>,
    room_entries: Vec<RoomEntry>,
) -> anyhow::Result<(Vec<Account>, Vec<RoomSpec>)> {
    let accounts = accounts(account_entries)?;
    let by_name: HashMap<&str, u32> = accounts
        .iter()
        .map(|a| (a.username.as_str(), a.id))
        .collect();
    let mut rooms = Vec::with_capacity(room_entries.len());
    let mut room_ids = HashSet::new();
    for room in room_entries {
        if room.id == 0 || room.id > i32::MAX as u32 {
            bail!("room id {} must be within 1..=2147483647", room.id);
        }
        if !room_ids.insert(room.id) {
            bail!("room id {} is used twice", room.id);
        }
        let Some(&creator_id) = by_name.get(room.creator.as_str()) else {
            bail!(
                "room {}: creator {:?} is not an account",
                room.id,
                room.creator
            );
        };
        if room.max_users == 0 || room.max_users > MAX_ROOM_USERS {
            bail!(
                "room {}: max_users must be within 1..={MAX_ROOM_USERS}",
                room.id
            );
        }
        let start_time = room.start_time.as_ref().map(TimeValue::unix).transpose()?;
        let end_time = room.end_time.as_ref().map(TimeValue::unix).transpose()?;
        if let (Some(start), Some(end)) = (start_time, end_time)
            && end <= start
        {
            bail!("room {}: end_time is not after start_time", room.id);
        }
        rooms.push(RoomSpec {
            id: room.id,
            name: room.name,
            creator_id,
            start_time: start_time.unwrap_or(0),
            end_time: end_time.unwrap_or(0),
            max_users: room.max_users,
        });
    }
    Ok((accounts, rooms))
}

fn accounts(entries: Vec<AccountEntry>) -> anyhow::Result<Vec<Account>> {
    let mut taken: HashSet<u32> = HashSet::new();
    for entry in &entries {
        if let Some(id) = entry.id {
            if id == 0 || id > i32::MAX as u32 {
                bail!(
                    "account {:?}: id must be within 1..=2147483647",
                    entry.username
                );
            }
            if !taken.insert(id) {
                bail!("user id {id} is used twice");
            }
        }
    }
    let mut names = HashSet::new();
    let mut next = FIRST_ASSIGNED_USER_ID;
    let mut accounts = Vec::with_capacity(entries.len());
    for entry in entries {
        if entry.username.is_empty() || entry.username.len() > 31 {
            bail!(
                "account {:?}: username must be 1..=31 bytes",
                entry.username
            );
        }
        if !names.insert(entry.username.clone()) {
            bail!("username {:?} is used twice", entry.username);
        }
        password::validate_hash(&entry.password_hash)
            .with_context(|| format!("account {:?}: password_hash", entry.username))?;
        let id = match entry.id {
            Some(id) => id,
            None => {
                while taken.contains(&next) {
                    next += 1;
                }
                taken.insert(next);
                next
            }
        };
        accounts.push(Account {
            id,
            nickname: entry.nickname.unwrap_or_else(|| entry.username.clone()),
            username: entry.username,
            password_hash: entry.password_hash,
            chair: entry.chair,
        });
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash() -> String {
        password::scram_verifier("x", scram::MIN_ITERATIONS)
    }

    #[test]
    fn parses_accounts_rooms_and_times() {
        let text = format!(
            r#"
            [server]
            name = "campus"
            [[account]]
            username = "t"
            password_hash = "{h}"
            chair = true
            [[account]]
            username = "s"
            nickname = "Student"
            password_hash = "{h}"
            id = 10001
            [[room]]
            id = 7
            name = "R"
            creator = "t"
            max_users = 3
            start_time = 1970-01-02T00:00:00Z
            end_time = 200000
            "#,
            h = hash()
        );
        let config = Config::parse(&text).unwrap();
        assert_eq!(config.server_name, "campus");
        assert_eq!(config.accounts[0].id, 10_002, "explicit ids are skipped");
        assert_eq!(config.accounts[1].id, 10_001);
        assert_eq!(config.accounts[1].nickname, "Student");
        assert_eq!(config.accounts[0].nickname, "t");
        assert_eq!(config.rooms[0].creator_id, 10_002);
        assert_eq!(config.rooms[0].start_time, 86_400);
        assert_eq!(config.rooms[0].end_time, 200_000);
        assert!(config.warnings().is_empty(), "{:?}", config.warnings());
    }

    #[test]
    fn warns_for_ids_a_position_could_name() {
        let text = format!(
            r#"
            [[account]]
            username = "t"
            password_hash = "{h}"
            id = 5
            [[account]]
            username = "s"
            password_hash = "{h}"
            [[room]]
            id = 1
            name = "First"
            creator = "t"
            max_users = 3
            [[room]]
            id = 9
            name = "Second"
            creator = "t"
            max_users = 3
            "#,
            h = hash()
        );
        let config = Config::parse(&text).unwrap();
        let warnings = config.warnings();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("room 1 \"First\""), "{warnings:?}");
        assert!(warnings[1].contains("account \"t\": id 5"), "{warnings:?}");
        assert_eq!(config.accounts[1].id, 10_001);
    }

    #[test]
    fn refuses_inconsistent_files() {
        let h = hash();
        for bad in [
            "[[account]]\nusername = \"a\"\npassword_hash = \"plain\"".to_string(),
            format!(
                "[[account]]\nusername = \"a\"\npassword_hash = \"{h}\"\n[[account]]\nusername = \"a\"\npassword_hash = \"{h}\""
            ),
            "[[room]]\nid = 1\nname = \"r\"\ncreator = \"nobody\"\nmax_users = 2".to_string(),
            format!(
                "[[account]]\nusername = \"a\"\npassword_hash = \"{h}\"\n[[room]]\nid = 1\nname = \"r\"\ncreator = \"a\"\nmax_users = 0"
            ),
            "[server]\nunknown = 1".to_string(),
        ] {
            assert!(Config::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn civil_dates_convert() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        let dt: toml::value::Datetime = "2025-09-01T08:00:00+08:00".parse().unwrap();
        assert_eq!(datetime_to_unix(&dt).unwrap(), 1_756_684_800);
    }

    #[test]
    fn demo_has_the_documented_accounts() {
        let demo = Config::demo().unwrap();
        assert_eq!(demo.accounts.len(), 9);
        assert!(demo.accounts[0].chair);
        assert_eq!(demo.accounts[8].username, "class8");
        assert!(password::verify_password(
            "class8",
            &demo.accounts[8].password_hash
        ));
        assert_eq!(demo.rooms[0].id, 1001);
        assert_eq!(demo.accounts[0].id, FIRST_ASSIGNED_USER_ID);
        assert!(demo.warnings().is_empty());
    }
}

#[cfg(test)]
mod tls_section {
    #[test]
    fn tls_keys_and_their_aliases() {
        for text in [
            "[tls]\ncertificate = \"c.pem\"\nprivate_key = \"k.pem\"\nrequire = true",
            "[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\nrequire_tls = true",
        ] {
            let config = super::Config::parse(text).unwrap();
            assert_eq!(config.tls.certificate.as_deref(), Some("c.pem".as_ref()));
            assert_eq!(config.tls.private_key.as_deref(), Some("k.pem".as_ref()));
            assert!(config.tls.require);
        }
        assert!(super::Config::parse("[tls]\nrequire_tsl = true").is_err());
    }
}

#[cfg(test)]
mod example {
    #[test]
    fn the_shipped_example_is_valid() {
        let config =
            super::Config::parse(include_str!("../../../config/mcu.example.toml")).unwrap();
        assert_eq!(config.accounts.len(), 2);
        assert_eq!(config.accounts[1].id, 10_101);
        assert!(config.warnings().is_empty(), "{:?}", config.warnings());
        assert!(config.rooms[1].start_time > 0);
    }
}
