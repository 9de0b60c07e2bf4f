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

use crate::engine::JiraSync;
use crate::error::SyncError;
use crate::store::host_now_ms;
use crate::webhook::WebhookGate;
use crate::worker::WorkerReport;
use crate::{ConnectionId, WorkerHandle};
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
    /// When its recovery pass last ran (host epoch ms).
    last_recovery_ms: AtomicI64,
}

impl Tenant {
    fn new(sync: JiraSync, gate: Option<WebhookGate>) -> Self {
        Self {
            sync,
            gate: gate.map(Arc::new),
            paused: None,
            last_recovery_ms: AtomicI64::new(i64::MIN),
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
        let store = sync.store().connection().clone();
        if store != id {
            return Err(ConnectionError::StoreMismatch {
                registered: id,
                store,
            });
        }
        let mut tenant = Tenant::new(sync, gate);
        let mut tenants = self.write();
        if let Some(old) = tenants.get(&id) {
            tenant.paused = old.paused.clone();
        }
        tenants.insert(id, Arc::new(tenant));
        Ok(())
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
        let sync = {
            let mut tenants = self.write();
            let Some(t) = tenants.get(id) else {
                return Err(unknown(id));
            };
            let mut paused = Tenant::new(t.sync.clone(), None);
            paused.gate = t.gate.clone();
            paused.paused = Some(reason.to_string());
            let sync = paused.sync.clone();
            tenants.insert(id.clone(), Arc::new(paused));
            sync
        };
        park_queue(&sync, reason).await
    }

    /// Resumes a paused connection: its parked operations are due again.
    /// Answers how many.
    ///
    /// # Errors
    /// As [`Connections::pause`].
    pub async fn resume(&self, id: &ConnectionId) -> Result<usize, SyncError> {
        let sync = {
            let mut tenants = self.write();
            let Some(t) = tenants.get(id) else {
                return Err(unknown(id));
            };
            let mut active = Tenant::new(t.sync.clone(), None);
            active.gate = t.gate.clone();
            let sync = active.sync.clone();
            tenants.insert(id.clone(), Arc::new(active));
            sync
        };
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

    /// The next active connection after the pool's cursor, moving it.
    fn next_turn(&self) -> Option<(ConnectionId, Arc<Tenant>)> {
        let tenants = self.read();
        let mut cursor = self
            .cursor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let after = cursor.clone();
        let mut candidates = match &after {
            Some(c) => tenants
                .range::<ConnectionId, _>((
                    std::ops::Bound::Excluded(c),
                    std::ops::Bound::Unbounded,
                ))
                .chain(tenants.range::<ConnectionId, _>(..=c))
                .collect::<Vec<_>>(),
            None => tenants.iter().collect(),
        }
        .into_iter();
        let (id, t) = candidates.find(|(_, t)| t.paused.is_none())?;
        *cursor = Some(id.clone());
        Some((id.clone(), Arc::clone(t)))
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
        let (id, tenant) = self.next_turn()?;
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
        let result = tenant.sync.run_due_up_to(slice.max(1), recover).await;
        Some((id, result))
    }

    /// One pass over every active connection, one turn each, in id order
    /// from the pool's cursor. Answers each connection's report (or its
    /// error). For tests and hosts that drive the pool themselves.
    pub async fn run_pass(
        &self,
        slice: usize,
    ) -> Vec<(ConnectionId, Result<WorkerReport, SyncError>)> {
        let active = self.read().values().filter(|t| t.paused.is_none()).count();
        let mut out = Vec::with_capacity(active);
        for _ in 0..active {
            match self.run_turn(slice).await {
                Some(turn) => out.push(turn),
                None => break,
            }
        }
        out
    }

    /// Starts `workers` background workers (at least one) that take turns
    /// over every active connection, [`DEFAULT_TURN_SLICE`] operations a
    /// turn. A worker that finds nothing to do in a whole pass sleeps
    /// `idle` before the next. Stops when the handle is dropped or on
    /// [`WorkerPoolHandle::stop`].
    pub fn spawn_workers(&self, workers: usize, idle: Duration) -> WorkerPoolHandle {
        let handles = (0..workers.max(1))
            .map(|_| {
                let this = self.clone();
                WorkerHandle::spawn_loop(move || {
                    let this = this.clone();
                    async move {
                        let mut busy = false;
                        for (id, result) in this.run_pass(DEFAULT_TURN_SLICE).await {
                            match result {
                                Ok(r) => busy |= r.done + r.retried + r.parked + r.gone > 0,
                                Err(e) => {
                                    tracing::warn!(connection = %id, code = e.code(), "connection turn failed: {e}");
                                }
                            }
                        }
                        if busy { Duration::ZERO } else { idle }
                    }
                })
            })
            .collect();
        WorkerPoolHandle { workers: handles }
    }
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
    workers: Vec<WorkerHandle>,
}

impl WorkerPoolHandle {
    /// Stops every worker after its current turn.
    pub async fn stop(self) {
        for w in self.workers {
            w.stop().await;
        }
    }
}
