//! The claim protocol when a holder stalls or pauses past its lease, and
//! when two state changes of one finding overlap (issue 18). In process,
//! with a store that stalls its caller right after a claim is answered:
//! the holder's lease keeper has not started yet, exactly as a process
//! paused there, or a claim loop waiting on a busy store, leaves it. The
//! real-process versions (SIGSTOP, a skewed clock) are in `crash/`.

use crate::hooked_store::HookedStore;
use crate::support::*;
use jira_model::Flavor;
use jira_sim::{JiraSim, SimConfig};
use penaxtra_jira_sync::store::{MemoryStore, SyncStore};
use penaxtra_jira_sync::{JiraSync, MemoryFindings, PushKind, SyncSettings};
use penaxtra_mapping::{Finding, FindingState, InboundPolicy, Severity};
use std::sync::Arc;
use std::time::Duration;

/// Lease 300 ms; the search lags 1 s behind a create and the window is as
/// long, so a taker that searched before the stalled holder's late create
/// became visible would trust an empty answer.
const LEASE: Duration = Duration::from_millis(300);
const LAG: Duration = Duration::from_millis(1_000);
/// The test client's request timeout: how long after an expiry a create
/// sent before it may still commit (the taker's write grace).
const REQUEST_TIMEOUT: Duration = Duration::from_millis(1_500);
/// Longer than lease + write grace + window and the taker's work: the
/// taker has created by the time the stalled holder goes on.
const STALL: Duration = Duration::from_millis(5_000);

fn settings() -> SyncSettings {
    let mut s = fast_settings();
    s.claim_lease = LEASE;
    s.search_consistency_window = Some(LAG);
    s
}

fn engine_on(
    sim: &JiraSim,
    store: Arc<dyn SyncStore>,
    host: &Arc<MemoryFindings>,
    owner: &str,
) -> JiraSync {
    JiraSync::builder(client(sim), store, Arc::clone(host) as _)
        .settings(settings())
        .inbound(InboundPolicy::All)
        .owner(owner)
        .build()
        .unwrap()
}

/// Two engines on one store, the first stalling after its first claim.
fn pair(sim: &JiraSim, findings: &[Finding]) -> (JiraSync, JiraSync, Arc<dyn SyncStore>) {
    let host = Arc::new(MemoryFindings::with(findings.iter().cloned()));
    let shared: Arc<dyn SyncStore> = Arc::new(MemoryStore::new());
    let stalling: Arc<dyn SyncStore> =
        Arc::new(HookedStore::new(Arc::clone(&shared)).stalling_after_claim("stalled", STALL));
    let stalled = engine_on(sim, stalling, &host, "stalled");
    let taker = engine_on(sim, Arc::clone(&shared), &host, "taker");
    (stalled, taker, shared)
}

/// Runs the taker's worker until it has nothing left it can do now.
async fn take_over(taker: &JiraSync) {
    // Past expiry + write grace + window of the stalled holder's claim.
    tokio::time::sleep(LEASE * 2 + REQUEST_TIMEOUT + LAG + Duration::from_millis(200)).await;
    let settled = taker.settle(Duration::from_secs(20), |_| {}).await.unwrap();
    assert!(!settled.timed_out, "{settled:?}");
}

/// A holder whose claim expired while it stalled, and was taken and used
/// by another, sends no create when it goes on: the gate renews before the
/// send, learns the claim is gone, and withholds it. Without the gate the
/// late create makes a second issue that the taker's (lagging) search
/// could not see.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_that_lost_its_claim_while_stalled_sends_no_create() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = sim(SimConfig::new(flavor).search_lag(LAG)).await;
        let f = finding(1, Severity::High, FindingState::Open);
        let (stalled, taker, store) = pair(&sim, std::slice::from_ref(&f));
        let late = {
            let (stalled, f) = (stalled.clone(), f.clone());
            tokio::spawn(async move { stalled.push(&f).await.unwrap() })
        };
        // The stalled holder's claim runs out; the taker's push meets the
        // doubt it left and waits out the window, then creates.
        tokio::time::sleep(LEASE + Duration::from_millis(100)).await;
        let first = taker.push(&f).await.unwrap();
        assert_eq!(first.kind(), PushKind::Queued, "{flavor:?}: {first:?}");
        take_over(&taker).await;
        assert_eq!(sim.issues().len(), 1, "{flavor:?}: the taker created it");

        let late = late.await.unwrap();
        assert_eq!(
            late.kind(),
            PushKind::Queued,
            "{flavor:?}: the stalled holder is refused before sending: {late:?}"
        );
        assert_eq!(
            sim.issues().len(),
            1,
            "{flavor:?}: the stalled holder made no second issue"
        );
        // Whatever it queued finds the link and ends.
        let settled = stalled
            .settle(Duration::from_secs(20), |_| {})
            .await
            .unwrap();
        assert!(!settled.timed_out, "{flavor:?}: {settled:?}");
        assert_eq!(sim.issues().len(), 1, "{flavor:?}");
        assert!(store.link(&f.id).await.unwrap().is_some());
        assert!(store.claims().await.unwrap().is_empty(), "{flavor:?}");
    }
}

/// The same in a backfill: the claim loop stalls after its first claim (a
/// busy store), so that claim expires before the bulk create is sent. The
/// gate withholds the whole bulk request; nothing is lost, every finding
/// ends with exactly one issue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_whose_early_claims_expired_in_its_claim_loop_sends_no_create_for_them() {
    let sim = sim(SimConfig::new(Flavor::Cloud).search_lag(LAG)).await;
    let findings: Vec<Finding> = (0..4)
        .map(|i| finding(i, Severity::High, FindingState::Open))
        .collect();
    let (stalled, taker, store) = pair(&sim, &findings);
    let backfill = {
        let (stalled, findings) = (stalled.clone(), findings.clone());
        tokio::spawn(async move { stalled.push_many(&findings, |_| {}).await.unwrap() })
    };
    tokio::time::sleep(LEASE + Duration::from_millis(100)).await;
    // The taker meets the first finding's expired claim and the others'
    // live ones (the stalled loop claims them after its stall).
    taker.push(&findings[0]).await.unwrap();
    take_over(&taker).await;
    assert_eq!(
        sim.issues().len(),
        1,
        "the taker created the first finding's issue"
    );

    let report = backfill.await.unwrap();
    assert_eq!(
        report.count(PushKind::Created),
        0,
        "no create was sent on a chunk holding a lost claim: {report:?}"
    );
    let settled = stalled
        .settle(Duration::from_secs(30), |_| {})
        .await
        .unwrap();
    assert!(!settled.timed_out, "{settled:?}");
    assert!(
        issues_per_finding(&sim)
            .values()
            .all(|issues| issues.len() == 1),
        "one issue per finding"
    );
    assert_eq!(
        sim.issues().len(),
        findings.len(),
        "every finding has its issue"
    );
    for f in &findings {
        assert!(
            store.link(&f.id).await.unwrap().is_some(),
            "{} linked",
            f.id
        );
    }
}

/// A second state change of one finding while the first walk is between
/// statuses waits for it (it would otherwise read the intermediate status,
/// answer "already there" and end, while the walk lands elsewhere), then
/// brings the issue to the newest wanted state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_change_made_during_a_walk_waits_for_it_and_wins() {
    let sim = sim(SimConfig::new(Flavor::Cloud)).await;
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let store: Arc<dyn SyncStore> = Arc::new(MemoryStore::new());
    let mut s = settings();
    s.claim_lease = Duration::from_secs(5);
    let sync = JiraSync::builder(client(&sim), Arc::clone(&store), Arc::clone(&host) as _)
        .settings(s)
        .inbound(InboundPolicy::All)
        .build()
        .unwrap();
    let key = push_key(&sync, &f).await;
    // Every request takes 300 ms: the walk Open → In Progress → Done is
    // mid-way when the second change reads the issue.
    sim.set_faults(
        jira_sim::FaultConfig::new(1)
            .latency(jira_sim::LatencyFault::new(1.0, Duration::from_millis(300))),
    )
    .unwrap();
    let mut resolved = f.clone();
    resolved.state = FindingState::Resolved;
    host.insert(resolved);
    let walk = {
        let (sync, id) = (sync.clone(), f.id.clone());
        tokio::spawn(async move { sync.set_state(&id, FindingState::Resolved).await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut triaged = f.clone();
    triaged.state = FindingState::Triaged;
    host.insert(triaged);
    let second = sync.set_state(&f.id, FindingState::Triaged).await.unwrap();
    assert_eq!(
        second.code(),
        "queued",
        "the second change waits for the walk in flight: {second:?}"
    );
    walk.await.unwrap();
    sim.set_faults(jira_sim::FaultConfig::default()).unwrap();
    let settled = sync.settle(Duration::from_secs(20), |_| {}).await.unwrap();
    assert!(!settled.timed_out, "{settled:?}");
    assert_eq!(
        sim.issue(&key).unwrap().status,
        "In Progress",
        "the newest wanted state (triaged) wins"
    );
}

/// A create whose answer was lost leaves its finding in doubt; when the
/// host deletes that finding, the queued create ends and takes the claim
/// with it, so `settle` finishes instead of waiting on a claim forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_the_host_deleted_leaves_no_claim_behind() {
    let sim = sim(SimConfig::new(Flavor::Cloud)).await;
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let store: Arc<dyn SyncStore> = Arc::new(MemoryStore::new());
    let sync = engine_on(&sim, Arc::clone(&store), &host, "only");
    sim.set_faults(jira_sim::FaultConfig::new(7).commit_then_drop_rate(1.0))
        .unwrap();
    let lost = sync.push(&f).await.unwrap();
    assert_eq!(lost.kind(), PushKind::Queued, "{lost:?}");
    sim.set_faults(jira_sim::FaultConfig::default()).unwrap();
    assert_eq!(store.claims().await.unwrap().len(), 1, "left in doubt");

    host.remove(&f.id);
    let settled = sync.settle(Duration::from_secs(10), |_| {}).await.unwrap();
    assert!(!settled.timed_out, "{settled:?}");
    assert!(
        store.claims().await.unwrap().is_empty(),
        "the deleted finding's claim is gone"
    );
    assert!(store.pending().await.unwrap().is_empty());
}

/// A backfill killed between its bulk create and the read-back that
/// matches issues to findings: the ids Jira answered are already on the
/// claims, so whoever takes the claims over confirms them by id (which
/// Jira answers consistently) and links them, without waiting out a search
/// window that here is far longer than the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_cut_before_its_read_back_is_recovered_by_id_at_once() {
    // Search lags 60 s and the window is as long: a recovery by search
    // would wait past the test's deadline.
    let sim = sim(SimConfig::new(Flavor::Cloud).search_lag(Duration::from_secs(60))).await;
    let findings: Vec<Finding> = (0..3)
        .map(|i| finding(i, Severity::High, FindingState::Open))
        .collect();
    let host = Arc::new(MemoryFindings::with(findings.iter().cloned()));
    let shared: Arc<dyn SyncStore> = Arc::new(MemoryStore::new());
    let mut s = settings();
    s.search_consistency_window = Some(Duration::from_secs(60));
    // The process freezes right after recording the ids Jira answered,
    // before its read-back, and is then cut (the task aborted, its keeper
    // with it; the claims run out).
    let frozen: Arc<dyn SyncStore> = Arc::new(
        HookedStore::new(Arc::clone(&shared)).stalling_after_note_created(Duration::from_secs(600)),
    );
    let cut = JiraSync::builder(client(&sim), frozen, Arc::clone(&host) as _)
        .settings(s.clone())
        .owner("cut")
        .build()
        .unwrap();
    let backfill = {
        let (cut, findings) = (cut.clone(), findings.clone());
        tokio::spawn(async move { cut.push_many(&findings, |_| {}).await })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while sim.issues().len() < findings.len() {
        assert!(
            std::time::Instant::now() < deadline,
            "the bulk create never landed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    backfill.abort();
    let _ = backfill.await;
    drop(cut);
    assert!(
        shared.links().await.unwrap().is_empty(),
        "cut before its read-back: nothing linked"
    );

    let next = JiraSync::builder(client(&sim), Arc::clone(&shared), Arc::clone(&host) as _)
        .settings(s)
        .owner("next")
        .build()
        .unwrap();
    tokio::time::sleep(LEASE + Duration::from_millis(100)).await;
    let settled = next.settle(Duration::from_secs(15), |_| {}).await.unwrap();
    assert!(
        !settled.timed_out,
        "recovered by id, not after the 60 s window: {settled:?}"
    );
    assert_eq!(sim.issues().len(), findings.len(), "no second issue");
    for f in &findings {
        assert!(
            shared.link(&f.id).await.unwrap().is_some(),
            "{} linked",
            f.id
        );
    }
}
