//! Routes, priorities and due dates against `jira-sim` (two projects, each
//! with its components and create screen; assignable users).

use crate::support::*;
use jira_model::Flavor;
use jira_sim::{JiraSim, SimConfig, accounts};
use penaxtra_jira_sync::store::{MemoryStore, SyncStore};
use penaxtra_jira_sync::{JiraSync, MemoryFindings, PushKind};
use penaxtra_mapping::{Finding, FindingState, MappingConfig, Severity};
use std::sync::Arc;

/// Critical findings and the `ml-platform` team's go to `OPS` with a
/// component, an assignee and a label; the rest take the default route.
fn routed_mapping(flavor: Flavor) -> penaxtra_mapping::Mapping {
    let assignee = match flavor {
        Flavor::Cloud => accounts::ALL[1].account_id,
        Flavor::DataCenter => accounts::ALL[1].name,
    };
    let toml = format!(
        r#"
        [[routes]]
        name = "ml-platform"
        match = {{ tags = {{ team = "ml-*" }} }}
        project_key = "OPS"
        issue_type = "Security"
        components = ["Model Serving"]
        assignee = "{assignee}"
        labels = ["team-ml"]

        [[routes]]
        name = "gateway"
        match = {{ probes = {{ include = ["jailbreak_*"] }} }}
        components = ["Gateway"]
        "#
    );
    let config: MappingConfig = toml::from_str(&toml).unwrap();
    config.build().unwrap()
}

fn routed_engine(sim: &JiraSim, store: Arc<dyn SyncStore>, host: Arc<MemoryFindings>) -> JiraSync {
    JiraSync::builder(client(sim), store, host)
        .settings(fast_settings())
        .mapping(routed_mapping(sim.flavor()))
        .build()
        .unwrap()
}

fn findings() -> Vec<Finding> {
    vec![
        finding(1, Severity::High, FindingState::Open).with_tag("team", "ML-Platform"),
        finding(2, Severity::Critical, FindingState::Open).with_probe("jailbreak_roleplay_v3"),
        finding(3, Severity::High, FindingState::Open).with_tag("team", "web"),
    ]
}

#[tokio::test]
async fn routes_pick_project_type_components_assignee_and_labels() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = sim(SimConfig::new(flavor)).await;
        let fs = findings();
        let host = Arc::new(MemoryFindings::with(fs.clone()));
        let sync = routed_engine(&sim, Arc::new(MemoryStore::new()), host);
        // One by one for the first, in bulk for the rest: both follow routes.
        let first = sync.push(&fs[0]).await.unwrap();
        assert_eq!(first.kind(), PushKind::Created, "{flavor}");
        let report = sync.push_many(&fs[1..], |_| {}).await.unwrap();
        assert_eq!(report.count(PushKind::Created), 2, "{flavor}");
        assert_exactly_one_issue_each(&sim, &fs);

        let per = issues_per_finding(&sim);
        let ml = &per[fs[0].id.as_str()][0];
        assert!(ml.key.starts_with("OPS-"), "{flavor} {}", ml.key);
        assert_eq!(ml.issue_type, "Security");
        assert_eq!(ml.components, ["Model Serving"]);
        assert_eq!(ml.assignee.as_deref(), Some("alex"), "{flavor}");
        assert!(ml.labels.iter().any(|l| l == "team-ml"));
        let gw = &per[fs[1].id.as_str()][0];
        assert!(gw.key.starts_with("SEC-"), "{}", gw.key);
        assert_eq!(gw.components, ["Gateway"]);
        assert_eq!(gw.assignee, None);
        let default = &per[fs[2].id.as_str()][0];
        assert!(default.key.starts_with("SEC-"));
        assert_eq!(default.issue_type, "Bug");
        assert!(default.components.is_empty());
        assert!(!default.labels.iter().any(|l| l == "team-ml"));
    }
}

#[tokio::test]
async fn a_finding_whose_route_changed_keeps_its_issue() {
    let sim = sim(SimConfig::new(Flavor::Cloud)).await;
    let f = findings().remove(0);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let sync = routed_engine(&sim, Arc::new(MemoryStore::new()), Arc::clone(&host));
    let key = push_key(&sync, &f).await;
    assert!(key.starts_with("OPS-"));

    // The team changes: the finding now takes the default route (SEC).
    let moved = f.clone().with_tag("team", "web");
    host.insert(moved.clone());
    let again = sync.push(&moved).await.unwrap();
    assert_eq!(again.kind(), PushKind::AlreadyLinked);
    assert_eq!(again.issue_key().unwrap().as_str(), key);

    // Even an engine that lost its links finds the issue in OPS by its dedup
    // label, though the route now points at SEC: no second issue.
    let mut settings = fast_settings();
    settings.always_check_jira = true;
    let fresh = JiraSync::builder(client(&sim), Arc::new(MemoryStore::new()), host)
        .settings(settings)
        .mapping(routed_mapping(Flavor::Cloud))
        .build()
        .unwrap();
    let found = fresh.push(&moved).await.unwrap();
    assert_eq!(found.kind(), PushKind::Recovered, "{found:?}");
    assert_eq!(found.issue_key().unwrap().as_str(), key);
    assert_eq!(issues_per_finding(&sim)[f.id.as_str()].len(), 1);
}

#[tokio::test]
async fn the_simulator_refuses_what_jira_refuses() {
    // A component the project lacks and a user who may not be assigned
    // issues are field errors, as on Jira: nothing is created.
    let sim = sim(SimConfig::new(Flavor::DataCenter)).await;
    let f = findings().remove(0);
    let mut config: MappingConfig = toml::from_str(
        r#"
        [[routes]]
        name = "bad"
        project_key = "OPS"
        components = ["Gateway"]
        assignee = "readonly"
        "#,
    )
    .unwrap();
    config.rule = penaxtra_mapping::Rule::default();
    let sync = JiraSync::builder(
        client(&sim),
        Arc::new(MemoryStore::new()),
        Arc::new(MemoryFindings::with([f.clone()])),
    )
    .settings(fast_settings())
    .mapping(config.build().unwrap())
    .build()
    .unwrap();
    let out = sync.push(&f).await.unwrap();
    assert_eq!(out.kind(), PushKind::Failed, "{out:?}");
    let shown = format!("{out:?}");
    assert!(
        shown.contains("Component name 'Gateway' is not valid"),
        "{shown}"
    );
    assert!(
        shown.contains("User 'readonly' cannot be assigned issues."),
        "{shown}"
    );
    assert!(sim.issues().is_empty());
}

fn today_plus(days: u32) -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    jira_model::Date::from_unix_ms(u64::try_from(ms).unwrap())
        .unwrap()
        .plus_days(days)
        .unwrap()
        .to_string()
}

fn sla_engine(sim: &JiraSim, host: Arc<MemoryFindings>, priorities: &str) -> JiraSync {
    let config: MappingConfig = toml::from_str(&format!(
        r#"
        [template]
        priorities = {priorities}
        sla_days = {{ critical = 7, high = 30 }}

        [[routes]]
        name = "agents"
        match = {{ probes = {{ include = ["agent_*"] }} }}
        project_key = "OPS"
        "#
    ))
    .unwrap();
    JiraSync::builder(client(sim), Arc::new(MemoryStore::new()), host)
        .settings(fast_settings())
        .mapping(config.build().unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn priority_by_severity_and_a_due_date_only_where_the_screen_has_it() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = sim(SimConfig::new(flavor)).await;
        let ops =
            finding(1, Severity::Critical, FindingState::Open).with_probe("agent_tool_abuse_v2");
        let sec = finding(2, Severity::High, FindingState::Open);
        let fs = vec![ops.clone(), sec.clone()];
        let host = Arc::new(MemoryFindings::with(fs.clone()));
        let sync = sla_engine(&sim, host, r#"{ critical = "Highest", high = "High" }"#);
        let before = today_plus(7);
        let report = sync.push_many(&fs, |_| {}).await.unwrap();
        assert_eq!(report.count(PushKind::Created), 2, "{flavor}");
        let per = issues_per_finding(&sim);
        let o = &per[ops.id.as_str()][0];
        assert!(o.key.starts_with("OPS-"));
        assert_eq!(o.priority, "Highest");
        // OPS's create screen has `duedate`: critical is due in 7 days.
        let due = o.due_date.clone().unwrap();
        assert!(due == before || due == today_plus(7), "{flavor} {due}");
        // SEC's screen has no `duedate`: none is sent (Jira would refuse it).
        let s = &per[sec.id.as_str()][0];
        assert_eq!(s.priority, "High");
        assert_eq!(s.due_date, None, "{flavor}");
    }
}

#[tokio::test]
async fn a_priority_the_scheme_lacks_is_named_before_anything_is_sent() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = sim(SimConfig::new(flavor)).await;
        let f = finding(1, Severity::Critical, FindingState::Open);
        let host = Arc::new(MemoryFindings::with([f.clone()]));
        let sync = sla_engine(&sim, host, r#"{ critical = "Urgent" }"#);
        let out = sync.push(&f).await.unwrap();
        let shown = format!("{out:?}");
        assert!(
            matches!(out.kind(), PushKind::Parked | PushKind::Failed),
            "{flavor} {shown}"
        );
        assert!(shown.contains("template.priorities.critical"), "{shown}");
        assert!(
            shown.contains("\\\"Urgent\\\" is not a priority of project SEC; it has Highest, High, Medium, Low, Lowest"),
            "{shown}"
        );
        assert!(sim.issues().is_empty());
    }
}
