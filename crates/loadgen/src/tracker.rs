//! What one receiving client checks and counts: every fragment byte-exact against what the
//! sender must have sent, frames in order per stream, gaps, and end-to-end latency.

use std::collections::HashMap;
use std::time::Instant;

use conference_proto::MediaHeader;
use hdrhistogram::Histogram;

use crate::payload::{Stamp, check_fragment};
use crate::streams::StreamTable;

/// Highest latency the histogram tracks (µs); longer ones are clamped to it.
const MAX_LATENCY_US: u64 = 60_000_000;

/// Per stream: where the receiver stands.
#[derive(Default)]
struct RxStream {
    /// Next frame expected.
    next_seq: u64,
    /// A frame whose first fragments arrived: (seq, next fragment index).
    open: Option<(u64, u16)>,
}

/// Counters of one receiver (or the sum of many).
#[derive(Clone, Debug)]
pub struct RxCounters {
    /// Frames received whole and correct.
    pub frames: u64,
    pub fragments: u64,
    /// Media header + payload bytes received.
    pub bytes: u64,
    /// Frames skipped over (sequence gaps).
    pub gaps: u64,
    /// Frames older than one already seen (reordering or duplicates).
    pub reordered: u64,
    /// Fragments whose bytes or header differ from what was sent.
    pub corrupt: u64,
    /// Frames that started but whose remaining fragments never came.
    pub cut: u64,
    /// Fragments of a stream this run does not have.
    pub unexpected: u64,
    pub first_error: Option<String>,
    /// End-to-end latency of whole frames, µs.
    pub latency: Histogram<u64>,
}

impl Default for RxCounters {
    fn default() -> Self {
        RxCounters {
            frames: 0,
            fragments: 0,
            bytes: 0,
            gaps: 0,
            reordered: 0,
            corrupt: 0,
            cut: 0,
            unexpected: 0,
            first_error: None,
            latency: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
                .expect("static histogram bounds are valid"),
        }
    }
}

impl RxCounters {
    pub fn merge(&mut self, other: &RxCounters) {
        self.frames += other.frames;
        self.fragments += other.fragments;
        self.bytes += other.bytes;
        self.gaps += other.gaps;
        self.reordered += other.reordered;
        self.corrupt += other.corrupt;
        self.cut += other.cut;
        self.unexpected += other.unexpected;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency.add(&other.latency);
    }

    pub fn errors(&self) -> u64 {
        self.reordered + self.corrupt + self.cut + self.unexpected
    }

    fn error(&mut self, message: impl FnOnce() -> String) {
        if self.first_error.is_none() {
            self.first_error = Some(message());
        }
    }
}

/// Whole frames received so far by these clients' trackers.
pub fn delivered<'a>(trackers: impl Iterator<Item = &'a parking_lot::Mutex<Tracker>>) -> u64 {
    trackers.map(|tracker| tracker.lock().counters.frames).sum()
}

/// Finishes these clients' trackers (open frames count as cut) and merges their counters.
pub fn finish_all<'a>(
    trackers: impl Iterator<Item = &'a parking_lot::Mutex<Tracker>>,
) -> RxCounters {
    let mut total = RxCounters::default();
    for tracker in trackers {
        let mut tracker = tracker.lock();
        tracker.finish();
        total.merge(&tracker.counters);
    }
    total
}

/// The receive-side checker of one client.
pub struct Tracker {
    epoch: Instant,
    streams: HashMap<u32, RxStream>,
    pub counters: RxCounters,
}

impl Tracker {
    pub fn new(epoch: Instant) -> Self {
        Tracker {
            epoch,
            streams: HashMap::new(),
            counters: RxCounters::default(),
        }
    }

    /// One received fragment: `sender` is the user id the transport says sent it, `header` the
    /// media header as received, `payload` the bytes after it.
    pub fn on_fragment(
        &mut self,
        table: &StreamTable,
        sender: u32,
        header: &MediaHeader,
        payload: &[u8],
    ) {
        let now_ns = self.epoch.elapsed().as_nanos() as u64;
        let c = &mut self.counters;
        c.fragments += 1;
        c.bytes += (conference_proto::media::MEDIA_HEADER_LEN + payload.len()) as u64;
        let stamp = match check_fragment(payload) {
            Ok(stamp) => stamp,
            Err(err) => {
                c.corrupt += 1;
                c.error(|| format!("from user {sender}: {err}"));
                return;
            }
        };
        let Some(info) = table.get(stamp.tag) else {
            c.unexpected += 1;
            c.error(|| format!("from user {sender}: unknown stream tag {}", stamp.tag));
            return;
        };
        let count = table.fragment_count(info, stamp.seq);
        let expected_len = table.fragment_len(info, stamp.seq, stamp.frag_index as usize);
        let mut expected = info.header(stamp.seq, stamp.frag_index as usize, count);
        expected.sender_id = info.sender_user;
        let consistent = sender == info.sender_user
            && *header == expected
            && expected_len == Some(payload.len())
            && stamp.frame_len as usize == info.frame_bytes(stamp.seq)
            && stamp.frag_count as usize == count;
        if !consistent {
            c.corrupt += 1;
            c.error(|| {
                format!(
                    "stream {} frame {} fragment {}: got sender {sender}, {} bytes, {header:?}; \
                     expected sender {}, {expected_len:?} bytes, {expected:?}",
                    stamp.tag,
                    stamp.seq,
                    stamp.frag_index,
                    payload.len(),
                    info.sender_user
                )
            });
            return;
        }
        self.order(stamp, now_ns);
    }

    /// Whole frames in sequence: counts gaps, reordering and cut frames; records latency when
    /// the last fragment of a frame arrives.
    fn order(&mut self, stamp: Stamp, now_ns: u64) {
        let c = &mut self.counters;
        let rx = self.streams.entry(stamp.tag).or_default();
        if let Some((seq, next_frag)) = rx.open {
            if stamp.seq == seq && stamp.frag_index == next_frag {
                if next_frag + 1 == stamp.frag_count {
                    rx.open = None;
                    complete(c, stamp, now_ns);
                } else {
                    rx.open = Some((seq, next_frag + 1));
                }
                return;
            }
            rx.open = None;
            c.cut += 1;
            c.error(|| {
                format!(
                    "stream {} frame {seq} was cut at fragment {next_frag}",
                    stamp.tag
                )
            });
        }
        if stamp.frag_index != 0 {
            c.cut += 1;
            c.error(|| {
                format!(
                    "stream {} frame {} began at fragment {}",
                    stamp.tag, stamp.seq, stamp.frag_index
                )
            });
            return;
        }
        if stamp.seq < rx.next_seq {
            c.reordered += 1;
            c.error(|| {
                format!(
                    "stream {} frame {} arrived after frame {}",
                    stamp.tag,
                    stamp.seq,
                    rx.next_seq - 1
                )
            });
            return;
        }
        c.gaps += stamp.seq - rx.next_seq;
        rx.next_seq = stamp.seq + 1;
        if stamp.frag_count <= 1 {
            complete(c, stamp, now_ns);
        } else {
            rx.open = Some((stamp.seq, 1));
        }
    }

    /// Frames still missing at the end: started and never finished.
    pub fn finish(&mut self) {
        let open = self.streams.values().filter(|s| s.open.is_some()).count() as u64;
        self.counters.cut += open;
    }
}

fn complete(c: &mut RxCounters, stamp: Stamp, now_ns: u64) {
    c.frames += 1;
    let micros = now_ns.saturating_sub(stamp.sent_ns) / 1000;
    c.latency.saturating_record(micros.clamp(1, MAX_LATENCY_US));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::write_fragment;
    use crate::streams::StreamInfo;
    use crate::workload::StreamKind;

    fn table(frag_size: usize) -> StreamTable {
        let mut table = StreamTable::new(frag_size);
        table.insert(StreamInfo::new(1, StreamKind::MasterMain, 42, 1));
        table
    }

    /// The fragments a sender emits for frame `seq` of tag 8.
    fn frame(table: &StreamTable, seq: u64) -> Vec<(MediaHeader, Vec<u8>)> {
        let info = table.get(8).unwrap();
        let count = table.fragment_count(info, seq);
        (0..count)
            .map(|i| {
                let mut header = info.header(seq, i, count);
                header.sender_id = 42;
                let stamp = Stamp {
                    tag: 8,
                    seq,
                    sent_ns: 0,
                    frame_len: info.frame_bytes(seq) as u32,
                    frag_index: i as u16,
                    frag_count: count as u16,
                };
                let mut buf = Vec::new();
                write_fragment(&mut buf, &stamp, table.fragment_len(info, seq, i).unwrap());
                (header, buf)
            })
            .collect()
    }

    #[test]
    fn in_order_fragmented_frames_count_once_each() {
        let table = table(4096);
        let mut t = Tracker::new(Instant::now());
        for seq in 0..3 {
            for (h, p) in frame(&table, seq) {
                t.on_fragment(&table, 42, &h, &p);
            }
        }
        t.finish();
        assert_eq!(t.counters.frames, 3);
        assert_eq!(t.counters.errors(), 0, "{:?}", t.counters.first_error);
        assert_eq!(t.counters.latency.len(), 3);
        assert_eq!(t.counters.fragments, 29 + 3 + 3);
    }

    #[test]
    fn gaps_reordering_cuts_and_corruption_are_told_apart() {
        let table = table(4096);
        let mut t = Tracker::new(Instant::now());
        let f0 = frame(&table, 0);
        // Frame 0 cut after two fragments, then frame 2 whole (frame 1 is a gap).
        t.on_fragment(&table, 42, &f0[0].0, &f0[0].1);
        t.on_fragment(&table, 42, &f0[1].0, &f0[1].1);
        for (h, p) in frame(&table, 2) {
            t.on_fragment(&table, 42, &h, &p);
        }
        assert_eq!(
            (t.counters.cut, t.counters.gaps, t.counters.frames),
            (1, 1, 1)
        );
        // An old frame again.
        for (h, p) in frame(&table, 1) {
            t.on_fragment(&table, 42, &h, &p);
        }
        assert!(t.counters.reordered >= 1);
        // Wrong sender, then a flipped byte.
        let f3 = frame(&table, 3);
        t.on_fragment(&table, 7, &f3[0].0, &f3[0].1);
        let mut bad = f3[0].1.clone();
        bad[100] ^= 0xff;
        t.on_fragment(&table, 42, &f3[0].0, &bad);
        assert_eq!(t.counters.corrupt, 2);
        assert!(t.counters.first_error.is_some());
    }
}
