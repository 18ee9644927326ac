//! Resampling quality through the whole mixer: a 1 kHz tone must keep SINAD ≥ 70 dB.

mod common;

use common::*;
use conference_mixer::analysis::{dbfs, fit_tones, sinad_db};
use conference_mixer::{Mixer, OutputFormat};

/// SINAD and level of a 1 kHz PCM tone (−6 dBFS, `in_rate`, 16-bit) mixed to `out_rate`
/// mono 32-bit (so the output word length does not limit the measurement).
fn measure(in_rate: u32, in_channels: u16, out_rate: u32) -> (f64, f64) {
    let format = OutputFormat::new(out_rate, 1, 32).expect("format");
    let mut mixer = Mixer::new(format);
    let packets = pcm_tone(in_rate, in_channels, 1000.0, 0.5, 0, 100);
    let frames = run(&mut mixer, &[(1, packets)], 100);
    let x = channel(&frames[25..], 0);
    let x = &x[..out_rate as usize];
    let level = dbfs(fit_tones(x, f64::from(out_rate), &[1000.0]).amplitudes[0]);
    (sinad_db(x, f64::from(out_rate), 1000.0), level)
}

#[test]
fn sinad_48k_to_44k1_is_at_least_70_db() {
    let (sinad, level) = measure(48000, 2, 44100);
    eprintln!("1 kHz 48 kHz stereo -> 44.1 kHz mono: SINAD {sinad:.1} dB, level {level:.2} dBFS");
    assert!(sinad >= 70.0, "SINAD {sinad:.1} dB");
    assert!((level - dbfs(0.5)).abs() < 0.1, "level {level:.2} dBFS");
}

#[test]
fn other_rate_pairs_stay_clean() {
    for (i, o) in [
        (44100, 48000),
        (16000, 44100),
        (48000, 8000),
        (32000, 16000),
        (22050, 32000),
    ] {
        let (sinad, level) = measure(i, 1, o);
        eprintln!("1 kHz {i} -> {o}: SINAD {sinad:.1} dB, level {level:.2} dBFS");
        assert!(sinad >= 70.0, "{i} -> {o}: SINAD {sinad:.1} dB");
        assert!(
            (level - dbfs(0.5)).abs() < 0.1,
            "{i} -> {o}: level {level:.2} dBFS"
        );
    }
}
