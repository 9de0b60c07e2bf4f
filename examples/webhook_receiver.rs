//! Serve inbound Jira webhooks:
//!
//! ```sh
//! cargo run --example webhook_receiver -- --config examples/penaxtra-jira.sim.toml \
//!     --listen 127.0.0.1:8081 --links links.json
//! ```
//!
//! The configuration file's `[webhook]` section sets the gate (allowlist,
//! URL secrets, signing secrets); its mapping sets the project, state table
//! and inbound policy; `service_account` the identity whose changes are
//! echoes.
//!
//! Mounted at `/webhooks/jira/<secret>` and `/webhooks/jira?secret=<secret>`.
//! Prints one JSON line per request:
//! `{"delivery","issue","finding","from","to","outcome","reason","status"}`.
//! Findings come from `--store` (the store the `sync` example wrote: a
//! SQLite file or `postgres://…`;
//! each linked finding starts in the state last synced) or from `--links`
//! (a JSON array of `{"issue_key","finding_id","state"}`).

#[path = "support/receiver.rs"]
mod receiver;
#[path = "support/service.rs"]
mod service;
#[path = "support/store.rs"]
mod store;

use clap::Parser;
use penaxtra_jira_sync::store::{Link, MemoryStore, SyncStore};
use penaxtra_jira_sync::webhook::WebhookGate;
use penaxtra_jira_sync::{Inbound, MemoryFindings};
use penaxtra_mapping::{Finding, FindingId, FindingState};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(about = "Receive Jira webhooks, verify them and apply them to findings")]
struct Cli {
    /// The configuration file (TOML) with a `[webhook]` section: one
    /// connection, or several (`[[connections]]`, then `--connection`
    /// names the one to serve).
    #[arg(long)]
    config: PathBuf,
    /// The connection of a file that lists several.
    #[arg(long)]
    connection: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// The sync store the `sync` example wrote: a SQLite file or a
    /// Postgres connection string (postgres://…).
    #[arg(long, conflicts_with = "links")]
    store: Option<String>,
    /// JSON array of {"issue_key","finding_id","state"} for a quick trial.
    #[arg(long)]
    links: Option<PathBuf>,
}

#[derive(serde::Deserialize)]
struct LinkLine {
    issue_key: String,
    finding_id: String,
    state: FindingState,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let picked = service::pick(&cli.config, cli.connection.as_deref(), false)?;
    let Some(connection) = picked.into_iter().next() else {
        return Err("no connection to serve".into());
    };
    let config = connection.config;
    let gate_config = config.webhook.clone().ok_or_else(|| {
        format!(
            "{}: a [webhook] section (allowlist, url_secrets, hmac_secrets) is required",
            cli.config.display()
        )
    })?;
    let gate = WebhookGate::new(gate_config)?;

    let (store, links): (Arc<dyn SyncStore>, Vec<Link>) = match (&cli.store, &cli.links) {
        (Some(arg), None) => {
            let store = store::open(arg, &connection.id).await?.sync;
            let links = store.links().await?;
            (store, links)
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let lines: Vec<LinkLine> =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let store = MemoryStore::new().for_connection(connection.id.clone());
            let mut links = Vec::new();
            for l in lines {
                let link = Link::new(
                    FindingId::new(l.finding_id)?,
                    jira_model::IssueKey::new(l.issue_key)?,
                    String::new(),
                    l.state,
                    0,
                );
                store.insert_link(&link, None).await?;
                links.push(link);
            }
            (Arc::new(store), links)
        }
        _ => return Err("give exactly one of --store or --links".into()),
    };
    let findings = MemoryFindings::new();
    for link in &links {
        findings.insert(placeholder_finding(link)?);
    }
    let inbound = Inbound::from_config(&config, store, Arc::new(findings))?;

    let listener = tokio::net::TcpListener::bind(cli.listen).await?;
    eprintln!(
        "listening on http://{}{}/<secret> with {} linked issue(s)",
        listener.local_addr()?,
        receiver::MOUNT,
        links.len()
    );
    receiver::serve(listener, gate, inbound, Arc::new(|line| println!("{line}"))).await?;
    Ok(())
}

/// The receiver only needs a finding's id and state; the rest is a stand-in.
fn placeholder_finding(link: &Link) -> Result<Finding, serde_json::Error> {
    serde_json::from_value(serde_json::json!({
        "id": link.finding_id.as_str(),
        "title": format!("finding linked to {}", link.issue_key),
        "severity": "high",
        "state": link.state_out.unwrap_or(FindingState::Open).as_str(),
        "probe_id": "unknown",
        "scan_id": "unknown",
        "frameworks": [],
        "excerpt": "",
        "url": "https://penaxtra.com/app/findings/",
    }))
}
