//! Rate-limit answers and headers in each flavor's real shape.
//!
//! Cloud: every answer carries the endpoint's burst bucket
//! (`X-RateLimit-Limit`, `-Remaining`, `-NearLimit` below 20 %,
//! `Beta-RateLimit-Policy`, and `Beta-RateLimit` with `r` when near); a 429
//! adds `Retry-After` (seconds), `X-RateLimit-Reset` (ISO 8601, not epoch),
//! `RateLimit-Reason`, `Beta-RateLimit` and `Beta-Retry-After`, with a JSON
//! or an HTML body. Data Center: the token bucket's `X-RateLimit-Limit`,
//! `-Remaining`, `-Interval-Seconds`, `-FillRate` and `retry-after` (0
//! while tokens remain) on every answer, and Tomcat's HTML page on a 429.
//!
//! Sources: <https://developer.atlassian.com/cloud/jira/platform/rate-limiting/>,
//! JRACLOUD-69262, raycast/extensions#29015, apache/devlake#2932;
//! <https://confluence.atlassian.com/adminjiraserver/improving-instance-stability-with-rate-limiting-983794911.html>.

use super::{App, lock, reply};
use crate::rate_limit::cloud::{Granted, Reason, Refusal};
use axum::response::Response;
use rand::Rng;
use std::time::Duration;

/// Whole seconds, rounded up, at least 1 (a `Retry-After: 0` on a 429
/// would invite an immediate retry into the same refusal).
pub(crate) fn ceil_secs(d: Duration) -> u64 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    s.max(1)
}

/// The issue key or id a request writes to, for the per-issue limit:
/// edits, deletes, transitions and comment changes (not creates).
pub(crate) fn issue_written<'a>(method: &str, path: &'a str) -> Option<&'a str> {
    if method == "GET" || method == "HEAD" {
        return None;
    }
    let rest = path.strip_prefix("/rest/api/")?;
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        [_, "issue", "bulk", ..] => None,
        [_, "issue", key]
        | [
            _,
            "issue",
            key,
            "transitions" | "comment" | "properties",
            ..,
        ] => Some(key),
        _ => None,
    }
}

/// Cloud's 429 JSON body.
const CLOUD_JSON: &str = r#"{"errorMessages":["The request has been rate-limited. Please try again later."],"errors":{}}"#;

/// Cloud's 429 HTML body ("Oops, you've found a dead link" page family).
const CLOUD_HTML: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Oops - an error has occurred</title></head><body><div id=\"error-state\">\
<h1>Oops - an error has occurred</h1><p>Too many requests. The request has been rate-limited. \
Please try again later.</p></div></body></html>\n";

/// Data Center's 429: Tomcat's error report.
const DC_HTML: &str = "<!doctype html><html lang=\"en\"><head><title>HTTP Status 429 \u{2013} Too Many Requests</title>\
<style type=\"text/css\">body {font-family:Tahoma,Arial,sans-serif;}</style></head><body>\
<h1>HTTP Status 429 \u{2013} Too Many Requests</h1><hr class=\"line\" /><p><b>Type</b> Status Report</p>\
<p><b>Message</b> Rate limit exceeded.</p><p><b>Description</b> The user has sent too many requests \
in a given amount of time (&quot;rate limiting&quot;).</p><hr class=\"line\" /><h3>Apache Tomcat</h3></body></html>";

/// A Cloud 429 for `refusal`; `html` picks the body.
pub(crate) fn cloud_refusal(app: &App, refusal: &Refusal, html: bool) -> Response {
    let mut r = if html {
        reply::text(429, "text/html;charset=UTF-8", CLOUD_HTML.into())
    } else {
        reply::text(429, "application/json;charset=UTF-8", CLOUD_JSON.into())
    };
    let secs = ceil_secs(refusal.retry_after);
    cloud_refusal_headers(
        app,
        &mut r,
        refusal.reason.as_str(),
        refusal.limit,
        refusal.window.as_secs().max(1),
        secs,
    );
    r
}

/// The headers of a Cloud 429.
pub(crate) fn cloud_refusal_headers(
    app: &App,
    r: &mut Response,
    reason: &str,
    limit: u32,
    window_secs: u64,
    secs: u64,
) {
    let reset = app.clock.now() + chrono::Duration::seconds(i64::try_from(secs).unwrap_or(0));
    reply::set_header(r, "Retry-After", &secs.to_string());
    reply::set_header(r, "X-RateLimit-Limit", &limit.to_string());
    reply::set_header(r, "X-RateLimit-Remaining", "0");
    reply::set_header(
        r,
        "X-RateLimit-Reset",
        &reset.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    );
    reply::set_header(r, "X-RateLimit-NearLimit", "true");
    reply::set_header(r, "RateLimit-Reason", reason);
    reply::set_header(
        r,
        "Beta-RateLimit-Policy",
        &format!("\"{reason}\";q={limit};w={window_secs}"),
    );
    reply::set_header(r, "Beta-RateLimit", &format!("\"{reason}\";r=0;t={secs}"));
    reply::set_header(r, "Beta-Retry-After", &secs.to_string());
}

/// Whether this 429 gets the HTML body, drawn from the simulator's seeded
/// randomness.
pub(crate) fn html_429(app: &App, share: f64) -> bool {
    share > 0.0 && lock(&app.rng).gen_bool(share.min(1.0))
}

/// The burst bucket's headers on a Cloud answer that was let through.
pub(crate) fn cloud_granted_headers(r: &mut Response, g: Granted) {
    let reason = Reason::Burst.as_str();
    let near = u64::from(g.remaining) * 5 < u64::from(g.limit);
    reply::set_header(r, "X-RateLimit-Limit", &g.limit.to_string());
    reply::set_header(r, "X-RateLimit-Remaining", &g.remaining.to_string());
    reply::set_header(
        r,
        "X-RateLimit-NearLimit",
        if near { "true" } else { "false" },
    );
    reply::set_header(
        r,
        "Beta-RateLimit-Policy",
        &format!("\"{reason}\";q={};w=1", g.limit),
    );
    if near {
        // `r` only near the limit, as Jira sends it.
        reply::set_header(
            r,
            "Beta-RateLimit",
            &format!("\"{reason}\";r={};t=1", g.remaining),
        );
    }
}

/// Data Center's token-bucket headers, on every answer while a limit is set.
pub(crate) fn dc_headers(r: &mut Response, limit: crate::SimRateLimit, remaining: u32, wait: u64) {
    reply::set_header(r, "X-RateLimit-Limit", &limit.burst.to_string());
    reply::set_header(r, "X-RateLimit-Remaining", &remaining.to_string());
    reply::set_header(r, "X-RateLimit-Interval-Seconds", "1");
    reply::set_header(r, "X-RateLimit-FillRate", &limit.per_second.to_string());
    reply::set_header(r, "Retry-After", &wait.to_string());
}

/// Data Center's 429: Tomcat HTML with the bucket's headers.
pub(crate) fn dc_refusal(limit: crate::SimRateLimit, retry_after: Duration) -> Response {
    let mut r = reply::text(429, "text/html;charset=utf-8", DC_HTML.into());
    dc_headers(&mut r, limit, 0, ceil_secs(retry_after));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_writes() {
        assert_eq!(
            issue_written("PUT", "/rest/api/3/issue/SEC-1"),
            Some("SEC-1")
        );
        assert_eq!(
            issue_written("POST", "/rest/api/2/issue/10001/transitions"),
            Some("10001")
        );
        assert_eq!(
            issue_written("DELETE", "/rest/api/3/issue/SEC-1/comment/10000"),
            Some("SEC-1")
        );
        assert_eq!(issue_written("GET", "/rest/api/3/issue/SEC-1"), None);
        assert_eq!(issue_written("POST", "/rest/api/3/issue"), None);
        assert_eq!(issue_written("POST", "/rest/api/3/issue/bulk"), None);
        assert_eq!(issue_written("POST", "/rest/api/3/search/jql"), None);
    }

    #[test]
    fn seconds_round_up_to_at_least_one() {
        assert_eq!(ceil_secs(Duration::ZERO), 1);
        assert_eq!(ceil_secs(Duration::from_millis(10)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1_900)), 2);
        assert_eq!(ceil_secs(Duration::from_secs(5)), 5);
    }
}
