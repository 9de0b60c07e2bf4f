//! The sync store: what the integration must remember between calls,
//! restarts and replicas.
//!
//! - **Links** between a finding and its Jira issue, with the last state
//!   synced each way and when.
//! - **Claims**: before creating an issue for a finding, a caller claims the
//!   finding. The claim is atomic: of any number of tasks, processes or
//!   replicas racing on one finding, exactly one gets [`Claim::Acquired`]; the
//!   others see [`Claim::Busy`] or, once the link exists, [`Claim::Linked`]. A
//!   claim is a lease: when its holder dies, the claim expires and the next
//!   claimant is told that an earlier attempt may already have reached Jira
//!   ([`Claim::Acquired::uncertain`]), so it searches Jira before creating.
//! - **The queue** of Jira operations that could not be done yet, with
//!   attempts and the time of the next attempt. Nothing leaves the queue
//!   except by succeeding or by being parked for a person to fix.
//! - **Deliveries** already processed (webhook ids), and the reconciliation
//!   cursor.
//!
//! Two stores ship: [`MemoryStore`] (tests, single process) and
//! [`SqliteStore`] (durable, several processes on one file). A host with
//! several replicas implements [`SyncStore`] over its shared database; it must
//! keep the guarantees written on each method, above all that
//! [`SyncStore::claim`] is atomic across replicas (e.g. `INSERT ... ON
//! CONFLICT` / `SELECT ... FOR UPDATE` in one transaction).

mod memory;
mod sqlite;
mod types;

pub use memory::MemoryStore;
pub use sqlite::SqliteStore;
pub use types::{Claim, Link, OpId, PendingOp, QueuedOp, StoreError, SweepCursor};

use async_trait::async_trait;
use penaxtra_mapping::FindingId;

/// Durable state of the integration. See the [module docs](self).
///
/// Times are Unix epoch milliseconds, supplied by the caller (the engine's
/// clock), so stores never read the clock themselves.
#[async_trait]
pub trait SyncStore: Send + Sync + std::fmt::Debug {
    /// Claims `finding` for `owner` until `now_ms + lease_ms`.
    ///
    /// Atomic across every caller sharing the store. Returns
    /// [`Claim::Linked`] when the finding already has an issue,
    /// [`Claim::Busy`] when anyone (the same owner included: tasks of one
    /// engine share a name) holds an unexpired claim, else takes
    /// the claim and returns [`Claim::Acquired`], whose `uncertain` is true
    /// when an earlier claim existed (expired, or released after an ambiguous
    /// failure): the issue may exist in Jira already.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails; nothing is claimed then.
    async fn claim(
        &self,
        finding: &FindingId,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Claim, StoreError>;

    /// Gives a claim back without a link. `ambiguous` records that the
    /// attempt may have reached Jira, so the next claimant checks Jira first.
    /// A claim held by another owner is left alone.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn release(
        &self,
        finding: &FindingId,
        owner: &str,
        ambiguous: bool,
    ) -> Result<(), StoreError>;

    /// Records the link for a finding and ends its claim. Idempotent for the
    /// same issue.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the finding is already linked to another
    /// issue; [`StoreError`] when the backend fails.
    async fn insert_link(&self, link: &Link) -> Result<(), StoreError>;

    /// Replaces the sync bookkeeping of an existing link (states, times,
    /// echo expectation).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such link.
    async fn update_link(&self, link: &Link) -> Result<(), StoreError>;

    /// Removes a link (the issue was deleted in Jira).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn remove_link(&self, finding: &FindingId) -> Result<(), StoreError>;

    /// The link of a finding.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn link(&self, finding: &FindingId) -> Result<Option<Link>, StoreError>;

    /// The link of an issue, by key, ignoring ASCII case (`sec-1` is
    /// `SEC-1`, as in Jira).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn link_by_issue(&self, issue_key: &str) -> Result<Option<Link>, StoreError>;

    /// Every link.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn links(&self) -> Result<Vec<Link>, StoreError>;

    /// Adds an operation to the queue, due at `due_ms`. An equal operation
    /// already queued and not parked is replaced (its attempts kept), so a
    /// finding has at most one queued create and one queued state change.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails; the operation is not queued.
    async fn enqueue(
        &self,
        op: &PendingOp,
        due_ms: i64,
        last_error: Option<&str>,
    ) -> Result<OpId, StoreError>;

    /// Operations due at `now_ms` (not parked), oldest first, at most `limit`.
    /// Several workers may see the same operation: the operations themselves
    /// are idempotent (claims, target states).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<QueuedOp>, StoreError>;

    /// Removes a finished operation.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn complete(&self, id: OpId) -> Result<(), StoreError>;

    /// Counts an attempt and moves the operation to `next_ms`.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn reschedule(&self, id: OpId, next_ms: i64, error: &str) -> Result<(), StoreError>;

    /// Parks an operation that needs a person (bad credentials, missing
    /// permission, unknown field). It stays visible in [`SyncStore::pending`]
    /// and is retried again after [`SyncStore::unpark_all`].
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn park(&self, id: OpId, error: &str) -> Result<(), StoreError>;

    /// Makes every parked operation due now (after a person fixed the cause).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn unpark_all(&self, now_ms: i64) -> Result<usize, StoreError>;

    /// Every queued operation, parked or not.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn pending(&self) -> Result<Vec<QueuedOp>, StoreError>;

    /// Records a webhook delivery id; `true` the first time it is seen,
    /// `false` for a duplicate. Atomic like [`SyncStore::claim`].
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn first_delivery(&self, delivery_id: &str, now_ms: i64) -> Result<bool, StoreError>;

    /// Forgets a delivery id (its processing failed and Jira will retry it).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn forget_delivery(&self, delivery_id: &str) -> Result<(), StoreError>;

    /// The reconciliation cursor.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn sweep_cursor(&self) -> Result<Option<SweepCursor>, StoreError>;

    /// Saves the reconciliation cursor.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn set_sweep_cursor(&self, cursor: &SweepCursor) -> Result<(), StoreError>;
}
