//! [`JiraSync`]: the engine that pushes findings, moves issues through their
//! workflow, applies Jira's changes back and retries what could not be done.

use crate::clock::Clock;
use crate::engine_core::Core;
use crate::host::Findings;
use crate::settings::SyncSettings;
use crate::store::SyncStore;
use crate::workflow::WorkflowMap;
use jira_client::JiraClient;
use penaxtra_mapping::{InboundPolicy, IssueTemplate, Rule, StateTable};
use std::sync::{Arc, Mutex};

/// The sync engine: the facade a host holds. Cheap to clone; clones share
/// everything.
///
/// Every concern works through a narrow handle that borrows only what it
/// needs: push and backfill through `Pusher` (`push.rs`, `backfill.rs`),
/// state out through `StateOut` (`state_out.rs`), inbound through
/// [`crate::Inbound`], reconciliation and healing through `Reconciler`
/// (`reconcile.rs`, `heal.rs`). Their shared part is the engine `Core`: the
/// Jira client, the store, the clock, the settings and the claim owner. No
/// other file reaches into the engine's fields.
#[derive(Clone)]
pub struct JiraSync {
    inner: Arc<Inner>,
}

struct Inner {
    core: Core,
    findings: Arc<dyn Findings>,
    template: IssueTemplate,
    rule: Rule,
    states: StateTable,
    inbound: InboundPolicy,
    workflow: Mutex<WorkflowMap>,
    inbound_processor: tokio::sync::OnceCell<crate::Inbound>,
    deliveries: crate::deliveries::DeliveryPruner,
}

impl std::fmt::Debug for JiraSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let core = &self.inner.core;
        f.debug_struct("JiraSync")
            .field("client", &core.client)
            .field("store", &core.store)
            .field("owner", &core.owner)
            .field("settings", &core.settings)
            .finish_non_exhaustive()
    }
}

/// Builds a [`JiraSync`].
pub struct JiraSyncBuilder {
    client: JiraClient,
    store: Arc<dyn SyncStore>,
    findings: Arc<dyn Findings>,
    template: IssueTemplate,
    rule: Rule,
    states: StateTable,
    inbound: InboundPolicy,
    clock: Option<Arc<dyn Clock>>,
    settings: SyncSettings,
    owner: Option<String>,
}

impl JiraSync {
    /// Starts a builder with the three things every engine needs: a Jira
    /// client, a sync store and the host's findings. The template, rule and
    /// state table default to the product page's defaults.
    pub fn builder(
        client: JiraClient,
        store: Arc<dyn SyncStore>,
        findings: Arc<dyn Findings>,
    ) -> JiraSyncBuilder {
        JiraSyncBuilder {
            client,
            store,
            findings,
            template: IssueTemplate::default(),
            rule: Rule::default(),
            states: StateTable::default(),
            inbound: InboundPolicy::default(),
            clock: None,
            settings: SyncSettings::default(),
            owner: None,
        }
    }

    /// The Jira client.
    pub fn client(&self) -> &JiraClient {
        &self.inner.core.client
    }

    /// The sync store.
    pub fn store(&self) -> &Arc<dyn SyncStore> {
        &self.inner.core.store
    }

    /// The issue template.
    pub fn template(&self) -> &IssueTemplate {
        &self.inner.template
    }

    /// The state table.
    pub fn states(&self) -> &StateTable {
        &self.inner.states
    }

    /// The mapping rule.
    pub fn rule(&self) -> &Rule {
        &self.inner.rule
    }

    /// The settings the engine runs with.
    pub fn settings(&self) -> &SyncSettings {
        &self.inner.core.settings
    }

    /// The host's findings.
    pub(crate) fn findings(&self) -> &Arc<dyn Findings> {
        &self.inner.findings
    }

    /// The delivery-mark pruner every processor of this engine shares.
    pub(crate) fn deliveries(&self) -> &crate::deliveries::DeliveryPruner {
        &self.inner.deliveries
    }

    /// The engine's shared part.
    pub(crate) fn core(&self) -> &Core {
        &self.inner.core
    }

    /// The push and backfill handle.
    pub(crate) fn pusher(&self) -> crate::push::Pusher<'_> {
        crate::push::Pusher {
            core: &self.inner.core,
            template: &self.inner.template,
            rule: &self.inner.rule,
            states: &self.inner.states,
        }
    }

    /// The state-out handle.
    pub(crate) fn state_out(&self) -> crate::state_out::StateOut<'_> {
        crate::state_out::StateOut {
            core: &self.inner.core,
            states: &self.inner.states,
            workflow: &self.inner.workflow,
        }
    }

    /// The reconciliation handle, with the inbound processor sweeps apply
    /// their findings through.
    pub(crate) async fn reconciler(&self) -> crate::reconcile::Reconciler<'_> {
        crate::reconcile::Reconciler {
            core: &self.inner.core,
            template: &self.inner.template,
            findings: self.inner.findings.as_ref(),
            state_out: self.state_out(),
            inbound: self.cached_inbound().await,
        }
    }

    /// The inbound processor, built once with the identity of the account
    /// the client acts as (its changes are echoes). When Jira will not say
    /// who we are, a processor without it is used for this call, and the
    /// lookup is tried again on the next.
    pub(crate) async fn cached_inbound(&self) -> std::borrow::Cow<'_, crate::Inbound> {
        let built = self
            .inner
            .inbound_processor
            .get_or_try_init(|| async {
                let me = self.inner.core.client.myself().await?;
                Ok::<_, jira_client::Error>(self.build_inbound(me.identity().map(str::to_string)))
            })
            .await;
        match built {
            Ok(inbound) => std::borrow::Cow::Borrowed(inbound),
            Err(e) => {
                tracing::warn!(
                    code = e.code(),
                    "could not read the service account; echo detection falls back to states"
                );
                std::borrow::Cow::Owned(self.build_inbound(None))
            }
        }
    }

    fn build_inbound(&self, service_account: Option<String>) -> crate::Inbound {
        crate::Inbound::new(
            Arc::clone(&self.inner.core.store),
            Arc::clone(&self.inner.findings),
            self.inner.template.project_key(),
        )
        .projects(self.inner.template.project_keys())
        .states(self.inner.states.clone())
        .policy(self.inner.inbound)
        .service_account(service_account)
        .clock(Arc::clone(&self.inner.core.clock))
        .deliveries(self.inner.deliveries.clone())
        .max_event_age(self.inner.core.settings.max_event_age)
    }

    /// Pushes one finding: creates its issue when it matches the rule and has
    /// none. Never creates a second issue for a finding. A failure that may
    /// pass (rate limit, timeout, Jira down) is queued for the worker and
    /// answered [`crate::PushOutcome::Queued`]; one a person must fix is
    /// parked and answered [`crate::PushOutcome::Failed`].
    ///
    /// # Errors
    /// [`crate::SyncError::Store`] when the sync store itself fails, so that
    /// the operation could not even be queued: the caller must keep it.
    pub async fn push(
        &self,
        finding: &penaxtra_mapping::Finding,
    ) -> Result<crate::PushOutcome, crate::SyncError> {
        self.pusher().push(finding).await
    }

    /// Mirrors a finding's new state on its Jira issue. An issue already in
    /// the target status (and resolution) gets no call. The change is
    /// queued in the store before any call to Jira and completed after, so
    /// a crash in between leaves it queued for the worker; failures are
    /// queued or parked as in [`JiraSync::push`].
    ///
    /// # Errors
    /// [`crate::SyncError::Store`] when the store fails so that the change
    /// could not even be queued.
    pub async fn set_state(
        &self,
        finding: &penaxtra_mapping::FindingId,
        state: penaxtra_mapping::FindingState,
    ) -> Result<crate::StateOutcome, crate::SyncError> {
        self.state_out().set_state(finding, state).await
    }

    /// Sweeps once: searches the project for issues with the integration's
    /// label updated since the last sweep (less an overlap), page by page,
    /// and applies each through the same path as a webhook; closes
    /// duplicates it meets. With `check_deleted`, also lists every labelled
    /// issue (keys only) and unlinks linked issues that are gone. The cursor
    /// only moves when the whole sweep succeeded.
    ///
    /// # Errors
    /// [`crate::SyncError::Jira`] or [`crate::SyncError::Store`] when the
    /// sweep could not complete; the cursor is left where it was.
    pub async fn reconcile(
        &self,
        check_deleted: bool,
    ) -> Result<crate::ReconcileReport, crate::SyncError> {
        self.reconciler().await.reconcile(check_deleted).await
    }

    /// The inbound processor of this engine.
    pub async fn inbound(&self) -> crate::Inbound {
        self.cached_inbound().await.into_owned()
    }

    /// Processes a webhook that passed the gate; see
    /// [`crate::Inbound::handle_webhook`].
    pub async fn handle_webhook(
        &self,
        webhook: &crate::webhook::VerifiedWebhook,
    ) -> crate::InboundOutcome {
        self.cached_inbound().await.handle_webhook(webhook).await
    }
}

impl JiraSync {
    /// Builds the engine one configuration file describes: the Jira client
    /// (its token opened), the checked mapping and the settings.
    ///
    /// # Errors
    /// [`crate::config::ConfigError`] naming the setting at fault.
    pub fn from_config(
        config: &crate::config::SyncConfig,
        store: Arc<dyn SyncStore>,
        findings: Arc<dyn Findings>,
    ) -> Result<JiraSync, crate::config::ConfigError> {
        JiraSync::builder(config.jira.client()?, store, findings)
            .mapping(config.checked_mapping()?)
            .settings(config.settings.to_settings()?)
            .build()
    }
}

impl JiraSyncBuilder {
    /// Sets rule, template, state table and inbound policy at once
    /// (default: each one's default, below).
    pub fn mapping(mut self, mapping: penaxtra_mapping::Mapping) -> Self {
        self.rule = mapping.rule;
        self.template = mapping.template;
        self.states = mapping.states;
        self.inbound = mapping.inbound;
        self
    }
    /// Sets the issue template (default: [`IssueTemplate::default`], project
    /// `SEC`, issue type `Bug`).
    pub fn template(mut self, template: IssueTemplate) -> Self {
        self.template = template;
        self
    }
    /// Sets the mapping rule (default: severity at least high and state
    /// open).
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rule = rule;
        self
    }
    /// Sets the state table (default: open↔Open, triaged↔In Progress,
    /// resolved↔Done, accepted↔Won't Do, false_positive↔Cancelled).
    pub fn states(mut self, states: StateTable) -> Self {
        self.states = states;
        self
    }
    /// Sets the inbound policy (default: [`InboundPolicy::default`], terminal
    /// states only).
    pub fn inbound(mut self, inbound: InboundPolicy) -> Self {
        self.inbound = inbound;
        self
    }
    /// Injects a clock for the engine alone (default: the Jira client's
    /// clock, set with [`jira_client::ClientBuilder::clock`], so one clock
    /// drives both; the engine reads its wall time and its jitter).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }
    /// Sets the tunables (default: [`SyncSettings::default`]; each field
    /// states its own).
    pub fn settings(mut self, settings: SyncSettings) -> Self {
        self.settings = settings;
        self
    }
    /// Names this worker in claims (default: a random id per engine). Give
    /// each replica a distinct, stable name to read claims in the store.
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// Finishes the engine.
    ///
    /// # Errors
    /// [`crate::config::ConfigError`] when the rule cannot match anything
    /// or a setting is out of range.
    pub fn build(self) -> Result<JiraSync, crate::config::ConfigError> {
        use crate::config::ConfigError;
        self.rule.check()?;
        let s = &self.settings;
        if s.chunk_size == 0 || s.chunk_size > jira_model::MAX_BULK_CREATE {
            return Err(ConfigError::invalid(
                "settings.chunk_size",
                "must be 1 to 50 (Jira's bulk create limit)",
            ));
        }
        if s.concurrency == 0 {
            return Err(ConfigError::invalid(
                "settings.concurrency",
                "must be at least 1",
            ));
        }
        if s.claim_lease.is_zero() {
            return Err(ConfigError::invalid(
                "settings.claim_lease",
                "must be longer than zero",
            ));
        }
        if s.retry_base.is_zero() || s.retry_max < s.retry_base {
            return Err(ConfigError::invalid(
                "settings.retry_base",
                "must be longer than zero and no longer than settings.retry_max",
            ));
        }
        if s.worker_batch == 0 {
            return Err(ConfigError::invalid(
                "settings.worker_batch",
                "must be at least 1",
            ));
        }
        if s.delivery_retention.is_zero() {
            return Err(ConfigError::invalid(
                "settings.delivery_retention",
                "must be longer than zero",
            ));
        }
        if s.max_transition_steps == 0 {
            return Err(ConfigError::invalid(
                "settings.max_transition_steps",
                "must be at least 1",
            ));
        }
        let owner = self.owner.unwrap_or_else(|| {
            use rand::Rng;
            format!("worker-{:016x}", rand::thread_rng().r#gen::<u64>())
        });
        let clock = self
            .clock
            .unwrap_or_else(|| Arc::clone(self.client.clock()));
        Ok(JiraSync {
            inner: Arc::new(Inner {
                deliveries: crate::deliveries::DeliveryPruner::new(
                    self.settings.delivery_retention,
                ),
                core: Core {
                    client: self.client,
                    store: self.store,
                    clock,
                    settings: self.settings,
                    owner,
                    screens: crate::screens::Screens::default(),
                },
                findings: self.findings,
                template: self.template,
                rule: self.rule,
                states: self.states,
                inbound: self.inbound,
                workflow: Mutex::new(WorkflowMap::default()),
                inbound_processor: tokio::sync::OnceCell::new(),
            }),
        })
    }
}
