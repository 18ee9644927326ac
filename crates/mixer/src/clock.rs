//! The 20 ms frame clock: deadlines computed from a monotonic start, so sleeping late never
//! accumulates into drift.

use std::time::{Duration, Instant};

use crate::format::FRAME_MS;

/// Behind by more than this many frames (the thread was starved or the process stopped):
/// restart the clock instead of emitting a burst of catch-up frames.
const MAX_LAG_FRAMES: u64 = 5;

#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameClock {
    start: Instant,
    /// Frames emitted since `start`.
    frames: u64,
}

impl FrameClock {
    pub fn new(start: Instant) -> Self {
        Self { start, frames: 0 }
    }

    /// When the next frame is due: its 20 ms have elapsed.
    pub fn deadline(&self) -> Instant {
        self.start + Duration::from_millis((self.frames + 1) * u64::from(FRAME_MS))
    }

    /// A frame was emitted at `now`. Returns true when the clock had fallen too far behind
    /// and was restarted from `now`.
    pub fn advance(&mut self, now: Instant) -> bool {
        self.frames += 1;
        let lag = now.saturating_duration_since(self.deadline());
        if lag > Duration::from_millis(MAX_LAG_FRAMES * u64::from(FRAME_MS)) {
            *self = Self::new(now);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_do_not_drift_when_woken_late() {
        let t0 = Instant::now();
        let mut c = FrameClock::new(t0);
        for k in 1..=100u64 {
            let d = c.deadline();
            assert_eq!(d, t0 + Duration::from_millis(20 * k));
            // Woken 7 ms late every time: the next deadline still sits on the 20 ms grid.
            assert!(!c.advance(d + Duration::from_millis(7)));
        }
    }

    #[test]
    fn short_lag_catches_up_long_lag_restarts() {
        let t0 = Instant::now();
        let mut c = FrameClock::new(t0);
        // 70 ms late for frame 1: frames 2..4 are already due (catch up, no restart).
        assert!(!c.advance(t0 + Duration::from_millis(90)));
        assert!(c.deadline() < t0 + Duration::from_millis(90));
        // A 1 s stall: restart from now.
        let late = t0 + Duration::from_secs(1);
        assert!(c.advance(late));
        assert_eq!(c.deadline(), late + Duration::from_millis(20));
    }
}
