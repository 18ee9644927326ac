//! `Sdk::stats` (`conference_get_stats`) against a real MCU: media counted per stream type
//! each way, frames withheld while nobody watches, and the link's round trip as the MCU's
//! heartbeats measure it.

mod common;

use std::time::{Duration, Instant};

use common::Client;
use conference_session::{MediaHeader, MediaKind, MediaType, SdkConfig, StreamCount};
use conference_testkit::{McuProcess, TestConfig};

const CLASS1: u32 = 10002;

fn audio(seq: u16) -> MediaHeader {
    MediaHeader {
        media_type: 0,
        codec_id: 1,
        frame_seq: seq,
        key_frame: 16,
        framerate: 20,
        width_or_rate: 48_000,
        height_or_channels: 2,
        ..MediaHeader::default()
    }
}

#[test]
fn media_each_way_withheld_frames_and_the_link_rtt() {
    // Heartbeats every 100 ms, so the round trip is measured within the test.
    let mcu = McuProcess::spawn(Some(&TestConfig::demo().heartbeat_ms(100).to_toml()));
    let teacher = Client::join(&mcu, "teacher", SdkConfig::default());
    let class1 = Client::join(&mcu, "class1", SdkConfig::default());
    let fresh = class1.sdk.stats().expect("stats");
    assert_eq!(fresh.sent, [StreamCount::default(); 4]);
    assert_eq!(fresh.resumes, 0);

    // Nobody watches class1 yet: its audio stays on the recorder.
    for seq in 0..3 {
        assert_eq!(
            class1
                .sdk
                .send_stream(audio(seq), &[7; 160], MediaType::Audio),
            Ok(())
        );
    }
    assert_eq!(class1.sdk.stats().unwrap().withheld, 3);
    assert_eq!(class1.sdk.stats().unwrap().sent[0], StreamCount::default());
    // Older than the uplink's replay window (50 ms): not replayed to the viewer below.
    std::thread::sleep(Duration::from_millis(200));

    assert_eq!(teacher.sdk.bcast(MediaKind::Audio, CLASS1, true), Ok(()));
    assert_eq!(
        teacher.sdk.recv_stream(CLASS1, MediaType::Audio, true),
        Ok(())
    );
    for seq in 3..8 {
        assert_eq!(
            class1
                .sdk
                .send_stream(audio(seq), &[7; 160], MediaType::Audio),
            Ok(())
        );
    }
    teacher.log.wait_media(5, |m| m.user_id == CLASS1 as i32);
    let sender = class1.sdk.stats().unwrap();
    assert_eq!(
        sender.sent[0],
        StreamCount {
            frames: 5,
            bytes: 800
        }
    );
    assert_eq!(sender.sent[1..], [StreamCount::default(); 3]);
    assert_eq!((sender.withheld, sender.dropped_queue_full), (3, 0));
    let receiver = teacher.sdk.stats().unwrap();
    assert_eq!(
        receiver.received[0],
        StreamCount {
            frames: 5,
            bytes: 800
        }
    );
    assert_eq!(receiver.dropped_dispatcher, 0);

    // A few heartbeats later the MCU has measured the loopback link: answered, no loss.
    let deadline = Instant::now() + Duration::from_secs(10);
    let link = loop {
        let stats = class1.sdk.stats().unwrap();
        if stats.rtt_us.is_some() {
            break stats;
        }
        assert!(
            Instant::now() < deadline,
            "no round trip measured: {stats:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(link.rtt_us.unwrap() < 1_000_000, "{link:?}");
    assert_eq!(link.loss_permille, 0);

    // Not connected: no link, the counters stay.
    class1.sdk.disconnect().expect("disconnect");
    let after = class1.sdk.stats().unwrap();
    assert_eq!(after.rtt_us, None);
    assert_eq!(after.sent[0].frames, 5);
}
