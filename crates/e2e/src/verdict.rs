//! Judging a recording: the frame headers against SPEC §7 and the signal against the tones
//! that were sent. Every check returns the list of problems found (empty = pass), so a
//! failing test shows all of them at once. Levels are dBFS of a sine's peak, measured with
//! the mixer crate's [`analysis`](conference_mixer::analysis) (least-squares tone fit, the
//! residual once the tones and DC are removed).

use conference_mixer::analysis::{dbfs, fit_tones, sine_equivalent_dbfs, strongest_line};

use crate::recording::FrameHeader;

/// Length of every mixed frame.
pub const FRAME_MS: u64 = 20;

/// At most this many problems of one kind are listed (a broken stream repeats itself).
const LIST_LIMIT: usize = 5;

/// The mixer's output format (`audio_mixer_props_t`).
#[derive(Debug, Clone, Copy)]
pub struct Format {
    pub rate: u32,
    pub channels: u16,
    pub bits: u16,
}

impl Format {
    pub fn samples_per_frame(&self) -> usize {
        (self.rate as usize / 1000) * FRAME_MS as usize * usize::from(self.channels)
    }

    pub fn bytes_per_frame(&self) -> usize {
        self.samples_per_frame() * usize::from(self.bits / 8)
    }
}

/// A tone that was sent: frequency (Hz) and level (dBFS).
#[derive(Debug, Clone, Copy)]
pub struct Tone {
    pub freq: f64,
    pub dbfs: f64,
}

/// Problems, listed up to [`LIST_LIMIT`] per kind, with a count of the rest.
#[derive(Debug, Default)]
struct Problems {
    list: Vec<String>,
    kinds: std::collections::HashMap<&'static str, usize>,
}

impl Problems {
    fn add(&mut self, kind: &'static str, text: String) {
        let n = self.kinds.entry(kind).or_default();
        *n += 1;
        if *n <= LIST_LIMIT {
            self.list.push(text);
        }
    }

    fn into_vec(mut self) -> Vec<String> {
        let mut extra: Vec<_> = self
            .kinds
            .iter()
            .filter(|(_, n)| **n > LIST_LIMIT)
            .map(|(k, n)| format!("... {} more of {k}", n - LIST_LIMIT))
            .collect();
        extra.sort();
        self.list.extend(extra);
        self.list
    }
}

/// SPEC §7: every mixed frame is user −1, audio, codec 0, the mixer's rate/channels/bits,
/// framerate 20, whole, exactly one 20 ms frame of bytes; timestamps +20 with no gap; the raw
/// file is exactly those frames; and there are `expected_frames` of them.
pub fn check_headers(
    frames: &[FrameHeader],
    raw_bytes: usize,
    format: &Format,
    expected_frames: usize,
) -> Vec<String> {
    let mut p = Problems::default();
    if frames.len() != expected_frames {
        p.add(
            "count",
            format!("{} frames, expected {expected_frames}", frames.len()),
        );
    }
    let bytes = format.bytes_per_frame();
    if raw_bytes != frames.len() * bytes {
        p.add(
            "raw size",
            format!(
                "raw file has {raw_bytes} bytes, {} frames of {bytes} expected",
                frames.len()
            ),
        );
    }
    let first_ts = frames.first().map_or(0, |f| f.timestamp);
    for (i, f) in frames.iter().enumerate() {
        let expected = FrameHeader {
            user_id: -1,
            stream: 1,
            media_type: 0,
            codec: 0,
            rate: format.rate as i32,
            channels: i32::from(format.channels),
            bits: format.bits,
            framerate: FRAME_MS as u16,
            frame_seq: 3,
            stream_id: 0,
            bitrate: 0,
            timestamp: first_ts + FRAME_MS * i as u64,
            bytes,
        };
        if *f != expected {
            p.add(
                "header",
                format!("frame {i}: got {f:?}, expected {expected:?}"),
            );
        }
    }
    p.into_vec()
}

/// Levels found in a stretch of the track.
#[derive(Debug, Clone)]
pub struct Levels {
    /// dBFS of each requested tone.
    pub tones_db: Vec<f64>,
    /// Everything else (noise, distortion, other tones) as one sine-equivalent level.
    pub residual_db: f64,
    /// The strongest line of the residual: (Hz, dBFS).
    pub residual_line: (f64, f64),
    /// Largest |sample| in full-scale units.
    pub peak: f64,
}

/// Fits `freqs` (and DC) to `x` sampled at `rate`.
pub fn measure(x: &[f64], rate: f64, freqs: &[f64]) -> Levels {
    let fit = fit_tones(x, rate, freqs);
    Levels {
        tones_db: fit.amplitudes.iter().map(|a| dbfs(*a)).collect(),
        residual_db: sine_equivalent_dbfs(&fit.residual),
        residual_line: strongest_line(&fit.residual, rate),
        peak: x.iter().fold(0.0, |m, v| v.abs().max(m)),
    }
}

/// Each tone at its level within `tolerance_db`, and nothing else above `floor_db` (the
/// residual, so extra tones, noise, distortion and clipping all count). A sample at full
/// scale is reported as clipping on its own.
pub fn check_tones(
    x: &[f64],
    rate: f64,
    tones: &[Tone],
    tolerance_db: f64,
    floor_db: f64,
) -> (Levels, Vec<String>) {
    let freqs: Vec<f64> = tones.iter().map(|t| t.freq).collect();
    let levels = measure(x, rate, &freqs);
    let mut p = Problems::default();
    for (tone, got) in tones.iter().zip(&levels.tones_db) {
        if (got - tone.dbfs).abs() > tolerance_db {
            p.add(
                "level",
                format!(
                    "{} Hz at {got:.2} dBFS, expected {} ± {tolerance_db}",
                    tone.freq, tone.dbfs
                ),
            );
        }
    }
    if levels.residual_db > floor_db {
        p.add(
            "residual",
            format!(
                "residual at {:.1} dBFS (strongest line {:.0} Hz at {:.1} dBFS), limit {floor_db}",
                levels.residual_db, levels.residual_line.0, levels.residual_line.1
            ),
        );
    }
    if levels.peak >= 32767.0 / 32768.0 {
        p.add(
            "clip",
            format!("samples at full scale (peak {:.4})", levels.peak),
        );
    }
    (levels, p.into_vec())
}

/// Per-window levels of each tone over `x`: windows of `window` samples every `hop`.
pub fn window_levels(
    x: &[f64],
    rate: f64,
    freqs: &[f64],
    window: usize,
    hop: usize,
) -> Vec<Vec<f64>> {
    if window == 0 || hop == 0 || x.len() < window {
        return Vec::new();
    }
    (0..=(x.len() - window) / hop)
        .map(|w| measure(&x[w * hop..w * hop + window], rate, freqs).tones_db)
        .collect()
}

/// Smallest and largest level of each tone over the windows.
pub fn level_range(levels: &[Vec<f64>], tone: usize) -> (f64, f64) {
    levels
        .iter()
        .map(|l| l[tone])
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

/// Every window keeps each tone within `tolerance_db` of its level: no gap, no dropout
/// (a lost packet concealed, not silenced).
pub fn check_windows(
    x: &[f64],
    rate: f64,
    tones: &[Tone],
    window: usize,
    tolerance_db: f64,
) -> (Vec<Vec<f64>>, Vec<String>) {
    let freqs: Vec<f64> = tones.iter().map(|t| t.freq).collect();
    let levels = window_levels(x, rate, &freqs, window, window / 2);
    let mut p = Problems::default();
    if levels.is_empty() {
        p.add("windows", "no window to measure".to_string());
    }
    for (w, l) in levels.iter().enumerate() {
        for (tone, got) in tones.iter().zip(l) {
            if (got - tone.dbfs).abs() > tolerance_db {
                p.add(
                    "window level",
                    format!(
                        "{} Hz at {got:.1} dBFS in window {w} (sample {}), expected {} ± {tolerance_db}",
                        tone.freq,
                        w * window / 2,
                        tone.dbfs
                    ),
                );
            }
        }
    }
    (levels, p.into_vec())
}

/// `freq` is below `floor_db` in `x` (a source that left is gone from the mix); the other
/// `present` frequencies are fitted too so they do not leak into the measurement.
pub fn check_absent(
    x: &[f64],
    rate: f64,
    freq: f64,
    present: &[f64],
    floor_db: f64,
) -> (f64, Vec<String>) {
    let mut freqs = vec![freq];
    freqs.extend_from_slice(present);
    let level = measure(x, rate, &freqs).tones_db[0];
    let mut p = Vec::new();
    if level > floor_db {
        p.push(format!(
            "{freq} Hz still at {level:.1} dBFS, limit {floor_db}"
        ));
    }
    (level, p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::amplitude;
    use std::f64::consts::TAU;

    const RATE: f64 = 16_000.0;
    const TONES: [Tone; 2] = [
        Tone {
            freq: 440.0,
            dbfs: -12.0,
        },
        Tone {
            freq: 1000.0,
            dbfs: -12.0,
        },
    ];

    /// 16-bit quantised sum of (frequency, dBFS) tones, clipped at `clip` (full scale 1).
    fn synth(seconds: f64, tones: &[(f64, f64)], clip: f64) -> Vec<f64> {
        let n = (seconds * RATE) as usize;
        (0..n)
            .map(|i| {
                let v: f64 = tones
                    .iter()
                    .map(|(f, db)| amplitude(*db) * (TAU * f * i as f64 / RATE + 0.7).sin())
                    .sum();
                (v.clamp(-clip, clip) * 32767.0).round() / 32768.0
            })
            .collect()
    }

    fn problems(x: &[f64]) -> Vec<String> {
        check_tones(x, RATE, &TONES, 1.0, -50.0).1
    }

    #[test]
    fn the_right_mix_passes() {
        let x = synth(1.5, &[(440.0, -12.0), (1000.0, -12.0)], 1.0);
        let (levels, p) = check_tones(&x, RATE, &TONES, 1.0, -50.0);
        assert!(p.is_empty(), "{p:?}");
        assert!(levels.residual_db < -90.0, "{levels:?}");
    }

    #[test]
    fn a_missing_source_fails() {
        let p = problems(&synth(1.5, &[(440.0, -12.0)], 1.0));
        assert!(p.iter().any(|p| p.starts_with("1000 Hz")), "{p:?}");
    }

    #[test]
    fn a_doubled_source_fails() {
        // The same stream mixed twice: +6 dB.
        let p = problems(&synth(1.5, &[(440.0, -6.0), (1000.0, -12.0)], 1.0));
        assert!(p.iter().any(|p| p.starts_with("440 Hz")), "{p:?}");
    }

    #[test]
    fn a_source_at_the_wrong_rate_fails() {
        // 48 kHz audio declared as 44.1 kHz plays 8.8 % low.
        let p = problems(&synth(
            1.5,
            &[(440.0 * 44.1 / 48.0, -12.0), (1000.0, -12.0)],
            1.0,
        ));
        assert!(p.iter().any(|p| p.starts_with("440 Hz")), "{p:?}");
        assert!(p.iter().any(|p| p.starts_with("residual")), "{p:?}");
    }

    #[test]
    fn clipping_fails_even_at_the_right_levels() {
        // Peaks of the sum (0.5) flattened at 0.45: the tones keep their level within 1 dB,
        // the distortion is in the residual.
        let p = problems(&synth(1.5, &[(440.0, -12.0), (1000.0, -12.0)], 0.45));
        assert!(p.iter().any(|p| p.starts_with("residual")), "{p:?}");
        let p = problems(&synth(1.5, &[(440.0, 0.0), (1000.0, 0.0)], 1.0));
        assert!(
            p.iter().any(|p| p.starts_with("samples at full scale")),
            "{p:?}"
        );
    }

    #[test]
    fn a_silent_gap_fails_the_window_check() {
        let mut x = synth(1.0, &[(440.0, -12.0), (1000.0, -12.0)], 1.0);
        let (_, p) = check_windows(&x, RATE, &TONES, 640, 3.0);
        assert!(p.is_empty(), "{p:?}");
        x[8000..8320].fill(0.0);
        let (_, p) = check_windows(&x, RATE, &TONES, 640, 3.0);
        assert!(!p.is_empty());
    }

    #[test]
    fn absence_is_measured_next_to_a_present_tone() {
        let x = synth(0.3, &[(440.0, -12.0)], 1.0);
        assert!(check_absent(&x, RATE, 1000.0, &[440.0], -50.0).1.is_empty());
        let x = synth(0.3, &[(440.0, -12.0), (1000.0, -40.0)], 1.0);
        assert!(!check_absent(&x, RATE, 1000.0, &[440.0], -50.0).1.is_empty());
    }

    fn header(ts: u64) -> FrameHeader {
        FrameHeader {
            user_id: -1,
            stream: 1,
            media_type: 0,
            codec: 0,
            rate: 16_000,
            channels: 1,
            bits: 16,
            framerate: 20,
            frame_seq: 3,
            stream_id: 0,
            bitrate: 0,
            timestamp: ts,
            bytes: 640,
        }
    }

    #[test]
    fn headers_are_checked_field_by_field_and_for_gaps() {
        let format = Format {
            rate: 16_000,
            channels: 1,
            bits: 16,
        };
        let mut frames: Vec<FrameHeader> = (0..10).map(|i| header(1000 + 20 * i)).collect();
        assert!(check_headers(&frames, 6400, &format, 10).is_empty());
        assert_eq!(check_headers(&frames, 6400, &format, 11).len(), 1);
        assert_eq!(check_headers(&frames, 6398, &format, 10).len(), 1);
        frames[4].rate = 48_000;
        for f in &mut frames[6..] {
            f.timestamp += 20;
        }
        let p = check_headers(&frames, 6400, &format, 10);
        // The wrong rate, then a gap: every later frame is off by 20 ms.
        assert_eq!(p.len(), 5, "{p:?}");
    }
}
