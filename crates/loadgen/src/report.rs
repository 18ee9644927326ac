//! The figures of one run (`--json` prints them as is), the human-readable table, and the
//! side-by-side comparison of two runs.

use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Report {
    /// `mcu` or `nats`.
    pub target: String,
    /// `classroom` or `join`.
    pub scenario: String,
    pub classroom: Option<ClassroomReport>,
    pub join: Option<JoinReport>,
}

/// End-to-end latency of whole frames, milliseconds.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Latency {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn from_histogram(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.5)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FrameCounts {
    /// Frames the senders handed over whole.
    pub sent: u64,
    /// Σ sent × subscribers of the stream.
    pub expected: u64,
    /// Frames received whole and byte-exact.
    pub delivered: u64,
    /// expected − delivered.
    pub missing: u64,
    /// Frames skipped over in a stream's sequence, as seen by the receivers.
    pub sequence_gaps: u64,
    /// Frames the sending client refused (send queue full) × their subscribers.
    pub dropped_by_sender_queue: u64,
    /// Frames the receiving clients dropped (SDK dispatcher budget; NATS client slow-consumer
    /// events, in messages).
    pub dropped_by_clients: u64,
    /// The server's own drop counter, when it exposes one (`server_drops_unit` says what it
    /// counts).
    pub server_drops: Option<u64>,
    pub server_drops_unit: String,
    /// Frames the sending SDKs kept off the wire because nobody subscribed to them (part of
    /// `sent`, none of `expected`).
    #[serde(default)]
    pub withheld_unwatched: Option<u64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Correctness {
    /// Fragments whose bytes, length, header or sender differ from what was sent.
    pub corrupt: u64,
    /// Frames older than one already received on the same stream.
    pub reordered: u64,
    /// Frames that started but did not arrive whole.
    pub cut: u64,
    /// Fragments of streams the run does not have.
    pub unexpected: u64,
    /// Clients that lost their connection or room during the run.
    pub disconnects: u64,
    pub first_error: Option<String>,
}

impl Correctness {
    pub fn errors(&self) -> u64 {
        self.corrupt + self.reordered + self.cut + self.unexpected + self.disconnects
    }
}

/// What the server process cost over the media window.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ServerCost {
    pub pid: u32,
    /// utime + stime over the window.
    pub cpu_s: f64,
    /// Over media header + payload bytes delivered to the receivers (10^9 bytes).
    pub cpu_s_per_gb: f64,
    pub cpu_us_per_frame: f64,
    /// VmHWM at the end of the run.
    pub peak_rss_kb: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ClassroomReport {
    /// `sdk` (the SDK's session core), `raw` (diagnostic protocol client) or `async-nats`.
    pub client: String,
    pub rooms: u32,
    pub listeners: u32,
    /// Length of the media window (senders active).
    pub duration_s: f64,
    /// 0 = whole frames.
    pub fragment_bytes: usize,
    /// Every listener sent its own video and audio (false: `--quiet-listeners` diagnostic).
    #[serde(default)]
    pub listener_uploads: bool,
    pub clients: u32,
    pub setup_s: f64,
    pub latency: Latency,
    pub frames: FrameCounts,
    pub correctness: Correctness,
    pub delivered_bytes: u64,
    pub delivered_gbit_per_s: f64,
    pub server: ServerCost,
    /// The MCU's own media counters (when the load generator started it): frames in should
    /// equal frames sent, fragments out the fragments delivered.
    #[serde(default)]
    pub server_counters: Option<crate::mcu_process::McuCounters>,
    pub loadgen_cpu_s: f64,
    /// Worst lateness of the send loop against the schedule.
    pub send_max_lag_ms: f64,
}

impl ClassroomReport {
    /// Nothing lost, nothing wrong.
    pub fn clean(&self) -> bool {
        self.frames.missing == 0 && self.frames.sequence_gaps == 0 && self.correctness.errors() == 0
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct JoinReport {
    pub users: u32,
    /// All clients connected and logged in to the server (MCU: `connect_MCU`).
    pub connect_s: f64,
    /// From the moment all joins start until every client has seen every other.
    pub join_s: f64,
    /// Server CPU over connect, join and the settling second.
    pub server_cpu_s: f64,
    /// Server VmRSS before the clients connected and after all joined (idle), KiB. The
    /// per-user figure is (after − before) ÷ users: an idle user in the room.
    pub rss_before_kb: u64,
    /// Every client connected, none in the room yet.
    pub rss_connected_kb: u64,
    pub rss_after_kb: u64,
    /// (connected − before) ÷ users: a connected, logged-in idle user.
    pub rss_per_connected_user_kb: f64,
    pub rss_per_user_kb: f64,
    pub peak_rss_kb: u64,
    pub errors: u64,
    pub first_error: Option<String>,
}

fn gb(bytes: u64) -> f64 {
    bytes as f64 / 1e9
}

/// The human-readable table of one run.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "target {}  scenario {}",
        report.target, report.scenario
    );
    if let Some(c) = &report.classroom {
        let l = &c.latency;
        let f = &c.frames;
        let k = &c.correctness;
        let rows: Vec<(&str, String)> = vec![
            (
                "workload",
                format!(
                    "{} room(s) x {} listeners, {} {} clients, {:.1} s media, {}{}",
                    c.rooms,
                    c.listeners,
                    c.clients,
                    c.client,
                    c.duration_s,
                    if c.fragment_bytes == 0 {
                        "whole frames".to_string()
                    } else {
                        format!("{} B fragments", c.fragment_bytes)
                    },
                    if c.listener_uploads {
                        ""
                    } else {
                        ", unwatched listeners silent"
                    }
                ),
            ),
            ("setup", format!("{:.2} s", c.setup_s)),
            (
                "latency (ms)",
                format!(
                    "p50 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}  ({} frames)",
                    l.p50_ms, l.p99_ms, l.p999_ms, l.max_ms, l.count
                ),
            ),
            (
                "frames",
                format!(
                    "sent {}  expected {}  delivered {}  missing {}  gaps {}{}",
                    f.sent,
                    f.expected,
                    f.delivered,
                    f.missing,
                    f.sequence_gaps,
                    f.withheld_unwatched
                        .map_or(String::new(), |n| format!("  withheld unwatched {n}"))
                ),
            ),
            (
                "dropped by",
                format!(
                    "sender queue {}  clients {}  server {} {}",
                    f.dropped_by_sender_queue,
                    f.dropped_by_clients,
                    f.server_drops.map_or("n/a".to_string(), |n| n.to_string()),
                    f.server_drops_unit
                ),
            ),
            (
                "correctness",
                format!(
                    "corrupt {}  reordered {}  cut {}  unexpected {}  disconnects {}{}",
                    k.corrupt,
                    k.reordered,
                    k.cut,
                    k.unexpected,
                    k.disconnects,
                    k.first_error
                        .as_ref()
                        .map_or(String::new(), |e| format!("  first: {e}"))
                ),
            ),
            (
                "delivered",
                format!(
                    "{:.3} GB  ({:.2} Gbit/s)",
                    gb(c.delivered_bytes),
                    c.delivered_gbit_per_s
                ),
            ),
            (
                "server cost",
                format!(
                    "pid {}  cpu {:.2} s  {:.3} cpu-s/GB  {:.2} cpu-us/frame  peak RSS {} KiB",
                    c.server.pid,
                    c.server.cpu_s,
                    c.server.cpu_s_per_gb,
                    c.server.cpu_us_per_frame,
                    c.server.peak_rss_kb
                ),
            ),
            (
                "server counters",
                c.server_counters.map_or("n/a".into(), |k| {
                    format!(
                        "frames in {}  fragments out {}  dropped slow {}  dropped unrouted {}",
                        k.frames_in, k.fragments_out, k.dropped_slow_subscriber, k.dropped_unrouted
                    )
                }),
            ),
            (
                "load generator",
                format!(
                    "cpu {:.2} s  send loop max lag {:.2} ms",
                    c.loadgen_cpu_s, c.send_max_lag_ms
                ),
            ),
            (
                "verdict",
                if c.clean() {
                    "clean: nothing dropped, every frame byte-exact and in order".into()
                } else {
                    "NOT clean".into()
                },
            ),
        ];
        table(&mut out, &rows);
    }
    if let Some(j) = &report.join {
        let rows: Vec<(&str, String)> = vec![
            ("users", j.users.to_string()),
            ("connect all", format!("{:.3} s", j.connect_s)),
            (
                "join storm",
                format!("{:.3} s (until every client saw every other)", j.join_s),
            ),
            (
                "server cpu",
                format!("{:.2} s (connect + join + 1 s idle)", j.server_cpu_s),
            ),
            (
                "server RSS",
                format!(
                    "before {} KiB  connected {} KiB  joined {} KiB  peak {} KiB",
                    j.rss_before_kb, j.rss_connected_kb, j.rss_after_kb, j.peak_rss_kb
                ),
            ),
            (
                "RSS per idle user",
                format!(
                    "{:.1} KiB connected, {:.1} KiB connected and in the room",
                    j.rss_per_connected_user_kb, j.rss_per_user_kb
                ),
            ),
            (
                "errors",
                format!(
                    "{}{}",
                    j.errors,
                    j.first_error
                        .as_ref()
                        .map_or(String::new(), |e| format!("  first: {e}"))
                ),
            ),
        ];
        table(&mut out, &rows);
    }
    out
}

fn table(out: &mut String, rows: &[(&str, String)]) {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, value) in rows {
        let _ = writeln!(out, "  {key:<width$}  {value}");
    }
}

/// One row of a comparison: label, ours, peer, ours ÷ peer, target ratio (if any).
struct Row {
    label: &'static str,
    ours: f64,
    peer: f64,
    target: Option<f64>,
}

/// Side by side: ours and the peer, and the ratios ours ÷ peer.
pub fn compare(ours: &Report, peer: &Report) -> String {
    let mut rows = Vec::new();
    if let (Some(a), Some(b)) = (&ours.classroom, &peer.classroom) {
        let pairs = [
            ("latency p50 ms", a.latency.p50_ms, b.latency.p50_ms, None),
            (
                "latency p99 ms",
                a.latency.p99_ms,
                b.latency.p99_ms,
                Some(0.3),
            ),
            (
                "latency p99.9 ms",
                a.latency.p999_ms,
                b.latency.p999_ms,
                None,
            ),
            ("latency max ms", a.latency.max_ms, b.latency.max_ms, None),
            (
                "frames delivered",
                a.frames.delivered as f64,
                b.frames.delivered as f64,
                None,
            ),
            (
                "frames missing",
                a.frames.missing as f64,
                b.frames.missing as f64,
                None,
            ),
            ("server cpu s", a.server.cpu_s, b.server.cpu_s, None),
            (
                "server cpu-s per GB",
                a.server.cpu_s_per_gb,
                b.server.cpu_s_per_gb,
                Some(0.3),
            ),
            (
                "server cpu-us per frame",
                a.server.cpu_us_per_frame,
                b.server.cpu_us_per_frame,
                None,
            ),
            (
                "server peak RSS KiB",
                a.server.peak_rss_kb as f64,
                b.server.peak_rss_kb as f64,
                None,
            ),
            (
                "load generator cpu s",
                a.loadgen_cpu_s,
                b.loadgen_cpu_s,
                None,
            ),
        ];
        rows.extend(pairs.map(|(label, ours, peer, target)| Row {
            label,
            ours,
            peer,
            target,
        }));
    }
    if let (Some(a), Some(b)) = (&ours.join, &peer.join) {
        let pairs = [
            ("connect all s", a.connect_s, b.connect_s),
            ("join storm s", a.join_s, b.join_s),
            (
                "RSS per idle user KiB",
                a.rss_per_user_kb,
                b.rss_per_user_kb,
            ),
            (
                "server peak RSS KiB",
                a.peak_rss_kb as f64,
                b.peak_rss_kb as f64,
            ),
        ];
        rows.extend(pairs.map(|(label, ours, peer)| Row {
            label,
            ours,
            peer,
            target: None,
        }));
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {:<24} {:>14} {:>14} {:>10}  target",
        "figure", ours.target, peer.target, "ratio"
    );
    for row in rows {
        let ratio = if row.peer != 0.0 {
            format!("{:.3}", row.ours / row.peer)
        } else {
            "-".into()
        };
        let verdict = match row.target {
            Some(t) if row.peer != 0.0 => {
                let ok = row.ours / row.peer <= t;
                format!("<= {t} {}", if ok { "met" } else { "MISSED" })
            }
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {:<24} {:>14.3} {:>14.3} {:>10}  {}",
            row.label, row.ours, row.peer, ratio, verdict
        );
    }
    out
}
