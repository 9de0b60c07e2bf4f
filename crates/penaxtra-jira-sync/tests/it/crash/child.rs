//! One replica: a child process of the crash suite, run as
//! `crash::child::crash_child` and ignored in a plain test run.

use super::{HMAC_SECRET, URL_SECRET, settings};
use crate::pg;
use crate::shared_host::SharedFindings;
use crate::webhook_e2e::receiver;
use jira_client::RateLimit;
use jira_model::Flavor;
use penaxtra_jira_sync::store::{RateBudgetStore, SqliteStore, SyncStore};
use penaxtra_jira_sync::{JiraSync, SharedRateBudget};
use penaxtra_mapping::{Finding, FindingId};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

/// The store the parent named: a SQLite file, or a Postgres database with
/// a schema.
async fn open_store() -> (Arc<dyn SyncStore>, Arc<dyn RateBudgetStore>) {
    let spec = var("PX_CRASH_STORE");
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        let store = Arc::new(pg::store(&spec, &var("PX_CRASH_PG_SCHEMA")).await);
        (store.clone(), store)
    } else {
        let store = Arc::new(SqliteStore::open(&spec).unwrap());
        (store.clone(), store)
    }
}

/// One process's work, read from the environment: serve webhooks (behind
/// the parent's balancer), push its share of the host's findings, apply
/// the state changes the host's users made since the last phase, settle.
/// Every Jira request waits for its slot in the budget the store keeps for
/// all processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of the crash suite"]
async fn crash_child() {
    // The engine's own account of what it did, in this process's log.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            std::env::var("PX_CRASH_LOG").unwrap_or_else(|_| "penaxtra_jira_sync=info".into()),
        )
        .with_ansi(false)
        .try_init();
    let flavor: Flavor = var("PX_CRASH_FLAVOR").parse().unwrap();
    let host = Arc::new(SharedFindings::open(&PathBuf::from(var("PX_CRASH_HOST"))));
    let changed: Vec<FindingId> = std::env::var("PX_CRASH_CHANGED")
        .ok()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .unwrap_or_default();
    let rate: u32 = var("PX_CRASH_RATE").parse().unwrap();
    let burst: u32 = var("PX_CRASH_BURST").parse().unwrap();
    let (store, budget_store) = open_store().await;
    let limit = RateLimit::new(
        NonZeroU32::new(rate).unwrap(),
        NonZeroU32::new(burst).unwrap(),
    );
    let client = match var("PX_CRASH_PACING").as_str() {
        // The comparison: each process paces itself at Jira's limit.
        "local" => crate::support::client_with_local_quota(&var("PX_CRASH_SIM"), flavor, limit),
        _ => crate::support::client_with_budget(
            &var("PX_CRASH_SIM"),
            flavor,
            Arc::new(SharedRateBudget::new(budget_store, "jira", limit)),
        ),
    };
    let mut sync = JiraSync::builder(client, store, host.clone())
        .settings(settings())
        .owner(format!("proc-{}", std::process::id()));
    // A replica on a host whose clock is wrong: its engine's wall clock is
    // this far off (claims are measured on the store's clock).
    if let Ok(offset) = std::env::var("PX_CRASH_CLOCK_OFFSET_MS") {
        let offset: i64 = offset.parse().unwrap();
        eprintln!("child {}: clock {offset} ms off", std::process::id());
        sync = sync.clock(Arc::new(penaxtra_jira_sync::OffsetClock::new(offset)));
    }
    let sync = sync.build().unwrap();

    // Webhooks: a receiver on a free port, announced to the balancer.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port_file = PathBuf::from(var("PX_CRASH_PORTS")).join(std::process::id().to_string());
    std::fs::write(
        &port_file,
        listener.local_addr().unwrap().port().to_string(),
    )
    .unwrap();
    let sink: receiver::LineSink = Arc::new(|line| println!("webhook {line}"));
    tokio::spawn(receiver::serve(
        listener,
        crate::support::loopback_gate(URL_SECRET, HMAC_SECRET),
        sync.inbound().await,
        sink,
    ));

    // This process's share: all findings but every `procs`-th, so shares
    // overlap (each finding is pushed by all processes but one).
    let (slot, procs): (usize, usize) = (
        var("PX_CRASH_SLOT").parse().unwrap(),
        var("PX_CRASH_PROCS").parse().unwrap(),
    );
    let findings: Vec<Finding> = host
        .all()
        .into_iter()
        .enumerate()
        .filter(|(i, _)| procs < 2 || i % procs != slot)
        .map(|(_, f)| f)
        .collect();
    let mut order: Vec<usize> = (0..findings.len()).collect();
    let mut rng = StdRng::seed_from_u64(u64::from(std::process::id()));
    order.shuffle(&mut rng);
    sync.run_due().await.unwrap();
    let (bulk, single) = order.split_at(order.len() / 2);
    let bulk: Vec<Finding> = bulk.iter().map(|&i| findings[i].clone()).collect();
    sync.push_many(&bulk, |_| {}).await.unwrap();
    for &i in single {
        sync.push(&findings[i]).await.unwrap();
    }
    // The host's users changed these since the last phase: mirror the
    // state they have now (a webhook may have changed it since).
    for id in &changed {
        use penaxtra_jira_sync::Findings;
        if let Some(f) = host.finding(id).await.unwrap() {
            sync.set_state(id, f.state).await.unwrap();
        }
    }
    let settled = sync.settle(Duration::from_secs(120), |_| {}).await.unwrap();
    let _ = std::fs::remove_file(&port_file);
    println!(
        "child {} settled: timed_out={} left={:?} healed={}",
        std::process::id(),
        settled.timed_out,
        settled.left,
        settled.reconcile.as_ref().map_or(0, |r| r.healed.len())
    );
}
