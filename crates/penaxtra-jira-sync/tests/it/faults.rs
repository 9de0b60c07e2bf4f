//! The fault-injection suite: thousands of findings and state changes
//! against `jira-sim` answering with random 5xx, 429 storms, latency and
//! "commit then drop", while the engine is killed mid-run and started again
//! on the same SQLite file, people change issues in Jira and webhooks and
//! reconciliation bring their decisions back.
//!
//! Everything is driven by a fixed seed. The size is `FAULT_SUITE_N`
//! findings per flavor (default small, so the debug test run stays fast; CI
//! runs it in release with `FAULT_SUITE_N=1500`); `FAULT_SUITE_SEED`
//! changes the seed. After the last restart the faults stop, the worker
//! drains the queue, webhooks are flushed and reconciliation runs; then:
//!
//! - every finding has at most one live issue, and exactly one when it
//!   matches the rule at the end (unless a person deleted it);
//! - every live issue that carries a finding id is linked to that finding
//!   (nothing created in Jira is left unlinked);
//! - every linked finding's state is what its issue's status means through
//!   the state table;
//! - the queue is empty except for operations parked because a person
//!   deleted the issue in Jira (the one person-fix error injected).
//!
//! Jira's search lags behind its writes (`FAULT_SUITE_SEARCH_LAG_MS`,
//! default 300 ms) and the engine's consistency window is set just above it.
//! The simulator and the engine read one skewed clock, so the jumps that
//! stand for a restart move Jira's time too: the lag and the window pass
//! together, as they do when both watch the same wall clock.

use crate::support::{alex, client, issues_per_finding, loopback_gate};
use crate::webhook_e2e::receiver;
use jira_model::{Flavor, TransitionRequest};
use jira_sim::{
    DropMode, FaultConfig, JiraSim, LatencyFault, SimClock, SimConfig, SimIssue, StormConfig,
};
use penaxtra_jira_sync::store::{SqliteStore, StoreClock};
use penaxtra_jira_sync::webhook::WebhookGate;
use penaxtra_jira_sync::{Clock, Inbound, JiraSync, MemoryFindings, SyncSettings};
use penaxtra_mapping::{
    Finding, FindingId, FindingState, InboundPolicy, Rule, Severity, StateTable,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

const DEFAULT_SEED: u64 = 0x00FA_0175;
/// Findings per flavor when `FAULT_SUITE_N` is not set: enough to hit every
/// fault and a few restarts in a debug build within seconds.
const DEFAULT_N: usize = 90;
/// Concurrent host lanes (each finding's host actions stay in order).
const HOST_LANES: usize = 3;
const URL_SECRET: &str = "fault-suite-url-secret-0123456789";
const HMAC_SECRET: &str = "fault-suite-hmac-secret-0123456789";
/// Longer than any create call with its retries, as the settings require.
const CLAIM_LEASE: Duration = Duration::from_secs(20);
/// How far Jira's search lags behind its writes, by default.
const DEFAULT_SEARCH_LAG_MS: u64 = 300;
/// The longest the final convergence may take before the suite gives up.
const SETTLE_ROUNDS: usize = 60;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The clock of the engine and of Jira: system time plus an offset the
/// suite moves forward to stand for the time a restart takes (so the dead
/// process's claims expire) and to make retries due at the end.
#[derive(Debug)]
struct SkewClock(SimClock);

impl SkewClock {
    fn advance(&self, by: Duration) {
        self.0.advance(by);
    }
}

impl Clock for SkewClock {
    fn now(&self) -> std::time::SystemTime {
        self.0.now().into()
    }
    fn monotonic(&self) -> Duration {
        self.now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    }
}

/// What the host or a person does.
#[derive(Debug, Clone)]
enum Action {
    /// The host pushes these findings (their current state) in one backfill.
    Backfill(Vec<usize>),
    /// The host pushes one finding.
    Push(usize),
    /// The host changes a finding's state, tells the engine, and pushes the
    /// finding when it now matches the rule.
    HostState(usize, FindingState),
    /// A person moves the finding's issue towards this status in Jira.
    Person(usize, &'static str),
    /// A person deletes the finding's issue in Jira: the injected
    /// person-fix error (later state changes of that finding park).
    Delete(usize),
}

const STATUSES: [&str; 5] = ["Open", "In Progress", "Done", "Won't Do", "Cancelled"];

struct Plan {
    findings: Vec<Finding>,
    /// Actions in their order, with their lane.
    actions: Vec<(usize, Action)>,
    /// How many actions complete before each crash.
    crashes: Vec<usize>,
}

fn initial_finding(i: usize, rng: &mut StdRng) -> Finding {
    let severity = match rng.gen_range(0..6) {
        0 => Severity::Critical,
        1..=3 => Severity::High,
        4 => Severity::Medium,
        _ => Severity::Low,
    };
    let state = if rng.gen_bool(0.85) {
        FindingState::Open
    } else {
        *[FindingState::Triaged, FindingState::Resolved]
            .choose(rng)
            .unwrap()
    };
    Finding::new(
        FindingId::new(format!("fnd_fault_{i:06}")).unwrap(),
        format!("Fault suite finding #{i}: prompt injection via {{noformat}} [~admin]"),
        severity,
        state,
    )
    .unwrap()
    .with_probe("rag_indirect_v2")
    .with_scan("scn_fault_suite")
    .with_frameworks(["OWASP_LLM01"])
    .with_excerpt("ignore previous instructions *now* and h1. shout")
}

/// How much chaos a run allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    /// Everything at once: people and the host act on any finding at any
    /// time, and reconciliation sweeps run throughout.
    Full,
    /// As a careful host would run until the bugs in `convergence_bugs`
    /// are fixed: a finding's actions (the host's and people's) happen one
    /// after another, only once it is linked with nothing queued for it,
    /// and a person's webhook is delivered before the next action;
    /// reconciliation runs after the faults, not during a walk.
    Guarded,
}

fn plan(n: usize, seed: u64, profile: Profile) -> Plan {
    let mut rng = StdRng::seed_from_u64(seed);
    let findings: Vec<Finding> = (0..n).map(|i| initial_finding(i, &mut rng)).collect();
    let lane_of = |i: usize| 1 + i % HOST_LANES;
    let person_lane = |i: usize| match profile {
        Profile::Full => HOST_LANES + 1,
        Profile::Guarded => lane_of(i),
    };

    // First every finding is pushed: half in backfills, half one by one.
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    let (bulk, single) = order.split_at(n / 2);
    let mut actions: Vec<(usize, Action)> = Vec::new();
    for chunk in bulk.chunks(75) {
        actions.push((0, Action::Backfill(chunk.to_vec())));
    }
    let mut later: Vec<(usize, Action)> = single
        .iter()
        .map(|&i| (lane_of(i), Action::Push(i)))
        .collect();
    // Then state changes from both sides, interleaved.
    for _ in 0..n {
        let i = rng.gen_range(0..n);
        let state = *FindingState::ALL.choose(&mut rng).unwrap();
        later.push((lane_of(i), Action::HostState(i, state)));
    }
    for _ in 0..n / 2 {
        let i = rng.gen_range(0..n);
        later.push((
            person_lane(i),
            Action::Person(i, STATUSES.choose(&mut rng).unwrap()),
        ));
    }
    // Deletions hit findings that get an issue.
    let matching: Vec<usize> = (0..n)
        .filter(|&i| Rule::default().matches(&findings[i]))
        .collect();
    for &i in matching.choose_multiple(&mut rng, 3) {
        later.push((person_lane(i), Action::Delete(i)));
    }
    // Pushes stay roughly first: shuffle within windows.
    let (pushes, rest): (Vec<_>, Vec<_>) = later
        .into_iter()
        .partition(|(_, a)| matches!(a, Action::Push(_)));
    let mut rest = rest;
    rest.shuffle(&mut rng);
    let mut merged = pushes;
    let cut = merged.len() / 2;
    let mut tail = merged.split_off(cut);
    tail.extend(rest.drain(..rest.len() / 4));
    tail.shuffle(&mut rng);
    merged.extend(tail);
    merged.extend(rest);
    actions.extend(merged);

    let restarts = 3 + n / 300;
    let total = actions.len();
    let mut crashes: Vec<usize> = (0..restarts)
        .map(|_| rng.gen_range(total / 10..total * 9 / 10))
        .collect();
    crashes.sort_unstable();
    Plan {
        findings,
        actions,
        crashes,
    }
}

/// The faults of one epoch: the drop mode alternates between a reset
/// connection and a hung one the client times out on.
fn faults(seed: u64, epoch: usize) -> FaultConfig {
    let mode = if epoch.is_multiple_of(2) {
        DropMode::Reset
    } else {
        DropMode::Timeout { hang_ms: 2_000 }
    };
    FaultConfig::new(seed.wrapping_add(epoch as u64))
        .error_rate(0.08)
        .storm(StormConfig::new(0.01, 4, 0))
        .latency(LatencyFault::new(0.05, Duration::from_millis(40)))
        .commit_then_drop_rate(0.15)
        .drop_mode(mode)
}

struct World {
    sim: JiraSim,
    host: Arc<MemoryFindings>,
    ids: Vec<FindingId>,
    path: PathBuf,
    clock: Arc<SkewClock>,
    search_lag: Duration,
    service: Option<String>,
    receiver_addr: SocketAddr,
    receiver_lines: Arc<Mutex<BTreeMap<String, usize>>>,
    profile: Profile,
    /// What happened to each finding, for the report of a violation.
    history: Mutex<BTreeMap<usize, Vec<String>>>,
}

impl World {
    fn note(&self, i: usize, what: String) {
        self.history
            .lock()
            .unwrap()
            .entry(i)
            .or_default()
            .push(what);
    }

    fn engine(&self, epoch: usize) -> JiraSync {
        let mut settings = SyncSettings::default();
        settings.claim_lease = CLAIM_LEASE;
        settings.retry_base = Duration::from_millis(20);
        settings.retry_max = Duration::from_millis(300);
        settings.concurrency = 2;
        // Just above the lag: the tightest window that is still right.
        settings.search_consistency_window =
            Some(self.search_lag + self.search_lag / 2 + Duration::from_millis(50));
        JiraSync::builder(
            client(&self.sim),
            // One process on simulated time (jumps stand for restarts): the
            // store measures claims by the engine's clock.
            Arc::new(
                SqliteStore::open(&self.path)
                    .unwrap()
                    .with_clock(StoreClock::Caller),
            ),
            Arc::clone(&self.host) as _,
        )
        .settings(settings)
        .inbound(InboundPolicy::All)
        .clock(Arc::clone(&self.clock) as _)
        .owner(format!("epoch-{epoch}"))
        .build()
        .unwrap()
    }

    /// Starts the webhook receiver (the example's) on its address, with its
    /// own connection to the store, as a separate process would have.
    async fn start_receiver(&self) -> JoinHandle<std::io::Result<()>> {
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(self.receiver_addr).await {
                Ok(l) => break l,
                Err(e) if tries < 100 => {
                    tries += 1;
                    eprintln!("rebinding the receiver: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot rebind the receiver: {e}"),
            }
        };
        let inbound = Inbound::new(
            // One process on simulated time (jumps stand for restarts): the
            // store measures claims by the engine's clock.
            Arc::new(
                SqliteStore::open(&self.path)
                    .unwrap()
                    .with_clock(StoreClock::Caller),
            ),
            Arc::clone(&self.host) as _,
            "SEC",
        )
        .policy(InboundPolicy::All)
        .service_account(self.service.clone())
        .clock(Arc::clone(&self.clock) as _);
        let lines = Arc::clone(&self.receiver_lines);
        tokio::spawn(receiver::serve(
            listener,
            gate(),
            inbound,
            Arc::new(move |line| {
                let key = format!(
                    "{}/{}",
                    line["outcome"].as_str().unwrap_or("?"),
                    line["reason"].as_str().unwrap_or("?")
                );
                *lines.lock().unwrap().entry(key).or_default() += 1;
            }),
        ))
    }
}

fn gate() -> WebhookGate {
    loopback_gate(URL_SECRET, HMAC_SECRET)
}

fn resolution_for(status: &str) -> &'static str {
    match status {
        "Won't Do" => "Won't Do",
        "Cancelled" => "Cancelled",
        _ => "Done",
    }
}

/// A person moves the issue towards `status` (one transition: the direct
/// one, or the first available), through their own account. Failures
/// (faults) mean the person did nothing.
async fn person_moves(world: &World, sync: &JiraSync, i: usize, status: &str) -> String {
    let Ok(Some(link)) = sync.store().link(&world.ids[i]).await else {
        return format!("person {status}: not linked");
    };
    let alex = alex(&world.sim);
    let transitions = match alex.transitions(link.issue_key.as_str()).await {
        Ok(t) => t,
        Err(e) => return format!("person {status}: {}", e.code()),
    };
    let Some(t) = transitions
        .iter()
        .find(|t| t.to.name == status)
        .or(transitions.first())
    else {
        return format!("person {status}: no transition");
    };
    let mut request = TransitionRequest::new(t.id.clone());
    if t.has_field("resolution") {
        request = request.with_resolution(resolution_for(&t.to.name));
    }
    let r = alex.transition(link.issue_key.as_str(), &request).await;
    format!(
        "person moves {} to {}: {}",
        link.issue_key,
        t.to.name,
        r.map_or_else(|e| e.code().to_string(), |()| "ok".into())
    )
}

/// In the guarded profile, whether the finding may be acted on now: linked,
/// with nothing queued for it.
async fn may_act(world: &World, sync: &JiraSync, i: usize) -> bool {
    if world.profile == Profile::Full {
        return true;
    }
    let id = &world.ids[i];
    let linked = sync.store().link(id).await.unwrap().is_some();
    let queued = sync
        .store()
        .pending()
        .await
        .unwrap()
        .iter()
        .any(|q| q.op.finding() == id);
    linked && !queued
}

async fn run_action(world: &World, sync: &JiraSync, action: &Action) {
    let current = |i: usize| world.host.get(&world.ids[i]).unwrap();
    if let Action::HostState(i, _) | Action::Person(i, _) | Action::Delete(i) = action
        && !may_act(world, sync, *i).await
    {
        world.note(*i, format!("{action:?}: held back"));
        return;
    }
    match action {
        Action::Backfill(ix) => {
            let batch: Vec<Finding> = ix.iter().map(|&i| current(i)).collect();
            let (_, outcomes) = sync
                .push_many_all(&batch, |_| {})
                .await
                .expect("a backfill fails only when the store does");
            for (&i, (_, outcome)) in ix.iter().zip(&outcomes) {
                world.note(i, format!("backfill: {}", outcome.kind()));
            }
        }
        Action::Push(i) => {
            let outcome = sync
                .push(&current(*i))
                .await
                .expect("a push fails only when the store does");
            world.note(*i, format!("push: {outcome:?}"));
        }
        Action::HostState(i, state) => {
            let mut f = current(*i);
            f.state = *state;
            world.host.insert(f.clone());
            let outcome = sync
                .set_state(&f.id, *state)
                .await
                .expect("set_state fails only when the store does");
            world.note(*i, format!("host {state}: {outcome:?}"));
            if sync.rule().matches(&f) {
                let outcome = sync
                    .push(&f)
                    .await
                    .expect("a push fails only when the store does");
                world.note(*i, format!("host push: {}", outcome.kind()));
            }
        }
        Action::Person(i, status) => {
            let what = person_moves(world, sync, *i, status).await;
            world.note(*i, what);
            if world.profile == Profile::Guarded {
                // The person's webhook arrives before anything else happens
                // to the finding (see convergence_bugs for why).
                world.sim.flush_webhooks().await;
            }
        }
        Action::Delete(i) => {
            if let Ok(Some(link)) = sync.store().link(&world.ids[*i]).await {
                let r = alex(&world.sim).delete_issue(link.issue_key.as_str()).await;
                world.note(
                    *i,
                    format!("person deletes {}: {}", link.issue_key, r.is_ok()),
                );
            }
        }
    }
}

/// How far the lanes may run ahead of the first action not done.
const WINDOW: usize = 6;

fn first_not_done(done: &[AtomicBool]) -> usize {
    done.iter()
        .position(|d| !d.load(Ordering::SeqCst))
        .unwrap_or(done.len())
}

/// Runs the actions not yet done on a fresh engine until `crash_after`
/// actions are done in all (then kills everything mid-flight, as a crash
/// would), or until they are all done.
async fn run_epoch(
    world: &Arc<World>,
    epoch: usize,
    actions: &Arc<Vec<(usize, Action)>>,
    done: &Arc<Vec<AtomicBool>>,
    crash_after: Option<usize>,
) {
    let sync = world.engine(epoch);
    let completed = Arc::new(AtomicUsize::new(
        done.iter().filter(|d| d.load(Ordering::SeqCst)).count(),
    ));
    let lanes = HOST_LANES + 2;
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    for lane in 0..lanes {
        let (world, sync, actions, done, completed) = (
            Arc::clone(world),
            sync.clone(),
            Arc::clone(actions),
            Arc::clone(done),
            Arc::clone(&completed),
        );
        tasks.push(tokio::spawn(async move {
            for (idx, (l, action)) in actions.iter().enumerate() {
                if *l != lane || done[idx].load(Ordering::SeqCst) {
                    continue;
                }
                // Keep the plan's order roughly: at most WINDOW actions
                // ahead of the first one not done.
                while first_not_done(&done) + WINDOW < idx {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                run_action(&world, &sync, action).await;
                done[idx].store(true, Ordering::SeqCst);
                completed.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    let lane_tasks = tasks.len();
    // The worker and the reconciler, as the host runs them.
    let w = sync.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            w.run_due()
                .await
                .expect("a worker round fails only when the store does");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }));
    if world.profile == Profile::Full {
        let r = sync.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0u64.. {
                tokio::time::sleep(Duration::from_millis(300)).await;
                // A sweep may fail on a fault; the next one covers it.
                let _ = r.reconcile(round % 5 == 4).await;
            }
        }));
    }

    match crash_after {
        Some(limit) => {
            while completed.load(Ordering::SeqCst) < limit
                && !tasks[..lane_tasks].iter().all(JoinHandle::is_finished)
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        None => {
            while !tasks[..lane_tasks].iter().all(JoinHandle::is_finished) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        if let Err(e) = t.await
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

/// Runs the worker until nothing is due, moving the clock on while
/// operations wait for a retry or a dead process's claim.
async fn drain(world: &World, sync: &JiraSync) {
    for _ in 0..SETTLE_ROUNDS * 10 {
        let report = sync.run_due().await.unwrap();
        if report.done + report.retried + report.parked + report.gone > 0 {
            continue;
        }
        let waiting = sync
            .store()
            .pending()
            .await
            .unwrap()
            .iter()
            .any(|q| !q.parked);
        if !waiting {
            return;
        }
        world.clock.advance(CLAIM_LEASE + CLAIM_LEASE / 2);
    }
    panic!("the queue never drained");
}

/// What Jira says a finding's state is, through the state table.
fn jira_state(states: &StateTable, issue: &SimIssue) -> Option<FindingState> {
    states.from_jira(
        &issue.status,
        issue.resolution.as_deref(),
        &issue.status_category,
    )
}

async fn fault_suite(flavor: Flavor, profile: Profile) {
    let n: usize = env_or("FAULT_SUITE_N", DEFAULT_N);
    let seed: u64 = env_or("FAULT_SUITE_SEED", DEFAULT_SEED);
    let started = Instant::now();
    let plan = plan(n, seed, profile);

    let search_lag =
        Duration::from_millis(env_or("FAULT_SUITE_SEARCH_LAG_MS", DEFAULT_SEARCH_LAG_MS));
    let clock = SimClock::skewed();
    let sim = crate::support::sim(
        SimConfig::new(flavor)
            .seed(seed)
            .clock(clock.clone())
            .search_lag(search_lag),
    )
    .await;
    let service = client(&sim)
        .myself()
        .await
        .unwrap()
        .identity()
        .map(str::to_string);
    let dir = tempfile::tempdir().unwrap();
    let receiver_addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let world = Arc::new(World {
        host: Arc::new(MemoryFindings::with(plan.findings.clone())),
        ids: plan.findings.iter().map(|f| f.id.clone()).collect(),
        path: dir.path().join("sync.sqlite"),
        clock: Arc::new(SkewClock(clock)),
        search_lag,
        service,
        receiver_addr,
        receiver_lines: Arc::default(),
        history: Mutex::default(),
        profile,
        sim,
    });
    world
        .sim
        .register_webhook(
            format!("http://{receiver_addr}{}/{URL_SECRET}", receiver::MOUNT),
            Some(HMAC_SECRET.to_string()),
        )
        .unwrap();

    let actions = Arc::new(plan.actions);
    let done: Arc<Vec<AtomicBool>> =
        Arc::new((0..actions.len()).map(|_| AtomicBool::new(false)).collect());
    let mut receiver_task = world.start_receiver().await;
    for (epoch, &crash_after) in plan.crashes.iter().enumerate() {
        world.sim.set_faults(faults(seed, epoch)).unwrap();
        for i in 0..n {
            world.note(i, format!("-- epoch {epoch}"));
        }
        run_epoch(&world, epoch, &actions, &done, Some(crash_after)).await;
        // The process died: its receiver too, and it takes a while to come
        // back (the dead process's claims run out meanwhile).
        receiver_task.abort();
        let _ = receiver_task.await;
        world.clock.advance(CLAIM_LEASE);
        receiver_task = world.start_receiver().await;
    }
    // The last run: faults on until every action is done, then off.
    let last = plan.crashes.len();
    world.sim.set_faults(faults(seed, last)).unwrap();
    run_epoch(&world, last, &actions, &done, None).await;
    assert!(done.iter().all(|d| d.load(Ordering::SeqCst)));
    let faulty_requests = world.sim.request_count();
    world.sim.set_faults(FaultConfig::new(seed)).unwrap();

    // Settle: drain, deliver webhooks, reconcile, until nothing moves.
    let sync = world.engine(last + 1);
    world.clock.advance(CLAIM_LEASE * 2);
    let mut deleted_seen = Vec::new();
    let mut settled = false;
    for _ in 0..SETTLE_ROUNDS {
        drain(&world, &sync).await;
        world.sim.flush_webhooks().await;
        let sweep = sync.reconcile(true).await.unwrap();
        deleted_seen = sweep.deleted.clone();
        let waiting = sync
            .store()
            .pending()
            .await
            .unwrap()
            .iter()
            .any(|q| !q.parked);
        if sweep.applied.is_empty() && sweep.failed.is_empty() && !waiting {
            settled = true;
            break;
        }
    }
    assert!(settled, "reconciliation kept changing findings");
    receiver_task.abort();

    check_invariants(&world, &sync, &deleted_seen).await;

    let issues = issues_per_finding(&world.sim);
    let (mut deferred, mut held_back) = (0, 0);
    for line in world.history.lock().unwrap().values().flatten() {
        deferred += usize::from(line.contains("Queued") || line.contains(": queued"));
        held_back += usize::from(line.ends_with("held back"));
    }
    eprintln!(
        "fault suite ({flavor}, {profile:?}, seed {seed}): findings={n} actions={} restarts={} \
         deferred={deferred} held_back={held_back} issues={} requests_under_faults={faulty_requests} requests={} webhooks={:?} \
         elapsed_s={:.1}",
        actions.len(),
        plan.crashes.len(),
        issues.values().map(Vec::len).sum::<usize>(),
        world.sim.request_count(),
        world.receiver_lines.lock().unwrap(),
        started.elapsed().as_secs_f64()
    );
}

async fn check_invariants(world: &World, sync: &JiraSync, deleted_seen: &[jira_model::IssueKey]) {
    let states = sync.states();
    let store = sync.store();
    let live = issues_per_finding(&world.sim);
    let deleted: BTreeSet<String> = world
        .sim
        .issues()
        .into_iter()
        .filter(|i| i.deleted)
        .filter_map(|i| i.finding_id().map(str::to_string))
        .collect();
    let mut problems = Vec::new();
    for id in &world.ids {
        let f = world.host.get(id).unwrap();
        let issues = live.get(id.as_str()).map(Vec::as_slice).unwrap_or_default();
        let link = store.link(id).await.unwrap();
        if deleted.contains(id.as_str()) {
            if !issues.is_empty() {
                problems.push(format!("{id}: issue deleted by a person was made again"));
            }
            continue;
        }
        if issues.len() > 1 {
            let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
            problems.push(format!("{id}: {} live issues {keys:?}", issues.len()));
            continue;
        }
        if f.severity < Severity::High && !issues.is_empty() {
            problems.push(format!("{id}: below the rule but has {}", issues[0].key));
        }
        if sync.rule().matches(&f) && issues.is_empty() {
            problems.push(format!(
                "{id}: matches the rule ({}) but has no issue",
                f.state
            ));
        }
        match (issues.first(), &link) {
            (Some(issue), None) => problems.push(format!(
                "{id}: issue {} ({}) is in Jira but not linked; finding is {}",
                issue.key, issue.status, f.state
            )),
            (Some(issue), Some(link)) if link.issue_key != issue.key => problems.push(format!(
                "{id}: linked to {} but its issue is {}",
                link.issue_key, issue.key
            )),
            (Some(issue), Some(_)) => {
                let says = jira_state(states, issue);
                if says != Some(f.state) {
                    problems.push(format!(
                        "{id}: finding is {} but {} is {} ({:?}) = {says:?}",
                        f.state, issue.key, issue.status, issue.resolution
                    ));
                }
            }
            (None, Some(link)) => {
                problems.push(format!("{id}: linked to {} which is gone", link.issue_key));
            }
            (None, None) => {}
        }
    }
    // The queue: only operations about issues a person deleted, parked.
    for q in store.pending().await.unwrap() {
        let about_deleted = deleted.contains(q.op.finding().as_str());
        if !(q.parked && about_deleted) {
            problems.push(format!("left in the queue: {q:?}"));
        }
    }
    let deleted_keys: BTreeSet<String> = world
        .sim
        .issues()
        .into_iter()
        .filter(|i| i.deleted)
        .map(|i| i.key)
        .collect();
    for key in deleted_seen {
        if !deleted_keys.contains(key.as_str()) {
            problems.push(format!(
                "reconciliation reported {key} deleted, but it is not"
            ));
        }
    }
    if !problems.is_empty() {
        let history = world.history.lock().unwrap();
        let changes = world.host.changes();
        for (i, id) in world.ids.iter().enumerate() {
            if !problems.iter().any(|p| p.starts_with(&format!("{id}:"))) {
                continue;
            }
            eprintln!("history of {id} (initially {:?}):", world.ids.get(i));
            for line in history.get(&i).into_iter().flatten() {
                eprintln!("  {line}");
            }
            for (fid, state, cause) in changes.iter().filter(|c| &c.0 == id) {
                eprintln!("  inbound {fid} -> {state}: {cause:?}");
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} invariant violations:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_under_faults_and_restarts_converges() {
    fault_suite(Flavor::Cloud, Profile::Guarded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_center_under_faults_and_restarts_converges() {
    fault_suite(Flavor::DataCenter, Profile::Guarded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_full_chaos_converges() {
    fault_suite(Flavor::Cloud, Profile::Full).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_center_full_chaos_converges() {
    fault_suite(Flavor::DataCenter, Profile::Full).await;
}

#[test]
fn the_plan_is_fixed_by_the_seed_and_covers_every_kind_of_action() {
    let a = plan(300, DEFAULT_SEED, Profile::Full);
    let b = plan(300, DEFAULT_SEED, Profile::Full);
    assert_eq!(format!("{:?}", a.actions), format!("{:?}", b.actions));
    assert_eq!(a.crashes, b.crashes);
    let kinds: BTreeSet<&str> = a
        .actions
        .iter()
        .map(|(_, act)| match act {
            Action::Backfill(_) => "backfill",
            Action::Push(_) => "push",
            Action::HostState(..) => "host",
            Action::Person(..) => "person",
            Action::Delete(_) => "delete",
        })
        .collect();
    assert_eq!(kinds.len(), 5, "{kinds:?}");
    // Every finding is pushed exactly once by the plan itself.
    let mut pushed = vec![0; 300];
    for (_, act) in &a.actions {
        match act {
            Action::Backfill(ix) => ix.iter().for_each(|&i| pushed[i] += 1),
            Action::Push(i) => pushed[*i] += 1,
            _ => {}
        }
    }
    assert!(pushed.iter().all(|&c| c == 1));
    assert!(a.crashes.len() >= 3 && a.crashes.windows(2).all(|w| w[0] <= w[1]));
}
