//! Staying under Jira's rate limits: the local quota (governor), the
//! rate-limit headers Jira sends, and the proactive slow-down they call for.

use crate::retry::{parse_reset, parse_retry_after, until};
use reqwest::header::HeaderMap;
use std::num::NonZeroU32;
use std::time::{Duration, SystemTime};

/// A local request quota, shared by every clone of a client: at most
/// `per_second` requests a second on average, with bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: NonZeroU32,
    /// Requests that may go out back to back.
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// The default quota: 10 requests a second, bursts of 10. Jira Cloud
    /// does not publish a fixed request rate (its limits are cost based);
    /// 10/s keeps one integration well inside what a site tolerates, and a
    /// Data Center default token bucket refills at a comparable rate.
    pub const DEFAULT: RateLimit = RateLimit {
        per_second: NonZeroU32::MIN.saturating_add(9),
        burst: NonZeroU32::MIN.saturating_add(9),
    };

    /// A quota of `per_second` requests a second with bursts of `burst`.
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        Self { per_second, burst }
    }

    pub(crate) fn quota(self) -> governor::Quota {
        governor::Quota::per_second(self.per_second).allow_burst(self.burst)
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The rate-limit headers of the last Jira answer that carried any.
///
/// Cloud sends `X-RateLimit-Limit`, `-Remaining`, `-Reset` (ISO 8601),
/// `-NearLimit` and `RateLimit-Reason`; Data Center (token bucket) sends
/// `X-RateLimit-Limit`, `-Remaining`, `-Interval-Seconds` and `-FillRate`.
/// Both send `Retry-After` with a 429.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RateLimitStatus {
    /// `X-RateLimit-Limit`.
    pub limit: Option<u64>,
    /// `X-RateLimit-Remaining`.
    pub remaining: Option<u64>,
    /// `X-RateLimit-Reset`.
    pub reset: Option<chrono::DateTime<chrono::Utc>>,
    /// `X-RateLimit-NearLimit`.
    pub near_limit: Option<bool>,
    /// `RateLimit-Reason`.
    pub reason: Option<String>,
    /// `X-RateLimit-Interval-Seconds` (Data Center).
    pub interval_seconds: Option<u64>,
    /// `X-RateLimit-FillRate`: tokens added each interval (Data Center).
    pub fill_rate: Option<u64>,
    /// `Retry-After` (else `Beta-Retry-After`), as a delay from when the
    /// answer was read.
    pub retry_after: Option<Duration>,
    /// Cloud's points-based quota (`Beta-RateLimit-Policy` /
    /// `Beta-RateLimit`, or the same headers without `Beta-` once Atlassian
    /// enforces them): the tightest policy with a window of a minute or
    /// more (an hourly tenant or app quota; the one-second burst policy is
    /// read from `X-RateLimit-*`).
    pub quota: Option<PointsQuota>,
}

/// One policy of Cloud's points-based rate limits: `"name";q=65000;w=3600`
/// (`*-RateLimit-Policy`) and `"name";r=1200;t=600` (`*-RateLimit`, where
/// `r` is only sent near the limit).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PointsQuota {
    /// The policy's name, e.g. `global-app-quota` or
    /// `jira-quota-tenant-based`.
    pub policy: String,
    /// `q`: points in a window.
    pub limit: Option<u64>,
    /// `w`: the window.
    pub window: Option<Duration>,
    /// `r`: points left (only near the limit).
    pub remaining: Option<u64>,
    /// `t`: time until the window resets.
    pub reset: Option<Duration>,
}

/// Windows shorter than this are burst limits, not a points quota.
const QUOTA_WINDOW: Duration = Duration::from_secs(60);

impl PointsQuota {
    /// Whether at most a fifth of the quota is left.
    pub fn is_near_limit(&self) -> bool {
        match (self.remaining, self.limit) {
            (Some(r), Some(q)) => r.saturating_mul(5) <= q,
            (Some(0), None) => true,
            _ => false,
        }
    }

    /// The pause that spreads the remaining points over the time to the
    /// reset, near the limit.
    fn pace(&self) -> Option<Duration> {
        if !self.is_near_limit() {
            return None;
        }
        let t = self.reset?;
        let r = self.remaining.unwrap_or(0).max(1);
        Some(t / u32::try_from(r).unwrap_or(u32::MAX))
    }
}

/// Parses the structured `Policy` and `RateLimit` headers (either prefix)
/// into the tightest points quota.
fn points_quota(headers: &HeaderMap) -> Option<PointsQuota> {
    let mut by_name: Vec<PointsQuota> = Vec::new();
    let items = |name: &str| -> Vec<(String, Vec<(String, u64)>)> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|item| {
                let mut parts = item.split(';');
                let policy = parts.next()?.trim().trim_matches('"').to_string();
                if policy.is_empty() {
                    return None;
                }
                let params = parts
                    .filter_map(|p| {
                        let (k, v) = p.split_once('=')?;
                        Some((k.trim().to_ascii_lowercase(), v.trim().parse().ok()?))
                    })
                    .collect();
                Some((policy, params))
            })
            .collect()
    };
    for header_name in ["beta-ratelimit-policy", "ratelimit-policy"] {
        for (policy, params) in items(header_name) {
            let mut q = PointsQuota {
                policy,
                ..PointsQuota::default()
            };
            for (k, v) in params {
                match k.as_str() {
                    "q" => q.limit = Some(v),
                    "w" => q.window = Some(Duration::from_secs(v)),
                    _ => {}
                }
            }
            by_name.push(q);
        }
    }
    for header_name in ["beta-ratelimit", "ratelimit"] {
        for (policy, params) in items(header_name) {
            let idx = match by_name.iter().position(|q| q.policy == policy) {
                Some(i) => i,
                None => {
                    by_name.push(PointsQuota {
                        policy,
                        ..PointsQuota::default()
                    });
                    by_name.len() - 1
                }
            };
            for (k, v) in params {
                match k.as_str() {
                    "r" => by_name[idx].remaining = Some(v),
                    "t" => by_name[idx].reset = Some(Duration::from_secs(v)),
                    _ => {}
                }
            }
        }
    }
    by_name
        .into_iter()
        .filter(|q| q.window.is_none_or(|w| w >= QUOTA_WINDOW))
        // A policy without a window is a quota only when its reset is far.
        .filter(|q| q.window.is_some() || q.reset.is_some_and(|t| t >= QUOTA_WINDOW))
        .min_by_key(|q| match (q.remaining, q.limit) {
            (Some(r), Some(l)) if l > 0 => (r.saturating_mul(1000) / l, 0),
            (Some(_), _) => (0, 0),
            _ => (u64::MAX, 1),
        })
}

/// The pause before the next request when Jira says nothing more precise
/// than "near the limit".
pub const NEAR_LIMIT_PAUSE: Duration = Duration::from_secs(1);

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

fn number(headers: &HeaderMap, name: &str) -> Option<u64> {
    header(headers, name)?.parse().ok()
}

impl RateLimitStatus {
    /// Reads the headers; `None` when the answer carried none of them.
    pub(crate) fn from_headers(headers: &HeaderMap, now: SystemTime) -> Option<Self> {
        let s = Self {
            limit: number(headers, "x-ratelimit-limit"),
            remaining: number(headers, "x-ratelimit-remaining"),
            reset: header(headers, "x-ratelimit-reset").and_then(parse_reset),
            near_limit: header(headers, "x-ratelimit-nearlimit")
                .map(|v| v.eq_ignore_ascii_case("true")),
            reason: header(headers, "ratelimit-reason").map(str::to_string),
            interval_seconds: number(headers, "x-ratelimit-interval-seconds"),
            fill_rate: number(headers, "x-ratelimit-fillrate"),
            retry_after: header(headers, "retry-after")
                .or_else(|| header(headers, "beta-retry-after"))
                .and_then(|v| parse_retry_after(v, now)),
            quota: points_quota(headers),
        };
        (s != Self::default()).then_some(s)
    }

    /// Whether Jira says the quota is nearly spent: `NearLimit: true`, or
    /// at most a fifth of the limit remaining.
    pub fn is_near_limit(&self) -> bool {
        if self.near_limit == Some(true)
            || self.quota.as_ref().is_some_and(PointsQuota::is_near_limit)
        {
            return true;
        }
        match (self.limit, self.remaining) {
            (Some(limit), Some(remaining)) => remaining.saturating_mul(5) <= limit,
            (None, Some(0)) => true,
            _ => false,
        }
    }

    /// How long to hold the next request so the remaining quota lasts:
    /// near the limit, Data Center's refill period per token
    /// (`Interval-Seconds / FillRate`), else Cloud's time to the reset
    /// shared by the remaining requests, else [`NEAR_LIMIT_PAUSE`].
    /// `None` when not near the limit. The client caps the pause at
    /// [`RetryPolicy::max_backoff`](crate::RetryPolicy::max_backoff).
    pub fn pacing_delay(&self, now: SystemTime) -> Option<Duration> {
        self.pacing_delay_or(now, NEAR_LIMIT_PAUSE)
    }

    /// Like [`RateLimitStatus::pacing_delay`], with `fallback` instead of
    /// [`NEAR_LIMIT_PAUSE`] when Jira gives nothing to compute a pace from.
    /// A client with its own quota passes one token interval of that quota:
    /// it already paces itself, so a whole second's hold would only waste
    /// the quota Jira still grants.
    pub fn pacing_delay_or(&self, now: SystemTime, fallback: Duration) -> Option<Duration> {
        if !self.is_near_limit() {
            return None;
        }
        // Cloud's points quota: spread what is left of the hour.
        if let Some(pace) = self.quota.as_ref().and_then(PointsQuota::pace) {
            return Some(pace);
        }
        if let (Some(interval), Some(fill)) = (self.interval_seconds, self.fill_rate)
            && fill > 0
        {
            let fill = u32::try_from(fill).unwrap_or(u32::MAX);
            return Some(Duration::from_secs(interval) / fill);
        }
        if let Some(reset) = self.reset {
            let left = until(reset, now);
            let remaining = self.remaining.unwrap_or(0).max(1);
            return Some(left / u32::try_from(remaining).unwrap_or(u32::MAX));
        }
        Some(fallback)
    }

    /// The delay a refused request should wait: `Retry-After`, else the
    /// time to `X-RateLimit-Reset`.
    pub(crate) fn refusal_delay(&self, now: SystemTime) -> Option<Duration> {
        self.retry_after
            .or_else(|| self.reset.map(|r| until(r, now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    #[test]
    fn no_headers_no_status() {
        assert!(RateLimitStatus::from_headers(&HeaderMap::new(), t0()).is_none());
        assert!(RateLimitStatus::from_headers(&headers(&[("content-type", "x")]), t0()).is_none());
    }

    #[test]
    fn cloud_headers_pace_until_reset() {
        let s = RateLimitStatus::from_headers(
            &headers(&[
                ("X-RateLimit-Limit", "100"),
                ("X-RateLimit-Remaining", "4"),
                ("X-RateLimit-Reset", "2023-11-14T22:13:40Z"),
                ("X-RateLimit-NearLimit", "true"),
                ("RateLimit-Reason", "jira-quota-tenant-based"),
            ]),
            t0(),
        )
        .unwrap();
        assert_eq!(s.limit, Some(100));
        assert_eq!(s.reason.as_deref(), Some("jira-quota-tenant-based"));
        assert!(s.is_near_limit());
        assert_eq!(s.pacing_delay(t0()), Some(Duration::from_secs(5)));
        assert_eq!(s.refusal_delay(t0()), Some(Duration::from_secs(20)));
    }

    #[test]
    fn data_center_headers_pace_at_fill_rate() {
        let near = RateLimitStatus::from_headers(
            &headers(&[
                ("X-RateLimit-Limit", "100"),
                ("X-RateLimit-Remaining", "3"),
                ("X-RateLimit-Interval-Seconds", "60"),
                ("X-RateLimit-FillRate", "10"),
            ]),
            t0(),
        )
        .unwrap();
        assert_eq!(near.pacing_delay(t0()), Some(Duration::from_secs(6)));
        let far = RateLimitStatus {
            remaining: Some(90),
            ..near
        };
        assert_eq!(far.pacing_delay(t0()), None);
    }

    #[test]
    fn near_limit_alone_pauses_one_token_of_a_local_quota() {
        let s = RateLimitStatus {
            near_limit: Some(true),
            ..RateLimitStatus::default()
        };
        assert_eq!(
            s.pacing_delay_or(t0(), Duration::from_millis(20)),
            Some(Duration::from_millis(20))
        );
        let calm = RateLimitStatus {
            near_limit: Some(false),
            ..RateLimitStatus::default()
        };
        assert_eq!(calm.pacing_delay_or(t0(), Duration::from_millis(20)), None);
    }

    #[test]
    fn near_limit_alone_pauses_a_little() {
        let s = RateLimitStatus::from_headers(&headers(&[("X-RateLimit-NearLimit", "TRUE")]), t0())
            .unwrap();
        assert_eq!(s.pacing_delay(t0()), Some(NEAR_LIMIT_PAUSE));
        let s =
            RateLimitStatus::from_headers(&headers(&[("X-RateLimit-NearLimit", "false")]), t0())
                .unwrap();
        assert_eq!(s.pacing_delay(t0()), None);
    }

    #[test]
    fn points_quota_headers_pace_over_the_hour() {
        let s = RateLimitStatus::from_headers(
            &headers(&[
                ("RateLimit-Reason", "jira-quota-tenant-based"),
                (
                    "Beta-RateLimit-Policy",
                    "\"jira-burst-based\";q=100;w=1, \"global-app-quota\";q=65000;w=3600",
                ),
                ("Beta-RateLimit", "\"global-app-quota\";r=600;t=1200"),
            ]),
            t0(),
        )
        .unwrap();
        let q = s.quota.clone().unwrap();
        assert_eq!(q.policy, "global-app-quota");
        assert_eq!((q.limit, q.remaining), (Some(65000), Some(600)));
        assert_eq!(q.window, Some(Duration::from_secs(3600)));
        assert!(s.is_near_limit());
        // 1200 s left for 600 points: one request every 2 s.
        assert_eq!(s.pacing_delay(t0()), Some(Duration::from_secs(2)));
        // Far from the limit `r` is absent: no pause.
        let far = RateLimitStatus::from_headers(
            &headers(&[(
                "Beta-RateLimit-Policy",
                "\"global-app-quota\";q=65000;w=3600",
            )]),
            t0(),
        )
        .unwrap();
        assert!(!far.is_near_limit());
        assert_eq!(far.pacing_delay(t0()), None);
        // The burst policy alone is not a points quota.
        let burst = RateLimitStatus::from_headers(
            &headers(&[
                ("X-RateLimit-Limit", "100"),
                ("Beta-RateLimit-Policy", "\"jira-burst-based\";q=100;w=1"),
                ("Beta-RateLimit", "\"jira-burst-based\";r=3;t=1"),
            ]),
            t0(),
        )
        .unwrap();
        assert!(burst.quota.is_none());
        // Enforced headers drop the prefix; Beta-Retry-After is read too.
        let enforced = RateLimitStatus::from_headers(
            &headers(&[
                ("RateLimit-Policy", "\"global-app-quota\";q=1000;w=3600"),
                ("RateLimit", "\"global-app-quota\";r=0;t=30"),
                ("Beta-Retry-After", "30"),
            ]),
            t0(),
        )
        .unwrap();
        assert_eq!(enforced.refusal_delay(t0()), Some(Duration::from_secs(30)));
        assert_eq!(enforced.pacing_delay(t0()), Some(Duration::from_secs(30)));
    }

    #[test]
    fn retry_after_zero_is_a_delay_of_zero() {
        let s = RateLimitStatus::from_headers(&headers(&[("Retry-After", "0")]), t0()).unwrap();
        assert_eq!(s.refusal_delay(t0()), Some(Duration::ZERO));
    }
}
