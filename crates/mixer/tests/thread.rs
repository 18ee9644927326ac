//! The mixer thread: frames every 20 ms while active with continuous timestamps, nothing while
//! inactive, packets mixed, clean stop. (No timing is asserted: only what arrives.)

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::*;
use conference_mixer::{MixedFrame, MixerConfig, MixerThread, OutputFormat};

const WAIT: Duration = Duration::from_secs(5);

fn spawn() -> (MixerThread, mpsc::Receiver<MixedFrame>) {
    let (tx, rx) = mpsc::channel();
    let format = OutputFormat::new(16000, 1, 16).expect("format");
    let thread = MixerThread::spawn(format, MixerConfig::default(), move |f| {
        let _ = tx.send(f);
    })
    .expect("spawn");
    (thread, rx)
}

#[test]
fn frames_flow_only_while_active_with_continuous_timestamps() {
    let (mixer, rx) = spawn();
    let packets = pcm_tone(16000, 1, 500.0, 0.5, 0, 5);
    assert!(!mixer.push(1, packets[0].clone()), "inactive: not queued");
    assert!(
        rx.recv_timeout(Duration::from_millis(100)).is_err(),
        "no frames while inactive"
    );

    mixer.set_active(true);
    for p in &packets {
        assert!(mixer.push(1, p.clone()));
    }
    let mut frames = Vec::new();
    while frames.len() < 15 {
        frames.push(rx.recv_timeout(WAIT).expect("a frame every 20 ms"));
    }
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.timestamp_ms, 20 * i as u64);
        assert_eq!(f.data.len(), 320 * 2);
    }
    let audible = frames
        .iter()
        .filter(|f| f.samples_i32().iter().any(|s| *s != 0))
        .count();
    assert!(
        audible >= 4,
        "the pushed 100 ms are in the mix ({audible} audible frames)"
    );

    mixer.set_active(false);
    let after_stop = rx.try_iter().count();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        rx.try_iter().count(),
        0,
        "frames after set_active(false) returned"
    );

    mixer.set_active(true);
    let next = rx.recv_timeout(WAIT).expect("restarted");
    assert_eq!(
        next.timestamp_ms,
        20 * (15 + after_stop) as u64,
        "timestamps continue"
    );
    mixer.stop();
    // The thread is joined and the sink dropped: the channel closes.
    while rx.recv_timeout(WAIT).is_ok() {}
}

#[test]
fn a_panicking_sink_does_not_stop_the_mixer() {
    let (tx, rx) = mpsc::channel();
    let format = OutputFormat::new(8000, 1, 16).expect("format");
    let mut n = 0;
    let mixer = MixerThread::spawn(format, MixerConfig::default(), move |f| {
        n += 1;
        assert!(n != 2, "sink failure");
        let _ = tx.send(f.timestamp_ms);
    })
    .expect("spawn");
    mixer.set_active(true);
    let got: Vec<u64> = (0..3)
        .map(|_| rx.recv_timeout(WAIT).expect("frame"))
        .collect();
    assert_eq!(got, [0, 40, 60]);
}
