//! Reconciliation: ask Jira what changed since the last sweep, so that
//! deliveries Jira never made (or that were rejected) still take effect, and
//! notice linked issues deleted in Jira.

use crate::Inbound;
use crate::clock::duration_ms;
use crate::engine_core::Core;
use crate::error::SyncError;
use crate::host::Findings;
use crate::inbound::{Disposition, InboundOutcome, Source};
use crate::jira_time::jira_time_ms;
use crate::jql::jql_string;
use crate::settings::DeletedIssue;
use crate::state_out::StateOut;
use crate::store::{PendingOp, SweepCursor};
use jira_model::IssueKey;
use penaxtra_mapping::IssueTemplate;
use std::borrow::Cow;
use std::collections::HashSet;
use std::time::Duration;

pub use penaxtra_mapping::INTEGRATION_LABEL;

/// What a sweep did.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ReconcileReport {
    /// Issues Jira returned.
    pub examined: usize,
    /// Outcomes that changed a finding.
    pub applied: Vec<InboundOutcome>,
    /// Outcomes that failed transiently (the next sweep tries again).
    pub failed: Vec<InboundOutcome>,
    /// Linked issues Jira no longer has (only with `check_deleted`); each
    /// was unlinked, and its finding's create queued or parked as
    /// [`crate::SyncSettings::on_deleted_issue`] says.
    pub deleted: Vec<IssueKey>,
    /// Duplicate issues closed (the finding stays linked to its oldest
    /// issue; see [`crate::DUPLICATE_LABEL`]).
    pub healed: Vec<IssueKey>,
    /// Duplicates that could not be closed this time (the next sweep tries
    /// again).
    pub heal_failed: Vec<IssueKey>,
}

/// The JQL clause for "updated at or after `since`" (epoch ms, our clock)
/// as of `now`: a relative time, in whole minutes rounded up, so neither the
/// searching account's time zone (Jira reads a datetime without a zone in
/// it, at minute precision) nor a skew between our clock and Jira's can
/// move the window.
fn updated_since(now: i64, since: i64) -> String {
    let minutes = ((now - since).max(0) + 59_999) / 60_000 + 1;
    format!("updated >= \"-{minutes}m\"")
}

/// The reconciliation handle: what sweeps and healing need (the engine
/// core, the template, the host's findings, the state-out handle that
/// closes duplicates, and the inbound processor that applies what a sweep
/// finds), and nothing else.
pub(crate) struct Reconciler<'s> {
    pub(crate) core: &'s Core,
    pub(crate) template: &'s IssueTemplate,
    pub(crate) findings: &'s dyn Findings,
    pub(crate) state_out: StateOut<'s>,
    pub(crate) inbound: Cow<'s, Inbound>,
}

impl Reconciler<'_> {
    /// [`JiraSync::reconcile`].
    pub(crate) async fn reconcile(
        &self,
        check_deleted: bool,
    ) -> Result<ReconcileReport, SyncError> {
        let started = self.core.now_ms();
        let store = &self.core.store;
        let projects = crate::jql::projects_clause(&self.template.project_keys());
        let label = jql_string(INTEGRATION_LABEL);
        let mut jql = format!("{projects} AND labels = {label}");
        if let Some(cursor) = store.sweep_cursor().await? {
            let since = cursor.last_sweep_ms - duration_ms(self.sweep_overlap());
            jql.push_str(&format!(" AND {}", updated_since(started, since)));
        }
        jql.push_str(" ORDER BY updated ASC");

        let mut report = ReconcileReport::default();
        let mut fields = vec!["status", "resolution", "labels", "updated", "created"];
        if let Some(f) = self.template.finding_id_field() {
            fields.push(f.as_str());
        }
        let inbound = &self.inbound;
        let mut pages = self.core.client.search(&jql, &fields);
        while let Some(issues) = pages.next_page().await? {
            for issue in issues {
                report.examined += 1;
                // Jira's own time of the issue's last change: older events
                // than what the link has seen are stale.
                let updated = issue.fields.updated.as_deref().and_then(jira_time_ms);
                let outcome = inbound
                    .apply_issue_state(&issue, None, updated, false, Source::Reconciliation)
                    .await;
                crate::metrics::inbound(
                    "reconciliation",
                    outcome.disposition.as_str(),
                    outcome.reason.code(),
                );
                match outcome.disposition {
                    Disposition::Applied => report.applied.push(outcome),
                    Disposition::Failed => report.failed.push(outcome),
                    Disposition::Ignored => {}
                }
                self.heal_if_duplicate(&issue, &mut report).await?;
            }
        }
        if check_deleted {
            report.deleted = self.deleted_links().await?;
        }
        if report.failed.is_empty() && report.heal_failed.is_empty() {
            store.set_sweep_cursor(&SweepCursor::new(started)).await?;
        }
        crate::metrics::healed(report.healed.len());
        if !report.healed.is_empty() {
            tracing::warn!(count = report.healed.len(), "closed duplicate issues");
        }
        Ok(report)
    }

    /// How far each sweep reaches back before the last one: the configured
    /// overlap, and never less than Jira's search lag. A change made just
    /// before a sweep may not be searchable yet; the cursor moves past it
    /// anyway, so the next window must still reach back to it.
    fn sweep_overlap(&self) -> Duration {
        self.core
            .settings
            .sweep_overlap
            .max(self.core.consistency_window())
    }

    /// Closes `issue` as a duplicate when it carries a finding's dedup label
    /// but the finding is linked to another issue.
    async fn heal_if_duplicate(
        &self,
        issue: &jira_model::Issue,
        report: &mut ReconcileReport,
    ) -> Result<(), SyncError> {
        let Some(finding) = self.finding_of_issue(issue) else {
            return Ok(());
        };
        let Some(link) = self.core.store.link(&finding).await? else {
            return Ok(());
        };
        if link.issue_key.as_str().eq_ignore_ascii_case(&issue.key) {
            return Ok(());
        }
        match self.heal_duplicate(&link, issue).await {
            Ok(Some(closed)) => report.healed.push(closed),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(issue = %issue.key, code = e.code(), "could not close a duplicate; the next sweep tries again");
                if let Ok(key) = IssueKey::new(&issue.key) {
                    report.heal_failed.push(key);
                }
            }
        }
        Ok(())
    }

    /// Linked issues that Jira no longer lists.
    async fn deleted_links(&self) -> Result<Vec<IssueKey>, SyncError> {
        let projects = crate::jql::projects_clause(&self.template.project_keys());
        let jql = format!(
            "{projects} AND labels = {} ORDER BY key ASC",
            jql_string(INTEGRATION_LABEL)
        );
        let present: HashSet<String> = self
            .core
            .client
            .search_all(&jql, &["key"])
            .await?
            .into_iter()
            .map(|i| i.key)
            .collect();
        let mut gone = Vec::new();
        let store = &self.core.store;
        for link in store.links().await? {
            if !present.contains(link.issue_key.as_str()) {
                // Confirm one by one: search can lag behind a create.
                match self
                    .core
                    .client
                    .get_issue(link.issue_key.as_str(), &["status"])
                    .await
                {
                    // `not_found` only: a 404 that Jira answered to refused
                    // credentials (served as anonymous) is `unauthorized`,
                    // and the issue may well exist.
                    Err(e) if e.kind() == jira_client::ErrorKind::NotFound => {
                        tracing::warn!(issue = %link.issue_key, finding = %link.finding_id, "linked issue deleted in Jira; unlinking it");
                        self.unlink_deleted(&link).await?;
                        gone.push(link.issue_key);
                    }
                    Err(e) => return Err(e.into()),
                    Ok(_) => {}
                }
            }
        }
        Ok(gone)
    }

    /// Unlinks a finding whose issue was deleted in Jira and queues its new
    /// create, or parks it for a person, as the settings say.
    async fn unlink_deleted(&self, link: &crate::store::Link) -> Result<(), SyncError> {
        let store = &self.core.store;
        let op = PendingOp::Recreate {
            finding: link.finding_id.clone(),
            deleted_issue: link.issue_key.clone(),
        };
        let now = self.core.now_ms();
        let message = format!(
            "issue_deleted: issue {} of finding {} was deleted in Jira",
            link.issue_key, link.finding_id
        );
        // Queue first: a crash after it leaves the create queued, not lost.
        let queued = store.enqueue(&op, now, Some(&message)).await?;
        // A 404 is also what an issue hidden by issue security answers: a
        // second issue is made only once Jira's own `jira:issue_deleted`
        // event said this one is gone.
        let confirmed = store
            .delivery_seen(&crate::inbound::deletion_mark(&link.issue_id))
            .await?;
        let parked = match (self.core.settings.on_deleted_issue, confirmed) {
            (DeletedIssue::Recreate, true) => None,
            (DeletedIssue::Recreate, false) => Some(format!(
                "{message}, or hidden from the service account (Jira answers 404 for both, and sent no issue_deleted event for it); check the issue's security level, then retry this operation to create a new issue, or drop it"
            )),
            _ => Some(format!(
                "{message}; retry this operation to create a new issue, or drop it to leave the finding without one"
            )),
        };
        if let Some(reason) = parked {
            store.park(queued, &reason).await?;
        }
        store.remove_link(&link.finding_id).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_relative_and_rounded_outwards() {
        assert_eq!(updated_since(600_000, 600_000), "updated >= \"-1m\"");
        assert_eq!(updated_since(600_000, 599_999), "updated >= \"-2m\"");
        assert_eq!(updated_since(600_000, 480_000), "updated >= \"-3m\"");
        assert_eq!(
            updated_since(0, 5_000),
            "updated >= \"-1m\"",
            "a clock that went back"
        );
    }
}
