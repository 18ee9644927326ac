//! Every room control call end to end: several `Sdk` instances in this process, the real MCU
//! process, real sockets. Users: teacher (chair, id 1), class1 (2), class2 (3).

mod common;

use bytes::Bytes;
use common::{Client, Lesson, id_of, is_none, user_id};
use conference_session::{
    AuxInfo, ChatInfo, DataType, ErrorCode, EventExtra, InviteType, LookedInfo, MediaHeader,
    MediaKind, MediaType, SdkConfig, StateId, TransparentInfo,
};

const TEACHER: u32 = 10001;
const CLASS1: u32 = 10002;
const CLASS2: u32 = 10003;

fn lesson() -> Lesson {
    let lesson = Lesson::start(&["teacher", "class1", "class2"]);
    assert_eq!(lesson.clients[0].own_id(), id_of("teacher"));
    assert_eq!(lesson.clients[2].own_id(), CLASS2);
    lesson
}

#[test]
fn presence_login_logout_and_the_cache() {
    let lesson = Lesson::start(&["teacher"]);
    let teacher = &lesson.clients[0];
    let login = teacher.log.wait_state(StateId::LoginRoom, |_| true);
    assert_eq!(login.result, Ok(()));
    let own = login.user.clone().expect("own user");
    assert_eq!(
        (own.id, own.username.as_str(), own.is_chair),
        (TEACHER, "teacher", true)
    );
    let EventExtra::Room(room) = &login.extra else {
        panic!("LOGIN_ROOM without the room: {login:?}");
    };
    assert_eq!(
        (room.id, room.name.as_str(), room.cur_users),
        (1001, "Demo Classroom", 1)
    );

    let class1 = Client::join(&lesson.mcu, "class1", SdkConfig::default());
    let enter = teacher
        .log
        .wait_state(StateId::UserEnter, |s| user_id(s) == Some(CLASS1));
    assert_eq!(enter.result, Ok(()));
    assert!(is_none(&enter.extra));
    assert_eq!(
        enter.user.as_ref().map(|u| u.username.as_str()),
        Some("class1")
    );
    assert_eq!(
        enter.user.as_ref().map(|u| u.nickname.as_str()),
        Some("class1")
    );
    // The cache already knows what the event says.
    assert_eq!(teacher.sdk.user_count(), Ok(2));
    assert_eq!(teacher.user(CLASS1).username, "class1");
    assert_eq!(teacher.sdk.room_info(0).map(|r| r.cur_users), Ok(2));
    assert_eq!(class1.sdk.user_count(), Ok(2));
    assert!(class1.user(TEACHER).is_chair);
    assert_eq!(class1.sdk.user(99), Err(ErrorCode::NotFindUserErr));
    assert_eq!(class1.sdk.login_room(1001), Err(ErrorCode::ReloginedErr));

    // Logout: ROOM_EXIT (Success) at the leaver before the call returns, USER_LEAVE at the
    // others.
    let mark = class1.log.mark();
    assert_eq!(class1.sdk.logout_room(), Ok(()));
    assert_eq!(class1.sdk.user_count(), Err(ErrorCode::NotLoginErr));
    let exit = class1
        .log
        .wait_state_since(mark, StateId::RoomExit, |_| true);
    assert_eq!((exit.result, user_id(&exit)), (Ok(()), Some(CLASS1)));
    let leave = teacher
        .log
        .wait_state(StateId::UserLeave, |s| user_id(s) == Some(CLASS1));
    assert_eq!(leave.result, Ok(()));
    assert_eq!(teacher.sdk.user_count(), Ok(1));
    assert_eq!(teacher.sdk.user(CLASS1), Err(ErrorCode::NotFindUserErr));
    assert_eq!(class1.sdk.logout_room(), Err(ErrorCode::NotLoginErr));
    // Still connected: the room can be joined again.
    assert_eq!(class1.sdk.login_room(1001), Ok(()));
    assert_eq!(class1.sdk.user_count(), Ok(2));
}

#[test]
fn master_role() {
    let lesson = lesson();
    let [teacher, class1, class2] = &lesson.clients[..] else {
        unreachable!()
    };
    assert_eq!(class1.sdk.apply_master(true), Ok(()));
    for client in &lesson.clients {
        let event = client.log.wait_state(StateId::UserChair, |s| {
            user_id(s) == Some(CLASS1) && s.user.as_ref().is_some_and(|u| u.is_master)
        });
        assert_eq!(event.result, Ok(()));
        assert!(client.user(CLASS1).is_master);
    }
    // Another listener cannot take it; the master cannot be given up by someone else.
    assert_eq!(class2.sdk.apply_master(true), Err(ErrorCode::StateErr));
    assert_eq!(class2.sdk.apply_master(false), Err(ErrorCode::StateErr));
    // The chair can.
    let mark = class2.log.mark();
    assert_eq!(teacher.sdk.apply_master(true), Ok(()));
    class2.log.wait_state_since(mark, StateId::UserChair, |s| {
        user_id(s) == Some(CLASS1) && s.user.as_ref().is_some_and(|u| !u.is_master)
    });
    class2.log.wait_state_since(mark, StateId::UserChair, |s| {
        user_id(s) == Some(TEACHER) && s.user.as_ref().is_some_and(|u| u.is_master)
    });
    assert!(!class2.user(CLASS1).is_master);
    assert!(class2.user(TEACHER).is_master);
    assert_eq!(teacher.sdk.apply_master(false), Ok(()));
    class2.log.wait_state_since(mark, StateId::UserChair, |s| {
        user_id(s) == Some(TEACHER) && s.user.as_ref().is_some_and(|u| !u.is_master)
    });
}

#[test]
fn hand_raising_and_approval() {
    let lesson = lesson();
    let [teacher, class1, class2] = &lesson.clients[..] else {
        unreachable!()
    };
    assert_eq!(class2.sdk.apply_talk(true), Ok(()));
    for client in &lesson.clients {
        let event = client.log.wait_state(StateId::UserReqTalk, |s| {
            user_id(s) == Some(CLASS2) && s.user.as_ref().is_some_and(|u| u.audio_state == 1)
        });
        assert!(is_none(&event.extra));
    }
    assert_eq!(class2.sdk.apply_talk(true), Err(ErrorCode::StateErr));
    // A listener cannot approve; the chair can.
    assert_eq!(
        class1.sdk.ctrl_talk(CLASS2, true),
        Err(ErrorCode::AccessErr)
    );
    assert_eq!(teacher.sdk.ctrl_talk(CLASS2, true), Ok(()));
    for client in &lesson.clients {
        client.log.wait_state(StateId::UserTalk, |s| {
            user_id(s) == Some(CLASS2) && s.user.as_ref().is_some_and(|u| u.audio_state == 2)
        });
        assert_eq!(client.user(CLASS2).audio_state, 2);
    }
    // Giving up on oneself.
    assert_eq!(class2.sdk.ctrl_talk(CLASS2, false), Ok(()));
    class1.log.wait_state(StateId::UserTalk, |s| {
        user_id(s) == Some(CLASS2) && s.user.as_ref().is_some_and(|u| u.audio_state == 0)
    });
    assert_eq!(
        teacher.sdk.ctrl_talk(CLASS2, true),
        Err(ErrorCode::StateErr)
    );
    assert_eq!(
        teacher.sdk.ctrl_talk(42, true),
        Err(ErrorCode::NotFindUserErr)
    );
    // Raise and lower.
    assert_eq!(class1.sdk.apply_talk(true), Ok(()));
    assert_eq!(class1.sdk.apply_talk(false), Ok(()));
    teacher.log.wait_state(StateId::UserReqTalk, |s| {
        user_id(s) == Some(CLASS1) && s.user.as_ref().is_some_and(|u| u.audio_state == 0)
    });
}

#[test]
fn chat_to_all_and_private() {
    let lesson = lesson();
    let [teacher, class1, class2] = &lesson.clients[..] else {
        unreachable!()
    };
    assert_eq!(
        class1.sdk.send_chat(0, 0x00ff00, "大家好 all".as_bytes()),
        Ok(())
    );
    for client in &lesson.clients {
        let event = client
            .log
            .wait_state(StateId::UserChat, |s| user_id(s) == Some(CLASS1));
        assert_eq!(
            event.extra,
            EventExtra::Chat(ChatInfo {
                src_id: CLASS1,
                dst_id: 0,
                color: 0x00ff00,
                content: Bytes::from("大家好 all"),
            })
        );
    }
    let mark = teacher.log.mark();
    assert_eq!(class1.sdk.send_chat(CLASS2, -1, b"psst"), Ok(()));
    for client in [class1, class2] {
        client.log.wait_state(StateId::UserChat, |s| {
            matches!(&s.extra, EventExtra::Chat(c) if c.dst_id == CLASS2 && &c.content[..] == b"psst" && c.color == -1 && c.src_id == CLASS1)
        });
    }
    // A later message to everyone is the barrier: the teacher must not have seen the private one.
    assert_eq!(class2.sdk.send_chat(0, 1, b"barrier"), Ok(()));
    teacher.log.wait_state_since(
        mark,
        StateId::UserChat,
        |s| matches!(&s.extra, EventExtra::Chat(c) if &c.content[..] == b"barrier"),
    );
    assert_eq!(
        teacher
            .log
            .states_since(mark)
            .iter()
            .filter(|s| s.state == StateId::UserChat)
            .count(),
        1
    );
    assert_eq!(
        class1.sdk.send_chat(0, 0, &[b'x'; 128]),
        Err(ErrorCode::ParamErr)
    );
    assert_eq!(class1.sdk.send_chat(0, 0, &[b'x'; 127]), Ok(()));
    assert_eq!(
        class1.sdk.send_chat(77, 0, b"nobody"),
        Err(ErrorCode::NotFindUserErr)
    );
}

#[test]
fn transparent_data_arrives_byte_exact() {
    let lesson = lesson();
    let [teacher, class1, class2] = &lesson.clients[..] else {
        unreachable!()
    };
    let binary: Vec<u8> = (0..=255u8).cycle().take(65_536).collect();
    assert_eq!(
        class1.sdk.send_transparent(0, &binary, DataType::Binary),
        Ok(())
    );
    for client in [teacher, class2] {
        let event = client
            .log
            .wait_state(StateId::Transparent, |s| user_id(s) == Some(CLASS1));
        assert_eq!(
            event.extra,
            EventExtra::Transparent(TransparentInfo {
                src_id: CLASS1,
                data_type: 0,
                data: Bytes::from(binary.clone()),
            })
        );
    }
    let mark = teacher.log.mark();
    assert_eq!(
        class2
            .sdk
            .send_transparent(CLASS1, b"to one\0with nul", DataType::String),
        Ok(())
    );
    let event = class1
        .log
        .wait_state(StateId::Transparent, |s| user_id(s) == Some(CLASS2));
    assert_eq!(
        event.extra,
        EventExtra::Transparent(TransparentInfo {
            src_id: CLASS2,
            data_type: 1,
            data: Bytes::from_static(b"to one\0with nul"),
        })
    );
    // Barrier: the teacher got neither the private one nor its own broadcast back.
    assert_eq!(
        class2.sdk.send_transparent(0, b"b", DataType::String),
        Ok(())
    );
    teacher
        .log
        .wait_state_since(mark, StateId::Transparent, |s| user_id(s) == Some(CLASS2));
    assert_eq!(
        teacher
            .log
            .states_since(mark)
            .iter()
            .filter(|s| s.state == StateId::Transparent)
            .count(),
        1
    );
    assert!(
        class1
            .log
            .states()
            .iter()
            .all(|s| !(s.state == StateId::Transparent && user_id(s) == Some(CLASS1))),
        "the sender does not get its own data"
    );
    assert_eq!(
        class1
            .sdk
            .send_transparent(0, &vec![0; 65_537], DataType::Binary),
        Err(ErrorCode::ParamErr)
    );
}

#[test]
fn aux_slots_up_to_out_of_resources() {
    let lesson = lesson();
    let [teacher, class1, class2] = &lesson.clients[..] else {
        unreachable!()
    };
    let aux_frame = MediaHeader {
        codec_id: 3,
        frame_seq: 3,
        key_frame: 1,
        ..MediaHeader::default()
    };
    assert_eq!(
        class1
            .sdk
            .send_stream(aux_frame, b"x", MediaType::VideoMinor),
        Err(ErrorCode::AccessErr)
    );
    assert_eq!(class1.sdk.apply_aux(true), Ok(()));
    for client in &lesson.clients {
        let event = client
            .log
            .wait_state(StateId::UserAux, |s| user_id(s) == Some(CLASS1));
        assert_eq!(
            event.extra,
            EventExtra::Aux(AuxInfo {
                user_id: CLASS1,
                response: 1,
                media_type: MediaType::VideoMinor as u32,
            })
        );
        assert_eq!(client.user(CLASS1).aux_slots, 0b01);
    }
    // The cache says class1 holds slot 0: aux stream 1 may be sent, aux stream 2 not.
    assert_eq!(
        class1
            .sdk
            .send_stream(aux_frame, b"x", MediaType::VideoMinor),
        Ok(())
    );
    assert_eq!(
        class1
            .sdk
            .send_stream(aux_frame, b"x", MediaType::VideoMinor2),
        Err(ErrorCode::AccessErr)
    );
    assert_eq!(class2.sdk.apply_aux(true), Ok(()));
    teacher.log.wait_state(StateId::UserAux, |s| {
        s.extra
            == EventExtra::Aux(AuxInfo {
                user_id: CLASS2,
                response: 1,
                media_type: MediaType::VideoMinor2 as u32,
            })
    });
    // Both slots taken.
    let mark_c1 = class1.log.mark();
    assert_eq!(teacher.sdk.apply_aux(true), Err(ErrorCode::OutOfResources));
    let refused = teacher
        .log
        .wait_state(StateId::UserAux, |s| user_id(s) == Some(TEACHER));
    assert_eq!(
        refused.extra,
        EventExtra::Aux(AuxInfo {
            user_id: TEACHER,
            response: 0,
            media_type: MediaType::VideoMinor as u32,
        })
    );
    // Release: everyone hears it; only the teacher heard its refusal.
    assert_eq!(class1.sdk.apply_aux(false), Ok(()));
    let released = class1
        .log
        .wait_state_since(mark_c1, StateId::UserAux, |s| user_id(s) == Some(CLASS1));
    assert_eq!(
        released.extra,
        EventExtra::Aux(AuxInfo {
            user_id: CLASS1,
            response: 0,
            media_type: MediaType::VideoMinor as u32,
        })
    );
    assert_eq!(class1.own_id(), CLASS1);
    assert_eq!(class1.sdk.own_user().map(|u| u.aux_slots), Ok(0));
    assert_eq!(
        class1
            .sdk
            .send_stream(aux_frame, b"x", MediaType::VideoMinor),
        Err(ErrorCode::AccessErr)
    );
    assert_eq!(class1.sdk.apply_aux(false), Err(ErrorCode::StateErr));
    assert_eq!(teacher.sdk.apply_aux(true), Ok(()));
}

#[test]
fn invitation_and_join_request_accept_and_reject() {
    let lesson = lesson();
    let [teacher, class1, class2] = &lesson.clients[..] else {
        unreachable!()
    };
    assert_eq!(class1.sdk.apply_master(true), Ok(()));
    class2
        .log
        .wait_state(StateId::UserChair, |s| user_id(s) == Some(CLASS1));
    // The master invites: class2 gets RECV_INVITE, rejects.
    assert_eq!(class1.sdk.invite(CLASS2, InviteType::Video, true), Ok(()));
    let invite = class2
        .log
        .wait_state(StateId::RecvInvite, |s| user_id(s) == Some(CLASS1));
    assert_eq!(invite.extra, EventExtra::InviteType(InviteType::Video));
    assert_eq!(
        class1.sdk.invite(CLASS2, InviteType::Video, true),
        Err(ErrorCode::StateErr)
    );
    assert_eq!(class2.user(CLASS1).auth_video, 1, "pending shows as 1");
    assert_eq!(class2.sdk.answer_invite(CLASS1, false), Ok(()));
    class1
        .log
        .wait_state(StateId::RejectInvite, |s| user_id(s) == Some(CLASS2));
    assert_eq!(
        class2.sdk.answer_invite(CLASS1, true),
        Err(ErrorCode::StateErr)
    );
    // Invites again: accepted, and class2 may now pull class1's video.
    assert_eq!(
        class2.sdk.recv_stream(CLASS1, MediaType::VideoMajor, true),
        Err(ErrorCode::AccessErr)
    );
    assert_eq!(class1.sdk.invite(CLASS2, InviteType::Video, true), Ok(()));
    class2.log.wait_state(StateId::RecvInvite, |s| {
        user_id(s) == Some(CLASS1) && s.extra == EventExtra::InviteType(InviteType::Video)
    });
    assert_eq!(class2.sdk.answer_invite(CLASS1, true), Ok(()));
    class1
        .log
        .wait_state(StateId::AllowInvite, |s| user_id(s) == Some(CLASS2));
    assert_eq!(
        class2.sdk.recv_stream(CLASS1, MediaType::VideoMajor, true),
        Ok(())
    );
    // A listener asks the teacher to join (audio): RECV_JOIN; accepted: ALLOW_JOIN.
    assert_eq!(class2.sdk.invite(TEACHER, InviteType::Audio, true), Ok(()));
    let join = teacher
        .log
        .wait_state(StateId::RecvJoin, |s| user_id(s) == Some(CLASS2));
    assert_eq!(join.extra, EventExtra::InviteType(InviteType::Audio));
    assert_eq!(teacher.sdk.answer_invite(CLASS2, true), Ok(()));
    class2
        .log
        .wait_state(StateId::AllowJoin, |s| user_id(s) == Some(TEACHER));
    // A withdrawn join request: the peer gets REJECT_JOIN from the requester.
    assert_eq!(class2.sdk.invite(CLASS1, InviteType::Audio, true), Ok(()));
    class1
        .log
        .wait_state(StateId::RecvJoin, |s| user_id(s) == Some(CLASS2));
    assert_eq!(class2.sdk.invite(CLASS1, InviteType::Audio, false), Ok(()));
    class1
        .log
        .wait_state(StateId::RejectJoin, |s| user_id(s) == Some(CLASS2));
    assert_eq!(
        class2.sdk.invite(CLASS2, InviteType::Audio, true),
        Err(ErrorCode::ParamErr)
    );
}

#[test]
fn grants_broadcast_and_subscriptions() {
    let lesson = lesson();
    let [teacher, class1, class2] = &lesson.clients[..] else {
        unreachable!()
    };
    // Unauthorised pull.
    assert_eq!(
        class2.sdk.recv_stream(CLASS1, MediaType::Audio, true),
        Err(ErrorCode::AccessErr)
    );
    // Only a moderator or the source grants.
    assert_eq!(
        class2.sdk.auth(MediaKind::Audio, CLASS1, CLASS2, true),
        Err(ErrorCode::AccessErr)
    );
    assert_eq!(
        class1.sdk.auth(MediaKind::Audio, CLASS1, CLASS2, true),
        Ok(())
    );
    let bcast = teacher
        .log
        .wait_state(StateId::UserBcast, |s| user_id(s) == Some(CLASS1));
    assert_eq!(bcast.result, Ok(()));
    class2
        .log
        .wait_state(StateId::UserBcast, |s| user_id(s) == Some(CLASS1));
    assert_eq!(
        class2.user(CLASS1).auth_audio,
        2,
        "class2 may pull class1's audio"
    );
    assert_eq!(class2.user(CLASS1).auth_video, 0);
    assert_eq!(
        class2.sdk.recv_stream(CLASS1, MediaType::Audio, true),
        Ok(())
    );
    let looked = class1.log.wait_state(StateId::Looked, |_| true);
    assert_eq!(user_id(&looked), Some(CLASS1));
    assert_eq!(
        looked.extra,
        EventExtra::Looked(LookedInfo {
            viewer_id: CLASS2,
            media_type: MediaType::Audio as u32,
            ctrl: 1,
        })
    );
    // Revoked: the subscriber loses the stream, the sender hears its last viewer left.
    let mark = class1.log.mark();
    assert_eq!(
        teacher.sdk.auth(MediaKind::Audio, CLASS1, CLASS2, false),
        Ok(())
    );
    let stopped = class1.log.wait_state_since(
        mark,
        StateId::Looked,
        |s| matches!(&s.extra, EventExtra::Looked(l) if l.ctrl == 0),
    );
    assert_eq!(
        stopped.extra,
        EventExtra::Looked(LookedInfo {
            viewer_id: CLASS2,
            media_type: MediaType::Audio as u32,
            ctrl: 0,
        })
    );
    // Broadcast: by a moderator only; then everyone may pull.
    assert_eq!(
        class1.sdk.bcast(MediaKind::Video, CLASS2, true),
        Err(ErrorCode::AccessErr)
    );
    assert_eq!(teacher.sdk.bcast(MediaKind::Video, CLASS2, true), Ok(()));
    for client in &lesson.clients {
        client.log.wait_state(StateId::UserBcast, |s| {
            user_id(s) == Some(CLASS2) && s.user.as_ref().is_some_and(|u| u.bcast_video)
        });
        assert!(client.user(CLASS2).bcast_video);
    }
    assert_eq!(
        class1.sdk.recv_stream(CLASS2, MediaType::VideoMajor, true),
        Ok(())
    );
    assert_eq!(
        class1.sdk.recv_stream(CLASS2, MediaType::VideoMajor, false),
        Ok(())
    );
    // check_user_video by a moderator: the user is asked to send (LOOKED) and subscribed.
    let mark = class2.log.mark();
    assert_eq!(teacher.sdk.check(MediaKind::Video, CLASS2, true), Ok(()));
    // (LOOKED is throttled per stream: this one may come when class1's window ends.)
    let looked = class2.log.wait_state_since(
        mark,
        StateId::Looked,
        |s| matches!(&s.extra, EventExtra::Looked(l) if l.viewer_id == TEACHER),
    );
    assert_eq!(
        looked.extra,
        EventExtra::Looked(LookedInfo {
            viewer_id: TEACHER,
            media_type: MediaType::VideoMajor as u32,
            ctrl: 1,
        })
    );
    assert_eq!(
        class1.sdk.check(MediaKind::Audio, CLASS2, true),
        Err(ErrorCode::AccessErr)
    );
    assert_eq!(
        teacher.sdk.check(MediaKind::Audio, 55, true),
        Err(ErrorCode::NotFindUserErr)
    );
}

#[test]
fn interactive_pairing() {
    let lesson = lesson();
    let [teacher, class1, class2] = &lesson.clients[..] else {
        unreachable!()
    };
    // No master yet.
    assert_eq!(teacher.sdk.set_interact(CLASS2), Err(ErrorCode::StateErr));
    assert_eq!(class1.sdk.apply_master(true), Ok(()));
    assert_eq!(class2.sdk.set_interact(CLASS2), Err(ErrorCode::AccessErr));
    assert_eq!(teacher.sdk.set_interact(CLASS2), Ok(()));
    for client in &lesson.clients {
        let event = client
            .log
            .wait_state(StateId::UpdateInteract, |s| user_id(s) == Some(CLASS2));
        assert_eq!(event.result, Ok(()));
    }
    // Master and interactive user are mutually authorised.
    assert_eq!(
        class2.sdk.recv_stream(CLASS1, MediaType::Audio, true),
        Ok(())
    );
    assert_eq!(
        class2.sdk.recv_stream(CLASS1, MediaType::VideoMajor, true),
        Ok(())
    );
    // Cleared: UPDATE_INTERACT without a user; class2 loses its pull of the master.
    let mark = class1.log.mark();
    assert_eq!(class1.sdk.set_interact(0), Ok(()));
    class2
        .log
        .wait_state(StateId::UpdateInteract, |s| s.user.is_none());
    class1.log.wait_state_since(
        mark,
        StateId::Looked,
        |s| matches!(&s.extra, EventExtra::Looked(l) if l.ctrl == 0 && l.viewer_id == CLASS2),
    );
    assert_eq!(
        class2.sdk.recv_stream(CLASS1, MediaType::Audio, true),
        Err(ErrorCode::AccessErr)
    );
}

#[test]
fn kick() {
    let lesson = lesson();
    let [teacher, class1, class2] = &lesson.clients[..] else {
        unreachable!()
    };
    assert_eq!(class1.sdk.kick(CLASS2), Err(ErrorCode::AccessErr));
    assert_eq!(teacher.sdk.kick(TEACHER), Err(ErrorCode::AccessErr));
    assert_eq!(class1.sdk.apply_master(true), Ok(()));
    assert_eq!(
        class1.sdk.kick(TEACHER),
        Err(ErrorCode::AccessErr),
        "never the chair"
    );
    assert_eq!(class1.sdk.kick(CLASS2), Ok(()));
    let exit = class2.log.wait_state(StateId::RoomExit, |_| true);
    assert_eq!(exit.result, Err(ErrorCode::KickOut));
    assert_eq!(user_id(&exit), Some(CLASS2));
    assert_eq!(class2.sdk.user_count(), Err(ErrorCode::NotLoginErr));
    for client in [teacher, class1] {
        client
            .log
            .wait_state(StateId::UserKicked, |s| user_id(s) == Some(CLASS2));
        client
            .log
            .wait_state(StateId::UserLeave, |s| user_id(s) == Some(CLASS2));
        assert_eq!(client.sdk.user_count(), Ok(2));
    }
    // Kicked out of the room, not off the MCU: it may come back.
    assert_eq!(class2.sdk.room_count(), Ok(1));
    assert_eq!(class2.sdk.login_room(1001), Ok(()));
    assert_eq!(class2.sdk.user_count(), Ok(3));
}
