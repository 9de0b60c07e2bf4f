//! The library against the places where `jira-sim` behaves like real Jira
//! and a naive simulator would not: refused tokens served as anonymous, a
//! CAPTCHA lockout, concurrent transitions, the per-issue write limit.

use crate::support::*;
use async_trait::async_trait;
use jira_client::{ApiTokenAuth, Auth, JiraClient, RetryPolicy};
use jira_model::{EditIssueRequest, Flavor, TransitionRequest};
use jira_sim::{JiraSim, SimClock, SimConfig, accounts};
use penaxtra_jira_sync::store::{MemoryStore, SyncStore};
use penaxtra_jira_sync::{MemoryFindings, PushOutcome, StateOutcome};
use penaxtra_mapping::{FindingState, Severity};
use secrecy::SecretString;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A client for `sim` with these credentials and the tests' quick retries.
fn client_with(sim: &JiraSim, auth: impl Auth + 'static) -> JiraClient {
    JiraClient::builder(&sim.base_url(), sim.flavor(), auth)
        .url_policy(jira_client::UrlPolicy::default().allow_loopback())
        .timeout(Duration::from_millis(1_500))
        .without_rate_limit()
        .retry_policy(RetryPolicy::new(
            NonZeroU32::new(4).unwrap(),
            Duration::from_secs(2),
            Duration::from_millis(5),
            Duration::from_millis(50),
        ))
        .build()
        .unwrap()
}

/// The service account's API token, which expires after `good` requests.
#[derive(Debug)]
struct ExpiringToken {
    good: usize,
    used: AtomicUsize,
}

#[async_trait]
impl Auth for ExpiringToken {
    async fn authorization(&self) -> Result<SecretString, jira_client::Error> {
        let n = self.used.fetch_add(1, Ordering::SeqCst);
        let token = if n < self.good {
            accounts::SERVICE_API_TOKEN
        } else {
            "expired-token"
        };
        ApiTokenAuth::new(accounts::SERVICE_EMAIL, token.to_string().into())
            .authorization()
            .await
    }
}

#[tokio::test]
async fn a_token_that_expires_mid_sweep_never_unlinks_a_live_issue() {
    // Search lags behind the create, so the sweep confirms the linked issue
    // by reading it; by then the token has expired and Jira Cloud answers
    // that read as for an anonymous user: 404 with X-Seraph-LoginReason.
    let sim = sim(SimConfig::new(Flavor::Cloud).search_lag(Duration::from_secs(600))).await;
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let store: Arc<dyn SyncStore> = Arc::new(MemoryStore::new());
    let key = push_key(&engine(client(&sim), store.clone(), host.clone()), &f).await;

    // Who am I (for echoes) and two searches (the sweep, the list of
    // labelled issues) with a good token.
    let expiring = ExpiringToken {
        good: 3,
        used: AtomicUsize::new(0),
    };
    let sweeper = engine(client_with(&sim, expiring), store.clone(), host);
    let e = sweeper.reconcile(true).await.unwrap_err();
    assert_eq!(e.code(), "unauthorized", "{e}");
    let read = format!("GET /rest/api/3/issue/{key}");
    assert_eq!(
        sim.request_counts().get(&read),
        Some(&1),
        "the sweep read the issue with the expired token: {:?}",
        sim.request_counts()
    );
    let link = store.link(&f.id).await.unwrap().expect("still linked");
    assert_eq!(link.issue_key, key);
    assert!(
        store.pending().await.unwrap().is_empty(),
        "no create queued"
    );
    assert!(!sim.issue(&key).unwrap().deleted);
}

#[tokio::test]
async fn a_captcha_lockout_is_parked_with_the_browser_fix() {
    let sim = sim(SimConfig::new(Flavor::DataCenter)).await;
    let findings: Vec<_> = (0..4)
        .map(|i| finding(i, Severity::High, FindingState::Open))
        .collect();
    let host = Arc::new(MemoryFindings::with(findings.clone()));
    let store: Arc<dyn SyncStore> = Arc::new(MemoryStore::new());
    let basic = |password: &str| {
        client_with(
            &sim,
            ApiTokenAuth::new("penaxtra-bot", password.to_string().into()),
        )
    };
    // Someone configured a wrong password: three failed logins.
    let wrong = engine(basic("not-the-password"), store.clone(), host.clone());
    for f in &findings[..3] {
        match wrong.push(f).await.unwrap() {
            PushOutcome::Failed { error } => assert_eq!(error.code(), "unauthorized"),
            other => panic!("expected failed, got {other:?}"),
        }
    }
    assert!(sim.is_captcha_locked("penaxtra-bot"));
    // The password is fixed, but Jira now wants a CAPTCHA first.
    let right = engine(basic(accounts::SERVICE_PASSWORD), store.clone(), host);
    match right.push(&findings[3]).await.unwrap() {
        PushOutcome::Failed { error } => {
            assert_eq!(error.code(), "captcha_required");
            assert_eq!(
                error.fix(),
                Some(
                    "Sign in once in the browser as the service account (Jira asks for a CAPTCHA after repeated failed logins), then check the configured credentials"
                )
            );
        }
        other => panic!("expected failed, got {other:?}"),
    }
    let pending = store.pending().await.unwrap();
    assert_eq!(pending.len(), 4);
    assert!(pending.iter().all(|p| p.parked), "parked, not retried");
    assert!(
        pending.iter().any(|p| p
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("captcha_required"))),
        "{pending:?}"
    );
    assert!(sim.issues().is_empty());
    // Someone signs in in the browser; the parked creates go through.
    assert!(sim.browser_login("penaxtra-bot"));
    store
        .unpark_all(chrono::Utc::now().timestamp_millis())
        .await
        .unwrap();
    drain(&right, 20).await;
    assert_exactly_one_issue_each(&sim, &findings);
}

#[tokio::test]
async fn a_transition_refused_with_409_is_decided_again_from_a_fresh_read() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = sim(SimConfig::new(flavor).transition_hold(Duration::from_secs(1))).await;
        let f = finding(1, Severity::High, FindingState::Open);
        let host = Arc::new(MemoryFindings::with([f.clone()]));
        let host_of_test = host.clone();
        let sync = engine(client(&sim), Arc::new(MemoryStore::new()), host);
        let key = push_key(&sync, &f).await;
        // A person starts progress; Jira takes a second over it.
        let people = alex(&sim);
        let k = key.clone();
        let person = tokio::spawn(async move {
            people
                .transition(&k, &TransitionRequest::new("11"))
                .await
                .unwrap();
        });
        let path = format!(
            "POST /rest/api/{}/issue/{key}/transitions",
            if flavor == Flavor::Cloud { 3 } else { 2 }
        );
        while !sim.request_counts().contains_key(&path) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Meanwhile the finding is resolved: Jira refuses our transition
        // with 409, the issue has not moved yet, so the change waits.
        let mut resolved = f.clone();
        resolved.state = FindingState::Resolved;
        host_of_test.insert(resolved);
        match sync.set_state(&f.id, FindingState::Resolved).await.unwrap() {
            StateOutcome::Queued { code, .. } => assert_eq!(code, "conflict", "{flavor}"),
            other => panic!("{flavor}: expected queued, got {other:?}"),
        }
        assert_eq!(sim.issue(&key).unwrap().status, "Open");
        person.await.unwrap();
        assert_eq!(sim.issue(&key).unwrap().status, "In Progress");
        // The worker reads the issue afresh and walks on from In Progress.
        drain(&sync, 50).await;
        let issue = sim.issue(&key).unwrap();
        assert_eq!(
            (issue.status.as_str(), issue.resolution.as_deref()),
            ("Done", Some("Done")),
            "{flavor}"
        );
        assert!(sync.store().pending().await.unwrap().is_empty());
    }
}

/// The client's time is the simulator's manual clock: a sleep moves it.
#[derive(Debug)]
struct SimTime {
    clock: SimClock,
    origin: chrono::DateTime<chrono::Utc>,
    sleeps: Mutex<Vec<Duration>>,
}

impl jira_client::Clock for SimTime {
    fn now(&self) -> SystemTime {
        self.clock.now().into()
    }
    fn monotonic(&self) -> Duration {
        (self.clock.now() - self.origin)
            .to_std()
            .unwrap_or_default()
    }
}

#[async_trait]
impl jira_client::Sleep for SimTime {
    async fn sleep(&self, d: Duration) {
        self.sleeps.lock().unwrap().push(d);
        self.clock.advance(d);
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn writes_to_one_issue_wait_out_the_per_issue_limit() {
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-31T10:00:00Z")
        .unwrap()
        .to_utc();
    let clock = SimClock::manual(start);
    let sim = sim(SimConfig::new(Flavor::Cloud).clock(clock.clone())).await;
    let time = Arc::new(SimTime {
        clock,
        origin: start,
        sleeps: Mutex::new(Vec::new()),
    });
    let c = JiraClient::builder(
        &sim.base_url(),
        Flavor::Cloud,
        ApiTokenAuth::new(
            accounts::SERVICE_EMAIL,
            accounts::SERVICE_API_TOKEN.to_string().into(),
        ),
    )
    .url_policy(jira_client::UrlPolicy::default().allow_loopback())
    .sleeper(time.clone())
    .clock(time.clone())
    .without_rate_limit()
    .build()
    .unwrap();
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let sync = engine(c.clone(), Arc::new(MemoryStore::new()), host);
    let hot = push_key(&sync, &f).await;
    for n in 0..21 {
        let edit = EditIssueRequest::new()
            .set("summary", serde_json::json!(format!("[Penaxtra] edit {n}")));
        c.edit_issue(&hot, &edit).await.unwrap();
    }
    // Jira allows 20 writes to one issue per 2 s: the 21st was refused
    // with RateLimit-Reason jira-per-issue-on-write and Retry-After 2, and
    // went through once that had passed.
    assert_eq!(*time.sleeps.lock().unwrap(), [Duration::from_secs(2)]);
    assert_eq!(sim.issue(&hot).unwrap().summary, "[Penaxtra] edit 20");
    let status = c.rate_limit_status().unwrap();
    assert_eq!(
        status.limit,
        Some(50),
        "the PUT burst bucket of the last answer"
    );
}

/// The engine's clock is the simulator's manual clock.
#[derive(Debug)]
struct SimNow(SimClock);

impl penaxtra_jira_sync::Clock for SimNow {
    fn now(&self) -> SystemTime {
        self.0.now().into()
    }
    fn monotonic(&self) -> Duration {
        self.now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn a_change_searchable_only_after_a_sweep_is_caught_by_the_next() {
    // The service account is in America/Phoenix (UTC-7), where a sweep
    // window written as a UTC datetime without a zone would start seven
    // hours late; and search lags five minutes behind writes.
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let t0 = chrono::DateTime::parse_from_rfc3339("2026-01-31T10:00:00Z")
            .unwrap()
            .to_utc();
        let clock = SimClock::manual(t0);
        let sim = sim(SimConfig::new(flavor)
            .clock(clock.clone())
            .search_lag(Duration::from_secs(300)))
        .await;
        assert_eq!(
            client(&sim).myself().await.unwrap().time_zone.as_deref(),
            Some("America/Phoenix")
        );
        let f = finding(1, Severity::High, FindingState::Open);
        let host = Arc::new(MemoryFindings::with([f.clone()]));
        let mut settings = fast_settings();
        settings.sweep_overlap = Duration::ZERO;
        settings.search_consistency_window = Some(Duration::from_secs(600));
        let sync = penaxtra_jira_sync::JiraSync::builder(
            client(&sim),
            Arc::new(MemoryStore::new()),
            host.clone(),
        )
        .settings(settings)
        .clock(Arc::new(SimNow(clock.clone())))
        .build()
        .unwrap();
        let key = push_key(&sync, &f).await;
        sync.reconcile(false).await.unwrap();

        // A person resolves the issue; the webhook never arrives.
        clock.advance(Duration::from_secs(30));
        alex(&sim)
            .transition(&key, &TransitionRequest::new("21").with_resolution("Done"))
            .await
            .unwrap();
        // The next sweep runs before search shows the change.
        clock.advance(Duration::from_secs(90));
        let report = sync.reconcile(false).await.unwrap();
        assert!(report.applied.is_empty(), "{flavor}: not searchable yet");
        assert_eq!(host.get(&f.id).unwrap().state, FindingState::Open);
        // Search has caught up by the one after: its window still reaches
        // back to the change, although the cursor moved past it.
        clock.advance(Duration::from_secs(480));
        let report = sync.reconcile(false).await.unwrap();
        assert_eq!(report.applied.len(), 1, "{flavor}: {report:?}");
        assert_eq!(
            host.get(&f.id).unwrap().state,
            FindingState::Resolved,
            "{flavor}"
        );
    }
}

#[tokio::test]
async fn a_restricted_comment_is_posted_restricted_or_not_at_all() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = sim(SimConfig::new(flavor)).await;
        let f = finding(1, Severity::High, FindingState::Open);
        let host = Arc::new(MemoryFindings::with([f.clone()]));
        let sync = engine(client(&sim), Arc::new(MemoryStore::new()), host);
        let key = push_key(&sync, &f).await;
        let body = match flavor {
            Flavor::Cloud => jira_model::Description::Adf(jira_model::adf::Document::new(
                jira_model::adf::paragraphs("internal note"),
            )),
            _ => jira_model::Description::Wiki("internal note".into()),
        };
        let note = jira_model::AddCommentRequest::new(body);
        client(&sim)
            .add_comment(&key, &note.clone().restricted_to_role("Administrators"))
            .await
            .unwrap();
        let stored = sim.issue(&key).unwrap();
        let vis = stored.comments[0]
            .visibility
            .clone()
            .expect("stored restricted");
        assert_eq!(
            (vis.kind.as_str(), vis.value.as_str()),
            ("role", "Administrators")
        );
        // A person outside the role does not see it.
        let seen = alex(&sim).get_issue(&key, &["comment"]).await.unwrap();
        assert!(
            !serde_json::to_string(&seen)
                .unwrap()
                .contains("internal note"),
            "{flavor}"
        );
        // A role Jira does not have: refused, and not posted publicly instead.
        let e = client(&sim)
            .add_comment(&key, &note.restricted_to_role("Wizards"))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        assert!(
            e.to_string()
                .contains("Role with id: Wizards does not exist.")
        );
        assert_eq!(sim.issue(&key).unwrap().comments.len(), 1, "{flavor}");
    }
}

#[tokio::test]
async fn frameworks_jira_has_no_option_for_leave_the_field_not_the_finding() {
    // The admin configured two options; findings name others too. Jira
    // refuses a create naming an unknown option ("Option value 'X' is not
    // valid"): the issue is made without it, the label keeps it.
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = sim(SimConfig::new(flavor)
            .frameworks_options(Some(vec!["OWASP_LLM01".into(), "OWASP_LLM02".into()])))
        .await;
        let mut findings: Vec<_> = (0..6)
            .map(|i| finding(i, Severity::High, FindingState::Open))
            .collect();
        // fnd 0..3: OWASP_LLM01 and an unknown MITRE id; 4: only unknown
        // ones; 5: only known ones.
        findings[4] = findings[4]
            .clone()
            .with_frameworks(["NIST_AI_600_1", "ISO_42001"]);
        findings[5] = findings[5].clone().with_frameworks(["OWASP_LLM02"]);
        let host = Arc::new(MemoryFindings::with(findings.clone()));
        let sync = engine(client(&sim), Arc::new(MemoryStore::new()), host);
        // One alone, the rest in a bulk create.
        let key = push_key(&sync, &findings[0]).await;
        let report = sync.push_many(&findings[1..], |_| {}).await.unwrap();
        assert_eq!(
            report.count(penaxtra_jira_sync::PushKind::Created),
            5,
            "{flavor}: {report:?}"
        );
        assert!(sync.store().pending().await.unwrap().is_empty());
        assert_exactly_one_issue_each(&sim, &findings);
        let first = sim.issue(&key).unwrap();
        assert_eq!(first.framework_values(), ["OWASP_LLM01"], "{flavor}");
        assert!(
            first
                .labels
                .iter()
                .any(|l| l.contains("MITRE_ATLAS_AML_T0051")),
            "{:?}",
            first.labels
        );
        let per = issues_per_finding(&sim);
        assert!(
            per[findings[4].id.as_str()][0]
                .framework_values()
                .is_empty()
        );
        assert_eq!(
            per[findings[5].id.as_str()][0].framework_values(),
            ["OWASP_LLM02"]
        );
    }
}
