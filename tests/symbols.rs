//! The built `libconference_sdk.so`: its dynamic symbols and its soname.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

/// The document's 29 functions.
const API: [&str; 29] = [
    "init",
    "uninit",
    "connect_MCU",
    "disconnect_MCU",
    "get_conference_room_count",
    "get_conference_room_info",
    "login_conference_room",
    "logout_conference_room",
    "kickout_conference_room",
    "invite",
    "ctrl_user_invite",
    "get_own_user_info",
    "get_user_count",
    "get_user_info",
    "send_chat",
    "apply_for_master",
    "apply_for_talk",
    "apply_for_aux",
    "ctrl_user_talk_apply",
    "auth_audio",
    "auth_video",
    "check_user_video",
    "check_user_audio",
    "bcast_user_video",
    "bcast_user_audio",
    "set_interact",
    "send_stream",
    "recv_stream",
    "send_transparent_data",
];

/// Prefixed additions to the document's API that must be exported.
const ADDITIONS: [&str; 4] = [
    "conference_sdk_version",
    "conference_set_log",
    "conference_get_stats",
    "conference_set_tls",
];

#[test]
fn exports_exactly_the_api_plus_prefixed_additions() {
    let library = common::shared_library();
    let output = common::run(
        Command::new("nm")
            .args(["-D", "--defined-only"])
            .arg(&library),
    );
    let exported: BTreeSet<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_, kind, name) = (fields.next()?, fields.next()?, fields.next()?);
            Some((kind.to_owned(), name.to_owned()))
        })
        .map(|(kind, name)| {
            assert!(
                kind == "T",
                "{name} is exported as `{kind}`, not as a function"
            );
            name
        })
        .collect();
    for name in API.iter().chain(&ADDITIONS) {
        assert!(exported.contains(*name), "{name} is not exported");
    }
    let extra: Vec<_> = exported
        .iter()
        .filter(|name| !API.contains(&name.as_str()) && !name.starts_with("conference_"))
        .collect();
    assert!(extra.is_empty(), "unexpected exports: {extra:?}");
}

#[test]
fn soname_is_libconference_sdk_so() {
    let library = common::shared_library();
    let output = common::run(Command::new("readelf").arg("-d").arg(&library));
    let dynamic = String::from_utf8_lossy(&output.stdout);
    let soname = dynamic
        .lines()
        .find(|line| line.contains("(SONAME)"))
        .unwrap_or_else(|| panic!("no SONAME in {}", library.display()));
    assert!(
        soname.contains("Library soname: [libconference_sdk.so]"),
        "{soname}"
    );
}
