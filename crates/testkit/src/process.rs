//! Locating, building and running the `conference-mcu` binary.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::child::ChildProcess;

const BIN_NAME: &str = "conference-mcu";

/// The `conference-mcu` binary next to the running test executable
/// (`target/<profile>/deps/<test>` → `target/<profile>/conference-mcu`). It is built with
/// `cargo build -p conference-mcu` (same profile and target dir) when missing or older than
/// the MCU's or the protocol's sources. `CONFERENCE_MCU_BIN` overrides the path (no build).
pub fn mcu_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CONFERENCE_MCU_BIN") {
        return PathBuf::from(path);
    }
    static BUILT: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.as_ref() {
        return path.clone();
    }
    let exe = std::env::current_exe().expect("path of the test executable");
    let mut profile_dir = exe
        .parent()
        .expect("executable has a directory")
        .to_path_buf();
    if profile_dir.file_name().is_some_and(|n| n == "deps") {
        profile_dir.pop();
    }
    let path = profile_dir.join(BIN_NAME);
    if is_stale(&path) {
        build(&profile_dir);
    }
    assert!(
        path.exists(),
        "{} was not built; run `cargo build -p conference-mcu`",
        path.display()
    );
    *built = Some(path.clone());
    path
}

/// Missing, or older than a source file it is built from.
fn is_stale(binary: &Path) -> bool {
    let Ok(built) = std::fs::metadata(binary).and_then(|m| m.modified()) else {
        return true;
    };
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut pending = vec![crates.join("mcu"), crates.join("proto")];
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n == "target" || n == "tests")
            {
                continue;
            }
            if let Ok(entries) = std::fs::read_dir(&path) {
                pending.extend(entries.flatten().map(|e| e.path()));
            }
        } else if meta.modified().is_ok_and(|m| m > built) {
            return true;
        }
    }
    false
}

fn build(profile_dir: &Path) {
    let target_dir = profile_dir
        .parent()
        .expect("profile dir inside a target dir");
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mcu/Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args([
            "build",
            "--quiet",
            "-p",
            "conference-mcu",
            "--bin",
            BIN_NAME,
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir);
    match profile {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    let status = command
        .status()
        .expect("run cargo build for conference-mcu");
    assert!(
        status.success(),
        "cargo build -p conference-mcu failed: {status}"
    );
}

/// How to start the MCU.
#[derive(Clone, Debug, Default)]
pub struct SpawnOptions {
    /// Configuration file contents; `None` serves the built-in demo.
    pub config: Option<String>,
    /// Extra command-line arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Binary to run instead of [`mcu_binary`].
    pub binary: Option<PathBuf>,
    /// Listen here instead of an ephemeral loopback port (an MCU restarted where it was).
    pub listen: Option<SocketAddr>,
}

/// A running `conference-mcu` on an ephemeral loopback port; killed and reaped on drop.
pub struct McuProcess {
    /// Where it listens.
    pub addr: SocketAddr,
    child: ChildProcess,
    _stdout: ChildStdout,
    dir: PathBuf,
}

impl McuProcess {
    /// Starts the MCU with `config_toml` (or the built-in demo) and waits until it listens.
    pub fn spawn(config_toml: Option<&str>) -> McuProcess {
        McuProcess::spawn_with(SpawnOptions {
            config: config_toml.map(str::to_string),
            ..SpawnOptions::default()
        })
    }

    pub fn spawn_with(options: SpawnOptions) -> McuProcess {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "conference-testkit-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        let binary = options.binary.clone().unwrap_or_else(mcu_binary);
        let mut command = Command::new(binary);
        let listen = options
            .listen
            .map_or_else(|| "127.0.0.1:0".to_string(), |addr| addr.to_string());
        command.args(["--listen", &listen]);
        if let Some(config) = &options.config {
            let path = dir.join("mcu.toml");
            std::fs::write(&path, config).expect("write the configuration");
            command.arg("--config").arg(path);
        }
        command.args(&options.args);
        command.envs(options.env.iter().map(|(k, v)| (k, v)));
        let log = std::fs::File::create(dir.join("mcu.log")).expect("create the log file");
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        // The log is shown here on a panic, before the directory is removed.
        let mut child =
            ChildProcess::spawn("conference-mcu", &mut command).expect("start conference-mcu");
        let stdout = child.take_stdout().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let result = reader.read_line(&mut line).map(|_| line);
            let _ = tx.send(result);
            reader.into_inner()
        });
        let line = rx.recv_timeout(Duration::from_secs(60));
        let mut process = McuProcess {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            child,
            _stdout: reader.join().expect("stdout reader thread"),
            dir,
        };
        let addr = match &line {
            Ok(Ok(line)) => line
                .trim()
                .strip_prefix("listening on ")
                .and_then(|a| a.parse::<SocketAddr>().ok()),
            _ => None,
        };
        match addr {
            Some(addr) => process.addr = addr,
            None => panic!(
                "conference-mcu did not report its address (got {line:?}); log:\n{}",
                process.log()
            ),
        }
        process
    }

    /// The same configuration started again where `self` listened (after `self` is gone).
    pub fn restart_at(addr: SocketAddr, config_toml: &str) -> McuProcess {
        McuProcess::spawn_with(SpawnOptions {
            config: Some(config_toml.to_string()),
            listen: Some(addr),
            ..SpawnOptions::default()
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// What the MCU logged so far (stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mcu.log")).unwrap_or_default()
    }

    /// The admin listener's address (configured `[admin] listen`): it is bound, and logged,
    /// before the client port is announced.
    pub fn admin_addr(&self) -> SocketAddr {
        let log = self.log();
        log.lines()
            .filter(|line| line.contains("admin listening"))
            .find_map(|line| {
                line.split_whitespace()
                    .find_map(|word| word.strip_prefix("addr="))
                    .and_then(|a| a.parse().ok())
            })
            .unwrap_or_else(|| panic!("no admin address in the log:\n{log}"))
    }

    /// Sends SIGTERM and waits (bounded) for the exit.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.child.terminate(timeout)
    }

    /// Waits (bounded) for the process to exit.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.child.wait_timeout(timeout)
    }
}

impl Drop for McuProcess {
    fn drop(&mut self) {
        self.child.kill();
        if std::thread::panicking() {
            eprintln!("---- conference-mcu log ----\n{}", self.log());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
