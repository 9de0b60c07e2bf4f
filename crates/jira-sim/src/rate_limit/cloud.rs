//! Jira Cloud's limits for API-token traffic: a burst bucket per account,
//! endpoint and method, and the per-issue write limit (20 writes per 2 s
//! and 100 per 30 s to one issue). The hourly points quota covers apps
//! only ("API token-based traffic is not affected"), so it is not modelled.
//!
//! Source: <https://developer.atlassian.com/cloud/jira/platform/rate-limiting/>.

use super::{RateLimiter, SimRateLimit, Take};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// Jira Cloud's burst and per-issue write limits.
///
/// Deliberately exhaustive, like [`SimRateLimit`]: these are the numbers
/// Atlassian documents, each of which a test may want to lower.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CloudLimits {
    /// GET and POST requests a second per account and endpoint, which is
    /// also the bucket's size (Jira: 100).
    pub burst_read: u32,
    /// PUT and DELETE requests a second per account and endpoint (Jira: 50).
    pub burst_write: u32,
    /// Writes to one issue within `issue_short_window_ms` (Jira: 20).
    pub issue_short: u32,
    /// The short per-issue window, in milliseconds (Jira: 2,000).
    pub issue_short_window_ms: u64,
    /// Writes to one issue within `issue_long_window_ms` (Jira: 100).
    pub issue_long: u32,
    /// The long per-issue window, in milliseconds (Jira: 30,000).
    pub issue_long_window_ms: u64,
    /// Share (0..=1) of 429 answers whose body is Jira's HTML error page
    /// rather than JSON (the body is undocumented and seen both ways).
    pub html_share: f64,
}

impl Default for CloudLimits {
    fn default() -> Self {
        Self {
            burst_read: 100,
            burst_write: 50,
            issue_short: 20,
            issue_short_window_ms: 2_000,
            issue_long: 100,
            issue_long_window_ms: 30_000,
            html_share: 0.5,
        }
    }
}

impl CloudLimits {
    /// Checks every number is at least 1 and the share within 0..=1.
    ///
    /// # Errors
    /// [`crate::SimError::Config`] naming the bad value.
    pub fn validate(&self) -> Result<(), crate::SimError> {
        let bad = |what: &str| Err(crate::SimError::Config(format!("cloud_limits: {what}")));
        if self.burst_read == 0 || self.burst_write == 0 {
            return bad("burst_read and burst_write must be at least 1");
        }
        if self.issue_short == 0 || self.issue_long == 0 {
            return bad("issue_short and issue_long must be at least 1");
        }
        if self.issue_short_window_ms == 0 || self.issue_long_window_ms == 0 {
            return bad("the per-issue windows must be at least 1 ms");
        }
        if !(0.0..=1.0).contains(&self.html_share) {
            return bad("html_share must be within 0..=1");
        }
        Ok(())
    }
}

/// Which limit refused a request, as `RateLimit-Reason` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The burst bucket of an endpoint and method.
    Burst,
    /// The per-issue write limit.
    PerIssue,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Burst => "jira-burst-based",
            Reason::PerIssue => "jira-per-issue-on-write",
        }
    }
}

/// A refusal: which limit, its size and window, and when to come back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Refusal {
    pub reason: Reason,
    pub limit: u32,
    pub window: Duration,
    pub retry_after: Duration,
}

/// What the burst bucket of a granted request has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Granted {
    pub limit: u32,
    pub remaining: u32,
}

/// The state of Cloud's limits.
#[derive(Debug)]
pub(crate) struct CloudLimiter {
    limits: CloudLimits,
    read: RateLimiter,
    write: RateLimiter,
    /// Times of recent writes, by issue id.
    issues: HashMap<String, VecDeque<DateTime<Utc>>>,
}

/// The endpoint of a path, with issue keys, ids and other numbers
/// replaced: `/rest/api/3/issue/SEC-1/comment` → `/rest/api/3/issue/{id}/comment`.
pub(crate) fn endpoint(path: &str) -> String {
    path.split('/')
        .enumerate()
        .map(|(n, seg)| {
            // Keep `/rest/api/3`: the version is part of the endpoint.
            if n > 3 && seg.chars().any(|c| c.is_ascii_digit()) {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn window_of(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

impl CloudLimiter {
    pub fn new(limits: CloudLimits) -> Self {
        let bucket = |n: u32| RateLimiter::new(SimRateLimit::new(n, n));
        Self {
            limits,
            read: bucket(limits.burst_read),
            write: bucket(limits.burst_write),
            issues: HashMap::new(),
        }
    }

    pub fn limits(&self) -> &CloudLimits {
        &self.limits
    }

    /// Takes a token from the burst bucket of `account`'s `method` on
    /// `path`'s endpoint.
    pub fn burst(
        &mut self,
        account: &str,
        method: &str,
        path: &str,
        now: DateTime<Utc>,
    ) -> Result<Granted, Refusal> {
        let (bucket, limit) = match method {
            "PUT" | "DELETE" | "PATCH" => (&mut self.write, self.limits.burst_write),
            _ => (&mut self.read, self.limits.burst_read),
        };
        let key = format!("{account} {method} {}", endpoint(path));
        match bucket.take(&key, now) {
            Take::Allowed { remaining } => Ok(Granted { limit, remaining }),
            Take::Limited { retry_after } => Err(Refusal {
                reason: Reason::Burst,
                limit,
                window: Duration::from_secs(1),
                retry_after,
            }),
        }
    }

    /// Counts a write to issue `id` at `now`, unless one of the two
    /// per-issue windows is full.
    pub fn issue_write(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), Refusal> {
        let l = self.limits;
        let short = window_of(l.issue_short_window_ms);
        let long = window_of(l.issue_long_window_ms);
        let log = self.issues.entry(id.to_string()).or_default();
        let since = |w: Duration| now - chrono::Duration::from_std(w).unwrap_or_default();
        let keep_from = since(short.max(long));
        while log.front().is_some_and(|t| *t <= keep_from) {
            log.pop_front();
        }
        for (limit, window) in [(l.issue_short, short), (l.issue_long, long)] {
            let from = since(window);
            let inside: Vec<&DateTime<Utc>> = log.iter().filter(|t| **t > from).collect();
            if inside.len() >= limit as usize {
                // Free again when the oldest write inside the window leaves it.
                let oldest = *inside[inside.len() - limit as usize];
                let free_at = oldest + chrono::Duration::from_std(window).unwrap_or_default();
                let retry_after = (free_at - now).to_std().unwrap_or(Duration::ZERO);
                return Err(Refusal {
                    reason: Reason::PerIssue,
                    limit,
                    window,
                    retry_after,
                });
            }
        }
        log.push_back(now);
        Ok(())
    }

    pub fn reset(&mut self) {
        self.read.reset();
        self.write.reset();
        self.issues.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    fn ms(n: i64) -> DateTime<Utc> {
        t0() + chrono::Duration::milliseconds(n)
    }

    #[test]
    fn endpoints_ignore_keys_and_ids() {
        assert_eq!(
            endpoint("/rest/api/3/issue/SEC-12/comment/10001"),
            "/rest/api/3/issue/{id}/comment/{id}"
        );
        assert_eq!(endpoint("/rest/api/2/search"), "/rest/api/2/search");
    }

    #[test]
    fn burst_buckets_are_per_endpoint_and_method() {
        let mut l = CloudLimiter::new(CloudLimits {
            burst_read: 2,
            burst_write: 1,
            ..CloudLimits::default()
        });
        let now = t0();
        assert!(l.burst("a", "GET", "/rest/api/3/issue/SEC-1", now).is_ok());
        assert!(l.burst("a", "GET", "/rest/api/3/issue/SEC-2", now).is_ok());
        let r = l
            .burst("a", "GET", "/rest/api/3/issue/SEC-3", now)
            .unwrap_err();
        assert_eq!((r.reason, r.limit), (Reason::Burst, 2));
        assert!(l.burst("a", "GET", "/rest/api/3/myself", now).is_ok());
        assert!(l.burst("b", "GET", "/rest/api/3/issue/SEC-3", now).is_ok());
        assert!(l.burst("a", "PUT", "/rest/api/3/issue/SEC-3", now).is_ok());
        let r = l
            .burst("a", "DELETE", "/rest/api/3/issue/SEC-3", now)
            .is_ok();
        assert!(r, "DELETE has its own bucket");
        assert!(l.burst("a", "PUT", "/rest/api/3/issue/SEC-4", now).is_err());
    }

    #[test]
    fn per_issue_writes_twenty_per_two_seconds_and_a_hundred_per_thirty() {
        let mut l = CloudLimiter::new(CloudLimits::default());
        for n in 0..20 {
            assert!(l.issue_write("10000", ms(n)).is_ok(), "write {n}");
        }
        let r = l.issue_write("10000", ms(100)).unwrap_err();
        assert_eq!(r.reason, Reason::PerIssue);
        assert_eq!((r.limit, r.window), (20, Duration::from_secs(2)));
        // The first write (at 0 ms) leaves the window at 2,000 ms.
        assert_eq!(r.retry_after, Duration::from_millis(1_900));
        assert!(l.issue_write("10001", ms(100)).is_ok(), "another issue");
        // Spread out, the long window binds: 100 writes in 30 s.
        let mut l = CloudLimiter::new(CloudLimits::default());
        for n in 0..100 {
            assert!(l.issue_write("1", ms(n * 250)).is_ok(), "write {n}");
        }
        let r = l.issue_write("1", ms(25_000)).unwrap_err();
        assert_eq!((r.limit, r.window), (100, Duration::from_secs(30)));
        assert_eq!(r.retry_after, Duration::from_secs(5));
        assert!(l.issue_write("1", ms(30_001)).is_ok());
    }
}
