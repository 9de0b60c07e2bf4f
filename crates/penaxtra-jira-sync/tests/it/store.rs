//! The store contract, run against both shipped stores; and the SQLite
//! store's durability and cross-process atomicity.

use penaxtra_jira_sync::store::{
    Claim, Link, MemoryStore, PendingOp, SqliteStore, SweepCursor, SyncStore,
};
use penaxtra_mapping::{FindingId, FindingState};
use std::sync::Arc;

fn fid(s: &str) -> FindingId {
    FindingId::new(s).unwrap()
}

async fn contract(store: &dyn SyncStore) {
    let f = fid("fnd_1");
    // Claims: first acquires, a second owner is busy, the lease expires.
    assert_eq!(
        store.claim(&f, "a", 1_000, 100).await.unwrap(),
        Claim::Acquired { uncertain: false }
    );
    assert_eq!(store.claim(&f, "b", 1_050, 100).await.unwrap(), Claim::Busy);
    assert_eq!(
        store.claim(&f, "a", 1_060, 100).await.unwrap(),
        Claim::Busy,
        "exclusive even for its own owner"
    );
    assert_eq!(
        store.claim(&f, "b", 1_200, 100).await.unwrap(),
        Claim::Acquired { uncertain: true },
        "an expired claim means an earlier attempt may have reached Jira"
    );
    // A clean release forgets the claim; an ambiguous one is remembered.
    store.release(&f, "a", false).await.unwrap(); // not the holder: no effect
    assert_eq!(store.claim(&f, "c", 1_250, 100).await.unwrap(), Claim::Busy);
    store.release(&f, "b", true).await.unwrap();
    assert_eq!(
        store.claim(&f, "c", 1_260, 100).await.unwrap(),
        Claim::Acquired { uncertain: true }
    );
    let g = fid("fnd_2");
    assert_eq!(
        store.claim(&g, "a", 1_000, 100).await.unwrap(),
        Claim::Acquired { uncertain: false }
    );
    store.release(&g, "a", false).await.unwrap();
    assert_eq!(
        store.claim(&g, "b", 1_001, 100).await.unwrap(),
        Claim::Acquired { uncertain: false }
    );

    // Links end claims, are idempotent, and conflict on another issue.
    let link = Link::new(f.clone(), "SEC-1", "10001", FindingState::Open, 2_000);
    store.insert_link(&link).await.unwrap();
    store.insert_link(&link).await.unwrap();
    let other = Link::new(f.clone(), "SEC-2", "10002", FindingState::Open, 2_000);
    assert_eq!(
        store.insert_link(&other).await.unwrap_err().code(),
        "store_conflict"
    );
    match store.claim(&f, "d", 2_001, 100).await.unwrap() {
        Claim::Linked(l) => assert_eq!(l.issue_key, "SEC-1"),
        other => panic!("expected linked, got {other:?}"),
    }
    let mut updated = store.link(&f).await.unwrap().unwrap();
    updated.state_in = Some(FindingState::Resolved);
    updated.expected_statuses = vec!["In Progress".into(), "Done".into()];
    updated.last_event_ms = Some(5);
    store.update_link(&updated).await.unwrap();
    assert_eq!(
        store.link_by_issue("SEC-1").await.unwrap().unwrap(),
        updated
    );
    assert_eq!(
        store.link_by_issue("sec-1").await.unwrap().unwrap(),
        updated,
        "issue keys ignore case, as in Jira"
    );
    assert_eq!(store.links().await.unwrap().len(), 1);
    let missing = Link::new(fid("fnd_9"), "SEC-9", "9", FindingState::Open, 0);
    assert_eq!(
        store.update_link(&missing).await.unwrap_err().code(),
        "store_not_found"
    );

    // Queue: replace by key, due order, reschedule, park, unpark.
    let create = PendingOp::Create { finding: g.clone() };
    let id = store.enqueue(&create, 10, Some("timeout")).await.unwrap();
    assert_eq!(
        store.enqueue(&create, 20, None).await.unwrap(),
        id,
        "same key replaces"
    );
    let s1 = PendingOp::SetState {
        finding: g.clone(),
        state: FindingState::Triaged,
    };
    let s2 = PendingOp::SetState {
        finding: g.clone(),
        state: FindingState::Resolved,
    };
    let sid = store.enqueue(&s1, 5, None).await.unwrap();
    assert_eq!(store.enqueue(&s2, 5, None).await.unwrap(), sid);
    let due = store.due(30, 10).await.unwrap();
    assert_eq!(due.iter().map(|q| q.id).collect::<Vec<_>>(), [sid, id]);
    assert_eq!(due[0].op, s2, "the newest target state wins");
    assert!(store.due(4, 10).await.unwrap().is_empty());
    store.reschedule(id, 100, "rate_limited").await.unwrap();
    let q = store
        .pending()
        .await
        .unwrap()
        .into_iter()
        .find(|q| q.id == id)
        .unwrap();
    assert_eq!(
        (q.attempts, q.due_ms, q.last_error.as_deref()),
        (1, 100, Some("rate_limited"))
    );
    store.park(sid, "unauthorized").await.unwrap();
    assert!(
        store
            .due(1_000, 10)
            .await
            .unwrap()
            .iter()
            .all(|q| q.id != sid),
        "parked ops are not due"
    );
    assert_eq!(
        store.pending().await.unwrap().len(),
        2,
        "parked ops stay visible"
    );
    assert_eq!(store.unpark_all(50).await.unwrap(), 1);
    assert!(store.due(50, 10).await.unwrap().iter().any(|q| q.id == sid));
    store.complete(sid).await.unwrap();
    store.complete(id).await.unwrap();
    assert!(store.pending().await.unwrap().is_empty());

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
            .insert_link(&Link::new(
                fid("fnd_1"),
                "SEC-1",
                "1",
                FindingState::Open,
                1,
            ))
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
