//! The Debian package (scripts/deb.sh): installed with a real `dpkg -i` into a private root
//! (`dpkg --root`, so the test needs no system changes), its config registered as a conffile,
//! the unit accepted by `systemd-analyze verify` where available, and the installed binary
//! run: `--check-config` on the installed config, then serving with `READY=1` sent to
//! `$NOTIFY_SOCKET` as systemd's `Type=notify` expects.

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use conference_testkit::child::ChildProcess;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors().nth(3).expect("target directory").to_owned()
}

fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("cannot run {command:?}: {err}"));
    assert!(
        output.status.success(),
        "{command:?} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(command: &mut Command) -> String {
    String::from_utf8_lossy(&run(command).stdout).into_owned()
}

/// An empty dpkg root: the database directories `dpkg --root` expects.
fn dpkg_root(root: &Path) {
    let _ = std::fs::remove_dir_all(root);
    for dir in [
        "var/lib/dpkg/info",
        "var/lib/dpkg/updates",
        "var/lib/dpkg/triggers",
    ] {
        std::fs::create_dir_all(root.join(dir)).expect("create the dpkg database");
    }
    for file in ["var/lib/dpkg/status", "var/lib/dpkg/available"] {
        std::fs::write(root.join(file), "").expect("create the dpkg database");
    }
}

#[test]
fn deb_installs_with_dpkg_and_the_installed_mcu_runs() {
    let build = stdout(
        Command::new(workspace().join("scripts/deb.sh")).env("CARGO_TARGET_DIR", target_dir()),
    );
    let deb = PathBuf::from(build.lines().last().expect("deb.sh prints the .deb").trim());
    assert!(deb.is_file(), "no package at {}", deb.display());

    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("deb-root");
    dpkg_root(&root);
    // --force-depends: the private root has no libc6 package (the host's libc is used).
    run(Command::new("dpkg")
        .arg(format!("--root={}", root.display()))
        .args([
            "--force-not-root",
            "--force-depends",
            "--log=/dev/null",
            "-i",
        ])
        .arg(&deb));
    let query = |format: &str| {
        stdout(
            Command::new("dpkg-query")
                .arg(format!("--root={}", root.display()))
                .args(["-W", "-f", format, "conference-mcu"]),
        )
    };
    assert!(query("${Status}").contains("install ok installed"));
    assert!(
        query("${Conffiles}").contains("/etc/conference-mcu/mcu.toml"),
        "config is not a conffile"
    );

    let binary = root.join("usr/bin/conference-mcu");
    let config = root.join("etc/conference-mcu/mcu.toml");
    let unit = root.join("lib/systemd/system/conference-mcu.service");
    let unit_text = std::fs::read_to_string(&unit).expect("the unit is installed");
    for line in [
        "Type=notify",
        "Restart=on-failure",
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
    ] {
        assert!(unit_text.lines().any(|l| l == line), "unit lacks {line}");
    }
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok()
    {
        // The unit names /usr/bin/conference-mcu, which verify checks on the host: verify a
        // copy that names the binary installed in the private root.
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("deb-unit");
        std::fs::create_dir_all(&dir).expect("create the unit directory");
        let copy = dir.join("conference-mcu.service");
        let installed = binary.to_str().expect("UTF-8 path");
        std::fs::write(
            &copy,
            unit_text.replace("/usr/bin/conference-mcu", installed),
        )
        .expect("write the unit copy");
        let verify = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&copy)
            .output()
            .expect("systemd-analyze verify");
        assert!(
            verify.status.success(),
            "systemd-analyze verify: {}{}",
            String::from_utf8_lossy(&verify.stdout),
            String::from_utf8_lossy(&verify.stderr)
        );
    } else {
        eprintln!("systemd-analyze not installed: unit not verified");
    }

    let check = stdout(Command::new(&binary).arg("--check-config").arg(&config));
    assert!(check.contains("valid"), "{check}");
    // A broken config is refused.
    let broken = root.join("broken.toml");
    std::fs::write(&broken, "[server\n").expect("write a broken config");
    let refused = Command::new(&binary)
        .arg("--check-config")
        .arg(&broken)
        .output()
        .expect("run conference-mcu");
    assert!(
        !refused.status.success(),
        "a broken config passed --check-config"
    );

    // Serve from the installed binary with a notification socket, like systemd.
    let socket_path = root.join("notify.sock");
    let _ = std::fs::remove_file(&socket_path);
    let manager = UnixDatagram::bind(&socket_path).expect("bind the notification socket");
    manager
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("socket timeout");
    let mut mcu = ChildProcess::spawn(
        "conference-mcu (installed)",
        Command::new(&binary)
            .args(["--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env("NOTIFY_SOCKET", &socket_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    )
    .expect("start the installed conference-mcu");
    let mut line = String::new();
    BufReader::new(mcu.take_stdout().expect("stdout"))
        .read_line(&mut line)
        .expect("read the listening line");
    let mut buf = [0u8; 128];
    let ready = manager.recv(&mut buf);
    mcu.kill();
    assert!(line.starts_with("listening on 127.0.0.1:"), "{line}");
    let n = ready.expect("READY=1 on the notification socket");
    assert_eq!(&buf[..n], b"READY=1");
}
