//! The integration tests of `penaxtra-jira-sync`, one binary.

mod log_capture;
mod webhook_gate;
mod webhook_gate_props;
