//! When and how long to retry: the policy, full-jitter exponential backoff,
//! and the `Retry-After` / `X-RateLimit-Reset` headers.

use crate::Error;
use std::num::NonZeroU32;
use std::time::{Duration, SystemTime};

/// How the client retries transient failures.
///
/// A 429 (or rate-limiting 503) is retried for every method, waiting what
/// Jira asks (`Retry-After`, else `X-RateLimit-Reset`). Other transient
/// failures (5xx, timeout, reset or refused connection) are retried for GET,
/// PUT, DELETE and read-only POSTs (search); a create, comment or transition
/// is retried only when the request certainly did not reach Jira (a refused
/// connection). Without a server-given delay the wait is exponential backoff
/// with full jitter: a random duration in
/// `[0, min(max_backoff, base_backoff * 2^(attempt-1))]`.
///
/// When the next wait would take the total waiting past `max_total_wait`,
/// the client stops and returns the last error (for a rate limit, with the
/// delay Jira asked for in [`Error::retry_after`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: NonZeroU32,
    /// Longest total time spent waiting between attempts of one call.
    pub max_total_wait: Duration,
    /// Backoff before the second attempt (the upper bound of the jitter).
    pub base_backoff: Duration,
    /// Largest backoff between two attempts; also the longest proactive
    /// pause before a request when Jira's headers say the quota is nearly
    /// spent.
    pub max_backoff: Duration,
}

/// Five attempts, at most 60 s of waiting, backoff from 500 ms up to 30 s.
impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: NonZeroU32::MIN.saturating_add(4),
            max_total_wait: Duration::from_secs(60),
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy from its four values (checked by
    /// [`ClientBuilder::build`](crate::ClientBuilder::build)).
    pub fn new(
        max_attempts: NonZeroU32,
        max_total_wait: Duration,
        base_backoff: Duration,
        max_backoff: Duration,
    ) -> Self {
        Self {
            max_attempts,
            max_total_wait,
            base_backoff,
            max_backoff,
        }
    }

    /// One attempt, never a retry.
    pub fn no_retries() -> Self {
        Self {
            max_attempts: NonZeroU32::MIN,
            ..Self::default()
        }
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.base_backoff > self.max_backoff {
            return Err(Error::config(
                "retry policy: base_backoff is larger than max_backoff",
            ));
        }
        Ok(())
    }

    /// The full-jitter backoff after failed attempt number `attempt`
    /// (1-based): `jitter` (in `[0, 1)`, from the [`crate::Clock`]) of the
    /// capped exponential.
    pub(crate) fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(31);
        let ceiling = self
            .base_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        ceiling.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// Parses `Retry-After`: delay seconds (`0` included; a fraction tolerated)
/// or an HTTP date, relative to `now`. A date in the past means no wait.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return value
            .parse::<u64>()
            .ok()
            .map(Duration::from_secs)
            .or(Some(Duration::MAX));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses `X-RateLimit-Reset`: an ISO 8601 timestamp (Cloud), or epoch
/// seconds, into the wall-clock time of the reset.
pub(crate) fn parse_reset(value: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let value = value.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc());
    }
    let secs: i64 = value.parse().ok()?;
    chrono::DateTime::from_timestamp(secs, 0)
}

/// The delay from `now` until `at` (zero when `at` has passed).
pub(crate) fn until(at: chrono::DateTime<chrono::Utc>, now: SystemTime) -> Duration {
    let at: SystemTime = at.into();
    at.duration_since(now).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("0", t0()), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(" 7 ", t0()), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("1.5", t0()),
            Some(Duration::from_millis(1500))
        );
        let date = httpdate::fmt_http_date(t0() + Duration::from_secs(42));
        assert_eq!(
            parse_retry_after(&date, t0()),
            Some(Duration::from_secs(42))
        );
        let past = httpdate::fmt_http_date(t0() - Duration::from_secs(42));
        assert_eq!(parse_retry_after(&past, t0()), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-3", t0()), None);
        assert_eq!(parse_retry_after("soon", t0()), None);
        assert_eq!(parse_retry_after("", t0()), None);
        assert_eq!(
            parse_retry_after("99999999999999999999999", t0()),
            Some(Duration::MAX)
        );
    }

    #[test]
    fn reset_forms() {
        let r = parse_reset("2023-11-14T22:13:40Z").unwrap();
        assert_eq!(until(r, t0()), Duration::from_secs(20));
        let r = parse_reset("2023-11-14T22:13:30.500+00:00").unwrap();
        assert_eq!(until(r, t0()), Duration::from_millis(10_500));
        let r = parse_reset("1700000005").unwrap();
        assert_eq!(until(r, t0()), Duration::from_secs(5));
        assert_eq!(
            until(parse_reset("1600000000").unwrap(), t0()),
            Duration::ZERO
        );
        assert!(parse_reset("tomorrow").is_none());
    }

    #[test]
    fn full_jitter_stays_under_the_capped_exponential() {
        let p = RetryPolicy::new(
            NonZeroU32::new(10).unwrap(),
            Duration::from_secs(600),
            Duration::from_millis(100),
            Duration::from_secs(1),
        );
        let mut rng = StdRng::seed_from_u64(7);
        for attempt in 1..=40 {
            let cap = Duration::from_millis(100)
                .saturating_mul(1 << (attempt - 1).min(31))
                .min(Duration::from_secs(1));
            for _ in 0..50 {
                assert!(p.backoff(attempt, rng.r#gen::<f64>()) <= cap);
            }
        }
        // Jitter really is random: not every draw is the cap or zero.
        let draws: std::collections::BTreeSet<_> =
            (0..20).map(|_| p.backoff(3, rng.r#gen::<f64>())).collect();
        assert!(draws.len() > 10);
        // The draw scales the cap: nothing at 0, half of it at 0.5.
        assert_eq!(p.backoff(2, 0.0), Duration::ZERO);
        assert_eq!(p.backoff(2, 0.5), Duration::from_millis(100));
        assert_eq!(p.backoff(40, 0.5), Duration::from_millis(500));
    }

    #[test]
    fn invalid_policy_is_rejected() {
        let p = RetryPolicy::new(
            NonZeroU32::MIN,
            Duration::ZERO,
            Duration::from_secs(2),
            Duration::from_secs(1),
        );
        assert_eq!(p.validate().unwrap_err().code(), "config");
        assert!(RetryPolicy::default().validate().is_ok());
        assert_eq!(RetryPolicy::default().max_attempts.get(), 5);
    }
}
