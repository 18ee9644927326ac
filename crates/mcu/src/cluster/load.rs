//! What a heartbeat says about this process's load: CPU and media egress per second.

use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::transport::forward::MediaStats;

pub struct Meter {
    at: Instant,
    cpu_ticks: u64,
    bytes_out: u64,
}

/// User + system CPU of this process in clock ticks (`/proc/self/stat` fields 14 and 15).
fn cpu_ticks() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0;
    };
    // The command name may hold spaces: count fields after its closing parenthesis.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    field(14).unwrap_or(0) + field(15).unwrap_or(0)
}

fn bytes_out(stats: &MediaStats) -> u64 {
    stats
        .by_stream
        .iter()
        .map(|s| s.bytes_out.load(Ordering::Relaxed))
        .sum()
}

impl Meter {
    pub fn new(stats: &MediaStats) -> Meter {
        Meter {
            at: Instant::now(),
            cpu_ticks: cpu_ticks(),
            bytes_out: bytes_out(stats),
        }
    }

    /// (CPU percent, egress bytes/s) since the previous sample.
    pub fn sample(&mut self, stats: &MediaStats) -> (f32, u64) {
        let now = Instant::now();
        let seconds = now.duration_since(self.at).as_secs_f64().max(0.001);
        let (ticks, bytes) = (cpu_ticks(), bytes_out(stats));
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let cpu = (ticks.saturating_sub(self.cpu_ticks) as f64 / hz / seconds * 100.0) as f32;
        let egress = (bytes.saturating_sub(self.bytes_out) as f64 / seconds) as u64;
        *self = Meter {
            at: now,
            cpu_ticks: ticks,
            bytes_out: bytes,
        };
        (cpu, egress)
    }
}
