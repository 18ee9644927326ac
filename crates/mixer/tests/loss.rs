//! Lost Opus packets: the gap is concealed (libopus PLC, or the next packet's in-band FEC), the
//! output stays continuous, with no silent hole and no click.

mod common;

use common::*;
use conference_mixer::{AudioPacket, Bytes, Mixer, OutputFormat, codec};

const LOST_SINGLE: usize = 40;
const LOST_BURST: [usize; 3] = [60, 61, 62];

fn opus_packets(fec: bool) -> Vec<AudioPacket> {
    let mut enc =
        opus::Encoder::new(48000, opus::Channels::Mono, opus::Application::Voip).expect("encoder");
    enc.set_bitrate(opus::Bitrate::Bits(32_000))
        .expect("bitrate");
    if fec {
        enc.set_inband_fec(true).expect("fec");
        enc.set_packet_loss_perc(20).expect("loss");
    }
    (0..100)
        .map(|i| {
            let s = sine_i16(48000, 1, 440.0, MINUS_12_DBFS, i * 960, 960);
            AudioPacket {
                codec: codec::OPUS,
                sample_rate: 48000,
                channels: 1,
                bits: 16,
                duration_ms: 20,
                timestamp_ms: 20 * i as u64,
                payload: Bytes::from(enc.encode_vec(&s, 4000).expect("encode")),
            }
        })
        .collect()
}

fn rms(x: &[f64]) -> f64 {
    (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt()
}

fn max_step(x: &[f64]) -> f64 {
    x.windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f64::max)
}

/// Mixes the stream with packets lost, returns (per-frame RMS, largest sample step) over the
/// region around the losses, and the concealed ms.
fn run_with_loss(fec: bool, out_rate: u32) -> (Vec<f64>, f64, u64) {
    let format = OutputFormat::new(out_rate, 1, 16).expect("format");
    let mut mixer = Mixer::new(format);
    let mut packets = opus_packets(fec);
    // A lost packet never reaches the mixer: stand-in packets that are never pushed.
    for i in std::iter::once(LOST_SINGLE).chain(LOST_BURST) {
        packets[i].timestamp_ms = u64::MAX;
    }
    let frames: Vec<_> = (0..100)
        .map(|i| {
            if packets[i].timestamp_ms != u64::MAX {
                mixer.push(1, packets[i].clone());
            }
            mixer.next_frame()
        })
        .collect();
    let stats = mixer.source_stats(1).expect("source known");
    let region = &frames[30..80];
    let per_frame: Vec<f64> = region
        .iter()
        .map(|f| rms(&channel(std::slice::from_ref(f), 0)))
        .collect();
    (per_frame, max_step(&channel(region, 0)), stats.concealed_ms)
}

fn check(fec: bool, out_rate: u32) {
    let (per_frame, step, concealed) = run_with_loss(fec, out_rate);
    let tone_rms = MINUS_12_DBFS / 2f64.sqrt();
    // The clean tone's largest step between samples: amplitude · 2π·f/rate.
    let tone_step = MINUS_12_DBFS * 2.0 * std::f64::consts::PI * 440.0 / f64::from(out_rate);
    let min = per_frame.iter().copied().fold(f64::MAX, f64::min);
    eprintln!(
        "fec {fec}, {out_rate} Hz: concealed {concealed} ms, quietest frame {:.1} dB re tone, largest step {:.2}x the tone's",
        20.0 * (min / tone_rms).log10(),
        step / tone_step
    );
    assert_eq!(concealed, 80, "1 + 3 lost packets of 20 ms concealed");
    assert!(
        min > tone_rms * 0.25,
        "a frame dropped to {:.1} dB: hole in the output",
        20.0 * (min / tone_rms).log10()
    );
    assert!(
        step < tone_step * 3.0,
        "click: step {:.4} vs tone {:.4}",
        step,
        tone_step
    );
}

#[test]
fn lost_packets_are_concealed_by_plc_without_hole_or_click() {
    for rate in [48000, 44100, 16000] {
        check(false, rate);
    }
}

/// With an FEC-enabled (SILK) stream, the mixer's concealment is exactly libopus's: the
/// single loss rebuilt from the next packet's FEC, the burst concealed by PLC with FEC for
/// its last packet.
#[test]
fn concealment_matches_the_reference_decoder() {
    let packets = opus_packets(true);
    let lost = |i: usize| i == LOST_SINGLE || LOST_BURST.contains(&i);

    // Reference: libopus decoding the same loss pattern by hand.
    let mut decoder = opus::Decoder::new(48000, opus::Channels::Mono).expect("decoder");
    let mut reference: Vec<i32> = Vec::new();
    for i in 0..90 {
        let mut buf = vec![0f32; 960];
        let n = match (lost(i), lost(i + 1)) {
            (false, _) => decoder.decode_float(&packets[i].payload, &mut buf, false),
            (true, false) => decoder.decode_float(&packets[i + 1].payload, &mut buf, true),
            (true, true) => decoder.decode_float(&[], &mut buf, false),
        }
        .expect("decode");
        assert_eq!(n, 960);
        reference.extend(
            buf.iter()
                .map(|s| i32::from((s.clamp(-1.0, 1.0) * 32768.0) as i16)),
        );
    }

    let format = OutputFormat::new(48000, 1, 16).expect("format");
    let mut mixer = Mixer::new(format);
    let mut out: Vec<i32> = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        if !lost(i) {
            mixer.push(1, p.clone());
        }
        out.extend(mixer.next_frame().samples_i32());
    }
    // The mix starts after the jitter buffer's target delay: align on the first sound.
    let offset = out.iter().position(|s| *s != 0).expect("audio") / 960 * 960;
    let mixed = &out[offset..offset + reference.len()];
    let worst = mixed
        .iter()
        .zip(&reference)
        .map(|(a, b)| (a - b).abs())
        .max()
        .unwrap_or(0);
    assert!(
        worst <= 1,
        "mixer differs from libopus by up to {worst} LSB"
    );
    assert_eq!(mixer.source_stats(1).map(|s| s.concealed_ms), Some(80));
}
