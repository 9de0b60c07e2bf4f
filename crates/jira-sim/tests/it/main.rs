//! Integration tests: the simulator over real loopback HTTP.

mod admin;
mod binary;
mod common;
mod faults;
mod jql;
mod rate_limit;
mod reference;
mod rest;
mod webhooks;
mod workflow;
