//! Outbound: a finding that matches the rule gets exactly one Jira issue.
//!
//! The order of a push is what makes it duplicate-free: claim the finding in
//! the store (atomic across tasks, processes and replicas; the claim is the
//! record of the create about to be sent, renewed while it is in flight) →
//! when an earlier attempt may have reached Jira, search Jira for the
//! finding's dedup label, and trust "not there" only from a search made a
//! consistency window after that attempt (Jira's search lags behind its
//! writes) → create → record the link, fenced by the claim. A create that
//! may have reached Jira (timeout, reset connection, 5xx) leaves the claim
//! in doubt, so whoever tries next checks first.

use crate::clock::duration_ms;
use crate::decision::{Decision, decide};
use crate::engine_core::Core;
use crate::error::SyncError;
use crate::jql::jql_string;
use crate::lease::ClaimLease;
use crate::store::{Claim, Doubt, Fence, Link, PendingOp, Release};
use jira_model::{Issue, IssueKey};
use penaxtra_mapping::{
    Finding, FindingId, FindingState, IssueTemplate, Rule, StateTable, dedup_label,
};
use std::collections::HashMap;

/// What happened to one finding.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PushOutcome {
    /// A new issue was created.
    Created {
        /// Its key.
        issue_key: IssueKey,
    },
    /// The issue already existed in Jira (an earlier attempt reached it) and
    /// is now linked.
    Recovered {
        /// Its key.
        issue_key: IssueKey,
    },
    /// The finding was already linked.
    AlreadyLinked {
        /// Its key.
        issue_key: IssueKey,
    },
    /// The finding does not match the rule.
    Skipped,
    /// A create for this finding is parked for a person (its issue was
    /// deleted in Jira); retry or drop the parked operation.
    Parked {
        /// The parked operation's error, with its fix.
        reason: String,
    },
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

/// The kind of a [`PushOutcome`], without its details: what
/// [`crate::BackfillReport::count`] counts. [`PushKind::code`] is its
/// stable string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PushKind {
    /// `created`: a new issue was created.
    Created,
    /// `recovered`: an issue an earlier attempt made was found and linked.
    Recovered,
    /// `already_linked`: the finding had its issue.
    AlreadyLinked,
    /// `skipped`: the finding does not match the rule.
    Skipped,
    /// `parked`: a create for it is parked for a person.
    Parked,
    /// `queued`: kept in the queue, retried by the worker.
    Queued,
    /// `failed`: a person must act; the operation is parked.
    Failed,
}

impl PushKind {
    /// The stable code: `created`, `recovered`, `already_linked`,
    /// `skipped`, `parked`, `queued`, `failed`.
    pub fn code(self) -> &'static str {
        match self {
            PushKind::Created => "created",
            PushKind::Recovered => "recovered",
            PushKind::AlreadyLinked => "already_linked",
            PushKind::Skipped => "skipped",
            PushKind::Parked => "parked",
            PushKind::Queued => "queued",
            PushKind::Failed => "failed",
        }
    }
}

impl std::fmt::Display for PushKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.code())
    }
}

impl PartialEq<&str> for PushKind {
    fn eq(&self, other: &&str) -> bool {
        self.code() == *other
    }
}

impl PushOutcome {
    /// Its kind; `kind().code()` is a stable string.
    pub fn kind(&self) -> PushKind {
        match self {
            PushOutcome::Created { .. } => PushKind::Created,
            PushOutcome::Recovered { .. } => PushKind::Recovered,
            PushOutcome::AlreadyLinked { .. } => PushKind::AlreadyLinked,
            PushOutcome::Skipped => PushKind::Skipped,
            PushOutcome::Parked { .. } => PushKind::Parked,
            PushOutcome::Queued { .. } => PushKind::Queued,
            PushOutcome::Failed { .. } => PushKind::Failed,
        }
    }

    /// The issue key, when the finding has an issue.
    pub fn issue_key(&self) -> Option<&IssueKey> {
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

/// A claim this process holds for a create: its fence, the doubt it
/// inherited, and when (monotonic) the store answered it.
pub(crate) struct Claimed<'d> {
    pub(crate) fence: Fence,
    pub(crate) doubt: Option<&'d Doubt>,
    pub(crate) claimed_at: std::time::Duration,
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

/// The push handle: what creating issues needs (the engine core, the
/// template, the rule and the state table), and nothing else. Backfills
/// (`backfill.rs`) use it too.
pub(crate) struct Pusher<'s> {
    pub(crate) core: &'s Core,
    pub(crate) template: &'s IssueTemplate,
    pub(crate) rule: &'s Rule,
    pub(crate) states: &'s StateTable,
}

impl Pusher<'_> {
    /// The create request of a finding. When the template sets priorities
    /// or SLA due dates, the target's create screen is read first (kept ten
    /// minutes): the due date is set only when `duedate` is on the screen,
    /// and a priority the project's scheme lacks is refused here, naming
    /// the priorities it has, before anything is sent.
    pub(crate) async fn render(
        &self,
        finding: &Finding,
    ) -> Result<jira_model::CreateIssueRequest, SyncError> {
        let flavor = self.core.client.flavor();
        let config = self.template.config();
        if config.priorities.is_empty() && config.sla_days.is_empty() {
            return Ok(self.template.render(finding, flavor)?);
        }
        let (project, issue_type) = self.template.target(finding);
        let now_ms = self.core.now_ms();
        let screen = self
            .core
            .screens
            .get(&self.core.client, project, issue_type, now_ms)
            .await?;
        let context = match u64::try_from(now_ms)
            .ok()
            .and_then(jira_model::Date::from_unix_ms)
        {
            Some(today) => penaxtra_mapping::RenderContext::new(today, screen.due_date),
            None => penaxtra_mapping::RenderContext::default(),
        };
        let request = self.template.render_with(finding, flavor, &context)?;
        if let Some(jira_model::PriorityRef::Name(name)) = &request.fields.priority {
            let known = screen.priorities.iter().any(|p| p == name);
            if !screen.priority || (!screen.priorities.is_empty() && !known) {
                let reason = if screen.priority {
                    format!(
                        "{name:?} is not a priority of project {project}; it has {}",
                        screen.priorities.join(", ")
                    )
                } else {
                    format!(
                        "the priority field is not on the create screen of {project} {issue_type:?}; add it or remove the priority"
                    )
                };
                return Err(penaxtra_mapping::MappingError::Config {
                    field: format!("template.priorities.{}", finding.severity),
                    reason,
                }
                .into());
            }
        }
        Ok(request)
    }

    /// [`crate::JiraSync::push`].
    pub(crate) async fn push(&self, finding: &Finding) -> Result<PushOutcome, SyncError> {
        use tracing::Instrument;
        let span = tracing::info_span!("push", finding = %finding.id);
        let outcome = self.push_in_span(finding).instrument(span).await;
        if let Ok(o) = &outcome {
            crate::metrics::push(o.kind().code());
        }
        outcome
    }

    async fn push_in_span(&self, finding: &Finding) -> Result<PushOutcome, SyncError> {
        match self.try_push(finding).await {
            Ok(Attempt::Done(outcome)) => Ok(outcome),
            Ok(Attempt::Busy) => {
                // The holder may die: check again after its lease.
                let due = self.core.now_ms() + duration_ms(self.core.settings.claim_lease);
                self.core
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
    /// parked for a person otherwise ([`decide`]).
    pub(crate) async fn defer(
        &self,
        op: PendingOp,
        error: SyncError,
    ) -> Result<PushOutcome, SyncError> {
        let now = self.core.now_ms();
        let message = format!("{}: {error}", error.code());
        match decide(&error, 0) {
            Decision::Retry { at_least } => {
                let due = now + duration_ms(self.core.retry_delay(0, at_least));
                self.core.store.enqueue(&op, due, Some(&message)).await?;
                tracing::info!(finding = %op.finding(), code = error.code(), "queued for retry");
                Ok(PushOutcome::Queued {
                    code: error.code(),
                    retry_at_ms: due,
                })
            }
            Decision::Park => {
                let queued = self.core.store.enqueue(&op, now, Some(&message)).await?;
                self.core.store.park(queued, &message).await?;
                tracing::warn!(finding = %op.finding(), code = error.code(), fix = error.fix(), "parked until a person acts");
                Ok(PushOutcome::Failed { error })
            }
        }
    }

    /// One attempt at pushing, without deferral.
    pub(crate) async fn try_push(&self, finding: &Finding) -> Result<Attempt, AttemptError> {
        let store = &self.core.store;
        let lease = duration_ms(self.core.settings.claim_lease);
        let sent = self.core.clock.monotonic();
        let (fence, doubt) = match store
            .claim(&finding.id, &self.core.owner, self.core.now_ms(), lease)
            .await
            .map_err(SyncError::from)?
        {
            Claim::Linked(link) => {
                return Ok(Attempt::Done(PushOutcome::AlreadyLinked {
                    issue_key: link.issue_key,
                }));
            }
            Claim::Parked { reason } => return Ok(Attempt::Done(PushOutcome::Parked { reason })),
            Claim::Busy => return Ok(Attempt::Busy),
            Claim::Acquired { fence, doubt } => (fence, doubt),
        };
        let claimed_at = self.core.clock.monotonic();
        let held = ClaimLease::hold(self.core, vec![(finding.id.clone(), fence, sent)]);
        let matches = self.rule.matches(finding);
        if !matches && doubt.is_none() {
            store
                .release(&finding.id, fence, Release::Kept)
                .await
                .map_err(SyncError::from)?;
            return Ok(Attempt::Done(PushOutcome::Skipped));
        }
        let mut left = Release::Kept;
        let claimed = Claimed {
            fence,
            doubt: doubt.as_ref(),
            claimed_at,
        };
        match self
            .create_claimed(finding, &claimed, &held, &mut left, matches)
            .await
        {
            Ok(outcome) => Ok(Attempt::Done(outcome)),
            Err(error) => {
                if let SyncError::Jira(e) = &error
                    && e.may_have_been_sent()
                {
                    left = Release::Raised {
                        at_ms: self.core.now_ms(),
                    };
                }
                match store.release(&finding.id, fence, left).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(finding = %finding.id, %fence, "claim lost while pushing; the next holder checks Jira first");
                    }
                    Err(e) => {
                        // The lease runs out by itself and the recovery pass
                        // queues the create again; its claimant checks Jira
                        // first, so nothing is duplicated.
                        tracing::warn!(finding = %finding.id, code = e.code(), "could not release a claim");
                    }
                }
                Err(AttemptError { error })
            }
        }
    }

    /// Whether Jira may still hide an issue that the attempts behind
    /// `doubt` created from search: `Some(wait)` until the consistency
    /// window has passed. The doubt's age is the store's measure (replicas'
    /// clocks do not enter it); the rest is waited on this process's
    /// monotonic clock from `claimed_at`, when the claim was answered. A
    /// doubt left by a holder that expired counts from its expiry plus the
    /// longest its last write may have taken ([`Core::write_grace`]).
    pub(crate) fn search_not_yet_trusted(
        &self,
        doubt: &Doubt,
        claimed_at: std::time::Duration,
    ) -> Option<std::time::Duration> {
        let mut needed = self.core.consistency_window();
        if doubt.expired_holder {
            needed += self.core.write_grace();
        }
        let age = std::time::Duration::from_millis(u64::try_from(doubt.age_ms).unwrap_or(0));
        let trusted_at = claimed_at + needed.saturating_sub(age);
        let now = self.core.clock.monotonic();
        (now < trusted_at).then(|| trusted_at - now)
    }

    /// With the claim held: check Jira when in doubt (or always, by
    /// setting), create when the finding matches, link under the fence.
    /// `left` is updated to what a release must leave if this fails.
    async fn create_claimed(
        &self,
        finding: &Finding,
        claimed: &Claimed<'_>,
        held: &ClaimLease,
        left: &mut Release,
        matches: bool,
    ) -> Result<PushOutcome, SyncError> {
        let fence = claimed.fence;
        if let Some(doubt) = claimed.doubt
            && !doubt.issue_ids.is_empty()
        {
            // Issues an earlier attempt is known to have made: read them by
            // id, which Jira answers consistently, before any search.
            let ids: Vec<&str> = doubt.issue_ids.iter().map(String::as_str).collect();
            let found = self
                .confirm_by_id(&ids, std::slice::from_ref(&finding.id))
                .await?;
            if let Some(issue) = found.get(&finding.id) {
                return self.recovered(finding, issue, fence).await;
            }
        }
        if claimed.doubt.is_some() || self.core.settings.always_check_jira {
            let found = self
                .find_existing(std::slice::from_ref(&finding.id))
                .await?;
            if let Some(issue) = found.get(&finding.id) {
                return self.recovered(finding, issue, fence).await;
            }
            if let Some(doubt) = claimed.doubt {
                if let Some(wait) = self.search_not_yet_trusted(doubt, claimed.claimed_at) {
                    return Err(SyncError::AwaitingConsistency {
                        finding: finding.id.to_string(),
                        wait,
                    });
                }
                // A search made after the window found nothing: no issue.
                *left = Release::Cleared;
            }
        }
        if !matches {
            self.core.store.release(&finding.id, fence, *left).await?;
            return Ok(PushOutcome::Skipped);
        }
        let request = self.render(finding).await?;
        let created = self
            .create_issue_without_refused_options(&held.client(self.core), &request)
            .await?;
        // From here on the issue exists: a failure to link leaves doubt,
        // and its id is kept for whoever claims the finding next.
        *left = Release::Raised {
            at_ms: self.core.now_ms(),
        };
        if let Err(e) = self
            .core
            .store
            .note_created(
                std::slice::from_ref(&finding.id),
                std::slice::from_ref(&created.id),
            )
            .await
        {
            tracing::warn!(finding = %finding.id, code = e.code(), "could not record the created issue's id; the next claimant searches for it");
        }
        self.record_link(finding, &created.key, &created.id, None, fence)
            .await?;
        Ok(PushOutcome::Created {
            issue_key: IssueKey::new(created.key)?,
        })
    }

    /// Links a finding to the issue an earlier attempt made.
    async fn recovered(
        &self,
        finding: &Finding,
        issue: &Issue,
        fence: Fence,
    ) -> Result<PushOutcome, SyncError> {
        self.record_link(finding, &issue.key, &issue.id, Some(issue), fence)
            .await?;
        Ok(PushOutcome::Recovered {
            issue_key: IssueKey::new(&issue.key)?,
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
        fence: Fence,
    ) -> Result<(), SyncError> {
        let now = self.core.now_ms();
        let jira_state = match existing {
            None => Some(FindingState::Open),
            Some(issue) => self.state_of_issue(issue),
        };
        let mut link = Link::new(
            finding.id.clone(),
            IssueKey::new(issue_key)?,
            issue_id,
            finding.state,
            now,
        );
        link.state_out = jira_state;
        self.core.store.insert_link(&link, Some(fence)).await?;
        if jira_state != Some(finding.state) {
            self.core
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
        crate::state_out::state_of_issue(self.states, issue)
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
            "{} AND labels in ({}) ORDER BY created ASC",
            crate::jql::projects_clause(&self.template.project_keys()),
            labels.join(", ")
        );
        let id_field = self.template.finding_id_field().cloned();
        let mut fields = vec!["labels", "status", "resolution", "created"];
        if let Some(f) = &id_field {
            fields.push(f.as_str());
        }
        let issues = self.core.client.search_all(&jql, &fields).await?;
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

impl Pusher<'_> {
    /// Reads issues by id, consistently: one search by id (on Cloud with
    /// `reconcileIssues`, so the index lag does not hide them; Data Center
    /// reads its own writes), then a read by id of any the search did not
    /// return. Issues Jira no longer has (deleted, or hidden from the
    /// account) are left out.
    pub(crate) async fn read_by_id(
        &self,
        ids: &[&str],
        fields: &[&str],
    ) -> Result<Vec<Issue>, SyncError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let client = &self.core.client;
        let jql = format!("id in ({})", ids.join(", "));
        let mut pages = client.search(&jql, fields).page_size(100);
        if client.flavor() == jira_model::Flavor::Cloud {
            pages = pages.reconcile(ids);
        }
        let mut issues: Vec<Issue> = pages.collect_all().await?;
        for id in ids {
            if issues.iter().any(|i| i.id == *id) {
                continue;
            }
            match client.get_issue(id, fields).await {
                Ok(issue) => issues.push(issue),
                Err(e) if e.kind() == jira_client::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(issues)
    }

    /// Which of the issues `ids` carry these findings' dedup labels: the
    /// issues earlier attempts are known to have created, confirmed by id.
    /// When several carry one finding's label, the oldest is taken.
    pub(crate) async fn confirm_by_id(
        &self,
        ids: &[&str],
        findings: &[FindingId],
    ) -> Result<HashMap<FindingId, Issue>, SyncError> {
        let by_label: HashMap<String, &FindingId> =
            findings.iter().map(|id| (dedup_label(id), id)).collect();
        let mut issues = self
            .read_by_id(ids, &["labels", "status", "resolution", "created"])
            .await?;
        issues.sort_by_key(crate::jira_time::creation_order);
        let mut found: HashMap<FindingId, Issue> = HashMap::new();
        for issue in issues {
            if let Some(&id) = issue.fields.labels.iter().find_map(|l| by_label.get(l)) {
                found.entry(id.clone()).or_insert(issue);
            }
        }
        Ok(found)
    }
}
