//! Starting `conference-mcu` with a generated configuration, and reading its media counters
//! from its log when it stops.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use conference_testkit::child::ChildProcess;

/// The MCU binary: `explicit`, else `$CONFERENCE_MCU_BIN`, else `conference-mcu` next to this
/// executable (cargo puts both binaries of the workspace in the same directory).
pub fn mcu_binary(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os("CONFERENCE_MCU_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().context("path of the load generator")?;
    let mut dir = exe
        .parent()
        .context("the load generator has no directory")?
        .to_path_buf();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    let path = dir.join("conference-mcu");
    if !path.exists() {
        bail!(
            "{} not found: build it (`cargo build --release -p conference-mcu`) or pass --mcu-bin",
            path.display()
        );
    }
    Ok(path)
}

/// Counters the MCU logged (the last line that had them).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct McuCounters {
    pub frames_in: u64,
    pub fragments_out: u64,
    pub dropped_slow_subscriber: u64,
    pub dropped_unrouted: u64,
}

/// A `conference-mcu` this run started; stopped (SIGTERM, then kill) on drop.
pub struct SpawnedMcu {
    pub addr: SocketAddr,
    child: ChildProcess,
    _stdout: ChildStdout,
    dir: PathBuf,
}

impl SpawnedMcu {
    pub fn start(binary: &Path, config_toml: &str) -> anyhow::Result<SpawnedMcu> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "conference-loadgen-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        let config = dir.join("mcu.toml");
        std::fs::write(&config, config_toml)?;
        let log = std::fs::File::create(dir.join("mcu.log"))?;
        let mut command = Command::new(binary);
        command
            .args(["--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        let mut child = ChildProcess::spawn("conference-mcu", &mut command)
            .with_context(|| format!("start {}", binary.display()))?;
        let stdout = child.take_stdout().context("piped stdout")?;
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        // The MCU prints its address once it listens; EOF means it failed to start.
        let read = reader.read_line(&mut line);
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse::<SocketAddr>().ok());
        let mut mcu = SpawnedMcu {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            child,
            _stdout: reader.into_inner(),
            dir,
        };
        match (read, addr) {
            (Ok(_), Some(addr)) => mcu.addr = addr,
            _ => bail!(
                "conference-mcu did not start (stdout {line:?}); log:\n{}",
                mcu.log()
            ),
        }
        Ok(mcu)
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mcu.log")).unwrap_or_default()
    }

    /// SIGTERM, wait (bounded), and the counters of its log.
    pub fn stop(mut self) -> Option<McuCounters> {
        self.terminate();
        parse_counters(&self.log())
    }

    /// SIGTERM (the MCU logs its counters on the way out), killed after 10 s.
    fn terminate(&mut self) {
        if self.child.terminate(Duration::from_secs(10)).is_none() {
            self.child.kill();
        }
    }
}

impl Drop for SpawnedMcu {
    fn drop(&mut self) {
        self.terminate();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The last log line with the MCU's media counters (`key=value` fields).
pub fn parse_counters(log: &str) -> Option<McuCounters> {
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("dropped_slow_subscriber="))?;
    let field = |key: &str| -> u64 {
        line.split_whitespace()
            .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
            .and_then(|v| v.trim_end_matches(',').parse().ok())
            .unwrap_or(0)
    };
    Some(McuCounters {
        frames_in: field("frames_in"),
        fragments_out: field("fragments_out"),
        dropped_slow_subscriber: field("dropped_slow_subscriber"),
        dropped_unrouted: field("dropped_unrouted"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_come_from_the_last_line_that_has_them() {
        let log = "x INFO media fragments dropped connections=3 frames_in=10 fragments_out=20 \
                   dropped_slow_subscriber=1 dropped_unrouted=2\n\
                   y INFO media fragments dropped frames_in=11 fragments_out=21 \
                   dropped_slow_subscriber=5 dropped_unrouted=2\nz INFO stopped\n";
        assert_eq!(
            parse_counters(log),
            Some(McuCounters {
                frames_in: 11,
                fragments_out: 21,
                dropped_slow_subscriber: 5,
                dropped_unrouted: 2,
            })
        );
        assert_eq!(parse_counters("nothing"), None);
    }
}
