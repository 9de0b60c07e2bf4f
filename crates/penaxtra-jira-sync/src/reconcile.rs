//! Reconciliation: ask Jira what changed since the last sweep, so that
//! deliveries Jira never made (or that were rejected) still take effect, and
//! notice linked issues deleted in Jira.

use crate::engine::JiraSync;
use crate::error::SyncError;
use crate::inbound::{Disposition, InboundOutcome, Source};
use crate::push::{duration_ms, jql_string};
use crate::store::SweepCursor;
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
    /// Linked issues Jira no longer has (only with `check_deleted`).
    pub deleted: Vec<String>,
}

impl JiraSync {
    /// Sweeps once: searches the project for issues with the integration's
    /// label updated since the last sweep (less an overlap), page by page,
    /// and applies each through the same path as a webhook. With
    /// `check_deleted`, also lists every labelled issue (keys only) and
    /// reports linked issues that are gone. The cursor only moves when the
    /// whole sweep succeeded.
    ///
    /// # Errors
    /// [`SyncError::Jira`] or [`SyncError::Store`] when the sweep could not
    /// complete; the cursor is left where it was.
    pub async fn reconcile(&self, check_deleted: bool) -> Result<ReconcileReport, SyncError> {
        let started = self.now_ms();
        let store = &self.inner.store;
        let project = jql_string(self.inner.template.project_key());
        let label = jql_string(INTEGRATION_LABEL);
        let mut jql = format!("project = {project} AND labels = {label}");
        if let Some(cursor) = store.sweep_cursor().await? {
            let since = cursor.last_sweep_ms - duration_ms(self.inner.settings.sweep_overlap);
            // A relative time avoids any time-zone reading of absolute dates.
            let minutes = ((started - since).max(0) / 60_000) + 1;
            jql.push_str(&format!(" AND updated >= \"-{minutes}m\""));
        }
        jql.push_str(" ORDER BY updated ASC");

        let mut report = ReconcileReport::default();
        let mut fields = vec!["status", "resolution", "labels", "updated"];
        if let Some(f) = self.inner.template.finding_id_field() {
            fields.push(f.as_str());
        }
        let inbound = self.cached_inbound().await;
        let mut pages = self.inner.client.search(&jql, &fields);
        while let Some(issues) = pages.next_page().await? {
            for issue in issues {
                report.examined += 1;
                let outcome = inbound
                    .apply_issue_state(&issue, None, None, false, Source::Reconciliation)
                    .await;
                match outcome.disposition {
                    Disposition::Applied => report.applied.push(outcome),
                    Disposition::Failed => report.failed.push(outcome),
                    Disposition::Ignored => {}
                }
            }
        }
        if check_deleted {
            report.deleted = self.deleted_links().await?;
        }
        if report.failed.is_empty() {
            store.set_sweep_cursor(&SweepCursor::new(started)).await?;
        }
        Ok(report)
    }

    /// Linked issues that Jira no longer lists.
    async fn deleted_links(&self) -> Result<Vec<String>, SyncError> {
        let project = jql_string(self.inner.template.project_key());
        let jql = format!(
            "project = {project} AND labels = {} ORDER BY key ASC",
            jql_string(INTEGRATION_LABEL)
        );
        let present: HashSet<String> = self
            .inner
            .client
            .search_all(&jql, &["key"])
            .await?
            .into_iter()
            .map(|i| i.key)
            .collect();
        let mut gone = Vec::new();
        for link in self.inner.store.links().await? {
            if !present.contains(&link.issue_key) {
                // Confirm one by one: search can lag behind a create.
                match self
                    .inner
                    .client
                    .get_issue(&link.issue_key, &["status"])
                    .await
                {
                    Err(e) if e.status() == Some(404) => {
                        tracing::warn!(issue = %link.issue_key, finding = %link.finding_id, "linked issue deleted in Jira");
                        gone.push(link.issue_key);
                    }
                    Err(e) => return Err(e.into()),
                    Ok(_) => {}
                }
            }
        }
        Ok(gone)
    }

    /// Runs [`JiraSync::reconcile`] every `interval` in the background,
    /// checking for deleted issues every `deleted_every` sweeps (0: never).
    pub fn spawn_reconciler(
        &self,
        interval: Duration,
        deleted_every: u32,
    ) -> crate::worker::WorkerHandle {
        let this = self.clone();
        crate::worker::WorkerHandle::spawn(interval, move |round| {
            let this = this.clone();
            async move {
                let check = deleted_every != 0 && round % u64::from(deleted_every) == 0;
                if let Err(e) = this.reconcile(check).await {
                    tracing::warn!(code = e.code(), "reconciliation sweep failed: {e}");
                }
            }
        })
    }
}
