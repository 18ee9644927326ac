//! Shared signal sources for the mixer tests.
//!
//! Several test binaries share this module and not all of them use every item: those
//! carry `#[allow(dead_code)]` one by one (an item no binary uses is removed).

use std::f64::consts::PI;

use conference_mixer::{AudioPacket, Bytes, MixedFrame, Mixer, codec};

/// −12 dBFS as a peak amplitude.
#[allow(dead_code)]
pub const MINUS_12_DBFS: f64 = 0.251_188_643_150_958;

/// Interleaved 16-bit sine, the same on every channel, starting at frame `start`.
#[allow(dead_code)]
pub fn sine_i16(
    rate: u32,
    channels: u16,
    freq: f64,
    amp: f64,
    start: usize,
    frames: usize,
) -> Vec<i16> {
    let mut out = Vec::with_capacity(frames * usize::from(channels));
    for n in start..start + frames {
        let v =
            (amp * (2.0 * PI * freq * n as f64 / f64::from(rate)).sin() * 32767.0).round() as i16;
        for _ in 0..channels {
            out.push(v);
        }
    }
    out
}

/// A PCM 16-bit packet.
#[allow(dead_code)]
pub fn pcm_packet(rate: u32, channels: u16, timestamp_ms: u64, samples: &[i16]) -> AudioPacket {
    let payload: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let frames = samples.len() / usize::from(channels);
    AudioPacket {
        codec: codec::PCM,
        sample_rate: rate,
        channels,
        bits: 16,
        duration_ms: (frames as u64 * 1000 / u64::from(rate)) as u16,
        timestamp_ms,
        payload: Bytes::from(payload),
    }
}

/// 20 ms PCM packets of a sine, `count` of them, timestamps from `t0`.
#[allow(dead_code)]
pub fn pcm_tone(
    rate: u32,
    channels: u16,
    freq: f64,
    amp: f64,
    t0: u64,
    count: usize,
) -> Vec<AudioPacket> {
    let frames = rate as usize / 50;
    (0..count)
        .map(|i| {
            let s = sine_i16(rate, channels, freq, amp, i * frames, frames);
            pcm_packet(rate, channels, t0 + 20 * i as u64, &s)
        })
        .collect()
}

/// 20 ms Opus packets of a sine (48 kHz, libopus encoder at `bitrate`).
#[allow(dead_code)]
pub fn opus_tone(
    channels: u16,
    freq: f64,
    amp: f64,
    bitrate: i32,
    t0: u64,
    count: usize,
) -> Vec<AudioPacket> {
    let layout = if channels == 1 {
        opus::Channels::Mono
    } else {
        opus::Channels::Stereo
    };
    let mut enc = opus::Encoder::new(48000, layout, opus::Application::Audio).expect("encoder");
    enc.set_bitrate(opus::Bitrate::Bits(bitrate))
        .expect("bitrate");
    (0..count)
        .map(|i| {
            let s = sine_i16(48000, channels, freq, amp, i * 960, 960);
            let data = enc.encode_vec(&s, 4000).expect("encode");
            AudioPacket {
                codec: codec::OPUS,
                sample_rate: 48000,
                channels,
                bits: 16,
                duration_ms: 20,
                timestamp_ms: t0 + 20 * i as u64,
                payload: Bytes::from(data),
            }
        })
        .collect()
}

/// Drives `mixer` in real-time order: before frame i, packet i of every source is pushed.
/// Runs `frames` frames (sources may be shorter).
#[allow(dead_code)]
pub fn run(
    mixer: &mut Mixer,
    sources: &[(u64, Vec<AudioPacket>)],
    frames: usize,
) -> Vec<MixedFrame> {
    (0..frames)
        .map(|i| {
            for (id, packets) in sources {
                if let Some(p) = packets.get(i) {
                    mixer.push(*id, p.clone());
                }
            }
            mixer.next_frame()
        })
        .collect()
}

/// One channel of the frames as f64 in [-1, 1).
#[allow(dead_code)]
pub fn channel(frames: &[MixedFrame], ch: usize) -> Vec<f64> {
    frames
        .iter()
        .flat_map(|f| {
            let n = usize::from(f.channels);
            f.samples_f64()
                .into_iter()
                .skip(ch)
                .step_by(n)
                .collect::<Vec<_>>()
        })
        .collect()
}
