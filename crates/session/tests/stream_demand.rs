//! Stream demand end to end (docs/PROTOCOL.md): streams nobody watches stay home, and a new
//! viewer still gets what it needs at once, through the real MCU.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Client, Lesson, Log, Recorder};
use conference_session::{
    MediaEvent, MediaHeader, MediaKind, MediaType, Sdk, SdkConfig, Tuning, WithheldStats,
};

const CLASS1: u32 = 10002;

fn video(seq: u16, key: u16, timestamp: u64) -> MediaHeader {
    MediaHeader {
        codec_id: 3,
        frame_seq: seq,
        key_frame: key,
        framerate: 25,
        width_or_rate: 1280,
        height_or_channels: 720,
        timestamp,
        ..MediaHeader::default()
    }
}

fn audio(timestamp: u64) -> MediaHeader {
    MediaHeader {
        codec_id: 1,
        frame_seq: 3,
        framerate: 20,
        width_or_rate: 48_000,
        height_or_channels: 1,
        timestamp,
        ..MediaHeader::default()
    }
}

fn wait_withheld(sdk: &Sdk, frames: u64) -> WithheldStats {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = sdk.withheld_stats();
        if stats.frames >= frames || Instant::now() > deadline {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn timestamps(media: &[MediaEvent]) -> Vec<u64> {
    media.iter().map(|m| m.header.timestamp).collect()
}

#[test]
fn an_unwatched_stream_stays_home_and_a_new_viewer_gets_the_key_frame_and_what_followed() {
    let lesson = Lesson::start(&["teacher", "class1", "class2"]);
    let [teacher, class1, class2] = &lesson.clients[..] else {
        unreachable!()
    };
    assert_eq!(teacher.sdk.bcast(MediaKind::Video, CLASS1, true), Ok(()));
    // Nobody watches: a fragmented key frame and a delta stay home.
    let frames = [
        (video(1, 1, 1), vec![1u8; 30_000]),
        (video(0, 1, 1), vec![2u8; 30_000]),
        (video(2, 1, 1), vec![3u8; 500]),
        (video(3, 0, 2), vec![4u8; 900]),
    ];
    for (header, payload) in &frames {
        assert_eq!(
            class1
                .sdk
                .send_stream(*header, payload, MediaType::VideoMajor),
            Ok(())
        );
    }
    let withheld = wait_withheld(&class1.sdk, 2);
    assert_eq!(withheld.frames, 2, "{withheld:?}");
    assert!(withheld.bytes > 61_400, "{withheld:?}");

    // A viewer arrives: it gets the key frame and the delta, byte-exact, before anything new.
    // Its subscription is answered once the sender knows: "next" goes out, never withheld.
    assert_eq!(
        class2.sdk.recv_stream(CLASS1, MediaType::VideoMajor, true),
        Ok(())
    );
    assert_eq!(
        class1
            .sdk
            .send_stream(video(3, 0, 3), b"next", MediaType::VideoMajor),
        Ok(())
    );
    let got = class2.log.wait_media(5, |m| m.user_id == CLASS1 as i32);
    assert_eq!(timestamps(&got), [1, 1, 1, 2, 3]);
    for (received, (header, payload)) in got.iter().zip(&frames) {
        assert_eq!(received.header.frame_seq, header.frame_seq);
        assert_eq!(&received.payload[..], &payload[..]);
    }
    assert_eq!(class1.sdk.withheld_stats().frames, 2, "sent once watched");

    // The viewer leaves: the stream stays home again.
    assert_eq!(
        class2.sdk.recv_stream(CLASS1, MediaType::VideoMajor, false),
        Ok(())
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut ts = 10;
    let before = class1.sdk.withheld_stats().frames;
    while class1.sdk.withheld_stats().frames == before {
        assert!(Instant::now() < deadline, "never withheld again");
        ts += 1;
        let _ = class1
            .sdk
            .send_stream(video(3, 0, ts), b"d", MediaType::VideoMajor);
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_frame_sent_right_after_a_subscription_reaches_the_new_viewer() {
    let lesson = Lesson::start(&["teacher", "class1", "class2"]);
    let [teacher, class1, class2] = &lesson.clients[..] else {
        unreachable!()
    };
    assert_eq!(teacher.sdk.bcast(MediaKind::Audio, CLASS1, true), Ok(()));
    for round in 1..=30u64 {
        assert_eq!(
            class2.sdk.recv_stream(CLASS1, MediaType::Audio, true),
            Ok(())
        );
        assert_eq!(
            class1
                .sdk
                .send_stream(audio(round), b"now", MediaType::Audio),
            Ok(())
        );
        class2.log.wait_media(1, |m| {
            m.user_id == CLASS1 as i32 && m.header.timestamp == round
        });
        assert_eq!(
            class2.sdk.recv_stream(CLASS1, MediaType::Audio, false),
            Ok(())
        );
    }
    let got = class2.log.media();
    let mut rounds = timestamps(&got);
    rounds.dedup();
    assert_eq!(
        rounds,
        (1..=30).collect::<Vec<_>>(),
        "each round once, in order"
    );
    assert_eq!(
        class1.sdk.withheld_stats(),
        WithheldStats::default(),
        "every frame was sent after its viewer's recv_stream returned: none withheld"
    );
}

#[test]
fn an_sdk_told_to_send_everything_does_and_the_mcu_caches_its_key_frames() {
    let lesson = Lesson::start(&["teacher", "class2"]);
    let [teacher, class2] = &lesson.clients[..] else {
        unreachable!()
    };
    let log = Arc::new(Log::default());
    let sender = Sdk::start_with(
        SdkConfig::default(),
        Tuning {
            withhold_unwatched: false,
            ..Tuning::default()
        },
        Box::new(Recorder(Arc::clone(&log))),
    )
    .expect("start");
    let port = lesson.mcu.addr.port();
    assert_eq!(
        sender.connect("127.0.0.1", port, "class1", "class1"),
        Ok(())
    );
    assert_eq!(sender.login_room(1001), Ok(()));
    let class1 = Client { sdk: sender, log };
    teacher
        .log
        .wait_state(conference_session::StateId::UserEnter, |s| {
            common::user_id(s) == Some(CLASS1)
        });
    assert_eq!(teacher.sdk.bcast(MediaKind::Video, CLASS1, true), Ok(()));
    assert_eq!(
        class1
            .sdk
            .send_stream(video(3, 1, 1), b"key", MediaType::VideoMajor),
        Ok(())
    );
    // A barrier: once the teacher sees this, the MCU has the key frame too.
    assert_eq!(
        teacher.sdk.recv_stream(CLASS1, MediaType::VideoMajor, true),
        Ok(())
    );
    assert_eq!(
        class1
            .sdk
            .send_stream(video(3, 1, 2), b"key2", MediaType::VideoMajor),
        Ok(())
    );
    teacher
        .log
        .wait_media(1, |m| m.user_id == CLASS1 as i32 && m.header.timestamp == 2);
    assert_eq!(
        class2.sdk.recv_stream(CLASS1, MediaType::VideoMajor, true),
        Ok(())
    );
    let got = class2.log.wait_media(1, |m| m.user_id == CLASS1 as i32);
    assert_eq!(&got[0].payload[..], b"key2", "from the MCU's cache");
    assert_eq!(class1.sdk.withheld_stats(), WithheldStats::default());
}
