use super::{Claim, Link, OpId, PendingOp, QueuedOp, StoreError, SweepCursor, SyncStore};
use async_trait::async_trait;
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
    deliveries: HashMap<String, i64>,
    cursor: Option<SweepCursor>,
}

#[derive(Debug, Clone)]
struct ClaimRecord {
    owner: Option<String>,
    until_ms: i64,
    uncertain: bool,
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
        let until_ms = now_ms.saturating_add(lease_ms);
        match inner.claims.get_mut(finding) {
            Some(rec) => {
                // A live claim is exclusive, even against its own owner: the
                // tasks of one engine share an owner name.
                if rec.owner.is_some() && rec.until_ms > now_ms {
                    return Ok(Claim::Busy);
                }
                // An earlier claim that expired or was released ambiguous
                // means an earlier attempt may have reached Jira.
                let uncertain = rec.uncertain || rec.owner.is_some();
                *rec = ClaimRecord {
                    owner: Some(owner.to_string()),
                    until_ms,
                    uncertain,
                };
                Ok(Claim::Acquired { uncertain })
            }
            None => {
                inner.claims.insert(
                    finding.clone(),
                    ClaimRecord {
                        owner: Some(owner.to_string()),
                        until_ms,
                        uncertain: false,
                    },
                );
                Ok(Claim::Acquired { uncertain: false })
            }
        }
    }

    async fn release(
        &self,
        finding: &FindingId,
        owner: &str,
        ambiguous: bool,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(rec) = inner.claims.get_mut(finding)
            && rec.owner.as_deref() == Some(owner)
        {
            rec.owner = None;
            rec.uncertain |= ambiguous;
            if !rec.uncertain {
                inner.claims.remove(finding);
            }
        }
        Ok(())
    }

    async fn insert_link(&self, link: &Link) -> Result<(), StoreError> {
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

    async fn link_by_issue(&self, issue_key: &str) -> Result<Option<Link>, StoreError> {
        Ok(self
            .lock()
            .links
            .values()
            .find(|l| l.issue_key.eq_ignore_ascii_case(issue_key))
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
    ) -> Result<OpId, StoreError> {
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
        inner.ops.insert(
            id,
            QueuedOp {
                id,
                op: op.clone(),
                attempts,
                due_ms,
                last_error: last_error.map(str::to_string),
                parked: false,
            },
        );
        Ok(id)
    }

    async fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<QueuedOp>, StoreError> {
        let inner = self.lock();
        let mut due: Vec<QueuedOp> = inner
            .ops
            .values()
            .filter(|q| !q.parked && q.due_ms <= now_ms)
            .cloned()
            .collect();
        due.sort_by_key(|q| (q.due_ms, q.id));
        due.truncate(limit);
        Ok(due)
    }

    async fn complete(&self, id: OpId) -> Result<(), StoreError> {
        self.lock().ops.remove(&id);
        Ok(())
    }

    async fn reschedule(&self, id: OpId, next_ms: i64, error: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let q = inner.ops.get_mut(&id).ok_or_else(|| StoreError::NotFound {
            what: "queued operation",
            key: id.to_string(),
        })?;
        q.attempts = q.attempts.saturating_add(1);
        q.due_ms = next_ms;
        q.last_error = Some(error.to_string());
        Ok(())
    }

    async fn park(&self, id: OpId, error: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let q = inner.ops.get_mut(&id).ok_or_else(|| StoreError::NotFound {
            what: "queued operation",
            key: id.to_string(),
        })?;
        q.attempts = q.attempts.saturating_add(1);
        q.parked = true;
        q.last_error = Some(error.to_string());
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

    async fn forget_delivery(&self, delivery_id: &str) -> Result<(), StoreError> {
        self.lock().deliveries.remove(delivery_id);
        Ok(())
    }

    async fn sweep_cursor(&self) -> Result<Option<SweepCursor>, StoreError> {
        Ok(self.lock().cursor)
    }

    async fn set_sweep_cursor(&self, cursor: &SweepCursor) -> Result<(), StoreError> {
        self.lock().cursor = Some(*cursor);
        Ok(())
    }
}
