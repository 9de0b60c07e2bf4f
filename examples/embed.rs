//! The README's embedding example, compiled: a host service that depends
//! on `penaxtra-jira-sync` (the lower layers come through its
//! re-exports) and the axum it serves with builds the engine from one configuration file, runs the
//! worker and reconciliation, and mounts the webhook route.
//!
//! ```sh
//! cargo run -p jira-sim -- --listen 127.0.0.1:8080 --flavor cloud &
//! JIRA_API_TOKEN=sim-api-token cargo run --example embed -- examples/penaxtra-jira.sim.toml
//! ```
//!
//! It serves webhooks on 127.0.0.1:8081 until stopped (Ctrl-C).

use penaxtra_jira_sync::config::SyncConfig;
use penaxtra_jira_sync::mapping::Finding;
use penaxtra_jira_sync::store::SqliteStore;
use penaxtra_jira_sync::webhook::{WebhookGate, WebhookRoute};
use penaxtra_jira_sync::{JiraSync, MemoryFindings};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: embed <configuration.toml>")?;
    // 1. The host's findings (here in memory) and the durable sync store.
    let findings = Arc::new(MemoryFindings::new());
    let store = Arc::new(SqliteStore::open("penaxtra-jira.sqlite")?);
    // 2. The engine, from one configuration file.
    let config = SyncConfig::from_toml_file(path.as_ref())?;
    let sync = JiraSync::from_config(&config, store, findings.clone())?;
    // 3. Outbound: push findings as they are opened.
    let finding: Finding = serde_json::from_str(
        r#"{"id":"fnd_embed_1","title":"Prompt injection","severity":"high","state":"open"}"#,
    )?;
    findings.insert(finding.clone());
    println!("push: {}", sync.push(&finding).await?.kind());
    // 4. The worker and reconciliation in the background.
    let _worker = sync.spawn_worker(Duration::from_secs(10));
    let _sweeps = sync.spawn_reconciler(Duration::from_secs(300), 12);
    // 5. The webhook route in the host's axum app.
    let gate = WebhookGate::new(config.webhook.clone().ok_or("configure [webhook]")?)?;
    let route = WebhookRoute::new(gate, sync.inbound().await)
        .on_request(|log| println!("webhook: {} {}", log.outcome, log.reason));
    let app = axum::Router::new().merge(route.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
    println!("webhooks on http://127.0.0.1:8081/webhooks/jira/<secret>");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
