//! The figures of docs/RELIABILITY.md: link cuts of given lengths at random moments, many
//! lessons at once on one real MCU, each recorder (with the mixer) behind its own fault proxy
//! while its teacher streams video to it and it streams video back. Per cut: survived (no
//! `USER_CLOSE`, the teacher saw no leave), the teacher's chats of the gap delivered once and
//! in order, detection time, time from the link's return to the resumed session, to the
//! first key frame at each end, and the recorder's mixed track (a frame every 20 ms, no hole).
//!
//! Short here (three 2 s cuts); `CONFERENCE_RELIABILITY=full` runs 20 cuts each of 2, 10, 30
//! and 59 s (`scripts/resume-soak.sh`, a few minutes).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Client, user_id};
use conference_session::{
    Event, EventExtra, MediaHeader, MediaKind, MediaType, MixerFormat, SdkConfig, StateId,
};
use conference_testkit::proxy::{Fault, FaultProxy};
use conference_testkit::{McuProcess, TestConfig};

/// One cut's measures.
#[derive(Debug, Default)]
struct Trial {
    survived: bool,
    detection: Duration,
    resume: Duration,
    key_at_recorder: Option<Duration>,
    key_at_teacher: Option<Duration>,
    mixed_frames: usize,
    mixed_holes: usize,
}

fn percentile(values: &mut [Duration], p: f64) -> Duration {
    values.sort();
    if values.is_empty() {
        return Duration::ZERO;
    }
    values[((values.len() - 1) as f64 * p).round() as usize]
}

/// The MCU's resident memory, KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn poll(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Instant {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return Instant::now();
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// One lesson in `room` cut for `cut` at a random moment.
fn trial(mcu: &McuProcess, room: u32, index: usize, cut: Duration, delay: Duration) -> Trial {
    let teacher_name = format!("teacher{index}");
    let recorder_name = format!("rec{index}");
    let teacher = Client::start(SdkConfig::default());
    teacher
        .sdk
        .connect("127.0.0.1", mcu.addr.port(), &teacher_name, &teacher_name)
        .unwrap();
    teacher.sdk.login_room(room).unwrap();
    let proxy = FaultProxy::start(mcu.addr);
    let recorder = Client::start(SdkConfig {
        mixer: Some(MixerFormat::new(16_000, 1, 16).unwrap()),
        ..SdkConfig::default()
    });
    recorder
        .sdk
        .connect(
            "127.0.0.1",
            proxy.addr.port(),
            &recorder_name,
            &recorder_name,
        )
        .unwrap();
    recorder.sdk.login_room(room).unwrap();
    let (t, r) = (teacher.own_id(), recorder.own_id());
    teacher
        .log
        .wait_state(StateId::UserEnter, |s| user_id(s) == Some(r));
    teacher.sdk.apply_master(true).unwrap();
    teacher.sdk.bcast(MediaKind::Video, t, true).unwrap();
    recorder
        .sdk
        .recv_stream(t, MediaType::VideoMajor, true)
        .unwrap();
    teacher
        .sdk
        .recv_stream(r, MediaType::VideoMajor, true)
        .unwrap();

    // Both stream 25 fps video, a key frame a second, until the trial ends.
    let running = AtomicBool::new(true);
    let mut result = Trial::default();
    let mut sent = Vec::new();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut frame = 0u64;
            while running.load(Ordering::Relaxed) {
                let header = MediaHeader {
                    key_frame: u16::from(frame.is_multiple_of(25)),
                    frame_seq: 3,
                    timestamp: frame * 40,
                    ..Default::default()
                };
                let _ = teacher
                    .sdk
                    .send_stream(header, &[7; 1200], MediaType::VideoMajor);
                let _ = recorder
                    .sdk
                    .send_stream(header, &[9; 1200], MediaType::VideoMajor);
                frame += 1;
                std::thread::sleep(Duration::from_millis(40));
            }
        });
        std::thread::sleep(delay);
        let cut_at = Instant::now();
        proxy.set(Fault::BlackHole);
        // The teacher talks to the recorder during the gap, a chat a second.
        let mut next_chat = cut_at;
        while cut_at.elapsed() < cut {
            if Instant::now() >= next_chat {
                let text = format!("gap {}", sent.len());
                teacher.sdk.send_chat(r, 0, text.as_bytes()).unwrap();
                sent.push(text);
                next_chat += Duration::from_secs(1);
            }
            if result.detection.is_zero() && recorder.sdk.stats().unwrap().suspensions > 0 {
                result.detection = cut_at.elapsed();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // Key frames: the log has no arrival times. Counted before the link returns (nothing
        // crosses it meanwhile), then polled until one more shows.
        let keys = |client: &Client, from: u32| {
            client
                .log
                .all()
                .iter()
                .filter(|e| {
                    matches!(e, Event::Media(m)
                        if m.user_id == from as i32 && m.header.key_frame == 1)
                })
                .count()
        };
        let (keys_r, keys_t) = (keys(&recorder, t), keys(&teacher, r));
        let returned = Instant::now();
        proxy.set(Fault::None);
        let resumed = poll("the resume", Duration::from_secs(20), || {
            recorder.sdk.stats().is_ok_and(|s| s.resumes >= 1)
        });
        result.resume = resumed.saturating_duration_since(returned);
        let until = resumed + Duration::from_secs(3);
        while Instant::now() < until
            && (result.key_at_recorder.is_none() || result.key_at_teacher.is_none())
        {
            if result.key_at_recorder.is_none() && keys(&recorder, t) > keys_r {
                result.key_at_recorder = Some(resumed.elapsed());
            }
            if result.key_at_teacher.is_none() && keys(&teacher, r) > keys_t {
                result.key_at_teacher = Some(resumed.elapsed());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(300));
        running.store(false, Ordering::Relaxed);
    });

    let chats: Vec<String> = recorder
        .log
        .states()
        .iter()
        .filter_map(|s| match &s.extra {
            EventExtra::Chat(c) if c.src_id == t => {
                Some(String::from_utf8_lossy(&c.content).into_owned())
            }
            _ => None,
        })
        .collect();
    result.survived = chats == sent
        && recorder.log.count_state(StateId::UserClose) == 0
        && recorder.log.count_state(StateId::RoomExit) == 0
        && teacher.log.count_state(StateId::UserLeave) == 0;
    if !result.survived {
        eprintln!(
            "room {room}: sent {sent:?}, received {chats:?}; recorder {:?}; teacher leaves {}",
            recorder
                .log
                .states()
                .iter()
                .map(|s| format!("{:?} {:#x}", s.state, s.result_code()))
                .collect::<Vec<_>>(),
            teacher.log.count_state(StateId::UserLeave)
        );
    }
    let (mixed, holes) = recorder.log.mixed_track();
    result.mixed_frames = mixed.len();
    result.mixed_holes = holes;
    for client in [&teacher, &recorder] {
        client.sdk.disconnect().unwrap();
    }
    result
}

#[test]
fn link_cuts_of_each_length_are_survived() {
    let full = std::env::var("CONFERENCE_RELIABILITY").is_ok_and(|v| v == "full");
    let (mut lengths, per_length): (Vec<u64>, usize) = if full {
        (vec![2, 10, 30, 59], 20)
    } else {
        (vec![2], 3)
    };
    // `CONFERENCE_RELIABILITY_LENGTHS=30,59`: only these.
    if let Ok(only) = std::env::var("CONFERENCE_RELIABILITY_LENGTHS") {
        lengths = only
            .split(',')
            .filter_map(|l| l.trim().parse().ok())
            .collect();
    }
    let mut config = TestConfig::new();
    for i in 0..per_length {
        let teacher = format!("teacher{i}");
        config = config
            .account(&teacher, &teacher, true)
            .account(&format!("rec{i}"), &format!("rec{i}"), false)
            .room(2000 + i as u32, &format!("room {i}"), &teacher, 4);
    }
    let mcu = McuProcess::spawn(Some(&config.to_toml()));
    let mut seed = 0x7e11_ab1e_u64;
    for seconds in lengths {
        let cut = Duration::from_secs(seconds);
        let started = Instant::now();
        let rss_before = rss_kib(mcu.pid());
        let mut rss_suspended = 0;
        let trials: Vec<Trial> = std::thread::scope(|scope| {
            // Every link is cut from about 5 s on: the memory of the suspended sessions.
            let pid = mcu.pid();
            let sample = (seconds >= 30).then(|| {
                scope.spawn(move || {
                    std::thread::sleep(Duration::from_secs(seconds / 2));
                    rss_kib(pid)
                })
            });
            let handles: Vec<_> = (0..per_length)
                .map(|i| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    // A random moment: 0.5–2.5 s into the lesson.
                    let delay = Duration::from_millis(500 + (seed >> 33) % 2000);
                    let mcu = &mcu;
                    scope.spawn(move || trial(mcu, 2000 + i as u32, i, cut, delay))
                })
                .collect();
            if let Some(sample) = sample {
                rss_suspended = sample.join().unwrap();
            }
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        if rss_suspended > 0 {
            eprintln!(
                "MCU VmRSS: {rss_before} KiB with the {per_length} lessons running, \
                 {rss_suspended} KiB with their recorders suspended"
            );
        }
        let survived = trials.iter().filter(|t| t.survived).count();
        let mut resume: Vec<Duration> = trials.iter().map(|t| t.resume).collect();
        let mut key_recorder: Vec<Duration> =
            trials.iter().filter_map(|t| t.key_at_recorder).collect();
        let mut key_teacher: Vec<Duration> =
            trials.iter().filter_map(|t| t.key_at_teacher).collect();
        let holes: usize = trials.iter().map(|t| t.mixed_holes).sum();
        let mut detection: Vec<Duration> = trials
            .iter()
            .map(|t| t.detection)
            .filter(|d| !d.is_zero())
            .collect();
        let frames: usize = trials.iter().map(|t| t.mixed_frames).sum();
        eprintln!(
            "cut {seconds:>2} s x{per_length}: survived {survived}/{per_length}; resume after \
             the link's return p50 {:?} p99 {:?}; first key frame after the resume at the \
             recorder p50 {:?} p95 {:?} ({} of {per_length}), at the teacher p50 {:?} p95 {:?} \
             ({} of {per_length}); mixed track {frames} frames, {holes} holes; silent link \
             detected after p50 {:?} max {:?} (heartbeat 1 s); {:?} in all",
            percentile(&mut resume, 0.5),
            percentile(&mut resume, 0.99),
            percentile(&mut key_recorder, 0.5),
            percentile(&mut key_recorder, 0.95),
            key_recorder.len(),
            percentile(&mut key_teacher, 0.5),
            percentile(&mut key_teacher, 0.95),
            key_teacher.len(),
            percentile(&mut detection, 0.5),
            percentile(&mut detection, 1.0),
            started.elapsed(),
        );
        assert_eq!(survived, per_length, "{trials:#?}");
        assert_eq!(holes, 0, "the mixed track has no hole");
        assert_eq!(
            key_recorder.len(),
            per_length,
            "the picture restarts at the recorder"
        );
        assert_eq!(
            key_teacher.len(),
            per_length,
            "the picture restarts at the teacher"
        );
    }
}
