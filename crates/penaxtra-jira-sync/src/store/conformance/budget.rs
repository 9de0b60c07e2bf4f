//! The shared request budget.

use super::{check, ok, same};
use crate::store::{BudgetRate, RateBudgetStore};
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;

/// Checks a [`RateBudgetStore`]: a burst, then one request per interval;
/// an idle budget refills to its burst and no more; budgets are separate
/// by name; reservations racing at one instant get distinct slots.
/// `make_store` answers a fresh, empty store each time.
///
/// # Panics
/// On the first violation, with `store contract: rate budget: <what>`.
pub async fn run_rate_budget<S, F, Fut>(mut make_store: F)
where
    S: RateBudgetStore + 'static,
    F: FnMut() -> Fut,
    Fut: Future<Output = S>,
{
    const P: &str = "rate budget";
    let nz = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    let rate = BudgetRate::new(nz(10), nz(3));
    let store = make_store().await;
    let t0 = 1_700_000_000_000_000;
    let mut waits = Vec::new();
    for _ in 0..6 {
        waits.push(ok(
            P,
            "reserve_request",
            store.reserve_request("jira", t0, rate).await,
        ));
    }
    same(
        P,
        waits,
        vec![0, 0, 0, 100_000, 200_000, 300_000],
        "a burst of 3, then one every 100 ms",
    );
    same(
        P,
        ok(
            P,
            "reserve_request",
            store.reserve_request("other", t0, rate).await,
        ),
        0,
        "budgets are separate by name",
    );
    // Ten seconds later the budget is full again: a burst, no more.
    let later = t0 + 10_000_000;
    let mut waits = Vec::new();
    for _ in 0..4 {
        waits.push(ok(
            P,
            "reserve_request",
            store.reserve_request("jira", later, rate).await,
        ));
    }
    same(
        P,
        waits,
        vec![0, 0, 0, 100_000],
        "an idle budget refills to its burst",
    );

    let store = Arc::new(make_store().await);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = Arc::clone(&store);
            tokio::spawn(async move {
                let mut w = Vec::new();
                for _ in 0..5 {
                    w.push(s.reserve_request("jira", t0, rate).await?);
                }
                Ok::<_, crate::store::StoreError>(w)
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        match t.await {
            Ok(r) => all.extend(ok(P, "a racing reservation", r)),
            Err(e) => panic!("store contract: {P}: a racing task panicked: {e}"),
        }
    }
    all.sort_unstable();
    let want: Vec<i64> = (0..40).map(|i: i64| (i - 2).max(0) * 100_000).collect();
    check(
        P,
        all == want,
        format!("40 racing reservations get the 40 slots of the budget: got {all:?}"),
    );
}
