//! Login throttling: lock a key after repeated failures, with backoff.
//!
//! Why: DESIGN.md §4 invariant 5 — login failures are rate limited. The
//! server keeps one [`Lockout`] and records each failed login under two keys,
//! the (account, username) pair and the source IP ([`LockKey`]), and refuses
//! a login while either is locked. After [`LockoutConfig::max_failures`]
//! failures within [`LockoutConfig::window`] a key is locked; each further
//! lock doubles the duration up to [`LockoutConfig::max_lock`]. A success
//! resets the key. Memory is bounded: beyond [`LockoutConfig::max_entries`]
//! keys, the least recently touched is forgotten.
//!
//! What it does not do: I/O, clocks (time is passed in), persistence (a
//! caller that keeps a key's [`KeyState`] elsewhere, such as the server for
//! users, applies [`KeyState::after_failure`] itself), or auditing (the
//! caller writes the audit event the [`Decision`] calls for).

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// Tuning of a [`Lockout`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockoutConfig {
    /// Failures within `window` that lock the key.
    pub max_failures: u32,
    /// How far back failures count.
    pub window: Duration,
    /// Length of the first lock; each following lock doubles it.
    pub base_lock: Duration,
    /// Longest lock.
    pub max_lock: Duration,
    /// A key untouched this long starts over (its backoff is forgotten).
    pub forget_after: Duration,
    /// Most keys remembered.
    pub max_entries: usize,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        LockoutConfig {
            max_failures: 5,
            window: Duration::from_secs(15 * 60),
            base_lock: Duration::from_secs(60),
            max_lock: Duration::from_secs(60 * 60),
            forget_after: Duration::from_secs(24 * 60 * 60),
            max_entries: 100_000,
        }
    }
}

/// What a login attempt may do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allowed,
    /// Refuse without checking the password until `until`.
    Locked {
        /// When the lock ends.
        until: SystemTime,
    },
}

/// The usual keys: the user being logged in to, and where the attempt came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LockKey {
    /// An (account, username) pair; build with [`LockKey::user`].
    User {
        /// Account identifier.
        account: String,
        /// Username, lowercased.
        username: String,
    },
    /// A source address.
    Ip(IpAddr),
}

impl LockKey {
    /// The key of `username` in `account`; the username is lowercased so that
    /// case variants share one counter.
    pub fn user(account: &str, username: &str) -> LockKey {
        LockKey::User {
            account: account.to_owned(),
            username: username.trim().to_lowercase(),
        }
    }
}

/// One key's throttling state. Plain data, so a server can keep a user's
/// in the database (shared by replicas, surviving restarts) while source
/// addresses stay in a bounded in-memory [`Lockout`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyState {
    failures: u32,
    window_start: SystemTime,
    last_seen: SystemTime,
    locks: u32,
    locked_until: Option<SystemTime>,
}

impl KeyState {
    /// Whether the key may attempt a login at `now`.
    pub fn check(&self, now: SystemTime) -> Decision {
        match self.locked_until {
            Some(until) if now < until => Decision::Locked { until },
            _ => Decision::Allowed,
        }
    }

    /// The state after a failed login at `now` (starting from `state`, `None`
    /// for a clean key), and whether the key is now locked. Failures while
    /// locked neither count nor extend the lock.
    pub fn after_failure(
        state: Option<KeyState>,
        config: &LockoutConfig,
        now: SystemTime,
    ) -> (KeyState, Decision) {
        let fresh = KeyState {
            failures: 0,
            window_start: now,
            last_seen: now,
            locks: 0,
            locked_until: None,
        };
        let mut state = match state {
            Some(old) => {
                if let Decision::Locked { until } = old.check(now) {
                    return (old, Decision::Locked { until });
                }
                if elapsed(old.last_seen, now) >= config.forget_after {
                    fresh
                } else {
                    old
                }
            }
            None => fresh,
        };
        if elapsed(state.window_start, now) >= config.window {
            state.failures = 0;
            state.window_start = now;
        }
        state.failures = state.failures.saturating_add(1);
        state.last_seen = now;
        let decision = if state.failures >= config.max_failures.max(1) {
            state.locks = state.locks.saturating_add(1);
            state.failures = 0;
            state.window_start = now;
            let length = lock_length(config, state.locks);
            // A clock near SystemTime's end must not panic: lock for a day.
            let until = now
                .checked_add(length)
                .or_else(|| now.checked_add(Duration::from_secs(24 * 60 * 60)))
                .unwrap_or(now);
            state.locked_until = Some(until);
            Decision::Locked { until }
        } else {
            Decision::Allowed
        };
        (state, decision)
    }
}

#[derive(Debug, Clone)]
struct Entry {
    state: KeyState,
    seq: u64,
}

/// The throttling state for many keys.
#[derive(Debug)]
pub struct Lockout<K = LockKey> {
    config: LockoutConfig,
    entries: HashMap<K, Entry>,
    /// Touch order: sequence number → key, oldest first.
    order: BTreeMap<u64, K>,
    next_seq: u64,
}

impl<K: Hash + Eq + Clone> Lockout<K> {
    /// An empty state.
    pub fn new(config: LockoutConfig) -> Self {
        Lockout {
            config,
            entries: HashMap::new(),
            order: BTreeMap::new(),
            next_seq: 0,
        }
    }

    /// The tuning this state applies.
    pub fn config(&self) -> &LockoutConfig {
        &self.config
    }

    /// Keys currently remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `key` may attempt a login at `now`.
    pub fn check(&self, key: &K, now: SystemTime) -> Decision {
        self.entries
            .get(key)
            .map_or(Decision::Allowed, |e| e.state.check(now))
    }

    /// Records a failed login for `key` at `now`; returns whether the key is
    /// now locked. Failures while locked neither count nor extend the lock.
    pub fn record_failure(&mut self, key: K, now: SystemTime) -> Decision {
        let config = self.config.clone();
        self.record_failure_with(key, &config, now)
    }

    /// [`Lockout::record_failure`] under another tuning than this state's
    /// own (keys of several kinds share one bounded map).
    pub fn record_failure_with(
        &mut self,
        key: K,
        config: &LockoutConfig,
        now: SystemTime,
    ) -> Decision {
        let old = self.entries.remove(&key).map(|old| {
            self.order.remove(&old.seq);
            old.state
        });
        let (state, decision) = KeyState::after_failure(old, config, now);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.insert(key, Entry { state, seq });
        decision
    }

    /// Records a successful login: forgets `key`'s failures and backoff.
    pub fn record_success(&mut self, key: &K) {
        if let Some(old) = self.entries.remove(key) {
            self.order.remove(&old.seq);
        }
    }

    fn insert(&mut self, key: K, entry: Entry) {
        while self.entries.len() >= self.config.max_entries.max(1) {
            match self.order.pop_first() {
                Some((_, oldest)) => {
                    self.entries.remove(&oldest);
                }
                None => break,
            }
        }
        self.order.insert(entry.seq, key.clone());
        self.entries.insert(key, entry);
    }
}

/// Time from `earlier` to `now`; zero when the clock went backwards.
fn elapsed(earlier: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(earlier).unwrap_or_default()
}

/// `base_lock × 2^(locks − 1)`, capped at `max_lock`.
fn lock_length(config: &LockoutConfig, locks: u32) -> Duration {
    let factor = 1u32
        .checked_shl(locks.saturating_sub(1))
        .unwrap_or(u32::MAX);
    config
        .base_lock
        .checked_mul(factor)
        .unwrap_or(config.max_lock)
        .min(config.max_lock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    fn lockout() -> Lockout {
        Lockout::new(LockoutConfig::default())
    }

    fn fail_n(l: &mut Lockout, key: &LockKey, n: u32, at: SystemTime) -> Decision {
        let mut d = Decision::Allowed;
        for _ in 0..n {
            d = l.record_failure(key.clone(), at);
        }
        d
    }

    #[test]
    fn fifth_failure_locks_for_the_base_duration() {
        let mut l = lockout();
        let k = LockKey::user("default", "alice");
        assert_eq!(fail_n(&mut l, &k, 4, t(0)), Decision::Allowed);
        assert_eq!(l.check(&k, t(0)), Decision::Allowed);
        let until = t(60);
        assert_eq!(
            l.record_failure(k.clone(), t(0)),
            Decision::Locked { until }
        );
        assert_eq!(l.check(&k, t(59)), Decision::Locked { until });
        assert_eq!(l.check(&k, t(60)), Decision::Allowed);
    }

    #[test]
    fn failures_while_locked_do_not_extend_the_lock() {
        let mut l = lockout();
        let k = LockKey::Ip("192.0.2.1".parse().unwrap());
        fail_n(&mut l, &k, 5, t(0));
        for s in 1..30 {
            assert_eq!(
                l.record_failure(k.clone(), t(s)),
                Decision::Locked { until: t(60) }
            );
        }
        assert_eq!(l.check(&k, t(60)), Decision::Allowed);
    }

    #[test]
    fn lock_length_doubles_up_to_the_cap() {
        let mut l = lockout();
        let k = LockKey::user("default", "bob");
        let mut now = 0;
        let mut lengths = Vec::new();
        for _ in 0..9 {
            match fail_n(&mut l, &k, 5, t(now)) {
                Decision::Locked { until } => {
                    let len = until.duration_since(t(now)).unwrap().as_secs();
                    lengths.push(len);
                    now += len;
                }
                Decision::Allowed => panic!("not locked"),
            }
        }
        assert_eq!(lengths, [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    }

    #[test]
    fn success_resets_failures_and_backoff() {
        let mut l = lockout();
        let k = LockKey::user("default", "carol");
        fail_n(&mut l, &k, 5, t(0));
        l.record_success(&k);
        assert_eq!(l.check(&k, t(1)), Decision::Allowed);
        assert!(l.is_empty());
        assert_eq!(fail_n(&mut l, &k, 4, t(1)), Decision::Allowed);
        assert_eq!(l.record_failure(k, t(1)), Decision::Locked { until: t(61) });
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let mut l = lockout();
        let k = LockKey::user("default", "dave");
        fail_n(&mut l, &k, 4, t(0));
        // The window (15 min) has passed: the count starts over.
        assert_eq!(fail_n(&mut l, &k, 4, t(900)), Decision::Allowed);
        assert!(matches!(
            l.record_failure(k, t(901)),
            Decision::Locked { .. }
        ));
    }

    #[test]
    fn backoff_is_forgotten_after_a_quiet_day() {
        let mut l = lockout();
        let k = LockKey::user("default", "erin");
        fail_n(&mut l, &k, 5, t(0));
        fail_n(&mut l, &k, 5, t(60)); // second lock: 120 s
        let day = 24 * 3600 + 200;
        assert_eq!(
            fail_n(&mut l, &k, 5, t(day)),
            Decision::Locked { until: t(day + 60) }
        );
    }

    #[test]
    fn keys_are_independent_and_usernames_case_insensitive() {
        let mut l = lockout();
        let a = LockKey::user("default", "Frank");
        fail_n(&mut l, &a, 5, t(0));
        assert!(matches!(
            l.check(&LockKey::user("default", " frank "), t(1)),
            Decision::Locked { .. }
        ));
        assert_eq!(
            l.check(&LockKey::user("other", "frank"), t(1)),
            Decision::Allowed
        );
        assert_eq!(
            l.check(&LockKey::Ip("::1".parse().unwrap()), t(1)),
            Decision::Allowed
        );
    }

    #[test]
    fn memory_is_bounded_by_evicting_the_least_recently_touched() {
        let mut l: Lockout<u32> = Lockout::new(LockoutConfig {
            max_entries: 3,
            ..LockoutConfig::default()
        });
        for k in 0..3 {
            l.record_failure(k, t(0));
        }
        l.record_failure(0, t(1)); // 0 is now the most recent
        l.record_failure(3, t(2)); // evicts 1
        assert_eq!(l.len(), 3);
        for _ in 0..4 {
            l.record_failure(1, t(3));
        }
        // 1 started over (4 failures, not 5): still allowed.
        assert_eq!(l.check(&1, t(3)), Decision::Allowed);
        for k in 0..10_000 {
            l.record_failure(k, t(4));
        }
        assert_eq!(l.len(), 3);
    }

    #[test]
    fn clock_going_backwards_does_not_panic() {
        let mut l = lockout();
        let k = LockKey::user("default", "gina");
        l.record_failure(k.clone(), t(100));
        assert_eq!(l.record_failure(k.clone(), t(0)), Decision::Allowed);
        assert_eq!(l.check(&k, UNIX_EPOCH), Decision::Allowed);
    }

    #[test]
    fn key_state_round_trips_through_json_and_keeps_locking() {
        let config = LockoutConfig::default();
        let mut state = None;
        for _ in 0..4 {
            let (next, decision) = KeyState::after_failure(state, &config, t(0));
            assert_eq!(decision, Decision::Allowed);
            let json = serde_json::to_string(&next).unwrap();
            state = Some(serde_json::from_str(&json).unwrap());
        }
        let (locked, decision) = KeyState::after_failure(state, &config, t(1));
        assert_eq!(decision, Decision::Locked { until: t(61) });
        assert_eq!(locked.check(t(60)), Decision::Locked { until: t(61) });
        assert_eq!(locked.check(t(61)), Decision::Allowed);
    }

    #[test]
    fn degenerate_config_still_locks() {
        let mut l: Lockout<u8> = Lockout::new(LockoutConfig {
            max_failures: 0,
            max_entries: 0,
            base_lock: Duration::MAX,
            ..LockoutConfig::default()
        });
        assert_eq!(
            l.record_failure(1, t(0)),
            Decision::Locked { until: t(3600) }
        );
        assert_eq!(l.len(), 1);
    }
}
