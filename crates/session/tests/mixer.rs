//! The mixer through the real MCU (SPEC §7): continuous 20 ms frames as user -1 while in a
//! room, the remote audio in them, the raw frames still delivered, nothing after leaving.
//! Levels and resampling quality are the mixer crate's tests.

mod common;

use std::f64::consts::PI;
use std::time::{Duration, Instant};

use common::Client;
use conference_session::{
    MIXER_USER_ID, MediaEvent, MediaHeader, MediaType, MixerFormat, SdkConfig, StateId,
};
use conference_testkit::{McuProcess, TestConfig};

const CLASS1: u32 = 10002;

/// 20 ms of a 440 Hz tone at -12 dBFS, 48 kHz stereo 16-bit little-endian PCM.
fn tone_frame(index: u64) -> Vec<u8> {
    let amplitude = 32767.0 * 10f64.powf(-12.0 / 20.0);
    let mut out = Vec::with_capacity(960 * 4);
    for n in 0..960u64 {
        let t = (index * 960 + n) as f64 / 48_000.0;
        let sample = (amplitude * (2.0 * PI * 440.0 * t).sin()) as i16;
        out.extend_from_slice(&sample.to_le_bytes());
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}

fn peak(frame: &MediaEvent) -> i32 {
    frame
        .payload
        .chunks_exact(2)
        .map(|b| i32::from(i16::from_le_bytes([b[0], b[1]])).abs())
        .max()
        .unwrap_or(0)
}

#[test]
fn the_mix_is_delivered_as_user_minus_one_every_20_ms_while_in_a_room() {
    let mcu = McuProcess::spawn(Some(&TestConfig::demo().to_toml()));
    let format = MixerFormat::new(16_000, 1, 16).expect("format");
    let recorder = Client::join(
        &mcu,
        "teacher",
        SdkConfig {
            mixer: Some(format),
            ..SdkConfig::default()
        },
    );
    // Silence frames flow before anyone talks.
    let silent = recorder.log.wait_media(3, |m| m.user_id == MIXER_USER_ID);
    assert!(silent.iter().all(|m| peak(m) == 0));

    let talker = Client::join(&mcu, "class1", SdkConfig::default());
    recorder.log.wait_state(StateId::UserEnter, |s| {
        s.user.as_ref().map(|u| u.id) == Some(CLASS1)
    });
    // The chair may pull anyone's audio.
    assert_eq!(
        recorder.sdk.recv_stream(CLASS1, MediaType::Audio, true),
        Ok(())
    );
    talker.log.wait_state(StateId::Looked, |_| true);

    const FRAMES: u64 = 40;
    let start = Instant::now();
    for i in 0..FRAMES {
        let header = MediaHeader {
            media_type: 0,
            codec_id: 0,
            frame_seq: 3,
            key_frame: 16,
            framerate: 20,
            width_or_rate: 48_000,
            height_or_channels: 2,
            timestamp: 5_000 + i * 20,
            ..MediaHeader::default()
        };
        assert_eq!(
            talker
                .sdk
                .send_stream(header, &tone_frame(i), MediaType::Audio),
            Ok(())
        );
        // Real-time pacing: the jitter buffer plays in the sender's time.
        let due = start + Duration::from_millis(20 * (i + 1));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    // The raw frames still reach the application.
    let raw = recorder
        .log
        .wait_media(FRAMES as usize, |m| m.user_id == CLASS1 as i32);
    assert!(
        raw.iter()
            .all(|m| m.media_type == MediaType::Audio && m.payload.len() == 3840)
    );
    // The tone is in the mix.
    recorder
        .log
        .wait_media(1, |m| m.user_id == MIXER_USER_ID && peak(m) > 2_000);

    let mark = recorder.log.mark();
    assert_eq!(recorder.sdk.logout_room(), Ok(()));
    recorder
        .log
        .wait_state_since(mark, StateId::RoomExit, |_| true);
    std::thread::sleep(Duration::from_millis(100));

    let events = recorder.log.all();
    let exit_at = events
        .iter()
        .rposition(
            |e| matches!(e, conference_session::Event::State(s) if s.state == StateId::RoomExit),
        )
        .expect("ROOM_EXIT");
    let mixed: Vec<&MediaEvent> = events
        .iter()
        .filter_map(|e| match e {
            conference_session::Event::Media(m) if m.user_id == MIXER_USER_ID => Some(m),
            _ => None,
        })
        .collect();
    assert!(mixed.len() >= FRAMES as usize);
    assert!(
        events[exit_at..].iter().all(
            |e| !matches!(e, conference_session::Event::Media(m) if m.user_id == MIXER_USER_ID)
        ),
        "mixer frames after leaving the room"
    );
    let login_at = events
        .iter()
        .position(
            |e| matches!(e, conference_session::Event::State(s) if s.state == StateId::LoginRoom),
        )
        .expect("LOGIN_ROOM");
    let first_mix_at = events
        .iter()
        .position(
            |e| matches!(e, conference_session::Event::Media(m) if m.user_id == MIXER_USER_ID),
        )
        .expect("a mixed frame");
    assert!(login_at < first_mix_at, "mixed frames before LOGIN_ROOM");
    let first_ts = mixed[0].header.timestamp;
    for (i, frame) in mixed.iter().enumerate() {
        assert_eq!(frame.media_type, MediaType::Audio);
        assert_eq!(frame.payload.len(), 16_000 / 50 * 2);
        assert_eq!(
            frame.header,
            MediaHeader {
                sender_id: MIXER_USER_ID as u32,
                stream_type: MediaType::Audio as u8,
                media_type: 0,
                codec_id: 0,
                frame_seq: 3,
                key_frame: 16,
                framerate: 20,
                stream_id: 0,
                width_or_rate: 16_000,
                height_or_channels: 1,
                bitrate: 0,
                timestamp: first_ts + 20 * i as u64,
            },
            "frame {i}"
        );
    }
}

#[test]
fn without_a_mixer_format_there_is_no_mix() {
    let mcu = McuProcess::spawn(Some(&TestConfig::demo().to_toml()));
    let client = Client::join(&mcu, "class2", SdkConfig::default());
    std::thread::sleep(Duration::from_millis(100));
    assert!(client.log.media().is_empty());
}
