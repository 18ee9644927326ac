//! Mixer CPU per source (48 kHz stereo Opus → 44.1 kHz stereo 16-bit) next to plain Opus
//! decoding of the same packets. Each iteration processes one second of audio (50 packets),
//! so the time per iteration is also the CPU share of one core per source.

use std::f64::consts::PI;
use std::hint::black_box;
use std::time::Duration;

use conference_mixer::{AudioPacket, Bytes, Mixer, OutputFormat, codec};
use criterion::{Criterion, criterion_group, criterion_main};

const PACKETS: usize = 50;

/// One second of 48 kHz stereo Opus at 64 kbit/s: two tones and a little noise.
fn packets() -> Vec<AudioPacket> {
    let mut enc = opus::Encoder::new(48000, opus::Channels::Stereo, opus::Application::Audio)
        .expect("encoder");
    enc.set_bitrate(opus::Bitrate::Bits(64_000))
        .expect("bitrate");
    let mut seed = 0x1234_5678u32;
    (0..PACKETS)
        .map(|i| {
            let pcm: Vec<i16> = (0..960 * 2)
                .map(|k| {
                    let n = (i * 960 + k / 2) as f64 / 48000.0;
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    let noise = f64::from(seed >> 16) / 65536.0 - 0.5;
                    let (f, g) = if k % 2 == 0 {
                        (440.0, 0.3)
                    } else {
                        (660.0, 0.25)
                    };
                    ((g * (2.0 * PI * f * n).sin() + 0.02 * noise) * 32767.0) as i16
                })
                .collect();
            AudioPacket {
                codec: codec::OPUS,
                sample_rate: 48000,
                channels: 2,
                bits: 16,
                duration_ms: 20,
                timestamp_ms: 20 * i as u64,
                payload: Bytes::from(enc.encode_vec(&pcm, 4000).expect("encode")),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let packets = packets();
    let mut group = c.benchmark_group("one_second_48k_stereo_opus");

    let mut decoder = opus::Decoder::new(48000, opus::Channels::Stereo).expect("decoder");
    let mut pcm = vec![0f32; 960 * 2];
    group.bench_function("decode_only", |b| {
        b.iter(|| {
            for p in &packets {
                let n = decoder
                    .decode_float(&p.payload, &mut pcm, false)
                    .expect("decode");
                black_box(&pcm[..n * 2]);
            }
        })
    });

    // 44.1 kHz is the case (decode at 48 kHz, then resample); 48 kHz shows the cost
    // without resampling.
    for (rate, sources) in [(44100, 1u64), (44100, 4), (48000, 1)] {
        let format = OutputFormat::new(rate, 2, 16).expect("format");
        let mut mixer = Mixer::new(format);
        let mut t0 = 0u64;
        group.bench_function(
            format!("mixer_to_{rate}_stereo_16bit/{sources}_sources"),
            |b| {
                b.iter(|| {
                    for p in &packets {
                        for id in 0..sources {
                            let mut p = p.clone();
                            p.timestamp_ms += t0;
                            mixer.push(id, p);
                        }
                        black_box(mixer.next_frame());
                    }
                    t0 += 1000;
                })
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
