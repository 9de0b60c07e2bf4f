//! Three replicas, one Jira rate limit: how far over it they go, and how
//! much of it they use, with and without the shared budget.
//!
//! ```sh
//! cargo bench -p penaxtra-jira-sync --bench replicas
//! PENAXTRA_TEST_PG=postgres://postgres@127.0.0.1:5432/test REPLICAS_N=600 \
//!     cargo bench -p penaxtra-jira-sync --bench replicas
//! ```
//!
//! Three engines, each with its own client and its own store handle (as
//! three processes would have), push their share of `REPLICAS_N` findings
//! (default 300; 60 without `--bench`), one `push` per finding from
//! `REPLICAS_TASKS` tasks each (default 4), into a `jira-sim` whose rate
//! limit is `REPLICAS_RATE` requests a second with bursts of
//! `REPLICAS_BURST` (default 20 and 10) and which answers after
//! `REPLICAS_LATENCY_MS` (default 5). Each push of a new finding is one
//! create request, so the replicas together want far more than the limit.
//!
//! | pacing | what each replica's client does |
//! |---|---|
//! | `local` | its own quota at Jira's limit (what replicas did before the shared budget), plus `Retry-After` and the rate-limit headers |
//! | `shared` | the same, and every attempt first reserves its slot in one budget at Jira's limit kept in the store ([`SharedRateBudget`]) |
//!
//! `shared` runs on one SQLite file and, when `PENAXTRA_TEST_PG` names a
//! database, on a fresh Postgres schema (dropped afterwards). Printed: one
//! Markdown table, then one `replicas:` line per run. `429s` are the
//! requests the simulator's limiter refused; `accepted/s` is the requests
//! it served otherwise, over the wall time of the run, against the limit.

// A bench binary, like a test: a broken store or simulator panics with
// what failed.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/env_var.rs"]
mod env_var;
use env_var::env_or;
use jira_client::{ApiTokenAuth, JiraClient, PatAuth, RateLimit, RequestBudget, RetryPolicy};
use jira_model::Flavor;
use jira_sim::{JiraSim, SimConfig, SimRateLimit, accounts};
use penaxtra_jira_sync::store::{
    PostgresConfig, PostgresStore, RateBudgetStore, SqliteStore, SyncStore,
};
use penaxtra_jira_sync::{JiraSync, MemoryFindings, SharedRateBudget};
use penaxtra_mapping::{Finding, FindingId, FindingState, Severity};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

const REPLICAS: usize = 3;

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

fn client(sim: &JiraSim, limit: RateLimit, budget: Option<Arc<dyn RequestBudget>>) -> JiraClient {
    let builder = match sim.flavor() {
        Flavor::Cloud => JiraClient::builder(
            &sim.base_url(),
            Flavor::Cloud,
            ApiTokenAuth::new(
                accounts::SERVICE_EMAIL,
                accounts::SERVICE_API_TOKEN.to_string().into(),
            ),
        )
        .url_policy(jira_client::UrlPolicy::default().allow_loopback()),
        _ => JiraClient::builder(
            &sim.base_url(),
            Flavor::DataCenter,
            PatAuth::new(accounts::SERVICE_PAT.to_string().into()),
        )
        .url_policy(jira_client::UrlPolicy::default().allow_loopback()),
    }
    .rate_limit(limit)
    .retry_policy(RetryPolicy::new(
        nz(8),
        Duration::from_secs(60),
        Duration::from_millis(50),
        Duration::from_secs(2),
    ));
    match budget {
        Some(b) => builder.shared_budget(b),
        None => builder,
    }
    .build()
    .expect("the client builds")
}

fn finding(i: usize) -> Finding {
    Finding::new(
        FindingId::new(format!("fnd_replica_{i:06}")).expect("a valid id"),
        format!("Replica bench finding #{i}"),
        Severity::High,
        FindingState::Open,
    )
    .expect("a valid finding")
    .with_probe("rag_indirect_v2")
}

/// What one run measured.
struct Run {
    pacing: &'static str,
    store: &'static str,
    requests: u64,
    refused: u64,
    wall: Duration,
    issues: usize,
}

/// One run: a fresh simulator, `REPLICAS` engines on handles from
/// `open`, each pushing its share.
async fn run<F, Fut>(
    pacing: &'static str,
    store: &'static str,
    open: F,
    n: usize,
    tasks: usize,
    limit: RateLimit,
) -> Run
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (Arc<dyn SyncStore>, Arc<dyn RateBudgetStore>)>,
{
    let flavor: Flavor = env_or("REPLICAS_FLAVOR", "cloud".to_string())
        .parse()
        .expect("cloud or datacenter");
    let sim = JiraSim::start(
        SimConfig::new(flavor)
            .rate_limit(Some(SimRateLimit::new(
                limit.per_second.get(),
                limit.burst.get(),
            )))
            .latency(Duration::from_millis(env_or("REPLICAS_LATENCY_MS", 5))),
    )
    .await
    .expect("the simulator starts");
    let findings: Vec<Finding> = (0..n).map(finding).collect();
    let mut engines = Vec::new();
    for r in 0..REPLICAS {
        let (sync_store, budget_store) = open().await;
        let budget = (pacing == "shared").then(|| {
            Arc::new(SharedRateBudget::new(budget_store, "jira", limit)) as Arc<dyn RequestBudget>
        });
        let host = Arc::new(MemoryFindings::with(findings.clone()));
        let engine = JiraSync::builder(client(&sim, limit, budget), sync_store, host)
            .owner(format!("replica-{r}"))
            .build()
            .expect("the engine builds");
        engines.push(engine);
    }
    let started = Instant::now();
    let mut handles = Vec::new();
    for (r, engine) in engines.into_iter().enumerate() {
        for t in 0..tasks {
            let engine = engine.clone();
            let mine: Vec<Finding> = findings
                .iter()
                .enumerate()
                .filter(|(i, _)| i % REPLICAS == r && (i / REPLICAS) % tasks == t)
                .map(|(_, f)| f.clone())
                .collect();
            handles.push(tokio::spawn(async move {
                for f in &mine {
                    engine.push(f).await.expect("the store works");
                }
                engine
                    .settle(Duration::from_secs(120), |_| {})
                    .await
                    .expect("the store works");
            }));
        }
    }
    for h in handles {
        h.await.expect("a replica task");
    }
    let wall = started.elapsed();
    let out = Run {
        pacing,
        store,
        requests: sim.request_count(),
        refused: sim.rate_limited_count(),
        wall,
        issues: sim.issues().len(),
    };
    sim.shutdown().await;
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = env_or("REPLICAS_N", if full { 300 } else { 60 });
    let tasks = env_or("REPLICAS_TASKS", 4usize).max(1);
    let rate = env_or("REPLICAS_RATE", 20u32);
    let burst = env_or("REPLICAS_BURST", 10u32);
    let limit = RateLimit::new(nz(rate), nz(burst));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut runs = Vec::new();
    for pacing in ["local", "shared"] {
        let path = dir.path().join(format!("{pacing}.sqlite"));
        drop(SqliteStore::open(&path).expect("sqlite opens"));
        let open = || {
            let path = path.clone();
            async move {
                let s = Arc::new(SqliteStore::open(path).expect("sqlite opens"));
                (
                    s.clone() as Arc<dyn SyncStore>,
                    s as Arc<dyn RateBudgetStore>,
                )
            }
        };
        runs.push(run(pacing, "SQLite", open, n, tasks, limit).await);
    }
    if let Some(url) = std::env::var("PENAXTRA_TEST_PG")
        .ok()
        .filter(|u| !u.is_empty())
    {
        let schema = format!("bench_replicas_{}", std::process::id());
        let open = || {
            let (url, schema) = (url.clone(), schema.clone());
            async move {
                let s = Arc::new(
                    PostgresStore::connect(PostgresConfig::new(url).schema(schema).pool_size(4))
                        .await
                        .expect("postgres connects"),
                );
                (
                    s.clone() as Arc<dyn SyncStore>,
                    s as Arc<dyn RateBudgetStore>,
                )
            }
        };
        runs.push(run("shared", "Postgres", open, n, tasks, limit).await);
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("postgres connects");
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .await
            .expect("the bench schema is dropped");
    } else {
        eprintln!("Postgres skipped: set PENAXTRA_TEST_PG=postgres://… to include it");
    }
    println!(
        "replicas: {REPLICAS} replicas × {tasks} tasks, {n} findings, Jira's limit {rate}/s (burst {burst})"
    );
    println!();
    println!(
        "| pacing | store | requests | 429s | 429s per 1,000 | accepted/s | of the limit | wall |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in &runs {
        let accepted = (r.requests - r.refused) as f64 / r.wall.as_secs_f64();
        println!(
            "| {} | {} | {} | {} | {:.1} | {:.1} | {:.0}% | {:.1} s |",
            r.pacing,
            r.store,
            r.requests,
            r.refused,
            r.refused as f64 * 1000.0 / r.requests.max(1) as f64,
            accepted,
            accepted * 100.0 / f64::from(rate),
            r.wall.as_secs_f64()
        );
    }
    for r in &runs {
        println!(
            "replicas: pacing={} store={} requests={} refused={} wall_s={:.2} issues={}",
            r.pacing,
            r.store,
            r.requests,
            r.refused,
            r.wall.as_secs_f64(),
            r.issues
        );
    }
}
