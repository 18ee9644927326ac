//! Shared setup of the end-to-end tests: the real `conference-mcu` process and protocol-level
//! clients from `conference-testkit`.
//!
//! Several test binaries share this module and not all of them use every item: those
//! carry `#[allow(dead_code)]` one by one (an item no binary uses is removed).

use std::time::Duration;

use conference_proto::pb::{self, client_message::Body};
use conference_testkit::client::TestClient;
use conference_testkit::{McuProcess, SpawnOptions, TestConfig};

pub const ROOM: u32 = 1001;
#[allow(dead_code)]
pub const QUIET: Duration = Duration::from_millis(300);

/// The demo accounts (teacher = 1 chair, class1..class8 = 2..9) from a config file.
/// The demo's accounts with the small ids of an older configuration file (teacher 1,
/// class1..class8 2..9): the wire tests name users by these ids, and run the configured-id
/// path (assigned ids from 10001 are covered by the SDK and harness tests).
#[allow(dead_code)]
pub fn demo_config() -> TestConfig {
    TestConfig::demo().with_ids_from(1)
}

#[allow(dead_code)]
pub fn mcu() -> McuProcess {
    McuProcess::spawn(Some(&demo_config().to_toml()))
}

#[allow(dead_code)]
pub fn mcu_with(config: &TestConfig, args: &[&str], env: &[(&str, &str)]) -> McuProcess {
    McuProcess::spawn_with(SpawnOptions {
        config: Some(config.to_toml()),
        args: args.iter().map(|a| a.to_string()).collect(),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        binary: Some(env!("CARGO_BIN_EXE_conference-mcu").into()),
        ..SpawnOptions::default()
    })
}

/// Logs `name` (password = name) in and joins the demo room.
pub fn enter(mcu: &McuProcess, name: &str) -> TestClient {
    TestClient::join(mcu.addr, name, name, ROOM).0
}

#[allow(dead_code)]
pub fn code(err: conference_proto::ErrorCode) -> u32 {
    err.code()
}

#[allow(dead_code)]
pub fn bcast_video(user_id: u32) -> Body {
    Body::Bcast(pb::Bcast {
        kind: pb::MediaKind::Video as i32,
        user_id,
        on: true,
    })
}

#[allow(dead_code)]
pub fn subscribe(user_id: u32, media_type: conference_proto::MediaType, on: bool) -> Body {
    Body::Subscribe(pb::Subscribe {
        user_id,
        media_type: media_type as u32,
        on,
    })
}
