//! Signal status (`m_u8SignalStatus`, 0–5) from heartbeat round trips.
//!
//! The MCU pings every heartbeat interval; over the last [`WINDOW`] pings it takes the mean
//! round-trip time of the answered ones and the share of pings unanswered after two
//! intervals (lost):
//!
//! | status | meaning   | condition                                   |
//! |--------|-----------|---------------------------------------------|
//! | 5      | excellent | no loss and RTT < 50 ms                     |
//! | 4      | good      | loss ≤ 10 % and RTT < 150 ms                |
//! | 3      | fair      | loss ≤ 20 % and RTT < 300 ms                |
//! | 2      | poor      | loss ≤ 35 % and RTT < 600 ms                |
//! | 1      | bad       | still answering, anything worse             |
//! | 0      | none      | no pong for two heartbeat intervals         |

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Pings considered.
pub const WINDOW: usize = 10;

/// What the heartbeats say about a link.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct LinkQuality {
    pub rtt: Duration,
    /// 0.0..=1.0
    pub loss: f64,
}

struct Probe {
    nonce: u32,
    sent: Instant,
    rtt: Option<Duration>,
}

pub struct SignalMeter {
    probes: VecDeque<Probe>,
    next_nonce: u32,
    last_pong: Instant,
}

impl SignalMeter {
    pub fn new(now: Instant) -> Self {
        SignalMeter {
            probes: VecDeque::new(),
            next_nonce: 1,
            last_pong: now,
        }
    }

    /// Records a ping sent now; returns its nonce.
    pub fn ping(&mut self, now: Instant) -> u32 {
        let nonce = self.next_nonce;
        self.next_nonce = self.next_nonce.wrapping_add(1).max(1);
        if self.probes.len() == WINDOW {
            self.probes.pop_front();
        }
        self.probes.push_back(Probe {
            nonce,
            sent: now,
            rtt: None,
        });
        nonce
    }

    /// Records a pong and returns its round trip; unknown or repeated nonces are ignored.
    pub fn pong(&mut self, nonce: u32, now: Instant) -> Option<Duration> {
        let probe = self
            .probes
            .iter_mut()
            .find(|p| p.nonce == nonce && p.rtt.is_none())?;
        let rtt = now.saturating_duration_since(probe.sent);
        probe.rtt = Some(rtt);
        self.last_pong = now;
        Some(rtt)
    }

    /// Mean round trip of the answered pings of the window and the share of settled ones
    /// lost; `None` before any answer.
    pub fn link(&self, now: Instant, heartbeat: Duration) -> Option<LinkQuality> {
        let settled: Vec<&Probe> = self
            .probes
            .iter()
            .filter(|p| p.rtt.is_some() || now.saturating_duration_since(p.sent) > heartbeat * 2)
            .collect();
        let answered: Vec<Duration> = settled.iter().filter_map(|p| p.rtt).collect();
        if answered.is_empty() {
            return None;
        }
        Some(LinkQuality {
            rtt: answered.iter().sum::<Duration>() / answered.len() as u32,
            loss: 1.0 - answered.len() as f64 / settled.len() as f64,
        })
    }

    pub fn status(&self, now: Instant, heartbeat: Duration) -> u8 {
        if now.saturating_duration_since(self.last_pong) > heartbeat * 2 {
            return 0;
        }
        let Some(LinkQuality { rtt, loss }) = self.link(now, heartbeat) else {
            return 5;
        };
        let ms = rtt.as_millis();
        if loss == 0.0 && ms < 50 {
            5
        } else if loss <= 0.10 && ms < 150 {
            4
        } else if loss <= 0.20 && ms < 300 {
            3
        } else if loss <= 0.35 && ms < 600 {
            2
        } else {
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HB: Duration = Duration::from_millis(1000);

    #[test]
    fn scale_follows_rtt_and_loss() {
        let t0 = Instant::now();
        let mut meter = SignalMeter::new(t0);
        assert_eq!(meter.status(t0, HB), 5);
        let mut t = t0;
        for _ in 0..WINDOW {
            let n = meter.ping(t);
            meter.pong(n, t + Duration::from_millis(10));
            t += HB;
        }
        assert_eq!(meter.status(t - HB + Duration::from_millis(20), HB), 5);

        let mut meter = SignalMeter::new(t0);
        let mut t = t0;
        for i in 0..WINDOW {
            let n = meter.ping(t);
            if i % 4 != 0 {
                meter.pong(n, t + Duration::from_millis(200));
            }
            t += HB;
        }
        // 2 of the 9 settled pings lost (> 20 %), RTT 200 ms: poor.
        assert_eq!(meter.status(t - HB + Duration::from_millis(300), HB), 2);
        assert_eq!(meter.status(t + HB * 3, HB), 0);
    }

    #[test]
    fn stray_pongs_are_ignored() {
        let t0 = Instant::now();
        let mut meter = SignalMeter::new(t0);
        meter.pong(99, t0);
        let n = meter.ping(t0);
        meter.pong(n, t0 + Duration::from_millis(400));
        meter.pong(n, t0 + Duration::from_millis(900));
        assert_eq!(meter.status(t0 + Duration::from_millis(500), HB), 2);
    }
}
