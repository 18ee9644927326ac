//! The send loop: one thread plays every stream of the run at its own rate, like the encoders
//! of all the recorders would, and hands each frame to its client.
//!
//! The stamp carries the *scheduled* time of a frame, so a loop that falls behind shows up as
//! latency (no coordinated omission); the lag is reported on its own too.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use conference_proto::{MediaHeader, MediaType};

use crate::payload::{Stamp, write_fragment};
use crate::streams::StreamTable;

/// Hands one fragment to a client; `false` when the client refused it (queue full).
pub trait Publisher: Send + Sync {
    fn publish(&self, media_type: MediaType, header: MediaHeader, payload: &[u8]) -> bool;
}

/// What the loop sent, per stream tag.
#[derive(Clone, Debug, Default)]
pub struct Sent {
    /// Whole frames handed over (every fragment accepted).
    pub frames: u64,
    pub fragments: u64,
    /// Frames the client refused (send queue full); their remaining fragments were skipped.
    pub refused: u64,
}

#[derive(Debug, Default)]
pub struct SendReport {
    /// Indexed by tag.
    pub per_tag: Vec<Sent>,
    /// Worst lateness of the loop against the schedule.
    pub max_lag: Duration,
}

impl SendReport {
    pub fn total(&self) -> Sent {
        self.per_tag.iter().fold(Sent::default(), |mut acc, s| {
            acc.frames += s.frames;
            acc.fragments += s.fragments;
            acc.refused += s.refused;
            acc
        })
    }
}

/// Plays every stream of `table` from `start` (each offset by its start phase) until `end`;
/// `publishers[i]` sends for client `i`. With `unwatched` false, streams nobody subscribes
/// to stay silent.
pub fn run(
    table: &StreamTable,
    publishers: &[&dyn Publisher],
    unwatched: bool,
    epoch: Instant,
    start: Instant,
    end: Instant,
) -> SendReport {
    let mut heap = BinaryHeap::new();
    let mut report = SendReport::default();
    let base = start.saturating_duration_since(epoch);
    for info in table.streams() {
        if !unwatched && info.subscribers == 0 {
            continue;
        }
        heap.push(Reverse((base + info.start_phase(), info.tag, 0u64)));
        let index = info.tag as usize;
        if report.per_tag.len() <= index {
            report.per_tag.resize(index + 1, Sent::default());
        }
    }
    let stop = end.saturating_duration_since(epoch);
    let mut buf = Vec::new();
    while let Some(Reverse((at, tag, seq))) = heap.pop() {
        if at >= stop {
            continue;
        }
        let now = epoch.elapsed();
        if at > now {
            std::thread::sleep(at - now);
        } else {
            report.max_lag = report.max_lag.max(now - at);
        }
        let Some(info) = table.get(tag) else {
            continue;
        };
        let count = table.fragment_count(info, seq);
        let sent = &mut report.per_tag[tag as usize];
        let mut accepted = true;
        for index in 0..count {
            let len = table.fragment_len(info, seq, index).unwrap_or(0);
            let stamp = Stamp {
                tag,
                seq,
                sent_ns: at.as_nanos() as u64,
                frame_len: info.frame_bytes(seq) as u32,
                frag_index: index as u16,
                frag_count: count as u16,
            };
            write_fragment(&mut buf, &stamp, len);
            let header = info.header(seq, index, count);
            if !publishers[info.sender].publish(info.media_type(), header, &buf) {
                accepted = false;
                break;
            }
            sent.fragments += 1;
        }
        if accepted {
            sent.frames += 1;
        } else {
            sent.refused += 1;
        }
        heap.push(Reverse((at + info.spec().interval, tag, seq + 1)));
    }
    report
}
