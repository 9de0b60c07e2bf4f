//! The store contract, run against both shipped stores; and the SQLite
//! store's durability and cross-process atomicity.

use crate::support::key;
use penaxtra_jira_sync::store::{
    Claim, ExpectedStatus, Fence, Link, MemoryStore, PendingOp, SqliteStore, SweepCursor, SyncStore,
};
use penaxtra_mapping::{FindingId, FindingState};
use std::sync::Arc;

fn fid(s: &str) -> FindingId {
    FindingId::new(s).unwrap()
}

fn acquired(claim: Claim) -> (Fence, Option<i64>) {
    match claim {
        Claim::Acquired {
            fence,
            doubt_since_ms,
        } => (fence, doubt_since_ms),
        other => panic!("expected acquired, got {other:?}"),
    }
}

async fn contract(store: &dyn SyncStore) {
    let f = fid("fnd_1");
    // Claims: first acquires, a second owner is busy, the lease expires.
    let (fa, doubt) = acquired(store.claim(&f, "a", 1_000, 100).await.unwrap());
    assert_eq!(doubt, None);
    assert_eq!(store.claim(&f, "b", 1_050, 100).await.unwrap(), Claim::Busy);
    assert_eq!(
        store.claim(&f, "a", 1_060, 100).await.unwrap(),
        Claim::Busy,
        "exclusive even for its own owner"
    );
    // Renewal keeps it: at 1_150 the renewed lease (to 1_190) still holds.
    assert!(store.renew(&f, fa, 1_090, 100).await.unwrap());
    assert_eq!(store.claim(&f, "b", 1_150, 100).await.unwrap(), Claim::Busy);
    let (fb, doubt) = acquired(store.claim(&f, "b", 1_200, 100).await.unwrap());
    assert!(fb > fa, "every claim gets a larger fence");
    assert_eq!(
        doubt,
        Some(1_190),
        "an expired claim leaves doubt up to its expiry: its holder may have reached Jira"
    );
    // The old holder is fenced out of every write.
    assert!(!store.renew(&f, fa, 1_210, 100).await.unwrap());
    assert!(!store.release(&f, fa, None).await.unwrap());
    let stale = Link::new(f.clone(), key("SEC-7"), "10007", FindingState::Open, 1_210);
    assert_eq!(
        store
            .insert_link(&stale, Some(fa))
            .await
            .unwrap_err()
            .code(),
        "store_fenced"
    );
    assert!(store.link(&f).await.unwrap().is_none(), "nothing changed");
    assert_eq!(store.claim(&f, "c", 1_250, 100).await.unwrap(), Claim::Busy);
    // Released in doubt: the next claimant is told since when.
    assert!(store.release(&f, fb, Some(1_260)).await.unwrap());
    let (fc, doubt) = acquired(store.claim(&f, "c", 1_270, 100).await.unwrap());
    assert_eq!(doubt, Some(1_260));
    let g = fid("fnd_2");
    let (fg, _) = acquired(store.claim(&g, "a", 1_000, 100).await.unwrap());
    assert!(store.release(&g, fg, None).await.unwrap());
    let (fg2, doubt) = acquired(store.claim(&g, "b", 1_001, 100).await.unwrap());
    assert_eq!(doubt, None, "a clean release forgets the claim");
    assert!(
        store
            .claims()
            .await
            .unwrap()
            .iter()
            .any(|(id, owner, _)| *id == g && owner.as_deref() == Some("b"))
    );
    assert!(store.release(&g, fg2, None).await.unwrap());

    // Links end claims, are idempotent, and conflict on another issue.
    let link = Link::new(f.clone(), key("SEC-1"), "10001", FindingState::Open, 2_000);
    store.insert_link(&link, Some(fc)).await.unwrap();
    store.insert_link(&link, Some(fc)).await.unwrap();
    let other = Link::new(f.clone(), key("SEC-2"), "10002", FindingState::Open, 2_000);
    assert_eq!(
        store.insert_link(&other, None).await.unwrap_err().code(),
        "store_conflict"
    );
    assert!(
        store
            .claims()
            .await
            .unwrap()
            .iter()
            .all(|(id, ..)| *id != f),
        "the link ended the claim"
    );
    match store.claim(&f, "d", 2_001, 100).await.unwrap() {
        Claim::Linked(l) => assert_eq!(l.issue_key, "SEC-1"),
        other => panic!("expected linked, got {other:?}"),
    }
    let mut updated = store.link(&f).await.unwrap().unwrap();
    updated.state_in = Some(FindingState::Resolved);
    updated.expected_statuses = vec![
        ExpectedStatus::passing("In Progress"),
        ExpectedStatus::arriving("Done", Some("Won't Do".into())),
    ];
    updated.last_event_ms = Some(5);
    store.update_link(&updated).await.unwrap();
    assert_eq!(
        store.link_by_issue(&key("SEC-1")).await.unwrap().unwrap(),
        updated
    );
    assert_eq!(
        store.link_by_issue(&key("sec-1")).await.unwrap().unwrap(),
        updated,
        "issue keys ignore case, as in Jira"
    );
    assert_eq!(store.links().await.unwrap().len(), 1);
    let missing = Link::new(fid("fnd_9"), key("SEC-9"), "9", FindingState::Open, 0);
    assert_eq!(
        store.update_link(&missing).await.unwrap_err().code(),
        "store_not_found"
    );

    // Queue: replace by key (a new version), due order, reschedule, park,
    // unpark; only the version that ran completes.
    let create = PendingOp::Create { finding: g.clone() };
    let c1 = store.enqueue(&create, 10, Some("timeout")).await.unwrap();
    let c2 = store.enqueue(&create, 20, None).await.unwrap();
    assert_eq!(c2.id, c1.id, "same key replaces");
    assert_ne!(c2.version, c1.version, "with a new version");
    let s1 = PendingOp::SetState {
        finding: g.clone(),
        state: FindingState::Triaged,
    };
    let s2 = PendingOp::SetState {
        finding: g.clone(),
        state: FindingState::Resolved,
    };
    let r1 = store.enqueue(&s1, 5, None).await.unwrap();
    let r2 = store.enqueue(&s2, 5, None).await.unwrap();
    assert_eq!(r2.id, r1.id);
    let due = store.due(30, 10).await.unwrap();
    assert_eq!(due.iter().map(|q| q.id).collect::<Vec<_>>(), [r1.id, c1.id]);
    assert_eq!(due[0].op, s2, "the newest target state wins");
    assert_eq!(due[0].op_ref(), r2);
    assert!(
        !store.complete(r1).await.unwrap(),
        "completing the version that ran keeps the newer one"
    );
    store.reschedule(r1, 999, "stale").await.unwrap();
    store.park(r1, "stale").await.unwrap();
    assert!(!store.extend(r1, 999).await.unwrap());
    assert_eq!(
        store.due(30, 10).await.unwrap()[0].op_ref(),
        r2,
        "an old version's reschedule, park or extend changes nothing"
    );
    assert!(store.due(4, 10).await.unwrap().is_empty());
    assert!(store.extend(r2, 40).await.unwrap());
    assert!(
        store
            .due(30, 10)
            .await
            .unwrap()
            .iter()
            .all(|q| q.id != r2.id),
        "an operation in flight is not due until its lease ends"
    );
    store.reschedule(c2, 100, "rate_limited").await.unwrap();
    let q = store
        .pending()
        .await
        .unwrap()
        .into_iter()
        .find(|q| q.id == c2.id)
        .unwrap();
    assert_eq!(
        (q.attempts, q.due_ms, q.last_error.as_deref()),
        (1, 100, Some("rate_limited"))
    );
    store.park(r2, "unauthorized").await.unwrap();
    assert!(
        store
            .due(1_000, 10)
            .await
            .unwrap()
            .iter()
            .all(|q| q.id != r2.id),
        "parked ops are not due"
    );
    assert_eq!(
        store.pending().await.unwrap().len(),
        2,
        "parked ops stay visible"
    );
    assert_eq!(store.unpark_all(50).await.unwrap(), 1);
    let again = store
        .due(50, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|q| q.id == r2.id)
        .unwrap();
    assert!(store.complete(again.op_ref()).await.unwrap());
    assert!(store.complete(c2).await.unwrap());
    assert!(store.pending().await.unwrap().is_empty());

    // Recovery: a claim whose holder is gone becomes a queued create, once.
    let h = fid("fnd_3");
    let (fh, _) = acquired(store.claim(&h, "dead", 3_000, 100).await.unwrap());
    assert!(
        store.recover_orphans(3_050).await.unwrap().is_empty(),
        "still held"
    );
    assert_eq!(
        store.recover_orphans(3_200).await.unwrap(),
        std::slice::from_ref(&h)
    );
    assert!(
        store.recover_orphans(3_300).await.unwrap().is_empty(),
        "queued once"
    );
    let queued = store.due(3_300, 10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].op, PendingOp::Create { finding: h.clone() });
    let (_, doubt) = acquired(store.claim(&h, "next", 3_300, 100).await.unwrap());
    assert_eq!(doubt, Some(3_100), "the next claimant checks Jira first");
    assert!(!store.renew(&h, fh, 3_300, 100).await.unwrap());
    assert!(store.complete(queued[0].op_ref()).await.unwrap());

    // A parked recreate (the issue was deleted in Jira) holds the finding.
    let k = fid("fnd_4");
    let rec = PendingOp::Recreate {
        finding: k.clone(),
        deleted_issue: key("SEC-4"),
    };
    let rr = store.enqueue(&rec, 1, None).await.unwrap();
    store.park(rr, "issue_deleted: SEC-4").await.unwrap();
    assert!(matches!(
        store.claim(&k, "a", 4_000, 100).await.unwrap(),
        Claim::Parked { reason } if reason.contains("SEC-4")
    ));
    assert_eq!(store.unpark_all(4_000).await.unwrap(), 1);
    acquired(store.claim(&k, "a", 4_000, 100).await.unwrap());
    let rq = store.due(4_000, 10).await.unwrap();
    assert!(store.complete(rq[0].op_ref()).await.unwrap());

    // Deliveries and the cursor.
    assert!(store.first_delivery("d1", 1).await.unwrap());
    assert!(!store.first_delivery("d1", 2).await.unwrap());
    store.forget_delivery("d1").await.unwrap();
    assert!(store.first_delivery("d1", 3).await.unwrap());
    assert_eq!(store.sweep_cursor().await.unwrap(), None);
    store.set_sweep_cursor(&SweepCursor::new(77)).await.unwrap();
    assert_eq!(
        store.sweep_cursor().await.unwrap(),
        Some(SweepCursor::new(77))
    );
    store.remove_link(&f).await.unwrap();
    assert!(store.link(&f).await.unwrap().is_none());
}

#[tokio::test]
async fn memory_store_keeps_the_contract() {
    contract(&MemoryStore::new()).await;
}

#[tokio::test]
async fn sqlite_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract(&SqliteStore::open(dir.path().join("s.sqlite")).unwrap()).await;
}

#[tokio::test]
async fn sqlite_store_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    {
        let store = SqliteStore::open(&path).unwrap();
        store
            .insert_link(
                &Link::new(fid("fnd_1"), key("SEC-1"), "1", FindingState::Open, 1),
                None,
            )
            .await
            .unwrap();
        store
            .enqueue(
                &PendingOp::Create {
                    finding: fid("fnd_2"),
                },
                5,
                Some("timeout"),
            )
            .await
            .unwrap();
        assert!(matches!(
            store.claim(&fid("fnd_3"), "a", 0, 1_000).await.unwrap(),
            Claim::Acquired { .. }
        ));
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.link(&fid("fnd_1")).await.unwrap().unwrap().issue_key,
        "SEC-1"
    );
    assert_eq!(store.pending().await.unwrap().len(), 1);
    assert_eq!(
        store.claim(&fid("fnd_3"), "b", 10, 1_000).await.unwrap(),
        Claim::Busy,
        "claims survive too"
    );
}

#[tokio::test]
async fn sqlite_rejects_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    assert_eq!(
        SqliteStore::open(&path).unwrap_err().code(),
        "store_corrupt"
    );
}

/// Many tasks on separate connections to one file (as separate processes
/// would be) race to claim the same findings: exactly one wins each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_claims_are_atomic_across_connections() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    drop(SqliteStore::open(&path).unwrap());
    let mut tasks = Vec::new();
    for w in 0..8 {
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        tasks.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for i in 0..40 {
                let f = FindingId::new(format!("fnd_{i}")).unwrap();
                if let Claim::Acquired { .. } =
                    store.claim(&f, &format!("w{w}"), 0, 60_000).await.unwrap()
                {
                    won.push(i);
                }
            }
            won
        }));
    }
    let mut winners = vec![0; 40];
    for t in tasks {
        for i in t.await.unwrap() {
            winners[i] += 1;
        }
    }
    assert!(
        winners.iter().all(|&n| n == 1),
        "each finding claimed exactly once: {winners:?}"
    );
}
