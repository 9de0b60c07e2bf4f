//! The README's embedding example as a host crate of its own: it depends
//! on `penaxtra-jira-sync` (the lower layers come through its re-exports)
//! and on the tokio and axum it runs on, nothing else of ours. It builds the
//! engine from one configuration file, pushes a finding, runs the worker
//! and reconciliation, and mounts the webhook route.
//!
//! ```sh
//! cargo run -p jira-sim -- --listen 127.0.0.1:8080 --flavor cloud &
//! JIRA_API_TOKEN=sim-api-token cargo run -p penaxtra-host-example -- examples/penaxtra-jira.sim.toml
//! ```
//!
//! Arguments: the configuration file, then optionally the SQLite file of
//! the sync store (default `penaxtra-jira.sqlite`) and the address to serve
//! webhooks on (default `127.0.0.1:8081`). Serves until stopped (Ctrl-C).

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
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or(
        "usage: penaxtra-host-example <configuration.toml> [store.sqlite] [listen address]",
    )?;
    let store_path = args.next().unwrap_or_else(|| "penaxtra-jira.sqlite".into());
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:8081".into());
    // 1. The host's findings (here in memory) and the durable sync store.
    let findings = Arc::new(MemoryFindings::new());
    let store = Arc::new(SqliteStore::open(&store_path)?);
    // 2. The engine, from one configuration file.
    let config = SyncConfig::from_toml_file(path.as_ref())?;
    let sync = JiraSync::from_config(&config, store, findings.clone())?;
    // 3. Outbound: push findings as they are opened.
    let finding: Finding = serde_json::from_str(
        r#"{"id":"fnd_embed_1","title":"Prompt injection","severity":"high","state":"open"}"#,
    )?;
    findings.insert(finding.clone());
    let outcome = sync.push(&finding).await?;
    let issue = outcome.issue_key().map(ToString::to_string);
    println!(
        "push: {} {}",
        outcome.kind(),
        issue.as_deref().unwrap_or("-")
    );
    // 4. The worker and reconciliation in the background.
    let _worker = sync.spawn_worker(Duration::from_secs(10));
    let _sweeps = sync.spawn_reconciler(Duration::from_secs(300), 12);
    // 5. The webhook route in the host's axum app.
    let gate = WebhookGate::new(config.webhook.clone().ok_or("configure [webhook]")?)?;
    let route = WebhookRoute::new(gate, sync.inbound().await)
        .on_request(|log| println!("webhook: {} {}", log.outcome, log.reason));
    let app = axum::Router::new().merge(route.router());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!(
        "webhooks on http://{}/webhooks/jira/<secret>",
        listener.local_addr()?
    );
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
