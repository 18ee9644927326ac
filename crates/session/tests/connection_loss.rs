//! Connection loss: the MCU killed, stalled (heartbeat), stopped, or the account logged in
//! elsewhere. USER_CLOSE says why, the session is idle again, and `connect` works.

mod common;

use std::time::Duration;

use common::Client;
use conference_session::{ErrorCode, SdkConfig, StateId};
use conference_testkit::{McuProcess, TestConfig};

fn signal(mcu: &McuProcess, sig: libc::c_int) {
    // SAFETY: kill(2) on our own child process.
    let rc = unsafe { libc::kill(mcu.pid() as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill({sig})");
}

fn assert_idle(client: &Client) {
    assert_eq!(client.sdk.room_count(), Err(ErrorCode::NotLoginErr));
    assert_eq!(client.sdk.user_count(), Err(ErrorCode::NotLoginErr));
    assert_eq!(client.sdk.own_user(), Err(ErrorCode::NotLoginErr));
    assert_eq!(
        client.sdk.send_chat(0, 0, b"x"),
        Err(ErrorCode::NotLoginErr)
    );
    assert_eq!(client.sdk.disconnect(), Err(ErrorCode::NotLoginErr));
}

#[test]
fn a_killed_mcu_fires_user_close_and_a_new_mcu_can_be_used() {
    let config = TestConfig::demo().to_toml();
    let mcu = McuProcess::spawn(Some(&config));
    let client = Client::join(&mcu, "class3", SdkConfig::default());
    drop(mcu); // SIGKILL
    let close = client.log.wait_state(StateId::UserClose, |_| true);
    assert_eq!(close.result, Err(ErrorCode::NetworkException));
    assert!(close.user.is_none());
    assert_idle(&client);
    let mcu = McuProcess::spawn(Some(&config));
    assert_eq!(
        client
            .sdk
            .connect("127.0.0.1", mcu.addr.port(), "class3", "class3"),
        Ok(())
    );
    assert_eq!(client.sdk.login_room(1001), Ok(()));
    assert_eq!(client.sdk.user_count(), Ok(1));
    assert_eq!(client.log.count_state(StateId::UserClose), 1);
}

#[test]
fn a_silent_mcu_is_declared_dead_after_three_heartbeats() {
    let mcu = McuProcess::spawn(Some(&TestConfig::demo().heartbeat_ms(100).to_toml()));
    let client = Client::join(&mcu, "class4", SdkConfig::default());
    // Pings answered: the connection lives across many heartbeats.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(client.sdk.user_count(), Ok(1));
    assert_eq!(client.log.count_state(StateId::UserClose), 0);
    signal(&mcu, libc::SIGSTOP);
    let close = client.log.wait_state(StateId::UserClose, |_| true);
    signal(&mcu, libc::SIGCONT);
    assert_eq!(close.result, Err(ErrorCode::NetworkException));
    assert_idle(&client);
    assert_eq!(
        client
            .sdk
            .connect("127.0.0.1", mcu.addr.port(), "class4", "class4"),
        Ok(())
    );
}

#[test]
fn a_stopping_mcu_says_why() {
    let mut mcu = McuProcess::spawn(Some(&TestConfig::demo().to_toml()));
    let client = Client::join(&mcu, "class5", SdkConfig::default());
    assert!(
        mcu.terminate(Duration::from_secs(10)).is_some(),
        "MCU did not stop"
    );
    let exit = client.log.wait_state(StateId::RoomExit, |_| true);
    assert_eq!(exit.result, Err(ErrorCode::ServerStoped));
    let close = client.log.wait_state(StateId::UserClose, |_| true);
    assert_eq!(close.result, Err(ErrorCode::ServerStoped));
    assert_idle(&client);
}

#[test]
fn a_login_elsewhere_closes_the_old_session() {
    let mcu = McuProcess::spawn(Some(&TestConfig::demo().to_toml()));
    let old = Client::join(&mcu, "class6", SdkConfig::default());
    let new = Client::join(&mcu, "class6", SdkConfig::default());
    let exit = old.log.wait_state(StateId::RoomExit, |_| true);
    assert_eq!(exit.result, Err(ErrorCode::ReloginedErr));
    let close = old.log.wait_state(StateId::UserClose, |_| true);
    assert_eq!(close.result, Err(ErrorCode::ReloginedErr));
    assert_idle(&old);
    assert_eq!(new.sdk.user_count(), Ok(1));
}
