//! Resume across link cuts (docs/PROTOCOL.md §8) with real processes: the SDK behind testkit's
//! fault-injecting proxy, the real MCU. A cut the SDK survives shows nothing to anyone but a
//! pause and a signal status of 0; what was sent during it arrives once, in order.

mod common;

use std::time::{Duration, Instant};

use common::{Client, user_id};
use conference_session::{EventExtra, SdkConfig, StateId};
use conference_testkit::proxy::{Fault, FaultProxy};
use conference_testkit::{McuProcess, TestConfig};

const HEARTBEAT_MS: u32 = 100;

fn mcu(window_ms: u32) -> McuProcess {
    McuProcess::spawn(Some(
        &TestConfig::demo()
            .heartbeat_ms(HEARTBEAT_MS)
            .resume_window_ms(window_ms)
            .to_toml(),
    ))
}

fn connect(port: u16, name: &str) -> Client {
    let client = Client::start(SdkConfig::default());
    client
        .sdk
        .connect("127.0.0.1", port, name, name)
        .unwrap_or_else(|e| panic!("connect {name}: {e:?}"));
    client.sdk.login_room(1001).expect("join the room");
    client
}

fn chats(client: &Client, from: u32) -> Vec<Vec<u8>> {
    client
        .log
        .states()
        .into_iter()
        .filter(|s| s.state == StateId::UserChat)
        .filter_map(|s| match s.extra {
            EventExtra::Chat(chat) if chat.src_id == from => Some(chat.content.to_vec()),
            _ => None,
        })
        .collect()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Chat both ways through a cut of each kind: nothing is lost, nothing doubled, nobody sees
/// a leave, the cut user's state is intact.
#[test]
fn a_cut_link_resumes_with_nothing_lost_and_nobody_leaving() {
    let mcu = mcu(10_000);
    let teacher = connect(mcu.addr.port(), "teacher");
    let proxy = FaultProxy::start(mcu.addr);
    let class1 = connect(proxy.addr.port(), "class1");
    let class1_id = class1.own_id();
    let teacher_id = teacher.own_id();
    teacher
        .log
        .wait_state(StateId::UserEnter, |s| user_id(s) == Some(class1_id));
    class1.sdk.apply_talk(true).expect("raise the hand");
    let mut sent_down = 0;
    for (round, cut) in [
        "reset",
        "half-close",
        "black hole",
        "stall down",
        "short hole",
    ]
    .into_iter()
    .enumerate()
    {
        let began = Instant::now();
        match cut {
            "reset" => proxy.reset(),
            "half-close" => proxy.half_close(),
            "black hole" | "short hole" => proxy.set(Fault::BlackHole),
            _ => proxy.set(Fault::StallDown),
        }
        // During the cut: the teacher talks, class1 talks (its call waits for the resume).
        for i in 0..3 {
            teacher
                .sdk
                .send_chat(class1_id, 0, format!("down {round}.{i}").as_bytes())
                .unwrap_or_else(|e| panic!("chat during {cut}: {e:?}\n{}", mcu.log()));
            sent_down += 1;
        }
        match cut {
            // Long enough for both ends to give the link up.
            "black hole" | "stall down" => {
                std::thread::sleep(Duration::from_millis(5 * u64::from(HEARTBEAT_MS)));
                proxy.set(Fault::None);
            }
            // Too short for that: the bytes it swallowed leave a hole in both streams, read
            // as garbage, and the resume mends it.
            "short hole" => {
                std::thread::sleep(Duration::from_millis(u64::from(HEARTBEAT_MS)));
                proxy.set(Fault::None);
            }
            _ => {}
        }
        class1
            .sdk
            .send_chat(teacher_id, 0, format!("up {round}").as_bytes())
            .unwrap_or_else(|e| panic!("chat after {cut}: {e:?}"));
        wait_until("the chat both ways", || {
            chats(&class1, teacher_id).len() == sent_down
                && chats(&teacher, class1_id).len() == round + 1
        });
        eprintln!("{cut}: through in {:?}", began.elapsed());
    }
    let expected_down: Vec<Vec<u8>> = (0..5)
        .flat_map(|r| (0..3).map(move |i| format!("down {r}.{i}").into_bytes()))
        .collect();
    assert_eq!(chats(&class1, teacher_id), expected_down, "in order, once");
    let expected_up: Vec<Vec<u8>> = (0..5).map(|r| format!("up {r}").into_bytes()).collect();
    assert_eq!(chats(&teacher, class1_id), expected_up);
    for client in [&teacher, &class1] {
        assert_eq!(client.log.count_state(StateId::UserClose), 0);
        assert_eq!(client.log.count_state(StateId::UserLeave), 0);
        assert_eq!(client.log.count_state(StateId::RoomExit), 0);
    }
    assert_eq!(
        teacher.log.count_state(StateId::UserEnter),
        2,
        "self, class1"
    );
    assert_eq!(
        class1.user(class1_id).audio_state,
        1,
        "the hand is still up"
    );
    assert!(class1.sdk.stats().unwrap().resumes >= 4);
    wait_until("class1's signal back", || {
        teacher.user(class1_id).signal_status > 0
    });
}

/// Past the window the MCU has released the user: the others saw it leave, and the SDK,
/// unable to resume, reports the end.
#[test]
fn a_cut_longer_than_the_window_ends_the_session() {
    let mcu = mcu(600);
    let teacher = connect(mcu.addr.port(), "teacher");
    let proxy = FaultProxy::start(mcu.addr);
    let class2 = connect(proxy.addr.port(), "class2");
    let class2_id = class2.own_id();
    proxy.set(Fault::BlackHole);
    let left = teacher
        .log
        .wait_state(StateId::UserLeave, |s| user_id(s) == Some(class2_id));
    assert!(left.user.is_some());
    let close = class2.log.wait_state(StateId::UserClose, |_| true);
    assert!(close.result.is_err());
    assert!(class2.log.count_state(StateId::RoomExit) >= 1);
    assert_eq!(class2.log.count_state(StateId::UserClose), 1);
}

/// The recorder's mixed track across a cut of its own link: 20 ms frames go on through the
/// gap (silence for the sources that cannot reach it), timestamps +20 each, no hole.
#[test]
fn the_mixed_track_has_no_hole_across_a_cut() {
    use conference_session::{MIXER_USER_ID, MixerFormat};
    let mcu = mcu(10_000);
    let proxy = FaultProxy::start(mcu.addr);
    let recorder = Client::start(SdkConfig {
        mixer: Some(MixerFormat::new(16_000, 1, 16).expect("format")),
        ..SdkConfig::default()
    });
    recorder
        .sdk
        .connect("127.0.0.1", proxy.addr.port(), "teacher", "teacher")
        .unwrap();
    recorder.sdk.login_room(1001).unwrap();
    recorder.log.wait_media(5, |m| m.user_id == MIXER_USER_ID);
    proxy.set(Fault::BlackHole);
    std::thread::sleep(Duration::from_millis(8 * u64::from(HEARTBEAT_MS)));
    proxy.set(Fault::None);
    wait_until("the resume", || {
        recorder.sdk.stats().is_ok_and(|s| s.resumes == 1)
    });
    std::thread::sleep(Duration::from_millis(200));
    let (mixed, holes) = recorder.log.mixed_track();
    assert!(mixed.len() > 50, "{} frames", mixed.len());
    assert_eq!(holes, 0, "a hole in the mixed track: {mixed:?}");
}
