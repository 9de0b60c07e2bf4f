//! The whole loop against an embedded Jira simulator, in seconds, with no
//! setup: `cargo run --example quickstart`.
//!
//! 1. starts `jira-sim` (Jira Cloud flavour) and a webhook receiver;
//! 2. runs "test connection";
//! 3. pushes the sample findings: only those matching the default rule
//!    (severity ≥ high and open) get issues;
//! 4. triages a finding and shows the Jira transition it caused;
//! 5. a person (`alex`) closes an issue as Won't Do in Jira; the webhook
//!    brings it back and the finding becomes `accepted`.

#[path = "support/receiver.rs"]
mod receiver;

use jira_client::{ApiTokenAuth, JiraClient};
use jira_model::{Flavor, TransitionRequest};
use jira_sim::{JiraSim, SimConfig, accounts};
use penaxtra_jira_sync::store::MemoryStore;
use penaxtra_jira_sync::webhook::{IpAllowlist, WebhookGate, WebhookGateConfig};
use penaxtra_jira_sync::{
    JiraSync, MemoryFindings, PushKind, ReceiverUrl, StateOutcome, SyncSettings,
};
use penaxtra_mapping::{Finding, FindingState};
use std::sync::{Arc, Mutex};

const SAMPLE: &str = include_str!("findings.sample.json");

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Metrics, in Prometheus format (a service would serve `render()` on
    // its /metrics endpoint).
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
    // 1. Jira, simulated, and the integration's pieces.
    let sim = JiraSim::start(SimConfig::new(Flavor::Cloud)).await?;
    println!("== Jira simulator (Cloud flavour) at {}", sim.base_url());

    let findings: Vec<Finding> = serde_json::from_str(SAMPLE)?;
    let host = Arc::new(MemoryFindings::with(findings.clone()));
    let bot = ApiTokenAuth::new(
        accounts::SERVICE_EMAIL,
        accounts::SERVICE_API_TOKEN.to_string().into(),
    );
    let client = JiraClient::builder(&sim.base_url(), Flavor::Cloud, bot)
        .url_policy(jira_client::UrlPolicy::default().allow_loopback())
        .build()?;

    // The webhook receiver's address and secrets: test connection ends
    // with a round trip through it (it shares the engine's store).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let receiver_addr = listener.local_addr()?;
    let url_secret = random_secret();
    let mut settings = SyncSettings::default();
    settings.webhook_receiver_url = Some(ReceiverUrl::parse(&format!(
        "http://{receiver_addr}{}/{url_secret}",
        receiver::MOUNT
    ))?);
    let sync = JiraSync::builder(client, Arc::new(MemoryStore::new()), host.clone())
        .settings(settings)
        .build()?;

    // The webhook receiver: loopback allowlist, a secret in the URL and an HMAC.
    let hmac_secret = random_secret();
    let gate = WebhookGate::new(
        WebhookGateConfig::builder(
            IpAllowlist::from_cidrs(["127.0.0.0/8", "::1/128"])?,
            url_secret.clone().into(),
        )
        .hmac_secret(hmac_secret.clone().into())
        .build()?,
    )?;
    let lines: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let sink_lines = Arc::clone(&lines);
    let inbound = sync.inbound().await;
    tokio::spawn(receiver::serve(
        listener,
        gate,
        inbound,
        Arc::new(move |line| {
            sink_lines
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(line)
        }),
    ));
    sim.register_webhook(
        format!("http://{receiver_addr}{}/{url_secret}", receiver::MOUNT),
        Some(hmac_secret.clone()),
    )?;
    println!(
        "== webhook receiver at http://{receiver_addr}{}/<secret>",
        receiver::MOUNT
    );

    // 2. Test connection.
    println!("\n== Test connection");
    let report = sync.test_connection().await;
    for step in &report.steps {
        match &step.error {
            None => println!(
                "  ok    {:<18} {} ({} ms)",
                step.name,
                step.detail,
                step.duration.as_millis()
            ),
            Some(e) => println!(
                "  FAIL  {:<18} {} — {}",
                step.name,
                e.code(),
                e.fix().unwrap_or("")
            ),
        }
    }
    if !report.passed() {
        return Err("test connection failed".into());
    }

    // 3. Push every sample finding; the rule picks which get issues.
    println!(
        "\n== Push {} findings (rule: severity >= high and open)",
        findings.len()
    );
    // Every outcome, in input order (`push_many` alone keeps counts).
    let (report, pushed) = sync.push_many_all(&findings, |_| {}).await?;
    for ((id, outcome), f) in pushed.iter().zip(&findings) {
        println!(
            "  {:<18} {:<8} {:<14} {:<16} {}",
            id.as_str(),
            f.severity.as_str(),
            f.state.as_str(),
            outcome.kind(),
            outcome.issue_key().map_or("", |k| k.as_str())
        );
    }
    sync.run_due().await?;

    // 4. A finding is triaged in Penaxtra: its issue moves to In Progress.
    let (triaged_id, triaged_key) = pushed
        .iter()
        .find_map(|(id, o)| o.issue_key().map(|k| (id.clone(), k.to_string())))
        .ok_or("no finding matched the rule")?;
    println!("\n== {} is triaged in Penaxtra", triaged_id.as_str());
    let mut changed = host.get(&triaged_id).ok_or("finding vanished")?;
    changed.state = FindingState::Triaged;
    host.insert(changed);
    match sync.set_state(&triaged_id, FindingState::Triaged).await? {
        StateOutcome::Transitioned {
            issue_key,
            from,
            to,
            via,
            ..
        } => {
            println!(
                "  {issue_key}: {from} → {to} (via transition {})",
                via.join(", ")
            )
        }
        other => println!("  {other:?}"),
    }

    // 5. A person closes another issue as Won't Do in Jira.
    let (accepted_id, accepted_key) = pushed
        .iter()
        .filter(|(id, _)| *id != triaged_id)
        .find_map(|(id, o)| o.issue_key().map(|k| (id.clone(), k.to_string())))
        .unwrap_or((triaged_id.clone(), triaged_key.clone()));
    println!("\n== alex closes {accepted_key} as Won't Do in Jira");
    let alex = ApiTokenAuth::new(
        accounts::HUMAN_EMAIL,
        accounts::HUMAN_API_TOKEN.to_string().into(),
    );
    let alex = JiraClient::builder(&sim.base_url(), Flavor::Cloud, alex)
        .url_policy(jira_client::UrlPolicy::default().allow_loopback())
        .build()?;
    let transitions = alex.transitions(&accepted_key).await?;
    let wont_do = transitions
        .iter()
        .find(|t| t.to.name.eq_ignore_ascii_case("Won't Do"))
        .ok_or("the workflow has no Won't Do transition here")?;
    let mut request = TransitionRequest::new(wont_do.id.clone());
    if wont_do.has_field("resolution") {
        request = request.with_resolution("Won't Do");
    }
    alex.transition(&accepted_key, &request).await?;
    sim.flush_webhooks().await;
    let state = host
        .get(&accepted_id)
        .map(|f| f.state)
        .ok_or("finding vanished")?;
    println!(
        "  finding {} is now {}",
        accepted_id.as_str(),
        state.as_str()
    );

    println!("\n== Webhooks the receiver saw");
    for line in lines.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        println!("  {line}");
    }

    // Summary.
    let issues: Vec<_> = sim
        .issues()
        .into_iter()
        .filter(|i| i.finding_id().is_some() && !i.deleted)
        .collect();
    println!("\n== Summary");
    println!("  findings: {}", findings.len());
    println!(
        "  finding issues in Jira: {} (created {}, skipped by the rule {})",
        issues.len(),
        report.count(PushKind::Created),
        report.count(PushKind::Skipped)
    );
    println!("  {} via webhook: {}", accepted_id.as_str(), state.as_str());
    if state != FindingState::Accepted {
        return Err("the Won't Do decision did not come back".into());
    }

    println!("\n== Metrics (Prometheus format, a selection)");
    for line in metrics.render().lines().filter(|l| {
        !l.starts_with('#')
            && (l.starts_with("penaxtra_jira_push_total")
                || l.starts_with("penaxtra_jira_inbound_total")
                || l.starts_with("penaxtra_jira_queue_depth")
                || l.starts_with("jira_requests_total{method=\"POST\""))
    }) {
        println!("  {line}");
    }
    Ok(())
}

fn random_secret() -> String {
    use rand::Rng;
    let bytes: [u8; 24] = rand::thread_rng().r#gen();
    hex::encode(bytes)
}
