//! Media end to end: fan-out with every header field, the non-blocking send queue, and the
//! dispatcher's drop policy under a slow sink.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Client, Lesson, Log, Recorder};
use conference_session::{
    ErrorCode, Event, EventSink, MediaEvent, MediaHeader, MediaKind, MediaType, Sdk, SdkConfig,
    SendBudget, StateId, Tuning,
};
use parking_lot::{Condvar, Mutex};

const TEACHER: u32 = 10001;
const CLASS1: u32 = 10002;

fn header(seq: u16, key: u16, timestamp: u64) -> MediaHeader {
    MediaHeader {
        sender_id: 0,
        stream_type: 0,
        media_type: 1,
        codec_id: 3,
        frame_seq: seq,
        key_frame: key,
        framerate: 25,
        stream_id: 0xbeef,
        width_or_rate: 1920,
        height_or_channels: -1080,
        bitrate: 4096,
        timestamp,
    }
}

fn payload(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on our own child process.
    let rc = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill({sig})");
}

#[test]
fn video_and_audio_fan_out_byte_exact_to_subscribers_only() {
    let lesson = Lesson::start(&["teacher", "class1", "class2"]);
    let [teacher, class1, class2] = &lesson.clients[..] else {
        unreachable!()
    };
    // class2 pulls class1's video and audio (broadcast by the chair); the teacher pulls
    // nothing.
    assert_eq!(teacher.sdk.bcast(MediaKind::Video, CLASS1, true), Ok(()));
    assert_eq!(teacher.sdk.bcast(MediaKind::Audio, CLASS1, true), Ok(()));
    assert_eq!(
        class2.sdk.recv_stream(CLASS1, MediaType::VideoMajor, true),
        Ok(())
    );
    assert_eq!(
        class2.sdk.recv_stream(CLASS1, MediaType::Audio, true),
        Ok(())
    );
    // Not subscribed to oneself.
    assert_eq!(
        class1.sdk.recv_stream(CLASS1, MediaType::Audio, true),
        Err(ErrorCode::ParamErr)
    );

    let audio = MediaHeader {
        media_type: 0,
        codec_id: 1,
        frame_seq: 3,
        key_frame: 16,
        framerate: 20,
        stream_id: 1,
        width_or_rate: 48_000,
        height_or_channels: 2,
        bitrate: 64,
        timestamp: u64::MAX,
        ..MediaHeader::default()
    };
    let video = MediaType::VideoMajor;
    // A fragmented key frame (first, middle, last; high bits of the sequence kept), a whole
    // delta frame, an empty fragment, and audio.
    let sent: Vec<(MediaHeader, Vec<u8>, MediaType)> = vec![
        (header(0x0101, 1, 1000), payload(1, 60_000), video),
        (header(0x0200, 1, 1000), payload(2, 60_000), video),
        (header(0x0302, 1, 1000), payload(3, 1234), video),
        (header(0x0403, 0, 1040), payload(4, 999), video),
        (header(0x0503, 0, 1080), Vec::new(), video),
        (audio, payload(5, 160), MediaType::Audio),
    ];
    for (header, bytes, media_type) in &sent {
        assert_eq!(class1.sdk.send_stream(*header, bytes, *media_type), Ok(()));
    }
    let got = class2
        .log
        .wait_media(sent.len(), |m| m.user_id == CLASS1 as i32);
    assert_eq!(got.len(), sent.len());
    for (received, (header, bytes, media_type)) in got.iter().zip(&sent) {
        assert_eq!(
            received,
            &MediaEvent {
                header: MediaHeader {
                    sender_id: CLASS1,
                    stream_type: *media_type as u8,
                    ..*header
                },
                payload: bytes::Bytes::from(bytes.clone()),
                user_id: CLASS1 as i32,
                media_type: *media_type,
            }
        );
    }
    // Control frames overtake queued media, so the barriers are media too: once the
    // teacher (and class2) pull class1's audio, a last audio frame arrives after everything
    // class1 sent before it.
    assert_eq!(
        class2.sdk.recv_stream(CLASS1, MediaType::VideoMajor, false),
        Ok(())
    );
    assert_eq!(
        class1
            .sdk
            .send_stream(header(3, 1, 2000), b"late", MediaType::VideoMajor),
        Ok(())
    );
    assert_eq!(
        teacher.sdk.recv_stream(CLASS1, MediaType::Audio, true),
        Ok(())
    );
    let barrier = MediaHeader {
        timestamp: 7,
        ..audio
    };
    assert_eq!(
        class1
            .sdk
            .send_stream(barrier, b"barrier", MediaType::Audio),
        Ok(())
    );
    let is_barrier = |m: &MediaEvent| m.header.timestamp == 7 && &m.payload[..] == b"barrier";
    teacher.log.wait_media(1, is_barrier);
    class2.log.wait_media(1, is_barrier);
    // The teacher got nothing before it subscribed; class2 nothing after unsubscribing video.
    assert_eq!(teacher.log.media().len(), 1);
    assert_eq!(class2.log.media().len(), sent.len() + 1);
    assert!(
        class1.log.media().is_empty(),
        "nobody gets its own stream back"
    );
    // Outside a room nothing can be sent.
    assert_eq!(class1.sdk.logout_room(), Ok(()));
    assert_eq!(
        class1
            .sdk
            .send_stream(header(3, 1, 1), b"x", MediaType::VideoMajor),
        Err(ErrorCode::NotLoginErr)
    );
    assert_eq!(teacher.own_id(), TEACHER);
}

#[test]
fn a_full_send_queue_refuses_without_blocking() {
    let lesson = Lesson::start(&["teacher"]);
    let log = Arc::new(Log::default());
    let tuning = Tuning {
        send_budget: SendBudget {
            max_frames: 64,
            max_bytes: 1024 * 1024,
        },
        ..Tuning::default()
    };
    let sdk = Sdk::start_with(
        SdkConfig::default(),
        tuning,
        Box::new(Recorder(Arc::clone(&log))),
    )
    .expect("start");
    sdk.connect("127.0.0.1", lesson.mcu.addr.port(), "class1", "class1")
        .expect("connect");
    sdk.login_room(1001).expect("login");
    // Somebody watches (an unwatched stream never reaches the queue), as a sent frame shows.
    let teacher = &lesson.clients[0];
    assert_eq!(
        teacher.sdk.recv_stream(CLASS1, MediaType::VideoMajor, true),
        Ok(())
    );
    assert_eq!(
        sdk.send_stream(header(3, 1, 1), b"watched", MediaType::VideoMajor),
        Ok(())
    );
    teacher.log.wait_media(1, |m| m.user_id == CLASS1 as i32);
    // The MCU stops reading: the socket buffers fill, then the queue.
    signal(lesson.mcu.pid(), libc::SIGSTOP);
    let frame = vec![7u8; 128 * 1024];
    let mut full_after = None;
    for i in 0..2_000 {
        match sdk.send_stream(header(3, 1, i), &frame, MediaType::VideoMajor) {
            Ok(()) => {}
            Err(ErrorCode::QueueFullErr) => {
                full_after = Some(i);
                break;
            }
            Err(other) => {
                signal(lesson.mcu.pid(), libc::SIGCONT);
                panic!("unexpected {other:?}");
            }
        }
    }
    signal(lesson.mcu.pid(), libc::SIGCONT);
    assert!(full_after.is_some(), "the queue never filled");
    // Drained again once the MCU reads: sending works (bounded retry, no timing asserted).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match sdk.send_stream(header(3, 1, 0), b"again", MediaType::VideoMajor) {
            Ok(()) => break,
            Err(ErrorCode::QueueFullErr) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(other) => panic!("queue never drained: {other:?}"),
        }
    }
    // The connection survived.
    assert_eq!(sdk.send_chat(0, 0, b"alive"), Ok(()));
}

/// A sink that blocks on the first media event until released.
struct Gate {
    log: Arc<Log>,
    open: Arc<(Mutex<bool>, Condvar)>,
}

impl EventSink for Gate {
    fn deliver(&mut self, event: Event) {
        if matches!(event, Event::Media(_)) {
            let (lock, cond) = &*self.open;
            let mut open = lock.lock();
            while !*open {
                cond.wait(&mut open);
            }
        }
        self.log.push(event);
    }
}

#[test]
fn a_slow_sink_loses_whole_frames_and_video_resumes_at_a_key_frame() {
    let lesson = Lesson::start(&["teacher"]);
    let teacher = &lesson.clients[0];
    let log = Arc::new(Log::default());
    let open = Arc::new((Mutex::new(false), Condvar::new()));
    let receiver = Sdk::start_with(
        SdkConfig::default(),
        Tuning {
            media_budget: conference_session::MediaBudget {
                max_events: 10_000,
                max_bytes: 1024 * 1024,
            },
            ..Tuning::default()
        },
        Box::new(Gate {
            log: Arc::clone(&log),
            open: Arc::clone(&open),
        }),
    )
    .expect("start");
    receiver
        .connect("127.0.0.1", lesson.mcu.addr.port(), "class2", "class2")
        .expect("connect");
    receiver.login_room(1001).expect("login");
    // The chair may pull anything.
    let sender = Client::start(SdkConfig::default());
    sender
        .sdk
        .connect("127.0.0.1", lesson.mcu.addr.port(), "class1", "class1")
        .expect("connect");
    sender.sdk.login_room(1001).expect("login");
    assert_eq!(teacher.sdk.bcast(MediaKind::Video, CLASS1, true), Ok(()));
    log.wait_state(StateId::UserBcast, |_| true);
    assert_eq!(
        receiver.recv_stream(CLASS1, MediaType::VideoMajor, true),
        Ok(())
    );

    // 300 frames of two 32 KiB fragments, a key frame every 10th; timestamp = frame number.
    const FRAMES: u64 = 300;
    const SENTINEL: u64 = 1_000_000;
    let fragment = vec![0x5au8; 32 * 1024];
    for frame in 0..FRAMES {
        let key = u16::from(frame % 10 == 0);
        for seq in [1u16, 2] {
            // Paced by the queue only: retry while it is full.
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match sender.sdk.send_stream(
                    header(seq, key, frame),
                    &fragment,
                    MediaType::VideoMajor,
                ) {
                    Ok(()) => break,
                    Err(ErrorCode::QueueFullErr) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(1))
                    }
                    Err(other) => panic!("send: {other:?}"),
                }
            }
        }
    }
    // The sink stays blocked until the dispatcher had to drop.
    let deadline = Instant::now() + Duration::from_secs(20);
    while receiver.media_drop_stats().frames == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let (lock, cond) = &*open;
    *lock.lock() = true;
    cond.notify_all();
    // Media keeps its order (control frames would overtake it): key frames after the test
    // frames, until one is delivered, mean every test frame has passed the dispatcher's gate.
    // The last fragment of sentinel `i` delivered: all before it passed the gate, and
    // nothing was sent after it.
    'sentinels: for i in 0..100 {
        for seq in [1u16, 2] {
            let _ = sender.sdk.send_stream(
                header(seq, 1, SENTINEL + i),
                &fragment,
                MediaType::VideoMajor,
            );
        }
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline {
            let delivered = log
                .media()
                .iter()
                .any(|m| m.header.timestamp == SENTINEL + i && m.header.frame_seq == 2);
            if delivered {
                break 'sentinels;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(i < 99, "no sentinel frame was ever delivered");
    }

    let stats = receiver.media_drop_stats();
    assert!(stats.frames > 0, "nothing was dropped: {stats:?}");
    assert_eq!(stats.events % 2, 0, "whole frames only: {stats:?}");
    // Every delivered frame is whole, and no delta frame follows a gap.
    let media: Vec<MediaEvent> = log
        .media()
        .into_iter()
        .filter(|m| m.header.timestamp < SENTINEL)
        .collect();
    assert_eq!(media.len() % 2, 0);
    let mut previous: Option<u64> = None;
    for pair in media.chunks(2) {
        let (first, last) = (&pair[0].header, &pair[1].header);
        assert_eq!((first.frame_seq, last.frame_seq), (1, 2));
        assert_eq!(first.timestamp, last.timestamp);
        let frame = first.timestamp;
        let contiguous = previous.is_some_and(|p| p + 1 == frame);
        assert!(
            first.key_frame == 1 || contiguous,
            "delta frame {frame} delivered after a gap (previous {previous:?})"
        );
        previous = Some(frame);
    }
    let delivered = media.len() as u64 / 2;
    assert!(delivered + stats.frames <= FRAMES);
    assert!(delivered > 0);
    assert_eq!(TEACHER, 10_001);
}
