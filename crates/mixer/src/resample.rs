//! Streaming sample-rate conversion with rubato: packets of any length go in, whatever the
//! resampler has produced so far comes out.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, Resampler, ResamplerConstructionError,
    SincInterpolationParameters, WindowFunction,
};

/// The FFT resampler works in blocks of `rate / gcd(in, out)` input frames; above this (odd
/// sender rates like 44101 Hz) its block and delay grow too large and the sinc resampler is used.
const MAX_FFT_BLOCK: usize = 2048;

pub(crate) struct StreamResampler {
    inner: Option<Box<dyn Resampler<f32>>>,
    channels: usize,
    /// Input not yet consumed (interleaved), shorter than one chunk between calls.
    pending: Vec<f32>,
    scratch: Vec<f32>,
}

impl StreamResampler {
    pub fn new(
        in_rate: u32,
        out_rate: u32,
        channels: usize,
    ) -> Result<Self, ResamplerConstructionError> {
        let inner: Option<Box<dyn Resampler<f32>>> = if in_rate == out_rate {
            None
        } else {
            let (fin, fout) = (in_rate as usize, out_rate as usize);
            // 10 ms chunks keep the added latency small.
            let chunk = (fin / 100).max(16);
            let min_block = fin / gcd(fin, fout);
            if min_block <= MAX_FFT_BLOCK {
                // Fixed ratio: the FFT resampler is exact and cheap.
                Some(Box::new(Fft::<f32>::new(
                    fin,
                    fout,
                    chunk,
                    channels,
                    FixedSync::Input,
                )?))
            } else {
                let params = SincInterpolationParameters::new(256, WindowFunction::BlackmanHarris2);
                Some(Box::new(Async::<f32>::new_sinc(
                    fout as f64 / fin as f64,
                    1.0,
                    &params,
                    chunk,
                    channels,
                    FixedAsync::Input,
                )?))
            }
        };
        let scratch = vec![0.0; inner.as_ref().map_or(0, |r| r.output_frames_max()) * channels];
        Ok(Self {
            inner,
            channels,
            pending: Vec::new(),
            scratch,
        })
    }

    /// Frames of delay the resampler adds (output rate).
    #[cfg(test)]
    pub fn delay_frames(&self) -> usize {
        self.inner.as_ref().map_or(0, |r| r.output_delay())
    }

    /// Resamples `input` (interleaved, `channels` wide) and appends what is ready to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        let Some(inner) = self.inner.as_mut() else {
            out.extend_from_slice(input);
            return;
        };
        let ch = self.channels;
        self.pending.extend_from_slice(input);
        let mut consumed = 0;
        loop {
            let need = inner.input_frames_next();
            let available = (self.pending.len() - consumed) / ch;
            if available < need {
                break;
            }
            let input = &self.pending[consumed..consumed + need * ch];
            let out_frames = self.scratch.len() / ch;
            let (Ok(buf_in), Ok(mut buf_out)) = (
                InterleavedSlice::new(input, ch, need),
                InterleavedSlice::new_mut(&mut self.scratch, ch, out_frames),
            ) else {
                // Sizes are computed from the resampler itself; unreachable in practice.
                break;
            };
            match inner.process_into_buffer(&buf_in, &mut buf_out, None) {
                Ok((used, produced)) => {
                    consumed += used * ch;
                    out.extend_from_slice(&self.scratch[..produced * ch]);
                }
                Err(e) => {
                    tracing::warn!("resampler failed, dropping its input: {e}");
                    consumed = self.pending.len();
                    break;
                }
            }
        }
        self.pending.drain(..consumed);
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Amplitude of `freq` in `x` by least squares (x spans whole cycles).
    fn fit(x: &[f32], freq: f64, rate: f64) -> (f64, f64) {
        let (mut s, mut c) = (0.0, 0.0);
        for (n, v) in x.iter().enumerate() {
            let w = 2.0 * std::f64::consts::PI * freq * n as f64 / rate;
            s += f64::from(*v) * w.sin();
            c += f64::from(*v) * w.cos();
        }
        let k = 2.0 / x.len() as f64;
        (s * k, c * k)
    }

    fn sinad(in_rate: u32, out_rate: u32, packet: usize) -> f64 {
        let mut r = StreamResampler::new(in_rate, out_rate, 1).expect("resampler");
        let mut out = Vec::new();
        let total = in_rate as usize * 2;
        let x: Vec<f32> = (0..total)
            .map(|n| {
                (0.5 * (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / f64::from(in_rate)).sin())
                    as f32
            })
            .collect();
        for chunk in x.chunks(packet) {
            r.process(chunk, &mut out);
        }
        // One second, skipping the start-up.
        let seg = &out[out_rate as usize / 2..out_rate as usize / 2 + out_rate as usize];
        let (a, b) = fit(seg, 1000.0, f64::from(out_rate));
        let mut noise = 0.0;
        for (n, v) in seg.iter().enumerate() {
            let w = 2.0 * std::f64::consts::PI * 1000.0 * n as f64 / f64::from(out_rate);
            let e = f64::from(*v) - a * w.sin() - b * w.cos();
            noise += e * e;
        }
        let signal = (a * a + b * b) / 2.0 * seg.len() as f64;
        10.0 * (signal / noise).log10()
    }

    #[test]
    fn passthrough_when_rates_match() {
        let mut r = StreamResampler::new(16000, 16000, 2).expect("resampler");
        let mut out = Vec::new();
        r.process(&[0.1, 0.2, 0.3, 0.4], &mut out);
        assert_eq!(out, [0.1, 0.2, 0.3, 0.4]);
        assert_eq!(r.delay_frames(), 0);
    }

    #[test]
    fn fft_path_is_clean_for_common_rate_pairs() {
        for (i, o) in [
            (44100, 48000),
            (48000, 44100),
            (48000, 16000),
            (8000, 44100),
        ] {
            let s = sinad(i, o, 441);
            assert!(s >= 70.0, "{i} -> {o}: SINAD {s:.1} dB");
        }
    }

    #[test]
    fn sinc_path_handles_odd_sender_rates() {
        let s = sinad(44101, 48000, 500);
        assert!(s >= 70.0, "44101 -> 48000: SINAD {s:.1} dB");
    }
}
