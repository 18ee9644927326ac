//! Child processes of a test: killed and reaped on drop, whatever happened, and waited for
//! with a bound.

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running helper binary. Its stderr goes to a file, shown when a test fails.
pub struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stderr_path: PathBuf,
    status: Option<ExitStatus>,
}

impl Proc {
    /// Starts `binary` with `args`; stdin is a pipe (closing it asks the helper to finish),
    /// stdout is discarded, stderr goes to `<dir>/<name>.err`.
    pub fn spawn(name: &str, binary: &Path, args: &[String], dir: &Path) -> Proc {
        let stderr_path = dir.join(format!("{name}.err"));
        let stderr = std::fs::File::create(&stderr_path).expect("create the stderr file");
        let mut child = Command::new(binary)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let stdin = child.stdin.take();
        Proc {
            name: name.to_string(),
            child,
            stdin,
            stderr_path,
            status: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Closes stdin: the helper's signal to stop and leave.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits at most `timeout` for the exit.
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.status.is_some() {
                return self.status;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.status = Some(status);
                return self.status;
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits (bounded) and panics unless the helper exited with success.
    pub fn expect_success(&mut self, timeout: Duration) {
        match self.wait(timeout) {
            Some(status) if status.success() => {}
            // Drop prints the stderr of every helper while panicking.
            Some(status) => panic!("{} failed ({status})", self.name),
            None => panic!("{} did not finish within {timeout:?}", self.name),
        }
    }

    /// What the helper wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stdin = None;
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("---- {} stderr ----\n{}", self.name, self.stderr());
        }
    }
}
