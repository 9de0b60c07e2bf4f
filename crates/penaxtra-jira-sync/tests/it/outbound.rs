//! Push and state out against `jira-sim`: exactly one issue per matching
//! finding under concurrency, faults and restarts; workflows of every shape.

use crate::support::*;
use jira_model::Flavor;
use jira_sim::{DropMode, FaultConfig, SimConfig, StormConfig, Workflow, accounts};
use penaxtra_jira_sync::store::{MemoryStore, SqliteStore, SyncStore};
use penaxtra_jira_sync::{JiraSync, MemoryFindings, PushKind, PushOutcome, StateOutcome};
use penaxtra_mapping::{FindingState, Severity};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn push_creates_one_issue_and_only_for_matching_findings() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = sim(SimConfig::new(flavor)).await;
        let findings = vec![
            finding(1, Severity::High, FindingState::Open),
            finding(2, Severity::Medium, FindingState::Open),
            finding(3, Severity::Critical, FindingState::Resolved),
        ];
        let host = Arc::new(MemoryFindings::with(findings.clone()));
        let sync = engine(client(&sim), Arc::new(MemoryStore::new()), host);
        let first = sync.push(&findings[0]).await.unwrap();
        assert_eq!(first.kind(), "created", "{flavor}");
        assert_eq!(
            sync.push(&findings[0]).await.unwrap().kind(),
            "already_linked"
        );
        assert_eq!(sync.push(&findings[1]).await.unwrap().kind(), "skipped");
        assert_eq!(sync.push(&findings[2]).await.unwrap().kind(), "skipped");
        assert_exactly_one_issue_each(&sim, &findings);
        let issue = sim.issue(first.issue_key().unwrap().as_str()).unwrap();
        assert!(
            issue.summary.starts_with("[Penaxtra] "),
            "{}",
            issue.summary
        );
        assert!(issue.labels.iter().any(|l| l == "penaxtra"));
        assert_eq!(
            issue.framework_values(),
            ["OWASP_LLM01", "MITRE_ATLAS_AML_T0051"]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pushes_of_one_finding_make_one_issue() {
    let sim = sim(SimConfig::new(Flavor::Cloud)).await;
    let f = finding(7, Severity::Critical, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let store: Arc<dyn SyncStore> = Arc::new(MemoryStore::new());
    // Several engines (as replicas) over one store, several tasks each.
    let engines: Vec<JiraSync> = (0..3)
        .map(|_| engine(client(&sim), Arc::clone(&store), Arc::clone(&host)))
        .collect();
    let mut tasks = Vec::new();
    for e in &engines {
        for _ in 0..5 {
            let (e, f) = (e.clone(), f.clone());
            tasks.push(tokio::spawn(async move { e.push(&f).await.unwrap() }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    drain(&engines[0], 50).await;
    assert_exactly_one_issue_each(&sim, &[f]);
}

#[tokio::test]
async fn commit_then_drop_is_recovered_without_a_duplicate() {
    for mode in [DropMode::Reset, DropMode::Timeout { hang_ms: 3_000 }] {
        let sim = sim(SimConfig::new(Flavor::Cloud)).await;
        sim.set_faults(
            FaultConfig::new(1)
                .commit_then_drop_rate(1.0)
                .drop_mode(mode),
        )
        .unwrap();
        let f = finding(1, Severity::High, FindingState::Open);
        let host = Arc::new(MemoryFindings::with([f.clone()]));
        let mut settings = fast_settings();
        settings.always_check_jira = false; // the uncertain claim alone must force the search
        let sync = JiraSync::builder(client(&sim), Arc::new(MemoryStore::new()), host)
            .settings(settings)
            .build()
            .unwrap();
        match sync.push(&f).await.unwrap() {
            PushOutcome::Queued { .. } => {}
            other => panic!("{mode:?}: expected the create to be queued, got {other:?}"),
        }
        assert_eq!(issues_per_finding(&sim).len(), 1, "Jira did create it");
        sim.set_faults(FaultConfig::new(1)).unwrap();
        drain(&sync, 50).await;
        assert_exactly_one_issue_each(&sim, std::slice::from_ref(&f));
        assert!(
            sync.store().link(&f.id).await.unwrap().is_some(),
            "{mode:?}: the existing issue is linked"
        );
        assert!(sync.store().pending().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn backfill_under_faults_makes_exactly_one_issue_each() {
    let sim = sim(SimConfig::new(Flavor::Cloud)).await;
    sim.set_faults(
        FaultConfig::new(42)
            .error_rate(0.15)
            .commit_then_drop_rate(0.2)
            .storm(StormConfig::new(0.05, 3, 0)),
    )
    .unwrap();
    let findings = mixed_findings(240);
    let host = Arc::new(MemoryFindings::with(findings.clone()));
    let sync = engine(client(&sim), Arc::new(MemoryStore::new()), host);
    let report = sync.push_many(&findings, |_| {}).await.unwrap();
    assert_eq!(report.total, findings.len());
    assert_eq!(report.count(PushKind::Skipped), 80);
    sim.set_faults(FaultConfig::new(42)).unwrap();
    drain(&sync, 100).await;
    assert!(
        sync.store().pending().await.unwrap().is_empty(),
        "nothing left behind"
    );
    assert_exactly_one_issue_each(&sim, &findings);
}

#[tokio::test]
async fn backfill_uses_bulk_create_and_one_search_per_chunk() {
    let sim = sim(SimConfig::new(Flavor::DataCenter)).await;
    let findings: Vec<_> = (0..120)
        .map(|i| finding(i, Severity::High, FindingState::Open))
        .collect();
    let host = Arc::new(MemoryFindings::with(findings.clone()));
    let sync = engine(client(&sim), Arc::new(MemoryStore::new()), host);
    let mut seen = Vec::new();
    let progress = std::sync::Mutex::new(&mut seen);
    let report = sync
        .push_many(&findings, |p| progress.lock().unwrap().push(p.done))
        .await
        .unwrap();
    assert_eq!(report.count(PushKind::Created), 120);
    let counts = sim.request_counts();
    assert_eq!(
        counts.get("POST /rest/api/2/issue/bulk").copied(),
        Some(3),
        "{counts:?}"
    );
    assert_eq!(counts.get("POST /rest/api/2/issue"), None, "{counts:?}");
    assert_eq!(seen.last().copied(), Some(120));
    assert_exactly_one_issue_each(&sim, &findings);
}

#[tokio::test]
async fn backfill_report_counts_every_outcome_and_keeps_a_bounded_sample() {
    let sim = sim(SimConfig::new(Flavor::DataCenter)).await;
    // 2 in 3 match the rule: 80 created, 40 skipped.
    let findings = mixed_findings(120);
    let host = Arc::new(MemoryFindings::with(findings.clone()));
    let sync = engine(client(&sim), Arc::new(MemoryStore::new()), host);
    let mut seen = vec![0_u32; findings.len()];
    let mut by_kind = std::collections::HashMap::new();
    let report = sync
        .push_many_with(
            &findings,
            |_| {},
            |i, id, outcome| {
                assert_eq!(*id, findings[i].id);
                seen[i] += 1;
                *by_kind.entry(outcome.kind()).or_insert(0_usize) += 1;
            },
        )
        .await
        .unwrap();
    assert!(seen.iter().all(|&n| n == 1), "one outcome per finding");
    assert_eq!(report.total, 120);
    assert_eq!(report.count(PushKind::Created), 80);
    assert_eq!(report.count(PushKind::Skipped), 40);
    for (kind, n) in &by_kind {
        assert_eq!(report.count(*kind), *n, "{kind:?}");
    }
    assert_eq!(
        report.sample.len(),
        penaxtra_jira_sync::BackfillReport::SAMPLE_LEN
    );
    assert!(report.attention.is_empty() && report.attention_dropped == 0);

    // Pushed again: every one already linked, in input order when asked.
    let (again, all) = sync.push_many_all(&findings, |_| {}).await.unwrap();
    assert_eq!(again.count(PushKind::AlreadyLinked), 80);
    assert_eq!(all.len(), findings.len());
    for ((id, outcome), f) in all.iter().zip(&findings) {
        assert_eq!(*id, f.id);
        let expected = if f.severity == Severity::Medium {
            PushKind::Skipped
        } else {
            PushKind::AlreadyLinked
        };
        assert_eq!(outcome.kind(), expected, "{id}");
    }
}

#[tokio::test]
async fn restart_in_the_middle_of_a_backfill_with_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.sqlite");
    let sim = sim(SimConfig::new(Flavor::Cloud).latency(Duration::from_millis(15))).await;
    let findings = mixed_findings(300);
    let host = Arc::new(MemoryFindings::with(findings.clone()));
    {
        // Small chunks one at a time, so that the run is long enough to be
        // cut in the middle.
        let mut settings = fast_settings();
        settings.chunk_size = 10;
        settings.concurrency = 1;
        let sync = JiraSync::builder(
            client(&sim),
            Arc::new(SqliteStore::open(&path).unwrap()),
            Arc::clone(&host) as Arc<dyn penaxtra_jira_sync::Findings>,
        )
        .settings(settings)
        .build()
        .unwrap();
        let fs = findings.clone();
        let task = tokio::spawn(async move { sync.push_many(&fs, |_| {}).await });
        // Kill it part-way, as a crash would.
        while issues_per_finding(&sim).len() < 25 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        task.abort();
        let _ = task.await;
    }
    let partial = issues_per_finding(&sim).len();
    assert!(
        partial < 200,
        "the first run was cut short ({partial} issues)"
    );
    tokio::time::sleep(Duration::from_millis(350)).await; // claims of the dead run expire
    let sync = engine(
        client(&sim),
        Arc::new(SqliteStore::open(&path).unwrap()),
        host,
    );
    sync.push_many(&findings, |_| {}).await.unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    drain(&sync, 100).await;
    assert_exactly_one_issue_each(&sim, &findings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_sqlite_file_race_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.sqlite");
    let sim = sim(SimConfig::new(Flavor::DataCenter)).await;
    sim.set_faults(FaultConfig::new(9).commit_then_drop_rate(0.1))
        .unwrap();
    let findings = mixed_findings(150);
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let host = Arc::new(MemoryFindings::with(findings.clone()));
        let sync = engine(
            client(&sim),
            Arc::new(SqliteStore::open(&path).unwrap()),
            host,
        );
        let fs = findings.clone();
        tasks.push(tokio::spawn(async move {
            sync.push_many(&fs, |_| {}).await.unwrap();
            sync
        }));
    }
    let mut engines = Vec::new();
    for t in tasks {
        engines.push(t.await.unwrap());
    }
    sim.set_faults(FaultConfig::new(9)).unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    for e in &engines {
        drain(e, 100).await;
    }
    assert_exactly_one_issue_each(&sim, &findings);
}

#[tokio::test]
async fn state_changes_follow_the_workflow() {
    let cases = [
        (
            "default",
            Workflow::default(),
            FindingState::Accepted,
            "Won't Do",
            Some("Won't Do"),
            1,
        ),
        (
            "two transitions away",
            Workflow::two_step(),
            FindingState::Resolved,
            "Done",
            Some("Done"),
            2,
        ),
        (
            "no resolution on the screen",
            Workflow::two_step_without_resolution_screen(),
            FindingState::Resolved,
            "Done",
            Some("Done"),
            2,
        ),
        (
            "false positive",
            Workflow::without_resolution_screen(),
            FindingState::FalsePositive,
            "Cancelled",
            Some("Cancelled"),
            1,
        ),
        (
            "triaged",
            Workflow::default(),
            FindingState::Triaged,
            "In Progress",
            None,
            1,
        ),
    ];
    for (name, workflow, state, status, resolution, steps) in cases {
        let sim = sim(SimConfig::new(Flavor::Cloud).workflow(workflow)).await;
        let f = finding(1, Severity::High, FindingState::Open);
        let host = Arc::new(MemoryFindings::with([f.clone()]));
        let sync = engine(client(&sim), Arc::new(MemoryStore::new()), host);
        let key = push_key(&sync, &f).await;
        match sync.set_state(&f.id, state).await.unwrap() {
            StateOutcome::Transitioned { via, to, .. } => {
                assert_eq!(via.len(), steps, "{name}: {via:?}");
                assert_eq!(to, status, "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
        let issue = sim.issue(&key).unwrap();
        assert_eq!(issue.status, status, "{name}");
        assert_eq!(issue.resolution.as_deref(), resolution, "{name}");
        let before = sim.request_count();
        assert!(
            matches!(
                sync.set_state(&f.id, state).await.unwrap(),
                StateOutcome::AlreadyThere { .. }
            ),
            "{name}"
        );
        let transitions_posted = sim
            .request_counts()
            .keys()
            .filter(|k| k.starts_with("POST") && k.ends_with("/transitions"))
            .count();
        assert!(
            sim.request_count() - before <= 1,
            "{name}: only a read when already there"
        );
        assert!(transitions_posted >= 1);
    }
}

#[tokio::test]
async fn errors_a_person_must_fix_are_parked_not_dropped() {
    let sim = sim(SimConfig::new(Flavor::Cloud)).await;
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let readonly = client_as(
        &sim,
        accounts::READONLY_EMAIL,
        accounts::READONLY_API_TOKEN,
        accounts::READONLY_PAT,
    );
    let sync = engine(readonly, Arc::new(MemoryStore::new()), Arc::clone(&host));
    match sync.push(&f).await.unwrap() {
        PushOutcome::Failed { error } => {
            assert_eq!(error.code(), "issue_create_forbidden");
            assert!(error.fix().unwrap().contains("Create Issues"));
        }
        other => panic!("expected failed, got {other:?}"),
    }
    let pending = sync.store().pending().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert!(pending[0].parked);
    assert!(sim.issues().is_empty());

    // A wrong token, and an unknown custom field.
    let bad = client_as(&sim, accounts::SERVICE_EMAIL, "wrong", "wrong");
    let sync = engine(bad, Arc::new(MemoryStore::new()), Arc::clone(&host));
    assert_eq!(sync.push(&f).await.unwrap().kind(), "failed");
    let mut config = penaxtra_mapping::TemplateConfig::default();
    config.finding_id_field = Some("customfield_99999".to_string());
    let template = penaxtra_mapping::IssueTemplate::new(config).unwrap();
    let sync = JiraSync::builder(client(&sim), Arc::new(MemoryStore::new()), host)
        .template(template)
        .settings(fast_settings())
        .build()
        .unwrap();
    match sync.push(&f).await.unwrap() {
        PushOutcome::Failed { error } => assert_eq!(error.code(), "customfield_unknown"),
        other => panic!("expected failed, got {other:?}"),
    }
}

/// The receiver a connection test's webhook reaches: the axum route over
/// the engine's own store, on loopback. Answers its URL (secret included).
async fn serve_receiver(store: Arc<dyn SyncStore>, url_secret: &str, hmac_secret: &str) -> String {
    use penaxtra_jira_sync::webhook::WebhookRoute;
    let inbound = penaxtra_jira_sync::Inbound::new(store, Arc::new(MemoryFindings::new()), "SEC");
    let route =
        WebhookRoute::new(loopback_gate(url_secret, hmac_secret), inbound).mount("/hooks/jira/");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            route
                .router()
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    format!("http://{addr}/hooks/jira/{url_secret}")
}

/// With a receiver URL configured, test connection waits for the synthetic
/// issue's webhook (late, as Jira's are) to reach the receiver sharing the
/// engine's store; when Jira sends it nowhere, the step fails with
/// `webhook_not_received` and its fix. The URL's secret never shows.
#[tokio::test]
async fn test_connection_round_trips_a_webhook_when_a_receiver_is_configured() {
    const URL_SECRET: &str = "conn-test-url-secret-6c1f0a";
    const HMAC_SECRET: &str = "conn-test-hmac-secret-0b77e2";
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let late =
            jira_sim::WebhookTiming::for_flavor(flavor).max_delay(Duration::from_millis(600));
        let sim = sim(SimConfig::new(flavor).webhook_timing(late)).await;
        let store: Arc<dyn SyncStore> = Arc::new(MemoryStore::new());
        let url = serve_receiver(Arc::clone(&store), URL_SECRET, HMAC_SECRET).await;
        sim.register_webhook(url.clone(), Some(HMAC_SECRET.to_string()))
            .unwrap();
        let mut settings = fast_settings();
        settings.webhook_receiver_url = Some(penaxtra_jira_sync::ReceiverUrl::parse(&url).unwrap());
        settings.webhook_round_trip_wait = Duration::from_secs(30);
        let sync = JiraSync::builder(
            client(&sim),
            Arc::clone(&store),
            Arc::new(MemoryFindings::new()),
        )
        .settings(settings.clone())
        .build()
        .unwrap();
        let report = sync.test_connection().await;
        let names: Vec<_> = report.steps.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), 7, "{flavor}: {report:?}");
        assert_eq!(names[6], "webhook_round_trip");
        assert!(report.passed(), "{flavor}: {report:?}");
        let detail = &report.steps[6].detail;
        assert!(
            detail.contains(report.synthetic_issue.as_deref().unwrap()),
            "{detail}"
        );
        assert!(!detail.contains(URL_SECRET), "{detail}");
        assert!(!format!("{:?}", sync).contains(URL_SECRET));
        // The synthetic issue links nothing and queues nothing.
        assert!(store.links().await.unwrap().is_empty());
        assert!(store.pending().await.unwrap().is_empty());

        // A Jira with no webhook towards the receiver.
        let quiet = jira_sim::JiraSim::start(SimConfig::new(flavor))
            .await
            .unwrap();
        settings.webhook_round_trip_wait = Duration::from_millis(800);
        let sync = JiraSync::builder(
            client(&quiet),
            Arc::new(MemoryStore::new()),
            Arc::new(MemoryFindings::new()),
        )
        .settings(settings)
        .build()
        .unwrap();
        let report = sync.test_connection().await;
        assert!(!report.passed());
        let last = report.steps.last().unwrap();
        let error = last.error.as_ref().expect("the round trip fails");
        assert_eq!(
            (last.name, error.code()),
            ("webhook_round_trip", "webhook_not_received")
        );
        assert!(error.fix().unwrap().contains("webhook"));
        assert!(!error.to_string().contains(URL_SECRET), "{error}");
        assert!(error.to_string().contains("/…"), "{error}");
        // Every earlier step passed, and the synthetic issue was closed.
        assert!(report.steps[..6].iter().all(|s| s.ok()), "{report:?}");
        let issue = quiet
            .issue(report.synthetic_issue.as_deref().unwrap())
            .unwrap();
        assert_eq!(issue.status_category, jira_model::StatusCategoryKey::Done);
    }
}

#[tokio::test]
async fn test_connection_reports_every_step() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = sim(SimConfig::new(flavor)).await;
        let sync = engine(
            client(&sim),
            Arc::new(MemoryStore::new()),
            Arc::new(MemoryFindings::new()),
        );
        let report = sync.test_connection().await;
        let names: Vec<_> = report.steps.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "who_am_i",
                "project",
                "issue_type",
                "custom_fields",
                "create_issue",
                "close_issue"
            ]
        );
        assert!(report.passed(), "{flavor}: {report:?}");
        let issue = sim
            .issue(report.synthetic_issue.as_deref().unwrap())
            .unwrap();
        assert_eq!(issue.summary, "[Penaxtra] Connection test");
        assert_eq!(issue.status_category, jira_model::StatusCategoryKey::Done);

        let readonly = client_as(
            &sim,
            accounts::READONLY_EMAIL,
            accounts::READONLY_API_TOKEN,
            accounts::READONLY_PAT,
        );
        let sync = engine(
            readonly,
            Arc::new(MemoryStore::new()),
            Arc::new(MemoryFindings::new()),
        );
        let report = sync.test_connection().await;
        assert!(!report.passed());
        let last = report.steps.last().unwrap();
        assert_eq!(
            (last.name, last.error.as_ref().unwrap().code()),
            ("create_issue", "issue_create_forbidden")
        );
    }
}
