//! A program written from the vendor document alone (tests/c/vendor_app.c, no header of ours)
//! compiles with -Werror, links against the built `libconference_sdk.so`, and gets the
//! return codes SPEC §3 promises. The same program shows the logging switches at work.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{C99_STRICT, c_source, cc, link_sdk, run, scratch, shared_library};

/// Compiles and links tests/c/vendor_app.c into `dir`.
fn build_vendor_app(dir: &str) -> PathBuf {
    let exe = scratch(dir).join("vendor_app");
    run(link_sdk(
        Command::new(cc())
            .args(C99_STRICT)
            .arg(c_source("vendor_app.c"))
            .arg("-o")
            .arg(&exe),
        &shared_library(),
    ));
    exe
}

/// A loopback port that was just free: nothing listens there.
fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener
        .local_addr()
        .expect("local address")
        .port()
        .to_string()
}

fn vendor_app(exe: &Path) -> Command {
    let mut command = Command::new(exe);
    command
        .arg(closed_port())
        .env_remove("CONFERENCE_SDK_LOG")
        .env_remove("CONFERENCE_SDK_LOG_FILE")
        .env_remove("CONFERENCE_SDK_LOG_MAX_KB")
        .env_remove("CONFERENCE_SDK_LOG_FILES");
    command
}

#[test]
fn document_program_links_and_gets_the_documented_codes() {
    let exe = build_vendor_app("vendor_app");
    let output = run(&mut vendor_app(&exe));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("all return codes as documented"),
        "{stdout}"
    );
    // Logging is off unless asked for.
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn logging_goes_to_the_configured_file_or_stays_off() {
    let exe = build_vendor_app("vendor_app_logging");
    let log = scratch("vendor_app_logging").join("sdk.log");
    let _ = std::fs::remove_file(&log);
    run(vendor_app(&exe)
        .env("CONFERENCE_SDK_LOG", "debug")
        .env("CONFERENCE_SDK_LOG_FILE", &log));
    let text = std::fs::read_to_string(&log).expect("the log file was written");
    assert!(text.contains("function=\"init\""), "{text}");
    assert!(text.contains("retCode_InitedErr"), "{text}");

    // An invalid filter: one warning on stderr, no logging, same return codes.
    let output = run(vendor_app(&exe).env("CONFERENCE_SDK_LOG", "[[[not a filter"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a valid filter"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
