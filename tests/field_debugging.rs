//! The prefixed additions for field debugging, from C: the library's log files on a
//! recorder's flash (`conference_set_log()`, tests/c/log_app.c, and the `CONFERENCE_SDK_LOG*`
//! environment variables cap the file and rotate it, keeping the configured number of old
//! files) and `conference_get_stats()` (tests/c/stats_app.c: layout, checks, size protocol).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{C99_STRICT, c_source, cc, include_dir, link_sdk, run, scratch, shared_library};

fn build(program: &str) -> PathBuf {
    let exe = scratch("field_debugging").join(program);
    run(link_sdk(
        Command::new(cc())
            .args(C99_STRICT)
            .arg("-I")
            .arg(include_dir())
            .arg(c_source(&format!("{program}.c")))
            .arg("-o")
            .arg(&exe),
        &shared_library(),
    ));
    exe
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = scratch("field_debugging").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a directory");
    dir
}

fn numbered(log: &Path, n: u32) -> PathBuf {
    PathBuf::from(format!("{}.{n}", log.display()))
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn without_log_env(command: &mut Command) -> &mut Command {
    for name in [
        "CONFERENCE_SDK_LOG",
        "CONFERENCE_SDK_LOG_FILE",
        "CONFERENCE_SDK_LOG_MAX_KB",
        "CONFERENCE_SDK_LOG_FILES",
    ] {
        command.env_remove(name);
    }
    command
}

#[test]
fn set_log_caps_and_rotates_and_refuses_bad_arguments() {
    let exe = build("log_app");
    let log = fresh_dir("api").join("sdk.log");
    // The environment asks for something else: the explicit call wins.
    let env_log = log.with_file_name("from-env.log");
    let output = run(without_log_env(&mut Command::new(&exe))
        .arg(&log)
        .env("CONFERENCE_SDK_LOG", "trace")
        .env("CONFERENCE_SDK_LOG_FILE", &env_log));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("log api ok"), "{stdout}");
    assert!(
        !env_log.exists(),
        "the environment was applied after the call"
    );
    // 300 logged calls of about 100 bytes: far more than three files of 1 KiB.
    for file in [log.clone(), numbered(&log, 1), numbered(&log, 2)] {
        let bytes = size(&file);
        assert!(
            bytes > 0 && bytes <= 1024,
            "{}: {bytes} bytes",
            file.display()
        );
        let text = std::fs::read_to_string(&file).expect("read a log file");
        assert!(text.contains("get_user_count"), "{text}");
        assert!(text.ends_with('\n'), "whole records only");
    }
    assert!(!numbered(&log, 3).exists(), "two old files kept, not three");
    // Logging off after the last call: the last record is the uninit before it.
    let current = std::fs::read_to_string(&log).unwrap();
    assert!(
        current.trim_end().ends_with("ret=retCode_Success"),
        "{current}"
    );
    assert!(
        output.stderr.is_empty(),
        "nothing on stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn environment_caps_and_rotates_too() {
    let log = fresh_dir("env").join("sdk.log");
    // A program that never calls conference_set_log: the library reads the environment at
    // its first init.
    let exe = build("log_env_app");
    run(without_log_env(&mut Command::new(&exe))
        .env("CONFERENCE_SDK_LOG", "debug")
        .env("CONFERENCE_SDK_LOG_FILE", &log)
        .env("CONFERENCE_SDK_LOG_MAX_KB", "1")
        .env("CONFERENCE_SDK_LOG_FILES", "1"));
    assert!(size(&log) > 0 && size(&log) <= 1024);
    assert!(size(&numbered(&log, 1)) > 0 && size(&numbered(&log, 1)) <= 1024);
    assert!(!numbered(&log, 2).exists(), "one old file kept");
}

#[test]
fn get_stats_layout_checks_and_size_protocol() {
    let exe = build("stats_app");
    let output = run(without_log_env(&mut Command::new(&exe)));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("stats api ok"), "{stdout}");
}
