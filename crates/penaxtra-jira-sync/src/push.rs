//! Outbound: a finding that matches the rule gets exactly one Jira issue.
//!
//! The order of a push is what makes it duplicate-free: claim the finding in
//! the store (atomic across tasks, processes and replicas) → when an earlier
//! attempt may have reached Jira, or always by default, search Jira for the
//! finding's dedup label → create → record the link. A create that may have
//! reached Jira (timeout, reset connection, 5xx) leaves the claim marked
//! uncertain, so whoever tries next searches first.

use crate::engine::JiraSync;
use crate::error::SyncError;
use crate::store::{Claim, Link, PendingOp};
use jira_model::Issue;
use penaxtra_mapping::{Finding, FindingId, FindingState, dedup_label};
use std::collections::HashMap;

/// What happened to one finding.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PushOutcome {
    /// A new issue was created.
    Created {
        /// Its key.
        issue_key: String,
    },
    /// The issue already existed in Jira (an earlier attempt reached it) and
    /// is now linked.
    Recovered {
        /// Its key.
        issue_key: String,
    },
    /// The finding was already linked.
    AlreadyLinked {
        /// Its key.
        issue_key: String,
    },
    /// The finding does not match the rule.
    Skipped,
    /// Could not be done now; kept in the queue and retried by the worker.
    Queued {
        /// The error code of the failure.
        code: &'static str,
        /// When it will be tried again (epoch ms).
        retry_at_ms: i64,
    },
    /// A person must act (credentials, permissions, field, invalid data).
    /// The operation is parked in the queue, not dropped.
    Failed {
        /// The error, with its code and fix.
        error: SyncError,
    },
}

impl PushOutcome {
    /// A short name: `created`, `recovered`, `already_linked`, `skipped`,
    /// `queued`, `failed`.
    pub fn kind(&self) -> &'static str {
        match self {
            PushOutcome::Created { .. } => "created",
            PushOutcome::Recovered { .. } => "recovered",
            PushOutcome::AlreadyLinked { .. } => "already_linked",
            PushOutcome::Skipped => "skipped",
            PushOutcome::Queued { .. } => "queued",
            PushOutcome::Failed { .. } => "failed",
        }
    }

    /// The issue key, when the finding has an issue.
    pub fn issue_key(&self) -> Option<&str> {
        match self {
            PushOutcome::Created { issue_key }
            | PushOutcome::Recovered { issue_key }
            | PushOutcome::AlreadyLinked { issue_key } => Some(issue_key),
            _ => None,
        }
    }
}

/// Progress of a backfill, reported after each chunk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Findings handled so far.
    pub done: usize,
    /// Findings in the backfill.
    pub total: usize,
    /// Issues created so far.
    pub created: usize,
    /// Findings queued or failed so far.
    pub deferred: usize,
}

/// The result of trying a push once, before any deferral.
pub(crate) enum Attempt {
    Done(PushOutcome),
    /// Another worker holds the claim.
    Busy,
}

/// A failed attempt: the error and whether Jira may have acted.
pub(crate) struct AttemptError {
    pub(crate) error: SyncError,
}

impl From<SyncError> for AttemptError {
    fn from(error: SyncError) -> Self {
        Self { error }
    }
}

impl JiraSync {
    /// Pushes one finding: creates its issue when it matches the rule and has
    /// none. Never creates a second issue for a finding. A failure that may
    /// pass (rate limit, timeout, Jira down) is queued for the worker and
    /// answered [`PushOutcome::Queued`]; one a person must fix is parked and
    /// answered [`PushOutcome::Failed`].
    ///
    /// # Errors
    /// [`SyncError::Store`] when the sync store itself fails, so that the
    /// operation could not even be queued: the caller must keep it.
    pub async fn push(&self, finding: &Finding) -> Result<PushOutcome, SyncError> {
        match self.try_push(finding).await {
            Ok(Attempt::Done(outcome)) => Ok(outcome),
            Ok(Attempt::Busy) => {
                // The holder may die: check again after its lease.
                let due = self.now_ms() + duration_ms(self.inner.settings.claim_lease);
                self.inner
                    .store
                    .enqueue(
                        &PendingOp::Create {
                            finding: finding.id.clone(),
                        },
                        due,
                        Some("busy"),
                    )
                    .await?;
                Ok(PushOutcome::Queued {
                    code: "busy",
                    retry_at_ms: due,
                })
            }
            Err(AttemptError { error }) => {
                self.defer(
                    PendingOp::Create {
                        finding: finding.id.clone(),
                    },
                    error,
                )
                .await
            }
        }
    }

    /// Queues a failed operation: retried later when the failure may pass,
    /// parked for a person otherwise.
    pub(crate) async fn defer(
        &self,
        op: PendingOp,
        error: SyncError,
    ) -> Result<PushOutcome, SyncError> {
        let now = self.now_ms();
        let message = format!("{}: {error}", error.code());
        if error.worth_retrying(0) {
            let hint = match &error {
                SyncError::Jira(e) => e.retry_after(),
                _ => None,
            };
            let due = now + duration_ms(self.retry_delay(0, hint));
            self.inner.store.enqueue(&op, due, Some(&message)).await?;
            tracing::info!(finding = %op.finding(), code = error.code(), "queued for retry");
            Ok(PushOutcome::Queued {
                code: error.code(),
                retry_at_ms: due,
            })
        } else {
            let id = self.inner.store.enqueue(&op, now, Some(&message)).await?;
            self.inner.store.park(id, &message).await?;
            tracing::warn!(finding = %op.finding(), code = error.code(), fix = error.fix(), "parked until a person acts");
            Ok(PushOutcome::Failed { error })
        }
    }

    /// One attempt at pushing, without deferral.
    pub(crate) async fn try_push(&self, finding: &Finding) -> Result<Attempt, AttemptError> {
        if !self.inner.rule.matches(finding) {
            return self.adopt_if_uncertain(finding).await;
        }
        let store = &self.inner.store;
        let now = self.now_ms();
        let lease = duration_ms(self.inner.settings.claim_lease);
        let uncertain = match store
            .claim(&finding.id, &self.inner.owner, now, lease)
            .await
            .map_err(SyncError::from)?
        {
            Claim::Linked(link) => {
                return Ok(Attempt::Done(PushOutcome::AlreadyLinked {
                    issue_key: link.issue_key,
                }));
            }
            Claim::Busy => return Ok(Attempt::Busy),
            Claim::Acquired { uncertain } => uncertain,
        };
        match self.create_claimed(finding, uncertain).await {
            Ok(outcome) => Ok(Attempt::Done(outcome)),
            Err(error) => {
                let ambiguous = match &error {
                    SyncError::Jira(e) => e.may_have_been_sent(),
                    _ => false,
                };
                if let Err(e) = store
                    .release(&finding.id, &self.inner.owner, ambiguous)
                    .await
                {
                    // The lease runs out by itself; the next claimant then
                    // searches Jira first, so nothing is duplicated.
                    tracing::warn!(finding = %finding.id, code = e.code(), "could not release a claim");
                }
                Err(AttemptError { error })
            }
        }
    }

    /// A finding that no longer matches the rule gets no new issue, but an
    /// issue an earlier, ambiguous attempt may have created for it in Jira is
    /// still found and linked, so it is never left behind unsynced.
    async fn adopt_if_uncertain(&self, finding: &Finding) -> Result<Attempt, AttemptError> {
        let store = &self.inner.store;
        let now = self.now_ms();
        let lease = duration_ms(self.inner.settings.claim_lease);
        let claim = store
            .claim(&finding.id, &self.inner.owner, now, lease)
            .await
            .map_err(SyncError::from)?;
        match claim {
            Claim::Linked(link) => Ok(Attempt::Done(PushOutcome::AlreadyLinked {
                issue_key: link.issue_key,
            })),
            Claim::Busy => Ok(Attempt::Busy),
            Claim::Acquired { uncertain: false } => {
                store
                    .release(&finding.id, &self.inner.owner, false)
                    .await
                    .map_err(SyncError::from)?;
                Ok(Attempt::Done(PushOutcome::Skipped))
            }
            Claim::Acquired { uncertain: true } => {
                let found = match self.find_existing(std::slice::from_ref(&finding.id)).await {
                    Ok(found) => found,
                    Err(error) => {
                        store
                            .release(&finding.id, &self.inner.owner, true)
                            .await
                            .map_err(SyncError::from)?;
                        return Err(AttemptError { error });
                    }
                };
                match found.get(&finding.id) {
                    Some(issue) => {
                        self.record_link(finding, &issue.key, &issue.id, Some(issue))
                            .await?;
                        Ok(Attempt::Done(PushOutcome::Recovered {
                            issue_key: issue.key.clone(),
                        }))
                    }
                    None => {
                        // Keep the doubt: a later push searches again.
                        store
                            .release(&finding.id, &self.inner.owner, true)
                            .await
                            .map_err(SyncError::from)?;
                        Ok(Attempt::Done(PushOutcome::Skipped))
                    }
                }
            }
        }
    }

    /// With the claim held: search when needed, create, link.
    async fn create_claimed(
        &self,
        finding: &Finding,
        uncertain: bool,
    ) -> Result<PushOutcome, SyncError> {
        if uncertain || self.inner.settings.always_check_jira {
            let found = self
                .find_existing(std::slice::from_ref(&finding.id))
                .await?;
            if let Some(issue) = found.get(&finding.id) {
                self.record_link(finding, &issue.key, &issue.id, Some(issue))
                    .await?;
                return Ok(PushOutcome::Recovered {
                    issue_key: issue.key.clone(),
                });
            }
        }
        let request = self
            .inner
            .template
            .render(finding, self.inner.client.flavor())?;
        let created = self.inner.client.create_issue(&request).await?;
        self.record_link(finding, &created.key, &created.id, None)
            .await?;
        Ok(PushOutcome::Created {
            issue_key: created.key,
        })
    }

    /// Records the link of a finding to an issue that was just created
    /// (`existing` = None: it is in the workflow's initial status) or found,
    /// and queues the state change when the issue is not where the finding's
    /// state wants it.
    pub(crate) async fn record_link(
        &self,
        finding: &Finding,
        issue_key: &str,
        issue_id: &str,
        existing: Option<&Issue>,
    ) -> Result<(), SyncError> {
        let now = self.now_ms();
        let jira_state = match existing {
            None => Some(FindingState::Open),
            Some(issue) => self.state_of_issue(issue),
        };
        let mut link = Link::new(finding.id.clone(), issue_key, issue_id, finding.state, now);
        link.state_out = jira_state;
        self.inner.store.insert_link(&link).await?;
        if jira_state != Some(finding.state) {
            self.inner
                .store
                .enqueue(
                    &PendingOp::SetState {
                        finding: finding.id.clone(),
                        state: finding.state,
                    },
                    now,
                    None,
                )
                .await?;
        }
        Ok(())
    }

    /// The finding state an issue's status maps to.
    pub(crate) fn state_of_issue(&self, issue: &Issue) -> Option<FindingState> {
        let status = issue.fields.status.as_ref()?;
        let resolution = issue.fields.resolution.as_ref().map(|r| r.name.as_str());
        self.inner
            .states
            .from_jira(&status.name, resolution, &status.category_key())
    }

    /// Searches Jira for issues carrying these findings' dedup labels, in one
    /// query. Matches are exact: the label must be on the issue, and when a
    /// finding-id field is configured its value must equal the finding id.
    /// When several issues carry one finding's label (made by something
    /// else), the oldest is taken.
    pub(crate) async fn find_existing(
        &self,
        ids: &[FindingId],
    ) -> Result<HashMap<FindingId, Issue>, SyncError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let by_label: HashMap<String, &FindingId> =
            ids.iter().map(|id| (dedup_label(id), id)).collect();
        let labels: Vec<String> = by_label.keys().map(|l| jql_string(l)).collect();
        let jql = format!(
            "project = {} AND labels in ({}) ORDER BY created ASC",
            jql_string(self.inner.template.project_key()),
            labels.join(", ")
        );
        let id_field = self.inner.template.finding_id_field().cloned();
        let mut fields = vec!["labels", "status", "resolution", "created"];
        if let Some(f) = &id_field {
            fields.push(f.as_str());
        }
        let issues = self.inner.client.search_all(&jql, &fields).await?;
        let mut found: HashMap<FindingId, Issue> = HashMap::new();
        for issue in issues {
            for label in &issue.fields.labels {
                let Some(&id) = by_label.get(label) else {
                    continue;
                };
                if let Some(field) = &id_field {
                    match issue.field_values(field) {
                        Ok(values)
                            if values.is_empty() || values.iter().any(|v| v == id.as_str()) => {}
                        _ => continue,
                    }
                }
                found.entry(id.clone()).or_insert_with(|| issue.clone());
            }
        }
        Ok(found)
    }
}

/// A JQL string literal.
pub(crate) fn jql_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(crate) fn duration_ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jql_strings_are_escaped() {
        assert_eq!(jql_string("SEC"), "\"SEC\"");
        assert_eq!(jql_string("a\"b\\c\nd"), "\"a\\\"b\\\\c d\"");
    }
}
