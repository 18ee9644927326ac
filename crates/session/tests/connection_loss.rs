//! Connection loss beyond what a resume or a rejoin can mend (docs/PROTOCOL.md §8): the MCU
//! killed, stalled (heartbeat) or stopped for longer than its resume window, or the account
//! logged in elsewhere. USER_CLOSE says why, the session is idle again, and `connect` works.
//! An MCU restarted within the window gets its clients back in their rooms, roles claimed
//! again, with nothing but the differences reported.

mod common;

use std::time::Duration;

use common::{Client, user_id};
use conference_session::{ErrorCode, MediaType, SdkConfig, StateId};
use conference_testkit::{McuProcess, TestConfig};

/// The MCU's resume window in these tests: the SDK gives up this long after a cut.
const WINDOW_MS: u32 = 1000;

fn config() -> TestConfig {
    TestConfig::demo().resume_window_ms(WINDOW_MS)
}

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
    let config = config().to_toml();
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
    let mcu = McuProcess::spawn(Some(&config().heartbeat_ms(100).to_toml()));
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
    let mut mcu = McuProcess::spawn(Some(&config().to_toml()));
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

/// `kill -9` in the middle of a lesson, the same MCU started again on its port: every client
/// is back in the room with its role, hand, aux slot and subscriptions, and has been told
/// nothing but what changed.
#[test]
fn a_restarted_mcu_gets_its_clients_back_in_their_room() {
    let config = TestConfig::demo().resume_window_ms(30_000).to_toml();
    let mcu = McuProcess::spawn(Some(&config));
    let addr = mcu.addr;
    let teacher = Client::join(&mcu, "teacher", SdkConfig::default());
    let class1 = Client::join(&mcu, "class1", SdkConfig::default());
    let (teacher_id, class1_id) = (teacher.own_id(), class1.own_id());
    teacher
        .log
        .wait_state(StateId::UserEnter, |s| user_id(s) == Some(class1_id));
    teacher.sdk.apply_master(true).unwrap();
    class1.sdk.apply_talk(true).unwrap();
    class1.sdk.apply_aux(true).unwrap();
    teacher
        .sdk
        .recv_stream(class1_id, MediaType::VideoMinor, true)
        .unwrap();
    let marks = (teacher.log.mark(), class1.log.mark());
    drop(mcu); // SIGKILL
    std::thread::sleep(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let _mcu = McuProcess::restart_at(addr, &config);
    // Back: the teacher is master again, class1's hand and aux slot are claimed again.
    let deadline = started + Duration::from_secs(10);
    loop {
        let done = teacher.sdk.user_count() == Ok(2)
            && class1.sdk.user_count() == Ok(2)
            && teacher.user(teacher_id).is_master
            && class1.user(class1_id).audio_state == 1
            && class1.user(class1_id).aux_slots == 1
            && teacher.user(class1_id).audio_state == 1;
        if done {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not back in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "back in the room {:?} after the new MCU started",
        started.elapsed()
    );
    for (client, mark) in [(&teacher, marks.0), (&class1, marks.1)] {
        let states: Vec<StateId> = client
            .log
            .states_since(mark)
            .iter()
            .map(|s| s.state)
            .collect();
        for never in [
            StateId::UserClose,
            StateId::RoomExit,
            StateId::LoginRoom,
            StateId::LoginMcu,
        ] {
            assert!(!states.contains(&never), "{never:?} in {states:?}");
        }
    }
    // The rejoin subscribed again: class1's aux stream reaches the teacher.
    let media = conference_session::MediaHeader {
        key_frame: 1,
        frame_seq: 3,
        ..Default::default()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while teacher.log.media().is_empty() {
        class1
            .sdk
            .send_stream(media, b"worksheet", MediaType::VideoMinor)
            .unwrap();
        assert!(
            std::time::Instant::now() < deadline,
            "no media after the rejoin"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A rejoin the room refuses (it is gone from the new MCU's configuration) ends the session
/// with that reason.
#[test]
fn a_rejoin_the_room_refuses_ends_the_session_with_its_reason() {
    let mcu = McuProcess::spawn(Some(&TestConfig::demo().resume_window_ms(30_000).to_toml()));
    let addr = mcu.addr;
    let client = Client::join(&mcu, "class7", SdkConfig::default());
    drop(mcu);
    let without_the_room = TestConfig::demo()
        .room(1002, "Other", "teacher", 4)
        .resume_window_ms(30_000);
    let mut config = without_the_room.clone();
    config.rooms.retain(|r| r.id == 1002);
    let _mcu = McuProcess::restart_at(addr, &config.to_toml());
    let close = client.log.wait_state(StateId::UserClose, |_| true);
    assert_eq!(close.result, Err(ErrorCode::RoomUnexist));
    let exit = client.log.wait_state(StateId::RoomExit, |_| true);
    assert_eq!(exit.result, Err(ErrorCode::RoomUnexist));
    assert_idle(&client);
}
