//! Store operations per second, SQLite and Postgres: the three paths every
//! finding and every webhook takes through the store.
//!
//! ```sh
//! cargo bench -p penaxtra-jira-sync --bench store
//! PENAXTRA_TEST_PG=postgres://postgres@127.0.0.1:5432/test STORE_BENCH_N=5000 \
//!     cargo bench -p penaxtra-jira-sync --bench store
//! ```
//!
//! | operation | what one operation is |
//! |---|---|
//! | `claim→link` | `claim` a new finding, then `insert_link` under its fence (a create's bookkeeping) |
//! | `enqueue→complete` | `enqueue` a state change, then `complete` it (an outbound change's intent) |
//! | `delivery mark` | `first_delivery` of a new webhook id (every relevant webhook) |
//! | `take_due (16)` | queue 16 creates, take them under a lease, complete each (a worker's batch: 33 store calls) |
//! | `link_by_issue` | find a link by issue key in other case, among all the links made above |
//!
//! Each runs `STORE_BENCH_N` times (default 2,000; 200 without `--bench`,
//! as under `cargo test --benches`), once from one task and once from
//! `STORE_BENCH_TASKS` tasks at once (default 8; each task its own
//! findings, as replicas would be), on a fresh store: a SQLite file in a
//! temporary directory, and, when `PENAXTRA_TEST_PG` names a database, a
//! fresh Postgres schema (dropped afterwards). Prints one table in
//! Markdown, operations per second.

// A bench binary, like a test: a broken store or simulator panics with
// what failed.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/env_var.rs"]
mod env_var;
use env_var::env_or;
use penaxtra_jira_sync::store::{
    Claim, Link, PendingOp, PostgresConfig, PostgresStore, SqliteStore, SyncStore,
};
use penaxtra_mapping::{FindingId, FindingState};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

type Op = Arc<
    dyn Fn(Arc<dyn SyncStore>, usize, usize) -> Pin<Box<dyn Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

fn fid(task: usize, i: usize) -> FindingId {
    FindingId::new(format!("fnd_bench_{task:02}_{i:07}")).expect("a valid id")
}

fn operations() -> Vec<(&'static str, Op)> {
    let claim_link: Op = Arc::new(|s, t, i| {
        Box::pin(async move {
            let f = fid(t, i);
            let Claim::Acquired { fence, .. } =
                s.claim(&f, "bench", 0, 60_000).await.expect("claim")
            else {
                panic!("{f} was not acquired");
            };
            let link = Link::new(
                f,
                jira_model::IssueKey::new(format!("SEC-{t}{i}")).expect("a valid key"),
                format!("{t}{i}"),
                FindingState::Open,
                0,
            );
            s.insert_link(&link, Some(fence))
                .await
                .expect("insert_link");
        })
    });
    let enqueue_complete: Op = Arc::new(|s, t, i| {
        Box::pin(async move {
            let op = PendingOp::SetState {
                finding: fid(t, i),
                state: FindingState::Resolved,
            };
            let r = s.enqueue(&op, 0, None).await.expect("enqueue");
            assert!(s.complete(r).await.expect("complete"));
        })
    });
    let delivery: Op = Arc::new(|s, t, i| {
        Box::pin(async move {
            assert!(
                s.first_delivery(&format!("delivery:{t}:{i}"), 0)
                    .await
                    .expect("first_delivery")
            );
        })
    });
    let take_due: Op = Arc::new(|s, t, i| {
        Box::pin(async move {
            // Sixteen operations of this task, then taken at once.
            for k in 0..16 {
                let op = PendingOp::Create {
                    finding: fid(t, i * 16 + k),
                };
                s.enqueue(&op, 0, None).await.expect("enqueue");
            }
            let taken = s.take_due(1, 16, 1_000).await.expect("take_due");
            for q in taken {
                s.complete(q.op_ref()).await.expect("complete");
            }
        })
    });
    let lookup: Op = Arc::new(|s, t, i| {
        Box::pin(async move {
            let key = jira_model::IssueKey::new(format!("sec-{}", t * 10_000_000 + i))
                .expect("a valid key");
            assert!(
                s.link_by_issue(&key)
                    .await
                    .expect("link_by_issue")
                    .is_some()
            );
        })
    });
    vec![
        ("claim→link", claim_link),
        ("enqueue→complete", enqueue_complete),
        ("delivery mark", delivery),
        ("link_by_issue", lookup),
        ("take_due (16)", take_due),
    ]
}

/// Runs `op` `n` times split over `tasks` tasks; answers operations a
/// second.
async fn measure(store: &Arc<dyn SyncStore>, op: &Op, n: usize, tasks: usize) -> f64 {
    let per_task = n / tasks;
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let (store, op) = (Arc::clone(store), Arc::clone(op));
            tokio::spawn(async move {
                for i in 0..per_task {
                    op(Arc::clone(&store), t, i).await;
                }
            })
        })
        .collect();
    for h in handles {
        h.await.expect("a bench task");
    }
    (per_task * tasks) as f64 / started.elapsed().as_secs_f64()
}

async fn bench_store(
    name: &str,
    store: Arc<dyn SyncStore>,
    n: usize,
    tasks: usize,
) -> Vec<(String, String, f64, f64)> {
    let mut rows = Vec::new();
    for (what, op) in operations() {
        // One task uses task slot 0, the tasks use slots 1.., so every
        // finding, key and delivery id is new; the lookups find the links
        // made by the claim→link rows (slot 0 alone and slots 1..).
        let one = measure_slot(&store, &op, n, 0).await;
        let many = measure(&store, &shifted(&op), n, tasks).await;
        rows.push((name.to_string(), what.to_string(), one, many));
    }
    rows
}

/// `op` on task slots 1.. instead of 0..
fn shifted(op: &Op) -> Op {
    let op = Arc::clone(op);
    Arc::new(move |s, t, i| op(s, t + 1, i))
}

async fn measure_slot(store: &Arc<dyn SyncStore>, op: &Op, n: usize, slot: usize) -> f64 {
    let started = Instant::now();
    for i in 0..n {
        op(Arc::clone(store), slot, i).await;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = env_or("STORE_BENCH_N", if full { 2_000 } else { 200 });
    let tasks = env_or("STORE_BENCH_TASKS", 8usize).max(1);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut rows = Vec::new();
    let sqlite: Arc<dyn SyncStore> =
        Arc::new(SqliteStore::open(dir.path().join("bench.sqlite")).expect("sqlite opens"));
    rows.extend(bench_store("SQLite (file, WAL)", sqlite, n, tasks).await);
    let pg_url = std::env::var("PENAXTRA_TEST_PG")
        .ok()
        .filter(|u| !u.is_empty());
    match &pg_url {
        Some(url) => {
            let schema = format!("bench_store_{}", std::process::id());
            let store = PostgresStore::connect(
                PostgresConfig::new(url.clone())
                    .schema(&schema)
                    .pool_size(tasks),
            )
            .await
            .expect("postgres connects");
            rows.extend(bench_store("Postgres (loopback)", Arc::new(store), n, tasks).await);
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .expect("postgres connects");
            tokio::spawn(conn);
            client
                .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                .await
                .expect("the bench schema is dropped");
        }
        None => eprintln!("Postgres skipped: set PENAXTRA_TEST_PG=postgres://… to include it"),
    }
    println!("store: n={n} tasks={tasks}");
    println!();
    println!("| store | operation | ops/s, 1 task | ops/s, {tasks} tasks |");
    println!("|---|---|---|---|");
    for (store, what, one, many) in rows {
        println!("| {store} | {what} | {one:.0} | {many:.0} |");
    }
}
