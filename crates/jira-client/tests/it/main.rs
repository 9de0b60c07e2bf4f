//! The one integration-test binary of `jira-client`.

// Helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod budget;
mod bulk;
mod config;
mod endpoints;
mod errors;
mod rate_limits;
mod recorded;
mod redirects;
mod retry;
mod sealed;
mod search;
mod secrets;
mod send_gate;
mod support;
mod url_policy;
