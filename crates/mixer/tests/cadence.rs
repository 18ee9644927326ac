//! Frame cadence: every frame holds exactly 20 ms of samples in the output format, timestamps
//! grow by exactly 20, and the output never stops (silence when nobody talks).

mod common;

use common::*;
use conference_mixer::{Mixer, MixerConfig, OutputFormat, SUPPORTED_RATES};

#[test]
fn every_format_gets_exact_20_ms_frames_with_continuous_timestamps() {
    for rate in SUPPORTED_RATES {
        for channels in [1u16, 2] {
            for bits in [16u16, 32] {
                let format = OutputFormat::new(rate, channels, bits).expect("format");
                let config = MixerConfig {
                    first_timestamp_ms: 1_000_000,
                    ..MixerConfig::default()
                };
                let mut mixer = Mixer::with_config(format, config);
                // A PCM talker (44.1 kHz mono), an Opus talker, then both stop.
                let sources = [
                    (1, pcm_tone(44100, 1, 300.0, 0.3, 0, 30)),
                    (2, opus_tone(2, 700.0, 0.3, 64_000, 5_000, 30)),
                ];
                let frames = run(&mut mixer, &sources, 60);
                let expected_len =
                    rate as usize / 50 * usize::from(channels) * usize::from(bits) / 8;
                for (i, f) in frames.iter().enumerate() {
                    let what = format!("{rate} Hz {channels} ch {bits} bit, frame {i}");
                    assert_eq!(f.data.len(), expected_len, "{what}: length");
                    assert_eq!(
                        f.timestamp_ms,
                        1_000_000 + 20 * i as u64,
                        "{what}: timestamp"
                    );
                    assert_eq!(
                        (f.sample_rate, f.channels, f.bits),
                        (rate, channels, bits),
                        "{what}"
                    );
                    assert_eq!(f.duration_ms(), 20);
                }
                // Audio while they talk; digital silence once they have stopped and the
                // concealment has faded.
                let loud =
                    |f: &conference_mixer::MixedFrame| f.samples_i32().iter().any(|s| *s != 0);
                assert!(
                    frames[10..25].iter().all(loud),
                    "{rate}/{channels}/{bits}: talkers audible"
                );
                assert!(
                    !frames[55..].iter().any(loud),
                    "{rate}/{channels}/{bits}: silence after"
                );
            }
        }
    }
}

#[test]
fn an_empty_mixer_produces_silent_frames() {
    let format = OutputFormat::new(48000, 2, 16).expect("format");
    let mut mixer = Mixer::new(format);
    for i in 0..10u64 {
        let f = mixer.next_frame();
        assert_eq!(f.timestamp_ms, 20 * i);
        assert_eq!(f.data.len(), 960 * 2 * 2);
        assert!(f.data.iter().all(|b| *b == 0));
    }
}
