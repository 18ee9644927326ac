//! Packet classification (what a packet is, how long it lasts) and decoding to f32.

use crate::convert::decode_pcm;
use crate::format::OutputFormat;
use crate::packet::{AudioPacket, codec};

/// Rates the Opus decoder can produce directly.
const OPUS_RATES: [u32; 5] = [8000, 12000, 16000, 24000, 48000];
/// PCM sender rates accepted.
const PCM_RATES: std::ops::RangeInclusive<u32> = 4000..=192_000;
/// PCM sender channel counts accepted.
const PCM_CHANNELS: std::ops::RangeInclusive<u16> = 1..=8;
/// Longest Opus packet: 120 ms at 48 kHz, per channel.
const OPUS_MAX_FRAMES: usize = 5760;

/// The decoding-relevant shape of a stream; a change rebuilds the source's decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamSpec {
    Pcm {
        rate: u32,
        channels: u16,
        bytes: u16,
    },
    /// Opus carries its own rate and channel coding; only the declared channel count (1 or 2)
    /// matters, to decode a mono stream as mono.
    Opus { channels: u16 },
}

/// Why a packet is not mixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Rejected {
    /// A codec the mixer does not decode (G.722.1, AMR-WB, unknown ids).
    Unsupported(u16),
    /// Malformed: bad PCM parameters, empty or unparsable payload.
    Invalid(&'static str),
}

/// What a packet is and how many ms of audio it holds.
pub(crate) fn classify(packet: &AudioPacket) -> Result<(StreamSpec, u32), Rejected> {
    match packet.codec {
        codec::PCM => {
            let bytes = match packet.bits {
                16 => 2,
                32 => 4,
                _ => return Err(Rejected::Invalid("PCM bits must be 16 or 32")),
            };
            if !PCM_RATES.contains(&packet.sample_rate) {
                return Err(Rejected::Invalid("PCM rate out of range"));
            }
            if !PCM_CHANNELS.contains(&packet.channels) {
                return Err(Rejected::Invalid("PCM channel count out of range"));
            }
            let frame_bytes = usize::from(bytes) * usize::from(packet.channels);
            let frames = packet.payload.len() / frame_bytes;
            if frames == 0 {
                return Err(Rejected::Invalid("empty PCM packet"));
            }
            let spec = StreamSpec::Pcm {
                rate: packet.sample_rate,
                channels: packet.channels,
                bytes,
            };
            Ok((spec, frames_to_ms(frames, packet.sample_rate)))
        }
        codec::OPUS => {
            if packet.payload.is_empty() {
                return Err(Rejected::Invalid("empty Opus packet"));
            }
            let frames = opus::packet::get_nb_samples(&packet.payload, 48000)
                .map_err(|_| Rejected::Invalid("unparsable Opus packet"))?;
            if frames == 0 || frames > OPUS_MAX_FRAMES {
                return Err(Rejected::Invalid("Opus packet duration out of range"));
            }
            let channels = if packet.channels == 1 { 1 } else { 2 };
            Ok((StreamSpec::Opus { channels }, frames_to_ms(frames, 48000)))
        }
        other => Err(Rejected::Unsupported(other)),
    }
}

fn frames_to_ms(frames: usize, rate: u32) -> u32 {
    let ms = (frames as u64 * 1000 + u64::from(rate) / 2) / u64::from(rate);
    u32::try_from(ms).unwrap_or(u32::MAX).max(1)
}

/// A decoder producing interleaved f32 at its own rate and channel count.
pub(crate) enum Decoder {
    Pcm {
        rate: u32,
        channels: usize,
        bytes: usize,
    },
    Opus {
        decoder: Box<opus::Decoder>,
        rate: u32,
        channels: usize,
        scratch: Vec<f32>,
    },
}

impl Decoder {
    /// A decoder for `spec` feeding a mix in `out`.
    pub fn new(spec: StreamSpec, out: &OutputFormat) -> Result<Self, opus::Error> {
        Ok(match spec {
            StreamSpec::Pcm {
                rate,
                channels,
                bytes,
            } => Decoder::Pcm {
                rate,
                channels: usize::from(channels),
                bytes: usize::from(bytes),
            },
            StreamSpec::Opus { channels } => {
                // Decode straight at the output rate when Opus supports it (no resampling).
                let rate = if OPUS_RATES.contains(&out.sample_rate()) {
                    out.sample_rate()
                } else {
                    48000
                };
                // No point decoding stereo into a mono mix: libopus downmixes itself.
                let channels = channels.min(out.channels());
                let layout = if channels == 1 {
                    opus::Channels::Mono
                } else {
                    opus::Channels::Stereo
                };
                Decoder::Opus {
                    decoder: Box::new(opus::Decoder::new(rate, layout)?),
                    rate,
                    channels: usize::from(channels),
                    scratch: vec![0.0; OPUS_MAX_FRAMES * 2],
                }
            }
        })
    }

    pub fn rate(&self) -> u32 {
        match self {
            Decoder::Pcm { rate, .. } | Decoder::Opus { rate, .. } => *rate,
        }
    }

    pub fn channels(&self) -> usize {
        match self {
            Decoder::Pcm { channels, .. } | Decoder::Opus { channels, .. } => *channels,
        }
    }

    /// Decodes one packet, appending its samples to `out`. A corrupt Opus packet is concealed
    /// for `ms` instead.
    pub fn decode(&mut self, payload: &[u8], ms: u32, out: &mut Vec<f32>) {
        match self {
            Decoder::Pcm { bytes, .. } => decode_pcm(payload, *bytes, out),
            Decoder::Opus {
                decoder,
                channels,
                scratch,
                ..
            } => match decoder.decode_float(payload, scratch, false) {
                Ok(frames) => out.extend_from_slice(&scratch[..frames * *channels]),
                Err(e) => {
                    tracing::debug!("corrupt Opus packet concealed: {e}");
                    self.conceal(ms, None, out);
                }
            },
        }
    }

    /// Appends `ms` of concealment: Opus loss concealment (or in-band FEC from `fec`, the
    /// packet right after the gap), silence for PCM.
    pub fn conceal(&mut self, ms: u32, fec: Option<&[u8]>, out: &mut Vec<f32>) {
        let frames = (u64::from(self.rate()) * u64::from(ms) / 1000) as usize;
        let channels = self.channels();
        if let Decoder::Opus {
            decoder,
            rate,
            scratch,
            ..
        } = self
        {
            // libopus conceals in multiples of 2.5 ms, and at most one 120 ms packet at a time.
            let step = (*rate / 400) as usize;
            let plc_frames = (frames / step * step).min(OPUS_MAX_FRAMES * *rate as usize / 48000);
            if plc_frames > 0 {
                let buf = &mut scratch[..plc_frames * channels];
                let result = match fec {
                    // With decode_fec, libopus uses the next packet's redundancy for the lost
                    // one, or falls back to loss concealment when the packet has none.
                    Some(next) => decoder.decode_float(next, buf, true),
                    None => decoder.decode_float(&[], buf, false),
                };
                match result {
                    Ok(n) => {
                        out.extend_from_slice(&scratch[..n * channels]);
                        let rest = frames.saturating_sub(n);
                        out.resize(out.len() + rest * channels, 0.0);
                        return;
                    }
                    Err(e) => tracing::debug!("Opus concealment failed, using silence: {e}"),
                }
            }
        }
        out.resize(out.len() + frames * channels, 0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn packet(codec: u16, bits: u16, channels: u16, payload: Vec<u8>) -> AudioPacket {
        AudioPacket {
            codec,
            sample_rate: 48000,
            channels,
            bits,
            duration_ms: 20,
            timestamp_ms: 0,
            payload: Bytes::from(payload),
        }
    }

    #[test]
    fn classify_derives_duration_from_the_payload() {
        let p = packet(codec::PCM, 16, 2, vec![0; 960 * 4]);
        assert_eq!(
            classify(&p),
            Ok((
                StreamSpec::Pcm {
                    rate: 48000,
                    channels: 2,
                    bytes: 2
                },
                20
            ))
        );
        let p = packet(codec::PCM, 32, 1, vec![0; 480 * 4]);
        assert_eq!(classify(&p).map(|(_, ms)| ms), Ok(10));
        assert_eq!(
            classify(&packet(codec::G7221, 16, 1, vec![1; 40])),
            Err(Rejected::Unsupported(codec::G7221))
        );
        assert!(classify(&packet(codec::PCM, 24, 1, vec![0; 96])).is_err());
        assert!(classify(&packet(codec::PCM, 16, 0, vec![0; 96])).is_err());
        assert!(classify(&packet(codec::PCM, 16, 1, vec![0; 1])).is_err());
        assert!(classify(&packet(codec::OPUS, 0, 2, vec![])).is_err());
    }

    #[test]
    fn opus_duration_comes_from_the_toc() {
        let mut enc =
            opus::Encoder::new(48000, opus::Channels::Stereo, opus::Application::Audio).unwrap();
        let pcm = vec![0i16; 960 * 2];
        let data = enc.encode_vec(&pcm, 4000).unwrap();
        let (spec, ms) = classify(&packet(codec::OPUS, 16, 2, data)).unwrap();
        assert_eq!((spec, ms), (StreamSpec::Opus { channels: 2 }, 20));
    }

    #[test]
    fn opus_plc_produces_exactly_the_concealed_duration() {
        let out = OutputFormat::new(16000, 1, 16).unwrap();
        let mut d = Decoder::new(StreamSpec::Opus { channels: 2 }, &out).unwrap();
        assert_eq!((d.rate(), d.channels()), (16000, 1));
        let mut buf = Vec::new();
        d.conceal(20, None, &mut buf);
        assert_eq!(buf.len(), 320);
        d.conceal(1, None, &mut buf);
        assert_eq!(
            buf.len(),
            336,
            "sub-2.5 ms concealment is silence of the right length"
        );
    }
}
