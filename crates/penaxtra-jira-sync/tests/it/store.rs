//! The store contract (`store::conformance`, the public test kit) run
//! against every shipped store; and what is particular to each: SQLite's
//! durability, migrations and cross-connection atomicity, Postgres's
//! migrations under concurrent opens.

use crate::pg;
use jira_model::IssueKey;
use penaxtra_jira_sync::store::{
    Claim, Fence, Link, MemoryStore, OpRef, PendingOp, PostgresConfig, PostgresStore, QueuedOp,
    SqliteStore, StoreError, SweepCursor, SyncStore, conformance,
};
use penaxtra_mapping::{FindingId, FindingState};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

fn fid(s: &str) -> FindingId {
    FindingId::new(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_keeps_the_contract() {
    conformance::run(|| async { MemoryStore::new() }).await;
    conformance::run_rate_budget(|| async { MemoryStore::new() }).await;
}

/// A fresh SQLite file each time the kit asks.
fn sqlite_files() -> (tempfile::TempDir, impl FnMut() -> PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().to_path_buf();
    let mut n = 0;
    (dir, move || {
        n += 1;
        base.join(format!("s{n}.sqlite"))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_keeps_the_contract() {
    let (_dir, mut next) = sqlite_files();
    conformance::run(|| {
        let path = next();
        async move { SqliteStore::open(path).unwrap() }
    })
    .await;
    conformance::run_rate_budget(|| {
        let path = next();
        async move { SqliteStore::open(path).unwrap() }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_keeps_the_contract() {
    let Some(url) = pg::url("store::postgres_store_keeps_the_contract") else {
        return;
    };
    let schemas = Arc::new(Mutex::new(Vec::new()));
    let make = || {
        let url = url.clone();
        let schemas = Arc::clone(&schemas);
        async move {
            let schema = pg::unique_schema("kit");
            schemas.lock().unwrap().push(schema.clone());
            pg::store(&url, &schema).await
        }
    };
    conformance::run(make).await;
    conformance::run_rate_budget(make).await;
    let schemas = schemas.lock().unwrap().clone();
    pg::drop_schemas(&url, &schemas).await;
}

/// The kit fails a store that breaks the contract, with a message that
/// names the part: here a store whose issue-key lookup finds nothing.
#[tokio::test]
#[should_panic(expected = "store contract: links: link_by_issue(\"SEC-1\")")]
async fn the_kit_fails_a_store_that_breaks_the_contract() {
    conformance::run(|| async { LookupFindsNothing(MemoryStore::new()) }).await;
}

#[derive(Debug)]
struct LookupFindsNothing(MemoryStore);

/// Delegates every method to the memory store but `link_by_issue`.
#[async_trait::async_trait]
impl SyncStore for LookupFindsNothing {
    async fn claim(&self, f: &FindingId, o: &str, n: i64, l: i64) -> Result<Claim, StoreError> {
        self.0.claim(f, o, n, l).await
    }
    async fn renew(&self, f: &FindingId, fence: Fence, n: i64, l: i64) -> Result<bool, StoreError> {
        self.0.renew(f, fence, n, l).await
    }
    async fn release(
        &self,
        f: &FindingId,
        fence: Fence,
        d: Option<i64>,
    ) -> Result<bool, StoreError> {
        self.0.release(f, fence, d).await
    }
    async fn recover_orphans(&self, n: i64) -> Result<Vec<FindingId>, StoreError> {
        self.0.recover_orphans(n).await
    }
    async fn claims(&self) -> Result<Vec<(FindingId, Option<String>, Option<i64>)>, StoreError> {
        self.0.claims().await
    }
    async fn insert_link(&self, l: &Link, f: Option<Fence>) -> Result<(), StoreError> {
        self.0.insert_link(l, f).await
    }
    async fn update_link(&self, l: &Link) -> Result<(), StoreError> {
        self.0.update_link(l).await
    }
    async fn remove_link(&self, f: &FindingId) -> Result<(), StoreError> {
        self.0.remove_link(f).await
    }
    async fn link(&self, f: &FindingId) -> Result<Option<Link>, StoreError> {
        self.0.link(f).await
    }
    async fn link_by_issue(&self, _key: &IssueKey) -> Result<Option<Link>, StoreError> {
        Ok(None)
    }
    async fn links(&self) -> Result<Vec<Link>, StoreError> {
        self.0.links().await
    }
    async fn enqueue(&self, op: &PendingOp, d: i64, e: Option<&str>) -> Result<OpRef, StoreError> {
        self.0.enqueue(op, d, e).await
    }
    async fn due(&self, n: i64, l: usize) -> Result<Vec<QueuedOp>, StoreError> {
        self.0.due(n, l).await
    }
    async fn take_due(&self, n: i64, l: usize, u: i64) -> Result<Vec<QueuedOp>, StoreError> {
        self.0.take_due(n, l, u).await
    }
    async fn complete(&self, op: OpRef) -> Result<bool, StoreError> {
        self.0.complete(op).await
    }
    async fn reschedule(&self, op: OpRef, n: i64, e: &str) -> Result<(), StoreError> {
        self.0.reschedule(op, n, e).await
    }
    async fn extend(&self, op: OpRef, d: i64) -> Result<bool, StoreError> {
        self.0.extend(op, d).await
    }
    async fn park(&self, op: OpRef, e: &str) -> Result<(), StoreError> {
        self.0.park(op, e).await
    }
    async fn unpark_all(&self, n: i64) -> Result<usize, StoreError> {
        self.0.unpark_all(n).await
    }
    async fn pending(&self) -> Result<Vec<QueuedOp>, StoreError> {
        self.0.pending().await
    }
    async fn first_delivery(&self, d: &str, n: i64) -> Result<bool, StoreError> {
        self.0.first_delivery(d, n).await
    }
    async fn delivery_seen(&self, d: &str) -> Result<bool, StoreError> {
        self.0.delivery_seen(d).await
    }
    async fn forget_delivery(&self, d: &str) -> Result<(), StoreError> {
        self.0.forget_delivery(d).await
    }
    async fn prune_deliveries(&self, b: i64) -> Result<usize, StoreError> {
        self.0.prune_deliveries(b).await
    }
    async fn sweep_cursor(&self) -> Result<Option<SweepCursor>, StoreError> {
        self.0.sweep_cursor().await
    }
    async fn set_sweep_cursor(&self, c: &SweepCursor) -> Result<(), StoreError> {
        self.0.set_sweep_cursor(c).await
    }
}

#[tokio::test]
async fn sqlite_store_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    {
        let store = SqliteStore::open(&path).unwrap();
        store
            .insert_link(
                &Link::new(
                    fid("fnd_1"),
                    crate::support::key("SEC-1"),
                    "1",
                    FindingState::Open,
                    1,
                ),
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

/// A file written by the previous release (schema 2, issue keys scanned
/// with `COLLATE NOCASE`) opens, migrates to 3, and keeps every record:
/// keys in any case are found through the new index, the parked recreate
/// still holds its finding, fences and versions keep growing.
#[tokio::test]
async fn sqlite_migrates_a_version_2_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../fixtures/stores/sqlite_v2.sql"))
            .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 3);
    let lower = store
        .link_by_issue(&crate::support::key("SEC-5"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lower.finding_id.as_str(), "fnd_lower");
    assert_eq!(
        lower.issue_key.as_str(),
        "SEC-5",
        "read back as Jira spells it"
    );
    assert!(lower.expects(&"Done".into(), Some("Won't Do")));
    assert_eq!(
        store
            .link_by_issue(&crate::support::key("ops-7"))
            .await
            .unwrap()
            .unwrap()
            .finding_id
            .as_str(),
        "fnd_mixed"
    );
    // The lookup uses the index on the normalised key.
    let plan: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "EXPLAIN QUERY PLAN SELECT finding_id FROM links WHERE issue_key_norm = 'SEC-5'",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("links_issue_key_norm"), "{plan}");
    match store
        .claim(&fid("fnd_gone"), "a", 10_000, 100)
        .await
        .unwrap()
    {
        Claim::Parked { reason } => assert!(reason.contains("SEC-9"), "{reason}"),
        other => panic!("the migrated parked recreate must hold its finding: {other:?}"),
    }
    match store
        .claim(&fid("fnd_doubt"), "a", 10_000, 100)
        .await
        .unwrap()
    {
        Claim::Acquired {
            fence,
            doubt_since_ms,
        } => {
            assert!(fence.0 > 41, "fences keep growing: {fence}");
            assert_eq!(doubt_since_ms, Some(900));
        }
        other => panic!("{other:?}"),
    }
    let due = store.due(10_000, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].attempts, 2);
    let replaced = store.enqueue(&due[0].op, 20_000, None).await.unwrap();
    assert_eq!(replaced.id, due[0].id);
    assert!(replaced.version > 8, "versions keep growing");
    assert_eq!(store.prune_deliveries(1_000).await.unwrap(), 1);
    assert!(!store.first_delivery("delivery:new", 10_000).await.unwrap());
    assert_eq!(
        store.sweep_cursor().await.unwrap(),
        Some(SweepCursor::new(4242))
    );
    drop(store);
    // Opening again changes nothing.
    let again = SqliteStore::open(&path).unwrap();
    assert_eq!(again.links().await.unwrap().len(), 2);
}

/// Many tasks on separate connections to one file (as separate processes
/// would be) race to claim the same findings: exactly one wins each. The
/// kit's races use one handle; this one uses a handle per task.
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

/// Replicas starting at once on a new schema migrate it once: the
/// advisory lock makes the others wait and find it done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_opening_at_once_migrate_once() {
    let Some(url) = pg::url("store::postgres_replicas_opening_at_once_migrate_once") else {
        return;
    };
    let schema = pg::unique_schema("mig");
    let opens: Vec<_> = (0..6)
        .map(|_| {
            let (url, schema) = (url.clone(), schema.clone());
            tokio::spawn(async move { pg::store(&url, &schema).await })
        })
        .collect();
    let mut stores = Vec::new();
    for o in opens {
        stores.push(o.await.unwrap());
    }
    let client = pg::client(&url).await;
    let versions: Vec<i32> = client
        .query(
            &format!("SELECT version FROM \"{schema}\".schema_migrations ORDER BY version"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, [1], "each version applied once");
    // Every handle works on the one schema: a claim by one is seen by all.
    let f = fid("fnd_1");
    assert!(matches!(
        stores[0].claim(&f, "a", 0, 60_000).await.unwrap(),
        Claim::Acquired { .. }
    ));
    for s in &stores[1..] {
        assert_eq!(s.claim(&f, "b", 1, 60_000).await.unwrap(), Claim::Busy);
    }
    drop(stores);
    pg::drop_schemas(&url, &[schema]).await;
}

#[tokio::test]
async fn postgres_rejects_a_newer_schema() {
    let Some(url) = pg::url("store::postgres_rejects_a_newer_schema") else {
        return;
    };
    let schema = pg::unique_schema("new");
    drop(pg::store(&url, &schema).await);
    pg::client(&url)
        .await
        .batch_execute(&format!(
            "INSERT INTO \"{schema}\".schema_migrations (version) VALUES (99)"
        ))
        .await
        .unwrap();
    let err = PostgresStore::connect(PostgresConfig::new(url.clone()).schema(&schema))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "store_corrupt", "{err}");
    pg::drop_schemas(&url, &[schema]).await;
}

/// An unreachable database is a typed backend error that names the host
/// and database, never the password.
#[tokio::test]
async fn postgres_unreachable_is_a_backend_error_without_the_password() {
    let config = PostgresConfig::new("postgres://px:hunter2-secret@127.0.0.1:1/sync".to_string())
        .timeout(std::time::Duration::from_secs(2));
    let err = PostgresStore::connect(config).await.unwrap_err();
    assert_eq!(err.code(), "store_backend");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("127.0.0.1:1/sync"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
}
