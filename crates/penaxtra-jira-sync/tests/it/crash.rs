//! The crash suite: real processes, really killed.
//!
//! Several OS processes (this test binary, re-run as [`crash_child`]) share
//! one SQLite store and push the same findings, and change their states, at
//! once, against a `jira-sim` that behaves like Jira Cloud at its worst:
//! search lags behind writes, creates commit and then lose their answer,
//! 503s and 429 storms. Each process is SIGKILLed at a random moment (some
//! are left to finish), phase after phase; the findings' states change
//! between phases, as the host's would. A last process, run to its end,
//! must finish the job. Then, against the simulator's own state:
//!
//! - every finding has exactly one live issue that is not a healed
//!   duplicate when it matches the rule at the end, at most one otherwise,
//!   and that issue is the one the store links it to; healed duplicates are
//!   counted and printed;
//! - every linked finding's state is what its issue's status and resolution
//!   mean through the state table;
//! - no claim and no queued operation is left in the store;
//! - no duplicate was made at all: healing is the safety net, the
//!   consistency window the mechanism.
//!
//! `CRASH_SUITE_N` findings (default small for the debug run; CI also runs
//! it in release with more), `CRASH_SUITE_SEED` for another seed,
//! `CRASH_SUITE_PHASES` phases of `CRASH_SUITE_PROCS` processes.
//! A person's changes and webhooks are the in-process fault suite's
//! (`faults.rs`); this suite is about crashes and replicas.

use crate::support::issues_per_finding;
use jira_model::Flavor;
use jira_sim::{DropMode, FaultConfig, JiraSim, LatencyFault, SimConfig, StormConfig};
use penaxtra_jira_sync::store::{SqliteStore, SyncStore};
use penaxtra_jira_sync::{DUPLICATE_LABEL, JiraSync, MemoryFindings, SyncSettings};
use penaxtra_mapping::{Finding, FindingId, FindingState, Rule, Severity, StateTable};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const DEFAULT_SEED: u64 = 0x0C0A_5E11;
const DEFAULT_N: usize = 120;
/// How long search lags behind a write in the simulator.
const SEARCH_LAG: Duration = Duration::from_millis(1_500);
/// The engine's consistency window: longer than the lag.
const WINDOW: Duration = Duration::from_millis(2_500);
/// A short lease, so a killed process's claims are taken over quickly.
const LEASE: Duration = Duration::from_millis(1_500);

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

/// One process's work, read from the environment: push every finding of
/// this phase's file, change the state of those whose state differs from
/// the previous phase's file, and settle. Run by [`run_phase`]; ignored in a
/// plain test run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of the crash suite"]
async fn crash_child() {
    let var = |n: &str| std::env::var(n).unwrap_or_else(|_| panic!("{n} is not set"));
    let flavor: Flavor = var("PX_CRASH_FLAVOR").parse().unwrap();
    let read = |p: String| -> Vec<Finding> {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let findings = read(var("PX_CRASH_FINDINGS"));
    let previous: BTreeMap<FindingId, FindingState> = std::env::var("PX_CRASH_PREVIOUS")
        .ok()
        .map(read)
        .unwrap_or_default()
        .into_iter()
        .map(|f| (f.id, f.state))
        .collect();
    let base_url = var("PX_CRASH_SIM");
    let client = crate::support::client_for(&base_url, flavor);
    let store = Arc::new(SqliteStore::open(var("PX_CRASH_STORE")).unwrap());
    let host = Arc::new(MemoryFindings::with(findings.clone()));
    let sync = JiraSync::builder(client, store, host)
        .settings(settings())
        .owner(format!("proc-{}", std::process::id()))
        .build()
        .unwrap();
    let mut order: Vec<usize> = (0..findings.len()).collect();
    let mut rng = StdRng::seed_from_u64(u64::from(std::process::id()));
    order.shuffle(&mut rng);
    sync.run_due().await.unwrap();
    let (bulk, single) = order.split_at(order.len() / 2);
    let bulk: Vec<Finding> = bulk.iter().map(|&i| findings[i].clone()).collect();
    sync.push_many(&bulk, |_| {}).await.unwrap();
    for &i in single {
        let f = &findings[i];
        if previous.get(&f.id).is_some_and(|s| *s != f.state) {
            sync.set_state(&f.id, f.state).await.unwrap();
        }
        sync.push(f).await.unwrap();
    }
    for f in &bulk {
        if previous.get(&f.id).is_some_and(|s| *s != f.state) {
            sync.set_state(&f.id, f.state).await.unwrap();
        }
    }
    let settled = sync.settle(Duration::from_secs(120), |_| {}).await.unwrap();
    println!(
        "child {} settled: timed_out={} left={:?} healed={}",
        std::process::id(),
        settled.timed_out,
        settled.left,
        settled.reconcile.as_ref().map_or(0, |r| r.healed.len())
    );
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

fn write(dir: &Path, name: &str, findings: &[Finding]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(findings).unwrap()).unwrap();
    path
}

/// Runs `procs` child processes at once, each killed (SIGKILL) after a
/// random delay or, with `kill` false or by chance, left to finish.
#[allow(clippy::too_many_arguments)]
async fn run_phase(
    sim: &JiraSim,
    store: &Path,
    findings: &Path,
    previous: Option<&Path>,
    procs: usize,
    kill: bool,
    rng: &mut StdRng,
    logs: &Path,
    phase: usize,
) {
    let exe = std::env::current_exe().unwrap();
    let mut children = Vec::new();
    for p in 0..procs {
        let log = logs.join(format!("phase{phase}-proc{p}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = tokio::process::Command::new(&exe);
        cmd.args([
            "crash::crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PX_CRASH_FLAVOR", sim.flavor().to_string())
        .env("PX_CRASH_FINDINGS", findings)
        .env("PX_CRASH_STORE", store)
        .env("PX_CRASH_SIM", sim.base_url())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .kill_on_drop(true);
        if let Some(prev) = previous {
            cmd.env("PX_CRASH_PREVIOUS", prev);
        }
        let child = cmd.spawn().expect("the child process starts");
        let kill_after =
            (kill && rng.gen_bool(0.8)).then(|| Duration::from_millis(rng.gen_range(150..2_500)));
        children.push((child, kill_after, log));
    }
    let mut waits = Vec::new();
    for (mut child, kill_after, log) in children {
        waits.push(tokio::spawn(async move {
            match kill_after {
                Some(after) => {
                    tokio::select! {
                        status = child.wait() => (status.unwrap(), false, log),
                        _ = tokio::time::sleep(after) => {
                            // SIGKILL: no destructor, no flush, no goodbye.
                            child.start_kill().unwrap();
                            (child.wait().await.unwrap(), true, log)
                        }
                    }
                }
                None => (child.wait().await.unwrap(), false, log),
            }
        }));
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
}

/// The findings of the next phase: about a fifth change state.
fn next_phase(findings: &[Finding], rng: &mut StdRng) -> Vec<Finding> {
    findings
        .iter()
        .map(|f| {
            let mut f = f.clone();
            if rng.gen_bool(0.2) {
                f.state = *FindingState::ALL.choose(rng).unwrap();
            }
            f
        })
        .collect()
}

async fn crash_suite(flavor: Flavor) {
    let n = env_or("CRASH_SUITE_N", DEFAULT_N);
    let seed = env_or("CRASH_SUITE_SEED", DEFAULT_SEED);
    let phases = env_or("CRASH_SUITE_PHASES", 3usize);
    let procs = env_or("CRASH_SUITE_PROCS", 3usize);
    eprintln!("crash suite: {flavor} n={n} seed={seed:#x} phases={phases} procs={procs}");
    let mut rng = StdRng::seed_from_u64(seed);
    let sim = JiraSim::start(
        SimConfig::new(flavor)
            .search_lag(SEARCH_LAG)
            .faults(faults(seed, 0)),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("store.sqlite");
    drop(SqliteStore::open(&store_path).unwrap());

    let mut findings: Vec<Finding> = (0..n).map(|i| initial(i, &mut rng)).collect();
    let mut previous: Option<PathBuf> = None;
    for phase in 0..phases {
        sim.set_faults(faults(seed, phase)).unwrap();
        let file = write(dir.path(), &format!("findings-{phase}.json"), &findings);
        run_phase(
            &sim,
            &store_path,
            &file,
            previous.as_deref(),
            procs,
            true,
            &mut rng,
            dir.path(),
            phase,
        )
        .await;
        previous = Some(file);
        findings = next_phase(&findings, &mut rng);
    }
    // The last phase's states, pushed by one process that is not killed,
    // while Jira still misbehaves; then one more, after the faults stop and
    // search has caught up, whose closing sweep sees every duplicate.
    let file = write(dir.path(), "findings-final.json", &findings);
    run_phase(
        &sim,
        &store_path,
        &file,
        previous.as_deref(),
        1,
        false,
        &mut rng,
        dir.path(),
        phases,
    )
    .await;
    sim.set_faults(FaultConfig::default()).unwrap();
    tokio::time::sleep(SEARCH_LAG + Duration::from_millis(200)).await;
    run_phase(
        &sim,
        &store_path,
        &file,
        Some(&file),
        1,
        false,
        &mut rng,
        dir.path(),
        phases + 1,
    )
    .await;

    // The verdict, from the simulator's own state and the store.
    let store = SqliteStore::open(&store_path).unwrap();
    let links: BTreeMap<String, String> = store
        .links()
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.finding_id.to_string(), l.issue_key.to_string()))
        .collect();
    let per = issues_per_finding(&sim);
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
                "{} is {} but {} is {} ({:?})",
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
    let matching = findings.iter().filter(|f| rule.matches(f)).count();
    eprintln!(
        "crash suite {flavor}: {n} findings, {matching} matching at the end, {} issues in Jira, {healed} duplicates healed, {} problems",
        sim.issues().len(),
        problems.len()
    );
    if !problems.is_empty() {
        for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "log") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                let tail: String = text
                    .lines()
                    .rev()
                    .take(15)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n");
                eprintln!("--- {}:\n{tail}", p.display());
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_processes_converge_on_cloud() {
    crash_suite(Flavor::Cloud).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_processes_converge_on_data_center() {
    crash_suite(Flavor::DataCenter).await;
}
