//! Media through the real MCU process: byte-exact fan-out, a frozen subscriber that does not
//! hold the others back, a late subscriber that starts with the key frame, aux slots.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use conference_proto::MediaType;
use conference_proto::media::MediaHeader;
use conference_proto::message::StateId;
use conference_proto::pb::{self, client_message::Body, event::Extra};
use conference_testkit::client::{TestClient, media_header};

fn payload(index: u32, len: usize) -> Vec<u8> {
    let mut data = vec![(index % 251) as u8; len.max(4)];
    data[..4].copy_from_slice(&index.to_be_bytes());
    data
}

fn index_of(payload: &[u8]) -> u32 {
    u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
}

/// The teacher (1) broadcasting its video and audio, and `listeners` subscribed to both.
fn broadcast_room(
    mcu: &conference_testkit::McuProcess,
    listeners: &[&str],
) -> (TestClient, Vec<TestClient>) {
    let mut teacher = enter(mcu, "teacher");
    assert_eq!(teacher.call(bcast_video(1)), 0);
    assert_eq!(
        teacher.call(Body::Bcast(pb::Bcast {
            kind: pb::MediaKind::Audio as i32,
            user_id: 1,
            on: true
        })),
        0
    );
    let mut clients = Vec::new();
    for name in listeners {
        let mut client = enter(mcu, name);
        assert_eq!(client.call(subscribe(1, MediaType::VideoMajor, true)), 0);
        assert_eq!(client.call(subscribe(1, MediaType::Audio, true)), 0);
        clients.push(client);
    }
    (teacher, clients)
}

#[test]
fn fan_out_is_byte_exact_and_only_to_subscribers() {
    let mcu = mcu();
    let (mut teacher, mut listeners) = broadcast_room(&mcu, &["class1", "class2", "class3"]);
    let mut bystander = enter(&mcu, "class4");
    // The sender heard about its viewers.
    let looked: Vec<_> = teacher
        .drain_events(QUIET)
        .into_iter()
        .filter_map(|e| match e.extra {
            Some(Extra::Looked(l)) => Some(l),
            _ => None,
        })
        .collect();
    assert!(!looked.is_empty() && looked.iter().all(|l| l.ctrl == 1));

    let mut sent: Vec<(MediaHeader, Vec<u8>)> = Vec::new();
    for i in 0..30u32 {
        let (stream, seq) = match i % 5 {
            0 => (MediaType::Audio, 3),
            1 => (MediaType::VideoMajor, 1),
            2 | 3 => (MediaType::VideoMajor, 0),
            _ => (MediaType::VideoMajor, 2),
        };
        let mut header = media_header(stream, seq, i % 10 < 5, u64::from(i) * 33);
        header.stream_id = i as u16;
        header.bitrate = -(i as i32);
        let data = payload(
            i,
            if i == 7 {
                1_000_000
            } else {
                100 + i as usize * 37
            },
        );
        teacher.send_media(&header, &data);
        sent.push((header, data));
    }
    for listener in &mut listeners {
        for (header, data) in &sent {
            let frame = listener
                .next_media(Duration::from_secs(10))
                .expect("a frame");
            assert_eq!(
                frame.header,
                MediaHeader {
                    sender_id: 1,
                    ..*header
                }
            );
            assert_eq!(&frame.payload[..], &data[..]);
        }
        assert!(listener.next_media(QUIET).is_none());
    }
    assert!(bystander.next_media(QUIET).is_none());
}

#[test]
fn aux_streams_need_the_slot() {
    let mcu = mcu();
    let mut presenter = enter(&mcu, "class1"); // 2
    let mut viewer = enter(&mcu, "class2");
    assert_eq!(
        viewer.call(subscribe(2, MediaType::VideoMinor, true)),
        0,
        "anyone may pull aux"
    );
    let header = media_header(MediaType::VideoMinor, 3, true, 1);
    presenter.send_media(&header, b"no slot yet");
    assert!(viewer.next_media(QUIET).is_none(), "dropped: no slot");
    assert_eq!(presenter.call(Body::ApplyAux(pb::ApplyAux { on: true })), 0);
    presenter.send_media(&header, b"slot 0");
    let frame = viewer.next_media(Duration::from_secs(5)).unwrap();
    assert_eq!(&frame.payload[..], b"slot 0");
    // Slot 1's stream type is still not the presenter's.
    presenter.send_media(
        &media_header(MediaType::VideoMinor2, 3, true, 2),
        b"not mine",
    );
    assert!(viewer.next_media(QUIET).is_none());
}

#[test]
fn a_late_subscriber_starts_with_the_key_frame() {
    let mcu = mcu();
    let (mut teacher, _) = broadcast_room(&mcu, &[]);
    let mut early = enter(&mcu, "class1");
    assert_eq!(early.call(subscribe(1, MediaType::VideoMajor, true)), 0);
    for (seq, key, data) in [
        (1, true, "key-a"),
        (0, true, "key-b"),
        (2, true, "key-c"),
        (3, false, "delta-1"),
        (3, false, "delta-2"),
    ] {
        teacher.send_media(
            &media_header(MediaType::VideoMajor, seq, key, 1),
            data.as_bytes(),
        );
    }
    for _ in 0..5 {
        early
            .next_media(Duration::from_secs(5))
            .expect("live frames");
    }
    teacher.drain_events(QUIET);
    let mut late = enter(&mcu, "class2");
    assert_eq!(late.call(subscribe(1, MediaType::VideoMajor, true)), 0);
    // The cached key frame arrives without the sender sending anything.
    for expected in ["key-a", "key-b", "key-c"] {
        let frame = late
            .next_media(Duration::from_secs(5))
            .expect("the cached key frame");
        assert_eq!(&frame.payload[..], expected.as_bytes());
        assert_eq!(frame.header.sender_id, 1);
    }
    // The sender was asked for a new key frame.
    // (Possibly after the 500 ms throttle window of the early subscriber's request.)
    let looked = std::iter::from_fn(|| teacher.next_event(Duration::from_secs(5)))
        .find(|e| e.state == StateId::Looked.id())
        .expect("LOOKED");
    let Some(Extra::Looked(info)) = looked.extra else {
        panic!()
    };
    assert_eq!((info.viewer_id, info.ctrl), (3, 1));
    // Deltas followed the cached key frame: the late one waits for the next key frame.
    teacher.send_media(
        &media_header(MediaType::VideoMajor, 3, false, 2),
        b"delta-3",
    );
    teacher.send_media(&media_header(MediaType::VideoMajor, 3, true, 3), b"key-2");
    let frame = late.next_media(Duration::from_secs(5)).unwrap();
    assert_eq!(&frame.payload[..], b"key-2");
    assert_eq!(
        &early.next_media(Duration::from_secs(5)).unwrap().payload[..],
        b"delta-3"
    );
}

#[test]
fn a_frozen_subscriber_does_not_hold_the_room_back() {
    // A long heartbeat so the frozen client is not declared dead meanwhile.
    let mcu = mcu_with(&demo_config().heartbeat_ms(20_000), &[], &[]);
    let (mut teacher, mut listeners) = broadcast_room(&mcu, &["class1", "class2"]);
    let frozen = listeners.pop().unwrap();
    let mut healthy = listeners.pop().unwrap();
    const FRAMES: u32 = 400;
    const SIZE: usize = 100_000;
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let reader = std::thread::spawn(move || {
        let mut indices = Vec::new();
        while indices.len() < FRAMES as usize {
            let Some(frame) = healthy.next_media(Duration::from_secs(20)) else {
                break;
            };
            assert_eq!(
                &frame.payload[..],
                &payload(index_of(&frame.payload), SIZE)[..]
            );
            indices.push(index_of(&frame.payload));
            counter.store(indices.len(), Ordering::Release);
        }
        indices
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 0..FRAMES {
        // Pace on the healthy reader only: it stays a few frames behind.
        while i as usize > received.load(Ordering::Acquire) + 8 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let header = media_header(MediaType::VideoMajor, 3, i % 10 == 0, u64::from(i));
        teacher.send_media(&header, &payload(i, SIZE));
    }
    let indices = reader.join().unwrap();
    assert_eq!(
        indices,
        (0..FRAMES).collect::<Vec<_>>(),
        "the healthy subscriber got everything"
    );

    // The frozen one lost whole frames, resuming at key frames.
    let mut frozen = frozen;
    let mut got = Vec::new();
    while let Some(frame) = frozen.next_media(Duration::from_secs(1)) {
        assert_eq!(
            &frame.payload[..],
            &payload(index_of(&frame.payload), SIZE)[..],
            "intact"
        );
        got.push(index_of(&frame.payload));
    }
    assert!(!got.is_empty());
    assert!(
        got.len() < FRAMES as usize,
        "frames were dropped for the frozen subscriber"
    );
    assert_eq!(got[0], 0);
    for pair in got.windows(2) {
        assert!(pair[1] > pair[0]);
        if pair[1] != pair[0] + 1 {
            assert_eq!(pair[1] % 10, 0, "after a gap, a key frame: {pair:?}");
        }
    }
    assert!(!frozen.closed, "slow, not cut off");
}
