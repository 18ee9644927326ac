//! The senders' test signal: a sine at a level in dBFS (of a full-scale sine's peak), in
//! interleaved 16-bit frames, phase-continuous from frame to frame.

use std::f64::consts::TAU;

/// Peak amplitude (full scale = 1) of a sine at `dbfs`.
pub fn amplitude(dbfs: f64) -> f64 {
    10f64.powf(dbfs / 20.0)
}

pub struct Tone {
    freq: f64,
    amplitude: f64,
    rate: f64,
    /// Sample frames produced so far.
    position: u64,
}

impl Tone {
    pub fn new(freq: f64, dbfs: f64, rate: u32) -> Tone {
        Tone {
            freq,
            amplitude: amplitude(dbfs),
            rate: f64::from(rate),
            position: 0,
        }
    }

    /// The next `frames` sample frames, the same value on each of `channels`.
    pub fn next_frame(&mut self, frames: usize, channels: usize) -> Vec<i16> {
        let mut out = Vec::with_capacity(frames * channels);
        for _ in 0..frames {
            // Phase from the sample index (not accumulated), so it never drifts.
            let phase = TAU * self.freq * self.position as f64 / self.rate;
            let v = (self.amplitude * 32767.0 * phase.sin()).round() as i16;
            out.extend(std::iter::repeat_n(v, channels));
            self.position += 1;
        }
        out
    }
}

/// Little-endian bytes of interleaved samples (the PCM payload of codec 0).
pub fn le_bytes(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_continuous_and_at_the_level() {
        let mut tone = Tone::new(1000.0, -12.0, 48_000);
        let a = tone.next_frame(960, 2);
        let b = tone.next_frame(960, 2);
        assert_eq!(a.len(), 1920);
        assert_eq!(a[0], a[1]);
        // 1 kHz at 48 kHz repeats every 48 samples: frame 2 starts where frame 1 did.
        assert_eq!(a[..96], b[..96]);
        let peak = a.iter().map(|v| i32::from(*v).abs()).max().unwrap();
        assert!((f64::from(peak) / 32767.0 - amplitude(-12.0)).abs() < 1e-3);
        assert_eq!(le_bytes(&[1, -2]), vec![1, 0, 0xfe, 0xff]);
    }
}
