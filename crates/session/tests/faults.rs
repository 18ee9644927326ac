//! The SDK behind a fault-injecting proxy (testkit's `FaultProxy`; this machine has no
//! `netem`), against the real MCU: how fast a broken link is noticed. With resume off
//! (`Tuning::resume`, `CONFERENCE_SDK_RESUME=off`) a black hole, a stalled downlink, a reset
//! and a half-close each end the session with one `USER_CLOSE(NetworkException)`: the
//! detection the resume (tests/resume.rs) starts from. A cut at any byte of the login fails
//! `connect` cleanly with `CONNECT_MCU_FAILED`; delay, jitter and a bandwidth cap slow a
//! lesson down without breaking it.

mod common;

use std::time::{Duration, Instant};

use common::Client;
use conference_session::{ErrorCode, SdkConfig, StateId};
use conference_testkit::proxy::{Fault, FaultProxy};
use conference_testkit::{McuProcess, TestConfig};

/// Heartbeat of the MCU in these tests: a dead link is declared after 3 of them.
const HEARTBEAT_MS: u32 = 100;

fn mcu() -> McuProcess {
    McuProcess::spawn(Some(
        &TestConfig::demo().heartbeat_ms(HEARTBEAT_MS).to_toml(),
    ))
}

/// A client in room 1001 through `proxy`, without resume.
fn join(proxy: &FaultProxy, name: &str) -> Client {
    let client = Client::start_without_resume(SdkConfig::default());
    client
        .sdk
        .connect("127.0.0.1", proxy.addr.port(), name, name)
        .unwrap_or_else(|e| panic!("connect {name}: {e:?}"));
    client.sdk.login_room(1001).expect("join the room");
    client
}

/// Applies `fault` and returns how long the SDK took to report the loss.
fn loss_after(client: &Client, apply: impl FnOnce()) -> Duration {
    let start = Instant::now();
    apply();
    let close = client.log.wait_state(StateId::UserClose, |_| true);
    assert_eq!(close.result, Err(ErrorCode::NetworkException));
    assert_eq!(client.log.count_state(StateId::UserClose), 1);
    assert!(
        client.log.count_state(StateId::RoomExit) >= 1,
        "the room is left"
    );
    start.elapsed()
}

#[test]
fn silent_links_are_declared_dead_after_three_heartbeats() {
    let mcu = mcu();
    for fault in [Fault::BlackHole, Fault::StallDown] {
        let proxy = FaultProxy::start(mcu.addr);
        let client = join(&proxy, "class1");
        // Alive across many heartbeats first.
        std::thread::sleep(Duration::from_millis(5 * u64::from(HEARTBEAT_MS)));
        assert_eq!(client.log.count_state(StateId::UserClose), 0);
        let took = loss_after(&client, || proxy.set(fault));
        eprintln!("{fault:?}: USER_CLOSE after {took:?} (heartbeat {HEARTBEAT_MS} ms)");
        // Detection waits for 3 heartbeats of silence since the last byte, which came at
        // most one heartbeat before the fault: never sooner than 2 after it.
        assert!(
            took >= Duration::from_millis(2 * u64::from(HEARTBEAT_MS) - 10),
            "{took:?}"
        );
        // The link back: a new session works.
        proxy.set(Fault::None);
        assert_eq!(
            client
                .sdk
                .connect("127.0.0.1", proxy.addr.port(), "class1", "class1"),
            Ok(())
        );
        client.sdk.disconnect().unwrap();
    }
}

#[test]
fn a_reset_or_a_half_close_ends_the_session_at_once() {
    let mcu = mcu();
    for reset in [true, false] {
        let proxy = FaultProxy::start(mcu.addr);
        let client = join(&proxy, "class2");
        let took = loss_after(&client, || {
            if reset {
                proxy.reset()
            } else {
                proxy.half_close()
            }
        });
        eprintln!(
            "{}: USER_CLOSE after {took:?}",
            if reset { "reset" } else { "half-close" }
        );
    }
}

#[test]
fn a_cut_at_any_byte_of_the_login_fails_connect_cleanly() {
    let mcu = mcu();
    let proxy = FaultProxy::start(mcu.addr);
    let client = Client::start(SdkConfig::default());
    // The client's login (TLS attempt refused by this TLS-less MCU, then Hello and
    // Authenticate) is a few hundred bytes: cut after each of them.
    let mut failures = 0;
    let mut offset = 0u64;
    loop {
        proxy.cut_up_at(Some(offset));
        let mark = client.log.mark();
        match client
            .sdk
            .connect("127.0.0.1", proxy.addr.port(), "class3", "class3")
        {
            Ok(()) => break,
            Err(code) => {
                failures += 1;
                let failed = client
                    .log
                    .wait_state_since(mark, StateId::ConnectMcuFailed, |_| true);
                assert_eq!(failed.result, Err(code), "cut at byte {offset}");
                assert!(
                    matches!(
                        code,
                        ErrorCode::SockRecvErr
                            | ErrorCode::SockSendErr
                            | ErrorCode::NetworkException
                    ),
                    "cut at byte {offset}: {code:?}"
                );
            }
        }
        offset += 1;
        assert!(offset < 4096, "a login never needs this many bytes");
    }
    eprintln!("login cut at each of its first {offset} bytes: {failures} clean failures");
    assert!(failures > 100, "the sweep covered the whole login");
    // The one login that went through (its event comes from the dispatcher thread).
    client.log.wait_state(StateId::LoginMcu, |_| true);
    assert_eq!(client.log.count_state(StateId::LoginMcu), 1);
    client.sdk.disconnect().unwrap();
}

#[test]
fn delay_jitter_and_a_bandwidth_cap_slow_a_lesson_without_breaking_it() {
    let mcu = mcu();
    let proxy = FaultProxy::start(mcu.addr);
    proxy.set_delay(Duration::from_millis(30), Duration::from_millis(20));
    proxy.set_bandwidth(Some(256 * 1024));
    let teacher = join(&proxy, "teacher");
    let class4 = join(&proxy, "class4");
    teacher.log.wait_state(StateId::UserEnter, |s| {
        s.user.as_ref().is_some_and(|u| u.id == class4.own_id())
    });
    assert_eq!(class4.sdk.apply_talk(true), Ok(()));
    assert_eq!(teacher.sdk.ctrl_talk(class4.own_id(), true), Ok(()));
    assert_eq!(teacher.sdk.send_chat(0, 0, b"through a slow link"), Ok(()));
    class4.log.wait_state(StateId::UserChat, |_| true);
    // Several heartbeats of 30-50 ms delay: no false loss.
    std::thread::sleep(Duration::from_millis(10 * u64::from(HEARTBEAT_MS)));
    assert_eq!(teacher.log.count_state(StateId::UserClose), 0);
    assert_eq!(class4.log.count_state(StateId::UserClose), 0);
}
