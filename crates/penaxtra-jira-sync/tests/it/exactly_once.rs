//! One regression test for each way the first version could end with two
//! issues for a finding, or with a finding and its issue apart, against a
//! Jira whose search lags (issue 10, items a–g). Each fails without its fix.

use crate::support::*;
use jira_model::{Flavor, TransitionRequest};
use jira_sim::{JiraSim, LatencyFault, SimConfig};
use penaxtra_jira_sync::store::{
    Claim, ExpectedStatus, Link, MemoryStore, PendingOp, SqliteStore, SyncStore,
};
use penaxtra_jira_sync::{
    Clock, DeletedIssue, Disposition, Inbound, InboundReason, JiraSync, MemoryFindings, PushKind,
    PushOutcome, StateOutcome, SyncSettings, SystemClock,
};
use penaxtra_mapping::{Finding, FindingId, FindingState, InboundPolicy, Severity};
use std::sync::Arc;
use std::time::Duration;

const URL_SECRET: &str = "exactly-once-url-secret-0123";
const HMAC_SECRET: &str = "exactly-once-hmac-secret-0123";

fn settings(lease_ms: u64, window_ms: u64) -> SyncSettings {
    let mut s = fast_settings();
    s.claim_lease = Duration::from_millis(lease_ms);
    s.search_consistency_window = Some(Duration::from_millis(window_ms));
    s
}

fn engine_on(
    sim: &JiraSim,
    store: Arc<dyn SyncStore>,
    host: &Arc<MemoryFindings>,
    owner: &str,
    settings: SyncSettings,
) -> JiraSync {
    JiraSync::builder(client(sim), store, Arc::clone(host) as _)
        .settings(settings)
        .inbound(InboundPolicy::All)
        .owner(owner)
        .build()
        .unwrap()
}

/// (a) The lease is renewed while the push is in flight, so a second
/// worker is told "busy", not handed the claim; a create slower than what
/// is left of the claim is cut short by its gate before the claim could
/// lapse (it may have reached Jira, so it is recovered, never made twice);
/// and a holder whose claim was taken cannot write.
#[tokio::test]
async fn a_claim_is_renewed_in_flight_and_a_create_never_outlasts_it() {
    // Every request takes 200 ms: search + create outlast the 300 ms
    // lease, each request alone does not.
    let sim = sim(SimConfig::new(Flavor::Cloud).latency(Duration::from_millis(200))).await;
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let store: Arc<dyn SyncStore> = Arc::new(MemoryStore::new());
    let mut always = settings(300, 5_000);
    always.always_check_jira = true;
    let first = engine_on(&sim, Arc::clone(&store), &host, "first", always);
    let second = engine_on(
        &sim,
        Arc::clone(&store),
        &host,
        "second",
        settings(300, 5_000),
    );
    let pushing = {
        let (first, f) = (first.clone(), f.clone());
        tokio::spawn(async move { first.push(&f).await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(320)).await;
    let meanwhile = second.push(&f).await.unwrap();
    assert!(
        matches!(meanwhile, PushOutcome::Queued { code: "busy", .. }),
        "the holder's claim was renewed: {meanwhile:?}"
    );
    let pushed = pushing.await.unwrap();
    assert_eq!(pushed.kind(), "created", "{pushed:?}");
    assert_eq!(sim.issues().len(), 1);

    // A create slower (600 ms) than the whole lease: the gate cuts the
    // attempt at what is left of the claim, so the holder never waits on
    // a create past its claim; the create reached Jira, so the finding is
    // in doubt and recovered, not created again.
    sim.set_faults(
        jira_sim::FaultConfig::new(1).latency(LatencyFault::new(1.0, Duration::from_millis(600))),
    )
    .unwrap();
    let slow = finding(2, Severity::High, FindingState::Open);
    host.insert(slow.clone());
    let cut = first.push(&slow).await.unwrap();
    assert!(
        matches!(
            cut,
            PushOutcome::Queued {
                code: "timeout",
                ..
            }
        ),
        "the create was cut at the claim's lease: {cut:?}"
    );
    sim.set_faults(jira_sim::FaultConfig::default()).unwrap();
    let settled = first.settle(Duration::from_secs(20), |_| {}).await.unwrap();
    assert!(!settled.timed_out, "{settled:?}");
    assert_eq!(
        issues_per_finding(&sim).get(slow.id.as_str()).map(Vec::len),
        Some(1),
        "the cut create's issue is recovered, not made again"
    );

    // A holder fenced out by the next claimant cannot link over it.
    let g = FindingId::new("fnd_fenced").unwrap();
    let Claim::Acquired { fence: old, .. } = store.claim(&g, "slow", 0, 10).await.unwrap() else {
        panic!("claims")
    };
    let Claim::Acquired { doubt, .. } = store.claim(&g, "next", 20, 10).await.unwrap() else {
        panic!("expired claims are taken over")
    };
    let doubt = doubt.expect("an expired claim leaves doubt");
    assert_eq!(doubt.since_ms, 10);
    assert!(
        doubt.expired_holder,
        "the doubt comes from an expired holder"
    );
    let late = Link::new(g.clone(), key("SEC-99"), "10099", FindingState::Open, 25);
    assert_eq!(
        store
            .insert_link(&late, Some(old))
            .await
            .unwrap_err()
            .code(),
        "store_fenced"
    );
    assert!(store.link(&g).await.unwrap().is_none());
}

/// (b) A newer operation queued while an older one runs is not deleted
/// when the older one completes.
#[tokio::test]
async fn completing_an_operation_keeps_a_newer_one_queued_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let stores: [Arc<dyn SyncStore>; 2] = [
        Arc::new(MemoryStore::new()),
        Arc::new(SqliteStore::open(dir.path().join("s.sqlite")).unwrap()),
    ];
    for store in stores {
        let f = FindingId::new("fnd_b").unwrap();
        let older = PendingOp::SetState {
            finding: f.clone(),
            state: FindingState::Triaged,
        };
        let newer = PendingOp::SetState {
            finding: f.clone(),
            state: FindingState::Resolved,
        };
        store.enqueue(&older, 0, None).await.unwrap();
        let running = store.due(0, 10).await.unwrap().remove(0);
        store.enqueue(&newer, 0, None).await.unwrap();
        store.complete(running.op_ref()).await.unwrap();
        let left = store.pending().await.unwrap();
        assert_eq!(left.len(), 1, "{store:?}");
        assert_eq!(left[0].op, newer);
    }
}

/// (c) A process that created the issue and died before linking it: the
/// recovery pass queues the create, whose claimant waits out the search lag,
/// finds the issue and links it. The host never pushes again.
#[tokio::test]
async fn a_create_whose_process_died_before_linking_is_recovered() {
    let sim = sim(SimConfig::new(Flavor::Cloud).search_lag(Duration::from_millis(400))).await;
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    // The process that died: claimed, created, never linked.
    {
        let store = SqliteStore::open(&path).unwrap();
        let dead = engine_on(
            &sim,
            Arc::new(store.clone()),
            &host,
            "dead",
            settings(200, 800),
        );
        let now = SystemClock::new().now_ms();
        assert!(matches!(
            store.claim(&f.id, "dead", now, 200).await.unwrap(),
            Claim::Acquired { .. }
        ));
        let request = dead.template().render(&f, Flavor::Cloud).unwrap();
        client(&sim).create_issue(&request).await.unwrap();
    }
    let next = engine_on(
        &sim,
        Arc::new(SqliteStore::open(&path).unwrap()),
        &host,
        "next",
        settings(200, 800),
    );
    let settled = next.settle(Duration::from_secs(10), |_| {}).await.unwrap();
    assert!(!settled.timed_out, "{settled:?}");
    assert_eq!(settled.worker.recovered, 1);
    assert_eq!(sim.issues().len(), 1, "the issue was found, not made again");
    let link = next.store().link(&f.id).await.unwrap().expect("linked");
    assert_eq!(link.issue_key, sim.issues()[0].key);
    assert!(next.store().claims().await.unwrap().is_empty());
}

/// (c) A state change whose process died while its call was in flight is
/// finished by the worker: it was queued before the call.
#[tokio::test]
async fn a_state_change_cut_short_is_finished_by_the_worker() {
    let sim = sim(SimConfig::new(Flavor::Cloud)).await;
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let store: Arc<dyn SyncStore> = Arc::new(MemoryStore::new());
    let first = engine_on(&sim, Arc::clone(&store), &host, "first", settings(200, 500));
    let key = push_key(&first, &f).await;
    sim.set_faults(
        jira_sim::FaultConfig::new(1).latency(LatencyFault::new(1.0, Duration::from_millis(500))),
    )
    .unwrap();
    let mut resolved = host.get(&f.id).unwrap();
    resolved.state = FindingState::Resolved;
    host.insert(resolved);
    let cut = {
        let (first, id) = (first.clone(), f.id.clone());
        tokio::spawn(async move { first.set_state(&id, FindingState::Resolved).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    cut.abort(); // the call is in flight; nothing after it runs
    let _ = cut.await;
    drop(first);
    sim.set_faults(jira_sim::FaultConfig::default()).unwrap();
    assert_eq!(sim.issue(&key).unwrap().status, "Open");

    let next = engine_on(&sim, store, &host, "next", settings(200, 500));
    let settled = next.settle(Duration::from_secs(10), |_| {}).await.unwrap();
    assert!(!settled.timed_out, "{settled:?}");
    assert_eq!(sim.issue(&key).unwrap().status, "Done");
}

/// A clock an hour ahead of Jira's.
#[derive(Debug)]
struct AheadClock;

impl Clock for AheadClock {
    fn now(&self) -> std::time::SystemTime {
        std::time::SystemTime::now() + Duration::from_secs(3600)
    }
    fn monotonic(&self) -> Duration {
        self.now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    }
}

/// (d) Whether an event is stale is judged on Jira's clock: with the local
/// clock an hour ahead, a person's change made after ours still applies.
#[tokio::test]
async fn staleness_is_judged_on_jiras_clock_not_ours() {
    let sim = sim(SimConfig::new(Flavor::Cloud)).await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    sim.register_webhook(format!("http://{dead_addr}/hook"), Some(HMAC_SECRET.into()))
        .unwrap();
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let sync = JiraSync::builder(
        client(&sim),
        Arc::new(MemoryStore::new()),
        Arc::clone(&host) as _,
    )
    .settings(fast_settings())
    .inbound(InboundPolicy::All)
    .clock(Arc::new(AheadClock))
    .build()
    .unwrap();
    let key = push_key(&sync, &f).await;
    let mut triaged = host.get(&f.id).unwrap();
    triaged.state = FindingState::Triaged;
    host.insert(triaged);
    let moved = sync.set_state(&f.id, FindingState::Triaged).await.unwrap();
    assert!(
        matches!(moved, StateOutcome::Transitioned { .. }),
        "{moved:?}"
    );

    // Alex closes it, after our move, in Jira's time.
    let alex = alex(&sim);
    let done = alex
        .transitions(&key)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.to.name == "Done")
        .unwrap();
    alex.transition(
        &key,
        &TransitionRequest::new(done.id).with_resolution("Done"),
    )
    .await
    .unwrap();
    let body = loop {
        let found = sim.webhook_deliveries().into_iter().find(|d| {
            d.json()
                .is_some_and(|j| j["changelog"]["items"].to_string().contains("\"Done\""))
        });
        if let Some(d) = found {
            break d.body;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let outcome = sync.handle_webhook(&verified(&body, "d-1")).await;
    assert_eq!(
        (outcome.disposition, outcome.reason),
        (Disposition::Applied, InboundReason::StateChanged),
        "{outcome:?}"
    );
    assert_eq!(host.get(&f.id).unwrap().state, FindingState::Resolved);
}

fn verified(body: &[u8], delivery: &str) -> penaxtra_jira_sync::webhook::VerifiedWebhook {
    signed_delivery(
        &loopback_gate(URL_SECRET, HMAC_SECRET),
        URL_SECRET,
        HMAC_SECRET,
        body,
        delivery,
    )
}

/// (e) A person who changes only the resolution (Done/Done → Done/Won't
/// Do) is not taken for our own echo: the finding follows.
#[tokio::test]
async fn a_resolution_only_change_is_not_an_echo() {
    let f = finding(1, Severity::High, FindingState::Resolved);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let store = Arc::new(MemoryStore::new());
    let mut link = Link::new(
        f.id.clone(),
        key("SEC-1"),
        "10001",
        FindingState::Resolved,
        0,
    );
    // Where our own walk left it: Done, resolution Done.
    link.expected_statuses = vec![ExpectedStatus::arriving("Done", Some("Done".into()))];
    store.insert_link(&link, None).await.unwrap();
    let inbound = Inbound::new(Arc::clone(&store) as _, Arc::clone(&host) as _, "SEC")
        .policy(InboundPolicy::All);
    let event = |resolution: &str, from: &str, changelog: &str| {
        serde_json::to_vec(&serde_json::json!({
            "timestamp": SystemClock::new().now_ms(),
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "user": {"accountId": "557058:alex", "displayName": "Alex"},
            "issue": {"id": "10001", "key": "SEC-1", "fields": {
                "status": {"id": "3", "name": "Done", "statusCategory": {"id": 3, "key": "done", "name": "Done"}},
                "resolution": {"id": "2", "name": resolution},
                "labels": ["penaxtra"]}},
            "changelog": {"id": changelog, "items": [
                {"field": "resolution", "fieldtype": "jira", "fieldId": "resolution",
                 "from": "1", "fromString": from, "to": "2", "toString": resolution}]}
        }))
        .unwrap()
    };
    // Our own echo (Done with resolution Done) is still dropped...
    let echo = inbound
        .handle_webhook(&verified(&event("Done", "Done", "1"), "e-1"))
        .await;
    assert_eq!(echo.reason, "echo", "{echo:?}");
    // ...but a person's resolution change is applied.
    let out = inbound
        .handle_webhook(&verified(&event("Won't Do", "Done", "2"), "e-2"))
        .await;
    assert_eq!(
        (out.disposition, out.reason),
        (Disposition::Applied, InboundReason::StateChanged),
        "{out:?}"
    );
    assert_eq!(host.get(&f.id).unwrap().state, FindingState::Accepted);
}

/// (f) Bulk-created issues are matched to findings by their dedup labels,
/// not by position (the simulator, like Jira, lists them out of order); a
/// fresh backfill makes no duplicate search, only one read-back per chunk.
#[tokio::test]
async fn bulk_results_are_matched_by_label_not_position() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = sim(SimConfig::new(flavor).search_lag(Duration::from_secs(30))).await;
        let findings: Vec<Finding> = (0..60)
            .map(|i| finding(i, Severity::High, FindingState::Open))
            .collect();
        let host = Arc::new(MemoryFindings::with(findings.clone()));
        let sync = engine_on(
            &sim,
            Arc::new(MemoryStore::new()),
            &host,
            "bulk",
            settings(2_000, 60_000),
        );
        let report = sync.push_many(&findings, |_| {}).await.unwrap();
        assert_eq!(report.count(PushKind::Created), 60, "{flavor}: {report:?}");
        for f in &findings {
            let link = sync.store().link(&f.id).await.unwrap().unwrap();
            let issue = sim.issue(link.issue_key.as_str()).unwrap();
            assert_eq!(
                issue.finding_id(),
                Some(f.id.as_str()),
                "{flavor}: {} is linked to another finding's issue",
                f.id
            );
        }
        let counts = sim.request_counts();
        let count = |prefix: &str| -> u64 {
            counts
                .iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(_, n)| n)
                .sum()
        };
        assert_eq!(
            count("POST /rest/api/3/issue/bulk") + count("POST /rest/api/2/issue/bulk"),
            2,
            "one bulk create per 50 findings"
        );
        let searches = count("POST /rest/api/3/search") + count("POST /rest/api/2/search");
        assert_eq!(
            searches, 2,
            "{flavor}: one read-back search (by id) per bulk request, and no duplicate search"
        );
    }
}

/// (g) An issue deleted in Jira is unlinked by reconciliation; by default
/// the finding is parked for a person (no state change piles up), and with
/// `DeletedIssue::Recreate` it gets a new issue once Jira's
/// `jira:issue_deleted` event confirmed the deletion; on a 404 alone (what
/// an issue hidden by issue security answers too) it is parked, with the
/// reason, and no second issue is made.
#[tokio::test]
async fn a_deleted_issue_is_unlinked_and_parked_or_recreated() {
    // Park; recreate without Jira's deletion event (as an issue hidden by
    // issue security looks: a 404 and nothing else); recreate with it.
    for (policy, deletion_event) in [
        (DeletedIssue::Park, false),
        (DeletedIssue::Recreate, false),
        (DeletedIssue::Recreate, true),
    ] {
        let sim = sim(SimConfig::new(Flavor::DataCenter)).await;
        let f = finding(1, Severity::High, FindingState::Open);
        let host = Arc::new(MemoryFindings::with([f.clone()]));
        let mut s = settings(300, 100);
        s.on_deleted_issue = policy;
        let sync = engine_on(&sim, Arc::new(MemoryStore::new()), &host, "g", s);
        let key = push_key(&sync, &f).await;
        let id = sync.store().link(&f.id).await.unwrap().unwrap().issue_id;
        alex(&sim).delete_issue(&key).await.unwrap();
        if deletion_event {
            let body = serde_json::json!({
                "timestamp": 1_767_276_000_000_i64,
                "webhookEvent": "jira:issue_deleted",
                "issue": {"id": id, "key": key, "fields": {"labels": []}},
            });
            let outcome = sync
                .handle_webhook(&verified(body.to_string().as_bytes(), "deleted-1"))
                .await;
            assert_eq!(outcome.reason, "issue_deleted", "{outcome:?}");
        }
        let sweep = sync.reconcile(true).await.unwrap();
        assert_eq!(sweep.deleted, std::slice::from_ref(&key));
        assert!(
            sync.store().link(&f.id).await.unwrap().is_none(),
            "unlinked"
        );
        if policy == DeletedIssue::Recreate && deletion_event {
            sync.settle(Duration::from_secs(5), |_| {}).await.unwrap();
        } else {
            let again = sync.push(&f).await.unwrap();
            assert!(
                matches!(&again, PushOutcome::Parked { reason } if reason.contains(&key)),
                "{again:?}"
            );
            let parked = sync.store().pending().await.unwrap();
            assert_eq!(parked.len(), 1);
            assert!(parked[0].parked);
            if policy == DeletedIssue::Recreate {
                assert!(
                    parked[0]
                        .last_error
                        .as_deref()
                        .is_some_and(|e| e.contains("hidden")),
                    "a 404 alone may be issue security: {:?}",
                    parked[0].last_error
                );
                assert_eq!(
                    sim.issues().iter().filter(|i| !i.deleted).count(),
                    0,
                    "no second issue on a 404 alone"
                );
            }
            // A person retries it: a new issue.
            sync.store().unpark_all(0).await.unwrap();
            sync.settle(Duration::from_secs(5), |_| {}).await.unwrap();
        }
        let link = sync.store().link(&f.id).await.unwrap().expect("relinked");
        assert_ne!(link.issue_key, key);
        assert!(sync.store().pending().await.unwrap().is_empty());
        assert_eq!(
            sim.issues().iter().filter(|i| !i.deleted).count(),
            1,
            "{policy:?}"
        );
    }
}

/// Duplicates heal: two issues for one finding (made behind the library's
/// back) end with the oldest linked and the other closed as a duplicate,
/// with a comment; nothing is deleted.
#[tokio::test]
async fn duplicates_heal_keeping_the_oldest() {
    let sim = sim(SimConfig::new(Flavor::Cloud)).await;
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let sync = engine_on(
        &sim,
        Arc::new(MemoryStore::new()),
        &host,
        "h",
        settings(300, 100),
    );
    // The oldest issue: created, never linked (a store restored from an
    // old backup, say).
    let request = sync.template().render(&f, Flavor::Cloud).unwrap();
    let oldest = client(&sim).create_issue(&request).await.unwrap();
    let newer = push_key(&sync, &f).await;
    assert_ne!(oldest.key, newer);
    let mut triaged = host.get(&f.id).unwrap();
    triaged.state = FindingState::Triaged;
    host.insert(triaged);
    sync.set_state(&f.id, FindingState::Triaged).await.unwrap();

    let sweep = sync.reconcile(false).await.unwrap();
    assert_eq!(sweep.healed, std::slice::from_ref(&newer), "{sweep:?}");
    let link = sync.store().link(&f.id).await.unwrap().unwrap();
    assert_eq!(link.issue_key, oldest.key, "the oldest is kept");
    sync.settle(Duration::from_secs(5), |_| {}).await.unwrap();
    let kept = sim.issue(&oldest.key).unwrap();
    assert_eq!(
        kept.status, "In Progress",
        "the kept issue follows the finding"
    );
    let closed = sim.issue(&newer).unwrap();
    assert_eq!(closed.status_category, jira_model::StatusCategoryKey::Done);
    assert!(
        closed
            .labels
            .iter()
            .any(|l| l == penaxtra_jira_sync::DUPLICATE_LABEL)
    );
    assert!(
        closed
            .comments
            .iter()
            .any(|c| format!("{c:?}").contains(&oldest.key)),
        "a comment says why"
    );
    assert!(!closed.deleted);
    let again = sync.reconcile(false).await.unwrap();
    assert!(again.healed.is_empty(), "healing is done once");
}

/// Search lagging longer than the window makes duplicates (the window is
/// the assumption); two replicas that sweep at once then heal them to
/// exactly one live issue per finding, linked, whatever order their
/// relinks and closes land in (links are compare-and-set: a relink read
/// before the other's is refused and done again on the next sweep).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_healing_at_once_leave_one_live_issue_per_finding() {
    let lag = Duration::from_millis(1_500);
    let sim = sim(SimConfig::new(Flavor::Cloud).search_lag(lag)).await;
    let findings: Vec<Finding> = (0..6)
        .map(|i| finding(i, Severity::High, FindingState::Open))
        .collect();
    let host = Arc::new(MemoryFindings::with(findings.iter().cloned()));
    let store: Arc<dyn SyncStore> = Arc::new(MemoryStore::new());
    let a = engine_on(&sim, Arc::clone(&store), &host, "a", settings(300, 100));
    let b = engine_on(&sim, Arc::clone(&store), &host, "b", settings(300, 100));
    // Every create commits and loses its answer; the window (100 ms) is
    // far shorter than the lag, so the next claimant's search misses them.
    sim.set_faults(jira_sim::FaultConfig::new(3).commit_then_drop_rate(1.0))
        .unwrap();
    for f in &findings {
        a.push(f).await.unwrap();
    }
    sim.set_faults(jira_sim::FaultConfig::default()).unwrap();
    let settled = b.settle(Duration::from_secs(20), |_| {}).await.unwrap();
    assert!(!settled.timed_out, "{settled:?}");
    let made = sim.issues().len();
    assert!(
        made > findings.len(),
        "lag beyond the window made duplicates ({made} issues)"
    );

    tokio::time::sleep(lag + Duration::from_millis(200)).await;
    for _ in 0..3 {
        let (ra, rb) = tokio::join!(a.reconcile(false), b.reconcile(false));
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        if ra.healed.is_empty()
            && rb.healed.is_empty()
            && ra.heal_failed.is_empty()
            && rb.heal_failed.is_empty()
        {
            break;
        }
        tokio::time::sleep(lag).await;
    }
    let settled = a.settle(Duration::from_secs(20), |_| {}).await.unwrap();
    assert!(!settled.timed_out, "{settled:?}");
    let per = issues_per_finding(&sim);
    for f in &findings {
        let live: Vec<_> = per[f.id.as_str()]
            .iter()
            .filter(|i| {
                !i.labels
                    .iter()
                    .any(|l| l == penaxtra_jira_sync::DUPLICATE_LABEL)
            })
            .collect();
        assert_eq!(live.len(), 1, "{}: {live:?}", f.id);
        let link = store.link(&f.id).await.unwrap().unwrap();
        assert_eq!(
            link.issue_key.as_str(),
            live[0].key,
            "{} links its live issue",
            f.id
        );
    }
}

/// A correctly signed event whose timestamp is a year ahead is refused
/// and moves nothing: a later real event still applies. (Before, it was
/// applied, and raised the link's last-seen time a year ahead, so every
/// later real event and sweep was "stale".)
#[tokio::test]
async fn an_event_from_the_future_is_refused_and_a_real_one_still_applies() {
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let store = Arc::new(MemoryStore::new());
    let link = Link::new(f.id.clone(), key("SEC-1"), "10001", FindingState::Open, 0);
    store.insert_link(&link, None).await.unwrap();
    let inbound = Inbound::new(Arc::clone(&store) as _, Arc::clone(&host) as _, "SEC")
        .policy(InboundPolicy::All);
    let event = |at: i64, status: &str, category: &str, changelog: &str| {
        serde_json::to_vec(&serde_json::json!({
            "timestamp": at,
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "user": {"accountId": "557058:alex", "displayName": "Alex"},
            "issue": {"id": "10001", "key": "SEC-1", "fields": {
                "status": {"id": "9", "name": status, "statusCategory": {"id": 3, "key": category, "name": status}},
                "labels": ["penaxtra"]}},
            "changelog": {"id": changelog, "items": [
                {"field": "status", "fieldtype": "jira", "fieldId": "status",
                 "from": "1", "fromString": "Open", "to": "9", "toString": status}]}
        }))
        .unwrap()
    };
    let now = SystemClock::new().now_ms();
    let year = 365 * 24 * 3_600_000_i64;
    let forged = inbound
        .handle_webhook(&verified(
            &event(now + year, "Cancelled", "done", "1"),
            "f-1",
        ))
        .await;
    assert_eq!(forged.reason, "timestamp_ahead", "{forged:?}");
    assert_eq!(
        host.get(&f.id).unwrap().state,
        FindingState::Open,
        "nothing applied"
    );
    assert_eq!(
        store.link(&f.id).await.unwrap().unwrap().last_event_ms,
        None,
        "last seen did not move"
    );
    let real = inbound
        .handle_webhook(&verified(
            &event(now, "In Progress", "indeterminate", "2"),
            "r-1",
        ))
        .await;
    assert_eq!(
        (real.disposition, real.reason),
        (Disposition::Applied, InboundReason::StateChanged),
        "{real:?}"
    );
    assert_eq!(host.get(&f.id).unwrap().state, FindingState::Triaged);
}

/// A signed body captured and sent again under a new delivery id is
/// recognised by its content (issue and changelog id, or issue and
/// timestamp without a changelog) and moves nothing; one older than the
/// operator's `max_event_age` is refused outright.
#[tokio::test]
async fn a_replayed_or_ancient_body_moves_nothing() {
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let store = Arc::new(MemoryStore::new());
    let link = Link::new(f.id.clone(), key("SEC-1"), "10001", FindingState::Open, 0);
    store.insert_link(&link, None).await.unwrap();
    let week = 7 * 24 * 3_600_000_i64;
    let inbound = Inbound::new(Arc::clone(&store) as _, Arc::clone(&host) as _, "SEC")
        .policy(InboundPolicy::All)
        .max_event_age(Some(Duration::from_millis(week as u64)));
    let event = |at: i64, status: &str, category: &str, changelog: Option<&str>| {
        let mut e = serde_json::json!({
            "timestamp": at,
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "user": {"accountId": "557058:alex", "displayName": "Alex"},
            "issue": {"id": "10001", "key": "SEC-1", "fields": {
                "status": {"id": "9", "name": status, "statusCategory": {"id": 3, "key": category, "name": status}},
                "labels": ["penaxtra"]}}
        });
        if let Some(id) = changelog {
            e["changelog"] = serde_json::json!({"id": id, "items": [
                {"field": "status", "fieldtype": "jira", "fieldId": "status",
                 "from": "1", "fromString": "Open", "to": "9", "toString": status}]});
        }
        serde_json::to_vec(&e).unwrap()
    };
    let now = SystemClock::new().now_ms();

    // Older than the operator's age (here a week): refused.
    let ancient = inbound
        .handle_webhook(&verified(
            &event(now - week - 60_000, "Cancelled", "done", Some("1")),
            "a-1",
        ))
        .await;
    assert_eq!(ancient.reason, "timestamp_too_old", "{ancient:?}");
    assert_eq!(host.get(&f.id).unwrap().state, FindingState::Open);
    assert_eq!(
        store.link(&f.id).await.unwrap().unwrap().last_event_ms,
        None
    );

    // Applied once; the same body under a new delivery id is a duplicate.
    let body = event(now - 1_000, "In Progress", "indeterminate", Some("7"));
    let first = inbound.handle_webhook(&verified(&body, "d-1")).await;
    assert_eq!(first.disposition, Disposition::Applied, "{first:?}");
    // A person moves it on; then the captured first body is replayed.
    let mut moved = f.clone();
    moved.state = FindingState::Resolved;
    host.insert(moved);
    let replay = inbound.handle_webhook(&verified(&body, "d-2-forged")).await;
    assert_eq!(
        replay.reason,
        InboundReason::DuplicateDelivery,
        "{replay:?}"
    );
    assert_eq!(host.get(&f.id).unwrap().state, FindingState::Resolved);

    // Without a changelog: issue and timestamp recognise it.
    let bare = event(now - 500, "Done", "done", None);
    let _ = inbound.handle_webhook(&verified(&bare, "b-1")).await;
    let replay = inbound.handle_webhook(&verified(&bare, "b-2-forged")).await;
    assert_eq!(
        replay.reason,
        InboundReason::DuplicateDelivery,
        "{replay:?}"
    );
}
