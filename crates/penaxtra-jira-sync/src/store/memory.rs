use super::{
    BudgetRate, Claim, Fence, Link, OpId, OpRef, PendingOp, QueuedOp, RateBudgetStore, StoreError,
    SweepCursor, SyncStore,
};
use async_trait::async_trait;
use jira_model::IssueKey;
use penaxtra_mapping::FindingId;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

/// An in-memory [`SyncStore`] for tests and single-process trials. Everything
/// is lost with the process; use [`super::SqliteStore`] for real work.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
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
    owner: Option<String>,
    until_ms: i64,
    fence: Fence,
    doubt_since_ms: Option<i64>,
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
            .is_some_and(|c| c.fence == fence && c.owner.is_some())
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

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
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
        let until_ms = now_ms.saturating_add(lease_ms);
        // A live claim is exclusive, even against its own owner: the tasks
        // of one engine share an owner name.
        let doubt = match inner.claims.get(finding) {
            Some(rec) if rec.owner.is_some() && rec.until_ms > now_ms => return Ok(Claim::Busy),
            // Expired while held: its holder may have acted until expiry.
            Some(rec) if rec.owner.is_some() => max_opt(rec.doubt_since_ms, Some(rec.until_ms)),
            Some(rec) => rec.doubt_since_ms,
            None => None,
        };
        inner.next_fence += 1;
        let fence = Fence(inner.next_fence);
        inner.claims.insert(
            finding.clone(),
            ClaimRecord {
                owner: Some(owner.to_string()),
                until_ms,
                fence,
                doubt_since_ms: doubt,
            },
        );
        Ok(Claim::Acquired {
            fence,
            doubt_since_ms: doubt,
        })
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
            rec.until_ms = now_ms.saturating_add(lease_ms);
        }
        Ok(true)
    }

    async fn release(
        &self,
        finding: &FindingId,
        fence: Fence,
        doubt_since_ms: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if !inner.holds(finding, fence) {
            return Ok(false);
        }
        let keep = match inner.claims.get_mut(finding) {
            Some(rec) => {
                rec.owner = None;
                rec.doubt_since_ms = doubt_since_ms;
                doubt_since_ms.is_some()
            }
            None => false,
        };
        if !keep {
            inner.claims.remove(finding);
        }
        Ok(true)
    }

    async fn recover_orphans(&self, now_ms: i64) -> Result<Vec<FindingId>, StoreError> {
        let mut inner = self.lock();
        let orphans: Vec<FindingId> = inner
            .claims
            .iter()
            .filter(|(f, c)| {
                (c.owner.is_none() || c.until_ms <= now_ms)
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
            .map(|(f, c)| (f.clone(), c.owner.clone(), c.doubt_since_ms))
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
        inner.links.insert(link.finding_id.clone(), link.clone());
        inner.claims.remove(&link.finding_id);
        Ok(())
    }

    async fn update_link(&self, link: &Link) -> Result<(), StoreError> {
        let mut inner = self.lock();
        match inner.links.get_mut(&link.finding_id) {
            Some(existing) => {
                *existing = link.clone();
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
