//! Rate limits: an optional per-account token bucket (Data Center's
//! admin-configured limit, or any quota a test wants), and Jira Cloud's
//! burst and per-issue write limits ([`cloud`]).

pub(crate) mod cloud;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

/// A token bucket per account: `burst` requests at once, refilled at
/// `per_second` tokens a second.
///
/// Deliberately exhaustive (a token bucket has exactly these two numbers),
/// so `SimRateLimit { per_second: 10, burst: 20 }` works in other crates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimRateLimit {
    /// Refill rate, tokens per second (at least 1).
    pub per_second: u32,
    /// Bucket size (at least 1).
    pub burst: u32,
}

impl SimRateLimit {
    /// A limit of `per_second` with bursts of `burst`.
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self { per_second, burst }
    }

    /// Checks both numbers are at least 1.
    ///
    /// # Errors
    /// [`crate::SimError::Config`] otherwise.
    pub fn validate(&self) -> Result<(), crate::SimError> {
        if self.per_second == 0 || self.burst == 0 {
            return Err(crate::SimError::Config(
                "rate limit per_second and burst must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// Requests the rate limiters judged on one path (see
/// [`crate::JiraSim::limiter_counts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimiterCount {
    /// Let through.
    pub admitted: u64,
    /// Refused with 429.
    pub refused: u64,
}

impl LimiterCount {
    /// Admitted and refused: what Jira counts against the quota.
    pub fn total(&self) -> u64 {
        self.admitted + self.refused
    }
}

/// The outcome of taking a token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Take {
    /// Allowed; tokens left (rounded down).
    Allowed { remaining: u32 },
    /// Refused; wait this long for one token.
    Limited { retry_after: Duration },
}

#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    last: DateTime<Utc>,
}

/// Buckets by account name.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: SimRateLimit,
    buckets: HashMap<String, Bucket>,
}

impl RateLimiter {
    pub fn new(limit: SimRateLimit) -> Self {
        Self {
            limit,
            buckets: HashMap::new(),
        }
    }

    pub fn limit(&self) -> SimRateLimit {
        self.limit
    }

    /// Takes one token from `account`'s bucket at time `now`.
    pub fn take(&mut self, account: &str, now: DateTime<Utc>) -> Take {
        let burst = f64::from(self.limit.burst);
        let rate = f64::from(self.limit.per_second);
        let b = self.buckets.entry(account.to_string()).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = (now - b.last).to_std().unwrap_or(Duration::ZERO);
        b.tokens = (b.tokens + elapsed.as_secs_f64() * rate).min(burst);
        if now > b.last {
            b.last = now;
        }
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Take::Allowed {
                remaining: b.tokens.floor() as u32,
            }
        } else {
            let wait = (1.0 - b.tokens) / rate;
            Take::Limited {
                retry_after: Duration::from_secs_f64(wait),
            }
        }
    }

    pub fn reset(&mut self) {
        self.buckets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn burst_then_refill() {
        let mut r = RateLimiter::new(SimRateLimit::new(2, 3));
        let now = t0();
        assert_eq!(r.take("a", now), Take::Allowed { remaining: 2 });
        assert_eq!(r.take("a", now), Take::Allowed { remaining: 1 });
        assert_eq!(r.take("a", now), Take::Allowed { remaining: 0 });
        let Take::Limited { retry_after } = r.take("a", now) else {
            panic!("fourth request allowed")
        };
        assert_eq!(retry_after, Duration::from_millis(500));
        // Another account has its own bucket.
        assert!(matches!(r.take("b", now), Take::Allowed { .. }));
        // Half a second later, one token is back.
        let later = now + chrono::Duration::milliseconds(500);
        assert!(matches!(r.take("a", later), Take::Allowed { remaining: 0 }));
        assert!(matches!(r.take("a", later), Take::Limited { .. }));
        // Long idle never overfills.
        let much_later = later + chrono::Duration::seconds(60);
        assert_eq!(r.take("a", much_later), Take::Allowed { remaining: 2 });
    }

    #[test]
    fn clock_going_backwards_adds_nothing() {
        let mut r = RateLimiter::new(SimRateLimit::new(1, 1));
        assert!(matches!(r.take("a", t0()), Take::Allowed { .. }));
        let earlier = t0() - chrono::Duration::seconds(10);
        assert!(matches!(r.take("a", earlier), Take::Limited { .. }));
        r.reset();
        assert!(matches!(r.take("a", earlier), Take::Allowed { .. }));
    }

    #[test]
    fn zero_is_rejected() {
        assert!(SimRateLimit::new(0, 1).validate().is_err());
        assert!(SimRateLimit::new(1, 0).validate().is_err());
    }
}
