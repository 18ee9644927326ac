//! The recorder process of the mixer end-to-end test: a session with a 16 kHz mono 16-bit
//! mixer enters the room, subscribes to each sender's audio (`check_user_audio`, retried
//! until the sender has granted it), then writes the mixed frames (user −1) to `--raw` and
//! every frame header, sender frame and state event to `--log`.
//!
//! Flags: `--mcu ADDR --user NAME --password PW --room ID --senders UID,UID --frames N --raw
//! PATH --log PATH`; with `--leaver UID --tail-frames T` it records until `T` frames after
//! that user's USER_LEAVE instead (at most `--frames`). Exits non-zero on any failure,
//! including not getting there within `--max-seconds` (default 30).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use conference_e2e::args::Args;
use conference_e2e::client::{Client, retry};
use conference_e2e::recording::Writer;
use conference_session::{ErrorCode, Event, MIXER_USER_ID, MediaKind, MixerFormat, StateId};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mix_recorder: {e}");
            ExitCode::FAILURE
        }
    }
}

/// When to stop recording.
struct Plan {
    frames: usize,
    leaver: Option<(u32, usize)>,
    deadline: Instant,
}

fn run() -> Result<(), String> {
    let args = Args::from_env()?;
    let started = Instant::now();
    let plan = Plan {
        frames: args.required("frames")?,
        leaver: match args.optional::<u32>("leaver")? {
            Some(uid) => Some((uid, args.required("tail-frames")?)),
            None => None,
        },
        deadline: started + Duration::from_secs_f64(args.or("max-seconds", 30.0)?),
    };
    let format = MixerFormat::new(16_000, 1, 16).map_err(|e| format!("format: {e:?}"))?;
    let client = Client::join(
        args.required("mcu")?,
        &args.required::<String>("user")?,
        &args.required::<String>("password")?,
        args.required("room")?,
        Some(format),
    )?;
    for sender in args.list::<u32>("senders")? {
        // Not in the room yet, or not granted yet.
        retry(
            &format!("check_user_audio({sender})"),
            &[ErrorCode::NotFindUserErr, ErrorCode::AccessErr],
            || client.sdk.check(MediaKind::Audio, sender, true),
        )?;
    }
    // The track starts now; what the mixer made before is not part of it.
    while client.events.try_recv().is_ok() {}
    let mut writer = Writer::create(
        &args.required::<PathBuf>("raw")?,
        &args.required::<PathBuf>("log")?,
    )
    .map_err(|e| format!("create the recording: {e}"))?;
    let result = record(&client, &mut writer, &plan);
    writer
        .finish()
        .map_err(|e| format!("write the recording: {e}"))?;
    client.leave();
    result
}

fn record(client: &Client, writer: &mut Writer, plan: &Plan) -> Result<(), String> {
    let io = |e: std::io::Error| format!("write the recording: {e}");
    let mut left_at: Option<usize> = None;
    loop {
        let done = match (plan.leaver, left_at) {
            (Some((_, tail)), Some(at)) => writer.frames() >= at + tail,
            (Some((uid, _)), None) if writer.frames() >= plan.frames => {
                return Err(format!("no USER_LEAVE of {uid} in {} frames", plan.frames));
            }
            _ => writer.frames() >= plan.frames,
        };
        if done {
            return Ok(());
        }
        let wait = plan.deadline.saturating_duration_since(Instant::now());
        let event = match client.events.recv_timeout(wait) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => {
                return Err(format!("timed out after {} frames", writer.frames()));
            }
            Err(RecvTimeoutError::Disconnected) => return Err("session stopped".into()),
        };
        match event {
            Event::Media(m) if m.user_id == MIXER_USER_ID => writer.mixed(&m).map_err(io)?,
            Event::Media(m) => writer.sender(&m).map_err(io)?,
            Event::State(s) => {
                writer.event(&s).map_err(io)?;
                if matches!(s.state, StateId::RoomExit | StateId::UserClose) {
                    return Err(format!("{:?} ({:?}) while recording", s.state, s.result));
                }
                if s.state == StateId::UserLeave
                    && s.user.as_ref().map(|u| u.id) == plan.leaver.map(|(uid, _)| uid)
                {
                    left_at.get_or_insert(writer.frames());
                }
            }
        }
    }
}
