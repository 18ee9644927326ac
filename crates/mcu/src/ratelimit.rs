//! Token buckets for per-user message rates.

use std::time::Instant;

#[derive(Clone, Debug)]
pub struct TokenBucket {
    tokens: f64,
    burst: f64,
    per_sec: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens refilled at `per_sec`.
    pub fn new(burst: f64, per_sec: f64, now: Instant) -> Self {
        TokenBucket {
            tokens: burst,
            burst,
            per_sec,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        self.last = self.last.max(now);
    }

    /// Would `cost` tokens be available now?
    pub fn can_take(&mut self, now: Instant, cost: f64) -> bool {
        self.refill(now);
        self.tokens >= cost
    }

    /// Takes `cost` tokens if available.
    pub fn try_take(&mut self, now: Instant, cost: f64) -> bool {
        if self.can_take(now, cost) {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn refills_at_the_rate_up_to_the_burst() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(2.0, 1.0, t0);
        assert!(bucket.try_take(t0, 1.0));
        assert!(bucket.try_take(t0, 1.0));
        assert!(!bucket.try_take(t0, 1.0));
        assert!(bucket.try_take(t0 + Duration::from_secs(1), 1.0));
        assert!(!bucket.can_take(t0 + Duration::from_secs(1), 1.0));
        assert!(bucket.can_take(t0 + Duration::from_secs(100), 2.0));
        assert!(!bucket.can_take(t0 + Duration::from_secs(100), 3.0));
    }
}
