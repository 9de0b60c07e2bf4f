//! Integration tests: the simulator over real loopback HTTP.

// Test helpers outside #[test] functions panic on purpose when a setup step fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod binary;
mod common;
mod faults;
mod fidelity_auth;
mod fidelity_endpoints;
mod fidelity_errors;
mod fidelity_limits;
mod fidelity_time;
mod fidelity_webhooks;
mod identity;
mod jql;
mod rate_limit;
mod recorded;
mod reference;
mod rest;
mod search_lag;
mod webhooks;
mod workflow;
