//! Running the C endpoints of `examples/harness/` as separate OS processes against a real
//! `conference-mcu`: compiling them against the built `libconference_sdk.so`, the test
//! configuration, and the endpoints' output collected line by line (testkit's
//! `ChildProcess` makes sure nothing hangs or outlives the test).
//!
//! Several test binaries share this module and not all of them use every item: those
//! carry `#[allow(dead_code)]` one by one (an item no binary uses is removed).

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use conference_testkit::child::ChildProcess;
use conference_testkit::{McuProcess, TestConfig};

use crate::common::{C99_STRICT, cc, include_dir, link_sdk, root, run, scratch, shared_library};

/// Room of the lesson and the values `examples/harness/lesson.h` expects.
pub const LESSON_ROOM: u32 = 7;
pub const OVERDUE_ROOM: u32 = 8;
/// Room of the MCU's built-in demo.
#[allow(dead_code)]
pub const DEMO_ROOM: u32 = 1001;

/// The harness configuration: `teacher` (chair, a UTF-8 nickname), `class1`..`class3`
/// (password = user name; class2 with a UTF-8 nickname too long for `user_info_t`); room 7
/// open from 2020 to beyond 2^31 seconds, room 8 long over (and a name too long). A cut
/// session is kept 2 s (the MCU-stopped flow sees its end after that, not after a minute).
pub fn lesson_config() -> String {
    lesson_test_config().to_toml()
}

/// [`lesson_config`] before it is written out (a fleet adds its own sections).
pub fn lesson_test_config() -> TestConfig {
    let mut config = TestConfig::new().account("teacher", "teacher", true);
    for name in ["class1", "class2", "class3"] {
        config = config.account(name, name, false);
    }
    config.accounts[0].nickname = Some("王老师 (teacher)".into());
    // 45 bytes: the endpoints expect it cut to 10 characters (30 bytes) on a character
    // boundary; room 8's name likewise.
    config.accounts[2].nickname = Some("二年级二班的录播教室（第二教学楼）".into());
    let mut config = config
        .room(LESSON_ROOM, "Harness Room 教室", "teacher", 8)
        .room(OVERDUE_ROOM, "已经结束的房间名称非常长的测试", "teacher", 8);
    config.rooms[0].start_time = Some(1_600_000_000);
    config.rooms[0].end_time = Some(4_000_000_000);
    config.rooms[1].start_time = Some(1_000_000_000);
    config.rooms[1].end_time = Some(1_100_000_000);
    config.resume_window_ms(2000)
}

/// Starts the MCU with the lesson configuration.
pub fn lesson_mcu() -> McuProcess {
    McuProcess::spawn(Some(&lesson_config()))
}

/// The files of `examples/harness/` every endpoint is linked with (`scripts/demo.sh` lists
/// the same).
#[allow(dead_code)]
const SHARED_SOURCES: [&str; 7] = [
    "harness.c",
    "expect.c",
    "checks.c",
    "roster.c",
    "text.c",
    "lesson.c",
    "demo.c",
];

/// The compiled endpoints.
#[allow(dead_code)]
pub struct Programs {
    pub master: PathBuf,
    #[allow(dead_code)]
    pub listener: PathBuf,
}

/// Compiles `examples/harness/{master,listener}.c` (with `SHARED_SOURCES`) once per test
/// binary, strict C99, against `include/conference_sdk.h` and the built `.so`.
#[allow(dead_code)]
pub fn programs() -> &'static Programs {
    static PROGRAMS: OnceLock<Programs> = OnceLock::new();
    static BUILDING: Mutex<()> = Mutex::new(());
    let _guard = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    PROGRAMS.get_or_init(|| {
        let dir = scratch("harness");
        Programs {
            master: compile(&dir, "master"),
            listener: compile(&dir, "listener"),
        }
    })
}

/// `examples/harness/vendor.c`, compiled alone (it shares no code with the other endpoints:
/// it is written from the vendor's documents only).
#[allow(dead_code)]
pub fn vendor_program() -> PathBuf {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    PROGRAM
        .get_or_init(|| compile_with(&scratch("vendor"), "vendor", &[]))
        .clone()
}

#[allow(dead_code)]
fn compile(dir: &Path, main: &str) -> PathBuf {
    compile_with(dir, main, &SHARED_SOURCES)
}

#[allow(dead_code)]
fn compile_with(dir: &Path, main: &str, shared: &[&str]) -> PathBuf {
    compile_for(&cc(), &shared_library(), dir, main, shared)
}

/// The harness endpoints built with `compiler` against `library` (a cross build's `.so`).
#[allow(dead_code)]
pub fn cross_programs(compiler: &str, library: &Path, dir: &Path) -> Programs {
    Programs {
        master: compile_for(compiler, library, dir, "master", &SHARED_SOURCES),
        listener: compile_for(compiler, library, dir, "listener", &SHARED_SOURCES),
    }
}

fn compile_for(compiler: &str, library: &Path, dir: &Path, main: &str, shared: &[&str]) -> PathBuf {
    let src = root().join("examples/harness");
    let exe = dir.join(main);
    run(link_sdk(
        Command::new(compiler)
            .args(C99_STRICT)
            .arg("-g")
            .arg("-I")
            .arg(include_dir())
            .arg(src.join(format!("{main}.c")))
            .args(shared.iter().map(|file| src.join(file)))
            .arg("-o")
            .arg(&exe)
            .arg("-pthread"),
        library,
    ));
    exe
}

/// Arguments of an endpoint: mode, host, port, room (and the listener's role).
#[allow(dead_code)]
pub fn endpoint_args(mode: &str, addr: SocketAddr, room: u32) -> Vec<String> {
    vec![
        mode.to_string(),
        addr.ip().to_string(),
        addr.port().to_string(),
        room.to_string(),
    ]
}

#[allow(dead_code)]
enum Line {
    Out(String),
    Err(String),
}

/// A child process whose stdout and stderr are collected by threads; killed and reaped on
/// drop (by its `ChildProcess`), so nothing outlives a failing test.
#[allow(dead_code)]
pub struct Endpoint {
    pub name: String,
    child: ChildProcess,
    lines: Receiver<Line>,
    readers: Vec<JoinHandle<()>>,
    pub stdout: String,
    pub stderr: String,
    status: Option<ExitStatus>,
}

impl Endpoint {
    #[allow(dead_code)]
    pub fn spawn(name: &str, mut command: Command) -> Endpoint {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("CONFERENCE_SDK_LOG");
        let mut child = ChildProcess::spawn(name, &mut command)
            .unwrap_or_else(|err| panic!("cannot start {name} ({command:?}): {err}"));
        let (tx, lines) = channel();
        let mut readers = Vec::new();
        if let Some(out) = child.take_stdout() {
            let tx = tx.clone();
            readers.push(std::thread::spawn(move || forward(out, tx, Line::Out)));
        }
        if let Some(err) = child.take_stderr() {
            readers.push(std::thread::spawn(move || forward(err, tx, Line::Err)));
        }
        Endpoint {
            name: name.to_string(),
            child,
            lines,
            readers,
            stdout: String::new(),
            stderr: String::new(),
            status: None,
        }
    }

    /// Waits until the endpoint printed `line` on stdout (or the deadline passes).
    #[allow(dead_code)]
    pub fn wait_for_line(&mut self, line: &str, deadline: Instant) -> bool {
        loop {
            if self.stdout.lines().any(|l| l == line) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.take(l),
                Err(RecvTimeoutError::Timeout) => return false,
                Err(RecvTimeoutError::Disconnected) => return false,
            }
        }
    }

    /// The exit status, if the process has exited.
    #[allow(dead_code)]
    pub fn poll(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.poll();
        }
        self.status
    }

    /// Waits for the exit (killing the process at the deadline); collects all output.
    #[allow(dead_code)]
    pub fn finish(&mut self, deadline: Instant) -> Option<ExitStatus> {
        while self.poll().is_none() {
            if Instant::now() >= deadline {
                self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.drain();
        self.status
    }

    #[allow(dead_code)]
    fn drain(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        while let Ok(l) = self.lines.try_recv() {
            self.take(l);
        }
    }

    #[allow(dead_code)]
    fn take(&mut self, line: Line) {
        match line {
            Line::Out(l) => {
                self.stdout.push_str(&l);
                self.stdout.push('\n');
            }
            Line::Err(l) => {
                self.stderr.push_str(&l);
                self.stderr.push('\n');
            }
        }
    }

    #[allow(dead_code)]
    pub fn report(&self) -> String {
        format!(
            "==== {} (exit: {:?})\n--- stdout\n{}--- stderr\n{}",
            self.name, self.status, self.stdout, self.stderr
        )
    }
}

#[allow(dead_code)]
fn forward(stream: impl Read, tx: std::sync::mpsc::Sender<Line>, wrap: fn(String) -> Line) {
    let reader = BufReader::new(stream);
    for line in reader.lines() {
        match line {
            Ok(line) => {
                if tx.send(wrap(line)).is_err() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// How `run_endpoints` starts the endpoints.
#[derive(Copy, Clone, PartialEq, Eq)]
#[allow(dead_code)]
pub enum Start {
    /// One after the other, each once the previous one printed READY (the order of arrival
    /// in the room is known).
    InTurn,
    /// As `InTurn`, pausing after each READY: a fleet's room lists show other nodes' rooms
    /// one heartbeat late.
    InTurnSettled(Duration),
    /// All at once (they must cope with any order).
    Together,
}

/// Starts the endpoints, waits for all of them within `bound` (the first failure ends the
/// others at once), and panics with every endpoint's output and the MCU's log unless all
/// exited 0 after printing PASS. Returns them with their output.
#[allow(dead_code)]
pub fn run_endpoints(
    mcu: &McuProcess,
    commands: Vec<(&str, Command)>,
    start: Start,
    bound: Duration,
) -> Vec<Endpoint> {
    run_endpoints_on(&[mcu], commands, start, bound)
}

/// [`run_endpoints`] against several MCUs (a fleet): a failure shows every MCU's log.
#[allow(dead_code)]
pub fn run_endpoints_on(
    mcus: &[&McuProcess],
    commands: Vec<(&str, Command)>,
    start: Start,
    bound: Duration,
) -> Vec<Endpoint> {
    let deadline = Instant::now() + bound;
    let mut endpoints: Vec<Endpoint> = Vec::new();
    let mut problem = None;
    let last = commands.len().saturating_sub(1);
    for (i, (name, command)) in commands.into_iter().enumerate() {
        let mut endpoint = Endpoint::spawn(name, command);
        let ready =
            start == Start::Together || i == last || endpoint.wait_for_line("READY", deadline);
        endpoints.push(endpoint);
        if let (Start::InTurnSettled(pause), true) = (start, ready && i != last) {
            std::thread::sleep(pause);
        }
        if !ready {
            problem = Some(format!("{name} never printed READY"));
            break;
        }
    }
    while problem.is_none() {
        let mut running = 0;
        for endpoint in &mut endpoints {
            match endpoint.poll() {
                None => running += 1,
                Some(status) if !status.success() => {
                    problem = Some(format!("{} exited with {status}", endpoint.name));
                }
                Some(_) => {}
            }
        }
        if running == 0 {
            break;
        }
        if problem.is_none() && Instant::now() >= deadline {
            problem = Some(format!("still running after {bound:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for endpoint in &mut endpoints {
        endpoint.finish(if problem.is_some() {
            Instant::now()
        } else {
            deadline
        });
        if problem.is_none() && !endpoint.stdout.lines().any(|l| l == "PASS") {
            problem = Some(format!("{} exited 0 without PASS", endpoint.name));
        }
    }
    if let Some(problem) = problem {
        let mut text = format!("{problem}\n");
        for endpoint in &endpoints {
            text.push_str(&endpoint.report());
        }
        for mcu in mcus {
            text.push_str("==== conference-mcu log\n");
            text.push_str(&mcu.log());
        }
        panic!("{text}");
    }
    endpoints
}
