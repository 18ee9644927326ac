//! Per-source behaviour with bit-exact PCM (48 kHz stereo 16-bit in and out: no resampling,
//! no channel change, so every output sample is predictable): timestamp ordering, late and
//! duplicate drops, saturation, own-stream exclusion, unsupported codecs.

mod common;

use common::*;
use conference_mixer::{AudioPacket, Bytes, MixedFrame, Mixer, OutputFormat, PushOutcome, codec};

fn format() -> OutputFormat {
    OutputFormat::new(48000, 2, 16).expect("format")
}

/// A 20 ms packet whose every sample is `value`.
fn dc(ts: u64, value: i16) -> AudioPacket {
    pcm_packet(48000, 2, ts, &vec![value; 960 * 2])
}

/// The single value of a frame whose samples are all equal, or None.
fn flat(f: &MixedFrame) -> Option<i32> {
    let s = f.samples_i32();
    s.iter().all(|v| *v == s[0]).then_some(s[0])
}

#[test]
fn out_of_order_packets_play_in_timestamp_order() {
    let mut mixer = Mixer::new(format());
    // Arrival order 0, 40, 20, 80, 60, 100, … (pairs swapped), value = index + 1.
    let order = [0usize, 2, 1, 4, 3, 6, 5, 8, 7, 9];
    let mut out = Vec::new();
    for &i in &order {
        assert_eq!(
            mixer.push(1, dc(20 * i as u64, 100 * (i as i16 + 1))),
            PushOutcome::Queued
        );
        out.push(mixer.next_frame());
    }
    for _ in 0..4 {
        out.push(mixer.next_frame());
    }
    let values: Vec<i32> = out.iter().filter_map(flat).filter(|v| *v != 0).collect();
    assert_eq!(values, (1..=10).map(|v| v * 100).collect::<Vec<_>>());
    // Every frame is one packet, nothing half-mixed.
    assert!(out.iter().all(|f| flat(f).is_some()));
}

#[test]
fn late_and_duplicate_packets_are_dropped() {
    let mut mixer = Mixer::new(format());
    mixer.push(1, dc(0, 1000));
    mixer.push(1, dc(20, 2000));
    assert_eq!(mixer.push(1, dc(20, 9999)), PushOutcome::Duplicate);
    assert_eq!(flat(&mixer.next_frame()), Some(1000));
    assert_eq!(flat(&mixer.next_frame()), Some(2000));
    assert_eq!(mixer.push(1, dc(0, 9999)), PushOutcome::Late);
    let stats = mixer.source_stats(1).expect("known");
    assert_eq!((stats.played, stats.late, stats.duplicates), (2, 1, 1));
}

#[test]
fn loud_sources_saturate_instead_of_wrapping() {
    let mut mixer = Mixer::new(format());
    for (id, v) in [(1, 20000), (2, -30000), (3, -30000), (4, -30000)] {
        mixer.push(id, dc(0, v));
        mixer.push(id, dc(20, v));
    }
    // 20000 - 90000 = -70000: clips at the bottom (a wrapping sum would be positive).
    assert_eq!(flat(&mixer.next_frame()), Some(i32::from(i16::MIN)));
    mixer.reset();
    for id in [1, 2] {
        mixer.push(id, dc(40, 30000));
        mixer.push(id, dc(60, 30000));
    }
    assert_eq!(flat(&mixer.next_frame()), Some(i32::from(i16::MAX)));

    // 32-bit output saturates too.
    let mut wide = Mixer::new(OutputFormat::new(48000, 2, 32).expect("format"));
    for id in [1, 2] {
        wide.push(id, dc(0, 30000));
        wide.push(id, dc(20, 30000));
    }
    assert_eq!(flat(&wide.next_frame()), Some(i32::MAX));
}

#[test]
fn two_sources_add_exactly() {
    let mut mixer = Mixer::new(format());
    for (id, v) in [(1, 1234), (2, -234)] {
        mixer.push(id, dc(0, v));
        mixer.push(id, dc(20, v));
    }
    assert_eq!(flat(&mixer.next_frame()), Some(1000));
}

#[test]
fn own_stream_is_never_mixed() {
    let mut mixer = Mixer::new(format());
    mixer.set_own_source(Some(7));
    assert_eq!(mixer.push(7, dc(0, 5000)), PushOutcome::OwnStream);
    assert_eq!(mixer.push(7, dc(20, 5000)), PushOutcome::OwnStream);
    mixer.push(8, dc(0, 300));
    mixer.push(8, dc(20, 300));
    assert_eq!(flat(&mixer.next_frame()), Some(300));
    assert_eq!(mixer.source_count(), 1);
}

#[test]
fn g7221_and_amrwb_are_not_mixed() {
    let mut mixer = Mixer::new(format());
    for c in [codec::G7221, codec::AMRWB, 99] {
        for ts in [0, 20, 40] {
            let p = AudioPacket {
                codec: c,
                sample_rate: 16000,
                channels: 1,
                bits: 16,
                duration_ms: 20,
                timestamp_ms: ts,
                payload: Bytes::from_static(&[0x55; 60]),
            };
            assert_eq!(mixer.push(u64::from(c), p), PushOutcome::Unsupported);
        }
    }
    assert_eq!(mixer.source_count(), 0);
    assert_eq!(flat(&mixer.next_frame()), Some(0));
}

#[test]
fn removed_source_stops_immediately() {
    let mut mixer = Mixer::new(format());
    for i in 0..4 {
        mixer.push(1, dc(20 * i, 800));
    }
    assert_eq!(flat(&mixer.next_frame()), Some(800));
    mixer.remove_source(1);
    assert_eq!(flat(&mixer.next_frame()), Some(0));
    assert_eq!(mixer.source_count(), 0);
}

#[test]
fn quiet_sources_are_forgotten_after_the_idle_timeout() {
    let mut mixer = Mixer::new(format());
    mixer.push(1, dc(0, 800));
    mixer.push(1, dc(20, 800));
    for _ in 0..(5000 / 20 + 20) {
        mixer.next_frame();
    }
    assert_eq!(mixer.source_count(), 0);
}
