//! What the client reports through the `metrics` facade (a host installs
//! any recorder; without one these cost next to nothing):
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `jira_requests_total` | counter | `method`, `endpoint`, `status` (`error` when no answer came) |
//! | `jira_request_duration_seconds` | histogram | `method`, `endpoint` |
//! | `jira_rate_limited_total` | counter | `endpoint` (429 answers) |
//! | `jira_retries_total` | counter | `code` |
//! | `jira_oauth_token_exchanges_total` | counter | none (OAuth access tokens fetched) |
//!
//! `endpoint` is the path with issue keys and ids replaced by `{id}`, so
//! that it stays a small set.

use crate::classify::Operation;
use std::time::Duration;

/// The request's path with issue keys and numeric ids replaced by `{id}`.
pub(crate) fn endpoint(op: &Operation) -> String {
    let mut previous = "";
    op.path
        .split('/')
        .map(|segment| {
            // The API version (`/rest/api/3`) is kept.
            let after_api = std::mem::replace(&mut previous, segment) == "api";
            let is_number =
                !after_api && !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
            let is_key = segment.rsplit_once('-').is_some_and(|(p, n)| {
                !p.is_empty()
                    && p.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                    && !n.is_empty()
                    && n.bytes().all(|b| b.is_ascii_digit())
            });
            if is_number || is_key { "{id}" } else { segment }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// One request answered (or not: `status` `None`).
pub(crate) fn request(op: &Operation, status: Option<u16>, took: Duration) {
    let endpoint = endpoint(op);
    let method = op.method.as_str().to_string();
    let status = status.map_or_else(|| "error".to_string(), |s| s.to_string());
    if status == "429" {
        metrics::counter!("jira_rate_limited_total", "endpoint" => endpoint.clone()).increment(1);
    }
    metrics::counter!("jira_requests_total", "method" => method.clone(), "endpoint" => endpoint.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("jira_request_duration_seconds", "method" => method, "endpoint" => endpoint)
        .record(took.as_secs_f64());
}

/// A retry after an error with this code.
pub(crate) fn retry(code: &'static str) {
    metrics::counter!("jira_retries_total", "code" => code).increment(1);
}

/// An OAuth access token fetched from the token endpoint.
pub(crate) fn token_exchange() {
    metrics::counter!("jira_oauth_token_exchanges_total").increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_drop_keys_and_ids() {
        let op = |path: &str| Operation {
            method: reqwest::Method::GET,
            path: path.to_string(),
            create: false,
            idempotent: true,
        };
        assert_eq!(
            endpoint(&op("/rest/api/3/issue/SEC-42/transitions")),
            "/rest/api/3/issue/{id}/transitions"
        );
        assert_eq!(
            endpoint(&op("/rest/api/2/issue/10042")),
            "/rest/api/2/issue/{id}"
        );
        assert_eq!(
            endpoint(&op("/rest/api/3/search/jql")),
            "/rest/api/3/search/jql"
        );
    }
}
