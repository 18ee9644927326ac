//! The one wrapper for child processes of tests and tools (the MCU, helper programs, C
//! endpoints): killed and reaped on drop whatever happened, so nothing outlives a failing
//! test; waited for with a bound; stopped with SIGTERM when its exit path matters; its log
//! shown when the test that owns it panics.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

pub struct ChildProcess {
    name: String,
    child: Child,
    status: Option<ExitStatus>,
    /// A file the process logs to, printed if the owner panics.
    log: Option<PathBuf>,
}

impl ChildProcess {
    /// Starts `command` as configured by the caller (stdio included).
    pub fn spawn(name: &str, command: &mut Command) -> std::io::Result<ChildProcess> {
        Ok(ChildProcess {
            name: name.to_string(),
            child: command.spawn()?,
            status: None,
            log: None,
        })
    }

    /// The file the process logs to (its stderr, usually): printed when the owner panics.
    pub fn with_log(mut self, path: PathBuf) -> Self {
        self.log = Some(path);
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the process logged so far (see [`with_log`](Self::with_log)).
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default()
    }

    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// The exit status, if the process has exited (reaped once, remembered).
    pub fn poll(&mut self) -> Option<ExitStatus> {
        if self.status.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            self.status = Some(status);
        }
        self.status
    }

    /// Waits at most `timeout` for the exit.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.poll() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits at most `timeout` for the exit, collecting what it writes to its piped stdout and
    /// stderr meanwhile (on threads: a full pipe must not stall it). `None`, the process
    /// killed, at the timeout.
    pub fn output(&mut self, timeout: Duration) -> Option<Output> {
        fn collect(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut bytes);
                }
                bytes
            })
        }
        let stdout = collect(self.take_stdout());
        let stderr = collect(self.take_stderr());
        let status = self.wait_timeout(timeout).or_else(|| {
            self.kill();
            None
        });
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        Some(Output {
            status: status?,
            stdout,
            stderr,
        })
    }

    /// Waits (bounded) and panics unless the process exited with success (its log is shown
    /// by the panic, see [`with_log`](Self::with_log)).
    pub fn expect_success(&mut self, timeout: Duration) {
        match self.wait_timeout(timeout) {
            Some(status) if status.success() => {}
            Some(status) => panic!("{} failed ({status})", self.name),
            None => panic!("{} did not finish within {timeout:?}", self.name),
        }
    }

    /// SIGTERM, then waits at most `timeout` for the exit (the process's own shutdown path).
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.signal_and_wait(libc::SIGTERM, timeout)
    }

    /// SIGINT (what stops tools like tshark cleanly), then waits at most `timeout`.
    pub fn interrupt(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.signal_and_wait(libc::SIGINT, timeout)
    }

    fn signal_and_wait(&mut self, signal: libc::c_int, timeout: Duration) -> Option<ExitStatus> {
        if self.poll().is_none() {
            // SAFETY: kill(2) on our own child, not reaped yet (`poll` saw it running), so the
            // pid cannot have been reused.
            unsafe {
                libc::kill(self.child.id() as libc::pid_t, signal);
            }
        }
        self.wait_timeout(timeout)
    }

    /// SIGKILL and reap (nothing if it has exited already).
    pub fn kill(&mut self) -> Option<ExitStatus> {
        if self.poll().is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
        self.status
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() && self.log.is_some() {
            eprintln!("---- {} log ----\n{}", self.name, self.log());
        }
    }
}
