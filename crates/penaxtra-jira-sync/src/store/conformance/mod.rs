//! The store contract as a test kit (feature `test-kit`): what every
//! [`SyncStore`] must do, checked against a real store, so the shipped
//! stores and a host's own prove themselves the same way.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use penaxtra_jira_sync::store::{MemoryStore, conformance};
//!
//! // A fresh, empty store for each part of the contract.
//! conformance::run(|| async { MemoryStore::new() }).await;
//! conformance::run_rate_budget(|| async { MemoryStore::new() }).await;
//! # }
//! ```
//!
//! [`run`] checks, each part on a fresh store from `make_store`:
//!
//! - **claims**: exclusive leases (even against the same owner), renewal,
//!   larger fences, stale fences refused for every write, the doubt an
//!   expired or doubtful claim leaves, a clean release forgetting it;
//!   the doubt's origin (an expired holder) and age, a release that sent
//!   nothing keeping it as it was, a fenced-out holder raising it, the ids
//!   of created issues handed to the next claimant;
//! - **links**: idempotent, ending the claim, conflicting on another issue,
//!   found by issue key ignoring ASCII case, updated compare-and-set by
//!   version (a stale copy is refused), removed;
//! - **queue**: replacement by key under one id with a new version, due
//!   order, only the version that ran is completed, rescheduled, parked or
//!   extended; parking, unparking, `take_due` leases;
//! - **recovery**: a claim whose holder is gone becomes one queued create,
//!   and the next claimant is told to check Jira;
//! - **parked recreates** hold their finding ([`super::Claim::Parked`]);
//! - **work counts**: queued, parked, the next due time and the claims of
//!   findings with nothing parked, as `work_counts` answers them.
//! - **deliveries**: first seen once, forgotten, pruned by age; the sweep
//!   cursor;
//! - **races**: many tasks at once claim the same findings, take the same
//!   due operations, record the same delivery ids, queue the same
//!   operations and recover the same orphans: exactly one wins each; a
//!   renewal and a takeover of one claim never both succeed.
//!   [`run_races`] runs them over several handles of one store.
//!
//! [`run_isolation`] (and [`run_rate_budget_isolation`]) check that two
//! handles of one backend serving two connections never see or change
//! each other's rows.
//!
//! Every violation panics with `store contract: <part>: <what>`.
//! Times passed to the store are small made-up epoch milliseconds, so the
//! kit never waits and never reads the clock.

mod budget;
mod claims;
mod deliveries;
mod isolation;
mod links;
mod queue;
mod races;

pub use budget::run_rate_budget;

use super::{Claim, Fence, StoreError, SyncStore};
use penaxtra_mapping::FindingId;
use std::future::Future;
use std::sync::Arc;

/// Runs the whole contract; see the [module docs](self). `make_store`
/// answers a fresh, empty store each time it is called (a new schema, a
/// new file, a new database).
///
/// # Panics
/// On the first violation, with `store contract: <part>: <what>`, or when
/// the store answers an error where the contract expects none.
pub async fn run<S, F, Fut>(mut make_store: F)
where
    S: SyncStore + 'static,
    F: FnMut() -> Fut,
    Fut: Future<Output = S>,
{
    claims::run(&make_store().await).await;
    claims::doubt(&make_store().await).await;
    links::run(&make_store().await).await;
    queue::run(&make_store().await).await;
    queue::take_due(&make_store().await).await;
    queue::work_counts(&make_store().await).await;
    claims::recovery(&make_store().await).await;
    claims::parked_recreate(&make_store().await).await;
    deliveries::run(&make_store().await).await;
    races::run(&[Arc::new(make_store().await)]).await;
}

/// The races of [`run`] with their tasks spread over several handles of
/// **one** store: `handles` are the same database opened apart (two
/// connection pools, two opens of one file), as separate processes or
/// replicas hold it. A store whose atomicity rests on something one handle
/// serialises (a mutex, one connection) passes [`run`] and can still fail
/// here. `handles` must start empty.
///
/// # Panics
/// As [`run`], and when `handles` is empty.
pub async fn run_races<S>(handles: Vec<S>)
where
    S: SyncStore + 'static,
{
    let handles: Vec<Arc<S>> = handles.into_iter().map(Arc::new).collect();
    races::run(&handles).await;
}

/// Checks that connections sharing a backend are apart: `a` and `b` are
/// two handles of **one** fresh, empty backend serving two different
/// connections (e.g. `SqliteStore::for_connection`). Nothing one does is
/// visible to or changes the other: claims and fences, links and issue
/// keys, the queue and its operation references, delivery marks, the
/// sweep cursor. Both use the same finding ids, issue keys and delivery
/// ids on purpose.
///
/// # Panics
/// On the first violation, with `store contract: isolation: <what>`.
pub async fn run_isolation<S>(a: S, b: S)
where
    S: SyncStore + 'static,
{
    isolation::run(&a, &b).await;
}

/// [`run_isolation`] for the request budgets: a budget of one name on two
/// connections is two budgets (Jira's limits are per site).
///
/// # Panics
/// On the first violation, with `store contract: isolation: <what>`.
pub async fn run_rate_budget_isolation<S>(a: S, b: S)
where
    S: super::RateBudgetStore + 'static,
{
    isolation::budgets(&a, &b).await;
}

/// The answer of a store call the contract expects to succeed.
fn ok<T>(part: &str, what: &str, result: Result<T, StoreError>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("store contract: {part}: {what} failed: {e} ({})", e.code()),
    }
}

/// A finding id of the kit (always valid).
/// An issue key; the kit's literals are valid keys.
fn key(s: &str) -> jira_model::IssueKey {
    match jira_model::IssueKey::new(s) {
        Ok(k) => k,
        Err(e) => panic!("the test kit's issue key {s:?} is invalid: {e}"),
    }
}

fn fid(s: &str) -> FindingId {
    match FindingId::new(s) {
        Ok(id) => id,
        Err(e) => panic!("store contract: the kit's finding id {s:?} is invalid: {e}"),
    }
}

/// The fence and doubt of a claim the contract expects to be acquired.
fn acquired(part: &str, what: &str, claim: Claim) -> (Fence, Option<i64>) {
    match claim {
        Claim::Acquired { fence, doubt } => (fence, doubt.map(|d| d.since_ms)),
        other => {
            panic!("store contract: {part}: {what}: expected an acquired claim, got {other:?}")
        }
    }
}

/// Panics with the contract's message unless `cond`.
fn check(part: &str, cond: bool, what: impl std::fmt::Display) {
    if !cond {
        panic!("store contract: {part}: {what}");
    }
}

/// Panics with both values unless they are equal.
fn same<T: PartialEq + std::fmt::Debug>(part: &str, got: T, want: T, what: &str) {
    if got != want {
        panic!("store contract: {part}: {what}: got {got:?}, want {want:?}");
    }
}
