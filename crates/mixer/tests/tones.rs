//! Issue 5's tone test on the engine: 440 Hz (PCM) and 1 kHz (Opus) at −12 dBFS, both 48 kHz
//! stereo, mixed into 16 kHz mono 16-bit, arrive at −12 dBFS ±1 dB with nothing else above
//! −50 dBFS. The same check rejects a missing, doubled, wrong-rate or clipped source.

mod common;

use common::*;
use conference_mixer::analysis::{dbfs, fit_tones, sine_equivalent_dbfs, strongest_line};
use conference_mixer::{AudioPacket, Mixer, OutputFormat};

const RATE: f64 = 16000.0;
const FRAMES: usize = 100; // 2 s
const SKIP_FRAMES: usize = 25; // decoder, resampler and jitter-buffer start-up

fn mix(sources: &[(u64, Vec<AudioPacket>)]) -> Vec<f64> {
    let format = OutputFormat::new(16000, 1, 16).expect("format");
    let mut mixer = Mixer::new(format);
    let frames = run(&mut mixer, sources, FRAMES);
    let x = channel(&frames[SKIP_FRAMES..], 0);
    x[..RATE as usize].to_vec() // exactly 1 s
}

/// Ok(report) when both tones are at −12 dBFS ±1 dB and the rest is below −50 dBFS.
fn check_two_tones(x: &[f64]) -> Result<String, String> {
    let fit = fit_tones(x, RATE, &[440.0, 1000.0]);
    let (l440, l1k) = (dbfs(fit.amplitudes[0]), dbfs(fit.amplitudes[1]));
    let rest = sine_equivalent_dbfs(&fit.residual);
    let (line_hz, line_db) = strongest_line(&fit.residual, RATE);
    let report = format!(
        "440 Hz {l440:.2} dBFS, 1 kHz {l1k:.2} dBFS, residual {rest:.1} dBFS (strongest line {line_db:.1} dBFS at {line_hz:.0} Hz)"
    );
    let target = dbfs(MINUS_12_DBFS);
    let ok = (l440 - target).abs() <= 1.0
        && (l1k - target).abs() <= 1.0
        && rest <= -50.0
        && line_db <= -50.0;
    if ok { Ok(report) } else { Err(report) }
}

fn pcm_440() -> Vec<AudioPacket> {
    pcm_tone(48000, 2, 440.0, MINUS_12_DBFS, 10_000, FRAMES)
}

fn opus_1k() -> Vec<AudioPacket> {
    opus_tone(2, 1000.0, MINUS_12_DBFS, 128_000, 77_000, FRAMES)
}

#[test]
fn pcm_and_opus_tones_arrive_at_the_right_levels_and_nothing_else() {
    let x = mix(&[(1, pcm_440()), (2, opus_1k())]);
    match check_two_tones(&x) {
        Ok(report) => eprintln!("two-tone mix: {report}"),
        Err(report) => panic!("two-tone mix out of spec: {report}"),
    }
}

#[test]
fn check_rejects_a_missing_source() {
    let x = mix(&[(1, pcm_440())]);
    let err = check_two_tones(&x).expect_err("1 kHz missing must fail");
    eprintln!("missing: {err}");
}

#[test]
fn check_rejects_a_doubled_source() {
    // The same stream mixed twice (e.g. under two ids): +6 dB.
    let x = mix(&[(1, pcm_440()), (2, opus_1k()), (3, pcm_440())]);
    let err = check_two_tones(&x).expect_err("doubled 440 Hz must fail");
    eprintln!("doubled: {err}");
}

#[test]
fn check_rejects_a_source_at_the_wrong_rate() {
    // 48 kHz samples declared as 44.1 kHz: the tone comes out at 479 Hz.
    let mut wrong = pcm_440();
    for p in &mut wrong {
        p.sample_rate = 44100;
        p.timestamp_ms = p.timestamp_ms * 48000 / 44100;
    }
    let x = mix(&[(1, wrong), (2, opus_1k())]);
    let err = check_two_tones(&x).expect_err("wrong rate must fail");
    eprintln!("wrong rate: {err}");
}

#[test]
fn check_rejects_a_clipped_source() {
    // The 440 Hz tone clipped at 80 % of its peak (as a mixer scaling it up and clipping would).
    let frames = 960;
    let limit = (MINUS_12_DBFS * 0.8 * 32767.0) as i16;
    let clipped: Vec<AudioPacket> = (0..FRAMES)
        .map(|i| {
            let s: Vec<i16> = sine_i16(48000, 2, 440.0, MINUS_12_DBFS, i * frames, frames)
                .into_iter()
                .map(|v| v.clamp(-limit, limit))
                .collect();
            pcm_packet(48000, 2, 10_000 + 20 * i as u64, &s)
        })
        .collect();
    let x = mix(&[(1, clipped), (2, opus_1k())]);
    let err = check_two_tones(&x).expect_err("clipping must fail");
    eprintln!("clipped: {err}");
}
