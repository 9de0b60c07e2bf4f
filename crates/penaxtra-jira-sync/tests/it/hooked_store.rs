//! A store that delegates to another, with the faults a test turns on: the
//! one wrapper the tests use to make a store misbehave or stall.

use jira_model::IssueKey;
use penaxtra_jira_sync::store::{
    Claim, Fence, Link, OpRef, PendingOp, QueuedOp, Release, StoreError, SweepCursor, SyncStore,
};
use penaxtra_mapping::FindingId;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Delegates every method to `inner`, but for the faults set.
#[derive(Debug)]
pub struct HookedStore {
    inner: Arc<dyn SyncStore>,
    hide_issue_lookups: bool,
    /// After the claim of this owner is answered, the call stalls this
    /// long, once (a pool wait, a store failover, a paused process): the
    /// claim is held, but its holder does not know for how long.
    stall_after_claim: Mutex<Option<(String, Duration)>>,
    /// After ids of created issues are recorded, the call stalls this long
    /// (the process frozen between a bulk create's answer and its
    /// read-back).
    stall_after_note_created: Option<Duration>,
    /// The connection it says it serves, whatever `inner` serves (a store
    /// that breaks isolation).
    claimed_connection: Option<penaxtra_jira_sync::ConnectionId>,
}

impl HookedStore {
    pub fn new(inner: Arc<dyn SyncStore>) -> Self {
        Self {
            inner,
            hide_issue_lookups: false,
            stall_after_claim: Mutex::new(None),
            stall_after_note_created: None,
            claimed_connection: None,
        }
    }

    /// Says it serves `connection` while reading and writing `inner`'s
    /// rows (a store that breaks isolation).
    pub fn claiming_connection(mut self, connection: penaxtra_jira_sync::ConnectionId) -> Self {
        self.claimed_connection = Some(connection);
        self
    }

    /// Every `note_created` stalls `stall` after the store recorded the ids.
    pub fn stalling_after_note_created(mut self, stall: Duration) -> Self {
        self.stall_after_note_created = Some(stall);
        self
    }

    /// `link_by_issue` finds nothing (a store that breaks the contract).
    pub fn hiding_issue_lookups(mut self) -> Self {
        self.hide_issue_lookups = true;
        self
    }

    /// The next claim of `owner` stalls `stall` after the store answered.
    pub fn stalling_after_claim(self, owner: &str, stall: Duration) -> Self {
        *self.stall_after_claim.lock().unwrap() = Some((owner.to_string(), stall));
        self
    }
}

#[async_trait::async_trait]
impl SyncStore for HookedStore {
    fn connection(&self) -> &penaxtra_jira_sync::ConnectionId {
        self.claimed_connection
            .as_ref()
            .unwrap_or_else(|| self.inner.connection())
    }

    async fn claim(&self, f: &FindingId, o: &str, n: i64, l: i64) -> Result<Claim, StoreError> {
        let answer = self.inner.claim(f, o, n, l).await;
        let stall = {
            let mut slot = self.stall_after_claim.lock().unwrap();
            match slot.as_ref() {
                Some((owner, d)) if owner == o && matches!(answer, Ok(Claim::Acquired { .. })) => {
                    let d = *d;
                    *slot = None;
                    Some(d)
                }
                _ => None,
            }
        };
        if let Some(d) = stall {
            tokio::time::sleep(d).await;
        }
        answer
    }
    async fn renew(&self, f: &FindingId, fence: Fence, n: i64, l: i64) -> Result<bool, StoreError> {
        self.inner.renew(f, fence, n, l).await
    }
    async fn release(&self, f: &FindingId, fence: Fence, r: Release) -> Result<bool, StoreError> {
        self.inner.release(f, fence, r).await
    }
    async fn note_created(&self, f: &[FindingId], ids: &[String]) -> Result<(), StoreError> {
        let answer = self.inner.note_created(f, ids).await;
        if let Some(d) = self.stall_after_note_created {
            tokio::time::sleep(d).await;
        }
        answer
    }
    async fn recover_orphans(&self, n: i64) -> Result<Vec<FindingId>, StoreError> {
        self.inner.recover_orphans(n).await
    }
    async fn claims(&self) -> Result<Vec<(FindingId, Option<String>, Option<i64>)>, StoreError> {
        self.inner.claims().await
    }
    async fn insert_link(&self, l: &Link, f: Option<Fence>) -> Result<(), StoreError> {
        self.inner.insert_link(l, f).await
    }
    async fn update_link(&self, l: &Link) -> Result<(), StoreError> {
        self.inner.update_link(l).await
    }
    async fn remove_link(&self, f: &FindingId) -> Result<(), StoreError> {
        self.inner.remove_link(f).await
    }
    async fn link(&self, f: &FindingId) -> Result<Option<Link>, StoreError> {
        self.inner.link(f).await
    }
    async fn link_by_issue(&self, key: &IssueKey) -> Result<Option<Link>, StoreError> {
        if self.hide_issue_lookups {
            return Ok(None);
        }
        self.inner.link_by_issue(key).await
    }
    async fn links(&self) -> Result<Vec<Link>, StoreError> {
        self.inner.links().await
    }
    async fn enqueue(&self, op: &PendingOp, d: i64, e: Option<&str>) -> Result<OpRef, StoreError> {
        self.inner.enqueue(op, d, e).await
    }
    async fn due(&self, n: i64, l: usize) -> Result<Vec<QueuedOp>, StoreError> {
        self.inner.due(n, l).await
    }
    async fn take_due(&self, n: i64, l: usize, u: i64) -> Result<Vec<QueuedOp>, StoreError> {
        self.inner.take_due(n, l, u).await
    }
    async fn complete(&self, op: OpRef) -> Result<bool, StoreError> {
        self.inner.complete(op).await
    }
    async fn reschedule(&self, op: OpRef, n: i64, e: &str) -> Result<(), StoreError> {
        self.inner.reschedule(op, n, e).await
    }
    async fn extend(&self, op: OpRef, d: i64) -> Result<bool, StoreError> {
        self.inner.extend(op, d).await
    }
    async fn park(&self, op: OpRef, e: &str) -> Result<(), StoreError> {
        self.inner.park(op, e).await
    }
    async fn unpark_all(&self, n: i64) -> Result<usize, StoreError> {
        self.inner.unpark_all(n).await
    }
    async fn pending(&self) -> Result<Vec<QueuedOp>, StoreError> {
        self.inner.pending().await
    }
    async fn first_delivery(&self, d: &str, n: i64) -> Result<bool, StoreError> {
        self.inner.first_delivery(d, n).await
    }
    async fn delivery_seen(&self, d: &str) -> Result<bool, StoreError> {
        self.inner.delivery_seen(d).await
    }
    async fn forget_delivery(&self, d: &str) -> Result<(), StoreError> {
        self.inner.forget_delivery(d).await
    }
    async fn prune_deliveries(&self, b: i64) -> Result<usize, StoreError> {
        self.inner.prune_deliveries(b).await
    }
    async fn sweep_cursor(&self) -> Result<Option<SweepCursor>, StoreError> {
        self.inner.sweep_cursor().await
    }
    async fn set_sweep_cursor(&self, c: &SweepCursor) -> Result<(), StoreError> {
        self.inner.set_sweep_cursor(c).await
    }
}
