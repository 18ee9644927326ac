//! A sender process of the mixer end-to-end test: logs in, enters the room, lets the
//! recorder pull its audio (`auth_audio(own, recorder, 1)`, allowed to the source itself),
//! then sends a tone as 20 ms audio frames at the real-time pace until its stdin closes (or
//! `--max-seconds`), and leaves.
//!
//! Flags: `--mcu ADDR --user NAME --password PW --room ID --grant-to UID --codec pcm|opus
//! --freq HZ --level-db DB` and optionally `--declared-rate HZ` (the rate written in the
//! header, default the real 48000: a wrong value tests the test), `--bitrate BPS` (Opus,
//! default 128000), `--skip-every N` (do not send every N-th packet: loss), `--leave-after N`
//! (leave N packets after the recorder subscribed, LOOKED), `--max-seconds S` (default 20).

use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use conference_e2e::args::Args;
use conference_e2e::client::{Client, retry};
use conference_e2e::pacing::Pacer;
use conference_e2e::tone::{Tone, le_bytes};
use conference_session::{
    ErrorCode, Event, EventExtra, MediaHeader, MediaKind, MediaType, StateId,
};

const RATE: u32 = 48_000;
const CHANNELS: usize = 2;
const FRAME: usize = RATE as usize / 50;

enum Codec {
    Pcm,
    Opus(opus::Encoder, i32),
}

struct Settings {
    codec: Codec,
    freq: f64,
    level_db: f64,
    declared_rate: i32,
    skip_every: u64,
    leave_after: Option<u64>,
    max: Duration,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tone_sender: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args = Args::from_env()?;
    let settings = settings(&args)?;
    let client = Client::join(
        args.required("mcu")?,
        &args.required::<String>("user")?,
        &args.required::<String>("password")?,
        args.required("room")?,
        None,
    )?;
    let recorder: u32 = args.required("grant-to")?;
    let own = client.own_id;
    // The recorder may not be in the room yet.
    retry("auth_audio", &[ErrorCode::NotFindUserErr], || {
        client.sdk.auth(MediaKind::Audio, own, recorder, true)
    })?;
    let stop = watch_stdin();
    let result = send(&client, settings, &stop);
    client.leave();
    result
}

fn settings(args: &Args) -> Result<Settings, String> {
    let codec = match args.required::<String>("codec")?.as_str() {
        "pcm" => Codec::Pcm,
        "opus" => {
            let bitrate: i32 = args.or("bitrate", 128_000)?;
            let mut encoder =
                opus::Encoder::new(RATE, opus::Channels::Stereo, opus::Application::Audio)
                    .map_err(|e| format!("opus encoder: {e}"))?;
            encoder
                .set_bitrate(opus::Bitrate::Bits(bitrate))
                .map_err(|e| format!("opus bitrate: {e}"))?;
            Codec::Opus(encoder, bitrate)
        }
        other => return Err(format!("--codec {other:?}: pcm or opus")),
    };
    Ok(Settings {
        codec,
        freq: args.required("freq")?,
        level_db: args.required("level-db")?,
        declared_rate: args.or("declared-rate", RATE as i32)?,
        skip_every: args.or("skip-every", 0)?,
        leave_after: args.optional("leave-after")?,
        max: Duration::from_secs_f64(args.or("max-seconds", 20.0)?),
    })
}

/// Set once stdin reaches its end (the test closed it, or died).
fn watch_stdin() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        flag.store(true, Ordering::Release);
    });
    stop
}

fn send(client: &Client, mut s: Settings, stop: &AtomicBool) -> Result<(), String> {
    let mut tone = Tone::new(s.freq, s.level_db, RATE);
    let mut pacer = Pacer::new(Duration::from_millis(20));
    let started = Instant::now();
    let mut looked_at: Option<u64> = None;
    let mut encoded = vec![0u8; 4000];
    for index in 0u64.. {
        if stop.load(Ordering::Acquire) || started.elapsed() > s.max {
            break;
        }
        for event in client.events.try_iter() {
            if let Event::State(state) = event
                && state.state == StateId::Looked
                && matches!(&state.extra, EventExtra::Looked(l) if l.ctrl == 1)
            {
                looked_at.get_or_insert(index);
            }
        }
        if let (Some(after), Some(at)) = (s.leave_after, looked_at)
            && index >= at + after
        {
            break;
        }
        let samples = tone.next_frame(FRAME, CHANNELS);
        // The encoder always runs, so a skipped packet is a loss, not a pause.
        let (codec_id, bitrate, payload) = match &mut s.codec {
            // Raw PCM: the document's bit rate for raw data is 0.
            Codec::Pcm => (0, 0, le_bytes(&samples)),
            Codec::Opus(encoder, bitrate) => {
                let len = encoder
                    .encode(&samples, &mut encoded)
                    .map_err(|e| format!("opus encode: {e}"))?;
                (1, *bitrate, encoded[..len].to_vec())
            }
        };
        let lost = s.skip_every > 0 && index % s.skip_every == s.skip_every - 1;
        if !lost {
            let header = MediaHeader {
                media_type: 0,
                codec_id,
                frame_seq: 3,
                key_frame: 16,
                framerate: 20,
                stream_id: 0,
                width_or_rate: s.declared_rate,
                height_or_channels: CHANNELS as i32,
                bitrate,
                timestamp: 100_000 + 20 * index,
                ..MediaHeader::default()
            };
            match client.sdk.send_stream(header, &payload, MediaType::Audio) {
                Ok(()) => {}
                // A full queue loses this frame only (real-time media is not retried).
                Err(ErrorCode::QueueFullErr) => eprintln!("frame {index}: send queue full"),
                Err(e) => return Err(format!("send_stream: {e:?}")),
            }
        }
        pacer.wait_next();
    }
    Ok(())
}
