//! Issue 5's tone test through separate processes and the real MCU: two `tone_sender`
//! processes (440 Hz as 48 kHz stereo PCM, 1 kHz as 48 kHz stereo Opus, both −12 dBFS) and a
//! `mix_recorder` process with a 16 kHz mono 16-bit mixer. The recording must hold both
//! tones at their levels (±1 dB) and nothing else above −50 dBFS, with SPEC §7 headers and
//! gap-free timestamps. A second scenario loses Opus packets (concealed: no gap, the level
//! holds) and has the Opus sender leave (its tone leaves the mix at once).
//!
//! Assertions are about the signal and the headers only. The pacing is real time but never
//! measured: stretches where input arrived later than the jitter buffer absorbs (a stalled
//! process on a loaded machine) are left out of the signal checks ([`arrivals`]), and a
//! scenario whose recording has too little clean signal is run again (at most
//! [`ATTEMPTS`] times). Headers are checked on every attempt. The scenarios run one at a time.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use conference_e2e::arrivals;
use conference_e2e::recording::Recording;
use conference_e2e::verdict::{self, Format, Tone};
use conference_testkit::child::ChildProcess;
use conference_testkit::{McuProcess, TestConfig};

const ROOM: u32 = 1001;
/// User ids follow the account order of [`config`].
const CLASS1: u32 = 10002;
const CLASS2: u32 = 10003;
const REC: u32 = 10004;

const FORMAT: Format = Format {
    rate: 16_000,
    channels: 1,
    bits: 16,
};
const RATE: f64 = 16_000.0;
/// Start-up left out of the signal checks: subscriptions, jitter buffers filling (0.5 s).
const SKIP_FRAMES: usize = 25;
/// The signal checks need at least this much clean signal (1 s).
const MIN_CLEAN_FRAMES: usize = 50;
const ATTEMPTS: usize = 3;
const PCM_TONE: Tone = Tone {
    freq: 440.0,
    dbfs: -12.0,
};
const OPUS_TONE: Tone = Tone {
    freq: 1000.0,
    dbfs: -12.0,
};
const LEVEL_TOLERANCE_DB: f64 = 1.0;
const FLOOR_DB: f64 = -50.0;
/// Bound on each helper process; a scenario takes a few seconds.
const PROCESS_LIMIT: Duration = Duration::from_secs(30);

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn config() -> String {
    TestConfig::new()
        .account("teacher", "teacher", true)
        .account("class1", "class1", false)
        .account("class2", "class2", false)
        .account("rec", "rec", false)
        .room(ROOM, "Mixer test", "teacher", 8)
        .to_toml()
}

/// A scenario attempt's directory, removed unless the test failed (then it is kept and
/// named, with the recording in it).
struct WorkDir(PathBuf);

impl WorkDir {
    fn new(name: &str, attempt: usize) -> WorkDir {
        let dir = std::env::temp_dir().join(format!(
            "conference-e2e-{}-{name}-{attempt}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the scenario directory");
        WorkDir(dir)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("recording kept in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn flags(pairs: &[(&str, String)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(k, v)| [format!("--{k}"), v.clone()])
        .collect()
}

/// A helper binary: stdin a pipe (closing it asks the helper to finish), stdout discarded,
/// stderr in `<dir>/<name>.err` (shown when the test fails).
struct Helper {
    stdin: Option<ChildStdin>,
    process: ChildProcess,
}

impl Helper {
    fn spawn(name: &str, binary: &Path, args: &[String], dir: &Path) -> Helper {
        let log = dir.join(format!("{name}.err"));
        let stderr = std::fs::File::create(&log).expect("create the stderr file");
        let mut command = Command::new(binary);
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(stderr);
        let mut process = ChildProcess::spawn(name, &mut command)
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()))
            .with_log(log);
        Helper {
            stdin: process.take_stdin(),
            process,
        }
    }
}

fn sender(
    mcu: &McuProcess,
    dir: &Path,
    user: &str,
    codec: &str,
    tone: Tone,
    extra: &[(&str, String)],
) -> Helper {
    let mut args = flags(&[
        ("mcu", mcu.addr.to_string()),
        ("user", user.into()),
        ("password", user.into()),
        ("room", ROOM.to_string()),
        ("grant-to", REC.to_string()),
        ("codec", codec.into()),
        ("freq", tone.freq.to_string()),
        ("level-db", tone.dbfs.to_string()),
    ]);
    args.extend(flags(extra));
    let binary = Path::new(env!("CARGO_BIN_EXE_tone_sender"));
    Helper::spawn(user, binary, &args, dir)
}

fn recorder(mcu: &McuProcess, dir: &Path, extra: &[(&str, String)]) -> Helper {
    let mut args = flags(&[
        ("mcu", mcu.addr.to_string()),
        ("user", "rec".into()),
        ("password", "rec".into()),
        ("room", ROOM.to_string()),
        ("senders", format!("{CLASS1},{CLASS2}")),
        ("raw", dir.join("mix.raw").display().to_string()),
        ("log", dir.join("mix.log").display().to_string()),
    ]);
    args.extend(flags(extra));
    let binary = Path::new(env!("CARGO_BIN_EXE_mix_recorder"));
    Helper::spawn("rec", binary, &args, dir)
}

/// Waits for the recorder, then stops the senders (stdin closed; one that left by itself
/// has exited already) and checks that every helper succeeded.
fn finish(mut rec: Helper, senders: Vec<Helper>, dir: &Path) -> Recording {
    rec.process.expect_success(PROCESS_LIMIT);
    for mut s in senders {
        s.stdin = None;
        s.process.expect_success(PROCESS_LIMIT);
    }
    Recording::load(&dir.join("mix.raw"), &dir.join("mix.log")).expect("read the recording")
}

fn assert_none(what: &str, problems: &[String]) {
    assert!(problems.is_empty(), "{what}:\n  {}", problems.join("\n  "));
}

/// Both senders' frames reached the recorder, with their codecs.
fn assert_senders_heard(rec: &Recording) {
    for (user, codec) in [(CLASS1, 0), (CLASS2, 1)] {
        let n = rec
            .senders
            .iter()
            .filter(|f| f.user_id == user as i32 && f.codec == codec)
            .count();
        assert!(
            n > 0,
            "no codec {codec} frame from user {user} reached the recorder"
        );
    }
}

/// Samples of mixed frames `frames`.
fn samples(x: &[f64], frames: Range<usize>) -> &[f64] {
    let n = FORMAT.samples_per_frame();
    &x[frames.start * n..frames.end * n]
}

/// Runs `scenario` (which checks the headers itself) until its recording has at least
/// [`MIN_CLEAN_FRAMES`] of clean signal in `judged(recording)`, and returns it with the clean
/// stretches of that range.
fn clean_run(
    name: &str,
    scenario: impl Fn(&Path) -> Recording,
    judged: impl Fn(&Recording) -> Range<usize>,
) -> (Recording, Vec<Range<usize>>, WorkDir) {
    for attempt in 1..=ATTEMPTS {
        let dir = WorkDir::new(name, attempt);
        let rec = scenario(&dir.0);
        let range = judged(&rec);
        let disturbed = arrivals::disturbed(&rec, range.end);
        let clean = arrivals::clean_stretches(&disturbed, range.start);
        let longest = clean.iter().map(|r| r.len()).max().unwrap_or(0);
        if longest >= MIN_CLEAN_FRAMES {
            println!("{name}: attempt {attempt}, clean frames {clean:?} of {range:?}");
            return (rec, clean, dir);
        }
        // What the disturbance did, for the log: the whole range judged as is.
        let whole = match range.is_empty() {
            true => Vec::new(),
            false => samples(&rec.normalized(), range.clone()).to_vec(),
        };
        let levels = verdict::measure(&whole, RATE, &[PCM_TONE.freq, OPUS_TONE.freq]);
        println!(
            "{name}: attempt {attempt} disturbed (input late beyond the jitter buffer), \
             clean frames {clean:?} of {range:?}; over all of it 440 Hz {:.2}, 1 kHz {:.2}, \
             residual {:.1} dBFS; running it again",
            levels.tones_db[0], levels.tones_db[1], levels.residual_db
        );
    }
    panic!("{name}: no attempt had {MIN_CLEAN_FRAMES} frames of undisturbed input");
}

#[test]
fn two_senders_tones_arrive_in_the_mix_at_their_levels() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const FRAMES: usize = 150;
    let (rec, clean, _dir) = clean_run(
        "tones",
        |dir| {
            let mcu = McuProcess::spawn(Some(&config()));
            let rec = recorder(&mcu, dir, &[("frames", FRAMES.to_string())]);
            let senders = vec![
                sender(&mcu, dir, "class1", "pcm", PCM_TONE, &[]),
                sender(&mcu, dir, "class2", "opus", OPUS_TONE, &[]),
            ];
            let rec = finish(rec, senders, dir);
            assert_none(
                "mixed frame headers",
                &verdict::check_headers(&rec.frames, rec.raw_bytes, &FORMAT, FRAMES),
            );
            assert_senders_heard(&rec);
            rec
        },
        |_| SKIP_FRAMES..FRAMES,
    );

    let x = rec.normalized();
    let longest = clean
        .iter()
        .max_by_key(|r| r.len())
        .cloned()
        .unwrap_or_default();
    let measured = samples(&x, longest);
    let (levels, problems) = verdict::check_tones(
        measured,
        RATE,
        &[PCM_TONE, OPUS_TONE],
        LEVEL_TOLERANCE_DB,
        FLOOR_DB,
    );
    println!(
        "{:.2} s measured: 440 Hz {:.3} dBFS, 1 kHz {:.3} dBFS, residual {:.1} dBFS \
         (strongest {:.0} Hz at {:.1} dBFS), peak {:.3}",
        measured.len() as f64 / RATE,
        levels.tones_db[0],
        levels.tones_db[1],
        levels.residual_db,
        levels.residual_line.0,
        levels.residual_line.1,
        levels.peak
    );
    assert_none("the mix", &problems);
}

/// Every `LOSS_EVERY`-th Opus packet is never sent; after `LEAVE_AFTER` packets past the
/// recorder's subscription the Opus sender leaves the room.
const LOSS_EVERY: u64 = 10;
const LEAVE_AFTER: u64 = 125;
/// Recorded after the USER_LEAVE.
const TAIL_FRAMES: usize = 30;
/// Frames before the USER_LEAVE left out (the sender's last packets still playing out) and
/// after it (the frame being mixed when the removal arrived).
const BEFORE_LEAVE: usize = 5;
const AFTER_LEAVE: usize = 2;
/// Level window of the loss check (20 ms, every 10 ms) and how far a concealed loss may
/// stray: a silent 5 ms in a window already takes 2.5 dB off.
const WINDOW: usize = 320;
const LOSS_TOLERANCE_DB: f64 = 2.0;

/// Mixed frames delivered before the Opus sender's USER_LEAVE.
fn leave_frame(rec: &Recording) -> usize {
    rec.events
        .iter()
        .find(|e| e.state == "UserLeave" && e.user == CLASS2)
        .map(|e| e.at_frame)
        .expect("the Opus sender's USER_LEAVE in the log")
}

#[test]
fn lost_opus_packets_are_concealed_and_a_leaving_sender_leaves_the_mix() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (rec, clean, _dir) = clean_run(
        "loss",
        |dir| {
            let mcu = McuProcess::spawn(Some(&config()));
            let rec = recorder(
                &mcu,
                dir,
                &[
                    ("frames", "400".into()),
                    ("leaver", CLASS2.to_string()),
                    ("tail-frames", TAIL_FRAMES.to_string()),
                ],
            );
            let senders = vec![
                sender(&mcu, dir, "class1", "pcm", PCM_TONE, &[]),
                sender(
                    &mcu,
                    dir,
                    "class2",
                    "opus",
                    OPUS_TONE,
                    &[
                        ("skip-every", LOSS_EVERY.to_string()),
                        ("leave-after", LEAVE_AFTER.to_string()),
                    ],
                ),
            ];
            let rec = finish(rec, senders, dir);
            // Continuous +20 ms frames all along, across the losses and the leave.
            let expected = leave_frame(&rec) + TAIL_FRAMES;
            assert_none(
                "mixed frame headers",
                &verdict::check_headers(&rec.frames, rec.raw_bytes, &FORMAT, expected),
            );
            assert_senders_heard(&rec);
            rec
        },
        |rec| SKIP_FRAMES..leave_frame(rec).saturating_sub(BEFORE_LEAVE),
    );
    let x = rec.normalized();
    let tones = [PCM_TONE, OPUS_TONE];

    // The losses happened, inside the judged stretches.
    let opus: Vec<_> = rec
        .senders
        .iter()
        .filter(|f| f.user_id == CLASS2 as i32)
        .collect();
    let judged_losses = opus
        .windows(2)
        .filter(|w| w[1].timestamp - w[0].timestamp > 20)
        .filter(|w| clean.iter().any(|r| r.contains(&w[1].at_frame)))
        .count();
    assert!(
        judged_losses >= 3,
        "only {judged_losses} Opus losses in the judged stretches {clean:?}"
    );

    // Concealed: every 20 ms window keeps both tones, and the level over the stretch holds.
    let (mut lowest, mut highest) = (f64::INFINITY, f64::NEG_INFINITY);
    for stretch in clean
        .iter()
        .filter(|r| r.len() * FORMAT.samples_per_frame() >= WINDOW)
    {
        let (levels, problems) = verdict::check_windows(
            samples(&x, stretch.clone()),
            RATE,
            &tones,
            WINDOW,
            LOSS_TOLERANCE_DB,
        );
        let (lo, hi) = verdict::level_range(&levels, 1);
        lowest = lowest.min(lo);
        highest = highest.max(hi);
        assert_none(&format!("20 ms windows of frames {stretch:?}"), &problems);
    }
    let longest = clean
        .iter()
        .max_by_key(|r| r.len())
        .cloned()
        .unwrap_or_default();
    let (levels, problems) = verdict::check_tones(
        samples(&x, longest.clone()),
        RATE,
        &tones,
        LEVEL_TOLERANCE_DB,
        f64::INFINITY,
    );
    println!(
        "{judged_losses} losses judged; 1 kHz per 20 ms window {lowest:.2} ..= {highest:.2} dBFS; \
         over frames {longest:?}: 440 Hz {:.2}, 1 kHz {:.2} dBFS, residual {:.1} dBFS",
        levels.tones_db[0], levels.tones_db[1], levels.residual_db
    );
    assert_none("levels with losses", &problems);

    // Gone at once after its USER_LEAVE; the other sender still there.
    let leave = leave_frame(&rec);
    let tail = samples(&x, leave + AFTER_LEAVE..leave + TAIL_FRAMES);
    let (level, problems) =
        verdict::check_absent(tail, RATE, OPUS_TONE.freq, &[PCM_TONE.freq], FLOOR_DB);
    let pcm = verdict::measure(tail, RATE, &[PCM_TONE.freq]).tones_db[0];
    println!("after USER_LEAVE (frame {leave}): 1 kHz {level:.1} dBFS, 440 Hz {pcm:.2} dBFS");
    assert_none("after the Opus sender left", &problems);
    let tail_disturbed = arrivals::disturbed(&rec, leave + TAIL_FRAMES)[leave..]
        .iter()
        .any(|b| *b);
    if !tail_disturbed {
        assert!(
            (pcm - PCM_TONE.dbfs).abs() <= LEVEL_TOLERANCE_DB,
            "440 Hz at {pcm:.2} dBFS after the other sender left"
        );
    }
}
