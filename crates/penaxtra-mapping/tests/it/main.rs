//! Integration tests of penaxtra-mapping: the sample findings end to end,
//! Atlassian's ADF schema on rendered issues, and property tests of the
//! invariants (state table round trip, no panics on any input, literal
//! excerpts in both formats, redaction idempotence).

// Helpers outside `#[test]` functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod properties;
mod sample;
// The ADF schema check is jira-model's own test helper, shared by path
// rather than copied.
#[path = "../../../jira-model/tests/it/schema.rs"]
mod schema;
