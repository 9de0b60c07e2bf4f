//! The integration tests of `penaxtra-jira-sync`, one binary.

// Helpers outside `#[test]` functions may panic too: these are tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod convergence_bugs;
mod crash;
mod credentials;
mod exactly_once;
mod faults;
mod fidelity;
mod hooked_store;
mod inbound;
mod inbound_props;
mod injection;
mod layering;
mod log_capture;
mod mapping;
mod metrics;
mod outbound;
mod parked;
mod paused_holder;
mod pg;
mod security;
mod shared_host;
mod store;
mod support;
mod tenants;
mod webhook_e2e;
mod webhook_gate;
mod webhook_gate_props;
mod webhook_route;
