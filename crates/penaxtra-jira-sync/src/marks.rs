//! What the integration writes to recognise its own traces: the synthetic
//! issue of "test connection" and the delivery mark of its webhook.

use jira_model::IssueKey;

/// The summary of the synthetic issue.
pub const CONNECTION_TEST_SUMMARY: &str = "[Penaxtra] Connection test";

/// The label of the synthetic issue: the inbound processor recognises the
/// synthetic issue's webhooks by it and records their arrival for the
/// webhook round-trip step, changing nothing else.
pub const CONNECTION_TEST_LABEL: &str = "penaxtra-connection-test";

/// The delivery mark recording that a synthetic issue's webhook arrived:
/// by issue id and key, which Jira never gives two issues.
pub(crate) fn round_trip_mark(issue_id: &str, key: &IssueKey) -> String {
    format!("connection-test:{issue_id}:{key}")
}
