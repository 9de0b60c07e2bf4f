//! What the engine reports through the `metrics` facade. A host installs a
//! recorder (the quickstart uses the Prometheus exporter); without one
//! these cost next to nothing. The Jira client adds its own
//! (`jira_requests_total`, `jira_request_duration_seconds`,
//! `jira_rate_limited_total`, `jira_retries_total`: see
//! [`crate::client::metrics`]).
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `penaxtra_jira_push_total` | counter | `outcome` ([`crate::PushKind::code`]) |
//! | `penaxtra_jira_state_out_total` | counter | `outcome` (`transitioned`, `already_there`, `not_linked`, `queued`, `failed`) |
//! | `penaxtra_jira_inbound_total` | counter | `source` (`webhook`, `reconciliation`), `outcome`, `reason` ([`crate::InboundReason::code`]) |
//! | `penaxtra_jira_webhook_rejected_total` | counter | `reason` (the rejection's code) |
//! | `penaxtra_jira_worker_total` | counter | `result` (`done`, `retried`, `parked`, `gone`, `recovered`) |
//! | `penaxtra_jira_queue_depth` | gauge | — (queued, not parked) |
//! | `penaxtra_jira_parked` | gauge | — (parked for a person) |
//! | `penaxtra_jira_duplicates_healed_total` | counter | — |

// The bottom floor: callers pass codes and counts, so this file knows no
// outcome type of the floors above.

pub(crate) fn push(code: &'static str) {
    metrics::counter!("penaxtra_jira_push_total", "outcome" => code).increment(1);
}

pub(crate) fn state_out(outcome: &'static str) {
    metrics::counter!("penaxtra_jira_state_out_total", "outcome" => outcome).increment(1);
}

pub(crate) fn inbound(source: &'static str, outcome: &'static str, reason: &'static str) {
    metrics::counter!(
        "penaxtra_jira_inbound_total",
        "source" => source,
        "outcome" => outcome,
        "reason" => reason
    )
    .increment(1);
}

pub(crate) fn webhook_rejected(code: &'static str) {
    metrics::counter!("penaxtra_jira_webhook_rejected_total", "reason" => code).increment(1);
}

/// Worker results: `(result, count)` pairs (`done`, `retried`, `parked`,
/// `gone`, `recovered`).
pub(crate) fn worker(results: [(&'static str, usize); 5]) {
    for (result, n) in results {
        if n > 0 {
            metrics::counter!("penaxtra_jira_worker_total", "result" => result).increment(n as u64);
        }
    }
}

pub(crate) fn queue(queued: usize, parked: usize) {
    metrics::gauge!("penaxtra_jira_queue_depth").set(queued as f64);
    metrics::gauge!("penaxtra_jira_parked").set(parked as f64);
}

pub(crate) fn healed(n: usize) {
    if n > 0 {
        metrics::counter!("penaxtra_jira_duplicates_healed_total").increment(n as u64);
    }
}
