//! Unit tests of the room core: every operation, every refusal (role × operation table).

use std::time::Duration;

use bytes::Bytes;
use conference_proto::frame::{FRAME_HEADER_LEN, MAX_CONTROL_FRAME};
use conference_proto::message::StateId;
use conference_proto::pb::{
    self, client_message::Body, event::Extra, server_message::Body as SBody,
};
use conference_proto::{ErrorCode, MediaType};
use prost::Message;

use super::*;
use crate::config::{Account, RoomSpec};

const T: UserId = 1; // chair
const M: UserId = 2; // becomes master
const A: UserId = 3;
const B: UserId = 4;
const C: UserId = 5;
const ROOM: RoomId = 10;
const SMALL: RoomId = 20; // max 2 users
const LATER: RoomId = 30; // opens in the future
const OVER: RoomId = 40; // closed in the past

const OK: u32 = 0;
fn code(e: ErrorCode) -> u32 {
    e.code()
}

fn config() -> Config {
    let account = |id: u32, name: &str, chair: bool| Account {
        id,
        username: name.into(),
        nickname: format!("nick-{name}"),
        password_hash: String::new(),
        chair,
    };
    let room = |id, max_users, start_time, end_time| RoomSpec {
        id,
        name: format!("room {id}"),
        creator_id: T,
        start_time,
        end_time,
        max_users,
    };
    Config {
        admin: Default::default(),
        tls: Default::default(),
        login: Default::default(),
        cluster: Default::default(),
        server_name: "test".into(),
        heartbeat_ms: 1000,
        max_connections: 100,
        resume_window_ms: 10_000,
        accounts: vec![
            account(T, "t", true),
            account(M, "m", false),
            account(A, "a", false),
            account(B, "b", false),
            account(C, "c", false),
        ],
        rooms: vec![
            room(ROOM, 50, 0, 0),
            room(SMALL, 2, 0, 0),
            room(LATER, 5, 2_000_000, 0),
            room(OVER, 5, 0, 500_000),
        ],
    }
}

/// Decoded output for one connection.
#[derive(Debug, Clone, PartialEq)]
enum Got {
    Event(pb::Event),
    Update(Vec<pb::UserInfo>),
    Response(pb::Response),
    Close(u32),
    /// `StreamDemand{watched, seq}`.
    Demand(u32, u32),
}

struct World {
    core: Core,
    now: Now,
    next_id: u32,
    /// Everything not yet inspected, per connection (conn = user id).
    log: Vec<(ConnId, Got)>,
    routes: Vec<(ConnId, UserId, StreamRoutes)>,
    /// Log in with `Hello.stream_demand`.
    stream_demand: bool,
}

fn decode(frame: &Bytes) -> SBody {
    assert!(frame.len() <= MAX_CONTROL_FRAME + FRAME_HEADER_LEN);
    pb::ServerMessage::decode(&frame[FRAME_HEADER_LEN..])
        .unwrap()
        .body
        .unwrap()
}

impl World {
    fn new() -> World {
        World {
            core: Core::new(&config(), Limits::default()),
            now: Now {
                mono: std::time::Instant::now(),
                unix: 1_000_000,
            },
            next_id: 1,
            log: Vec::new(),
            routes: Vec::new(),
            stream_demand: false,
        }
    }

    fn input(&mut self, input: Input) {
        let mut out = Vec::new();
        self.core.handle(self.now, input, &mut out);
        for output in out {
            match output {
                Output::Send { conn, frame } => {
                    let got = match decode(&frame) {
                        SBody::Event(e) => Got::Event(e),
                        SBody::UserUpdate(u) => Got::Update(u.users),
                        SBody::Response(r) => Got::Response(r),
                        SBody::StreamDemand(d) => Got::Demand(d.watched, d.seq),
                        other => panic!("unexpected {other:?}"),
                    };
                    self.log.push((conn, got));
                }
                Output::Close { conn, code } => self.log.push((conn, Got::Close(code.code()))),
                Output::Routes {
                    conn,
                    user_id,
                    streams,
                } => self.routes.push((conn, user_id, streams)),
            }
        }
    }

    fn login(&mut self, user: UserId) {
        self.login_on(user as ConnId, user);
    }

    fn login_on(&mut self, conn: ConnId, user: UserId) {
        self.input(Input::Login {
            conn,
            request_id: 1,
            user,
            stream_demand: self.stream_demand,
            scram_final: String::new(),
            resume: None,
        });
        let resp = self.response(conn);
        assert_eq!(resp.code, OK);
        self.clear();
    }

    fn req(&mut self, user: UserId, body: Body) -> u32 {
        self.req_on(user as ConnId, body)
    }

    fn req_on(&mut self, conn: ConnId, body: Body) -> u32 {
        let request_id = self.next_id;
        self.next_id += 1;
        self.input(Input::Request {
            conn,
            request_id,
            body,
        });
        let response = self.response(conn);
        assert_eq!(response.request_id, request_id);
        response.code
    }

    /// The caller's response, which must be its last output.
    fn response(&mut self, conn: ConnId) -> pb::Response {
        let pos = self
            .log
            .iter()
            .rposition(|(c, g)| *c == conn && matches!(g, Got::Response(_)))
            .expect("a response");
        assert!(
            !self.log[pos + 1..].iter().any(|(c, _)| *c == conn),
            "the response comes last for the caller"
        );
        match self.log.remove(pos).1 {
            Got::Response(r) => r,
            _ => unreachable!(),
        }
    }

    fn join(&mut self, user: UserId, room: RoomId) -> u32 {
        self.req(user, Body::JoinRoom(pb::JoinRoom { room_id: room }))
    }

    /// Logs in and joins each user, then forgets the outputs.
    fn enter(&mut self, users: &[UserId]) {
        for &user in users {
            self.login(user);
            assert_eq!(self.join(user, ROOM), OK);
        }
        self.clear();
    }

    fn clear(&mut self) {
        self.log.clear();
        self.routes.clear();
    }

    /// Events received by `user` (taken out of the log).
    fn events(&mut self, user: UserId) -> Vec<pb::Event> {
        let conn = user as ConnId;
        let mut events = Vec::new();
        self.log.retain(|(c, g)| match g {
            Got::Event(e) if *c == conn => {
                events.push(e.clone());
                false
            }
            _ => true,
        });
        events
    }

    fn states(&mut self, user: UserId) -> Vec<StateId> {
        self.events(user)
            .iter()
            .map(|e| StateId::from_u32(e.state).unwrap())
            .collect()
    }

    fn updates(&mut self, user: UserId) -> Vec<pb::UserInfo> {
        let conn = user as ConnId;
        let mut users = Vec::new();
        self.log.retain(|(c, g)| match g {
            Got::Update(u) if *c == conn => {
                users.extend(u.iter().cloned());
                false
            }
            _ => true,
        });
        users
    }

    fn closes(&mut self) -> Vec<(ConnId, u32)> {
        let mut closes = Vec::new();
        self.log.retain(|(c, g)| match g {
            Got::Close(code) => {
                closes.push((*c, *code));
                false
            }
            _ => true,
        });
        closes
    }

    /// Latest route table published for `user`'s connection.
    fn route(&self, user: UserId) -> Option<&StreamRoutes> {
        self.routes
            .iter()
            .rev()
            .find(|(c, _, _)| *c == user as ConnId)
            .map(|(_, _, s)| s)
    }

    fn subscribers(&self, user: UserId, stream: MediaType) -> Option<Vec<ConnId>> {
        self.route(user)
            .and_then(|r| r[stream as usize - 1].as_ref().map(|s| s.to_vec()))
    }

    fn advance(&mut self, ms: u64) {
        self.now.mono += Duration::from_millis(ms);
    }

    /// T (chair), M (master), A, B in ROOM; B has raised its hand.
    fn classroom() -> World {
        let mut w = World::new();
        w.enter(&[T, M, A, B]);
        assert_eq!(w.req(M, apply_master(true)), OK);
        assert_eq!(w.req(B, apply_talk(true)), OK);
        w.clear();
        w
    }
}

fn apply_master(on: bool) -> Body {
    Body::ApplyMaster(pb::ApplyMaster { on })
}
fn apply_talk(on: bool) -> Body {
    Body::ApplyTalk(pb::ApplyTalk { on })
}
fn apply_aux(on: bool) -> Body {
    Body::ApplyAux(pb::ApplyAux { on })
}
fn ctrl_talk(user_id: UserId, on: bool) -> Body {
    Body::CtrlTalk(pb::CtrlTalk { user_id, on })
}
fn kick(user_id: UserId) -> Body {
    Body::Kick(pb::Kick { user_id })
}
fn auth(kind: pb::MediaKind, src_id: UserId, dst_id: UserId, on: bool) -> Body {
    Body::Auth(pb::Auth {
        kind: kind as i32,
        src_id,
        dst_id,
        on,
    })
}
fn bcast(kind: pb::MediaKind, user_id: UserId, on: bool) -> Body {
    Body::Bcast(pb::Bcast {
        kind: kind as i32,
        user_id,
        on,
    })
}
fn check(kind: pb::MediaKind, user_id: UserId, on: bool) -> Body {
    Body::Check(pb::Check {
        kind: kind as i32,
        user_id,
        on,
    })
}
fn subscribe(user_id: UserId, media_type: MediaType, on: bool) -> Body {
    Body::Subscribe(pb::Subscribe {
        user_id,
        media_type: media_type as u32,
        on,
    })
}
fn set_interact(user_id: UserId) -> Body {
    Body::SetInteract(pb::SetInteract { user_id })
}
fn invite(user_id: UserId, kind: pb::InviteType, on: bool) -> Body {
    Body::Invite(pb::Invite {
        user_id,
        invite_type: kind as i32,
        on,
    })
}
fn answer(user_id: UserId, accept: bool) -> Body {
    Body::AnswerInvite(pb::AnswerInvite { user_id, accept })
}
fn chat(dst_id: UserId, content: &[u8]) -> Body {
    Body::Chat(pb::Chat {
        dst_id,
        color: 7,
        content: Bytes::copy_from_slice(content),
    })
}
fn transparent(dst_id: UserId, data_type: u32, data: Vec<u8>) -> Body {
    Body::Transparent(pb::Transparent {
        dst_id,
        data_type,
        data: data.into(),
    })
}
fn leave() -> Body {
    Body::LeaveRoom(pb::LeaveRoom {})
}

use pb::InviteType::{Audio as IAudio, Video as IVideo};
use pb::MediaKind::{Audio as KAudio, Video as KVideo};

#[test]
fn role_by_operation_table() {
    // (operation, caller, expected code) in the classroom: T chair, M master, A and B
    // listeners, B's hand raised. Each row runs in a fresh classroom.
    let access = code(ErrorCode::AccessErr);
    let state = code(ErrorCode::StateErr);
    let not_found = code(ErrorCode::NotFindUserErr);
    let param = code(ErrorCode::ParamErr);
    let rows: Vec<(&str, UserId, Body, u32)> = vec![
        ("kick by chair", T, kick(B), OK),
        ("kick by master", M, kick(B), OK),
        ("kick by listener", A, kick(B), access),
        ("kick the chair", M, kick(T), access),
        ("kick oneself", M, kick(M), access),
        ("kick unknown", M, kick(99), not_found),
        (
            "master by listener while taken",
            A,
            apply_master(true),
            state,
        ),
        ("master by chair takes over", T, apply_master(true), OK),
        ("master again by master", M, apply_master(true), OK),
        (
            "give up master by non-master",
            A,
            apply_master(false),
            state,
        ),
        ("give up master by master", M, apply_master(false), OK),
        ("raise hand", A, apply_talk(true), OK),
        ("raise raised hand", B, apply_talk(true), state),
        ("lower raised hand", B, apply_talk(false), OK),
        ("lower unraised hand", A, apply_talk(false), state),
        ("accept talk by master", M, ctrl_talk(B, true), OK),
        ("accept talk by chair", T, ctrl_talk(B, true), OK),
        ("accept talk by listener", A, ctrl_talk(B, true), access),
        ("accept own talk by listener", B, ctrl_talk(B, true), access),
        ("accept talk, hand not raised", M, ctrl_talk(A, true), state),
        ("reject talk by master", M, ctrl_talk(B, false), OK),
        ("stop silent user", M, ctrl_talk(A, false), state),
        ("give up own hand", B, ctrl_talk(B, false), OK),
        ("give up, nothing to give up", A, ctrl_talk(A, false), state),
        ("ctrl talk unknown user", M, ctrl_talk(99, true), not_found),
        ("take aux", A, apply_aux(true), OK),
        ("release aux not held", A, apply_aux(false), state),
        ("auth by master", M, auth(KVideo, A, B, true), OK),
        ("auth by chair", T, auth(KAudio, A, B, true), OK),
        ("auth own stream", A, auth(KVideo, A, B, true), OK),
        (
            "auth someone else's stream",
            A,
            auth(KVideo, B, A, true),
            access,
        ),
        ("auth unknown dst", M, auth(KVideo, A, 99, true), not_found),
        ("auth unknown src", M, auth(KVideo, 99, A, true), not_found),
        ("auth to oneself", M, auth(KVideo, A, A, true), param),
        (
            "auth bad kind",
            M,
            Body::Auth(pb::Auth {
                kind: 9,
                src_id: A,
                dst_id: B,
                on: true,
            }),
            param,
        ),
        ("bcast by master", M, bcast(KVideo, A, true), OK),
        ("bcast by chair", T, bcast(KAudio, A, true), OK),
        ("bcast by listener", A, bcast(KVideo, A, true), access),
        ("bcast unknown", M, bcast(KVideo, 99, true), not_found),
        ("interact by master", M, set_interact(A), OK),
        ("interact by chair", T, set_interact(A), OK),
        ("interact by listener", A, set_interact(B), access),
        ("interact with the master", T, set_interact(M), state),
        ("interact unknown", M, set_interact(99), not_found),
        ("interact cleared", M, set_interact(0), OK),
        ("check by master", M, check(KVideo, A, true), OK),
        ("check by chair", T, check(KAudio, A, true), OK),
        ("check unauthorised", A, check(KVideo, B, true), access),
        ("check oneself", M, check(KVideo, M, true), param),
        ("check unknown", M, check(KVideo, 99, true), not_found),
        (
            "recv by master",
            M,
            subscribe(A, MediaType::VideoMajor, true),
            OK,
        ),
        (
            "recv unauthorised",
            A,
            subscribe(B, MediaType::Audio, true),
            access,
        ),
        (
            "recv aux of anyone",
            A,
            subscribe(B, MediaType::VideoMinor, true),
            OK,
        ),
        (
            "recv bad type",
            M,
            Body::Subscribe(pb::Subscribe {
                user_id: A,
                media_type: 9,
                on: true,
            }),
            param,
        ),
        (
            "recv stop, not subscribed",
            A,
            subscribe(B, MediaType::Audio, false),
            OK,
        ),
        ("invite by master", M, invite(A, IVideo, true), OK),
        ("join request by listener", A, invite(M, IAudio, true), OK),
        ("invite oneself", A, invite(A, IAudio, true), param),
        ("invite unknown", A, invite(99, IAudio, true), not_found),
        ("withdraw nothing", A, invite(B, IAudio, false), state),
        ("answer nothing", A, answer(B, true), state),
        ("answer unknown", A, answer(99, true), not_found),
        ("chat to all", A, chat(0, b"hi"), OK),
        ("chat to unknown", A, chat(99, b"hi"), not_found),
        ("chat too long", A, chat(0, &[b'x'; 128]), param),
        ("chat longest", A, chat(B, &[b'x'; 127]), OK),
        ("data to all", A, transparent(0, 0, vec![1; 65_536]), OK),
        (
            "data too long",
            A,
            transparent(0, 0, vec![1; 65_537]),
            param,
        ),
        ("data bad type", A, transparent(0, 2, vec![1]), param),
        ("data to unknown", A, transparent(99, 1, vec![1]), not_found),
        (
            "join while in a room",
            A,
            Body::JoinRoom(pb::JoinRoom { room_id: SMALL }),
            code(ErrorCode::ReloginedErr),
        ),
        (
            "hello again",
            A,
            Body::Hello(pb::Hello::default()),
            code(ErrorCode::ReloginedErr),
        ),
        ("leave", A, leave(), OK),
    ];
    for (name, caller, body, expected) in rows {
        let mut w = World::classroom();
        let got = w.req(caller, body);
        assert_eq!(
            got, expected,
            "{name}: got {got:#x}, expected {expected:#x}"
        );
        if expected != OK {
            assert!(
                w.log
                    .iter()
                    .all(|(_, g)| !matches!(g, Got::Event(_) | Got::Update(_))),
                "{name}: a refused request emits nothing: {:?}",
                w.log
            );
            assert!(w.routes.is_empty(), "{name}: no route change");
        }
    }
}

#[test]
fn room_requests_outside_a_room_are_not_logged_in() {
    let mut w = World::new();
    w.login(A);
    w.login(B);
    let not_login = code(ErrorCode::NotLoginErr);
    for body in [
        leave(),
        kick(B),
        apply_master(true),
        apply_talk(true),
        apply_aux(true),
        ctrl_talk(A, false),
        auth(KVideo, A, B, true),
        bcast(KVideo, A, true),
        set_interact(B),
        check(KVideo, B, true),
        subscribe(B, MediaType::Audio, true),
        invite(B, IVideo, true),
        answer(B, true),
        chat(0, b"x"),
        transparent(0, 0, vec![]),
    ] {
        assert_eq!(w.req(A, body.clone()), not_login, "{body:?}");
    }
}

#[test]
fn join_refusals_and_presence() {
    let mut w = World::new();
    for user in [T, M, A, B] {
        w.login(user);
    }
    assert_eq!(w.join(A, 999), code(ErrorCode::RoomUnexist));
    assert_eq!(w.join(A, LATER), code(ErrorCode::RoomOverdue));
    assert_eq!(w.join(A, OVER), code(ErrorCode::RoomOverdue));
    assert_eq!(w.join(A, SMALL), OK);
    assert_eq!(w.join(B, SMALL), OK);
    assert_eq!(w.join(M, SMALL), code(ErrorCode::RoomFull));
    w.clear();

    // Presence in ROOM: the joiner gets everyone, the others USER_ENTER.
    assert_eq!(w.join(T, ROOM), OK);
    w.clear();
    w.input(Input::Request {
        conn: M as ConnId,
        request_id: 77,
        body: Body::JoinRoom(pb::JoinRoom { room_id: ROOM }),
    });
    let response = w.response(M as ConnId);
    let Some(pb::response::Result::Joined(joined)) = response.result else {
        panic!("no RoomJoined");
    };
    assert_eq!(joined.room.as_ref().unwrap().cur_users, 2);
    assert_eq!(joined.self_.as_ref().unwrap().id, M);
    assert_eq!(joined.self_.as_ref().unwrap().nickname, "nick-m");
    assert_eq!(
        joined.users.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![T, M]
    );
    // The chair is a moderator: it may pull M (auth 2); M sees T as 0.
    assert_eq!(joined.users[0].auth_video, 0);
    assert!(joined.users[0].is_chair);
    let enter = w.events(T);
    assert_eq!(enter.len(), 1);
    assert_eq!(enter[0].state, StateId::UserEnter.id());
    assert_eq!(enter[0].user.as_ref().unwrap().auth_video, 2);
    assert_eq!(
        w.subscribers(M, MediaType::Audio),
        Some(vec![]),
        "in a room: may send audio"
    );
    assert_eq!(w.subscribers(M, MediaType::VideoMinor), None, "no aux slot");
}

#[test]
fn leave_releases_everything_in_order() {
    let mut w = World::classroom();
    assert_eq!(w.req(M, set_interact(A)), OK);
    assert_eq!(w.req(M, apply_talk(true)), OK);
    assert_eq!(w.req(M, apply_aux(true)), OK);
    assert_eq!(w.req(A, subscribe(M, MediaType::VideoMinor, true)), OK);
    assert_eq!(w.req(M, subscribe(B, MediaType::Audio, true)), OK);
    w.clear();
    assert_eq!(w.req(M, leave()), OK);
    let mine = w.events(M);
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].state, StateId::RoomExit.id());
    assert_eq!(mine[0].result, OK);
    use StateId::*;
    assert_eq!(
        w.states(A),
        vec![UserChair, UpdateInteract, UserTalk, UserAux, UserLeave]
    );
    // B lost its only viewer.
    let b = w.events(B);
    let looked: Vec<_> = b
        .iter()
        .filter_map(|e| match &e.extra {
            Some(Extra::Looked(l)) => Some((l.viewer_id, l.ctrl)),
            _ => None,
        })
        .collect();
    assert_eq!(looked, vec![(M, 0)]);
    assert_eq!(b.last().unwrap().state, UserLeave.id());
    assert_eq!(w.subscribers(M, MediaType::Audio), None, "out of the room");
    assert_eq!(w.subscribers(B, MediaType::Audio), Some(vec![]));
    // M can come back, as a plain listener.
    assert_eq!(w.join(M, ROOM), OK);
}

#[test]
fn a_suspended_user_keeps_everything_and_the_room_sees_only_its_signal() {
    let mut w = World::classroom();
    assert_eq!(w.req(M, set_interact(A)), OK);
    assert_eq!(w.req(A, subscribe(M, MediaType::VideoMajor, true)), OK);
    w.clear();
    w.input(Input::Suspended { conn: M as ConnId });
    assert!(w.events(A).is_empty(), "no event: not a leave");
    let seen: Vec<_> = w.updates(A).into_iter().filter(|u| u.id == M).collect();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].signal_status, 0);
    assert!(seen[0].is_master, "still the master");
    assert!(w.closes().is_empty());
    w.clear();
    // Back within the window: tables that list M are published again, signal restored.
    w.advance(9_000);
    w.input(Input::Tick);
    w.input(Input::Resumed { conn: M as ConnId });
    assert_eq!(
        w.subscribers(M, MediaType::VideoMajor),
        Some(vec![A as ConnId])
    );
    assert!(w.route(A).is_some() && w.route(T).is_some() && w.route(B).is_some());
    assert!(w.events(A).is_empty());
    let seen: Vec<_> = w.updates(A).into_iter().filter(|u| u.id == M).collect();
    assert_eq!(seen[0].signal_status, 5);
    assert_eq!(w.core.suspended_sessions(), 0);
}

#[test]
fn a_session_suspended_past_the_window_is_released_as_a_leave() {
    let mut w = World::classroom();
    w.input(Input::Suspended { conn: B as ConnId });
    w.clear();
    w.advance(9_999);
    w.input(Input::Tick);
    assert!(w.events(A).is_empty());
    w.advance(1);
    w.input(Input::Tick);
    use StateId::*;
    assert_eq!(
        w.states(A),
        vec![UserTalk, UserLeave],
        "hand lowered, then gone"
    );
    assert_eq!(
        w.closes(),
        vec![(B as ConnId, code(ErrorCode::NvalidSessionErr))]
    );
    assert_eq!(w.core.sessions(), 3);
}

#[test]
fn a_joiner_gets_the_roster_in_join_order() {
    let mut w = World::new();
    w.enter(&[B, T, A]);
    w.login(M);
    let joined_ids = |w: &mut World, user: UserId| {
        w.input(Input::Request {
            conn: user as ConnId,
            request_id: 5,
            body: Body::JoinRoom(pb::JoinRoom { room_id: ROOM }),
        });
        let Some(pb::response::Result::Joined(joined)) = w.response(user as ConnId).result else {
            panic!("no RoomJoined");
        };
        joined.users.iter().map(|u| u.id).collect::<Vec<_>>()
    };
    assert_eq!(joined_ids(&mut w, M), vec![B, T, A, M]);
    // A leaver's place is gone; a rejoiner goes to the end.
    assert_eq!(w.req(T, Body::LeaveRoom(pb::LeaveRoom {})), OK);
    assert_eq!(w.req(M, Body::LeaveRoom(pb::LeaveRoom {})), OK);
    assert_eq!(w.join(T, ROOM), OK);
    assert_eq!(joined_ids(&mut w, M), vec![B, A, T, M]);
}

#[test]
fn kick_tells_everyone_in_order() {
    let mut w = World::classroom();
    assert_eq!(w.req(M, kick(B)), OK);
    let kicked = w.events(B);
    assert_eq!(kicked.len(), 2);
    assert_eq!(kicked[0].state, StateId::UserKicked.id());
    assert_eq!(kicked[0].user.as_ref().unwrap().id, B);
    assert_eq!(kicked[1].state, StateId::RoomExit.id());
    assert_eq!(kicked[1].result, code(ErrorCode::KickOut));
    use StateId::*;
    assert_eq!(w.states(A), vec![UserKicked, UserTalk, UserLeave]);
    assert_eq!(w.states(M), vec![UserKicked, UserTalk, UserLeave]);
    // Still logged in: may join again.
    assert_eq!(w.join(B, ROOM), OK);
}

#[test]
fn second_login_wins() {
    let mut w = World::classroom();
    w.input(Input::Login {
        conn: 100,
        request_id: 1,
        user: A,
        stream_demand: false,
        scram_final: String::new(),
        resume: None,
    });
    let old = w.events(A);
    assert_eq!(old[0].state, StateId::RoomExit.id());
    assert_eq!(old[0].result, code(ErrorCode::ReloginedErr));
    assert_eq!(
        w.closes(),
        vec![(A as ConnId, code(ErrorCode::ReloginedErr))]
    );
    assert_eq!(w.states(B), vec![StateId::UserLeave]);
    assert_eq!(w.response(100).code, OK);
    // The new connection is the user now.
    assert_eq!(
        w.req_on(100, Body::JoinRoom(pb::JoinRoom { room_id: ROOM })),
        OK
    );
}

#[test]
fn master_changes_refresh_views_and_end_the_pairing() {
    let mut w = World::classroom();
    assert_eq!(w.req(M, set_interact(A)), OK);
    w.clear();
    assert_eq!(w.req(T, apply_master(true)), OK);
    use StateId::*;
    assert_eq!(w.states(B), vec![UserChair, UpdateInteract, UserChair]);
    // M lost moderator rights: its view of everyone is refreshed.
    let refreshed = w.updates(M);
    assert!(refreshed.iter().any(|u| u.id == B && u.auth_video == 0));
    assert_eq!(w.req(M, apply_master(true)), code(ErrorCode::StateErr));
    assert_eq!(w.req(T, apply_master(false)), OK);
    assert_eq!(w.req(A, apply_master(true)), OK, "free again");
}

#[test]
fn talk_flow() {
    let mut w = World::classroom();
    assert_eq!(w.req(M, ctrl_talk(B, true)), OK);
    let e = w.events(A);
    assert_eq!(e[0].state, StateId::UserTalk.id());
    assert_eq!(e[0].user.as_ref().unwrap().audio_state, 2);
    assert_eq!(
        w.req(B, apply_talk(false)),
        code(ErrorCode::StateErr),
        "talking, not raised"
    );
    assert_eq!(w.req(B, ctrl_talk(B, false)), OK, "gives up");
    assert_eq!(w.req(A, apply_talk(true)), OK);
    let e = w.events(M);
    assert_eq!(e.last().unwrap().state, StateId::UserReqTalk.id());
    assert_eq!(e.last().unwrap().user.as_ref().unwrap().audio_state, 1);
    assert_eq!(w.req(M, ctrl_talk(A, false)), OK, "rejected");
    assert_eq!(
        w.events(A)
            .last()
            .unwrap()
            .user
            .as_ref()
            .unwrap()
            .audio_state,
        0
    );
}

#[test]
fn aux_slots() {
    let mut w = World::classroom();
    assert_eq!(w.req(A, apply_aux(true)), OK);
    let e = w.events(B);
    let Some(Extra::Aux(aux)) = &e[0].extra else {
        panic!()
    };
    assert_eq!((aux.user_id, aux.response, aux.media_type), (A, 1, 3));
    assert_eq!(e[0].user.as_ref().unwrap().aux_slots, 1);
    assert_eq!(w.subscribers(A, MediaType::VideoMinor), Some(vec![]));
    assert_eq!(w.subscribers(A, MediaType::VideoMinor2), None);
    assert_eq!(w.req(A, apply_aux(true)), OK, "a second slot");
    let e = w.events(B);
    let Some(Extra::Aux(aux)) = &e[0].extra else {
        panic!()
    };
    assert_eq!(aux.media_type, 4);
    w.clear();
    assert_eq!(w.req(B, apply_aux(true)), code(ErrorCode::OutOfResources));
    let e = w.events(B);
    assert_eq!(e.len(), 1, "the caller alone hears of the failure");
    let Some(Extra::Aux(aux)) = &e[0].extra else {
        panic!()
    };
    assert_eq!((aux.user_id, aux.response), (B, 0));
    assert!(w.events(A).is_empty());
    assert_eq!(w.req(A, apply_aux(false)), OK);
    assert_eq!(w.events(M).len(), 2, "one release per slot");
    assert_eq!(w.subscribers(A, MediaType::VideoMinor), None);
    assert_eq!(w.req(B, apply_aux(true)), OK);
}

#[test]
fn grants_authorise_and_revocation_unsubscribes() {
    let mut w = World::classroom();
    assert_eq!(
        w.req(A, subscribe(B, MediaType::VideoMajor, true)),
        code(ErrorCode::AccessErr)
    );
    assert_eq!(w.req(B, auth(KVideo, B, A, true)), OK);
    let e = w.events(A);
    assert_eq!(e[0].state, StateId::UserBcast.id());
    assert_eq!(
        e[0].user.as_ref().unwrap().auth_video,
        2,
        "A may pull B now"
    );
    assert_eq!(w.events(M)[0].user.as_ref().unwrap().auth_video, 2);
    assert_eq!(
        w.events(T)[0].user.as_ref().unwrap().auth_audio,
        2,
        "chair pulls anyone"
    );
    w.clear();
    assert_eq!(w.req(A, subscribe(B, MediaType::VideoMajor, true)), OK);
    let looked = w.events(B);
    let Some(Extra::Looked(l)) = &looked[0].extra else {
        panic!()
    };
    assert_eq!((l.viewer_id, l.media_type, l.ctrl), (A, 2, 1));
    assert_eq!(
        w.subscribers(B, MediaType::VideoMajor),
        Some(vec![A as ConnId])
    );
    assert_eq!(
        w.req(A, subscribe(B, MediaType::Audio, true)),
        code(ErrorCode::AccessErr),
        "video only"
    );
    w.clear();
    assert_eq!(w.req(M, auth(KVideo, B, A, false)), OK);
    assert_eq!(w.subscribers(B, MediaType::VideoMajor), Some(vec![]));
    let e = w.events(B);
    assert!(
        e.iter()
            .any(|e| matches!(&e.extra, Some(Extra::Looked(l)) if l.ctrl == 0))
    );
}

#[test]
fn broadcast_lets_everyone_pull() {
    let mut w = World::classroom();
    assert_eq!(w.req(M, bcast(KAudio, B, true)), OK);
    let e = w.events(A);
    assert_eq!(e[0].state, StateId::UserBcast.id());
    assert!(e[0].user.as_ref().unwrap().bcast_audio);
    assert_eq!(e[0].user.as_ref().unwrap().auth_audio, 2);
    assert_eq!(w.req(A, subscribe(B, MediaType::Audio, true)), OK);
    assert_eq!(w.req(M, subscribe(B, MediaType::Audio, true)), OK);
    w.clear();
    assert_eq!(w.req(M, bcast(KAudio, B, false)), OK);
    assert_eq!(
        w.subscribers(B, MediaType::Audio),
        Some(vec![M as ConnId]),
        "the master keeps pulling, A is cut"
    );
}

#[test]
fn interactive_pairing() {
    let mut w = World::new();
    w.enter(&[T, A, B]);
    assert_eq!(
        w.req(T, set_interact(A)),
        code(ErrorCode::StateErr),
        "no master"
    );
    assert_eq!(w.req(B, apply_master(true)), OK);
    w.clear();
    assert_eq!(w.req(B, set_interact(A)), OK);
    let e = w.events(T);
    assert_eq!(e[0].state, StateId::UpdateInteract.id());
    assert_eq!(e[0].user.as_ref().unwrap().id, A);
    let refreshed = w.updates(A);
    assert!(
        refreshed
            .iter()
            .any(|u| u.id == B && u.auth_video == 2 && u.auth_audio == 2)
    );
    assert_eq!(w.req(A, subscribe(B, MediaType::Audio, true)), OK);
    assert_eq!(w.req(B, set_interact(0)), OK);
    let e = w.events(T);
    assert!(e.last().unwrap().user.is_none(), "cleared: no user");
    assert_eq!(w.subscribers(B, MediaType::Audio), Some(vec![]));
}

#[test]
fn the_core_says_when_it_has_work_of_its_own() {
    let mut w = World::classroom();
    assert_eq!(
        w.core.poll_timeout(w.now),
        None,
        "idle: nothing until an input"
    );
    assert_eq!(w.req(M, bcast(KVideo, A, true)), OK);
    assert_eq!(w.req(B, subscribe(A, MediaType::VideoMajor, true)), OK);
    w.advance(100);
    assert_eq!(w.req(M, subscribe(A, MediaType::VideoMajor, true)), OK);
    // The throttled LOOKED is due 500 ms after the first.
    assert_eq!(
        w.core.poll_timeout(w.now),
        Some(w.now.mono + Duration::from_millis(400))
    );
    w.advance(400);
    w.input(Input::Tick);
    assert_eq!(w.core.poll_timeout(w.now), None);
    // A suspended session: due when its window ends.
    w.input(Input::Suspended { conn: B as ConnId });
    assert_eq!(
        w.core.poll_timeout(w.now),
        Some(w.now.mono + Duration::from_secs(10))
    );
}

#[test]
fn looked_is_throttled_per_stream() {
    let mut w = World::classroom();
    assert_eq!(w.req(M, bcast(KVideo, A, true)), OK);
    w.clear();
    assert_eq!(w.req(B, subscribe(A, MediaType::VideoMajor, true)), OK);
    w.advance(100);
    assert_eq!(w.req(M, subscribe(A, MediaType::VideoMajor, true)), OK);
    assert_eq!(w.req(T, check(KVideo, A, true)), OK);
    assert_eq!(w.events(A).len(), 1, "one key-frame request inside 500 ms");
    w.advance(100);
    w.input(Input::Tick);
    assert!(w.events(A).is_empty());
    w.advance(400);
    w.input(Input::Tick);
    let e = w.events(A);
    assert_eq!(e.len(), 1, "the held-back one");
    let Some(Extra::Looked(l)) = &e[0].extra else {
        panic!()
    };
    assert_eq!((l.viewer_id, l.ctrl), (T, 1));
    w.input(Input::Tick);
    assert!(w.events(A).is_empty());
    // Stopping: LOOKED ctrl 0 only for the last viewer.
    assert_eq!(w.req(B, subscribe(A, MediaType::VideoMajor, false)), OK);
    assert_eq!(w.req(M, check(KVideo, A, false)), OK);
    assert!(w.events(A).is_empty());
    assert_eq!(w.req(T, subscribe(A, MediaType::VideoMajor, false)), OK);
    let e = w.events(A);
    let Some(Extra::Looked(l)) = &e[0].extra else {
        panic!()
    };
    assert_eq!((l.viewer_id, l.ctrl), (T, 0));
}

#[test]
fn invitation_flow() {
    let mut w = World::classroom();
    assert_eq!(w.req(M, invite(A, IVideo, true)), OK);
    let e = w.events(A);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].state, StateId::RecvInvite.id());
    assert_eq!(e[0].extra, Some(Extra::InviteType(IVideo as i32)));
    assert_eq!(e[0].user.as_ref().unwrap().id, M);
    assert_eq!(
        e[0].user.as_ref().unwrap().auth_video,
        1,
        "pending, as A sees M"
    );
    assert!(w.events(B).is_empty(), "only the target");
    assert!(
        w.updates(M).iter().any(|u| u.id == A),
        "the inviter's view refreshed"
    );
    assert_eq!(
        w.req(M, invite(A, IVideo, true)),
        code(ErrorCode::StateErr),
        "duplicate"
    );
    assert_eq!(
        w.req(A, invite(M, IVideo, true)),
        code(ErrorCode::StateErr),
        "crossing"
    );
    assert_eq!(w.req(A, answer(M, true)), OK);
    let e = w.events(M);
    assert_eq!(e[0].state, StateId::AllowInvite.id());
    assert_eq!(e[0].user.as_ref().unwrap().id, A);
    assert!(w.updates(A).iter().any(|u| u.id == M && u.auth_video == 2));
    assert_eq!(
        w.req(A, subscribe(M, MediaType::VideoMajor, true)),
        OK,
        "accepted: authorised"
    );
    assert_eq!(
        w.req(A, answer(M, true)),
        code(ErrorCode::StateErr),
        "nothing pending"
    );
    // Hang up from the invited side.
    w.clear();
    assert_eq!(w.req(A, invite(M, IVideo, false)), OK);
    assert_eq!(w.states(M), vec![StateId::RejectInvite, StateId::Looked]);
    assert_eq!(w.subscribers(M, MediaType::VideoMajor), Some(vec![]));

    // A listener's join request, rejected.
    assert_eq!(w.req(B, invite(M, IAudio, true)), OK);
    assert_eq!(w.states(M), vec![StateId::RecvJoin]);
    assert_eq!(
        w.req(B, answer(M, true)),
        code(ErrorCode::StateErr),
        "not the target"
    );
    assert_eq!(w.req(M, answer(B, false)), OK);
    assert_eq!(w.states(B), vec![StateId::RejectJoin]);
    // Withdrawn before an answer.
    assert_eq!(w.req(B, invite(A, IAudio, true)), OK);
    w.clear();
    assert_eq!(
        w.req(A, invite(B, IAudio, false)),
        code(ErrorCode::StateErr),
        "target cannot withdraw"
    );
    assert_eq!(w.req(B, invite(A, IAudio, false)), OK);
    assert_eq!(w.states(A), vec![StateId::RejectJoin]);
}

#[test]
fn pending_invitations_are_capped() {
    let mut w = World::new();
    let mut config = config();
    for id in 6..=50 {
        config.accounts.push(Account {
            id,
            username: format!("u{id}"),
            nickname: format!("u{id}"),
            password_hash: String::new(),
            chair: false,
        });
    }
    w.core = Core::new(&config, Limits::default());
    let users: Vec<UserId> = (3..=50).collect();
    w.enter(&users);
    for target in 4..4 + 32 {
        assert_eq!(w.req(A, invite(target, IAudio, true)), OK);
    }
    assert_eq!(
        w.req(A, invite(40, IAudio, true)),
        code(ErrorCode::OutOfResources)
    );
}

#[test]
fn chat_routing_and_limits() {
    let mut w = World::classroom();
    assert_eq!(w.req(A, chat(0, b"hello")), OK);
    for user in [T, M, A, B] {
        let e = w.events(user);
        assert_eq!(e.len(), 1, "everyone, the sender included");
        let Some(Extra::Chat(c)) = &e[0].extra else {
            panic!()
        };
        assert_eq!(
            (c.src_id, c.dst_id, c.color, &c.content[..]),
            (A, 0, 7, &b"hello"[..])
        );
        assert_eq!(e[0].user.as_ref().unwrap().id, A);
    }
    assert_eq!(w.req(A, chat(B, b"psst")), OK);
    assert_eq!(w.events(B).len(), 1);
    assert_eq!(w.events(A).len(), 1, "the sender's own copy");
    assert!(w.events(M).is_empty());
    // 10 burst: 2 used.
    for _ in 0..8 {
        assert_eq!(w.req(A, chat(0, b"x")), OK);
    }
    assert_eq!(w.req(A, chat(0, b"x")), code(ErrorCode::MuchVisitedErr));
    w.advance(1000);
    assert_eq!(w.req(A, chat(0, b"x")), OK);
}

#[test]
fn transparent_routing_and_limits() {
    let mut w = World::classroom();
    assert_eq!(w.req(A, transparent(0, 1, b"abc".to_vec())), OK);
    assert!(w.events(A).is_empty(), "not the sender");
    let e = w.events(B);
    let Some(Extra::Transparent(t)) = &e[0].extra else {
        panic!()
    };
    assert_eq!((t.src_id, t.data_type, &t.data[..]), (A, 1, &b"abc"[..]));
    w.clear();
    assert_eq!(w.req(A, transparent(M, 0, vec![0, 1, 2])), OK);
    assert_eq!(w.events(M).len(), 1);
    assert!(w.events(B).is_empty());
    // Bytes: 1 MiB burst, 64 KiB each.
    let mut refused = false;
    for _ in 0..20 {
        if w.req(A, transparent(M, 0, vec![0; 65_536])) == code(ErrorCode::MuchVisitedErr) {
            refused = true;
            break;
        }
    }
    assert!(refused, "the byte budget runs out");
}

#[test]
fn signal_changes_refresh_the_room() {
    let mut w = World::classroom();
    w.input(Input::Signal {
        conn: A as ConnId,
        status: 2,
    });
    for user in [T, M, B] {
        let u = w.updates(user);
        assert_eq!(u.len(), 1);
        assert_eq!((u[0].id, u[0].signal_status), (A, 2));
    }
    assert_eq!(w.updates(A).len(), 1, "its own too");
    w.input(Input::Signal {
        conn: A as ConnId,
        status: 2,
    });
    assert!(w.log.is_empty(), "no change, no update");
}

#[test]
fn disconnect_and_shutdown() {
    let mut w = World::classroom();
    w.input(Input::Disconnected { conn: B as ConnId });
    assert_eq!(w.states(A), vec![StateId::UserTalk, StateId::UserLeave]);
    assert!(w.closes().is_empty());
    w.clear();
    w.login(C);
    w.input(Input::Shutdown);
    for user in [T, M, A] {
        let e = w.events(user);
        assert_eq!(e.len(), 1, "no leave fan-out on shutdown");
        assert_eq!(e[0].state, StateId::RoomExit.id());
        assert_eq!(e[0].result, code(ErrorCode::ServerStoped));
    }
    assert!(w.events(C).is_empty(), "not in a room");
    let mut closes = w.closes();
    closes.sort();
    let stopped = code(ErrorCode::ServerStoped);
    assert_eq!(
        closes,
        vec![(1, stopped), (2, stopped), (3, stopped), (5, stopped)]
    );
    assert_eq!(w.core.sessions(), 0);
}

#[test]
fn rooms_close_at_their_end_time() {
    let mut config = config();
    config.rooms[0].end_time = 1_000_010;
    let mut w = World::new();
    w.core = Core::new(&config, Limits::default());
    w.enter(&[A, B]);
    w.now.unix += 5;
    w.input(Input::Tick);
    assert!(w.log.is_empty());
    w.now.unix += 5;
    w.input(Input::Tick);
    let e = w.events(A);
    assert_eq!(e[0].state, StateId::RoomExit.id());
    assert_eq!(e[0].result, code(ErrorCode::RoomClosed));
    assert_eq!(w.join(A, ROOM), code(ErrorCode::RoomOverdue));
}

#[test]
fn fan_out_shares_frames_between_identical_views() {
    let mut w = World::new();
    let mut out = Vec::new();
    for user in [A, B, C] {
        w.login(user);
    }
    for user in [A, B] {
        assert_eq!(w.join(user, ROOM), OK);
    }
    w.core.handle(
        w.now,
        Input::Request {
            conn: C as ConnId,
            request_id: 9,
            body: Body::JoinRoom(pb::JoinRoom { room_id: ROOM }),
        },
        &mut out,
    );
    let frames: Vec<&Bytes> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send { conn, frame } if *conn != C as ConnId => Some(frame),
            _ => None,
        })
        .collect();
    assert_eq!(frames.len(), 2);
    assert_eq!(
        frames[0].as_ptr(),
        frames[1].as_ptr(),
        "one encoding for both"
    );
}

/// What `user`'s connection received, in order (taken out of the log).
fn received(w: &mut World, user: UserId) -> Vec<Got> {
    let conn = user as ConnId;
    let mut got = Vec::new();
    w.log.retain(|(c, g)| {
        if *c == conn {
            got.push(g.clone());
        }
        *c != conn
    });
    got
}

/// Sends a request without waiting for its answer; returns its id.
fn send(w: &mut World, user: UserId, body: Body) -> u32 {
    let request_id = w.next_id;
    w.next_id += 1;
    w.input(Input::Request {
        conn: user as ConnId,
        request_id,
        body,
    });
    request_id
}

/// The answer to `request_id` of `user`, if it has been sent (taken out of the log).
fn answer_to(w: &mut World, user: UserId, request_id: u32) -> Option<u32> {
    let conn = user as ConnId;
    let pos = w.log.iter().position(|(c, g)| {
        *c == conn && matches!(g, Got::Response(r) if r.request_id == request_id)
    })?;
    match w.log.remove(pos).1 {
        Got::Response(r) => Some(r.code),
        _ => unreachable!(),
    }
}

fn ack(w: &mut World, user: UserId, seq: u32) {
    w.input(Input::Request {
        conn: user as ConnId,
        request_id: 0,
        body: Body::DemandAck(pb::DemandAck { seq }),
    });
}

#[test]
fn stream_demand_tells_a_sender_which_streams_are_watched_before_anything_else() {
    let mut w = World::new();
    w.stream_demand = true;
    w.enter(&[T, A, B]);
    // The chair pulls A's audio: A hears of it first, then LOOKED; the chair's answer waits
    // until A has applied the news.
    let id = send(&mut w, T, subscribe(A, MediaType::Audio, true));
    let got = received(&mut w, A);
    assert_eq!(got[0], Got::Demand(0b0001, 1), "{got:?}");
    assert!(matches!(&got[1], Got::Event(e) if e.state == StateId::Looked as u32));
    assert_eq!(answer_to(&mut w, T, id), None, "held");
    ack(&mut w, A, 1);
    assert_eq!(answer_to(&mut w, T, id), Some(OK));
    // More streams watched: held again; the same stream again: nothing new, answered at once.
    let id = send(&mut w, T, subscribe(A, MediaType::VideoMajor, true));
    assert_eq!(received(&mut w, A)[0], Got::Demand(0b0011, 2));
    ack(&mut w, A, 2);
    assert_eq!(answer_to(&mut w, T, id), Some(OK));
    assert_eq!(w.req(T, subscribe(A, MediaType::VideoMajor, true)), OK);
    assert!(
        received(&mut w, A)
            .iter()
            .all(|g| !matches!(g, Got::Demand(..)))
    );
    // An aux stream is watched only while its slot is held; the sender's own request is
    // answered at once (its news travels ahead of the answer on its own connection).
    assert_eq!(w.req(T, subscribe(A, MediaType::VideoMinor, true)), OK);
    assert!(
        received(&mut w, A)
            .iter()
            .all(|g| !matches!(g, Got::Demand(..)))
    );
    assert_eq!(w.req(A, Body::ApplyAux(pb::ApplyAux { on: true })), OK);
    assert_eq!(received(&mut w, A)[0], Got::Demand(0b0111, 3));
    assert_eq!(w.req(A, Body::ApplyAux(pb::ApplyAux { on: false })), OK);
    assert_eq!(received(&mut w, A)[0], Got::Demand(0b0011, 4));
    // Fewer streams watched: answered at once.
    assert_eq!(w.req(T, subscribe(A, MediaType::Audio, false)), OK);
    assert_eq!(received(&mut w, A)[0], Got::Demand(0b0010, 5));
    // The last viewer leaves: nothing is watched.
    assert_eq!(w.req(T, Body::LeaveRoom(pb::LeaveRoom {})), OK);
    assert!(received(&mut w, A).contains(&Got::Demand(0, 6)));
}

#[test]
fn a_held_answer_goes_when_the_sender_leaves_or_after_the_timeout() {
    let mut w = World::new();
    w.stream_demand = true;
    w.enter(&[T, A, B]);
    let id = send(&mut w, T, subscribe(A, MediaType::Audio, true));
    w.advance(999);
    w.input(Input::Tick);
    assert_eq!(answer_to(&mut w, T, id), None);
    w.advance(1);
    w.input(Input::Tick);
    assert_eq!(answer_to(&mut w, T, id), Some(OK), "after 1 s");

    let id = send(&mut w, T, subscribe(B, MediaType::Audio, true));
    assert_eq!(answer_to(&mut w, T, id), None);
    w.input(Input::Disconnected { conn: B as ConnId });
    assert_eq!(answer_to(&mut w, T, id), Some(OK), "the sender is gone");
    // A refusal is never held.
    assert_eq!(
        w.req(A, subscribe(B, MediaType::Audio, true)),
        code(ErrorCode::NotFindUserErr)
    );
}

#[test]
fn stream_demand_goes_only_to_clients_that_asked_for_it() {
    let mut w = World::new();
    w.enter(&[T, A]);
    assert_eq!(w.req(T, subscribe(A, MediaType::Audio, true)), OK);
    assert!(
        received(&mut w, A)
            .iter()
            .all(|g| !matches!(g, Got::Demand(..)))
    );
    assert_eq!(
        w.subscribers(A, MediaType::Audio),
        Some(vec![T as ConnId]),
        "forwarding is the same"
    );
}
