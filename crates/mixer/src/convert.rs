//! Sample conversions: channel layout changes and the saturating encode of the mix.

use dasp::sample::Sample;

use crate::format::SampleBits;

/// Appends `input` (interleaved, `in_ch` wide) to `out` as `out_ch` channels.
/// Down to mono averages the channels (a centred source keeps its level); mono up to stereo
/// duplicates; more than two channels to stereo keeps the first two.
pub(crate) fn remix(input: &[f32], in_ch: usize, out_ch: usize, out: &mut Vec<f32>) {
    if in_ch == out_ch || in_ch == 0 {
        out.extend_from_slice(input);
        return;
    }
    let frames = input.chunks_exact(in_ch);
    out.reserve(frames.len() * out_ch);
    match out_ch {
        1 => {
            let scale = 1.0 / in_ch as f32;
            out.extend(frames.map(|f| f.iter().sum::<f32>() * scale));
        }
        _ => {
            for f in frames {
                for c in 0..out_ch {
                    // Mono is duplicated; missing channels repeat the last one.
                    out.push(f[c.min(in_ch - 1)]);
                }
            }
        }
    }
}

/// Writes the mix as signed little-endian samples, clipping to the sample range: loud sums
/// saturate at the maximum instead of wrapping round.
pub(crate) fn encode(mix: &[f32], bits: SampleBits, out: &mut Vec<u8>) {
    out.reserve(mix.len() * bits.bytes());
    // Clamp first: dasp's f32 conversions assume -1.0 <= s < 1.0. (`as` would also saturate,
    // and turns NaN into 0.)
    let clamp = |s: f32| s.clamp(-1.0, 1.0);
    match bits {
        SampleBits::I16 => {
            for &s in mix {
                out.extend_from_slice(&clamp(s).to_sample::<i16>().to_le_bytes());
            }
        }
        SampleBits::I32 => {
            for &s in mix {
                // f64 keeps the full 32-bit range exact at the top (1.0 → i32::MAX).
                out.extend_from_slice(&f64::from(clamp(s)).to_sample::<i32>().to_le_bytes());
            }
        }
    }
}

/// Decodes signed little-endian PCM (16 or 32 bits) to f32, appending to `out`.
pub(crate) fn decode_pcm(payload: &[u8], bytes_per_sample: usize, out: &mut Vec<f32>) {
    match bytes_per_sample {
        4 => out.extend(
            payload
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]).to_sample::<f32>()),
        ),
        _ => out.extend(
            payload
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]).to_sample::<f32>()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc16(mix: &[f32]) -> Vec<i16> {
        let mut out = Vec::new();
        encode(mix, SampleBits::I16, &mut out);
        out.chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect()
    }

    fn enc32(mix: &[f32]) -> Vec<i32> {
        let mut out = Vec::new();
        encode(mix, SampleBits::I32, &mut out);
        out.chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }

    #[test]
    fn encode_saturates_instead_of_wrapping() {
        assert_eq!(
            enc16(&[1.7, -1.7, 1.0, -1.0, 0.5, f32::NAN]),
            [i16::MAX, i16::MIN, i16::MAX, i16::MIN, 16384, 0]
        );
        assert_eq!(
            enc32(&[1.7, -1.7, 1.0, -1.0, 0.5]),
            [i32::MAX, i32::MIN, i32::MAX, i32::MIN, 1 << 30]
        );
    }

    #[test]
    fn pcm_round_trips_bit_exactly() {
        let samples: Vec<i16> = vec![i16::MIN, -1, 0, 1, 12345, i16::MAX];
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut f = Vec::new();
        decode_pcm(&bytes, 2, &mut f);
        assert_eq!(enc16(&f), samples);
    }

    #[test]
    fn remix_layouts() {
        let mut out = Vec::new();
        remix(&[0.2, 0.4, -1.0, 1.0], 2, 1, &mut out);
        assert_eq!(out, [0.3, 0.0]);
        out.clear();
        remix(&[0.25, 0.5], 1, 2, &mut out);
        assert_eq!(out, [0.25, 0.25, 0.5, 0.5]);
        out.clear();
        remix(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 3, 2, &mut out);
        assert_eq!(out, [0.1, 0.2, 0.4, 0.5]);
    }
}
