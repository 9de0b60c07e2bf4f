//! Inbound: webhooks through the gate into findings, duplicates, order,
//! echoes, policy, transient failures, and reconciliation.

#[path = "../../../../examples/support/receiver.rs"]
#[allow(dead_code)]
mod receiver;

use crate::support::*;
use jira_model::{Flavor, TransitionRequest};
use jira_sim::{JiraSim, SimConfig};
use penaxtra_jira_sync::store::{Link, MemoryStore, SyncStore};
use penaxtra_jira_sync::webhook::{VerifiedWebhook, WebhookGate};
use penaxtra_jira_sync::{
    Disposition, Findings, HostError, Inbound, InboundReason, JiraSync, MemoryFindings, StateCause,
};
use penaxtra_mapping::{Finding, FindingId, FindingState, InboundPolicy, Severity};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const URL_SECRET: &str = "url-secret-for-tests-0123456789";
const HMAC_SECRET: &str = "hmac-secret-for-tests-0123456789";

fn gate() -> WebhookGate {
    loopback_gate(URL_SECRET, HMAC_SECRET)
}

/// Serves the example receiver for `sync` and registers it with the sim.
async fn receive_webhooks(sim: &JiraSim, inbound: Inbound) -> Arc<Mutex<Vec<serde_json::Value>>> {
    let lines: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let sink = Arc::clone(&lines);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(receiver::serve(
        listener,
        gate(),
        inbound,
        Arc::new(move |l| sink.lock().unwrap().push(l)),
    ));
    sim.register_webhook(
        format!("http://{addr}{}/{URL_SECRET}", receiver::MOUNT),
        Some(HMAC_SECRET.to_string()),
    )
    .unwrap();
    lines
}

async fn move_as_alex(sim: &JiraSim, key: &str, status: &str) {
    let alex = alex(sim);
    let transitions = alex.transitions(key).await.unwrap();
    let t = transitions
        .iter()
        .find(|t| t.to.name == status)
        .unwrap_or_else(|| panic!("no way to {status}"));
    let mut request = TransitionRequest::new(t.id.clone());
    if t.has_field("resolution") {
        request = request.with_resolution(status);
    }
    alex.transition(key, &request).await.unwrap();
}

async fn pushed(
    sim: &JiraSim,
    policy: InboundPolicy,
) -> (JiraSync, Arc<MemoryFindings>, Finding, String) {
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let sync = JiraSync::builder(
        client(sim),
        Arc::new(MemoryStore::new()),
        Arc::clone(&host) as Arc<dyn Findings>,
    )
    .settings(fast_settings())
    .inbound(policy)
    .build()
    .unwrap();
    let key = push_key(&sync, &f).await;
    (sync, host, f, key)
}

#[tokio::test]
async fn a_persons_decision_in_jira_comes_back_through_the_webhook() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = sim(SimConfig::new(flavor)).await;
        let (sync, host, f, key) = pushed(&sim, InboundPolicy::TerminalOnly).await;
        let lines = receive_webhooks(&sim, sync.inbound().await).await;
        move_as_alex(&sim, &key, "Won't Do").await;
        sim.flush_webhooks().await;
        assert_eq!(
            host.get(&f.id).unwrap().state,
            FindingState::Accepted,
            "{flavor}"
        );
        let changes = host.changes();
        assert_eq!(changes.len(), 1);
        assert!(
            matches!(&changes[0].2, StateCause::JiraWebhook { issue_key, delivery_id } if *issue_key == key && (delivery_id.is_some() || flavor == Flavor::DataCenter))
        );
        let lines = lines.lock().unwrap();
        let applied: Vec<_> = lines.iter().filter(|l| l["outcome"] == "applied").collect();
        assert_eq!(applied.len(), 1, "{flavor}: {lines:?}");
        assert_eq!(applied[0]["to"], "accepted");
        assert_eq!(applied[0]["status"], 200);
    }
}

#[tokio::test]
async fn a_data_center_webhook_its_queue_dropped_is_caught_by_reconciliation() {
    // Data Center does not retry, and its queue can drop events under load
    // (JRASERVER-74492): here it drops every one.
    let sim = sim(SimConfig::new(Flavor::DataCenter)
        .webhook_timing(jira_sim::WebhookTiming::for_flavor(Flavor::DataCenter).drop_rate(1.0)))
    .await;
    let (sync, host, f, key) = pushed(&sim, InboundPolicy::TerminalOnly).await;
    let lines = receive_webhooks(&sim, sync.inbound().await).await;
    sync.reconcile(false).await.unwrap();
    move_as_alex(&sim, &key, "Won't Do").await;
    sim.flush_webhooks().await;
    assert!(lines.lock().unwrap().is_empty(), "nothing was delivered");
    assert!(
        sim.dropped_webhooks()
            .iter()
            .any(|d| d.event == "jira:issue_updated")
    );
    assert_eq!(host.get(&f.id).unwrap().state, FindingState::Open);
    let report = sync.reconcile(false).await.unwrap();
    assert_eq!(report.applied.len(), 1, "{report:?}");
    assert_eq!(host.get(&f.id).unwrap().state, FindingState::Accepted);
    let changes = host.changes();
    assert!(
        matches!(&changes[0].2, StateCause::Reconciliation { .. }),
        "{changes:?}"
    );
}

#[tokio::test]
async fn echoes_of_our_own_transitions_are_dropped() {
    let sim = sim(SimConfig::new(Flavor::Cloud)).await;
    let (sync, host, f, _) = pushed(&sim, InboundPolicy::All).await;
    let lines = receive_webhooks(&sim, sync.inbound().await).await;
    sync.set_state(&f.id, FindingState::Triaged).await.unwrap();
    sync.set_state(&f.id, FindingState::Resolved).await.unwrap();
    sim.flush_webhooks().await;
    assert!(
        host.changes().is_empty(),
        "our own moves never come back as changes"
    );
    let lines = lines.lock().unwrap();
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|l| l["reason"] == "echo"), "{lines:?}");
}

#[tokio::test]
async fn the_inbound_policy_decides_which_states_come_back() {
    let sim = sim(SimConfig::new(Flavor::Cloud)).await;
    let (sync, host, f, key) = pushed(&sim, InboundPolicy::TerminalOnly).await;
    let lines = receive_webhooks(&sim, sync.inbound().await).await;
    move_as_alex(&sim, &key, "In Progress").await;
    sim.flush_webhooks().await;
    assert_eq!(host.get(&f.id).unwrap().state, FindingState::Open);
    assert_eq!(lines.lock().unwrap()[0]["reason"], "policy_terminal_only");

    let sim = jira_sim::JiraSim::start(SimConfig::new(Flavor::Cloud))
        .await
        .unwrap();
    let (sync, host, f, key) = pushed(&sim, InboundPolicy::All).await;
    let _lines = receive_webhooks(&sim, sync.inbound().await).await;
    move_as_alex(&sim, &key, "In Progress").await;
    sim.flush_webhooks().await;
    assert_eq!(host.get(&f.id).unwrap().state, FindingState::Triaged);
}

/// A body in Cloud's shape for a status change of `key`.
fn status_event(
    key: &str,
    issue_id: &str,
    status: &str,
    category: &str,
    resolution: Option<&str>,
    ts: i64,
    changelog: &str,
) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "timestamp": ts,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": "557058:alex", "displayName": "Alex"},
        "issue": {"id": issue_id, "key": key, "fields": {
            "status": {"id": "1", "name": status, "statusCategory": {"id": 3, "key": category, "name": status}},
            "resolution": resolution.map(|r| serde_json::json!({"id": "1", "name": r})),
            "labels": ["penaxtra"]}},
        "changelog": {"id": changelog, "items": [
            {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "1", "fromString": "Open", "to": "2", "toString": status}]}
    }))
    .unwrap()
}

fn verify(gate: &WebhookGate, body: &[u8], delivery: &str) -> VerifiedWebhook {
    signed_delivery(gate, URL_SECRET, HMAC_SECRET, body, delivery)
}

async fn linked_inbound(findings: Arc<dyn Findings>) -> (Inbound, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let id = FindingId::new("fnd_t_000001").unwrap();
    store
        .insert_link(
            &Link::new(id, key("SEC-1"), "10001", FindingState::Open, 0),
            None,
        )
        .await
        .unwrap();
    let inbound = Inbound::new(Arc::clone(&store) as Arc<dyn SyncStore>, findings, "SEC")
        .policy(InboundPolicy::All);
    (inbound, store)
}

#[tokio::test]
async fn duplicate_deliveries_apply_once() {
    let host = Arc::new(MemoryFindings::with([finding(
        1,
        Severity::High,
        FindingState::Open,
    )]));
    let (inbound, _) = linked_inbound(host.clone()).await;
    let gate = gate();
    let body = status_event("SEC-1", "10001", "Done", "done", Some("Done"), 1_000, "500");
    let first = inbound.handle_webhook(&verify(&gate, &body, "d-1")).await;
    assert_eq!(
        (first.disposition, first.reason),
        (Disposition::Applied, InboundReason::StateChanged)
    );
    let again = inbound.handle_webhook(&verify(&gate, &body, "d-1")).await;
    assert_eq!(
        (again.disposition, again.reason, again.http_status()),
        (Disposition::Ignored, InboundReason::DuplicateDelivery, 200)
    );
    // The same change under another delivery id (a replayed event) is a duplicate too.
    let replay = inbound.handle_webhook(&verify(&gate, &body, "d-2")).await;
    assert_eq!(replay.reason, "duplicate_delivery");
    assert_eq!(host.changes().len(), 1);
}

#[tokio::test]
async fn out_of_order_deliveries_never_roll_back() {
    let host = Arc::new(MemoryFindings::with([finding(
        1,
        Severity::High,
        FindingState::Open,
    )]));
    let (inbound, _) = linked_inbound(host.clone()).await;
    let gate = gate();
    let newer = status_event("SEC-1", "10001", "Done", "done", Some("Done"), 2_000, "502");
    let older = status_event(
        "SEC-1",
        "10001",
        "In Progress",
        "indeterminate",
        None,
        1_000,
        "501",
    );
    assert_eq!(
        inbound
            .handle_webhook(&verify(&gate, &newer, "n"))
            .await
            .reason,
        "state_changed"
    );
    let late = inbound.handle_webhook(&verify(&gate, &older, "o")).await;
    assert_eq!(
        (late.disposition, late.reason),
        (Disposition::Ignored, InboundReason::Stale)
    );
    assert_eq!(
        host.get(&FindingId::new("fnd_t_000001").unwrap())
            .unwrap()
            .state,
        FindingState::Resolved
    );
}

#[tokio::test]
async fn unrelated_events_are_ignored_with_a_reason() {
    let host = Arc::new(MemoryFindings::with([finding(
        1,
        Severity::High,
        FindingState::Open,
    )]));
    let (inbound, _) = linked_inbound(host.clone()).await;
    let gate = gate();
    let other_project = status_event("OPS-1", "2", "Done", "done", None, 1, "1");
    assert_eq!(
        inbound
            .handle_webhook(&verify(&gate, &other_project, "a"))
            .await
            .reason,
        "other_project"
    );
    let unlinked = status_event("SEC-99", "3", "Done", "done", None, 1, "2");
    assert_eq!(
        inbound
            .handle_webhook(&verify(&gate, &unlinked, "b"))
            .await
            .reason,
        "not_linked"
    );
    let comment = br#"{"webhookEvent":"comment_created","issue":{"id":"10001","key":"SEC-1","fields":{}},"comment":{"id":"1","body":"<script>alert(1)</script>"}}"#;
    assert_eq!(
        inbound
            .handle_webhook(&verify(&gate, comment, "c"))
            .await
            .reason,
        "comment"
    );
    let labels_only = serde_json::to_vec(&serde_json::json!({"webhookEvent":"jira:issue_updated","timestamp":5,
        "issue":{"id":"10001","key":"SEC-1","fields":{}},
        "changelog":{"id":"9","items":[{"field":"labels","fieldtype":"jira","from":null,"fromString":"","to":null,"toString":"x"}]}})).unwrap();
    assert_eq!(
        inbound
            .handle_webhook(&verify(&gate, &labels_only, "d"))
            .await
            .reason,
        "no_state_change"
    );
    let weird = status_event("SEC-1", "10001", "Blocked by legal", "weird", None, 6, "10");
    assert_eq!(
        inbound
            .handle_webhook(&verify(&gate, &weird, "e"))
            .await
            .reason,
        "unmapped_status"
    );
    assert!(host.changes().is_empty());
}

/// A host store that fails transiently a number of times.
struct FlakyFindings {
    inner: MemoryFindings,
    failures_left: AtomicUsize,
}

#[async_trait::async_trait]
impl Findings for FlakyFindings {
    async fn finding(&self, id: &FindingId) -> Result<Option<Finding>, HostError> {
        self.inner.finding(id).await
    }
    async fn set_state(
        &self,
        id: &FindingId,
        state: FindingState,
        cause: StateCause,
    ) -> Result<(), HostError> {
        if self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(HostError::transient("database is restarting"));
        }
        self.inner.set_state(id, state, cause).await
    }
}

#[tokio::test]
async fn a_transient_host_failure_answers_5xx_and_the_retry_applies() {
    let host = Arc::new(FlakyFindings {
        inner: MemoryFindings::with([finding(1, Severity::High, FindingState::Open)]),
        failures_left: AtomicUsize::new(1),
    });
    let (inbound, _) = linked_inbound(host.clone()).await;
    let gate = gate();
    let body = status_event(
        "SEC-1",
        "10001",
        "Cancelled",
        "done",
        Some("Cancelled"),
        1_000,
        "600",
    );
    let first = inbound.handle_webhook(&verify(&gate, &body, "r-1")).await;
    assert_eq!(
        (first.disposition, first.http_status()),
        (Disposition::Failed, 503)
    );
    let retry = inbound.handle_webhook(&verify(&gate, &body, "r-1")).await;
    assert_eq!(
        (retry.disposition, retry.http_status()),
        (Disposition::Applied, 200)
    );
    assert_eq!(host.inner.changes()[0].1, FindingState::FalsePositive);
}

#[tokio::test]
async fn reconciliation_applies_lost_deliveries_and_notices_deleted_issues() {
    let sim = sim(SimConfig::new(Flavor::DataCenter)).await;
    let findings = vec![
        finding(1, Severity::High, FindingState::Open),
        finding(2, Severity::High, FindingState::Open),
        finding(3, Severity::High, FindingState::Open),
    ];
    let host = Arc::new(MemoryFindings::with(findings.clone()));
    let sync = engine(
        client(&sim),
        Arc::new(MemoryStore::new()),
        Arc::clone(&host),
    );
    let (_, outcomes) = sync.push_many_all(&findings, |_| {}).await.unwrap();
    let keys: Vec<String> = outcomes
        .iter()
        .map(|(_, o)| o.issue_key().unwrap().to_string())
        .collect();
    assert!(
        sync.reconcile(true).await.unwrap().applied.is_empty(),
        "nothing decided in Jira yet"
    );

    // No webhook is registered: these decisions are only found by the sweep.
    move_as_alex(&sim, &keys[0], "Done").await;
    sync.set_state(&findings[1].id, FindingState::Triaged)
        .await
        .unwrap(); // ours: not a decision
    alex(&sim).delete_issue(&keys[2]).await.unwrap();
    let sweep = sync.reconcile(true).await.unwrap();
    assert_eq!(sweep.applied.len(), 1, "{sweep:?}");
    assert_eq!(
        sweep.applied[0].issue.as_ref().map(|k| k.as_str()),
        Some(keys[0].as_str())
    );
    assert_eq!(
        host.get(&findings[0].id).unwrap().state,
        FindingState::Resolved
    );
    assert_eq!(
        host.get(&findings[1].id).unwrap().state,
        FindingState::Open,
        "our own move is not applied back"
    );
    assert_eq!(sweep.deleted, [keys[2].clone()]);
    let again = sync.reconcile(false).await.unwrap();
    assert!(again.applied.is_empty(), "a second sweep changes nothing");
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Real-shaped Cloud, Data Center and legacy Server payloads, in order,
/// through the gate and processing.
#[tokio::test]
async fn cloud_datacenter_and_server_payloads_map_through_the_state_table() {
    let findings: Vec<Finding> = (1..=4)
        .map(|i| finding(i, Severity::High, FindingState::Open))
        .collect();
    let host = Arc::new(MemoryFindings::with(findings.clone()));
    let store = Arc::new(MemoryStore::new());
    for (f, key) in findings.iter().zip(["SEC-42", "SEC-43", "SEC-7", "SEC-3"]) {
        store
            .insert_link(
                &Link::new(
                    f.id.clone(),
                    crate::support::key(key),
                    "",
                    FindingState::Open,
                    0,
                ),
                None,
            )
            .await
            .unwrap();
    }
    let inbound =
        Inbound::new(store as Arc<dyn SyncStore>, host.clone(), "SEC").policy(InboundPolicy::All);
    let gate = gate();
    let cases = [
        (
            "dc_status_in_progress.json",
            "state_changed",
            Some(FindingState::Triaged),
        ),
        (
            "dc_status_done.json",
            "state_changed",
            Some(FindingState::Resolved),
        ),
        (
            "server_legacy_resolved.json",
            "state_changed",
            Some(FindingState::Resolved),
        ),
        (
            "cloud_status_done_wont_do.json",
            "state_changed",
            Some(FindingState::Accepted),
        ),
        ("comment_created.json", "comment", None),
        (
            "cloud_reopened_resolution_cleared.json",
            "state_changed",
            Some(FindingState::Open),
        ),
        ("cloud_labels_only.json", "no_state_change", None),
        (
            "cloud_status_cancelled.json",
            "state_changed",
            Some(FindingState::FalsePositive),
        ),
        ("cloud_issue_deleted.json", "issue_deleted", None),
        ("cloud_other_project.json", "other_project", None),
    ];
    for (n, (name, reason, to)) in cases.into_iter().enumerate() {
        let outcome = inbound
            .handle_webhook(&verify(&gate, &fixture(name), &format!("fixture-{n}")))
            .await;
        assert_eq!(outcome.reason, reason, "{name}: {outcome:?}");
        if to.is_some() {
            assert_eq!(outcome.to, to, "{name}");
        }
    }
    let state = |i: usize| host.get(&findings[i].id).unwrap().state;
    assert_eq!(
        state(0),
        FindingState::Open,
        "SEC-42: Won't Do, then reopened"
    );
    assert_eq!(state(1), FindingState::FalsePositive, "SEC-43");
    assert_eq!(state(2), FindingState::Resolved, "SEC-7");
    assert_eq!(state(3), FindingState::Resolved, "SEC-3, legacy Server");
}
