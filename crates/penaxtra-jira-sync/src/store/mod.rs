//! The sync store: what the integration must remember between calls,
//! restarts and replicas.
//!
//! - **Links** between a finding and its Jira issue, with the last state
//!   synced each way and when.
//! - **Claims**: before creating an issue for a finding, a caller claims the
//!   finding. The claim is atomic: of any number of tasks, processes or
//!   replicas racing on one finding, exactly one gets [`Claim::Acquired`]; the
//!   others see [`Claim::Busy`] or, once the link exists, [`Claim::Linked`].
//!   A claim is a short lease that its holder renews while its Jira call is
//!   in flight ([`SyncStore::renew`]): the renewals are the liveness the
//!   store sees, so a claim whose process died is taken over within one
//!   lease. Each claim carries a [`Fence`]; every write made on its strength
//!   ([`SyncStore::insert_link`], [`SyncStore::release`]) is refused once a
//!   newer claim exists. The next claimant of an expired or ambiguous claim
//!   is told since when, and how long ago on the store's clock, an earlier
//!   attempt may have reached Jira, and which issues it is known to have
//!   made ([`Doubt`]), so it checks Jira (by id, then after Jira's search
//!   consistency window) before creating. Claims are measured on the
//!   store's own clock ([`StoreClock`]), and a holder sends nothing once it
//!   cannot be sure its claim still holds (`lease.rs`).
//! - **Intent before effect**: a claim is the record of a create about to
//!   be sent, and a state change is queued before its transitions are sent
//!   and completed after. A recovery pass ([`SyncStore::recover_orphans`])
//!   turns every claim whose holder is gone into a queued create, so nothing
//!   a crashed process started is lost.
//! - **The queue** of Jira operations that could not be done yet, with
//!   attempts and the time of the next attempt. Nothing leaves the queue
//!   except by succeeding or by being parked for a person to fix.
//! - **Deliveries** already processed (webhook ids), expiring after
//!   [`crate::SyncSettings::delivery_retention`], and the reconciliation
//!   cursor.
//! - **The request budget** ([`RateBudgetStore`]) that keeps every replica
//!   together within Jira's rate limit (see [`crate::SharedRateBudget`]).
//!
//! Three stores ship:
//!
//! | store | for | atomic across |
//! |---|---|---|
//! | [`MemoryStore`] | tests, a single process trying things out | tasks of one process |
//! | [`SqliteStore`] | the embedded default: one process or several on one host | processes sharing the file (`BEGIN IMMEDIATE`, WAL) |
//! | `PostgresStore` (feature `postgres`) | several replicas on several hosts | replicas sharing the database (advisory locks, `FOR UPDATE SKIP LOCKED`) |
//!
//! # A host's own store, proven with the test kit
//!
//! A host may keep the integration's state in its own database by
//! implementing [`SyncStore`] (and [`RateBudgetStore`] for the shared
//! budget). It must keep the guarantees written on each method, above all
//! that [`SyncStore::claim`], [`SyncStore::insert_link`],
//! [`SyncStore::enqueue`], [`SyncStore::take_due`],
//! [`SyncStore::recover_orphans`] and [`SyncStore::first_delivery`] are
//! atomic across replicas (e.g. a transaction holding a per-finding lock,
//! `INSERT … ON CONFLICT`, `SELECT … FOR UPDATE SKIP LOCKED`). Every type a
//! store returns can be built outside this crate: [`Claim::acquired`],
//! [`Link::new`] (its fields are public), [`QueuedOp::new`] with an
//! [`OpRef`], [`ExpectedStatus::parse`], [`SweepCursor::new`],
//! [`StoreError::backend`] and the public variants of [`StoreError`].
//!
//! Prove it with the contract the shipped stores are tested with: enable
//! the `test-kit` feature in the host's dev-dependencies and run
//! `conformance::run` (and `conformance::run_rate_budget`) from a test,
//! giving it a function that answers a fresh, empty store each time:
//!
//! ```toml
//! [dev-dependencies]
//! penaxtra-jira-sync = { version = "…", features = ["test-kit"] }
//! ```
//!
//! ```rust,ignore
//! #[tokio::test(flavor = "multi_thread")]
//! async fn our_store_keeps_the_contract() {
//!     let db = TestDatabase::start().await;
//!     penaxtra_jira_sync::store::conformance::run(|| db.fresh_store()).await;
//!     penaxtra_jira_sync::store::conformance::run_rate_budget(|| db.fresh_store()).await;
//! }
//! ```
//!
//! The kit panics at the first violation with `store contract: <part>:
//! <what>` (e.g. `store contract: races: claims: each finding is claimed
//! exactly once`). It never waits and never reads the clock: every time it
//! passes is a made-up epoch millisecond.

mod budget;
mod claim_rule;
mod clock;
mod codec;
#[cfg(feature = "test-kit")]
pub mod conformance;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;
mod types;

pub use budget::{BudgetRate, RateBudgetStore, Reservation};
pub use clock::StoreClock;
pub(crate) use clock::host_now_ms;
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{DEFAULT_SCHEMA, PostgresConfig, PostgresStore};
pub use sqlite::{SQLITE_READ_CONNECTIONS, SqliteStore};
pub use types::{
    Claim, Doubt, ExpectedStatus, Fence, Link, OpId, OpRef, PendingOp, QueuedOp, Release,
    StoreError, SweepCursor, WorkCounts,
};

use crate::ConnectionId;
use async_trait::async_trait;
use jira_model::IssueKey;
use penaxtra_mapping::FindingId;

/// A store that serves many connections: one handle per connection, each
/// seeing only its own rows ([`SyncStore::connection`]). The shipped stores
/// implement it with their `for_connection`; a service builds every
/// connection's engine on the handle it answers
/// ([`crate::connections::Connections::from_config`]).
pub trait StoreBackend: Send + Sync {
    /// The handle of `connection` on this backend.
    fn handle(&self, connection: ConnectionId) -> std::sync::Arc<dyn SyncStore>;
}

/// Durable state of the integration. See the [module docs](self).
///
/// Times are Unix epoch milliseconds. The caller (the engine) passes its
/// clock's time; a store shared by several processes measures claims with
/// its own clock instead ([`StoreClock`]), so replicas whose clocks
/// disagree cannot take each other's live claims or trust a search early.
#[async_trait]
pub trait SyncStore: Send + Sync + std::fmt::Debug {
    /// The connection this handle serves. Every method reads and writes
    /// that connection's rows only: links, claims, the queue, delivery
    /// marks, the sweep cursor and request budgets of other connections
    /// sharing the backend are neither visible nor changed (operation ids
    /// and fences of another connection match nothing).
    fn connection(&self) -> &ConnectionId;

    /// Claims `finding` for `owner` for `lease_ms` from now (the store's
    /// now: `now_ms` on [`StoreClock::Caller`], its own clock otherwise).
    ///
    /// Atomic across every caller sharing the store, and exclusive with
    /// concurrent [`SyncStore::renew`] and [`SyncStore::release`] of the
    /// same finding (a renewal that answered `true` is never lost to a
    /// takeover). Returns [`Claim::Linked`] when the finding already has an
    /// issue, [`Claim::Parked`] when a create for it is parked for a
    /// person, [`Claim::Busy`] when anyone (the same owner included: tasks
    /// of one engine share a name) holds an unexpired claim, else takes the
    /// claim with a new, larger [`Fence`] and returns [`Claim::Acquired`].
    /// Its [`Doubt`] is set when an earlier claim existed: released in
    /// doubt (since that release), or expired while held (since its
    /// expiry, with [`Doubt::expired_holder`]): the issue may exist in Jira
    /// already. The doubt carries its age on the store's clock and the ids
    /// recorded by [`SyncStore::note_created`].
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

    /// Extends a claim to `lease_ms` from now (the store's now, as for
    /// [`SyncStore::claim`]) while its Jira call is in flight. `false` when
    /// `fence` no longer holds the claim (it expired and was taken, or the
    /// finding got linked): the holder must stop, and must not send
    /// anything more on its strength. A claim that expired but was not yet
    /// taken is renewed (nobody can have acted on its expiry).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn renew(
        &self,
        finding: &FindingId,
        fence: Fence,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Gives a claim back without a link, leaving the doubt `release`
    /// says. Returns `false` when `fence` no longer holds it; then only a
    /// [`Release::Raised`] has an effect: it raises the doubt time of the
    /// claim that is there now (so the claimant after it still checks
    /// Jira), and changes nothing else.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn release(
        &self,
        finding: &FindingId,
        fence: Fence,
        release: Release,
    ) -> Result<bool, StoreError>;

    /// Records that creates on these findings' claims made the issues
    /// `issue_ids` (a bulk create's answer does not say which issue is
    /// whose, so every finding of the chunk gets every id). Whoever claims
    /// a finding next gets them in its [`Doubt::issue_ids`] and confirms
    /// them by id, which is consistent, instead of waiting for Jira's
    /// search. Written whatever the fence (it only adds what is known to
    /// exist); nothing for findings without a claim row or with a link.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn note_created(
        &self,
        findings: &[FindingId],
        issue_ids: &[String],
    ) -> Result<(), StoreError>;

    /// Turns every claim whose holder is gone (lease expired, or released
    /// in doubt) and that has neither a link nor a queued create into a
    /// queued create due at `now_ms`, atomically, and returns those
    /// findings. Claims stay as they are otherwise, so the create that runs
    /// checks Jira first. Run at start and on the worker's schedule.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn recover_orphans(&self, now_ms: i64) -> Result<Vec<FindingId>, StoreError>;

    /// Every claim still recorded: `(finding, holder, doubt_since_ms)`,
    /// holder `None` once released in doubt. For audits and tests.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn claims(&self) -> Result<Vec<(FindingId, Option<String>, Option<i64>)>, StoreError>;

    /// Records the link for a finding and ends its claim. Idempotent for the
    /// same issue. With `fence`, only while that claim still holds (the
    /// finding's claim is the one this fence was given for); `None` for a
    /// link made without a claim (an import by the host).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the finding is already linked to another
    /// issue; [`StoreError::Fenced`] when the fence no longer holds;
    /// [`StoreError`] when the backend fails. Nothing changes then.
    async fn insert_link(&self, link: &Link, fence: Option<Fence>) -> Result<(), StoreError>;

    /// Replaces the sync bookkeeping of an existing link (states, times,
    /// echo expectation), compare-and-set: only while the stored link is
    /// still at `link.version` (the version it was read at), and then at
    /// the next version. A writer that read the link before someone else
    /// changed it (healing relinked it, a webhook applied) is refused
    /// instead of writing the old issue or state back.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such link;
    /// [`StoreError::Stale`] when it changed since it was read (read it
    /// again and decide anew). Nothing changes then.
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

    /// The link of an issue, by key ([`IssueKey`]s are upper case, so
    /// `sec-1` is `SEC-1`, as in Jira).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn link_by_issue(&self, issue_key: &IssueKey) -> Result<Option<Link>, StoreError>;

    /// Every link.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn links(&self) -> Result<Vec<Link>, StoreError>;

    /// Adds an operation to the queue, due at `due_ms`. An equal operation
    /// already queued and not parked is replaced under the same id with a
    /// new version (its attempts kept), so a finding has at most one queued
    /// create and one queued state change.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails; the operation is not queued.
    async fn enqueue(
        &self,
        op: &PendingOp,
        due_ms: i64,
        last_error: Option<&str>,
    ) -> Result<OpRef, StoreError>;

    /// Operations due at `now_ms` (not parked), oldest first, at most `limit`.
    /// Several workers may see the same operation: the operations themselves
    /// are idempotent (claims, target states).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<QueuedOp>, StoreError>;

    /// Takes up to `limit` due operations (as [`SyncStore::due`], oldest
    /// first) for a worker: each is moved to `lease_until_ms` in the same
    /// atomic step, as [`SyncStore::extend`] would, so that concurrent
    /// takers (other tasks, processes, replicas) get disjoint operations
    /// and an operation whose taker dies falls due again when the lease
    /// ends. The answers carry their new `due_ms`. Versions are unchanged.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails; nothing is taken then.
    async fn take_due(
        &self,
        now_ms: i64,
        limit: usize,
        lease_until_ms: i64,
    ) -> Result<Vec<QueuedOp>, StoreError>;

    /// Removes a finished operation, only if it is still at the version that
    /// ran; `false` when a newer version was queued meanwhile (it stays).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn complete(&self, op: OpRef) -> Result<bool, StoreError>;

    /// Counts an attempt and moves the operation to `next_ms`; nothing when
    /// a newer version was queued meanwhile (that one is due as queued).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn reschedule(&self, op: OpRef, next_ms: i64, error: &str) -> Result<(), StoreError>;

    /// Moves an operation that is in flight to `due_ms` without counting an
    /// attempt: its lease, renewed while it runs, so that only a holder that
    /// died lets it fall due again. `false` when the version moved on.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn extend(&self, op: OpRef, due_ms: i64) -> Result<bool, StoreError>;

    /// Parks an operation that needs a person (bad credentials, missing
    /// permission, unknown field). It stays visible in [`SyncStore::pending`]
    /// and is retried again after [`SyncStore::unpark_all`]. Nothing when a
    /// newer version was queued meanwhile.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn park(&self, op: OpRef, error: &str) -> Result<(), StoreError>;

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

    /// What is left to do, counted: queued operations not parked, parked
    /// ones, the earliest due time of the former, and claims of findings
    /// with no parked operation. The worker reads it after every round (for
    /// the queue gauges) and `settle` to know when to stop, so a store
    /// should answer from aggregates; this default reads the whole queue
    /// and every claim.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn work_counts(&self) -> Result<WorkCounts, StoreError> {
        let mut counts = WorkCounts::default();
        let mut parked_findings = std::collections::HashSet::new();
        for q in self.pending().await? {
            if q.parked {
                counts.parked += 1;
                parked_findings.insert(q.op.finding().clone());
            } else {
                counts.queued += 1;
                counts.next_due_ms = Some(counts.next_due_ms.map_or(q.due_ms, |d| d.min(q.due_ms)));
            }
        }
        counts.claims = self
            .claims()
            .await?
            .iter()
            .filter(|(f, ..)| !parked_findings.contains(f))
            .count();
        Ok(counts)
    }

    /// Records a webhook delivery id; `true` the first time it is seen,
    /// `false` for a duplicate. Atomic like [`SyncStore::claim`].
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn first_delivery(&self, delivery_id: &str, now_ms: i64) -> Result<bool, StoreError>;

    /// Whether a delivery id is recorded (and not forgotten or pruned).
    /// Reads only: the connection test asks it whether the receiver has
    /// seen the synthetic issue's webhook.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn delivery_seen(&self, delivery_id: &str) -> Result<bool, StoreError>;

    /// Forgets a delivery id (its processing failed and Jira will retry it).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn forget_delivery(&self, delivery_id: &str) -> Result<(), StoreError>;

    /// Forgets every delivery id first seen before `seen_before_ms` and
    /// answers how many: delivery marks expire once Jira can no longer
    /// redeliver them (see [`crate::SyncSettings::delivery_retention`]).
    /// Marks seen at or after that time stay.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn prune_deliveries(&self, seen_before_ms: i64) -> Result<usize, StoreError>;

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
