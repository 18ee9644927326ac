//! `connect` / `disconnect` / room list / state rules against the real MCU process.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::{Client, is_none};
use conference_session::{ErrorCode, EventExtra, SdkConfig, StateId};
use conference_testkit::{McuProcess, TestConfig};

fn demo_mcu() -> McuProcess {
    McuProcess::spawn(Some(&TestConfig::demo().to_toml()))
}

fn signal(mcu: &McuProcess, sig: libc::c_int) {
    // SAFETY: kill(2) on our own child process.
    let rc = unsafe { libc::kill(mcu.pid() as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill({sig})");
}

#[test]
fn connect_serves_the_room_list_and_fires_login_mcu() {
    let mcu = demo_mcu();
    let client = Client::start(SdkConfig::default());
    let port = mcu.addr.port();
    assert_eq!(client.sdk.room_count(), Err(ErrorCode::NotLoginErr));
    assert_eq!(
        client.sdk.connect("127.0.0.1", port, "class1", "class1"),
        Ok(())
    );

    let event = client.log.wait_state(StateId::LoginMcu, |_| true);
    assert_eq!(event.result, Ok(()));
    assert_eq!(event.user, None);
    assert_eq!(event.extra, EventExtra::RoomCount(1));

    assert_eq!(client.sdk.room_count(), Ok(1));
    let room = client.sdk.room_info(0).expect("room 0");
    assert_eq!(
        (room.id, room.name.as_str(), room.max_users, room.cur_users),
        (1001, "Demo Classroom", 16, 0)
    );
    assert_eq!(client.sdk.room_info(1), Err(ErrorCode::ParamErr));
    let own = client.sdk.own_user().expect("own user after connect");
    assert_eq!((own.id, own.username.as_str()), (10_002, "class1"));
    // Room calls need a room.
    assert_eq!(client.sdk.user_count(), Err(ErrorCode::NotLoginErr));
    assert_eq!(
        client.sdk.send_chat(0, 0, b"hi"),
        Err(ErrorCode::NotLoginErr)
    );
    assert_eq!(client.sdk.apply_master(true), Err(ErrorCode::NotLoginErr));
    assert_eq!(client.sdk.logout_room(), Err(ErrorCode::NotLoginErr));

    // A second connect while connected.
    assert_eq!(
        client.sdk.connect("127.0.0.1", port, "class1", "class1"),
        Err(ErrorCode::ReloginedErr)
    );
    assert_eq!(client.log.count_state(StateId::ConnectMcuFailed), 0);

    assert_eq!(client.sdk.disconnect(), Ok(()));
    assert_eq!(client.sdk.disconnect(), Err(ErrorCode::NotLoginErr));
    assert_eq!(client.sdk.room_count(), Err(ErrorCode::NotLoginErr));
    // And again: the library stays usable.
    assert_eq!(
        client.sdk.connect("localhost", port, "class1", "class1"),
        Ok(())
    );
    assert_eq!(client.sdk.room_count(), Ok(1));
    client.sdk.shutdown();
    assert_eq!(client.sdk.room_count(), Err(ErrorCode::InitErr));
    assert_eq!(
        client.sdk.connect("127.0.0.1", port, "class1", "class1"),
        Err(ErrorCode::InitErr)
    );
    // disconnect fires nothing.
    assert_eq!(client.log.count_state(StateId::UserClose), 0);
}

#[test]
fn a_wrong_password_returns_the_mcu_code_and_fires_connect_failed() {
    let mcu = demo_mcu();
    let client = Client::start(SdkConfig::default());
    assert_eq!(
        client
            .sdk
            .connect("127.0.0.1", mcu.addr.port(), "class1", "wrong"),
        Err(ErrorCode::UserPasswordErr)
    );
    let event = client.log.wait_state(StateId::ConnectMcuFailed, |_| true);
    assert_eq!(event.result, Err(ErrorCode::UserPasswordErr));
    assert!(event.user.is_none() && is_none(&event.extra));
    assert_eq!(client.sdk.room_count(), Err(ErrorCode::NotLoginErr));
    assert_eq!(
        client
            .sdk
            .connect("127.0.0.1", mcu.addr.port(), "nobody", "x"),
        Err(ErrorCode::UserPasswordErr)
    );
    // A failed attempt leaves the session idle: the right password works.
    assert_eq!(
        client
            .sdk
            .connect("127.0.0.1", mcu.addr.port(), "class1", "class1"),
        Ok(())
    );
    // Events keep their order: both failures were delivered before LOGIN_MCU.
    client.log.wait_state(StateId::LoginMcu, |_| true);
    assert_eq!(client.log.count_state(StateId::ConnectMcuFailed), 2);
}

#[test]
fn unreachable_ports_and_bad_addresses_map_to_their_codes() {
    let free_port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let client = Client::start(SdkConfig::default());
    assert_eq!(
        client.sdk.connect("127.0.0.1", free_port, "a", "b"),
        Err(ErrorCode::SockCnntErr)
    );
    assert_eq!(
        client.sdk.connect("not a host!", 6870, "a", "b"),
        Err(ErrorCode::AddrErr)
    );
    assert_eq!(
        client.sdk.connect("", 6870, "a", "b"),
        Err(ErrorCode::AddrErr)
    );
    assert_eq!(
        client.sdk.connect("127.0.0.1", 0, "a", "b"),
        Err(ErrorCode::PortErr)
    );
    // Events are delivered asynchronously: wait for the last one.
    client.log.wait_state(StateId::ConnectMcuFailed, |s| {
        s.result == Err(ErrorCode::PortErr)
    });
    let results: Vec<_> = client
        .log
        .states()
        .iter()
        .filter(|s| s.state == StateId::ConnectMcuFailed)
        .map(|s| s.result)
        .collect();
    assert_eq!(
        results,
        [
            Err(ErrorCode::SockCnntErr),
            Err(ErrorCode::AddrErr),
            Err(ErrorCode::AddrErr),
            Err(ErrorCode::PortErr)
        ]
    );
}

#[test]
fn an_mcu_that_does_not_answer_times_out() {
    let mcu = demo_mcu();
    let client = Client::start(SdkConfig {
        request_timeout: Duration::from_millis(300),
        ..SdkConfig::default()
    });
    // Stopped: the kernel still accepts the TCP connection, nobody answers the Hello.
    signal(&mcu, libc::SIGSTOP);
    let result = client
        .sdk
        .connect("127.0.0.1", mcu.addr.port(), "class1", "class1");
    signal(&mcu, libc::SIGCONT);
    assert_eq!(result, Err(ErrorCode::Timeout));
    let event = client.log.wait_state(StateId::ConnectMcuFailed, |_| true);
    assert_eq!(event.result, Err(ErrorCode::Timeout));
    // Running again: connecting works.
    let client = Client::start(SdkConfig::default());
    assert_eq!(
        client
            .sdk
            .connect("127.0.0.1", mcu.addr.port(), "class1", "class1"),
        Ok(())
    );
}

#[test]
fn room_login_failures_fire_login_room_failed() {
    let mcu = demo_mcu();
    let client = Client::start(SdkConfig::default());
    assert_eq!(client.sdk.login_room(1001), Err(ErrorCode::NotLoginErr));
    client
        .sdk
        .connect("127.0.0.1", mcu.addr.port(), "class2", "class2")
        .expect("connect");
    assert_eq!(client.sdk.login_room(4242), Err(ErrorCode::RoomUnexist));
    let event = client.log.wait_state(StateId::LoginRoomFailed, |_| true);
    assert_eq!(event.result, Err(ErrorCode::RoomUnexist));
    // One room: position 0 is it, position 1 is no room.
    assert_eq!(client.sdk.login_room(1), Err(ErrorCode::RoomUnexist));
    assert!(event.user.is_none() && is_none(&event.extra));
    assert_eq!(client.sdk.user_count(), Err(ErrorCode::NotLoginErr));
    // The session is still usable; position 0 is the first room.
    assert_eq!(client.sdk.login_room(0), Ok(()));
    assert_eq!(client.sdk.login_room(1001), Err(ErrorCode::ReloginedErr));
    assert_eq!(client.sdk.user_count(), Ok(1));
    assert_eq!(client.sdk.user(0).map(|u| u.username), Ok("class2".into()));
}

#[test]
fn a_full_room_refuses_with_room_full() {
    let config = TestConfig::new()
        .account("a", "a", false)
        .account("b", "b", false)
        .room(7, "tiny", "a", 1);
    let mcu = McuProcess::spawn(Some(&config.to_toml()));
    let a = Client::start(SdkConfig::default());
    let b = Client::start(SdkConfig::default());
    a.sdk
        .connect("127.0.0.1", mcu.addr.port(), "a", "a")
        .expect("a");
    b.sdk
        .connect("127.0.0.1", mcu.addr.port(), "b", "b")
        .expect("b");
    assert_eq!(a.sdk.login_room(7), Ok(()));
    assert_eq!(b.sdk.login_room(7), Err(ErrorCode::RoomFull));
    let event = b.log.wait_state(StateId::LoginRoomFailed, |_| true);
    assert_eq!(event.result, Err(ErrorCode::RoomFull));
}
