//! The classroom scenario, apart from the target: play the streams, wait for the last frames,
//! and turn what senders, receivers and the server's `/proc` entry say into a report.

use std::time::{Duration, Instant};

use crate::procstat::{self, ProcSample};
use crate::report::{ClassroomReport, Correctness, FrameCounts, Latency, ServerCost};
use crate::schedule::{self, Publisher, SendReport};
use crate::streams::StreamTable;
use crate::tracker::RxCounters;

/// The connected clients of one target, as the scenario needs them.
pub trait Clients {
    /// One per client, indexed like the stream table's senders.
    fn publishers(&self) -> Vec<&dyn Publisher>;
    /// Whole frames received so far by all clients.
    fn delivered_frames(&self) -> u64;
    /// The receivers' counters, merged (open frames counted as cut).
    fn finish(&self) -> RxCounters;
    /// Frames the clients themselves dropped.
    fn client_drops(&self) -> u64;
    /// Clients that lost their connection or room.
    fn disconnects(&self) -> u64;
    /// Frames the sending clients kept to themselves because nobody watched them (the
    /// SDK's stream demand), when the clients do that.
    fn withheld_frames(&self) -> Option<u64> {
        None
    }
}

/// Where a run's frames went, before it becomes a report.
pub struct Played {
    pub sent: SendReport,
    pub expected: u64,
    pub media: Duration,
    pub server_before: ProcSample,
    pub server_after: ProcSample,
    pub own_cpu_s: f64,
}

/// How long after the last frame was sent the run waits for it to arrive, at most, and how
/// long without progress means nothing more will come.
const QUIET: Duration = Duration::from_millis(500);

/// Plays the workload for `duration` and waits (up to `drain`) for the last frames;
/// `unwatched`: whether streams without subscribers are sent too.
pub fn play(
    clients: &dyn Clients,
    table: &StreamTable,
    epoch: Instant,
    server_pid: u32,
    duration: Duration,
    drain: Duration,
    unwatched: bool,
) -> anyhow::Result<Played> {
    let publishers = clients.publishers();
    let own_before = procstat::own().unwrap_or_default();
    let server_before = server_sample(server_pid)?;
    let start = Instant::now() + Duration::from_millis(50);
    let end = start + duration;
    let sent = schedule::run(table, &publishers, unwatched, epoch, start, end);
    let expected: u64 = table
        .streams()
        .map(|s| {
            let frames = sent.per_tag.get(s.tag as usize).map_or(0, |t| t.frames);
            frames * u64::from(s.subscribers)
        })
        .sum();
    let deadline = Instant::now() + drain;
    let mut last = (clients.delivered_frames(), Instant::now());
    loop {
        let delivered = clients.delivered_frames();
        let now = Instant::now();
        if delivered >= expected || now >= deadline {
            break;
        }
        if delivered != last.0 {
            last = (delivered, now);
        } else if now - last.1 >= QUIET {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let server_after = server_sample(server_pid)?;
    let own_after = procstat::own().unwrap_or_default();
    Ok(Played {
        sent,
        expected,
        media: duration,
        server_before,
        server_after,
        own_cpu_s: own_after.cpu_s - own_before.cpu_s,
    })
}

fn server_sample(pid: u32) -> anyhow::Result<ProcSample> {
    procstat::sample(pid).ok_or_else(|| anyhow::anyhow!("server process {pid} is not running"))
}

/// What the caller knows beyond the played run.
pub struct Context<'a> {
    /// What the clients are (`sdk`, `raw`, `async-nats`).
    pub client: &'a str,
    pub rooms: u32,
    pub listeners: u32,
    pub fragment_bytes: usize,
    pub clients: u32,
    pub setup: Duration,
    pub server_pid: u32,
    pub server_drops: Option<u64>,
    pub server_drops_unit: &'a str,
    pub listener_uploads: bool,
}

pub fn report(
    ctx: Context<'_>,
    table: &StreamTable,
    played: &Played,
    rx: &RxCounters,
    client_drops: u64,
    disconnects: u64,
    withheld: Option<u64>,
) -> ClassroomReport {
    let refused: u64 = table
        .streams()
        .map(|s| {
            let refused = played
                .sent
                .per_tag
                .get(s.tag as usize)
                .map_or(0, |t| t.refused);
            refused * u64::from(s.subscribers)
        })
        .sum();
    let cpu_s = played.server_after.cpu_s - played.server_before.cpu_s;
    let per = |value: f64, over: f64| if over > 0.0 { value / over } else { 0.0 };
    ClassroomReport {
        client: ctx.client.to_string(),
        rooms: ctx.rooms,
        listeners: ctx.listeners,
        duration_s: played.media.as_secs_f64(),
        fragment_bytes: ctx.fragment_bytes,
        listener_uploads: ctx.listener_uploads,
        clients: ctx.clients,
        setup_s: ctx.setup.as_secs_f64(),
        latency: Latency::from_histogram(&rx.latency),
        frames: FrameCounts {
            sent: played.sent.total().frames,
            expected: played.expected,
            delivered: rx.frames,
            missing: played.expected.saturating_sub(rx.frames),
            sequence_gaps: rx.gaps,
            dropped_by_sender_queue: refused,
            dropped_by_clients: client_drops,
            withheld_unwatched: withheld,
            server_drops: ctx.server_drops,
            server_drops_unit: ctx.server_drops_unit.to_string(),
        },
        correctness: Correctness {
            corrupt: rx.corrupt,
            reordered: rx.reordered,
            cut: rx.cut,
            unexpected: rx.unexpected,
            disconnects,
            first_error: rx.first_error.clone(),
        },
        delivered_bytes: rx.bytes,
        delivered_gbit_per_s: per(rx.bytes as f64 * 8.0 / 1e9, played.media.as_secs_f64()),
        server: ServerCost {
            pid: ctx.server_pid,
            cpu_s,
            cpu_s_per_gb: per(cpu_s, rx.bytes as f64 / 1e9),
            cpu_us_per_frame: per(cpu_s * 1e6, rx.frames as f64),
            peak_rss_kb: played.server_after.hwm_kb,
        },
        server_counters: None,
        loadgen_cpu_s: played.own_cpu_s,
        send_max_lag_ms: played.sent.max_lag.as_secs_f64() * 1000.0,
    }
}
