//! Real-time pacing: sleeps to deadlines `start + period · n`, so a late wake-up does not
//! shift the following frames (no drift). A sender that fell behind catches up in a burst,
//! which the receiver's jitter buffer absorbs.

use std::time::{Duration, Instant};

pub struct Pacer {
    start: Instant,
    period: Duration,
    ticks: u32,
}

impl Pacer {
    pub fn new(period: Duration) -> Pacer {
        Pacer {
            start: Instant::now(),
            period,
            ticks: 0,
        }
    }

    /// Sleeps until the next deadline (at once if it has passed).
    pub fn wait_next(&mut self) {
        self.ticks = self.ticks.saturating_add(1);
        let due = self.start + self.period * self.ticks;
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
}
