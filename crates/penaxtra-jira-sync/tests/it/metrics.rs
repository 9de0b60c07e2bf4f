//! What an operator sees through the `metrics` facade: pushes by outcome,
//! the Jira client's requests, webhook rejections by reason, inbound
//! outcomes and the queue's depth, recorded by a Prometheus recorder.

use crate::support::*;
use jira_model::Flavor;
use jira_sim::SimConfig;
use penaxtra_jira_sync::MemoryFindings;
use penaxtra_jira_sync::store::MemoryStore;
use penaxtra_jira_sync::webhook::WebhookRequest;
use penaxtra_mapping::{FindingState, Severity};
use std::sync::Arc;

#[tokio::test(flavor = "current_thread")]
async fn operators_see_pushes_requests_rejections_and_the_queue() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    // Everything below runs on this thread (a current-thread runtime).
    let _guard = metrics::set_default_local_recorder(&recorder);

    let sim = sim(SimConfig::new(Flavor::Cloud)).await;
    let findings = [
        finding(1, Severity::High, FindingState::Open),
        finding(2, Severity::Low, FindingState::Open),
    ];
    let host = Arc::new(MemoryFindings::with(findings.clone()));
    let sync = engine(
        client(&sim),
        Arc::new(MemoryStore::new()),
        Arc::clone(&host),
    );
    for f in &findings {
        sync.push(f).await.unwrap();
    }
    sync.run_due().await.unwrap();
    let gate = loopback_gate("metrics-url-secret-000001", "metrics-hmac-secret-00001");
    let forged = WebhookRequest::new("127.0.0.1".parse().unwrap(), b"{}").url_secret(Some("guess"));
    assert!(gate.check(&forged).is_err());

    let text = handle.render();
    for line in [
        "penaxtra_jira_push_total{outcome=\"created\"} 1",
        "penaxtra_jira_push_total{outcome=\"skipped\"} 1",
        "penaxtra_jira_webhook_rejected_total{reason=\"url_secret_invalid\"} 1",
        "jira_requests_total{method=\"POST\",endpoint=\"/rest/api/3/issue\",status=\"201\"} 1",
        "penaxtra_jira_queue_depth 0",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(
        text.contains("jira_request_duration_seconds"),
        "request latency is recorded:\n{text}"
    );
}
