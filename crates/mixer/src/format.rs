//! The mixer's output format (`audio_mixer_props_t`) and the 20 ms frame arithmetic.

use std::fmt;

/// Every mixed frame covers exactly this many milliseconds.
pub const FRAME_MS: u32 = 20;

/// Output rates the SDK accepts (SPEC §3).
pub const SUPPORTED_RATES: [u32; 5] = [8000, 16000, 32000, 44100, 48000];

/// Output sample width in bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleBits {
    /// Signed 16-bit little-endian.
    I16,
    /// Signed 32-bit little-endian.
    I32,
}

impl SampleBits {
    /// Bits per sample (16 or 32).
    pub fn bits(self) -> u16 {
        match self {
            SampleBits::I16 => 16,
            SampleBits::I32 => 32,
        }
    }

    /// Bytes per sample (2 or 4).
    pub fn bytes(self) -> usize {
        usize::from(self.bits() / 8)
    }
}

/// The format of the mixed track: rate, channel count and sample width, interleaved signed
/// little-endian PCM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OutputFormat {
    sample_rate: u32,
    channels: u16,
    bits: SampleBits,
}

/// An output format outside what SPEC §3 allows (the SDK maps it to `retCode_ParamErr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatError {
    /// The rejected rate.
    pub sample_rate: i64,
    /// The rejected channel count.
    pub channels: i64,
    /// The rejected sample width.
    pub bits: i64,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unsupported mixer format {} Hz / {} ch / {} bit (rates 8000/16000/32000/44100/48000, 1 or 2 channels, 16 or 32 bits)",
            self.sample_rate, self.channels, self.bits
        )
    }
}

impl std::error::Error for FormatError {}

impl OutputFormat {
    /// Validates a format. Takes `i64` so the C `int` fields of `audio_mixer_props_t`
    /// (negative ones included) convert without a separate range check.
    pub fn new(
        sample_rate: impl Into<i64>,
        channels: impl Into<i64>,
        bits: impl Into<i64>,
    ) -> Result<Self, FormatError> {
        let (rate, ch, b) = (sample_rate.into(), channels.into(), bits.into());
        let err = FormatError {
            sample_rate: rate,
            channels: ch,
            bits: b,
        };
        let sample_rate = u32::try_from(rate)
            .ok()
            .filter(|r| SUPPORTED_RATES.contains(r))
            .ok_or(err)?;
        let channels = match ch {
            1 => 1,
            2 => 2,
            _ => return Err(err),
        };
        let bits = match b {
            16 => SampleBits::I16,
            32 => SampleBits::I32,
            _ => return Err(err),
        };
        Ok(Self {
            sample_rate,
            channels,
            bits,
        })
    }

    /// Samples per second per channel.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// 1 (mono) or 2 (stereo, interleaved L R).
    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// Sample width.
    pub fn sample_bits(&self) -> SampleBits {
        self.bits
    }

    /// Sample width in bits (16 or 32), the value of `m_u16KeyFrame` in the delivered media info.
    pub fn bits(&self) -> u16 {
        self.bits.bits()
    }

    /// Frames (samples per channel) in one 20 ms frame; every supported rate divides by 50.
    pub fn frames_per_frame(&self) -> usize {
        (self.sample_rate / (1000 / FRAME_MS)) as usize
    }

    /// Interleaved samples in one 20 ms frame.
    pub fn samples_per_frame(&self) -> usize {
        self.frames_per_frame() * usize::from(self.channels)
    }

    /// Bytes in one 20 ms frame.
    pub fn bytes_per_frame(&self) -> usize {
        self.samples_per_frame() * self.bits.bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_exactly_the_spec_formats() {
        for rate in SUPPORTED_RATES {
            for ch in [1, 2] {
                for bits in [16, 32] {
                    let f = OutputFormat::new(rate, ch, bits).expect("supported");
                    assert_eq!(f.frames_per_frame() * 50, rate as usize);
                    assert_eq!(
                        f.bytes_per_frame(),
                        rate as usize / 50 * ch as usize * bits as usize / 8
                    );
                }
            }
        }
        for (r, c, b) in [
            (22050, 1, 16),
            (0, 1, 16),
            (-16000, 1, 16),
            (16000, 0, 16),
            (16000, 3, 16),
            (16000, 1, 8),
            (16000, 1, 24),
        ] {
            assert!(OutputFormat::new(r, c, b).is_err(), "{r} {c} {b}");
        }
    }
}
