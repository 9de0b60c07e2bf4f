//! The queue: versions, order, reschedule, park, unpark, leases.

use super::{check, fid, ok, same};
use crate::store::{PendingOp, SyncStore};
use penaxtra_mapping::FindingState;

pub(super) async fn run(store: &dyn SyncStore) {
    const P: &str = "queue";
    let g = fid("fnd_2");
    let create = PendingOp::Create { finding: g.clone() };
    let c1 = ok(
        P,
        "enqueue",
        store.enqueue(&create, 10, Some("timeout")).await,
    );
    let c2 = ok(P, "enqueue", store.enqueue(&create, 20, None).await);
    same(
        P,
        c2.id,
        c1.id,
        "an equal operation replaces the queued one under its id",
    );
    check(P, c2.version != c1.version, "with a new version");
    let s1 = PendingOp::SetState {
        finding: g.clone(),
        state: FindingState::Triaged,
    };
    let s2 = PendingOp::SetState {
        finding: g.clone(),
        state: FindingState::Resolved,
    };
    let r1 = ok(P, "enqueue", store.enqueue(&s1, 5, None).await);
    let r2 = ok(P, "enqueue", store.enqueue(&s2, 5, None).await);
    same(
        P,
        r2.id,
        r1.id,
        "a state change replaces the queued state change",
    );
    check(
        P,
        r1.id != c1.id,
        "a create and a state change are separate rows",
    );
    let due = ok(P, "due", store.due(30, 10).await);
    same(
        P,
        due.iter().map(|q| q.id).collect::<Vec<_>>(),
        vec![r1.id, c1.id],
        "due oldest first",
    );
    same(
        P,
        due[0].op.clone(),
        s2.clone(),
        "the newest target state wins",
    );
    same(P, due[0].op_ref(), r2, "due answers the current version");
    same(
        P,
        due[1].last_error.clone(),
        None,
        "a replacement carries its own last error",
    );
    same(
        P,
        ok(P, "due", store.due(30, 1).await).len(),
        1,
        "due honours its limit",
    );
    check(
        P,
        ok(P, "due", store.due(4, 10).await).is_empty(),
        "nothing is due before its time",
    );
    check(
        P,
        !ok(P, "complete", store.complete(r1).await),
        "completing an old version answers false",
    );
    ok(P, "reschedule", store.reschedule(r1, 999, "stale").await);
    ok(P, "park", store.park(r1, "stale").await);
    check(
        P,
        !ok(P, "extend", store.extend(r1, 999).await),
        "extending an old version answers false",
    );
    let now = ok(P, "due", store.due(30, 10).await);
    same(
        P,
        (
            now[0].op_ref(),
            now[0].due_ms,
            now[0].attempts,
            now[0].parked,
        ),
        (r2, 5, 0, false),
        "an old version's complete, reschedule, park or extend changes nothing",
    );
    check(
        P,
        ok(P, "extend", store.extend(r2, 40).await),
        "extending the current version",
    );
    check(
        P,
        ok(P, "due", store.due(30, 10).await)
            .iter()
            .all(|q| q.id != r2.id),
        "an extended operation is not due until its lease ends",
    );
    ok(
        P,
        "reschedule",
        store.reschedule(c2, 100, "rate_limited").await,
    );
    let q = ok(P, "pending", store.pending().await)
        .into_iter()
        .find(|q| q.id == c2.id);
    same(
        P,
        q.map(|q| (q.attempts, q.due_ms, q.last_error, q.parked)),
        Some((1, 100, Some("rate_limited".to_string()), false)),
        "a reschedule counts an attempt, moves the time and keeps the error",
    );
    let c3 = ok(P, "enqueue", store.enqueue(&create, 50, None).await);
    same(P, c3.id, c2.id, "replaced again");
    same(
        P,
        ok(P, "pending", store.pending().await)
            .into_iter()
            .find(|q| q.id == c3.id)
            .map(|q| (q.attempts, q.version)),
        Some((1, c3.version)),
        "a replacement keeps the attempts made so far",
    );
    ok(P, "park", store.park(r2, "unauthorized").await);
    check(
        P,
        ok(P, "due", store.due(10_000, 10).await)
            .iter()
            .all(|q| q.id != r2.id),
        "a parked operation is not due",
    );
    let pending = ok(P, "pending", store.pending().await);
    same(
        P,
        pending.len(),
        2,
        "parked operations stay visible in pending()",
    );
    let parked = pending.iter().find(|q| q.id == r2.id);
    same(
        P,
        parked.map(|q| (q.parked, q.attempts, q.last_error.clone())),
        Some((true, 1, Some("unauthorized".to_string()))),
        "parking counts an attempt and keeps the error",
    );
    // A new operation with the key of a parked one is queued beside it.
    let s3 = PendingOp::SetState {
        finding: g.clone(),
        state: FindingState::Open,
    };
    let r3 = ok(P, "enqueue", store.enqueue(&s3, 60, None).await);
    check(P, r3.id != r2.id, "a parked operation is not replaced");
    same(
        P,
        ok(P, "unpark_all", store.unpark_all(70).await),
        1,
        "unpark_all answers how many",
    );
    let due = ok(P, "due", store.due(70, 10).await);
    check(
        P,
        due.iter()
            .any(|q| q.id == r2.id && q.due_ms == 70 && !q.parked),
        "an unparked operation is due at the time given",
    );
    for q in due {
        check(
            P,
            ok(P, "complete", store.complete(q.op_ref()).await),
            "the current version completes",
        );
    }
    check(
        P,
        ok(P, "pending", store.pending().await).is_empty(),
        "completed operations leave the queue",
    );
    check(
        P,
        !ok(P, "complete", store.complete(c3).await),
        "completing twice answers false",
    );
}

pub(super) async fn take_due(store: &dyn SyncStore) {
    const P: &str = "take_due";
    let mut refs = Vec::new();
    for (i, due) in [30, 10, 20, 40].into_iter().enumerate() {
        let op = PendingOp::Create {
            finding: fid(&format!("fnd_{i}")),
        };
        refs.push(ok(P, "enqueue", store.enqueue(&op, due, None).await));
    }
    let parked = ok(
        P,
        "enqueue",
        store
            .enqueue(
                &PendingOp::Create {
                    finding: fid("fnd_p"),
                },
                0,
                None,
            )
            .await,
    );
    ok(P, "park", store.park(parked, "unauthorized").await);
    let taken = ok(P, "take_due", store.take_due(35, 2, 1_000).await);
    same(
        P,
        taken.iter().map(|q| q.op_ref()).collect::<Vec<_>>(),
        vec![refs[1], refs[2]],
        "take_due takes the oldest due operations, at most `limit`, at their version",
    );
    check(
        P,
        taken.iter().all(|q| q.due_ms == 1_000),
        "taken operations carry their lease",
    );
    let again = ok(P, "take_due", store.take_due(35, 10, 1_000).await);
    same(
        P,
        again.iter().map(|q| q.op_ref()).collect::<Vec<_>>(),
        vec![refs[0]],
        "taken operations are not taken again while leased; parked and future ones never",
    );
    check(
        P,
        ok(P, "due", store.due(999, 10).await)
            .iter()
            .all(|q| q.id != refs[1].id),
        "a taken operation is not due until its lease ends",
    );
    let expired = ok(P, "take_due", store.take_due(1_000, 10, 2_000).await);
    check(
        P,
        expired.iter().any(|q| q.op_ref() == refs[1]),
        "a taken operation whose taker died falls due when the lease ends",
    );
    check(
        P,
        ok(P, "complete", store.complete(refs[1]).await),
        "a taken operation completes at its version",
    );
}

/// `work_counts`: what is left, counted.
pub(super) async fn work_counts(store: &dyn SyncStore) {
    const P: &str = "work counts";
    same(
        P,
        ok(P, "work_counts", store.work_counts().await),
        crate::store::WorkCounts::default(),
        "an empty store has nothing left",
    );
    // A claim in flight, a claim whose finding has a parked create, a
    // parked state change, and two operations due later.
    let held = fid("fnd_wc_held");
    let parked_create = fid("fnd_wc_parked");
    for f in [&held, &parked_create] {
        check(
            P,
            matches!(
                ok(P, "claim", store.claim(f, "w", 0, 1_000).await),
                crate::store::Claim::Acquired { .. }
            ),
            "a new claim is acquired",
        );
    }
    let op = ok(
        P,
        "enqueue",
        store
            .enqueue(
                &PendingOp::Create {
                    finding: parked_create.clone(),
                },
                0,
                None,
            )
            .await,
    );
    ok(P, "park", store.park(op, "unauthorized").await);
    let state = ok(
        P,
        "enqueue",
        store
            .enqueue(
                &PendingOp::SetState {
                    finding: fid("fnd_wc_state"),
                    state: FindingState::Resolved,
                },
                0,
                None,
            )
            .await,
    );
    ok(P, "park", store.park(state, "no_transition_path").await);
    for (f, due) in [("fnd_wc_a", 70), ("fnd_wc_b", 30)] {
        ok(
            P,
            "enqueue",
            store
                .enqueue(&PendingOp::Create { finding: fid(f) }, due, None)
                .await,
        );
    }
    let counts = ok(P, "work_counts", store.work_counts().await);
    same(P, counts.queued, 2, "queued operations that are not parked");
    same(P, counts.parked, 2, "parked operations");
    same(
        P,
        counts.next_due_ms,
        Some(30),
        "the earliest due time of the queued ones",
    );
    same(
        P,
        counts.claims,
        1,
        "claims, less those of findings with a parked operation",
    );
}
