//! The crash suite: real processes, really killed, sharing one store.
//!
//! Several OS processes (this test binary, re-run as
//! [`child::crash_child`]) are replicas of one service: they share one
//! store (a SQLite file, or a Postgres database), one host database of
//! findings, one Jira rate budget (kept in the store) and one webhook
//! address (a balancer that hands each delivery to a live replica, now and
//! then to two). They push overlapping shares of the findings and mirror
//! the host's state changes, against a `jira-sim` that behaves like Jira
//! Cloud at its worst: search lags behind writes, creates commit and then
//! lose their answer, 503s and 429 storms, and a rate limit. Meanwhile a
//! person closes some issues in Jira. Each process is SIGKILLed at a
//! random moment (some are left to finish), phase after phase; the host's
//! users change findings between phases. A last process, run to its end,
//! must finish the job. Then, against the simulator's own state:
//!
//! - every finding has exactly one live issue that is not a healed
//!   duplicate when it matches the rule at the end, at most one otherwise,
//!   and that issue is the one the store links it to; healed duplicates are
//!   counted and printed;
//! - every linked finding's state in the shared host is what its issue's
//!   status and resolution mean through the state table: the host's changes
//!   reached Jira, and the person's reached the host (by webhook, or by
//!   reconciliation when every replica that could take it was dead);
//! - no claim and no queued operation is left in the store;
//! - no duplicate was made at all: healing is the safety net, the
//!   consistency window the mechanism;
//! - together the processes went no more than a burst over Jira's rate
//!   limit: the simulator's limiter refused at most `burst` requests.
//!
//! The `paused_and_skewed_*` runs add the failures replicas meet besides
//! a crash: some processes are SIGSTOPped at a random moment for longer
//! than lease + request timeout + window (everything they held is taken
//! meanwhile) and then SIGCONTinued, and some run with their clock 90 s
//! ahead or behind (`PX_CRASH_CLOCK_OFFSET_MS`, the engine's clock). The
//! verdict is the same: no duplicate made, nothing lost.
//!
//! `CRASH_SUITE_N` findings (default small for the debug run; CI also runs
//! it in release with more), `CRASH_SUITE_SEED` for another seed,
//! `CRASH_SUITE_PHASES` phases of `CRASH_SUITE_PROCS` processes,
//! `CRASH_SUITE_RATE` requests a second (Jira's limit and the budget);
//! `CRASH_SUITE_PACING=local` paces each process by itself at the limit
//! instead of through the shared budget (the comparison: it fails the
//! rate check).

mod balancer;
mod child;
mod person;

use crate::pg;
use crate::shared_host::SharedFindings;
use crate::support::issues_per_finding;
use crate::webhook_e2e::receiver;
use jira_model::Flavor;
use jira_sim::{
    DropMode, FaultConfig, JiraSim, LatencyFault, SimConfig, SimRateLimit, StormConfig,
};
use penaxtra_jira_sync::store::{SqliteStore, SyncStore};
use penaxtra_jira_sync::{DUPLICATE_LABEL, SyncSettings};
use penaxtra_mapping::{Finding, FindingId, FindingState, Rule, Severity, StateTable};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const DEFAULT_SEED: u64 = 0x0C0A_5E11;
const DEFAULT_N: usize = 120;
/// How long search lags behind a write in the simulator.
const SEARCH_LAG: Duration = Duration::from_millis(1_500);
/// The engine's consistency window: longer than the lag.
const WINDOW: Duration = Duration::from_millis(2_500);
/// A short lease, so a killed process's claims are taken over quickly.
const LEASE: Duration = Duration::from_millis(1_500);
/// The children's request timeout (the test client's): how long after an
/// expiry a create may still commit.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(1_500);
/// How far a skewed replica's clock is off: more than lease + window.
const SKEW_MS: i64 = 90_000;
/// Jira's rate limit (and the shared budget): requests a second, burst.
const DEFAULT_RATE: u32 = 40;
const BURST: u32 = 20;
/// Issues the person closes per phase.
const PERSON_CLOSES: usize = 6;

const URL_SECRET: &str = "crash-url-secret-6b1f0d2a9c";
const HMAC_SECRET: &str = "crash-hmac-secret-3e7a51c08d";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn settings() -> SyncSettings {
    let mut s = SyncSettings::default();
    s.claim_lease = LEASE;
    s.search_consistency_window = Some(WINDOW);
    s.retry_base = Duration::from_millis(50);
    s.retry_max = Duration::from_millis(800);
    s.concurrency = 2;
    s
}

fn initial(i: usize, rng: &mut StdRng) -> Finding {
    let severity = match rng.gen_range(0..5) {
        0 => Severity::Critical,
        1..=3 => Severity::High,
        _ => Severity::Medium,
    };
    Finding::new(
        FindingId::new(format!("fnd_crash_{i:06}")).unwrap(),
        format!("Crash suite finding #{i}"),
        severity,
        FindingState::Open,
    )
    .unwrap()
    .with_probe("rag_indirect_v2")
    .with_scan("scn_crash_suite")
    .with_frameworks(["OWASP_LLM01"])
    .with_excerpt("ignore previous instructions")
}

fn faults(seed: u64, phase: usize) -> FaultConfig {
    let mode = if phase.is_multiple_of(2) {
        DropMode::Reset
    } else {
        DropMode::Timeout { hang_ms: 1_000 }
    };
    FaultConfig::new(seed.wrapping_add(phase as u64))
        .error_rate(0.05)
        .storm(StormConfig::new(0.01, 3, 0))
        .latency(LatencyFault::new(0.2, Duration::from_millis(30)))
        .commit_then_drop_rate(0.12)
        .drop_mode(mode)
}

/// Where the replicas keep their state.
enum StoreKind {
    Sqlite(PathBuf),
    Postgres { url: String, schema: String },
}

impl StoreKind {
    /// What a child is told (`PX_CRASH_STORE`, and the schema).
    fn spec(&self) -> (String, Option<&str>) {
        match self {
            StoreKind::Sqlite(path) => (path.display().to_string(), None),
            StoreKind::Postgres { url, schema } => (url.clone(), Some(schema)),
        }
    }

    async fn open(&self) -> Arc<dyn SyncStore> {
        match self {
            StoreKind::Sqlite(path) => Arc::new(SqliteStore::open(path).unwrap()),
            StoreKind::Postgres { url, schema } => Arc::new(pg::store(url, schema).await),
        }
    }
}

/// What happens to the processes of a phase besides running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disrupt {
    /// Some are SIGKILLed at a random moment.
    Kill,
    /// As well as SIGKILL: some are SIGSTOPped at a random moment for
    /// longer than lease + request timeout + window, then SIGCONTinued;
    /// some run with their clock 90 s ahead or behind.
    PauseAndSkew,
}

/// What is done to one child.
#[derive(Debug, Clone, Copy)]
enum Fate {
    Finish,
    Kill { after: Duration },
    Pause { after: Duration, paused: Duration },
}

/// What every phase shares.
struct World {
    sim: JiraSim,
    store: StoreKind,
    host: SharedFindings,
    dir: PathBuf,
    rate: u32,
    /// `shared` (the budget in the store) or `local` (each process its own
    /// quota at the limit: the comparison, which fails the rate check).
    pacing: String,
    disrupt: Disrupt,
}

/// Sends `signal` (`STOP`, `CONT`) to a process.
fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("kill(1) runs");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// Runs `procs` child processes at once, each killed (SIGKILL) after a
/// random delay or, with `kill` false or by chance, left to finish. With
/// `person`, a person closes some issues in Jira meanwhile; answers the
/// findings whose issue was closed.
async fn run_phase(
    world: &World,
    changed: Option<&Path>,
    procs: usize,
    kill: bool,
    person: Option<&BTreeSet<FindingId>>,
    rng: &mut StdRng,
    phase: usize,
) -> Vec<FindingId> {
    let exe = std::env::current_exe().unwrap();
    let (store, schema) = world.store.spec();
    let mut children = Vec::new();
    for p in 0..procs {
        let log = world.dir.join(format!("phase{phase}-proc{p}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = tokio::process::Command::new(&exe);
        cmd.args([
            "crash::child::crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PX_CRASH_FLAVOR", world.sim.flavor().to_string())
        .env("PX_CRASH_STORE", &store)
        .env("PX_CRASH_HOST", world.host.path())
        .env("PX_CRASH_SIM", world.sim.base_url())
        .env("PX_CRASH_PORTS", world.dir.join("ports"))
        .env("PX_CRASH_RATE", world.rate.to_string())
        .env("PX_CRASH_BURST", BURST.to_string())
        .env("PX_CRASH_PACING", &world.pacing)
        .env("PX_CRASH_SLOT", p.to_string())
        .env("PX_CRASH_PROCS", procs.to_string())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .kill_on_drop(true);
        if let Some(schema) = schema {
            cmd.env("PX_CRASH_PG_SCHEMA", schema);
        }
        if let Some(changed) = changed {
            cmd.env("PX_CRASH_CHANGED", changed);
        }
        let after = Duration::from_millis(rng.gen_range(150..2_500));
        let mut fate = if kill && rng.gen_bool(0.8) {
            Fate::Kill { after }
        } else {
            Fate::Finish
        };
        if kill && world.disrupt == Disrupt::PauseAndSkew {
            match rng.gen_range(0..6) {
                // Paused past its lease, the request timeout and the
                // window: everything it held is taken while it sleeps.
                0 | 1 => {
                    fate = Fate::Pause {
                        after,
                        paused: LEASE + REQUEST_TIMEOUT + WINDOW + Duration::from_millis(1_500),
                    }
                }
                2 => {
                    cmd.env("PX_CRASH_CLOCK_OFFSET_MS", SKEW_MS.to_string());
                }
                3 => {
                    cmd.env("PX_CRASH_CLOCK_OFFSET_MS", (-SKEW_MS).to_string());
                }
                _ => {}
            }
        }
        let child = cmd.spawn().expect("the child process starts");
        children.push((child, fate, log));
    }
    let mut waits = Vec::new();
    for (mut child, fate, log) in children {
        waits.push(tokio::spawn(async move {
            match fate {
                Fate::Kill { after } => {
                    tokio::select! {
                        status = child.wait() => (status.unwrap(), false, log),
                        _ = tokio::time::sleep(after) => {
                            // SIGKILL: no destructor, no flush, no goodbye.
                            child.start_kill().unwrap();
                            (child.wait().await.unwrap(), true, log)
                        }
                    }
                }
                Fate::Pause { after, paused } => {
                    tokio::select! {
                        status = child.wait() => (status.unwrap(), false, log),
                        _ = tokio::time::sleep(after) => {
                            // SIGSTOP: frozen mid-whatever, leases running
                            // out; then it goes on as if nothing happened.
                            if let Some(pid) = child.id() {
                                signal(pid, "STOP");
                                tokio::time::sleep(paused).await;
                                signal(pid, "CONT");
                                eprintln!("phase: process {pid} paused {paused:?} and continued");
                            }
                            (child.wait().await.unwrap(), false, log)
                        }
                    }
                }
                Fate::Finish => (child.wait().await.unwrap(), false, log),
            }
        }));
    }
    let mut closed = Vec::new();
    if let Some(avoid) = person {
        tokio::time::sleep(Duration::from_millis(800)).await;
        let store = world.store.open().await;
        closed = person::closes_some(&world.sim, store.as_ref(), PERSON_CLOSES, avoid, rng).await;
        eprintln!("phase {phase}: the person closed {} issues", closed.len());
    }
    for w in waits {
        let (status, killed, log) = w.await.unwrap();
        if !killed {
            assert!(
                status.success(),
                "a child process failed ({status}); its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        eprintln!(
            "phase {phase}: {} {}",
            log.file_name().unwrap().to_string_lossy(),
            if killed { "SIGKILLed" } else { "finished" }
        );
    }
    closed
}

/// The host's users change about a fifth of the findings (none the person
/// just closed in Jira); answers the file naming every finding changed so
/// far. The host tells the integration about a change until a process has
/// surely done so: as every process of a phase may die before it mirrors
/// the changes, each phase mirrors all changes made so far (idempotent:
/// the state the host has now).
fn users_change(
    world: &World,
    avoid: &BTreeSet<FindingId>,
    changed: &mut BTreeSet<FindingId>,
    rng: &mut StdRng,
    phase: usize,
) -> PathBuf {
    let mut findings = world.host.all();
    for f in &mut findings {
        if !avoid.contains(&f.id) && rng.gen_bool(0.2) {
            f.state = *FindingState::ALL.choose(rng).unwrap();
            changed.insert(f.id.clone());
        }
    }
    world.host.put_all(&findings);
    let path = world.dir.join(format!("changed-{phase}.json"));
    std::fs::write(&path, serde_json::to_vec(changed).unwrap()).unwrap();
    path
}

async fn crash_suite(flavor: Flavor, store: &str) {
    run_suite(flavor, store, Disrupt::Kill).await;
}

async fn run_suite(flavor: Flavor, store: &str, disrupt: Disrupt) {
    let n = env_or("CRASH_SUITE_N", DEFAULT_N);
    let seed = env_or("CRASH_SUITE_SEED", DEFAULT_SEED);
    let phases = env_or("CRASH_SUITE_PHASES", 3usize);
    let procs = env_or("CRASH_SUITE_PROCS", 3usize);
    let rate = env_or("CRASH_SUITE_RATE", DEFAULT_RATE);
    let dir = tempfile::tempdir().unwrap();
    let store = match store {
        "postgres" => {
            let Some(url) = pg::url(&format!(
                "crash::sigkilled_processes_converge ({flavor}, postgres)"
            )) else {
                return;
            };
            let schema = pg::unique_schema("crash");
            drop(pg::store(&url, &schema).await);
            StoreKind::Postgres { url, schema }
        }
        _ => {
            let path = dir.path().join("store.sqlite");
            drop(SqliteStore::open(&path).unwrap());
            StoreKind::Sqlite(path)
        }
    };
    eprintln!(
        "crash suite: {flavor} on {store} n={n} seed={seed:#x} phases={phases} procs={procs} rate={rate}/s burst={BURST} disrupt={disrupt:?} pacing={}",
        env_or("CRASH_SUITE_PACING", "shared".to_string()),
        store = match &store {
            StoreKind::Sqlite(_) => "sqlite",
            StoreKind::Postgres { .. } => "postgres",
        }
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let sim = JiraSim::start(
        SimConfig::new(flavor)
            .search_lag(SEARCH_LAG)
            .rate_limit(Some(SimRateLimit::new(rate, BURST)))
            .faults(faults(seed, 0)),
    )
    .await
    .unwrap();
    let (balancer, routed) = balancer::start(dir.path().join("ports"), seed).await;
    sim.register_webhook(
        format!("http://{balancer}{}/{URL_SECRET}", receiver::MOUNT),
        Some(HMAC_SECRET.to_string()),
    )
    .unwrap();
    let world = World {
        host: SharedFindings::open(&dir.path().join("host.sqlite")),
        sim,
        store,
        dir: dir.path().to_path_buf(),
        rate,
        pacing: env_or("CRASH_SUITE_PACING", "shared".to_string()),
        disrupt,
    };
    world
        .host
        .put_all(&(0..n).map(|i| initial(i, &mut rng)).collect::<Vec<_>>());

    let started = Instant::now();
    let mut changed: Option<PathBuf> = None;
    let mut all_changed = BTreeSet::new();
    let mut closed_by_person = 0;
    let mut just_closed = BTreeSet::new();
    for phase in 0..phases {
        world.sim.set_faults(faults(seed, phase)).unwrap();
        let avoid = changed_ids(changed.as_deref());
        let closed = run_phase(
            &world,
            changed.as_deref(),
            procs,
            true,
            Some(&avoid),
            &mut rng,
            phase,
        )
        .await;
        closed_by_person += closed.len();
        just_closed = closed.into_iter().collect();
        changed = Some(users_change(
            &world,
            &just_closed,
            &mut all_changed,
            &mut rng,
            phase,
        ));
    }
    // The last phase's changes, pushed by one process that is not killed,
    // while Jira still misbehaves; then one more, after the faults stop and
    // search has caught up, whose closing sweep sees every duplicate and
    // every decision whose webhook no replica was alive to take.
    let _ = just_closed;
    run_phase(&world, changed.as_deref(), 1, false, None, &mut rng, phases).await;
    world.sim.set_faults(FaultConfig::default()).unwrap();
    tokio::time::sleep(SEARCH_LAG + Duration::from_millis(200)).await;
    run_phase(&world, None, 1, false, None, &mut rng, phases + 1).await;
    let elapsed = started.elapsed();

    // The verdict, from the simulator's own state, the store and the host.
    let store = world.store.open().await;
    let findings = world.host.all();
    let links: BTreeMap<String, String> = store
        .links()
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.finding_id.to_string(), l.issue_key.to_string()))
        .collect();
    let per = issues_per_finding(&world.sim);
    let states = StateTable::default();
    let rule = Rule::default();
    let mut healed = 0;
    let mut problems = Vec::new();
    for f in &findings {
        let all = per.get(f.id.as_str()).cloned().unwrap_or_default();
        let (dups, live): (Vec<_>, Vec<_>) = all
            .into_iter()
            .partition(|i| i.labels.iter().any(|l| l == DUPLICATE_LABEL));
        healed += dups.len();
        let want = usize::from(rule.matches(f));
        if live.len() > 1 || live.len() < want {
            problems.push(format!(
                "{} ({} {}) has {} live issues: {:?}",
                f.id,
                f.severity,
                f.state,
                live.len(),
                live.iter().map(|i| &i.key).collect::<Vec<_>>()
            ));
            continue;
        }
        let Some(issue) = live.first() else {
            if let Some(key) = links.get(f.id.as_str()) {
                problems.push(format!("{} is linked to {key}, which is not live", f.id));
            }
            continue;
        };
        match links.get(f.id.as_str()) {
            Some(key) if *key == issue.key => {}
            other => problems.push(format!(
                "{} has issue {} but the store links {other:?}",
                f.id, issue.key
            )),
        }
        let says = states.from_jira(
            &issue.status,
            issue.resolution.as_deref(),
            &issue.status_category,
        );
        if says != Some(f.state) {
            problems.push(format!(
                "{} is {} in the host but {} is {} ({:?})",
                f.id, f.state, issue.key, issue.status, issue.resolution
            ));
        }
    }
    let pending = store.pending().await.unwrap();
    if !pending.is_empty() {
        problems.push(format!("operations left in the queue: {pending:?}"));
    }
    let claims = store.claims().await.unwrap();
    if !claims.is_empty() {
        problems.push(format!("claims left in the store: {claims:?}"));
    }
    let requests = world.sim.request_count();
    let refused = world.sim.rate_limited_count();
    let (by_webhook, by_sweep) = world.host.changes_from_jira();
    let matching = findings.iter().filter(|f| rule.matches(f)).count();
    eprintln!(
        "crash suite {flavor}: {n} findings, {matching} matching at the end, {} issues in Jira, {healed} duplicates healed, {} problems",
        world.sim.issues().len(),
        problems.len()
    );
    eprintln!(
        "  person closed {closed_by_person} issues; host changed from Jira by webhook {by_webhook}, by reconciliation {by_sweep}; balancer forwarded {}, doubled {}, refused {}",
        routed.forwarded.load(Ordering::Relaxed),
        routed.doubled.load(Ordering::Relaxed),
        routed.refused.load(Ordering::Relaxed),
    );
    eprintln!(
        "  rate: {requests} requests in {:.1} s = {:.1}/s against a limit of {rate}/s (burst {BURST}); {refused} refused by the limiter = {:.2} per 1,000",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64(),
        refused as f64 * 1000.0 / requests.max(1) as f64
    );
    if !problems.is_empty() {
        // Kept for a look: the child logs, the host and a SQLite store.
        let kept = dir.keep();
        eprintln!("the run's files are kept in {}", kept.display());
        for entry in std::fs::read_dir(&kept).unwrap().flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "log") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                eprintln!("--- {}:\n{}", p.display(), tail.join("\n"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // Healing is the safety net, not the mechanism: with the consistency
    // window longer than the lag, no duplicate is ever made (with the
    // window at zero, this seed makes about a dozen).
    assert_eq!(healed, 0, "duplicates were created (and healed)");
    // The person's decisions came back through the replicas' webhooks (the
    // path under test), not only through the closing sweep.
    assert!(closed_by_person > 0, "the person closed nothing");
    assert!(by_webhook > 0, "no decision came back by webhook");
    // Together within Jira's rate: at most one burst refused.
    assert!(
        refused <= u64::from(BURST),
        "the processes together went {refused} requests over Jira's limit (burst {BURST})"
    );
    if let StoreKind::Postgres { url, schema } = &world.store {
        drop(store);
        pg::drop_schemas(url, std::slice::from_ref(schema)).await;
    }
}

/// The findings a `changed-*.json` file names.
fn changed_ids(path: Option<&Path>) -> BTreeSet<FindingId> {
    path.map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_processes_converge_on_cloud() {
    crash_suite(Flavor::Cloud, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_processes_converge_on_data_center() {
    crash_suite(Flavor::DataCenter, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_replicas_on_postgres_converge_on_cloud() {
    crash_suite(Flavor::Cloud, "postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_replicas_on_postgres_converge_on_data_center() {
    crash_suite(Flavor::DataCenter, "postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_and_skewed_processes_converge_on_sqlite() {
    run_suite(Flavor::Cloud, "sqlite", Disrupt::PauseAndSkew).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_and_skewed_replicas_converge_on_postgres() {
    run_suite(Flavor::DataCenter, "postgres", Disrupt::PauseAndSkew).await;
}
