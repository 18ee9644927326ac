//! Account and room names of a load run, and the MCU configuration that holds them.
//!
//! Classroom room `r` (0-based) is room id `1001 + r` with master `m{r}` and listeners
//! `l{r}_{i}` (i = 1..L); the join storm uses room 9001 and users `u{i}`. Every account has
//! the same password; one SCRAM verifier at RFC 7677's minimum of 4,096 iterations serves
//! them all (the MCU's side of a SCRAM login is a few HMACs; each client computes the
//! PBKDF2), so the figures are about media and rooms, not password hashing.

use conference_mcu::config::{
    AccountEntry, GeneratedConfig, MAX_ROOM_USERS, RoomEntry, ServerSection,
};
use conference_mcu::password;
use conference_proto::scram;

pub const DEFAULT_PASSWORD: &str = "loadgen";
pub const JOIN_ROOM: u32 = 9001;

pub fn classroom_room(r: u32) -> u32 {
    1001 + r
}

pub fn master_name(r: u32) -> String {
    format!("m{r}")
}

/// `i` is 1-based.
pub fn listener_name(r: u32, i: u32) -> String {
    format!("l{r}_{i}")
}

/// `i` is 1-based.
pub fn join_user_name(i: u32) -> String {
    format!("u{i}")
}

/// A configuration with `rooms` classrooms of `listeners` listeners each and a join room
/// with `join_users` accounts. Rooms take up to the MCU's maximum of users.
pub fn mcu_config(
    rooms: u32,
    listeners: u32,
    join_users: u32,
    password: &str,
) -> anyhow::Result<String> {
    let hash = password::scram_verifier(password, scram::MIN_ITERATIONS);
    let account = |username: String| AccountEntry {
        username,
        nickname: None,
        password_hash: hash.clone(),
        chair: false,
        id: None,
    };
    let room = |id: u32, name: String, creator: String| RoomEntry {
        id,
        name,
        creator,
        max_users: MAX_ROOM_USERS,
        start_time: None,
        end_time: None,
    };
    let mut file = GeneratedConfig {
        server: ServerSection {
            name: "conference-loadgen".into(),
            ..ServerSection::default()
        },
        ..GeneratedConfig::default()
    };
    for r in 0..rooms {
        file.accounts.push(account(master_name(r)));
        for i in 1..=listeners {
            file.accounts.push(account(listener_name(r, i)));
        }
    }
    for i in 1..=join_users {
        file.accounts.push(account(join_user_name(i)));
    }
    let creator = if rooms > 0 {
        master_name(0)
    } else {
        join_user_name(1)
    };
    for r in 0..rooms {
        file.rooms.push(room(
            classroom_room(r),
            format!("classroom {r}"),
            master_name(r),
        ));
    }
    if join_users > 0 {
        file.rooms
            .push(room(JOIN_ROOM, "join storm".into(), creator));
    }
    Ok(file.to_toml())
}

#[cfg(test)]
mod tests {
    use super::*;
    use conference_mcu::config::Config;

    #[test]
    fn the_generated_configuration_is_valid() {
        let text = mcu_config(2, 3, 4, DEFAULT_PASSWORD).unwrap();
        let config = Config::parse(&text).unwrap();
        assert_eq!(config.accounts.len(), 2 * 4 + 4);
        assert_eq!(config.rooms.len(), 3);
        assert!(config.rooms.iter().any(|r| r.id == JOIN_ROOM));
        assert_eq!(config.accounts[4].username, "m1");
        assert!(password::verify_password(
            DEFAULT_PASSWORD,
            &config.accounts[0].password_hash
        ));
    }
}
