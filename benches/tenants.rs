//! Many tenants, one service: connections each with their own `jira-sim`,
//! three replicas sharing one store, one worker pool per replica; one big
//! tenant with a large backlog while the small ones get new findings.
//!
//! ```sh
//! PENAXTRA_TEST_PG=postgres://postgres@127.0.0.1:5432/test \
//!     cargo bench -p penaxtra-jira-sync --bench tenants
//! TENANTS_N=1000 TENANTS_PER=100 TENANTS_BIG=50000 cargo bench -p penaxtra-jira-sync --bench tenants
//! ```
//!
//! `TENANTS_N` small tenants (default 200 with `--bench`, 10 without)
//! with `TENANTS_PER` findings each (default 100; 5) and one big tenant
//! with `TENANTS_BIG` (default 5,000; 100) are queued as creates in one
//! store (Postgres on a fresh schema when `PENAXTRA_TEST_PG` is set, else
//! one SQLite file), as a backfill whose first pushes all failed leaves
//! them. Every tenant has its own simulator (its own projects, keys and
//! rate limit, `TENANTS_RATE` requests a second, bursts of
//! `TENANTS_BURST`: default 20 and 10), and its own client per replica
//! pacing at a third of that limit. Three replicas (three store handles, three
//! registries holding every tenant, each with a pool running at most
//! `TENANTS_TURNS` connections' turns at once, default 256) drain the
//! queue.
//!
//! Once every small tenant is drained, while the big one still works
//! through its backlog, a probe queues one new finding on a small tenant
//! every `TENANTS_PROBE_MS` (default 200) for `TENANTS_PROBE_SECS`
//! (default 10; 2) and records how long until it is linked to its issue:
//! the delay a tenant sees while another backfills. Printed: one `tenants:` line with the wall time to
//! drain every small tenant against the per-tenant floor (a tenant's
//! requests at its own limit: tenants are served in parallel, so the
//! floor of the whole run is the largest one, and the sum is printed
//! too), the probe's p50/p99/max, the big tenant's share done by then,
//! resident memory per connection and store rows per connection.

// A bench binary, like a test: a broken store or simulator panics with
// what failed.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/env_var.rs"]
mod env_var;
#[path = "support/proc_stats.rs"]
mod proc_stats;
use env_var::env_or;
use jira_client::{ApiTokenAuth, JiraClient, RateLimit, RetryPolicy, UrlPolicy};
use jira_model::Flavor;
use jira_sim::{JiraSim, SimConfig, SimRateLimit, accounts};
use penaxtra_jira_sync::connections::Connections;
use penaxtra_jira_sync::store::{PendingOp, PostgresConfig, PostgresStore, SqliteStore, SyncStore};
use penaxtra_jira_sync::{ConnectionId, JiraSync, MemoryFindings, SyncSettings};
use penaxtra_mapping::{Finding, FindingId, FindingState, Severity};
use proc_stats::{cpu_s, rss_kb};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

const REPLICAS: usize = 3;

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// A store backend every replica opens on its own (its own pool or file
/// handle), as three processes would.
enum Backend {
    Sqlite(std::path::PathBuf),
    Postgres { url: String, schema: String },
}

impl Backend {
    async fn open(&self) -> Arc<dyn Fn(ConnectionId) -> Arc<dyn SyncStore> + Send + Sync> {
        match self {
            Backend::Sqlite(path) => {
                let store = SqliteStore::open(path).unwrap();
                Arc::new(move |c| Arc::new(store.for_connection(c)))
            }
            Backend::Postgres { url, schema } => {
                let store = PostgresStore::connect(
                    PostgresConfig::new(url.clone())
                        .schema(schema.clone())
                        .pool_size(8),
                )
                .await
                .unwrap();
                Arc::new(move |c| Arc::new(store.for_connection(c)))
            }
        }
    }
}

fn client(sim: &JiraSim, rate: u32, burst: u32) -> JiraClient {
    JiraClient::builder(
        &sim.base_url(),
        Flavor::Cloud,
        ApiTokenAuth::new(
            accounts::SERVICE_EMAIL,
            accounts::SERVICE_API_TOKEN.to_string().into(),
        ),
    )
    // The simulator is on loopback: the operator's opt-in.
    .url_policy(UrlPolicy::default().allow_loopback())
    .rate_limit(RateLimit::new(nz(rate), nz(burst)))
    .retry_policy(RetryPolicy::new(
        nz(8),
        Duration::from_secs(60),
        Duration::from_millis(50),
        Duration::from_secs(2),
    ))
    .build()
    .unwrap()
}

fn finding(tenant: usize, i: usize) -> Finding {
    Finding::new(
        FindingId::new(format!("fnd_{tenant:05}_{i:06}")).unwrap(),
        format!("Prompt injection #{i}"),
        Severity::High,
        FindingState::Open,
    )
    .unwrap()
    .with_probe("rag_indirect_v2")
    .with_scan("scn_2026_000045")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n: usize = env_or("TENANTS_N", if full { 200 } else { 10 });
    let per: usize = env_or("TENANTS_PER", if full { 100 } else { 5 });
    let big_n: usize = env_or("TENANTS_BIG", if full { 5_000 } else { 100 });
    let rate: u32 = env_or("TENANTS_RATE", 20);
    let burst: u32 = env_or("TENANTS_BURST", 10);
    let workers: usize = env_or("TENANTS_TURNS", 256);
    let probe_every = Duration::from_millis(env_or("TENANTS_PROBE_MS", 200));
    let probe_for = Duration::from_secs(env_or("TENANTS_PROBE_SECS", if full { 10 } else { 2 }));

    let dir = tempfile::tempdir().unwrap();
    let pg_url = std::env::var("PENAXTRA_TEST_PG").ok();
    let backend = match &pg_url {
        Some(url) => Backend::Postgres {
            url: url.clone(),
            schema: format!("bench_tenants_{}", std::process::id()),
        },
        None => Backend::Sqlite(dir.path().join("tenants.sqlite")),
    };
    let store_name = match backend {
        Backend::Sqlite(_) => "sqlite",
        Backend::Postgres { .. } => "postgres",
    };

    // Tenant 0 is the big one.
    let rss_start = rss_kb("VmRSS:");
    let mut sims = Vec::with_capacity(n + 1);
    let mut hosts = Vec::with_capacity(n + 1);
    for t in 0..=n {
        let sim = JiraSim::start(
            SimConfig::new(Flavor::Cloud).rate_limit(Some(SimRateLimit::new(rate, burst))),
        )
        .await
        .unwrap();
        let count = if t == 0 { big_n } else { per };
        hosts.push(Arc::new(MemoryFindings::with(
            (0..count).map(|i| finding(t, i)),
        )));
        sims.push(sim);
    }
    let rss_sims = rss_kb("VmRSS:");
    let ids: Vec<ConnectionId> = (0..=n)
        .map(|t| ConnectionId::new(&format!("tenant-{t:05}")).unwrap())
        .collect();
    let mut settings = SyncSettings::default();
    settings.retry_base = Duration::from_millis(100);
    settings.retry_max = Duration::from_secs(2);
    let mut replicas = Vec::new();
    for r in 0..REPLICAS {
        let stores = backend.open().await;
        let connections = Connections::new();
        for t in 0..=n {
            let sync = JiraSync::builder(
                // Each replica paces at its share of the tenant's limit.
                client(
                    &sims[t],
                    (rate / REPLICAS as u32).max(1),
                    (burst / REPLICAS as u32).max(1),
                ),
                stores(ids[t].clone()),
                Arc::clone(&hosts[t]) as _,
            )
            .settings(settings.clone())
            .owner(format!("replica-{r}"))
            .build()
            .unwrap();
            connections.insert(ids[t].clone(), sync, None).unwrap();
        }
        replicas.push(connections);
    }
    let rss_ready = rss_kb("VmRSS:");

    // The backlog: every finding queued as a create, 64 enqueues at once.
    let queue = replicas[0].clone();
    let mut enqueues = tokio::task::JoinSet::new();
    let queued_at = Instant::now();
    for (t, id) in ids.iter().enumerate() {
        let count = if t == 0 { big_n } else { per };
        for i in 0..count {
            if enqueues.len() >= 64 {
                enqueues.join_next().await.unwrap().unwrap();
            }
            let store = Arc::clone(queue.get(id).unwrap().store());
            enqueues.spawn(async move {
                store
                    .enqueue(
                        &PendingOp::Create {
                            finding: finding(t, i).id,
                        },
                        0,
                        None,
                    )
                    .await
                    .unwrap();
            });
        }
    }
    while let Some(r) = enqueues.join_next().await {
        r.unwrap();
    }
    eprintln!(
        "tenants: queued {} creates in {:.1} s",
        big_n + n * per,
        queued_at.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let cpu_start = cpu_s();
    let pools: Vec<_> = replicas
        .iter()
        .map(|c| c.spawn_workers(workers, Duration::from_millis(50)))
        .collect();

    // Wait until every small tenant is drained.
    let small_ids: Vec<ConnectionId> = ids[1..].to_vec();
    let small_done_at;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut left = 0;
        for id in &small_ids {
            left += replicas[0]
                .get(id)
                .unwrap()
                .store()
                .work_counts()
                .await
                .unwrap()
                .queued;
        }
        if left == 0 {
            small_done_at = Some((start.elapsed(), cpu_s() - cpu_start));
            break;
        }
        if start.elapsed() > Duration::from_secs(1800) {
            panic!("small tenants not drained after 30 minutes: {left} left");
        }
    }
    // The probe: a new finding on a random small tenant, timed to its issue.
    let probe_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probe = {
        let stop = Arc::clone(&probe_stop);
        let replicas0 = replicas[0].clone();
        let hosts = hosts.clone();
        let ids = ids.clone();
        tokio::spawn(async move {
            let mut waits = Vec::new();
            let mut k = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tokio::time::sleep(probe_every).await;
                if n == 0 {
                    break;
                }
                let t = 1 + (k * 7919) % n;
                let f = finding(t, 900_000 + k);
                k += 1;
                hosts[t].insert(f.clone());
                let sync = replicas0.get(&ids[t]).unwrap();
                let queued = Instant::now();
                sync.store()
                    .enqueue(
                        &PendingOp::Create {
                            finding: f.id.clone(),
                        },
                        0,
                        None,
                    )
                    .await
                    .unwrap();
                let store = Arc::clone(sync.store());
                waits.push(tokio::spawn(async move {
                    loop {
                        if store.link(&f.id).await.unwrap().is_some() {
                            return queued.elapsed();
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }));
            }
            waits
        })
    };

    tokio::time::sleep(probe_for).await;
    probe_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut waits = Vec::new();
    for w in probe.await.unwrap() {
        waits.push(w.await.unwrap());
    }
    waits.sort();
    let big_store = replicas[0].get(&ids[0]).unwrap().store().clone();
    let big_left = big_store.work_counts().await.unwrap().queued;
    let probe_end = start.elapsed();
    let big_share = 1.0 - big_left as f64 / big_n.max(1) as f64;
    for p in pools {
        p.stop().await;
    }
    let (small_wall, small_cpu) = small_done_at.unwrap_or_default();

    // Floors: each create is one request at the tenant's own limit, the
    // burst free.
    let floor = |count: usize| -> Duration {
        Duration::from_secs_f64(count.saturating_sub(burst as usize) as f64 / f64::from(rate))
    };
    let small_floor = floor(per);
    let sum_floor = small_floor * u32::try_from(n).unwrap_or(u32::MAX);

    // Rows per connection: what a small tenant keeps once drained.
    let probe_tenant = replicas[0].get(&ids[1.min(n)]).unwrap();
    let rows = probe_tenant.store().links().await.unwrap().len()
        + probe_tenant.store().pending().await.unwrap().len()
        + probe_tenant.store().claims().await.unwrap().len();
    let dup = sims[1..]
        .iter()
        .map(|s| {
            let mut seen = std::collections::HashMap::new();
            for i in s.issues() {
                *seen.entry(i.finding_id().map(str::to_string)).or_insert(0) += 1;
            }
            seen.values().filter(|&&c| c > 1).count()
        })
        .sum::<usize>();

    println!(
        "tenants: store={store_name} connections={} small={n}x{per} big={big_n} replicas={REPLICAS} turns/replica={workers} rate={rate}/s burst={burst}",
        n + 1
    );
    println!(
        "tenants: small tenants drained in {:.2} s; per-tenant floor {:.2} s (ratio {:.2}); sum of small floors {:.1} s; this process used {:.1} CPU-seconds meanwhile ({:.2} cores; the simulators, all three replicas and the load are in it, Postgres is not)",
        small_wall.as_secs_f64(),
        small_floor.as_secs_f64(),
        small_wall.as_secs_f64() / small_floor.as_secs_f64().max(0.001),
        sum_floor.as_secs_f64(),
        small_cpu,
        small_cpu / small_wall.as_secs_f64().max(0.001)
    );
    println!(
        "tenants: probe while the big tenant backfills (new finding on a small tenant -> linked issue) n={} p50={:.0} ms p99={:.0} ms max={:.0} ms; big tenant {:.0}% done after {:.1} s (its own floor {:.1} s)",
        waits.len(),
        percentile(&waits, 0.5).as_secs_f64() * 1000.0,
        percentile(&waits, 0.99).as_secs_f64() * 1000.0,
        waits.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        big_share * 100.0,
        probe_end.as_secs_f64(),
        floor(big_n).as_secs_f64()
    );
    println!(
        "tenants: rss per simulator {:.0} kB, per connection (3 replicas' engines and clients) {:.0} kB; store rows per drained small tenant {rows}; duplicate issues {dup}",
        (rss_sims.saturating_sub(rss_start)) as f64 / (n + 1) as f64,
        (rss_ready.saturating_sub(rss_sims)) as f64 / (n + 1) as f64,
    );
    if let Backend::Postgres { url, schema } = &backend {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .await
            .unwrap();
    }
}
