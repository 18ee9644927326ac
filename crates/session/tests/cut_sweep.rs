//! A scripted lesson cut at every message boundary of class1's link, and inside frames (the
//! frame header, a protobuf body, a media header, the login, the resume itself), each way, on
//! the real MCU behind testkit's fault proxy. The checker compares what every endpoint was
//! told with the same lesson run without a fault: any event lost, doubled or reordered, and
//! any `USER_CLOSE`/`USER_LEAVE`/`USER_ENTER` the lesson did not cause, fails the test.
//! Every cut point is taken (about a hundred lessons, ten seconds).

mod common;

use std::time::{Duration, Instant};

use common::Client;
use conference_proto::frame::{FRAME_HEADER_LEN, FrameBuffer, FrameKind};
use conference_session::{
    DataType, Event, EventExtra, MediaHeader, MediaType, SdkConfig, StateEvent, StateId,
};
use conference_testkit::proxy::{Cut, FaultProxy};
use conference_testkit::{McuProcess, TestConfig};

/// An event as the checker compares it, users by role (each lesson has accounts of its own):
/// LOOKED is left out (its throttle is timing).
fn summary(event: &StateEvent, teacher: u32) -> Option<String> {
    if event.state == StateId::Looked {
        return None;
    }
    let extra = match &event.extra {
        EventExtra::Chat(chat) => format!("chat {}", String::from_utf8_lossy(&chat.content)),
        EventExtra::Transparent(data) => {
            format!("data {}", String::from_utf8_lossy(&data.data))
        }
        EventExtra::Aux(aux) => format!("aux {} {}", aux.response, aux.media_type),
        EventExtra::RoomCount(n) => format!("rooms {n}"),
        _ => String::new(),
    };
    let role = |id: u32| if id == teacher { "teacher" } else { "class1" };
    let extra = extra
        .replace(&format!("{teacher}"), "teacher")
        .replace(&format!("{}", teacher + 1), "class1");
    Some(format!(
        "{:?} {:#x} {:?} {extra}",
        event.state,
        event.result_code(),
        event.user.as_ref().map(|u| role(u.id)),
    ))
}

fn summaries(client: &Client, teacher: u32) -> Vec<String> {
    client
        .log
        .states()
        .iter()
        .filter_map(|e| summary(e, teacher))
        .collect()
}

fn key_frame(seq: u16) -> MediaHeader {
    MediaHeader {
        key_frame: u16::from(seq.is_multiple_of(4)),
        frame_seq: 3,
        timestamp: u64::from(seq) * 40,
        ..Default::default()
    }
}

/// The lesson: roles, chat both ways, data, an aux stream watched by the teacher. Every call
/// must succeed: a cut only delays it.
fn lesson(teacher: &Client, class1: &Client) {
    let (t, c) = (teacher.own_id(), class1.own_id());
    let ok = |what: &str, result: conference_session::Result<()>| {
        result.unwrap_or_else(|e| panic!("{what}: {e:?}"));
    };
    ok("master", teacher.sdk.apply_master(true));
    ok("hand", class1.sdk.apply_talk(true));
    for k in 0..3 {
        ok(
            "chat up",
            class1.sdk.send_chat(0, 0, format!("c1-{k}").as_bytes()),
        );
        ok(
            "chat down",
            teacher.sdk.send_chat(c, 0, format!("t-{k}").as_bytes()),
        );
    }
    ok("talk", teacher.sdk.ctrl_talk(c, true));
    ok(
        "data",
        class1.sdk.send_transparent(t, b"board-1", DataType::String),
    );
    ok("aux", class1.sdk.apply_aux(true));
    ok(
        "watch",
        teacher.sdk.recv_stream(c, MediaType::VideoMinor, true),
    );
    for seq in 0..8u16 {
        ok(
            "frame",
            class1
                .sdk
                .send_stream(key_frame(seq), &[seq as u8; 300], MediaType::VideoMinor),
        );
    }
    ok(
        "data down",
        teacher
            .sdk
            .send_transparent(0, b"board-2", DataType::Binary),
    );
    ok("aux off", class1.sdk.apply_aux(false));
    ok("talk off", teacher.sdk.ctrl_talk(c, false));
    ok("chat end", teacher.sdk.send_chat(0, 0, b"bye"));
}

struct Run {
    teacher: Client,
    class1: Client,
}

/// Lessons a sweep may hold: each its own room and accounts, so that a user a cut left
/// suspended (a cut on its last bytes swallows its `Goodbye`) is in nobody's way.
const LESSONS: u32 = 240;

/// One password for all: one verifier to derive.
const PASSWORD: &str = "sweep";

fn config() -> TestConfig {
    let mut config = TestConfig::new();
    for i in 0..LESSONS {
        let (teacher, class1) = (format!("t{i}"), format!("c{i}"));
        config = config
            .account(&teacher, PASSWORD, true)
            .account(&class1, PASSWORD, false)
            .room(3000 + i, &format!("lesson {i}"), &teacher, 4);
    }
    config
}

/// Lesson `i` with its class1 behind `proxy` (with the cuts planned on it).
fn run(mcu: &McuProcess, proxy: &FaultProxy, i: u32) -> Run {
    assert!(i < LESSONS);
    let (t, c) = (format!("t{i}"), format!("c{i}"));
    let teacher = Client::start(SdkConfig::default());
    teacher
        .sdk
        .connect("127.0.0.1", mcu.addr.port(), &t, PASSWORD)
        .expect("connect the teacher");
    teacher.sdk.login_room(3000 + i).expect("the teacher joins");
    let class1 = Client::start(SdkConfig::default());
    class1
        .sdk
        .connect("127.0.0.1", proxy.addr.port(), &c, PASSWORD)
        .unwrap_or_else(|e| panic!("connect class1 of lesson {i}: {e:?}"));
    class1.sdk.login_room(3000 + i).expect("class1 joins");
    let id = class1.own_id();
    teacher.log.wait_state(StateId::UserEnter, |s| {
        s.user.as_ref().map(|u| u.id) == Some(id)
    });
    lesson(&teacher, &class1);
    Run { teacher, class1 }
}

/// Waits until both endpoints have seen as much as the baseline, then compares.
fn check(run: &Run, baseline: &(Vec<String>, Vec<String>), what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let teacher = run.teacher.own_id();
        let got = (
            summaries(&run.teacher, teacher),
            summaries(&run.class1, teacher),
        );
        let complete = got.0.len() >= baseline.0.len() && got.1.len() >= baseline.1.len();
        if complete || Instant::now() > deadline {
            assert_eq!(got.0, baseline.0, "teacher's events, {what}");
            assert_eq!(got.1, baseline.1, "class1's events, {what}");
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // Media is not replayed, but for the sender's latest key frame after a resume (what was
    // on the wire at the cut is unknown): a frame arrives at most once, a key frame at most
    // twice, and never a delta after a key frame it does not follow.
    let frames: Vec<(u64, bool)> = run
        .teacher
        .log
        .all()
        .iter()
        .filter_map(|e| match e {
            Event::Media(m) => Some((m.header.timestamp, m.header.key_frame == 1)),
            _ => None,
        })
        .collect();
    for (ts, key) in &frames {
        let times = frames.iter().filter(|(t, _)| t == ts).count();
        assert!(times <= if *key { 2 } else { 1 }, "{frames:?}, {what}");
    }
    for client in [&run.teacher, &run.class1] {
        client.sdk.disconnect().expect("disconnect");
    }
}

/// Where the login's two frames (Hello and Authenticate, or Challenge and LoginResult) end.
fn login_end(stream: &[u8]) -> u64 {
    let mut buffer = FrameBuffer::new(1 << 16, 1 << 16);
    buffer.extend(stream);
    (0..2)
        .filter_map(|_| buffer.next_frame().ok().flatten())
        .map(|frame| frame.bytes.len() as u64)
        .sum()
}

/// Frame starts of a byte stream, and a point inside the header and inside the body of each
/// (inside the media header for media).
fn cut_points(stream: &[u8]) -> Vec<u64> {
    let mut buffer = FrameBuffer::new(1 << 16, 1 << 16);
    buffer.extend(stream);
    let mut points = Vec::new();
    let mut offset = 0u64;
    while let Ok(Some(frame)) = buffer.next_frame() {
        let len = frame.bytes.len() as u64;
        points.push(offset);
        points.push(offset + 2);
        points.push(offset + FRAME_HEADER_LEN as u64 + 1);
        if frame.kind == FrameKind::Media {
            points.push(offset + FRAME_HEADER_LEN as u64 + 12);
        }
        offset += len;
    }
    points.retain(|&p| p > 0 && p < offset);
    points
}

#[test]
fn a_lesson_cut_anywhere_loses_nothing_and_doubles_nothing() {
    // Plain TCP: one connection per link (no TLS probe first), so a plan's cuts fall on the
    // lesson's link and then on the resume's.
    conference_session::set_tls(Some(conference_session::TlsSettings {
        mode: conference_session::TlsMode::Off,
        ca_file: None,
        pin: None,
    }))
    .unwrap();
    let mcu = McuProcess::spawn(Some(&config().to_toml()));
    let proxy = FaultProxy::start(mcu.addr);
    let clean = run(&mcu, &proxy, 0);
    std::thread::sleep(Duration::from_millis(200));
    let teacher = clean.teacher.own_id();
    let baseline = (
        summaries(&clean.teacher, teacher),
        summaries(&clean.class1, teacher),
    );
    assert!(baseline.0.len() > 15, "{:?}", baseline.0);
    let (up, down) = proxy.relayed()[0].clone();
    for client in [&clean.teacher, &clean.class1] {
        client.sdk.disconnect().unwrap();
    }
    // Cuts each way; the login's bytes (its first two frames each way) are left out (a cut
    // there fails `connect`, tested in faults.rs), then every fourth cut also cuts the resume
    // that follows, inside its Hello.
    let mut plans: Vec<Vec<Option<Cut>>> = Vec::new();
    for (dir_up, stream) in [(true, &up), (false, &down)] {
        let login = login_end(stream);
        for at in cut_points(stream) {
            if at <= login {
                continue;
            }
            let first = Some(Cut { up: dir_up, at });
            let second = (plans.len() % 4 == 3).then_some(Cut { up: true, at: 20 });
            plans.push(vec![first, second]);
        }
    }
    let started = Instant::now();
    for (i, plan) in plans.iter().enumerate() {
        // The teacher's link is direct: the plan applies to class1's connections only.
        proxy.plan_cuts(plan.iter().copied());
        eprintln!("lesson {}: cuts {plan:?}", i + 1);
        let cut = run(&mcu, &proxy, i as u32 + 1);
        check(&cut, &baseline, &format!("cuts {plan:?}"));
        let resumes = cut.class1.sdk.stats().unwrap().resumes;
        assert!(resumes >= 1, "the cut {plan:?} happened and was resumed");
        // A cut on class1's last bytes swallows its Goodbye and leaves it suspended on the
        // MCU: a login of the account elsewhere releases it, so every login of the sweep gets
        // the same room list (its size places the cuts).
        let sweeper = Client::start(SdkConfig::default());
        let account = format!("c{}", i + 1);
        sweeper
            .sdk
            .connect("127.0.0.1", mcu.addr.port(), &account, PASSWORD)
            .unwrap();
        sweeper.sdk.disconnect().unwrap();
    }
    eprintln!(
        "{} cut points ({} bytes up, {} down) in {:?}",
        plans.len(),
        up.len(),
        down.len(),
        started.elapsed()
    );
}
