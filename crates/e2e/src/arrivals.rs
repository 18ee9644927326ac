//! Which part of a recording can be judged. The mixer's jitter buffer absorbs 40 ms of
//! arrival jitter; a process stalled for longer (a loaded test machine: sender, MCU or the
//! recorder's network thread) makes a source underrun, which the mixer rightly turns into
//! concealment or silence. Such stretches say nothing about the mix, so the tests judge the
//! clean stretches between them, found from the recorder's log alone: each sender frame's
//! arrival, counted in mixed frames, against its own timestamp.
//!
//! Intended losses (frames never sent) are not arrivals and do not count as disturbances.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::recording::Recording;
use crate::verdict::FRAME_MS;

/// An arrival this much later than the recent best transit is one the jitter buffer may not
/// have absorbed (its target delay).
const LATE_MS: i64 = 40;
/// The "recent best transit" is the minimum over this many of the sender's previous frames
/// (a second), so a lasting shift of the clocks is not a disturbance for ever.
const BASELINE_FRAMES: usize = 50;
/// Mixed frames around a late arrival that may be affected: the underrun before it, the
/// concealment and re-buffering after it.
const BEFORE: usize = 8;
const AFTER: usize = 12;

/// For each of the `frames` mixed frames: may it be affected by late input?
pub fn disturbed(rec: &Recording, frames: usize) -> Vec<bool> {
    let mut by_sender: BTreeMap<i32, Vec<(usize, u64)>> = BTreeMap::new();
    for f in &rec.senders {
        by_sender
            .entry(f.user_id)
            .or_default()
            .push((f.at_frame, f.timestamp));
    }
    let mut bad = vec![false; frames];
    for arrivals in by_sender.values() {
        let Some(&(_, ts0)) = arrivals.first() else {
            continue;
        };
        // Transit in ms up to a constant: arrival on the mixer clock minus sender time.
        let transit: Vec<i64> = arrivals
            .iter()
            .map(|&(at, ts)| at as i64 * FRAME_MS as i64 - (ts as i64 - ts0 as i64))
            .collect();
        for (i, &(at, _)) in arrivals.iter().enumerate() {
            let best = transit[i.saturating_sub(BASELINE_FRAMES)..=i]
                .iter()
                .copied()
                .min()
                .unwrap_or(transit[i]);
            if transit[i] - best >= LATE_MS {
                let end = (at + AFTER).min(frames);
                for b in &mut bad[at.saturating_sub(BEFORE).min(end)..end] {
                    *b = true;
                }
            }
        }
    }
    bad
}

/// Maximal runs of undisturbed frames starting at or after `from`.
pub fn clean_stretches(disturbed: &[bool], from: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &bad) in disturbed.iter().enumerate().skip(from) {
        match (bad, start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..disturbed.len());
    }
    out
}

/// The longest clean stretch at or after `from`.
pub fn longest_clean(disturbed: &[bool], from: usize) -> Range<usize> {
    clean_stretches(disturbed, from)
        .into_iter()
        .max_by_key(|r| r.len())
        .unwrap_or(from..from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::SenderFrame;

    fn rec(arrivals: &[(usize, u64)]) -> Recording {
        Recording {
            senders: arrivals
                .iter()
                .map(|&(at_frame, timestamp)| SenderFrame {
                    user_id: 2,
                    codec: 0,
                    timestamp,
                    bytes: 3840,
                    at_frame,
                })
                .collect(),
            ..Recording::default()
        }
    }

    #[test]
    fn steady_arrivals_with_jitter_and_losses_are_clean() {
        // One frame per mixed frame, sometimes a frame late (0 then 2), every 10th lost.
        let arrivals: Vec<(usize, u64)> = (0..100u64)
            .filter(|i| i % 10 != 9)
            .map(|i| (i as usize + usize::from(i % 7 == 3), 1000 + 20 * i))
            .collect();
        let bad = disturbed(&rec(&arrivals), 110);
        assert!(bad.iter().all(|b| !b));
        assert_eq!(longest_clean(&bad, 25), 25..110);
    }

    #[test]
    fn a_stall_marks_its_surroundings() {
        // Frames 40..46 held up and delivered together at mixed frame 46.
        let arrivals: Vec<(usize, u64)> = (0..100u64)
            .map(|i| {
                (
                    (i as usize).max(if (40..46).contains(&i) { 46 } else { 0 }),
                    20 * i,
                )
            })
            .collect();
        let bad = disturbed(&rec(&arrivals), 100);
        // Late by 40 ms or more: the frames sent at 40..=44, arriving at 46.
        assert_eq!(clean_stretches(&bad, 0), vec![0..38, 58..100]);
        assert_eq!(longest_clean(&bad, 25), 58..100);
    }
}
