//! Login, versions, timeouts and relogin against the real MCU process.

mod common;

use std::time::{Duration, Instant};

use common::*;
use conference_proto::message::StateId;
use conference_proto::pb::{self, client_message::Body};
use conference_proto::{ErrorCode, PROTOCOL_VERSION};
use conference_testkit::client::{Received, TestClient};

#[test]
fn good_and_bad_logins() {
    let mcu = mcu();
    let (client, login) = TestClient::login(mcu.addr, "class3", "class3");
    assert_eq!(login.user_id, 4);
    assert_eq!(login.protocol_version, PROTOCOL_VERSION);
    assert_eq!(login.heartbeat_ms, 1000);
    assert_eq!(login.rooms.len(), 1);
    let room = &login.rooms[0];
    assert_eq!(
        (room.id, room.name.as_str(), room.max_users, room.creator_id),
        (ROOM, "Demo Classroom", 16, 1)
    );
    drop(client);

    for (user, password, version, expected) in [
        (
            "class3",
            "wrong",
            PROTOCOL_VERSION,
            ErrorCode::UserPasswordErr,
        ),
        (
            "nobody",
            "nobody",
            PROTOCOL_VERSION,
            ErrorCode::UserPasswordErr,
        ),
        (
            "class3",
            "class3",
            PROTOCOL_VERSION + 1,
            ErrorCode::ServerMismatch,
        ),
    ] {
        let mut client = TestClient::connect(mcu.addr);
        let refused = client.hello(version, user, password);
        assert_eq!(
            refused.err(),
            Some(expected.code()),
            "{user}/{password}/{version}"
        );
        assert_eq!(
            client.wait_closed(Duration::from_secs(5)),
            Some(expected.code())
        );
    }
}

#[test]
fn the_first_message_must_be_hello() {
    let mcu = mcu();
    let mut client = TestClient::connect(mcu.addr);
    client
        .raw()
        .send_request(Body::JoinRoom(pb::JoinRoom { room_id: ROOM }));
    assert_eq!(
        client.wait_closed(Duration::from_secs(5)),
        Some(code(ErrorCode::NotLoginErr))
    );
    // The server is fine.
    TestClient::login(mcu.addr, "class1", "class1");
}

#[test]
fn unauthenticated_connections_time_out() {
    let mcu = mcu_with(
        &demo_config(),
        &[],
        &[("CONFERENCE_MCU_AUTH_TIMEOUT_MS", "300")],
    );
    let mut idle = TestClient::connect(mcu.addr);
    assert_eq!(
        idle.wait_closed(Duration::from_secs(10)),
        Some(code(ErrorCode::Timeout))
    );
    // A client that logs in in time stays.
    let (mut client, _) = TestClient::login(mcu.addr, "class1", "class1");
    assert!(client.next_event(Duration::from_millis(600)).is_none());
    assert!(!client.closed);
}

#[test]
fn a_second_login_replaces_the_first() {
    let mcu = mcu();
    let mut old = enter(&mcu, "class1");
    let mut other = enter(&mcu, "class2");
    let enter_event = old.expect_event(StateId::UserEnter);
    assert_eq!(enter_event.user.unwrap().id, 3);
    let (mut new, login) = TestClient::login(mcu.addr, "class1", "class1");
    assert_eq!(login.user_id, 2, "the same user id");
    let exit = old.expect_event(StateId::RoomExit);
    assert_eq!(exit.result, code(ErrorCode::ReloginedErr));
    assert_eq!(
        old.wait_closed(Duration::from_secs(5)),
        Some(code(ErrorCode::ReloginedErr))
    );
    let leave = other.expect_event(StateId::UserLeave);
    assert_eq!(leave.user.unwrap().id, 2);
    let joined = new.join_room(ROOM).unwrap();
    assert_eq!(joined.users.len(), 2);
    assert_eq!(other.expect_event(StateId::UserEnter).user.unwrap().id, 2);
}

#[test]
fn heartbeats_flow_and_silent_peers_are_dropped() {
    let config = demo_config().heartbeat_ms(100);
    let mcu = mcu_with(&config, &[], &[]);
    let mut watcher = enter(&mcu, "class1");
    let (mut silent, login) = TestClient::login(mcu.addr, "class2", "class2");
    assert_eq!(login.heartbeat_ms, 100);
    silent.auto_pong = false;
    silent.join_room(ROOM).unwrap();
    watcher.expect_event(StateId::UserEnter);
    // The silent client is declared dead after 3 intervals; the room hears it leave. Both
    // clients are pumped so the watcher keeps answering its pings.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while Instant::now() < deadline && !(silent.closed && seen.contains(&StateId::UserLeave.id())) {
        silent.next(Duration::from_millis(10));
        if let Some(Received::Event(event)) = watcher.next(Duration::from_millis(10)) {
            seen.push(event.state);
        }
    }
    assert_eq!(silent.bye, Some(code(ErrorCode::LongTimeNoReSponse)));
    assert!(silent.pings >= 2);
    assert_eq!(seen, vec![StateId::UserLeave.id()]);
    // The answering one is still there, pinged all along (pumped a little longer if the
    // silent one was dropped before the watcher's third ping arrived: a busy machine).
    while Instant::now() < deadline && watcher.pings < 3 && !watcher.closed {
        watcher.next(Duration::from_millis(10));
    }
    assert!(watcher.pings >= 3);
    assert!(!watcher.closed);
}
