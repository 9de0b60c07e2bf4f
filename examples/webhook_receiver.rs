//! Serve inbound Jira webhooks:
//!
//! ```sh
//! cargo run --example webhook_receiver -- --listen 127.0.0.1:8081 --secret S \
//!     --hmac-secret H --allow-ip 127.0.0.0/8 --links links.json
//! ```
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
#[path = "support/store.rs"]
mod store;

use clap::Parser;
use penaxtra_jira_sync::store::{Link, MemoryStore, SyncStore};
use penaxtra_jira_sync::webhook::{IpAllowlist, WebhookGate, WebhookGateConfig};
use penaxtra_jira_sync::{Inbound, MemoryFindings};
use penaxtra_mapping::{Finding, FindingId, FindingState};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(about = "Receive Jira webhooks, verify them and apply them to findings")]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// The shared secret in the webhook URL (give twice while rotating).
    #[arg(long = "secret", required = true)]
    secrets: Vec<String>,
    /// The X-Hub-Signature signing secret (give twice while rotating).
    #[arg(long = "hmac-secret")]
    hmac_secrets: Vec<String>,
    /// Source networks allowed (repeatable), e.g. 127.0.0.0/8.
    #[arg(long = "allow-ip", required = true)]
    allow_ip: Vec<String>,
    /// Project key of the linked issues.
    #[arg(long, default_value = "SEC")]
    project: String,
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
    let allowlist = IpAllowlist::from_cidrs(&cli.allow_ip)?;
    let mut secrets = cli.secrets.into_iter();
    let first = secrets.next().ok_or("--secret is required")?;
    let mut config = WebhookGateConfig::builder(allowlist, first.into());
    for s in secrets {
        config = config.url_secret(s.into());
    }
    for s in cli.hmac_secrets {
        config = config.hmac_secret(s.into());
    }
    let gate = WebhookGate::new(config.build()?)?;

    let (store, links): (Arc<dyn SyncStore>, Vec<Link>) = match (&cli.store, &cli.links) {
        (Some(arg), None) => {
            let store = store::open(arg).await?.sync;
            let links = store.links().await?;
            (store, links)
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let lines: Vec<LinkLine> =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let store = MemoryStore::new();
            let mut links = Vec::new();
            for l in lines {
                let link = Link::new(
                    FindingId::new(l.finding_id)?,
                    l.issue_key,
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
    let inbound = Inbound::new(store, Arc::new(findings), cli.project);

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
