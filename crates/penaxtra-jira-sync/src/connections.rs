//! Many connections in one service: the registry of every customer's
//! engine, and one worker pool that serves them all fairly.
//!
//! Penaxtra is a SaaS: each customer organisation connects its own Jira,
//! with its own token, project, mapping and webhook. A service embeds the
//! library once and holds one [`Connections`]: for each connection an
//! engine ([`JiraSync`]) built on that connection's store handle
//! ([`crate::store::SyncStore::connection`]), its own Jira client (so its
//! own rate limit and budget: Jira's limits are per site) and, when it
//! receives webhooks, its own [`WebhookGate`] with its own secrets.
//!
//! The host adds, changes, pauses and removes connections at run time
//! ([`Connections::insert`], [`Connections::pause`],
//! [`Connections::remove`]). One pool of workers
//! ([`Connections::spawn_workers`]) takes turns over every active
//! connection: a turn runs at most a slice of that connection's due
//! operations, so a tenant with a 50,000-finding backfill queued waits its
//! turn like the others and does not delay another tenant's single new
//! finding by more than one slice per busy connection.

use crate::ConnectionId;
use crate::config::{ConfigError, ConnectionConfig, ServiceConfig};
use crate::engine::JiraSync;
use crate::error::SyncError;
use crate::host::{Findings, HostError};
use crate::store::StoreBackend;
use crate::store::host_now_ms;
use crate::webhook::WebhookGate;
use crate::worker::WorkerReport;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// Operations one connection runs per turn of the pool (the pool's
/// fairness: a busy connection gives the next one its turn after this
/// many).
pub const DEFAULT_TURN_SLICE: usize = 16;

/// Why a connection could not be registered or found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The engine's store handle serves another connection than the one
    /// it is registered as: its rows would land under the wrong tenant.
    #[error(
        "the engine for connection {registered} uses a store handle of connection {store}; build it on store.for_connection({registered})"
    )]
    StoreMismatch {
        /// The id it was registered as.
        registered: ConnectionId,
        /// The connection its store serves.
        store: ConnectionId,
    },
    /// No connection with this id is registered.
    #[error("no connection {0} is registered")]
    Unknown(ConnectionId),
}

impl ConnectionError {
    /// A stable code: `connection_store_mismatch` or `connection_unknown`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::StoreMismatch { .. } => "connection_store_mismatch",
            Self::Unknown(_) => "connection_unknown",
        }
    }
}

/// One registered connection.
pub(crate) struct Tenant {
    pub(crate) sync: JiraSync,
    pub(crate) gate: Option<Arc<WebhookGate>>,
    pub(crate) paused: Option<String>,
    /// The source's revision it was built from.
    revision: Option<String>,
    /// When its recovery pass last ran (host epoch ms).
    last_recovery_ms: AtomicI64,
}

impl Tenant {
    fn new(sync: JiraSync, gate: Option<WebhookGate>) -> Self {
        Self {
            sync,
            gate: gate.map(Arc::new),
            paused: None,
            revision: None,
            last_recovery_ms: AtomicI64::new(i64::MIN),
        }
    }

    /// The same connection, paused for `reason` or active (`None`).
    fn with_paused(&self, paused: Option<String>) -> Self {
        Self {
            sync: self.sync.clone(),
            gate: self.gate.clone(),
            paused,
            revision: self.revision.clone(),
            last_recovery_ms: AtomicI64::new(self.last_recovery_ms.load(Ordering::Relaxed)),
        }
    }
}

/// Every connection the service serves; cheap to clone (clones share the
/// registry). See the [module docs](self).
#[derive(Clone, Default)]
pub struct Connections {
    tenants: Arc<RwLock<BTreeMap<ConnectionId, Arc<Tenant>>>>,
    /// The pool's round-robin position: the id after which the next turn
    /// starts.
    cursor: Arc<Mutex<Option<ConnectionId>>>,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field("count", &self.len())
            .finish_non_exhaustive()
    }
}

/// What a connection is doing, for a host's status page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionStatus {
    /// The connection.
    pub id: ConnectionId,
    /// Why it is paused, when it is.
    pub paused: Option<String>,
    /// Whether it receives webhooks (a gate is registered).
    pub receives_webhooks: bool,
}

impl Connections {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<ConnectionId, Arc<Tenant>>> {
        self.tenants
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<ConnectionId, Arc<Tenant>>> {
        self.tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a connection, or replaces it (a changed token, mapping or
    /// webhook secret): `sync` is its engine, built on the store handle of
    /// `id` (`store.for_connection(id)`), and `gate` its webhook gate when
    /// it receives webhooks. A replaced connection keeps its paused state
    /// and everything in the store; work in flight on the old engine
    /// finishes under its claims.
    ///
    /// # Errors
    /// [`ConnectionError::StoreMismatch`] when the engine's store serves
    /// another connection; nothing changes then.
    pub fn insert(
        &self,
        id: ConnectionId,
        sync: JiraSync,
        gate: Option<WebhookGate>,
    ) -> Result<(), ConnectionError> {
        self.insert_revision(id, sync, gate, None)
    }

    /// Marks a connection paused for `reason`, or active (`None`),
    /// without touching its queue; answers its engine, `None` when it is
    /// not registered.
    fn set_paused(&self, id: &ConnectionId, paused: Option<&str>) -> Option<JiraSync> {
        let mut tenants = self.write();
        let next = tenants.get(id)?.with_paused(paused.map(str::to_string));
        let sync = next.sync.clone();
        tenants.insert(id.clone(), Arc::new(next));
        Some(sync)
    }

    fn insert_revision(
        &self,
        id: ConnectionId,
        sync: JiraSync,
        gate: Option<WebhookGate>,
        revision: Option<String>,
    ) -> Result<(), ConnectionError> {
        let store = sync.store().connection().clone();
        if store != id {
            return Err(ConnectionError::StoreMismatch {
                registered: id,
                store,
            });
        }
        let mut tenant = Tenant::new(sync, gate);
        tenant.revision = revision;
        let mut tenants = self.write();
        if let Some(old) = tenants.get(&id) {
            tenant.paused = old.paused.clone();
        }
        tenants.insert(id, Arc::new(tenant));
        Ok(())
    }

    /// Brings the registry in line with what `source` lists now: new
    /// connections are built and added, connections whose revision
    /// changed (or that have none) are rebuilt and replaced, connections
    /// no longer listed are removed (their work parked, their rows kept),
    /// and each one's paused state follows the source. A connection whose
    /// configuration is wrong is left as it was (or not added) and named in
    /// the report; the others go on.
    ///
    /// # Errors
    /// [`HostError`] when the source cannot list its connections; nothing
    /// changes then.
    pub async fn refresh(
        &self,
        source: &dyn ConnectionSource,
        backend: &dyn StoreBackend,
        findings: &dyn Fn(&ConnectionId) -> Arc<dyn Findings>,
    ) -> Result<RefreshReport, HostError> {
        let listed = source.connections().await?;
        let mut report = RefreshReport::default();
        let listed_ids: std::collections::BTreeSet<ConnectionId> =
            listed.iter().map(|c| c.id.clone()).collect();
        for c in listed {
            let current = self.tenant(&c.id);
            let unchanged = match (&current, &c.revision) {
                (Some(t), Some(rev)) => t.revision.as_deref() == Some(rev.as_str()),
                _ => false,
            };
            if !unchanged {
                match build_one(&c, backend, findings) {
                    Ok((sync, gate)) => {
                        let existed = current.is_some();
                        // Registered paused or not as the source says, below.
                        if let Err(e) =
                            self.insert_revision(c.id.clone(), sync, gate, c.revision.clone())
                        {
                            report.failed.push((
                                c.id.clone(),
                                ConfigError::invalid("store", e.to_string()).in_connection(&c.id),
                            ));
                            continue;
                        }
                        if existed {
                            report.changed.push(c.id.clone());
                        } else {
                            report.added.push(c.id.clone());
                        }
                    }
                    Err(e) => {
                        report.failed.push((c.id.clone(), e));
                        continue;
                    }
                }
            }
            let paused_now = self.tenant(&c.id).and_then(|t| t.paused.clone());
            match (&c.paused, paused_now) {
                (Some(reason), None) => {
                    if let Err(e) = self.pause(&c.id, reason).await {
                        tracing::warn!(connection = %c.id, code = e.code(), "pausing failed: {e}");
                    }
                    report.paused.push(c.id.clone());
                }
                (None, Some(_)) => {
                    if let Err(e) = self.resume(&c.id).await {
                        tracing::warn!(connection = %c.id, code = e.code(), "resuming failed: {e}");
                    }
                    report.resumed.push(c.id.clone());
                }
                _ => {}
            }
        }
        let gone: Vec<ConnectionId> = self
            .read()
            .keys()
            .filter(|id| !listed_ids.contains(*id))
            .cloned()
            .collect();
        for id in gone {
            if let Err(e) = self
                .remove(&id, "no longer listed by the connection source")
                .await
            {
                tracing::warn!(connection = %id, code = e.code(), "removing failed: {e}");
            }
            report.removed.push(id);
        }
        Ok(report)
    }

    /// Builds the registry a [`ServiceConfig`] describes: for each
    /// connection, an engine on its handle of `backend` with its own Jira
    /// client (its token opened for that connection), the findings
    /// `findings` answers for it, and a webhook gate when it has a
    /// `[webhook]` section; a connection listed `paused` is registered
    /// paused (its work stays queued and untouched until
    /// [`Connections::resume`] or a refresh that lists it active).
    ///
    /// # Errors
    /// [`ConfigError`] naming the connection (`connections[<id>].<setting>`)
    /// and the setting at fault; nothing is registered then.
    pub fn from_config(
        service: &ServiceConfig,
        backend: &dyn StoreBackend,
        findings: &dyn Fn(&ConnectionId) -> Arc<dyn Findings>,
    ) -> Result<Self, ConfigError> {
        let connections = Self::new();
        for c in &service.connections {
            let (sync, gate) = build_one(c, backend, findings)?;
            connections
                .insert_revision(c.id.clone(), sync, gate, c.revision.clone())
                .map_err(|e| ConfigError::invalid("store", e.to_string()).in_connection(&c.id))?;
            if let Some(reason) = &c.paused {
                // Registered paused: its work is parked by the first pause
                // or left queued until a resume.
                connections.set_paused(&c.id, Some(reason));
            }
        }
        Ok(connections)
    }

    /// The engine of a connection.
    pub fn get(&self, id: &ConnectionId) -> Option<JiraSync> {
        self.read().get(id).map(|t| t.sync.clone())
    }

    pub(crate) fn tenant(&self, id: &ConnectionId) -> Option<Arc<Tenant>> {
        self.read().get(id).cloned()
    }

    /// How many connections are registered.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Every registered connection, in id order.
    pub fn status(&self) -> Vec<ConnectionStatus> {
        self.read()
            .iter()
            .map(|(id, t)| ConnectionStatus {
                id: id.clone(),
                paused: t.paused.clone(),
                receives_webhooks: t.gate.is_some(),
            })
            .collect()
    }

    /// Pauses a connection (its customer's subscription lapsed, its token
    /// is being rotated): the pool skips it, its webhooks are answered 503
    /// so Jira delivers them again later, and every operation queued for
    /// it is parked with `paused: <reason>`, visible in
    /// [`crate::parked`]'s listing. Answers how many were parked. Nothing
    /// is deleted; [`Connections::resume`] undoes it.
    ///
    /// # Errors
    /// [`SyncError::Store`] when the store fails (the connection is paused
    /// all the same; pause again to park the rest);
    /// [`ConnectionError::Unknown`] as [`SyncError::Config`].
    pub async fn pause(&self, id: &ConnectionId, reason: &str) -> Result<usize, SyncError> {
        let sync = self
            .set_paused(id, Some(reason))
            .ok_or_else(|| unknown(id))?;
        park_queue(&sync, reason).await
    }

    /// Resumes a paused connection: its parked operations are due again.
    /// Answers how many.
    ///
    /// # Errors
    /// As [`Connections::pause`].
    pub async fn resume(&self, id: &ConnectionId) -> Result<usize, SyncError> {
        let sync = self.set_paused(id, None).ok_or_else(|| unknown(id))?;
        let now = sync.core().now_ms();
        Ok(sync.store().unpark_all(now).await?)
    }

    /// Removes a connection (the customer disconnected Jira): it is
    /// paused with `reason` first, so its queued work stays parked in the
    /// store, then forgotten by the registry. Registering the id again
    /// finds its links and parked work where they were.
    ///
    /// # Errors
    /// As [`Connections::pause`]; the connection is removed all the same.
    pub async fn remove(&self, id: &ConnectionId, reason: &str) -> Result<usize, SyncError> {
        let parked = self.pause(id, reason).await;
        self.write().remove(id);
        parked
    }

    /// The active connections in turn order: those after the pool's
    /// cursor first, then from the start.
    fn turn_order(&self) -> Vec<(ConnectionId, Arc<Tenant>)> {
        let tenants = self.read();
        let after = self
            .cursor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let active = |(id, t): (&ConnectionId, &Arc<Tenant>)| {
            t.paused.is_none().then(|| (id.clone(), Arc::clone(t)))
        };
        match &after {
            Some(c) => tenants
                .range::<ConnectionId, _>((
                    std::ops::Bound::Excluded(c),
                    std::ops::Bound::Unbounded,
                ))
                .chain(tenants.range::<ConnectionId, _>(..=c))
                .filter_map(active)
                .collect(),
            None => tenants.iter().filter_map(active).collect(),
        }
    }

    fn move_cursor(&self, to: &ConnectionId) {
        *self
            .cursor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(to.clone());
    }

    /// One turn: the next active connection runs at most `slice` of its
    /// due operations (its recovery pass first, at most once per half
    /// claim lease). `None` when no connection is active.
    ///
    /// # Errors
    /// [`SyncError::Store`] when that connection's store fails; its
    /// operations stay queued.
    pub async fn run_turn(
        &self,
        slice: usize,
    ) -> Option<(ConnectionId, Result<WorkerReport, SyncError>)> {
        let (id, tenant) = self.turn_order().into_iter().next()?;
        self.move_cursor(&id);
        let result = turn(&tenant, slice).await;
        Some((id, result))
    }

    /// One pass over every active connection, one turn each, one after
    /// the other, from the pool's cursor. Answers each connection's report
    /// (or its error). For tests and hosts that drive the pool themselves.
    pub async fn run_pass(
        &self,
        slice: usize,
    ) -> Vec<(ConnectionId, Result<WorkerReport, SyncError>)> {
        let order = self.turn_order();
        let mut out = Vec::with_capacity(order.len());
        for (id, tenant) in order {
            self.move_cursor(&id);
            out.push((id, turn(&tenant, slice).await));
        }
        out
    }

    /// Starts the pool in the background: turns of
    /// [`DEFAULT_TURN_SLICE`] operations for every active connection, at
    /// most one turn per connection at a time and at most `max_turns`
    /// (at least one) at once, handed out round-robin. Connections wait on
    /// their own Jira (each has its own rate limit), so turns of different
    /// connections run side by side: a tenant's backlog occupies one turn,
    /// never the pool. A connection whose last turn found nothing is
    /// looked at again after `idle`; one that had work, at once. Stops
    /// when the handle is dropped or on [`WorkerPoolHandle::stop`], after
    /// the turns in flight end.
    pub fn spawn_workers(&self, max_turns: usize, idle: Duration) -> WorkerPoolHandle {
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(schedule(self.clone(), max_turns.max(1), idle, stopped));
        WorkerPoolHandle {
            stop: Some(stop),
            task: Some(task),
        }
    }
}

/// Runs one turn of `tenant`.
async fn turn(tenant: &Tenant, slice: usize) -> Result<WorkerReport, SyncError> {
    let now = host_now_ms();
    let every = i64::try_from(tenant.sync.settings().claim_lease.as_millis() / 2)
        .unwrap_or(i64::MAX)
        .max(1);
    let last = tenant.last_recovery_ms.load(Ordering::Relaxed);
    let recover = now.saturating_sub(last) >= every
        && tenant
            .last_recovery_ms
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
    tenant.sync.run_due_up_to(slice.max(1), recover).await
}

/// The pool's scheduler: hands out turns until stopped, then waits for
/// the turns in flight.
async fn schedule(
    connections: Connections,
    max_turns: usize,
    idle: Duration,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    use std::collections::{HashMap, HashSet};
    use tokio::time::Instant;
    // How often the scheduler looks for connections to serve when no turn
    // ends meanwhile (cheap: it reads the registry, not the store).
    let tick = idle.clamp(Duration::from_millis(5), Duration::from_millis(50));
    // Turns in flight, by task (a turn that panicked comes back without
    // its connection: the task id finds it).
    let mut in_flight: HashMap<tokio::task::Id, ConnectionId> = HashMap::new();
    let mut next_look: HashMap<ConnectionId, Instant> = HashMap::new();
    let mut turns = tokio::task::JoinSet::new();
    // Records a turn's end: a busy connection is looked at again at once,
    // an idle or failed one after `idle`.
    let record = |ended: Result<
        (tokio::task::Id, Result<WorkerReport, SyncError>),
        tokio::task::JoinError,
    >,
                  in_flight: &mut HashMap<tokio::task::Id, ConnectionId>,
                  next_look: &mut HashMap<ConnectionId, Instant>| {
        let (task, result) = match ended {
            Ok((task, result)) => (task, Some(result)),
            Err(e) => (e.id(), None),
        };
        let Some(id) = in_flight.remove(&task) else {
            return;
        };
        let busy = match result {
            Some(Ok(r)) => r.done + r.retried + r.parked + r.gone + r.recovered > 0,
            Some(Err(e)) => {
                tracing::warn!(connection = %id, code = e.code(), "connection turn failed: {e}");
                false
            }
            None => {
                tracing::error!(connection = %id, "connection turn panicked");
                false
            }
        };
        next_look.insert(
            id,
            if busy {
                Instant::now()
            } else {
                Instant::now() + idle
            },
        );
    };
    loop {
        let now = Instant::now();
        let serving: HashSet<&ConnectionId> = in_flight.values().collect();
        let mut start = Vec::new();
        for (id, tenant) in connections.turn_order() {
            if turns.len() + start.len() >= max_turns {
                break;
            }
            if serving.contains(&id) || next_look.get(&id).is_some_and(|t| *t > now) {
                continue;
            }
            start.push((id, tenant));
        }
        for (id, tenant) in start {
            connections.move_cursor(&id);
            let handle = turns.spawn(async move { turn(&tenant, DEFAULT_TURN_SLICE).await });
            in_flight.insert(handle.id(), id);
        }
        tokio::select! {
            _ = &mut stopped => break,
            first = turns.join_next_with_id(), if !turns.is_empty() => {
                if let Some(first) = first {
                    record(first, &mut in_flight, &mut next_look);
                }
                // Every other turn that ended meanwhile, before the next
                // look at the registry (one look per batch, not per turn).
                while let Some(more) = turns.try_join_next_with_id() {
                    record(more, &mut in_flight, &mut next_look);
                }
            }
            _ = tokio::time::sleep(tick) => {}
        }
        // Forget connections that left the registry.
        if next_look.len() > connections.len() * 2 {
            let known: HashSet<ConnectionId> = connections
                .turn_order()
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            next_look.retain(|id, _| known.contains(id));
        }
    }
    while turns.join_next().await.is_some() {}
}

/// Where a service's connections come from: the host's own records (a
/// table of customer connections), read at start and on every
/// [`Connections::refresh`]. A [`ServiceConfig`] is one: the connections
/// of a file.
#[async_trait::async_trait]
pub trait ConnectionSource: Send + Sync {
    /// Every connection the service should serve now.
    ///
    /// # Errors
    /// [`HostError`] when the records cannot be read.
    async fn connections(&self) -> Result<Vec<ConnectionConfig>, HostError>;
}

#[async_trait::async_trait]
impl ConnectionSource for ServiceConfig {
    async fn connections(&self) -> Result<Vec<ConnectionConfig>, HostError> {
        Ok(self.connections.clone())
    }
}

/// What [`Connections::refresh`] did.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RefreshReport {
    /// Connections built and added.
    pub added: Vec<ConnectionId>,
    /// Connections rebuilt and replaced.
    pub changed: Vec<ConnectionId>,
    /// Connections removed (their work parked, their rows kept).
    pub removed: Vec<ConnectionId>,
    /// Connections paused by the source.
    pub paused: Vec<ConnectionId>,
    /// Connections resumed by the source.
    pub resumed: Vec<ConnectionId>,
    /// Connections whose configuration was refused, left as they were.
    pub failed: Vec<(ConnectionId, ConfigError)>,
}

/// One connection's engine and gate, as its configuration describes.
fn build_one(
    c: &ConnectionConfig,
    backend: &dyn StoreBackend,
    findings: &dyn Fn(&ConnectionId) -> Arc<dyn Findings>,
) -> Result<(JiraSync, Option<WebhookGate>), ConfigError> {
    // The token is opened for the id the connection is registered under,
    // whatever its configuration was read as.
    let mut config = c.config.clone();
    config.jira = config.jira.with_connection(&c.id);
    let sync = JiraSync::from_config(&config, backend.handle(c.id.clone()), findings(&c.id))
        .map_err(|e| e.in_connection(&c.id))?;
    let gate = match &c.config.webhook {
        Some(g) => Some(
            WebhookGate::new(g.clone())
                .map_err(|e| ConfigError::invalid("webhook", e.to_string()).in_connection(&c.id))?,
        ),
        None => None,
    };
    Ok((sync, gate))
}

fn unknown(id: &ConnectionId) -> SyncError {
    SyncError::Config(crate::config::ConfigError::invalid(
        "connection",
        ConnectionError::Unknown(id.clone()).to_string(),
    ))
}

/// Parks every queued operation of a paused connection.
async fn park_queue(sync: &JiraSync, reason: &str) -> Result<usize, SyncError> {
    let store = sync.store();
    let mut parked = 0;
    for q in store.pending().await? {
        if !q.parked {
            store.park(q.op_ref(), &format!("paused: {reason}")).await?;
            parked += 1;
        }
    }
    Ok(parked)
}

/// The pool started by [`Connections::spawn_workers`].
#[derive(Debug)]
pub struct WorkerPoolHandle {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl WorkerPoolHandle {
    /// Stops handing out turns and waits for the turns in flight.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for WorkerPoolHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
