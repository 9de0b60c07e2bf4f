//! Small, deterministic reproductions of the divergences the fault suite
//! found (the finding's state and its Jira issue's status disagreeing, or
//! an issue left unlinked, after the worker and reconciliation ran). Each
//! failed before the library was fixed; they stay as regression tests.

use crate::support::*;
use jira_model::Flavor;
use jira_sim::{FaultConfig, JiraSim, SimConfig, Workflow};
use penaxtra_jira_sync::store::MemoryStore;
use penaxtra_jira_sync::{JiraSync, MemoryFindings, PushOutcome, StateOutcome};
use penaxtra_mapping::{Finding, FindingState, InboundPolicy, Severity};
use std::sync::Arc;
use std::time::Duration;

fn engine_all(sim: &JiraSim, host: &Arc<MemoryFindings>) -> JiraSync {
    JiraSync::builder(
        client(sim),
        Arc::new(MemoryStore::new()),
        Arc::clone(host) as _,
    )
    .settings(fast_settings())
    .inbound(InboundPolicy::All)
    .build()
    .unwrap()
}

/// The host changes a finding's state, as the suite's host does.
async fn host_sets(
    sync: &JiraSync,
    host: &MemoryFindings,
    f: &Finding,
    state: FindingState,
) -> StateOutcome {
    let mut changed = host.get(&f.id).unwrap();
    changed.state = state;
    host.insert(changed);
    sync.set_state(&f.id, state).await.unwrap()
}

/// Asserts the finding's state is what its issue's status means.
fn assert_converged(sim: &JiraSim, sync: &JiraSync, host: &MemoryFindings, f: &Finding) {
    let state = host.get(&f.id).unwrap().state;
    let issues = issues_per_finding(sim);
    let issue = &issues[f.id.as_str()][0];
    let says = sync.states().from_jira(
        &issue.status,
        issue.resolution.as_deref(),
        &issue.status_category,
    );
    assert_eq!(
        says,
        Some(state),
        "finding is {state} but {} is {} ({:?})",
        issue.key,
        issue.status,
        issue.resolution
    );
}

/// A state change queued after a transient failure is replayed after a
/// later change succeeded directly: the worker moves the issue back to the
/// older state, and reconciliation then sees the issue where the
/// integration last put it (`state_out`) and changes nothing.
#[tokio::test]
async fn a_later_state_change_is_not_undone_by_an_older_queued_one() {
    let sim = sim(SimConfig::new(Flavor::Cloud)).await;
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let sync = engine_all(&sim, &host);
    assert_eq!(sync.push(&f).await.unwrap().kind(), "created");

    sim.set_faults(FaultConfig::new(1).error_rate(1.0)).unwrap();
    let queued = host_sets(&sync, &host, &f, FindingState::Resolved).await;
    assert!(matches!(queued, StateOutcome::Queued { .. }), "{queued:?}");
    sim.set_faults(FaultConfig::new(1)).unwrap();
    let later = host_sets(&sync, &host, &f, FindingState::Triaged).await;
    assert!(
        matches!(later, StateOutcome::Transitioned { .. }),
        "{later:?}"
    );

    drain(&sync, 50).await;
    sync.reconcile(false).await.unwrap();
    assert_converged(&sim, &sync, &host, &f);
}

/// While the integration walks an issue through several transitions,
/// reconciliation sees the intermediate status, takes it for a person's
/// decision (the echo check wants `state_out` to equal the status's state,
/// which it does only at the end of the walk) and changes the finding.
/// The walk then finishes and records `state_out`, so no later sweep
/// corrects the finding.
#[tokio::test]
async fn reconciliation_does_not_take_an_intermediate_status_of_our_walk_for_a_decision() {
    let sim = sim(SimConfig::new(Flavor::Cloud).workflow(Workflow::two_step())).await;
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let sync = engine_all(&sim, &host);
    let key = push_key(&sync, &f).await;
    sync.reconcile(false).await.unwrap(); // the first sweep sets the cursor

    // Slow Jira down so the walk Open → In Progress → Done takes a while.
    sim.set_faults(
        FaultConfig::new(1).latency(jira_sim::LatencyFault::new(1.0, Duration::from_millis(250))),
    )
    .unwrap();
    let walker = {
        let (sync, host, f) = (sync.clone(), Arc::clone(&host), f.clone());
        tokio::spawn(async move { host_sets(&sync, &host, &f, FindingState::Resolved).await })
    };
    while sim.issue(&key).unwrap().status != "In Progress" {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A sweep runs while the issue is between the two transitions.
    let sweep = sync.reconcile(false).await.unwrap();
    let outcome = walker.await.unwrap();
    assert!(
        matches!(outcome, StateOutcome::Transitioned { ref via, .. } if via.len() == 2),
        "{outcome:?}"
    );
    sim.set_faults(FaultConfig::new(1)).unwrap();
    sync.reconcile(false).await.unwrap();
    assert!(
        sweep.applied.is_empty(),
        "our own intermediate status was applied: {:?}",
        sweep.applied
    );
    assert_converged(&sim, &sync, &host, &f);
}

/// A create that reached Jira although its answer was lost leaves an
/// uncertain claim; when the finding stops matching the rule before the
/// worker retries, the retry is skipped without searching Jira, and the
/// issue stays in Jira unlinked: its status is never synced again.
#[tokio::test]
async fn an_issue_created_in_doubt_is_linked_even_if_the_finding_no_longer_matches() {
    let sim = sim(SimConfig::new(Flavor::Cloud)).await;
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let sync = engine_all(&sim, &host);
    sim.set_faults(FaultConfig::new(1).commit_then_drop_rate(1.0))
        .unwrap();
    let pushed = sync.push(&f).await.unwrap();
    assert!(matches!(pushed, PushOutcome::Queued { .. }), "{pushed:?}");
    sim.set_faults(FaultConfig::new(1)).unwrap();
    assert_eq!(issues_per_finding(&sim).len(), 1, "Jira did create it");

    // The host triages the finding before the worker retries the create.
    let moved = host_sets(&sync, &host, &f, FindingState::Triaged).await;
    assert!(matches!(moved, StateOutcome::NotLinked), "{moved:?}");
    drain(&sync, 50).await;
    sync.reconcile(false).await.unwrap();

    let link = sync.store().link(&f.id).await.unwrap();
    assert!(
        link.is_some(),
        "the issue Jira holds for the finding is not linked"
    );
    assert_converged(&sim, &sync, &host, &f);
}

/// A person's change whose webhook is delivered late (the receiver was
/// down, Jira retried) arrives while the integration walks the issue on to
/// a newer state. Nothing marks the event as older than the integration's
/// own move, so it is applied; then the walk stores the link it read
/// before, so `state_out` says Jira already reflects the finding and
/// reconciliation leaves the finding in the person's older state.
#[tokio::test]
async fn a_late_webhook_during_a_walk_does_not_leave_the_finding_behind() {
    use penaxtra_jira_sync::webhook::{
        IpAllowlist, WebhookGate, WebhookGateConfig, WebhookRequest, sign_body,
    };
    use secrecy::SecretString;
    const URL_SECRET: &str = "late-webhook-url-secret-01";
    const HMAC: &str = "late-webhook-hmac-secret-01";

    let sim = sim(SimConfig::new(Flavor::Cloud)).await;
    // The receiver is down: the person's event waits in Jira's retries.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    sim.register_webhook(format!("http://{dead_addr}/hook"), Some(HMAC.into()))
        .unwrap();
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let sync = engine_all(&sim, &host);
    let key = push_key(&sync, &f).await;
    let inbound = sync.inbound().await;

    // Alex starts work on the issue.
    let alex = alex(&sim);
    let start = alex
        .transitions(&key)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.to.name == "In Progress")
        .unwrap();
    alex.transition(&key, &jira_model::TransitionRequest::new(start.id))
        .await
        .unwrap();
    let body = loop {
        let found = sim.webhook_deliveries().into_iter().find(|d| {
            d.json()
                .is_some_and(|j| j["changelog"]["items"][0]["toString"] == "In Progress")
        });
        if let Some(d) = found {
            break d.body;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };

    // The host resolves the finding; Jira is slow, so the walk takes a while.
    sim.set_faults(
        FaultConfig::new(1).latency(jira_sim::LatencyFault::new(1.0, Duration::from_millis(300))),
    )
    .unwrap();
    let walker = {
        let (sync, host, f) = (sync.clone(), Arc::clone(&host), f.clone());
        tokio::spawn(async move { host_sets(&sync, &host, &f, FindingState::Resolved).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Meanwhile Jira's retry of Alex's older event gets through.
    let gate = WebhookGate::new(
        WebhookGateConfig::builder(
            IpAllowlist::from_cidrs(["127.0.0.0/8"]).unwrap(),
            SecretString::from(URL_SECRET),
        )
        .hmac_secret(SecretString::from(HMAC))
        .build()
        .unwrap(),
    )
    .unwrap();
    let sig = format!("sha256={}", sign_body(&SecretString::from(HMAC), &body));
    let headers = [("X-Hub-Signature", sig.as_bytes())];
    let request = WebhookRequest::new("127.0.0.1".parse().unwrap(), &body)
        .url_secret(Some(URL_SECRET))
        .headers(&headers);
    let verified = gate.check(&request).unwrap();
    let late = inbound.handle_webhook(&verified).await;
    let walked = walker.await.unwrap();
    assert!(
        matches!(walked, StateOutcome::Transitioned { .. }),
        "{walked:?}"
    );
    sim.set_faults(FaultConfig::new(1)).unwrap();
    sim.clear_webhooks();
    sync.reconcile(false).await.unwrap();
    eprintln!("late delivery: {late:?}");
    assert_converged(&sim, &sync, &host, &f);
}

/// A person who reopens the issue right after our walk's last transition,
/// before our read-back of it: the status the read finds is theirs, not
/// our echo, so their decision applies (the finding reopens) and is never
/// walked back. Before the fix the read-back recorded their status (and
/// their time) as ours: their event was dropped as an echo and the sweep
/// moved the issue back to Done.
#[tokio::test]
async fn a_persons_move_right_after_our_walk_is_never_undone() {
    /// A request budget that, at the first request after the issue reached
    /// `Done`, first has the person reopen it: exactly between our last
    /// transition and our read-back.
    #[derive(Debug)]
    struct PersonAfterDone {
        sim: Arc<JiraSim>,
        person: jira_client::JiraClient,
        key: std::sync::Mutex<Option<String>>,
        done: std::sync::atomic::AtomicBool,
    }
    #[async_trait::async_trait]
    impl jira_client::RequestBudget for PersonAfterDone {
        async fn reserve(&self) -> Result<Duration, jira_client::BudgetError> {
            use std::sync::atomic::Ordering;
            let key = self.key.lock().unwrap().clone();
            let Some(key) = key else {
                return Ok(Duration::ZERO);
            };
            if self.done.load(Ordering::SeqCst) || self.sim.issue(&key).unwrap().status != "Done" {
                return Ok(Duration::ZERO);
            }
            self.done.store(true, Ordering::SeqCst);
            let reopen = self
                .person
                .transitions(&key)
                .await
                .unwrap()
                .into_iter()
                .find(|t| t.to.name != "Done")
                .expect("a way out of Done");
            self.person
                .transition(&key, &jira_model::TransitionRequest::new(reopen.id))
                .await
                .unwrap();
            Ok(Duration::ZERO)
        }
    }

    let sim = Arc::new(sim(SimConfig::new(Flavor::Cloud)).await);
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let person = client_as(
        &sim,
        jira_sim::accounts::HUMAN_EMAIL,
        jira_sim::accounts::HUMAN_API_TOKEN,
        jira_sim::accounts::HUMAN_PAT,
    );
    let hook = Arc::new(PersonAfterDone {
        sim: Arc::clone(&sim),
        person,
        key: std::sync::Mutex::new(None),
        done: std::sync::atomic::AtomicBool::new(false),
    });
    let service = client_with_budget(&sim.base_url(), sim.flavor(), hook.clone());
    let sync = JiraSync::builder(
        service,
        Arc::new(MemoryStore::new()),
        Arc::clone(&host) as _,
    )
    .settings(fast_settings())
    .inbound(InboundPolicy::All)
    .build()
    .unwrap();
    let key = push_key(&sync, &f).await;
    *hook.key.lock().unwrap() = Some(key.clone());

    let outcome = host_sets(&sync, &host, &f, FindingState::Resolved).await;
    assert_eq!(outcome.code(), "transitioned", "{outcome:?}");
    assert!(
        hook.done.load(std::sync::atomic::Ordering::SeqCst),
        "the person moved the issue between our last transition and our read"
    );
    let reopened = sim.issue(&key).unwrap().status;
    assert_ne!(reopened, "Done");

    // The sweep sees the person's status: a decision, applied to the host.
    let report = sync.reconcile(false).await.unwrap();
    let settled = sync.settle(Duration::from_secs(10), |_| {}).await.unwrap();
    assert!(!settled.timed_out, "{settled:?}");
    assert_eq!(
        sim.issue(&key).unwrap().status,
        reopened,
        "the person's reopen stands: {report:?}"
    );
    assert_converged(&sim, &sync, &host, &f);
}
