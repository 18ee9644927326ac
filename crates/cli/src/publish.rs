//! `--publish`: a test pattern on the own streams until stopped: a 440 Hz Opus tone every
//! 20 ms (48 kHz stereo, codec 1) and 25 fps video frames (codec 3, a key frame every second,
//! payload a counter pattern) on the main video.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use conference_session::{MediaHeader, MediaType, Sdk};

const RATE: u32 = 48_000;
const SAMPLES: usize = 960; // 20 ms per channel

pub fn start(sdk: Arc<Sdk>, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut encoder =
            match opus::Encoder::new(RATE, opus::Channels::Stereo, opus::Application::Audio) {
                Ok(encoder) => encoder,
                Err(err) => {
                    eprintln!("conference-cli: no Opus encoder ({err}); audio not published");
                    return;
                }
            };
        let start = Instant::now();
        let mut tick: u64 = 0;
        let mut packet = vec![0u8; 4000];
        while !stop.load(Ordering::Relaxed) {
            let ms = tick * 20;
            let pcm: Vec<i16> = (0..SAMPLES)
                .flat_map(|i| {
                    let t = (tick as usize * SAMPLES + i) as f64 / f64::from(RATE);
                    let v = (8000.0 * (std::f64::consts::TAU * 440.0 * t).sin()) as i16;
                    [v, v]
                })
                .collect();
            if let Ok(len) = encoder.encode(&pcm, &mut packet) {
                let header = MediaHeader {
                    media_type: 0,
                    codec_id: 1,
                    frame_seq: 3,
                    key_frame: 16,
                    framerate: 20,
                    stream_id: 1,
                    width_or_rate: RATE as i32,
                    height_or_channels: 2,
                    bitrate: 64,
                    timestamp: ms,
                    ..MediaHeader::default()
                };
                let _ = sdk.send_stream(header, &packet[..len], MediaType::Audio);
            }
            if tick.is_multiple_of(2) {
                let frame = tick / 2;
                let key = frame.is_multiple_of(25);
                let payload: Vec<u8> = (0..if key { 12_000 } else { 3_000 })
                    .map(|i| (i as u64 + frame) as u8)
                    .collect();
                let header = MediaHeader {
                    media_type: 1,
                    codec_id: 3,
                    frame_seq: 3,
                    key_frame: u16::from(key),
                    framerate: 25,
                    stream_id: 2,
                    width_or_rate: 1280,
                    height_or_channels: 720,
                    bitrate: 1000,
                    timestamp: ms,
                    ..MediaHeader::default()
                };
                let _ = sdk.send_stream(header, &payload, MediaType::VideoMajor);
            }
            tick += 1;
            let next = start + Duration::from_millis(tick * 20);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
    })
}
