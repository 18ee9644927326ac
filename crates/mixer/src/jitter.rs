//! Per-source jitter buffer: packets ordered by the sender's timestamp, a playout cursor in the
//! sender's time, and the decisions "play this packet", "conceal this much" or "nothing yet".
//!
//! Time only advances through [`JitterBuffer::tick`] (once per mixed frame), so the buffer is
//! deterministic and testable without a clock.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::format::FRAME_MS;
use crate::packet::AudioPacket;

/// A sender timestamp this far behind the cursor means the sender restarted its clock.
const RESTART_MS: u64 = 1000;

/// Tuning of one source's buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JitterConfig {
    /// Playout starts once this much audio is buffered (or has waited this long).
    pub target_ms: u32,
    /// More than this much buffered ahead of the cursor: the oldest packets are dropped.
    pub max_ms: u32,
    /// Underruns are concealed for at most this long, then the source goes quiet and
    /// re-buffers when packets return. Also the largest gap concealed before a packet; a
    /// larger gap skips ahead.
    pub max_conceal_ms: u32,
}

/// What the source should render next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Playout {
    /// Decode this packet.
    Play(AudioPacket),
    /// Conceal `ms` of missing audio. `fec` is the packet that follows the gap directly, whose
    /// in-band FEC (if any) can rebuild the missing audio.
    Conceal { ms: u32, fec: Option<Bytes> },
    /// Nothing to render: not started, or quiet after a long underrun.
    Wait,
}

/// Outcome of [`JitterBuffer::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inserted {
    Queued,
    /// Its time has already been played or concealed: dropped.
    Late,
    /// A packet with this timestamp is already buffered: dropped.
    Duplicate,
}

/// Counters, for diagnostics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Packets handed to the decoder.
    pub played: u64,
    /// Milliseconds concealed (lost, late or missing packets).
    pub concealed_ms: u64,
    /// Packets dropped because they arrived after their playout time.
    pub late: u64,
    /// Packets dropped because their timestamp was already buffered.
    pub duplicates: u64,
    /// Packets dropped to keep the delay bounded.
    pub overflow: u64,
}

#[derive(Debug)]
struct Entry {
    packet: AudioPacket,
    duration_ms: u32,
}

impl Entry {
    /// Timestamps are whole ms while durations may not be (1024 samples at 48 kHz): a packet
    /// within half its duration of the cursor is "on time".
    fn tolerance(&self) -> u64 {
        u64::from(self.duration_ms / 2)
    }
}

#[derive(Debug)]
pub(crate) struct JitterBuffer {
    config: JitterConfig,
    packets: BTreeMap<u64, Entry>,
    /// Next sender timestamp to play; `None` while buffering.
    cursor: Option<u64>,
    waited_ms: u32,
    /// Consecutive underrun concealment.
    underrun_ms: u32,
    last_duration_ms: u32,
    stats: SourceStats,
}

impl JitterBuffer {
    pub fn new(config: JitterConfig) -> Self {
        Self {
            config,
            packets: BTreeMap::new(),
            cursor: None,
            waited_ms: 0,
            underrun_ms: 0,
            last_duration_ms: FRAME_MS,
            stats: SourceStats::default(),
        }
    }

    pub fn stats(&self) -> SourceStats {
        self.stats
    }

    /// True when nothing is buffered and nothing is playing.
    pub fn is_idle(&self) -> bool {
        self.cursor.is_none() && self.packets.is_empty()
    }

    /// Queues a packet lasting `duration_ms` (> 0).
    pub fn insert(&mut self, packet: AudioPacket, duration_ms: u32) -> Inserted {
        let entry = Entry {
            packet,
            duration_ms: duration_ms.max(1),
        };
        let ts = entry.packet.timestamp_ms;
        if let Some(cursor) = self.cursor
            && ts + entry.tolerance() < cursor
        {
            if cursor - ts <= RESTART_MS {
                self.stats.late += 1;
                return Inserted::Late;
            }
            // The sender's clock jumped back: start over from this packet.
            self.packets.clear();
            self.cursor = None;
            self.waited_ms = 0;
        }
        if self.packets.contains_key(&ts) {
            self.stats.duplicates += 1;
            return Inserted::Duplicate;
        }
        self.packets.insert(ts, entry);
        self.trim_overflow();
        Inserted::Queued
    }

    /// Drops the oldest packets while more than `max_ms` is buffered ahead of the playout point
    /// (a sender clock running fast, or a burst after a stall).
    fn trim_overflow(&mut self) {
        while self.packets.len() > 1 {
            let (Some((&first, _)), Some((&last, last_entry))) = (
                self.packets.first_key_value(),
                self.packets.last_key_value(),
            ) else {
                return;
            };
            let start = self.cursor.map_or(first, |c| c.min(first));
            let end = last + u64::from(last_entry.duration_ms);
            if end.saturating_sub(start) <= u64::from(self.config.max_ms) {
                return;
            }
            self.packets.pop_first();
            self.stats.overflow += 1;
            if self.cursor.is_some() {
                // Skip the playout point to the oldest packet kept.
                self.cursor = self.packets.first_key_value().map(|(&ts, _)| ts);
            }
        }
    }

    /// One mixed frame has passed.
    pub fn tick(&mut self) {
        if self.cursor.is_none() && !self.packets.is_empty() {
            self.waited_ms = self.waited_ms.saturating_add(FRAME_MS);
        }
    }

    /// The next thing to render.
    pub fn next(&mut self) -> Playout {
        let cursor = match self.cursor {
            Some(c) => c,
            None => match self.try_start() {
                Some(c) => c,
                None => return Playout::Wait,
            },
        };
        // Drop what fell behind the cursor (only possible after concealment moved it).
        while let Some(entry) = self.packets.first_entry() {
            if entry.key() + entry.get().tolerance() >= cursor {
                break;
            }
            entry.remove();
            self.stats.late += 1;
        }
        let Some(mut entry) = self.packets.first_entry() else {
            return self.underrun(cursor);
        };
        let ts = *entry.key();
        let gap = ts.saturating_sub(cursor);
        if gap > entry.get().tolerance() && gap <= u64::from(self.config.max_conceal_ms) {
            let ms = (gap.min(u64::from(self.last_duration_ms))) as u32;
            let fec = (u64::from(ms) == gap).then(|| entry.get_mut().packet.payload.clone());
            self.cursor = Some(cursor + u64::from(ms));
            self.stats.concealed_ms += u64::from(ms);
            return Playout::Conceal { ms, fec };
        }
        // On time, or after a gap too long to conceal (skip ahead to it).
        let entry = entry.remove();
        self.cursor = Some(ts + u64::from(entry.duration_ms));
        self.last_duration_ms = entry.duration_ms;
        self.underrun_ms = 0;
        self.stats.played += 1;
        Playout::Play(entry.packet)
    }

    fn try_start(&mut self) -> Option<u64> {
        let (&first, _) = self.packets.first_key_value()?;
        let (&last, last_entry) = self.packets.last_key_value()?;
        let span = last + u64::from(last_entry.duration_ms) - first;
        if span < u64::from(self.config.target_ms) && self.waited_ms < self.config.target_ms {
            return None;
        }
        self.cursor = Some(first);
        self.waited_ms = 0;
        self.underrun_ms = 0;
        Some(first)
    }

    fn underrun(&mut self, cursor: u64) -> Playout {
        if self.underrun_ms >= self.config.max_conceal_ms {
            // The sender went quiet (left, muted, or DTX): stop and re-buffer on its return.
            self.cursor = None;
            self.waited_ms = 0;
            self.underrun_ms = 0;
            return Playout::Wait;
        }
        let ms = self.last_duration_ms;
        self.underrun_ms += ms;
        self.cursor = Some(cursor + u64::from(ms));
        self.stats.concealed_ms += u64::from(ms);
        Playout::Conceal { ms, fec: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::codec;

    const CONFIG: JitterConfig = JitterConfig {
        target_ms: 40,
        max_ms: 120,
        max_conceal_ms: 100,
    };

    fn pkt(ts: u64) -> AudioPacket {
        AudioPacket {
            codec: codec::PCM,
            sample_rate: 8000,
            channels: 1,
            bits: 16,
            duration_ms: 20,
            timestamp_ms: ts,
            payload: Bytes::from(ts.to_le_bytes().to_vec()),
        }
    }

    fn played_ts(p: Playout) -> Option<u64> {
        match p {
            Playout::Play(p) => Some(p.timestamp_ms),
            _ => None,
        }
    }

    #[test]
    fn waits_for_target_then_plays_in_timestamp_order() {
        let mut jb = JitterBuffer::new(CONFIG);
        assert_eq!(jb.insert(pkt(1020), 20), Inserted::Queued);
        assert_eq!(jb.next(), Playout::Wait, "20 ms buffered < 40 ms target");
        assert_eq!(jb.insert(pkt(1000), 20), Inserted::Queued);
        assert_eq!(played_ts(jb.next()), Some(1000));
        assert_eq!(played_ts(jb.next()), Some(1020));
    }

    #[test]
    fn starts_after_waiting_target_even_when_little_is_buffered() {
        let mut jb = JitterBuffer::new(CONFIG);
        jb.insert(pkt(0), 20);
        jb.tick();
        assert_eq!(jb.next(), Playout::Wait);
        jb.tick();
        assert_eq!(played_ts(jb.next()), Some(0));
    }

    #[test]
    fn late_and_duplicate_packets_are_dropped() {
        let mut jb = JitterBuffer::new(CONFIG);
        jb.insert(pkt(0), 20);
        jb.insert(pkt(20), 20);
        assert_eq!(played_ts(jb.next()), Some(0));
        assert_eq!(played_ts(jb.next()), Some(20));
        assert_eq!(jb.insert(pkt(0), 20), Inserted::Late);
        assert_eq!(jb.insert(pkt(40), 20), Inserted::Queued);
        assert_eq!(jb.insert(pkt(40), 20), Inserted::Duplicate);
        assert_eq!(jb.stats().late, 1);
        assert_eq!(jb.stats().duplicates, 1);
    }

    #[test]
    fn gap_is_concealed_with_fec_from_the_following_packet() {
        let mut jb = JitterBuffer::new(CONFIG);
        for ts in [0, 20, 60] {
            jb.insert(pkt(ts), 20);
        }
        assert_eq!(played_ts(jb.next()), Some(0));
        assert_eq!(played_ts(jb.next()), Some(20));
        match jb.next() {
            Playout::Conceal {
                ms: 20,
                fec: Some(p),
            } => assert_eq!(p, pkt(60).payload),
            other => panic!("expected FEC concealment, got {other:?}"),
        }
        assert_eq!(played_ts(jb.next()), Some(60));
        assert_eq!(jb.stats().concealed_ms, 20);
    }

    #[test]
    fn underrun_conceals_then_goes_quiet_and_rebuffers() {
        let mut jb = JitterBuffer::new(CONFIG);
        jb.insert(pkt(0), 20);
        jb.insert(pkt(20), 20);
        jb.next();
        jb.next();
        for _ in 0..5 {
            assert_eq!(jb.next(), Playout::Conceal { ms: 20, fec: None });
        }
        assert_eq!(jb.next(), Playout::Wait);
        assert!(jb.is_idle());
        // The talker returns much later: buffering starts over.
        jb.insert(pkt(5000), 20);
        assert_eq!(jb.next(), Playout::Wait);
        jb.insert(pkt(5020), 20);
        assert_eq!(played_ts(jb.next()), Some(5000));
    }

    #[test]
    fn packet_arriving_after_its_time_was_concealed_is_late() {
        let mut jb = JitterBuffer::new(CONFIG);
        jb.insert(pkt(0), 20);
        jb.insert(pkt(20), 20);
        jb.next();
        jb.next();
        assert_eq!(jb.next(), Playout::Conceal { ms: 20, fec: None });
        assert_eq!(jb.insert(pkt(40), 20), Inserted::Late);
        jb.insert(pkt(60), 20);
        assert_eq!(played_ts(jb.next()), Some(60));
    }

    #[test]
    fn overflow_drops_oldest_to_bound_the_delay() {
        let mut jb = JitterBuffer::new(CONFIG);
        for i in 0..10 {
            jb.insert(pkt(i * 20), 20);
        }
        // 120 ms kept: 80..200.
        assert_eq!(jb.stats().overflow, 4);
        assert_eq!(played_ts(jb.next()), Some(80));
    }

    #[test]
    fn sender_clock_restart_resets_the_buffer() {
        let mut jb = JitterBuffer::new(CONFIG);
        jb.insert(pkt(100_000), 20);
        jb.insert(pkt(100_020), 20);
        jb.next();
        jb.insert(pkt(0), 20);
        jb.insert(pkt(20), 20);
        assert_eq!(played_ts(jb.next()), Some(0));
    }

    #[test]
    fn long_gap_skips_ahead_instead_of_concealing() {
        let mut jb = JitterBuffer::new(CONFIG);
        jb.insert(pkt(0), 20);
        jb.insert(pkt(20), 20);
        jb.next();
        jb.next();
        jb.insert(pkt(1000), 20);
        assert_eq!(played_ts(jb.next()), Some(1000));
    }
}
