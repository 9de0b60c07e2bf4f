//! Races: many tasks at once on one store, spread over every handle given
//! (the same store opened several times: separate connections, pools or
//! files handles, as separate processes or replicas have). Exactly one wins
//! each.

use super::key;
use super::{check, fid, ok, same};
use crate::store::{Claim, Link, PendingOp, StoreError, SyncStore};
use penaxtra_mapping::{FindingId, FindingState};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

const TASKS: usize = 8;
const FINDINGS: usize = 24;
/// Renewals each renewing task sends per claim in the takeover race.
const RENEWALS: usize = 8;

fn finding(i: usize) -> FindingId {
    fid(&format!("fnd_race_{i:03}"))
}

/// Runs `f(task)` on `TASKS` tasks at once and collects their answers.
async fn race<S, T, F, Fut>(part: &str, stores: &[Arc<S>], f: F) -> Vec<T>
where
    S: SyncStore + 'static,
    T: Send + 'static,
    F: Fn(Arc<S>, usize) -> Fut,
    Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
{
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| tokio::spawn(f(Arc::clone(&stores[t % stores.len()]), t)))
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        match t.await {
            Ok(r) => out.push(ok(part, "a racing task", r)),
            Err(e) => panic!("store contract: {part}: a racing task panicked: {e}"),
        }
    }
    out
}

/// Every race, its tasks spread over `stores` (handles of one store).
pub(super) async fn run<S: SyncStore + 'static>(stores: &[Arc<S>]) {
    if stores.is_empty() {
        panic!("store contract: races: no store handle given");
    }
    claims(stores).await;
    link_against_claim(stores).await;
    enqueue(stores).await;
    take_due(stores).await;
    deliveries(stores).await;
    recovery(stores).await;
    // Last: it leaves expired claims behind, which recovery would count.
    renew_against_takeover(stores).await;
}

async fn claims<S: SyncStore + 'static>(stores: &[Arc<S>]) {
    const P: &str = "races: claims";
    let won = race(P, stores, |s, t| async move {
        let mut won = Vec::new();
        for i in 0..FINDINGS {
            // Each task starts at another finding, so they collide.
            let i = (i + t * 3) % FINDINGS;
            if let Claim::Acquired { .. } =
                s.claim(&finding(i), &format!("w{t}"), 0, 60_000).await?
            {
                won.push(i);
            }
        }
        Ok(won)
    })
    .await;
    let mut winners = vec![0; FINDINGS];
    for i in won.into_iter().flatten() {
        winners[i] += 1;
    }
    check(
        P,
        winners.iter().all(|&n| n == 1),
        format!("each finding is claimed exactly once: {winners:?}"),
    );
}

async fn link_against_claim<S: SyncStore + 'static>(stores: &[Arc<S>]) {
    const P: &str = "races: a late link against a new claim";
    let mut fences = BTreeMap::new();
    for i in 0..FINDINGS {
        let f = fid(&format!("fnd_late_{i:03}"));
        if let Claim::Acquired { fence, .. } =
            ok(P, "claim", stores[0].claim(&f, "old", 0, 10).await)
        {
            fences.insert(f, fence);
        }
    }
    same(P, fences.len(), FINDINGS, "every first claim is acquired");
    let fences = Arc::new(fences);
    let outcomes = race(P, stores, move |s, t| {
        let fences = Arc::clone(&fences);
        async move {
            let mut out = Vec::new();
            for (f, fence) in fences.iter() {
                if t % 2 == 0 {
                    let link = Link::new(
                        f.clone(),
                        key(&format!("SEC-{t}")),
                        "1",
                        FindingState::Open,
                        100,
                    );
                    let linked = match s.insert_link(&link, Some(*fence)).await {
                        Ok(()) => true,
                        Err(StoreError::Fenced { .. } | StoreError::Conflict { .. }) => false,
                        Err(e) => return Err(e),
                    };
                    out.push((f.clone(), linked, false));
                } else {
                    let acquired = matches!(
                        s.claim(f, "new", 100, 60_000).await?,
                        Claim::Acquired { .. }
                    );
                    out.push((f.clone(), false, acquired));
                }
            }
            Ok(out)
        }
    })
    .await;
    let mut per: BTreeMap<FindingId, (usize, usize)> = BTreeMap::new();
    for (f, linked, acquired) in outcomes.into_iter().flatten() {
        let e = per.entry(f).or_default();
        e.0 += usize::from(linked);
        e.1 += usize::from(acquired);
    }
    for (f, (links, claims)) in per {
        check(
            P,
            links + claims == 1,
            format!(
                "{f}: the expired holder linked {links} times and new claimants acquired {claims} times; exactly one of them may win"
            ),
        );
    }
}

async fn renew_against_takeover<S: SyncStore + 'static>(stores: &[Arc<S>]) {
    const P: &str = "races: a renewal against a takeover";
    // Claims that expire at 10; renewals sent at 5 (in time) race with
    // claimants at 12. Either the renewal lands first (the claimant finds
    // a live claim) or the takeover does (the renewal finds a new fence):
    // never both, or the holder goes on believing a claim it lost.
    let mut fences = BTreeMap::new();
    for i in 0..FINDINGS {
        let f = fid(&format!("fnd_renew_{i:03}"));
        if let Claim::Acquired { fence, .. } =
            ok(P, "claim", stores[0].claim(&f, "holder", 0, 10).await)
        {
            fences.insert(f, fence);
        }
    }
    same(P, fences.len(), FINDINGS, "every first claim is acquired");
    let fences = Arc::new(fences);
    let outcomes = race(P, stores, move |s, t| {
        let fences = Arc::clone(&fences);
        async move {
            let mut out = Vec::new();
            for (f, fence) in fences.iter() {
                if t % 2 == 0 {
                    // Renewed again and again, as a keeper does, so that a
                    // renewal lands inside a takeover if it can.
                    let mut renewed = false;
                    for _ in 0..RENEWALS {
                        if !s.renew(f, *fence, 5, 10).await? {
                            break;
                        }
                        renewed = true;
                    }
                    out.push((f.clone(), renewed, false));
                } else {
                    let took = matches!(
                        s.claim(f, &format!("taker{t}"), 12, 10).await?,
                        Claim::Acquired { .. }
                    );
                    out.push((f.clone(), false, took));
                }
            }
            Ok(out)
        }
    })
    .await;
    let mut per: BTreeMap<FindingId, (usize, usize)> = BTreeMap::new();
    for (f, renewed, took) in outcomes.into_iter().flatten() {
        let e = per.entry(f).or_default();
        e.0 += usize::from(renewed);
        e.1 += usize::from(took);
    }
    for (f, (renewals, takeovers)) in per {
        check(
            P,
            takeovers <= 1,
            format!("{f}: taken over {takeovers} times"),
        );
        check(
            P,
            renewals == 0 || takeovers == 0,
            format!(
                "{f}: {renewals} renewals answered true and yet the claim was taken over: the holder would go on sending on a lost claim"
            ),
        );
    }
}

async fn enqueue<S: SyncStore + 'static>(stores: &[Arc<S>]) {
    const P: &str = "races: enqueue";
    race(P, stores, |s, t| async move {
        for i in 0..FINDINGS {
            let op = PendingOp::SetState {
                finding: finding(i),
                state: if t % 2 == 0 {
                    FindingState::Triaged
                } else {
                    FindingState::Resolved
                },
            };
            s.enqueue(&op, 5, None).await?;
        }
        Ok(())
    })
    .await;
    let pending = ok(P, "pending", stores[0].pending().await);
    same(
        P,
        pending.len(),
        FINDINGS,
        "one queued state change per finding, however many raced to queue it",
    );
    for q in pending {
        check(
            P,
            ok(P, "complete", stores[0].complete(q.op_ref()).await),
            "the current version completes",
        );
    }
}

async fn take_due<S: SyncStore + 'static>(stores: &[Arc<S>]) {
    const P: &str = "races: take_due";
    for i in 0..FINDINGS * 2 {
        let op = PendingOp::Create {
            finding: fid(&format!("fnd_take_{i:03}")),
        };
        ok(P, "enqueue", stores[0].enqueue(&op, 0, None).await);
    }
    let taken = race(P, stores, |s, _| async move {
        let mut mine = Vec::new();
        loop {
            let batch = s.take_due(1, 3, 1_000_000).await?;
            if batch.is_empty() {
                return Ok(mine);
            }
            mine.extend(batch.into_iter().map(|q| q.id));
        }
    })
    .await;
    let mut count: BTreeMap<_, usize> = BTreeMap::new();
    for id in taken.into_iter().flatten() {
        *count.entry(id).or_default() += 1;
    }
    same(P, count.len(), FINDINGS * 2, "every due operation is taken");
    check(
        P,
        count.values().all(|&n| n == 1),
        format!("each operation is taken by one taker: {count:?}"),
    );
    for q in ok(P, "pending", stores[0].pending().await) {
        ok(P, "complete", stores[0].complete(q.op_ref()).await);
    }
}

async fn deliveries<S: SyncStore + 'static>(stores: &[Arc<S>]) {
    const P: &str = "races: deliveries";
    let firsts = race(P, stores, |s, t| async move {
        let mut firsts = Vec::new();
        for i in 0..FINDINGS {
            let i = (i + t * 5) % FINDINGS;
            if s.first_delivery(&format!("delivery-{i}"), 1).await? {
                firsts.push(i);
            }
        }
        Ok(firsts)
    })
    .await;
    let mut seen = vec![0; FINDINGS];
    for i in firsts.into_iter().flatten() {
        seen[i] += 1;
    }
    check(
        P,
        seen.iter().all(|&n| n == 1),
        format!("each delivery is first exactly once: {seen:?}"),
    );
}

async fn recovery<S: SyncStore + 'static>(stores: &[Arc<S>]) {
    const P: &str = "races: recovery";
    for i in 0..FINDINGS {
        let f = fid(&format!("fnd_orphan_{i:03}"));
        if !matches!(
            ok(P, "claim", stores[0].claim(&f, "dead", 0, 1).await),
            Claim::Acquired { .. }
        ) {
            panic!("store contract: {P}: a first claim of {f} was not acquired");
        }
    }
    let recovered = race(
        P,
        stores,
        |s, _| async move { s.recover_orphans(100).await },
    )
    .await;
    let mut count: BTreeMap<FindingId, usize> = BTreeMap::new();
    for f in recovered.into_iter().flatten() {
        *count.entry(f).or_default() += 1;
    }
    same(P, count.len(), FINDINGS, "every orphan is recovered");
    check(
        P,
        count.values().all(|&n| n == 1),
        format!("each orphan is recovered once: {count:?}"),
    );
    let creates = ok(P, "pending", stores[0].pending().await)
        .into_iter()
        .filter(|q| q.op.is_create())
        .count();
    same(P, creates, FINDINGS, "one queued create per orphan");
}
