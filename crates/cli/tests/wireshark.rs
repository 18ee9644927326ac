//! The Wireshark dissector (`tools/wireshark/conference.lua`) on a real capture: tshark
//! records the loopback traffic of a real MCU and two `conference-cli` recorders in a lesson
//! (login, roster, chat, a pulled video stream); tshark then decodes the capture with the
//! dissector: every frame is framed without error, CONTROL bodies decode as the protocol's
//! protobuf messages, MEDIA headers show the fields of the vendor's `media_info_t`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use conference_testkit::child::ChildProcess;
use conference_testkit::{McuProcess, TestConfig};

fn root() -> PathBuf {
    // Absolute and without `..`: Wireshark's protobuf search path takes nothing else.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// tshark, installed from Debian if missing (the test needs it; root can install it).
fn tshark() -> &'static str {
    let present = || {
        Command::new("tshark")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !present() {
        let installed = Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "tshark"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status();
        assert!(
            installed.is_ok_and(|s| s.success()) && present(),
            "this test needs tshark (Debian package `tshark`), and installing it failed"
        );
    }
    "tshark"
}

fn cli(mcu: &McuProcess, user: &str, args: &[&str]) -> Command {
    let mut command = common::cli(mcu, user);
    command.args(args).stdout(Stdio::null());
    command
}

/// Captures loopback traffic to `port` into `file` until stopped.
fn capture(port: u16, file: &Path) -> ChildProcess {
    let _ = std::fs::remove_file(file);
    let mut child = ChildProcess::spawn(
        "tshark",
        Command::new(tshark())
            .args(["-i", "lo", "-f", &format!("tcp port {port}"), "-w"])
            .arg(file)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .expect("start tshark");
    // Capturing once the file exists.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !file.exists() {
        assert!(Instant::now() < deadline, "tshark did not start capturing");
        assert!(child.poll().is_none(), "tshark exited");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    child
}

/// SIGINT: tshark finishes writing the capture file and exits.
fn stop(mut child: ChildProcess) {
    child.interrupt(Duration::from_secs(20));
}

fn decode(file: &Path, port: u16, args: &[&str]) -> String {
    let root = root();
    let output = Command::new(tshark())
        .arg("-X")
        .arg(format!(
            "lua_script:{}",
            root.join("tools/wireshark/conference.lua").display()
        ))
        .arg("-o")
        .arg(format!(
            "uat:protobuf_search_paths:\"{}\",\"TRUE\"",
            root.join("crates/proto/proto").display()
        ))
        .args(["-o", &format!("conference.port:{port}"), "-r"])
        .arg(file)
        .args(args)
        .output()
        .expect("run tshark");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_dissector_decodes_a_real_lesson() {
    let mcu = McuProcess::spawn(Some(&TestConfig::demo().to_toml()));
    let port = mcu.addr.port();
    let file = std::env::temp_dir().join(format!("conference-{}.pcapng", std::process::id()));
    let tshark_capture = capture(port, &file);
    let mut teacher = ChildProcess::spawn(
        "teacher",
        &mut cli(
            &mcu,
            "teacher",
            &["join", "0", "--bcast", "--publish", "--for", "2"],
        ),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let class1 = cli(
        &mcu,
        "class1",
        &[
            "join", "0", "--pull", "teacher", "--chat", "hi there", "--for", "1",
        ],
    )
    .status()
    .unwrap();
    let teacher = teacher.wait_timeout(Duration::from_secs(30));
    assert!(class1.success() && teacher.is_some_and(|s| s.success()));
    std::thread::sleep(Duration::from_millis(300));
    stop(tshark_capture);

    // Every frame of the protocol framed cleanly.
    let summary = decode(&file, port, &["-Y", "conference"]);
    assert!(summary.lines().count() > 20, "{summary}");
    let errors = decode(
        &file,
        port,
        &["-Y", "_ws.malformed || _ws.expert.severity == error"],
    );
    assert!(errors.trim().is_empty(), "malformed frames:\n{errors}");
    assert!(summary.contains("-> MCU CONTROL") && summary.contains("<- MCU CONTROL"));

    // CONTROL: the protobuf messages of both directions, with their fields.
    let verbose = decode(&file, port, &["-Y", "conference", "-V"]);
    for expected in [
        "Message: conference.v1.ClientMessage",
        "Message: conference.v1.ServerMessage",
        "Message: conference.v1.Hello",
        "username = teacher (string)",
        "username = class1 (string)",
        "Message: conference.v1.RoomJoined",
        "Message: conference.v1.Chat",
        // "hi there"
        "Value: 6869207468657265",
        "Message: conference.v1.Ping",
    ] {
        assert!(verbose.contains(expected), "`{expected}` not decoded");
    }

    // MEDIA: the teacher's main video as sent (sender 0) and as forwarded (its id).
    let media = decode(
        &file,
        port,
        &[
            "-Y",
            "conference.kind == 2",
            "-T",
            "fields",
            "-E",
            "occurrence=f",
            "-e",
            "conference.media.sender",
            "-e",
            "conference.media.stream",
            "-e",
            "conference.media.codec",
            "-e",
            "conference.media.fragment",
        ],
    );
    assert!(media.lines().any(|l| l == "0\t2\t3\twhole"), "{media}");
    assert!(media.lines().any(|l| l == "10001\t2\t3\twhole"), "{media}");
    assert!(
        media.lines().any(|l| l.ends_with("\t1\t1\twhole")),
        "Opus audio: {media}"
    );
    let _ = std::fs::remove_file(&file);
}
