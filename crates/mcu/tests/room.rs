//! Presence, every role operation with a refusal, chat and transparent data, through the real
//! MCU process.

mod common;

use common::*;
use conference_proto::message::StateId;
use conference_proto::pb::{self, client_message::Body, event::Extra};
use conference_proto::{ErrorCode, MediaType};
use conference_testkit::client::TestClient;

fn kind(k: pb::MediaKind) -> i32 {
    k as i32
}

#[test]
fn presence_and_room_refusals() {
    let mcu = mcu();
    let mut teacher = enter(&mcu, "teacher");
    let (mut c1, _) = TestClient::login(mcu.addr, "class1", "class1");
    assert_eq!(c1.join_room(4242), Err(code(ErrorCode::RoomUnexist)));
    let joined = c1.join_room(ROOM).unwrap();
    assert_eq!(
        joined.users.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(joined.self_.unwrap().username, "class1");
    assert_eq!(joined.room.unwrap().cur_users, 2);
    assert_eq!(c1.join_room(ROOM), Err(code(ErrorCode::ReloginedErr)));
    let enter_event = teacher.expect_event(StateId::UserEnter);
    let user = enter_event.user.unwrap();
    assert_eq!(
        (user.id, user.auth_video),
        (2, 2),
        "the chair may pull anyone"
    );

    assert_eq!(c1.call(Body::LeaveRoom(pb::LeaveRoom {})), 0);
    let exit = c1.expect_event(StateId::RoomExit);
    assert_eq!(exit.result, 0);
    assert_eq!(teacher.expect_event(StateId::UserLeave).user.unwrap().id, 2);
    assert_eq!(
        c1.call(Body::LeaveRoom(pb::LeaveRoom {})),
        code(ErrorCode::NotLoginErr)
    );
    assert_eq!(
        c1.call(Body::Chat(pb::Chat {
            dst_id: 0,
            color: 0,
            content: "x".into()
        })),
        code(ErrorCode::NotLoginErr)
    );
}

#[test]
fn room_full() {
    let config = conference_testkit::TestConfig::new()
        .account("t", "t", true)
        .account("a", "a", false)
        .account("b", "b", false)
        .room(7, "tiny", "t", 2);
    let mcu = mcu_with(&config, &[], &[]);
    let _t = TestClient::join(mcu.addr, "t", "t", 7);
    let _a = TestClient::join(mcu.addr, "a", "a", 7);
    let (mut b, _) = TestClient::login(mcu.addr, "b", "b");
    assert_eq!(b.join_room(7), Err(code(ErrorCode::RoomFull)));
}

#[test]
fn role_operations_and_refusals() {
    let mcu = mcu();
    let mut teacher = enter(&mcu, "teacher"); // 1, chair
    let mut m = enter(&mcu, "class1"); // 2, becomes master
    let mut a = enter(&mcu, "class2"); // 3
    let mut b = enter(&mcu, "class3"); // 4
    let access = code(ErrorCode::AccessErr);
    let state = code(ErrorCode::StateErr);

    // Master.
    assert_eq!(m.call(Body::ApplyMaster(pb::ApplyMaster { on: true })), 0);
    assert_eq!(
        a.call(Body::ApplyMaster(pb::ApplyMaster { on: true })),
        state
    );
    let chair = b
        .drain_events(QUIET)
        .into_iter()
        .find(|e| e.state == StateId::UserChair.id())
        .unwrap();
    assert!(chair.user.unwrap().is_master);

    // Talk: raise, refused accept by a listener, accepted by the master, stopped.
    assert_eq!(a.call(Body::ApplyTalk(pb::ApplyTalk { on: true })), 0);
    assert_eq!(a.call(Body::ApplyTalk(pb::ApplyTalk { on: true })), state);
    assert_eq!(
        b.call(Body::CtrlTalk(pb::CtrlTalk {
            user_id: 3,
            on: true
        })),
        access
    );
    assert_eq!(
        m.call(Body::CtrlTalk(pb::CtrlTalk {
            user_id: 3,
            on: true
        })),
        0
    );
    let talk = teacher.drain_events(QUIET);
    let last = talk
        .iter()
        .rev()
        .find(|e| e.state == StateId::UserTalk.id())
        .unwrap();
    assert_eq!(last.user.as_ref().unwrap().audio_state, 2);
    assert_eq!(
        m.call(Body::CtrlTalk(pb::CtrlTalk {
            user_id: 4,
            on: true
        })),
        state
    );

    // Aux: two slots, the third applicant is refused and alone told.
    assert_eq!(a.call(Body::ApplyAux(pb::ApplyAux { on: true })), 0);
    assert_eq!(b.call(Body::ApplyAux(pb::ApplyAux { on: true })), 0);
    b.drain_events(QUIET);
    assert_eq!(
        m.call(Body::ApplyAux(pb::ApplyAux { on: true })),
        code(ErrorCode::OutOfResources)
    );
    let failed = m.drain_events(QUIET);
    let aux = failed.iter().rev().find_map(|e| match &e.extra {
        Some(Extra::Aux(aux)) => Some(*aux),
        _ => None,
    });
    assert_eq!(aux.map(|a| (a.user_id, a.response)), Some((2, 0)));
    assert!(
        b.drain_events(QUIET).is_empty(),
        "the others hear nothing of a failed apply"
    );
    assert_eq!(a.call(Body::ApplyAux(pb::ApplyAux { on: false })), 0);
    assert_eq!(a.call(Body::ApplyAux(pb::ApplyAux { on: false })), state);

    // Grants and broadcasts.
    let auth = |src_id, dst_id, on| {
        Body::Auth(pb::Auth {
            kind: kind(pb::MediaKind::Audio),
            src_id,
            dst_id,
            on,
        })
    };
    assert_eq!(a.call(auth(4, 3, true)), access, "not a's stream");
    assert_eq!(b.call(auth(4, 3, true)), 0, "own stream");
    assert_eq!(a.call(subscribe(4, MediaType::Audio, true)), 0);
    assert_eq!(a.call(subscribe(4, MediaType::VideoMajor, true)), access);
    assert_eq!(a.call(bcast_video(4)), access);
    assert_eq!(m.call(bcast_video(4)), 0);
    assert_eq!(a.call(subscribe(4, MediaType::VideoMajor, true)), 0);

    // Interaction and checks.
    assert_eq!(
        a.call(Body::SetInteract(pb::SetInteract { user_id: 4 })),
        access
    );
    assert_eq!(
        teacher.call(Body::SetInteract(pb::SetInteract { user_id: 3 })),
        0
    );
    let interact = b
        .drain_events(QUIET)
        .into_iter()
        .find(|e| e.state == StateId::UpdateInteract.id());
    assert_eq!(interact.unwrap().user.unwrap().id, 3);
    let check = |user_id, on| {
        Body::Check(pb::Check {
            kind: kind(pb::MediaKind::Video),
            user_id,
            on,
        })
    };
    assert_eq!(a.call(check(2, true)), 0, "paired with the master");
    assert_eq!(b.call(check(2, true)), access);
    assert_eq!(m.call(check(99, true)), code(ErrorCode::NotFindUserErr));

    // Kicks.
    let kick = |user_id| Body::Kick(pb::Kick { user_id });
    assert_eq!(a.call(kick(4)), access);
    assert_eq!(m.call(kick(1)), access, "never the chair");
    assert_eq!(m.call(kick(2)), access, "never oneself");
    assert_eq!(m.call(kick(99)), code(ErrorCode::NotFindUserErr));
    assert_eq!(m.call(kick(4)), 0);
    let kicked = b.expect_event(StateId::UserKicked);
    assert_eq!(
        kicked.user.unwrap().id,
        4,
        "the target learns it was kicked"
    );
    let exit = b.expect_event(StateId::RoomExit);
    assert_eq!(exit.result, code(ErrorCode::KickOut));
    let seen: Vec<u32> = teacher
        .drain_events(QUIET)
        .iter()
        .map(|e| e.state)
        .collect();
    let kicked = seen
        .iter()
        .position(|s| *s == StateId::UserKicked.id())
        .unwrap();
    let left = seen
        .iter()
        .position(|s| *s == StateId::UserLeave.id())
        .unwrap();
    assert!(kicked < left);
    assert!(
        seen.contains(&StateId::UserAux.id()),
        "b's aux slot was released"
    );
}

#[test]
fn invitations() {
    let mcu = mcu();
    let mut m = enter(&mcu, "class1"); // 2
    let mut a = enter(&mcu, "class2"); // 3
    assert_eq!(m.call(Body::ApplyMaster(pb::ApplyMaster { on: true })), 0);
    let invite = |user_id, on| {
        Body::Invite(pb::Invite {
            user_id,
            invite_type: pb::InviteType::Audio as i32,
            on,
        })
    };
    assert_eq!(m.call(invite(3, true)), 0);
    assert_eq!(m.call(invite(3, true)), code(ErrorCode::StateErr));
    a.drain_events(QUIET);
    let recv = a.drain_events(QUIET);
    assert!(recv.is_empty());
    assert_eq!(
        m.call(Body::AnswerInvite(pb::AnswerInvite {
            user_id: 3,
            accept: true
        })),
        code(ErrorCode::StateErr)
    );
    assert_eq!(
        a.call(Body::AnswerInvite(pb::AnswerInvite {
            user_id: 2,
            accept: true
        })),
        0
    );
    let allow = m
        .drain_events(QUIET)
        .into_iter()
        .find(|e| e.state == StateId::AllowInvite.id())
        .unwrap();
    assert_eq!(allow.user.unwrap().id, 3);
    assert_eq!(
        a.call(subscribe(2, MediaType::Audio, true)),
        0,
        "accepted: authorised"
    );
}

#[test]
fn invitation_reaches_only_its_target() {
    let mcu = mcu();
    let mut m = enter(&mcu, "class1");
    let mut a = enter(&mcu, "class2");
    let mut b = enter(&mcu, "class3");
    m.call(Body::ApplyMaster(pb::ApplyMaster { on: true }));
    a.drain_events(QUIET);
    b.drain_events(QUIET);
    let invite = Body::Invite(pb::Invite {
        user_id: 3,
        invite_type: pb::InviteType::Video as i32,
        on: true,
    });
    assert_eq!(m.call(invite), 0);
    let event = a.expect_event(StateId::RecvInvite);
    assert_eq!(event.user.as_ref().unwrap().id, 2);
    assert_eq!(
        event.extra,
        Some(Extra::InviteType(pb::InviteType::Video as i32))
    );
    assert!(b.drain_events(QUIET).is_empty());
    // A listener's request is a join request.
    let join = Body::Invite(pb::Invite {
        user_id: 2,
        invite_type: pb::InviteType::Audio as i32,
        on: true,
    });
    assert_eq!(b.call(join), 0);
    m.drain_events(QUIET)
        .iter()
        .find(|e| e.state == StateId::RecvJoin.id())
        .unwrap();
    assert_eq!(
        m.call(Body::AnswerInvite(pb::AnswerInvite {
            user_id: 4,
            accept: false
        })),
        0
    );
    b.expect_event(StateId::RejectJoin);
}

#[test]
fn chat_sources_are_filled_by_the_mcu() {
    let mcu = mcu();
    let mut a = enter(&mcu, "class1"); // 2
    let mut b = enter(&mcu, "class2"); // 3
    let mut c = enter(&mcu, "class3"); // 4
    a.drain_events(QUIET);
    b.drain_events(QUIET);
    let chat = |dst_id, content: &str| {
        Body::Chat(pb::Chat {
            dst_id,
            color: 0xff0000,
            content: content.to_string().into(),
        })
    };
    assert_eq!(b.call(chat(0, "大家好")), 0);
    for client in [&mut a, &mut b, &mut c] {
        let event = client.expect_event(StateId::UserChat);
        let Some(Extra::Chat(info)) = event.extra else {
            panic!("no chat info")
        };
        assert_eq!((info.src_id, info.dst_id, info.color), (3, 0, 0xff0000));
        assert_eq!(&info.content[..], "大家好".as_bytes());
        assert_eq!(event.user.unwrap().id, 3);
    }
    // A private message reaches its target and its sender only.
    assert_eq!(c.call(chat(2, "psst")), 0);
    let Some(Extra::Chat(info)) = a.expect_event(StateId::UserChat).extra else {
        panic!()
    };
    assert_eq!((info.src_id, info.dst_id), (4, 2));
    c.expect_event(StateId::UserChat);
    assert!(b.drain_events(QUIET).is_empty());
    assert_eq!(c.call(chat(99, "x")), code(ErrorCode::NotFindUserErr));
    assert_eq!(c.call(chat(0, &"x".repeat(128))), code(ErrorCode::ParamErr));
    // The rate limit holds a flood back.
    let mut refused = 0;
    for _ in 0..30 {
        if c.call(chat(0, "spam")) == code(ErrorCode::MuchVisitedErr) {
            refused += 1;
        }
    }
    assert!(refused > 0);
}

#[test]
fn transparent_data() {
    let mcu = mcu();
    let mut a = enter(&mcu, "class1");
    let mut b = enter(&mcu, "class2");
    let mut c = enter(&mcu, "class3");
    a.drain_events(QUIET);
    b.drain_events(QUIET);
    let data: Vec<u8> = (0..65_536u32).map(|i| (i * 7) as u8).collect();
    let body = |dst_id, data_type, data: Vec<u8>| {
        Body::Transparent(pb::Transparent {
            dst_id,
            data_type,
            data: data.into(),
        })
    };
    assert_eq!(a.call(body(0, 0, data.clone())), 0);
    for client in [&mut b, &mut c] {
        let event = client.expect_event(StateId::Transparent);
        let Some(Extra::Transparent(info)) = event.extra else {
            panic!()
        };
        assert_eq!((info.src_id, info.data_type), (2, 0));
        assert_eq!(&info.data[..], &data[..], "byte-exact");
    }
    assert!(a.drain_events(QUIET).is_empty(), "not back to the sender");
    assert_eq!(a.call(body(4, 1, b"to c".to_vec())), 0);
    assert_eq!(c.expect_event(StateId::Transparent).user.unwrap().id, 2);
    assert!(b.drain_events(QUIET).is_empty());
    assert_eq!(
        a.call(body(0, 0, vec![0; 65_537])),
        code(ErrorCode::ParamErr)
    );
    assert_eq!(a.call(body(0, 5, vec![0])), code(ErrorCode::ParamErr));
    assert_eq!(
        a.call(body(77, 0, vec![0])),
        code(ErrorCode::NotFindUserErr)
    );
}
