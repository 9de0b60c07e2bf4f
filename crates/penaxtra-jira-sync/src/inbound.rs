//! Inbound: what people decide in Jira comes back as finding states, once,
//! in order, and never as an echo of the integration's own changes.
//!
//! Webhooks (after the [gate](crate::webhook)) and reconciliation sweeps
//! share this path.

use crate::clock::Clock;
use crate::deliveries::DeliveryPruner;
use crate::host::{Findings, StateCause};
use crate::inbound_reason::InboundReason;
use crate::store::{Link, SyncStore};
use crate::webhook::VerifiedWebhook;
use jira_model::webhook::{WebhookEvent, WebhookEventKind};
use jira_model::{Issue, IssueKey, StatusName};
use penaxtra_mapping::{FindingId, FindingState, InboundPolicy, StateTable};
use std::sync::Arc;

/// Whether an event changed a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Disposition {
    /// The finding's state was changed.
    Applied,
    /// Nothing to do, for the stated reason; answered 2xx.
    Ignored,
    /// A transient failure; answered 5xx so Jira retries.
    Failed,
}

impl Disposition {
    /// `applied`, `ignored` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Applied => "applied",
            Disposition::Ignored => "ignored",
            Disposition::Failed => "failed",
        }
    }
}

/// What processing one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboundOutcome {
    /// Applied, ignored or failed.
    pub disposition: Disposition,
    /// Why; [`InboundReason::code`] is its stable string.
    pub reason: InboundReason,
    /// The issue key.
    pub issue: Option<IssueKey>,
    /// The finding.
    pub finding: Option<FindingId>,
    /// The finding's state before.
    pub from: Option<FindingState>,
    /// The finding's state after (or the state Jira asked for, when ignored).
    pub to: Option<FindingState>,
}

impl InboundOutcome {
    fn new(disposition: Disposition, reason: InboundReason) -> Self {
        Self {
            disposition,
            reason,
            issue: None,
            finding: None,
            from: None,
            to: None,
        }
    }
    fn ignored(reason: InboundReason) -> Self {
        Self::new(Disposition::Ignored, reason)
    }
    fn failed(reason: InboundReason) -> Self {
        Self::new(Disposition::Failed, reason)
    }
    /// With the issue, when Jira's key is one.
    fn issue(mut self, key: &str) -> Self {
        self.issue = IssueKey::new(key).ok();
        self
    }
    fn link(mut self, link: &Link) -> Self {
        self.issue = Some(link.issue_key.clone());
        self.finding = Some(link.finding_id.clone());
        self
    }

    /// The HTTP status to answer Jira: 200 when applied or safely ignored,
    /// 503 on a transient failure so that Jira delivers again.
    pub fn http_status(&self) -> u16 {
        match self.disposition {
            Disposition::Applied | Disposition::Ignored => 200,
            Disposition::Failed => 503,
        }
    }
}

/// Where an inbound change came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Webhook { delivery_id: Option<String> },
    Reconciliation,
}

/// Applies Jira-side changes to findings. [`crate::JiraSync::handle_webhook`] and
/// [`crate::JiraSync::reconcile`] use one; a receiver that only listens (no Jira
/// client at hand) builds its own with [`Inbound::new`].
#[derive(Clone)]
pub struct Inbound {
    store: Arc<dyn SyncStore>,
    findings: Arc<dyn Findings>,
    states: StateTable,
    policy: InboundPolicy,
    project_keys: Vec<String>,
    service_account: Option<String>,
    clock: Arc<dyn Clock>,
    deliveries: DeliveryPruner,
    max_event_age_ms: Option<i64>,
}

impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbound")
            .field("store", &self.store)
            .field("policy", &self.policy)
            .field("project_keys", &self.project_keys)
            .field("service_account", &self.service_account)
            .finish_non_exhaustive()
    }
}

impl Inbound {
    /// Inbound processing as one configuration file describes it: the
    /// project, state table and inbound policy of its mapping, and its
    /// `service_account` (whose changes are echoes). For a receiver that
    /// runs without a Jira client.
    ///
    /// # Errors
    /// [`crate::config::ConfigError`] naming the setting at fault.
    pub fn from_config(
        config: &crate::config::SyncConfig,
        store: Arc<dyn SyncStore>,
        findings: Arc<dyn Findings>,
    ) -> Result<Self, crate::config::ConfigError> {
        let mapping = config.checked_mapping()?;
        Ok(Self::new(store, findings, mapping.template.project_key())
            .projects(mapping.template.project_keys())
            .states(mapping.states)
            .policy(mapping.inbound)
            .service_account(config.service_account.clone())
            .max_event_age(config.settings.to_settings()?.max_event_age))
    }

    /// Inbound processing for issues of `project_key`, with the default
    /// state table and inbound policy, no service account (echoes are then
    /// recognised by expected status only) and the system clock: set each
    /// with the methods below, or use [`Inbound::from_config`].
    pub fn new(
        store: Arc<dyn SyncStore>,
        findings: Arc<dyn Findings>,
        project_key: impl Into<String>,
    ) -> Self {
        Self {
            store,
            findings,
            states: StateTable::default(),
            policy: InboundPolicy::default(),
            project_keys: vec![project_key.into()],
            service_account: None,
            clock: Arc::new(crate::clock::SystemClock::new()),
            deliveries: DeliveryPruner::new(crate::DEFAULT_DELIVERY_RETENTION),
            max_event_age_ms: None,
        }
    }
    /// How long delivery ids are remembered (default
    /// [`crate::DEFAULT_DELIVERY_RETENTION`]); older ones are pruned.
    pub fn delivery_retention(mut self, retention: std::time::Duration) -> Self {
        self.deliveries = DeliveryPruner::new(retention);
        self
    }
    /// Every project whose issues are the integration's (default: the one
    /// given to [`Inbound::new`]; with routes, every route's project, as
    /// [`penaxtra_mapping::IssueTemplate::project_keys`] lists them). An
    /// empty list keeps the current one.
    pub fn projects<I: IntoIterator<Item = S>, S: Into<String>>(mut self, keys: I) -> Self {
        let keys: Vec<String> = keys.into_iter().map(Into::into).collect();
        if !keys.is_empty() {
            self.project_keys = keys;
        }
        self
    }
    /// Sets the state table (default: [`StateTable::default`]).
    pub fn states(mut self, states: StateTable) -> Self {
        self.states = states;
        self
    }
    /// Sets the inbound policy (default: [`InboundPolicy::default`],
    /// terminal states only).
    pub fn policy(mut self, policy: InboundPolicy) -> Self {
        self.policy = policy;
        self
    }
    /// The identity (Cloud account id, Data Center key or name) of the
    /// integration's own Jira account: its changes are echoes (default:
    /// none; echoes are then recognised by expected status only).
    pub fn service_account(mut self, identity: Option<String>) -> Self {
        self.service_account = identity;
        self
    }
    /// Refuses webhooks older than `age` on this processor's clock
    /// ([`InboundReason::TimestampTooOld`]; default `None`: no limit; see
    /// [`crate::SyncSettings::max_event_age`]).
    pub fn max_event_age(mut self, age: Option<std::time::Duration>) -> Self {
        self.max_event_age_ms = age.map(crate::clock::duration_ms);
        self
    }
    /// Injects a clock (default: the system clock; an engine's processor
    /// reads the engine's clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// Shares a delivery-mark pruner (an engine's processors share one).
    pub(crate) fn deliveries(mut self, deliveries: DeliveryPruner) -> Self {
        self.deliveries = deliveries;
        self
    }
    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

impl Inbound {
    /// Processes a webhook that passed the [gate](crate::webhook::WebhookGate):
    /// drops duplicate deliveries (by delivery id and by issue + changelog
    /// id), stale events and echoes of the integration's own transitions,
    /// maps the issue's status through the state table, applies the inbound
    /// policy and changes the finding through the host. Answer Jira with
    /// [`InboundOutcome::http_status`]: 2xx only once the change is durable
    /// or the event is safely ignored.
    pub async fn handle_webhook(&self, webhook: &VerifiedWebhook) -> InboundOutcome {
        use tracing::Instrument;
        let span = tracing::info_span!(
            "webhook",
            delivery = webhook.delivery_id.as_deref().unwrap_or("-"),
            issue = webhook.event.issue.as_ref().map_or("-", |i| i.key.as_str()),
        );
        let outcome = self.handle_in_span(webhook).instrument(span).await;
        crate::metrics::inbound(
            "webhook",
            outcome.disposition.as_str(),
            outcome.reason.code(),
        );
        tracing::debug!(
            outcome = outcome.disposition.as_str(),
            reason = outcome.reason.code(),
            finding = outcome.finding.as_ref().map_or("-", |f| f.as_str()),
            "webhook handled"
        );
        outcome
    }

    async fn handle_in_span(&self, webhook: &VerifiedWebhook) -> InboundOutcome {
        let event = &webhook.event;
        let store = &self.store;
        let now = self.now_ms();

        // A connection test's synthetic issue: record that it arrived, for
        // the test's round-trip step, and change nothing else.
        if let Some((id, key)) = self.connection_test_issue(event) {
            let mark = crate::marks::round_trip_mark(id, &key);
            return match store.first_delivery(&mark, now).await {
                Ok(_) => {
                    tracing::info!(issue = %key, "connection test webhook received");
                    InboundOutcome::ignored(InboundReason::ConnectionTest).issue(key.as_str())
                }
                Err(e) => {
                    tracing::warn!(code = e.code(), "store unavailable for a webhook");
                    InboundOutcome::failed(InboundReason::StoreUnavailable).issue(key.as_str())
                }
            };
        }

        // Time is bounded: an event from further ahead than any clock
        // difference with Jira explains is refused before it is recorded,
        // so it can neither apply nor make later real events look stale.
        if let Some(at) = event.timestamp
            && at > now.saturating_add(crate::clock::duration_ms(MAX_EVENT_AHEAD))
        {
            tracing::warn!(
                ahead_ms = at - now,
                "webhook timestamp far in the future; refused"
            );
            return InboundOutcome::ignored(InboundReason::TimestampAhead).with_issue(event);
        }
        // ... and, when the operator set an age, from the past: older than
        // the marks that recognise a replayed body are kept, it cannot be
        // told from a replay.
        if let (Some(at), Some(max_age)) = (event.timestamp, self.max_event_age_ms)
            && at < now.saturating_sub(max_age)
        {
            tracing::warn!(
                age_ms = now - at,
                "webhook older than the delivery marks are kept; refused"
            );
            return InboundOutcome::ignored(InboundReason::TimestampTooOld).with_issue(event);
        }

        // Duplicates: the delivery id (an unsigned header), then the
        // content: issue + changelog id, or issue + timestamp when Jira
        // sent no changelog, so a captured body replayed under a new
        // delivery id is recognised.
        let mut marks: Vec<String> = Vec::new();
        if let Some(id) = &webhook.delivery_id {
            marks.push(format!("delivery:{id}"));
        }
        if let Some(issue) = &event.issue {
            match (
                event.changelog.as_ref().and_then(|c| c.id.as_ref()),
                event.timestamp,
            ) {
                (Some(changelog_id), _) => {
                    marks.push(format!("changelog:{}:{changelog_id}", issue.id));
                }
                (None, Some(at)) => marks.push(format!("event:{}:{at}", issue.id)),
                (None, None) => {}
            }
        }
        let relevant = matches!(event.webhook_event, WebhookEventKind::IssueUpdated);
        if relevant {
            for (n, mark) in marks.iter().enumerate() {
                match store.first_delivery(mark, now).await {
                    Ok(true) => {}
                    Ok(false) => {
                        self.forget(&marks[..n]).await;
                        return InboundOutcome::ignored(InboundReason::DuplicateDelivery)
                            .with_issue(event);
                    }
                    Err(e) => {
                        tracing::warn!(code = e.code(), "store unavailable for a webhook");
                        self.forget(&marks[..n]).await;
                        return InboundOutcome::failed(InboundReason::StoreUnavailable)
                            .with_issue(event);
                    }
                }
            }
        }
        if relevant {
            self.deliveries.maybe_prune(store.as_ref(), now).await;
        }
        let outcome = self.process_event(event, webhook.delivery_id.clone()).await;
        if outcome.disposition == Disposition::Failed && relevant {
            // Let Jira's retry through the duplicate check.
            self.forget(&marks).await;
        }
        outcome
    }

    /// The key of a connection test's synthetic issue of this project that
    /// the event was created or updated, if it is one.
    fn connection_test_issue<'e>(&self, event: &'e WebhookEvent) -> Option<(&'e str, IssueKey)> {
        if !matches!(
            event.webhook_event,
            WebhookEventKind::IssueCreated | WebhookEventKind::IssueUpdated
        ) {
            return None;
        }
        let issue = event.issue.as_ref()?;
        let tagged = issue
            .fields
            .labels
            .iter()
            .any(|l| l == crate::marks::CONNECTION_TEST_LABEL);
        if !tagged || !issue_in_project(&issue.key, &self.project_keys) {
            return None;
        }
        Some((issue.id.as_str(), IssueKey::new(&issue.key).ok()?))
    }

    async fn forget(&self, marks: &[String]) {
        for mark in marks {
            if let Err(e) = self.store.forget_delivery(mark).await {
                tracing::warn!(code = e.code(), "could not forget a delivery mark");
            }
        }
    }

    async fn process_event(
        &self,
        event: &WebhookEvent,
        delivery_id: Option<String>,
    ) -> InboundOutcome {
        match &event.webhook_event {
            WebhookEventKind::IssueUpdated => {}
            WebhookEventKind::IssueDeleted => {
                let Some(issue) = &event.issue else {
                    return InboundOutcome::ignored(InboundReason::NoIssue);
                };
                let Ok(key) = IssueKey::new(&issue.key) else {
                    return InboundOutcome::ignored(InboundReason::NoIssue);
                };
                return match self.store.link_by_issue(&key).await {
                    Ok(Some(link)) => {
                        tracing::warn!(issue = %issue.key, finding = %link.finding_id, "linked issue deleted in Jira");
                        // Jira's own word that it is deleted, not hidden: what
                        // lets reconciliation recreate it (`deletion_mark`).
                        let mark = deletion_mark(&link.issue_id);
                        if self
                            .store
                            .first_delivery(&mark, self.now_ms())
                            .await
                            .is_err()
                        {
                            return InboundOutcome::failed(InboundReason::StoreUnavailable)
                                .issue(&issue.key);
                        }
                        InboundOutcome::ignored(InboundReason::IssueDeleted).link(&link)
                    }
                    Ok(None) => InboundOutcome::ignored(InboundReason::NotLinked).issue(&issue.key),
                    Err(_) => {
                        InboundOutcome::failed(InboundReason::StoreUnavailable).issue(&issue.key)
                    }
                };
            }
            WebhookEventKind::IssueCreated => {
                return InboundOutcome::ignored(InboundReason::IssueCreated).with_issue(event);
            }
            k if k.is_comment() => {
                return InboundOutcome::ignored(InboundReason::Comment).with_issue(event);
            }
            _ => return InboundOutcome::ignored(InboundReason::NotAnIssueEvent).with_issue(event),
        }
        let Some(issue) = &event.issue else {
            return InboundOutcome::ignored(InboundReason::NoIssue);
        };
        if !event
            .items()
            .iter()
            .any(|i| i.is_field("status") || i.is_field("resolution"))
        {
            return InboundOutcome::ignored(InboundReason::NoStateChange).issue(&issue.key);
        }
        let actor_is_us = match event.user.as_ref().and_then(|u| u.identity()) {
            Some(actor) => self.service_account.as_deref() == Some(actor),
            None => false,
        };
        let status = event.change_of("status").and_then(|c| c.to_string.clone());
        self.apply_issue_state(
            issue,
            status,
            event.timestamp,
            actor_is_us,
            Source::Webhook { delivery_id },
        )
        .await
    }

    /// Applies the state of `issue` (its status, or `status_override` from the
    /// changelog, its resolution and category) to the linked finding.
    pub(crate) async fn apply_issue_state(
        &self,
        issue: &Issue,
        status_override: Option<String>,
        event_ms: Option<i64>,
        actor_is_us: bool,
        source: Source,
    ) -> InboundOutcome {
        let store = &self.store;
        if !issue_in_project(&issue.key, &self.project_keys) {
            return InboundOutcome::ignored(InboundReason::OtherProject).issue(&issue.key);
        }
        let Ok(key) = IssueKey::new(&issue.key) else {
            return InboundOutcome::ignored(InboundReason::NoIssue);
        };
        let mut link = match store.link_by_issue(&key).await {
            Ok(Some(link)) => link,
            Ok(None) => return InboundOutcome::ignored(InboundReason::NotLinked).issue(&issue.key),
            Err(_) => {
                return InboundOutcome::failed(InboundReason::StoreUnavailable).issue(&issue.key);
            }
        };
        let status = issue.fields.status.as_ref();
        let status_name = StatusName::new(
            status_override
                .or_else(|| status.map(|s| s.name.clone()))
                .unwrap_or_default(),
        );
        let category = status
            .filter(|s| status_name.is(&s.name))
            .map(|s| s.category_key())
            .unwrap_or(jira_model::StatusCategoryKey::Undefined);
        let resolution = issue.fields.resolution.as_ref().map(|r| r.name.as_str());
        let Some(wanted) = self
            .states
            .from_jira(status_name.as_str(), resolution, &category)
        else {
            return InboundOutcome::ignored(InboundReason::UnmappedStatus).link(&link);
        };
        let mut out = InboundOutcome::ignored(InboundReason::Echo).link(&link);
        out.to = Some(wanted);

        // Our own change coming back: by the acting account, or the status
        // the integration moved the issue to (recorded before each step of a
        // walk, so an intermediate status of a walk in progress is ours too).
        let ours = link.expects(&status_name, resolution);
        if actor_is_us || ours {
            if source == Source::Reconciliation {
                // Jira shows a status we put there (perhaps mid-walk, or a
                // walk a crash cut short): the finding is the truth.
                return self.repair_outbound(&link, wanted, out).await;
            }
            return out;
        }
        if link
            .moving_until_ms
            .is_some_and(|until| until > self.now_ms())
        {
            // Our own change is in flight: Jira tries again later, when this
            // event can be judged against the time of our last move.
            out.disposition = Disposition::Failed;
            out.reason = InboundReason::OutboundInFlight;
            return out;
        }
        if let (Some(at), Some(last)) = (event_ms, link.last_event_ms)
            && at <= last
        {
            out.reason = InboundReason::Stale;
            return out;
        }
        if source == Source::Reconciliation && link.state_out == Some(wanted) {
            // Jira is where we last put it: nobody decided anything there
            // since, so the finding is the truth. When it moved on (a queued
            // change not yet made, or a change lost to a race), bring Jira
            // after it.
            out.reason = InboundReason::AlreadyInState;
            return self.repair_outbound(&link, wanted, out).await;
        }
        if !self.policy.allows(&self.states, wanted) {
            out.reason = InboundReason::PolicyTerminalOnly;
            return out;
        }
        let finding = match self.findings.finding(&link.finding_id).await {
            Ok(Some(f)) => f,
            Ok(None) => {
                out.reason = InboundReason::FindingGone;
                return out;
            }
            Err(e) => {
                out.disposition = if e.is_retryable() {
                    Disposition::Failed
                } else {
                    Disposition::Ignored
                };
                out.reason = InboundReason::HostUnavailable;
                return out;
            }
        };
        out.from = Some(finding.state);
        if finding.state != wanted {
            let cause = match source.clone() {
                Source::Webhook { delivery_id } => StateCause::JiraWebhook {
                    issue_key: link.issue_key.clone(),
                    delivery_id,
                },
                Source::Reconciliation => StateCause::Reconciliation {
                    issue_key: link.issue_key.clone(),
                },
            };
            if let Err(e) = self.findings.set_state(&finding.id, wanted, cause).await {
                out.disposition = if e.is_retryable() {
                    Disposition::Failed
                } else {
                    Disposition::Ignored
                };
                out.reason = InboundReason::HostUnavailable;
                return out;
            }
            out.disposition = Disposition::Applied;
            out.reason = InboundReason::StateChanged;
        } else {
            out.reason = InboundReason::AlreadyInState;
        }
        link.state_in = Some(wanted);
        link.state_out = Some(wanted);
        link.expected_statuses.clear();
        if let Some(at) = event_ms {
            link.last_event_ms = Some(link.last_event_ms.map_or(at, |l| l.max(at)));
        }
        link.updated_ms = self.now_ms();
        if store.update_link(&link).await.is_err() {
            // The host change is idempotent: let Jira deliver again.
            out.disposition = Disposition::Failed;
            out.reason = InboundReason::StoreUnavailable;
        }
        out
    }
}

/// How far ahead of this process's clock a webhook's `timestamp` may be
/// (10 minutes): more than Jira's and our clocks disagree by in practice.
/// A later one is refused with [`InboundReason::TimestampAhead`].
pub const MAX_EVENT_AHEAD: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// The delivery mark a verified `jira:issue_deleted` event leaves for the
/// issue with id `issue_id`: a 404 alone cannot tell a deleted issue from
/// one issue security hides from the service account, so a linked issue is
/// only recreated once Jira said it was deleted.
pub(crate) fn deletion_mark(issue_id: &str) -> String {
    format!("issue-deleted:{issue_id}")
}

impl Inbound {
    /// Reconciliation found Jira in a status the integration put it in
    /// (`jira_state`): when the finding is elsewhere, queue the outbound
    /// change that brings Jira after it.
    async fn repair_outbound(
        &self,
        link: &Link,
        jira_state: FindingState,
        mut out: InboundOutcome,
    ) -> InboundOutcome {
        let finding = match self.findings.finding(&link.finding_id).await {
            Ok(Some(f)) => f,
            Ok(None) => return out,
            Err(_) => {
                out.disposition = Disposition::Failed;
                out.reason = InboundReason::HostUnavailable;
                return out;
            }
        };
        out.from = Some(finding.state);
        if finding.state == jira_state {
            return out;
        }
        let op = crate::store::PendingOp::SetState {
            finding: finding.id.clone(),
            state: finding.state,
        };
        match self
            .store
            .enqueue(
                &op,
                self.now_ms(),
                Some("reconciliation: Jira is behind the finding"),
            )
            .await
        {
            Ok(_) => {
                tracing::info!(issue = %link.issue_key, finding = %finding.id, state = %finding.state, "queued the change Jira is missing");
                out.reason = InboundReason::OutboundQueued;
            }
            Err(_) => {
                out.disposition = Disposition::Failed;
                out.reason = InboundReason::StoreUnavailable;
            }
        }
        out
    }
}

impl InboundOutcome {
    fn with_issue(self, event: &WebhookEvent) -> Self {
        match &event.issue {
            Some(i) => self.issue(&i.key),
            None => self,
        }
    }
}

fn issue_in_project(key: &str, projects: &[String]) -> bool {
    key.rsplit_once('-')
        .is_some_and(|(p, _)| projects.iter().any(|x| p.eq_ignore_ascii_case(x)))
}
