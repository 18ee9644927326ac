//! Login throttling against password guessing, per source address and per account
//! (docs/SECURITY.md "Brute force"). No I/O and no clock of its own: the caller passes `now`.
//!
//! Each key (an address, an account) counts failed logins; the count leaks away one per
//! [`Policy::forgive`]. Below [`Policy::free`] failures a login goes at once. Beyond, logins
//! of that key are spaced: each one takes the next slot, `delay(failures)` after the previous
//! slot, whether its password is right or wrong (a quick answer to a right guess would tell an
//! attacker to stop waiting for the slow wrong ones). Parallel connections do not help: they
//! queue for the same slots. A login whose slot is further away than the login deadline is
//! refused at once (`MuchVisitedErr`) without its password being tried.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use tokio::time::Instant;

/// The figures; `docs/SECURITY.md` states what they cost an attacker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Failures a key may have before its logins are spaced (typos are free).
    pub free: u32,
    /// Spacing after `free` failures; doubles with each further failure.
    pub base: Duration,
    /// Largest spacing.
    pub max: Duration,
    /// One failure is forgotten per this much time.
    pub forgive: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            free: 5,
            base: Duration::from_millis(25),
            max: Duration::from_millis(100),
            forgive: Duration::from_secs(60),
        }
    }
}

impl Policy {
    /// Spacing between logins of a key with `failures` failures.
    pub fn delay(&self, failures: u32) -> Duration {
        if failures < self.free {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free).min(20);
        self.base.saturating_mul(1 << doublings).min(self.max)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Address(IpAddr),
    Account(u64),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    /// When the failure count was last brought up to date.
    counted: Instant,
    /// The last slot handed out.
    last_slot: Instant,
}

/// The state of every key with failures.
pub struct LoginThrottle {
    policy: Policy,
    keys: HashMap<Key, Entry>,
}

/// When a login may go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Check the credentials at this instant (now, or later).
    At(Instant),
    /// Too many logins queued for this key: refuse without checking.
    Refused,
}

/// At most this many keys are remembered; the oldest go first (an attacker spraying
/// addresses must not grow memory without bound).
const MAX_KEYS: usize = 100_000;

impl LoginThrottle {
    pub fn new(policy: Policy) -> Self {
        LoginThrottle {
            policy,
            keys: HashMap::new(),
        }
    }

    /// A login from `address` as `username` arrives at `now`; it must be answered before
    /// `deadline`.
    pub fn admit(
        &mut self,
        address: IpAddr,
        username: &str,
        now: Instant,
        deadline: Instant,
    ) -> Admission {
        let keys = [Key::Address(address), Key::Account(account_key(username))];
        let mut slot = now;
        for key in keys {
            if let Some(entry) = self.entry(key, now) {
                let delay = self.policy.delay(entry.failures);
                if delay > Duration::ZERO {
                    slot = slot.max(entry.last_slot + delay);
                }
            }
        }
        if slot >= deadline {
            return Admission::Refused;
        }
        for key in keys {
            if let Some(entry) = self.keys.get_mut(&key) {
                entry.last_slot = entry.last_slot.max(slot);
            }
        }
        Admission::At(slot)
    }

    /// The login failed (at `now`).
    pub fn failed(&mut self, address: IpAddr, username: &str, now: Instant) {
        if self.keys.len() >= MAX_KEYS {
            self.forget_oldest();
        }
        for key in [Key::Address(address), Key::Account(account_key(username))] {
            let policy = self.policy;
            let entry = self.keys.entry(key).or_insert(Entry {
                failures: 0,
                counted: now,
                last_slot: now,
            });
            leak(entry, policy, now);
            entry.failures = entry.failures.saturating_add(1);
        }
    }

    /// The login succeeded: the account's count is cleared (the address's is not: one good
    /// login behind a school's NAT must not reset an attacker sharing it).
    pub fn succeeded(&mut self, username: &str) {
        self.keys.remove(&Key::Account(account_key(username)));
    }

    /// The entry of `key` brought up to date, dropped when fully forgiven.
    fn entry(&mut self, key: Key, now: Instant) -> Option<Entry> {
        let policy = self.policy;
        let entry = self.keys.get_mut(&key)?;
        leak(entry, policy, now);
        if entry.failures == 0 && entry.last_slot <= now {
            self.keys.remove(&key);
            return None;
        }
        Some(*entry)
    }

    fn forget_oldest(&mut self) {
        let mut counted: Vec<(Instant, Key)> =
            self.keys.iter().map(|(k, e)| (e.counted, *k)).collect();
        counted.sort_unstable_by_key(|&(at, _)| at);
        for (_, key) in counted.into_iter().take(MAX_KEYS / 10) {
            self.keys.remove(&key);
        }
    }
}

/// Forgives the failures due since the entry was last counted.
fn leak(entry: &mut Entry, policy: Policy, now: Instant) {
    let elapsed = now.saturating_duration_since(entry.counted);
    let forgiven = (elapsed.as_nanos() / policy.forgive.as_nanos().max(1)) as u64;
    if forgiven > 0 {
        entry.failures = entry
            .failures
            .saturating_sub(u32::try_from(forgiven).unwrap_or(u32::MAX));
        entry.counted += policy.forgive * u32::try_from(forgiven).unwrap_or(u32::MAX).min(1 << 20);
        if entry.failures == 0 {
            entry.counted = now;
        }
    }
}

/// Accounts are keyed by a hash of the name, so names that are not accounts cost a fixed 8
/// bytes each.
fn account_key(username: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(username)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    fn at(throttle: &mut LoginThrottle, addr: IpAddr, user: &str, now: Instant) -> Duration {
        match throttle.admit(addr, user, now, now + Duration::from_secs(10)) {
            Admission::At(slot) => slot - now,
            Admission::Refused => Duration::MAX,
        }
    }

    #[test]
    fn the_delay_grows_to_its_cap() {
        let policy = Policy::default();
        assert_eq!(policy.delay(0), Duration::ZERO);
        assert_eq!(policy.delay(4), Duration::ZERO);
        assert_eq!(policy.delay(5), Duration::from_millis(25));
        assert_eq!(policy.delay(6), Duration::from_millis(50));
        assert_eq!(policy.delay(7), Duration::from_millis(100));
        assert_eq!(policy.delay(1000), Duration::from_millis(100));
        assert_eq!(policy.delay(u32::MAX), Duration::from_millis(100));
    }

    #[test]
    fn failures_space_the_logins_of_an_address_and_of_an_account() {
        let mut throttle = LoginThrottle::new(Policy::default());
        let start = Instant::now();
        let mut now = start;
        // Sequential guesses, each answered at its slot: the first 5 go at once.
        let mut waited = Duration::ZERO;
        for guess in 0..1000 {
            let wait = at(&mut throttle, ADDR, "teacher", now);
            if guess < 5 {
                assert_eq!(wait, Duration::ZERO, "guess {guess}");
            }
            now += wait;
            waited += wait;
            throttle.failed(ADDR, "teacher", now);
        }
        // 25 + 50 + 100 × 993 ms: the documented ≥ 99 s for 1,000 guesses.
        assert_eq!(waited, Duration::from_millis(25 + 50 + 100 * 993));
        // Another address is still spaced for the same account, another account from this
        // address too; an unrelated pair is not.
        assert_eq!(
            at(&mut throttle, OTHER, "teacher", now),
            Duration::from_millis(100)
        );
        assert_eq!(
            at(&mut throttle, ADDR, "class1", now),
            Duration::from_millis(100)
        );
        assert_eq!(at(&mut throttle, OTHER, "class1", now), Duration::ZERO);
    }

    #[test]
    fn parallel_logins_queue_for_slots_and_are_refused_past_the_deadline() {
        let mut throttle = LoginThrottle::new(Policy::default());
        let now = Instant::now();
        for _ in 0..10 {
            throttle.failed(ADDR, "x", now);
        }
        let deadline = now + Duration::from_secs(1);
        let slots: Vec<Admission> = (0..12)
            .map(|_| throttle.admit(ADDR, "x", now, deadline))
            .collect();
        // Slots 100 ms apart from the last one handed out (now): 100, 200, ... 900 ms, then
        // refusals.
        for (i, admission) in slots.iter().enumerate() {
            if i < 9 {
                assert_eq!(
                    *admission,
                    Admission::At(now + Duration::from_millis(100 * (i as u64 + 1)))
                );
            } else {
                assert_eq!(*admission, Admission::Refused, "login {i}");
            }
        }
    }

    #[test]
    fn failures_are_forgiven_over_time_and_a_success_clears_the_account() {
        let mut throttle = LoginThrottle::new(Policy::default());
        let mut now = Instant::now();
        for _ in 0..6 {
            throttle.failed(ADDR, "x", now);
        }
        assert_eq!(
            at(&mut throttle, OTHER, "x", now),
            Duration::from_millis(50)
        );
        now += Duration::from_secs(61);
        // Five left: still spaced by 25 ms from the last slot (in the past), i.e. not at all.
        assert_eq!(at(&mut throttle, OTHER, "x", now), Duration::ZERO);
        throttle.succeeded("x");
        assert_eq!(at(&mut throttle, OTHER, "x", now), Duration::ZERO);
        // The address keeps its count.
        assert!(throttle.keys.contains_key(&Key::Address(ADDR)));
        now += Duration::from_secs(600);
        assert_eq!(at(&mut throttle, ADDR, "y", now), Duration::ZERO);
        assert!(throttle.keys.is_empty(), "fully forgiven keys are dropped");
    }
}
