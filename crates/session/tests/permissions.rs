//! The role × request refusal matrix end to end (issue 13): every privileged call, from every
//! role that may not make it, through the SDK against the real MCU, is refused with
//! `retCode_AccessErr` and changes nothing; the moderators (the chair, the master) may.
//! Roles: teacher = chair, class1 = master, class2 = the interactive user, class3 = a listener
//! with a raised hand holding an aux slot, class4 = a plain listener.

mod common;

use common::{Client, Lesson, id_of, user_id};
use conference_session::{ErrorCode, MediaKind, MediaType, StateId};

type Call = fn(&Client, u32, u32) -> Result<(), ErrorCode>;

/// `(name, call(caller, target, third))`: the calls only a moderator may make on others.
const PRIVILEGED: &[(&str, Call)] = &[
    ("kick", |c, t, _| c.sdk.kick(t)),
    ("bcast video on", |c, t, _| {
        c.sdk.bcast(MediaKind::Video, t, true)
    }),
    ("bcast audio on", |c, t, _| {
        c.sdk.bcast(MediaKind::Audio, t, true)
    }),
    ("bcast video off", |c, t, _| {
        c.sdk.bcast(MediaKind::Video, t, false)
    }),
    ("set interact", |c, t, _| c.sdk.set_interact(t)),
    ("clear interact", |c, _, _| c.sdk.set_interact(0)),
    ("approve a hand", |c, _, _| {
        c.sdk.ctrl_talk(id_of("class3"), true)
    }),
    ("silence another", |c, t, _| c.sdk.ctrl_talk(t, false)),
    ("grant video of another", |c, t, d| {
        c.sdk.auth(MediaKind::Video, t, d, true)
    }),
    ("grant audio of another", |c, t, d| {
        c.sdk.auth(MediaKind::Audio, t, d, true)
    }),
    ("revoke video of another", |c, t, d| {
        c.sdk.auth(MediaKind::Video, t, d, false)
    }),
    ("pull unauthorised video", |c, t, _| {
        c.sdk.recv_stream(t, MediaType::VideoMajor, true)
    }),
    ("pull unauthorised audio", |c, t, _| {
        c.sdk.recv_stream(t, MediaType::Audio, true)
    }),
    ("check unauthorised video", |c, t, _| {
        c.sdk.check(MediaKind::Video, t, true)
    }),
];

#[test]
fn every_privileged_call_from_every_role_that_may_not_is_refused() {
    let lesson = Lesson::start(&["teacher", "class1", "class2", "class3", "class4"]);
    let [teacher, class1, class2, class3, class4] = &lesson.clients[..] else {
        unreachable!()
    };
    assert_eq!(class1.sdk.apply_master(true), Ok(()));
    assert_eq!(teacher.sdk.set_interact(id_of("class2")), Ok(()));
    assert_eq!(class3.sdk.apply_talk(true), Ok(()));
    assert_eq!(class3.sdk.apply_aux(true), Ok(()));
    // Everyone has seen the hand go up (the checks below read each client's cache).
    let last = id_of("class3");
    for client in &lesson.clients {
        client
            .log
            .wait_state(StateId::UserReqTalk, |s| user_id(s) == Some(last));
    }

    let may_not = [
        ("interactive", class2),
        ("hand raised + aux", class3),
        ("listener", class4),
    ];
    let mut refused = 0;
    for (role, caller) in may_not {
        let me = caller.own_id();
        // Targets: a listener other than the caller (never the master or interactive user,
        // whom the interactive user may pull), and a third user to grant to.
        let target = if me == id_of("class4") {
            id_of("class3")
        } else {
            id_of("class4")
        };
        let third = if me == id_of("class2") {
            id_of("class3")
        } else {
            id_of("class2")
        };
        for (call, make) in PRIVILEGED {
            assert_eq!(
                make(caller, target, third),
                Err(ErrorCode::AccessErr),
                "{role} may not {call}"
            );
            refused += 1;
        }
        // The chair may never be kicked or silenced, not even by the master.
        assert_eq!(caller.sdk.kick(id_of("teacher")), Err(ErrorCode::AccessErr));
    }
    assert_eq!(refused, 3 * PRIVILEGED.len());
    assert_eq!(class1.sdk.kick(id_of("teacher")), Err(ErrorCode::AccessErr));

    // Nothing changed: nobody broadcasts, class3's hand is still up, the pairing stands,
    // everyone is still in the room.
    for client in &lesson.clients {
        assert_eq!(client.sdk.user_count(), Ok(5));
        for name in ["class2", "class3", "class4"] {
            let user = client.user(id_of(name));
            assert!(!user.bcast_video && !user.bcast_audio, "{name}");
        }
        assert_eq!(client.user(last).audio_state, 1, "the hand is still raised");
    }

    // The moderators may (the positive control of the same calls).
    let listener = id_of("class4");
    for moderator in [teacher, class1] {
        assert_eq!(
            moderator.sdk.bcast(MediaKind::Video, listener, true),
            Ok(())
        );
        assert_eq!(
            moderator.sdk.bcast(MediaKind::Video, listener, false),
            Ok(())
        );
        assert_eq!(
            moderator
                .sdk
                .auth(MediaKind::Audio, listener, id_of("class3"), true),
            Ok(())
        );
        assert_eq!(
            moderator
                .sdk
                .recv_stream(listener, MediaType::VideoMajor, true),
            Ok(())
        );
    }
    assert_eq!(class1.sdk.ctrl_talk(last, true), Ok(()));
    assert_eq!(teacher.sdk.set_interact(0), Ok(()));
    assert_eq!(class1.sdk.kick(listener), Ok(()));
}
