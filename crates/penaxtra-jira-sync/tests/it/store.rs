//! The store contract (`store::conformance`, the public test kit) run
//! against every shipped store; and what is particular to each: SQLite's
//! durability, migrations and cross-connection atomicity, Postgres's
//! migrations under concurrent opens.

use crate::pg;
use penaxtra_jira_sync::ConnectionId;
use penaxtra_jira_sync::store::{
    Claim, Link, MemoryStore, PendingOp, PostgresConfig, PostgresStore, SqliteStore, StoreClock,
    SweepCursor, SyncStore, conformance,
};
use penaxtra_mapping::{FindingId, FindingState};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn fid(s: &str) -> FindingId {
    FindingId::new(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_keeps_the_contract() {
    conformance::run(|| async { MemoryStore::new() }).await;
    conformance::run_rate_budget(|| async { MemoryStore::new() }).await;
}

fn conn(s: &str) -> ConnectionId {
    ConnectionId::new(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_sharing_a_store_are_apart() {
    // Memory: two handles of one memory.
    let a = MemoryStore::new().for_connection(conn("tenant-a"));
    let b = a.for_connection(conn("tenant-b"));
    conformance::run_isolation(a, b).await;
    let a = MemoryStore::new();
    let b = a.for_connection(conn("tenant-b"));
    conformance::run_rate_budget_isolation(a, b).await;
    // SQLite: two handles of one file, and two opens of one file.
    let (_dir, mut next) = sqlite_files();
    let path = next();
    let a = SqliteStore::open(&path)
        .unwrap()
        .with_clock(StoreClock::Caller);
    let b = a.for_connection(conn("tenant-b"));
    conformance::run_isolation(a, b).await;
    let path = next();
    let a = SqliteStore::open(&path)
        .unwrap()
        .with_clock(StoreClock::Caller)
        .for_connection(conn("x"));
    let b = SqliteStore::open(&path)
        .unwrap()
        .with_clock(StoreClock::Caller)
        .for_connection(conn("X"));
    conformance::run_isolation(a, b).await;
    let a = SqliteStore::open(next()).unwrap();
    let b = a.for_connection(conn("tenant-b"));
    conformance::run_rate_budget_isolation(a, b).await;
    // Postgres: two handles of one schema.
    let Some(url) = pg::url("store::connections_sharing_a_store_are_apart") else {
        return;
    };
    let schema = pg::unique_schema("iso");
    let a = pg::store(&url, &schema)
        .await
        .with_clock(StoreClock::Caller);
    let b = a.for_connection(conn("tenant-b"));
    conformance::run_isolation(a.clone(), b.clone()).await;
    let budget_schema = pg::unique_schema("isob");
    let a = pg::store(&url, &budget_schema).await;
    let b = a.for_connection(conn("tenant-b"));
    conformance::run_rate_budget_isolation(a, b).await;
    pg::drop_schemas(&url, &[schema, budget_schema]).await;
}

/// The isolation kit fails a store whose handles share one connection's
/// rows while claiming to serve two.
#[tokio::test]
#[should_panic(expected = "store contract: isolation:")]
async fn the_isolation_kit_fails_a_store_that_leaks_between_connections() {
    let inner: Arc<dyn SyncStore> = Arc::new(MemoryStore::new());
    let a = crate::hooked_store::HookedStore::new(Arc::clone(&inner));
    let b = crate::hooked_store::HookedStore::new(inner).claiming_connection(conn("tenant-b"));
    conformance::run_isolation(a, b).await;
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
        // The kit drives made-up times: the store measures claims by them.
        async move {
            SqliteStore::open(path)
                .unwrap()
                .with_clock(StoreClock::Caller)
        }
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
            // The kit drives made-up times: the store measures claims by them.
            pg::store(&url, &schema)
                .await
                .with_clock(StoreClock::Caller)
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
    conformance::run(|| async {
        crate::hooked_store::HookedStore::new(Arc::new(MemoryStore::new())).hiding_issue_lookups()
    })
    .await;
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
    assert_eq!(version, 5);
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
            "EXPLAIN QUERY PLAN SELECT finding_id FROM links WHERE connection = 'default' AND issue_key_norm = 'SEC-5'",
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
        Claim::Acquired { fence, doubt } => {
            assert!(fence.0 > 41, "fences keep growing: {fence}");
            assert_eq!(doubt.map(|d| d.since_ms), Some(900));
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
    // Every row came in under the default connection: another
    // connection's handle on the file sees none of them.
    let other = store.for_connection(ConnectionId::new("acme").unwrap());
    assert!(other.links().await.unwrap().is_empty());
    assert!(other.pending().await.unwrap().is_empty());
    assert!(other.claims().await.unwrap().is_empty());
    assert_eq!(other.sweep_cursor().await.unwrap(), None);
    assert!(
        other
            .link_by_issue(&crate::support::key("SEC-5"))
            .await
            .unwrap()
            .is_none()
    );
    drop((store, other));
    // Opening again changes nothing.
    let again = SqliteStore::open(&path).unwrap();
    assert_eq!(again.links().await.unwrap().len(), 2);
}

/// The kit's races with their tasks spread over several handles of one
/// store, as separate processes or replicas hold it: four opens of one
/// SQLite file (four writer connections), three pools on one Postgres
/// schema. One handle serialises its own writes; several race for real.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_races_hold_across_separate_handles_of_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let handles = (0..4)
        .map(|_| {
            SqliteStore::open(&path)
                .unwrap()
                .with_clock(StoreClock::Caller)
        })
        .collect();
    conformance::run_races(handles).await;

    let Some(url) = pg::url("store::the_races_hold_across_separate_handles_of_one_store") else {
        return;
    };
    let schema = pg::unique_schema("handles");
    let mut handles = Vec::new();
    for _ in 0..3 {
        handles.push(
            pg::store(&url, &schema)
                .await
                .with_clock(StoreClock::Caller),
        );
    }
    conformance::run_races(handles).await;
    pg::drop_schemas(&url, &[schema]).await;
}

/// A replica whose clock is far ahead cannot take a live claim, nor make
/// a doubt look old: shared stores measure claims on their own clock (the
/// host's for SQLite, the database server's for Postgres), whatever time
/// the caller passes. The same calls on the caller's clock show what the
/// skewed replica would otherwise do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_stores_measure_claims_on_their_own_clock() {
    const AHEAD_MS: i64 = 90_000;
    async fn check(store: &dyn SyncStore, caller_clock: bool) {
        let now = penaxtra_jira_sync::SystemClock::new().now_ms();
        let f = FindingId::new("fnd_skew").unwrap();
        let Claim::Acquired { fence, .. } = store.claim(&f, "on-time", now, 30_000).await.unwrap()
        else {
            panic!("a first claim is acquired")
        };
        let skewed = store
            .claim(&f, "ahead", now + AHEAD_MS, 30_000)
            .await
            .unwrap();
        if caller_clock {
            assert!(
                matches!(skewed, Claim::Acquired { .. }),
                "on the caller's clock the skewed replica takes the live claim: {skewed:?}"
            );
            return;
        }
        assert_eq!(
            skewed,
            Claim::Busy,
            "a clock 90 s ahead takes no live claim"
        );
        // A release in doubt is dated by the store, not by a caller whose
        // clock is 90 s behind: the doubt is young, so the window is waited.
        use penaxtra_jira_sync::store::Release;
        assert!(
            store
                .release(
                    &f,
                    fence,
                    Release::Raised {
                        at_ms: now - AHEAD_MS
                    }
                )
                .await
                .unwrap()
        );
        match store
            .claim(&f, "next", now - AHEAD_MS, 30_000)
            .await
            .unwrap()
        {
            Claim::Acquired { doubt: Some(d), .. } => {
                assert!(d.since_ms >= now, "dated by the store: {d:?}");
                assert!(d.age_ms < 10_000, "a doubt just raised is young: {d:?}");
            }
            other => panic!("{other:?}"),
        }
    }
    use penaxtra_jira_sync::Clock;
    let dir = tempfile::tempdir().unwrap();
    check(
        &SqliteStore::open(dir.path().join("own.sqlite")).unwrap(),
        false,
    )
    .await;
    check(
        &SqliteStore::open(dir.path().join("caller.sqlite"))
            .unwrap()
            .with_clock(StoreClock::Caller),
        true,
    )
    .await;
    let Some(url) = pg::url("store::shared_stores_measure_claims_on_their_own_clock") else {
        return;
    };
    let (own, caller) = (pg::unique_schema("own"), pg::unique_schema("caller"));
    check(&pg::store(&url, &own).await, false).await;
    check(
        &pg::store(&url, &caller)
            .await
            .with_clock(StoreClock::Caller),
        true,
    )
    .await;
    pg::drop_schemas(&url, &[own, caller]).await;
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
    assert_eq!(versions, [1, 2, 3], "each version applied once");
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

/// A Postgres claim decides on the claim row it has locked: a renewal
/// committed while the claim waited is seen (the claim is busy), never
/// overwritten by a takeover decided on the expiry read before it. The
/// renewal here is held open in another session while the claimant runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_takeover_never_overwrites_a_renewal_committed_meanwhile() {
    let Some(url) =
        pg::url("store::a_postgres_takeover_never_overwrites_a_renewal_committed_meanwhile")
    else {
        return;
    };
    let schema = pg::unique_schema("renew");
    let store = Arc::new(
        pg::store(&url, &schema)
            .await
            .with_clock(StoreClock::Caller),
    );
    let f = FindingId::new("fnd_renewed").unwrap();
    let Claim::Acquired { .. } = store.claim(&f, "holder", 0, 10).await.unwrap() else {
        panic!("a first claim is acquired")
    };
    // The holder's renewal (sent at 5, in time) holds the row, uncommitted.
    let mut renewal = pg::client(&url).await;
    let tx = renewal.transaction().await.unwrap();
    tx.execute(
        &format!("UPDATE \"{schema}\".claims SET until_ms = 15 WHERE finding_id = $1"),
        &[&f.as_str()],
    )
    .await
    .unwrap();
    // A claimant at 12 runs meanwhile: the claim had expired at 10.
    let taker = {
        let (store, f) = (Arc::clone(&store), f.clone());
        tokio::spawn(async move { store.claim(&f, "taker", 12, 10).await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.commit().await.unwrap();
    assert_eq!(
        taker.await.unwrap(),
        Claim::Busy,
        "the renewal committed first: the claim is live until 15"
    );
    drop(store);
    pg::drop_schemas(&url, &[schema]).await;
}
