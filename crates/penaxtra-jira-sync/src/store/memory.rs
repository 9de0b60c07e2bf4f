use super::claim_rule::{self, ClaimRow};
use super::{
    BudgetRate, Claim, Fence, Link, OpId, OpRef, PendingOp, QueuedOp, RateBudgetStore, Release,
    StoreError, SweepCursor, SyncStore,
};
use crate::ConnectionId;
use async_trait::async_trait;
use jira_model::IssueKey;
use penaxtra_mapping::FindingId;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// An in-memory [`SyncStore`] for tests and single-process trials. Everything
/// is lost with the process; use [`super::SqliteStore`] for real work.
///
/// One process has one clock: claims are measured with the times the
/// caller passes ([`super::StoreClock::Caller`]).
///
/// [`MemoryStore::new`] serves [`ConnectionId::DEFAULT_TEXT`];
/// [`MemoryStore::for_connection`] gives a handle on the same memory that
/// serves another connection, with state of its own.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    all: Arc<Mutex<HashMap<ConnectionId, Arc<Mutex<Inner>>>>>,
    connection: ConnectionId,
}

impl Default for MemoryStore {
    fn default() -> Self {
        let connection = ConnectionId::default();
        let inner = Arc::new(Mutex::new(Inner::default()));
        let all = HashMap::from([(connection.clone(), Arc::clone(&inner))]);
        Self {
            inner,
            all: Arc::new(Mutex::new(all)),
            connection,
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    links: HashMap<FindingId, Link>,
    claims: HashMap<FindingId, ClaimRecord>,
    ops: BTreeMap<OpId, QueuedOp>,
    next_op: i64,
    next_fence: i64,
    next_version: i64,
    deliveries: HashMap<String, i64>,
    cursor: Option<SweepCursor>,
    budgets: HashMap<String, i64>,
}

#[derive(Debug, Clone)]
struct ClaimRecord {
    row: ClaimRow,
    fence: Fence,
}

impl Inner {
    fn parked_create(&self, finding: &FindingId) -> Option<&QueuedOp> {
        self.ops.values().find(|q| {
            q.parked && matches!(&q.op, PendingOp::Recreate { finding: f, .. } if f == finding)
        })
    }

    fn holds(&self, finding: &FindingId, fence: Fence) -> bool {
        self.claims
            .get(finding)
            .is_some_and(|c| c.fence == fence && c.row.owner.is_some())
    }

    fn due(&self, now_ms: i64, limit: usize) -> Vec<QueuedOp> {
        let mut due: Vec<QueuedOp> = self
            .ops
            .values()
            .filter(|q| !q.parked && q.due_ms <= now_ms)
            .cloned()
            .collect();
        due.sort_by_key(|q| (q.due_ms, q.id));
        due.truncate(limit);
        due
    }

    fn op_at(&mut self, op: OpRef) -> Option<&mut QueuedOp> {
        self.ops.get_mut(&op.id).filter(|q| q.version == op.version)
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A handle on the same memory that serves `connection` and nothing
    /// else (the same state as every other handle of that connection).
    pub fn for_connection(&self, connection: ConnectionId) -> Self {
        let inner = {
            let mut all = self
                .all
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(all.entry(connection.clone()).or_default())
        };
        Self {
            inner,
            all: Arc::clone(&self.all),
            connection,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated
        // (every method updates them in one step), so a poisoned lock is
        // still consistent.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl SyncStore for MemoryStore {
    fn connection(&self) -> &ConnectionId {
        &self.connection
    }

    async fn claim(
        &self,
        finding: &FindingId,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Claim, StoreError> {
        let mut inner = self.lock();
        if let Some(link) = inner.links.get(finding) {
            return Ok(Claim::Linked(link.clone()));
        }
        if let Some(q) = inner.parked_create(finding) {
            return Ok(Claim::Parked {
                reason: q.last_error.clone().unwrap_or_default(),
            });
        }
        let Some(claim_rule::Take {
            doubt_since_ms,
            doubt_expired,
        }) = claim_rule::decide_claim(inner.claims.get(finding).map(|c| &c.row), now_ms)
        else {
            return Ok(Claim::Busy);
        };
        let issue_ids = inner
            .claims
            .get(finding)
            .map(|c| c.row.issue_ids.clone())
            .unwrap_or_default();
        inner.next_fence += 1;
        let fence = Fence(inner.next_fence);
        let doubt = claim_rule::doubt_of(doubt_since_ms, doubt_expired, &issue_ids, now_ms);
        inner.claims.insert(
            finding.clone(),
            ClaimRecord {
                row: ClaimRow {
                    owner: Some(owner.to_string()),
                    until_ms: now_ms.saturating_add(lease_ms),
                    doubt_since_ms,
                    doubt_expired,
                    issue_ids,
                },
                fence,
            },
        );
        Ok(Claim::Acquired { fence, doubt })
    }

    async fn renew(
        &self,
        finding: &FindingId,
        fence: Fence,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if !inner.holds(finding, fence) {
            return Ok(false);
        }
        if let Some(rec) = inner.claims.get_mut(finding) {
            rec.row.until_ms = now_ms.saturating_add(lease_ms);
        }
        Ok(true)
    }

    async fn release(
        &self,
        finding: &FindingId,
        fence: Fence,
        release: Release,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let at = claim_rule::raised_at(release, 0, true);
        if !inner.holds(finding, fence) {
            if let (Release::Raised { .. }, Some(rec)) = (release, inner.claims.get_mut(finding)) {
                let (since, expired) = claim_rule::raised(&rec.row, at);
                rec.row.doubt_since_ms = Some(since);
                rec.row.doubt_expired = expired;
            }
            return Ok(false);
        }
        let Some(rec) = inner.claims.get_mut(finding) else {
            return Ok(false);
        };
        match claim_rule::after_release(&rec.row, release, at) {
            Some((since, expired)) => {
                rec.row.owner = None;
                rec.row.doubt_since_ms = Some(since);
                rec.row.doubt_expired = expired;
            }
            None => {
                inner.claims.remove(finding);
            }
        }
        Ok(true)
    }

    async fn note_created(
        &self,
        findings: &[FindingId],
        issue_ids: &[String],
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for f in findings {
            if inner.links.contains_key(f) {
                continue;
            }
            if let Some(rec) = inner.claims.get_mut(f) {
                claim_rule::add_ids(&mut rec.row.issue_ids, issue_ids);
            }
        }
        Ok(())
    }

    async fn recover_orphans(&self, now_ms: i64) -> Result<Vec<FindingId>, StoreError> {
        let mut inner = self.lock();
        let orphans: Vec<FindingId> = inner
            .claims
            .iter()
            .filter(|(f, c)| {
                (c.row.owner.is_none() || c.row.until_ms <= now_ms)
                    && !inner.links.contains_key(*f)
                    && !inner
                        .ops
                        .values()
                        .any(|q| q.op.is_create() && q.op.finding() == *f)
            })
            .map(|(f, _)| f.clone())
            .collect();
        for f in &orphans {
            inner.next_op += 1;
            inner.next_version += 1;
            let id = OpId(inner.next_op);
            let version = inner.next_version;
            inner.ops.insert(
                id,
                QueuedOp::new(
                    OpRef { id, version },
                    PendingOp::Create { finding: f.clone() },
                    0,
                    now_ms,
                    Some("recovered: the process that started this create is gone".into()),
                    false,
                ),
            );
        }
        Ok(orphans)
    }

    async fn claims(&self) -> Result<Vec<(FindingId, Option<String>, Option<i64>)>, StoreError> {
        let inner = self.lock();
        let mut out: Vec<_> = inner
            .claims
            .iter()
            .map(|(f, c)| (f.clone(), c.row.owner.clone(), c.row.doubt_since_ms))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    async fn insert_link(&self, link: &Link, fence: Option<Fence>) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(existing) = inner.links.get(&link.finding_id) {
            if existing.issue_key != link.issue_key {
                return Err(StoreError::Conflict {
                    finding: link.finding_id.to_string(),
                    existing: existing.issue_key.clone(),
                    attempted: link.issue_key.clone(),
                });
            }
            return Ok(());
        }
        if let Some(fence) = fence
            && !inner.holds(&link.finding_id, fence)
        {
            return Err(StoreError::Fenced {
                finding: link.finding_id.to_string(),
                fence,
            });
        }
        let mut stored = link.clone();
        stored.version = 0;
        inner.links.insert(link.finding_id.clone(), stored);
        inner.claims.remove(&link.finding_id);
        Ok(())
    }

    async fn update_link(&self, link: &Link) -> Result<(), StoreError> {
        let mut inner = self.lock();
        match inner.links.get_mut(&link.finding_id) {
            Some(existing) if existing.version != link.version => Err(StoreError::Stale {
                what: "link",
                key: link.finding_id.to_string(),
            }),
            Some(existing) => {
                *existing = link.clone();
                existing.version += 1;
                Ok(())
            }
            None => Err(StoreError::NotFound {
                what: "link",
                key: link.finding_id.to_string(),
            }),
        }
    }

    async fn remove_link(&self, finding: &FindingId) -> Result<(), StoreError> {
        self.lock().links.remove(finding);
        Ok(())
    }

    async fn link(&self, finding: &FindingId) -> Result<Option<Link>, StoreError> {
        Ok(self.lock().links.get(finding).cloned())
    }

    async fn link_by_issue(&self, issue_key: &IssueKey) -> Result<Option<Link>, StoreError> {
        Ok(self
            .lock()
            .links
            .values()
            .find(|l| l.issue_key == *issue_key)
            .cloned())
    }

    async fn links(&self) -> Result<Vec<Link>, StoreError> {
        let mut links: Vec<Link> = self.lock().links.values().cloned().collect();
        links.sort_by(|a, b| a.finding_id.cmp(&b.finding_id));
        Ok(links)
    }

    async fn enqueue(
        &self,
        op: &PendingOp,
        due_ms: i64,
        last_error: Option<&str>,
    ) -> Result<OpRef, StoreError> {
        let mut inner = self.lock();
        let key = op.key();
        let existing = inner
            .ops
            .values()
            .find(|q| q.op.key() == key && !q.parked)
            .map(|q| (q.id, q.attempts));
        let (id, attempts) = match existing {
            Some(found) => found,
            None => {
                inner.next_op += 1;
                (OpId(inner.next_op), 0)
            }
        };
        inner.next_version += 1;
        let op_ref = OpRef {
            id,
            version: inner.next_version,
        };
        inner.ops.insert(
            id,
            QueuedOp::new(
                op_ref,
                op.clone(),
                attempts,
                due_ms,
                last_error.map(str::to_string),
                false,
            ),
        );
        Ok(op_ref)
    }

    async fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<QueuedOp>, StoreError> {
        Ok(self.lock().due(now_ms, limit))
    }

    async fn take_due(
        &self,
        now_ms: i64,
        limit: usize,
        lease_until_ms: i64,
    ) -> Result<Vec<QueuedOp>, StoreError> {
        let mut inner = self.lock();
        let mut taken = inner.due(now_ms, limit);
        for q in &mut taken {
            q.due_ms = lease_until_ms;
            if let Some(stored) = inner.ops.get_mut(&q.id) {
                stored.due_ms = lease_until_ms;
            }
        }
        Ok(taken)
    }

    async fn complete(&self, op: OpRef) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner.op_at(op).is_none() {
            return Ok(false);
        }
        inner.ops.remove(&op.id);
        Ok(true)
    }

    async fn reschedule(&self, op: OpRef, next_ms: i64, error: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(q) = inner.op_at(op) {
            q.attempts = q.attempts.saturating_add(1);
            q.due_ms = next_ms;
            q.last_error = Some(error.to_string());
        }
        Ok(())
    }

    async fn extend(&self, op: OpRef, due_ms: i64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        Ok(match inner.op_at(op) {
            Some(q) => {
                q.due_ms = due_ms;
                true
            }
            None => false,
        })
    }

    async fn park(&self, op: OpRef, error: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(q) = inner.op_at(op) {
            q.attempts = q.attempts.saturating_add(1);
            q.parked = true;
            q.last_error = Some(error.to_string());
        }
        Ok(())
    }

    async fn unpark_all(&self, now_ms: i64) -> Result<usize, StoreError> {
        let mut inner = self.lock();
        let mut n = 0;
        for q in inner.ops.values_mut().filter(|q| q.parked) {
            q.parked = false;
            q.due_ms = now_ms;
            n += 1;
        }
        Ok(n)
    }

    async fn pending(&self) -> Result<Vec<QueuedOp>, StoreError> {
        Ok(self.lock().ops.values().cloned().collect())
    }

    async fn first_delivery(&self, delivery_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner.deliveries.contains_key(delivery_id) {
            return Ok(false);
        }
        inner.deliveries.insert(delivery_id.to_string(), now_ms);
        Ok(true)
    }

    async fn delivery_seen(&self, delivery_id: &str) -> Result<bool, StoreError> {
        Ok(self.lock().deliveries.contains_key(delivery_id))
    }

    async fn forget_delivery(&self, delivery_id: &str) -> Result<(), StoreError> {
        self.lock().deliveries.remove(delivery_id);
        Ok(())
    }

    async fn prune_deliveries(&self, seen_before_ms: i64) -> Result<usize, StoreError> {
        let mut inner = self.lock();
        let before = inner.deliveries.len();
        inner.deliveries.retain(|_, seen| *seen >= seen_before_ms);
        Ok(before - inner.deliveries.len())
    }

    async fn sweep_cursor(&self) -> Result<Option<SweepCursor>, StoreError> {
        Ok(self.lock().cursor)
    }

    async fn set_sweep_cursor(&self, cursor: &SweepCursor) -> Result<(), StoreError> {
        self.lock().cursor = Some(*cursor);
        Ok(())
    }
}

#[async_trait]
impl RateBudgetStore for MemoryStore {
    async fn reserve_request(
        &self,
        name: &str,
        now_us: i64,
        rate: BudgetRate,
    ) -> Result<i64, StoreError> {
        let mut inner = self.lock();
        let reservation = rate.reserve(inner.budgets.get(name).copied(), now_us);
        inner.budgets.insert(name.to_string(), reservation.tat_us);
        Ok(reservation.wait_us)
    }
}

impl super::StoreBackend for MemoryStore {
    fn handle(&self, connection: ConnectionId) -> std::sync::Arc<dyn SyncStore> {
        std::sync::Arc::new(self.for_connection(connection))
    }
}
