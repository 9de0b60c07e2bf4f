//! Push a findings file to a Jira, keeping links and pending work in a
//! SQLite store; resumable at any moment:
//!
//! ```sh
//! cargo run -p jira-sim -- --listen 127.0.0.1:8080 --flavor cloud &
//! JIRA_API_TOKEN=sim-api-token cargo run --example sync -- --url http://127.0.0.1:8080 \
//!     --email penaxtra-bot@sim.example --store sync.sqlite examples/findings.sample.json
//! ```
//!
//! Kill it whenever you like and run it again: every matching finding ends
//! with exactly one issue. Ends with one JSON summary line.

#[path = "support/connection.rs"]
mod connection;

use clap::Parser;
use penaxtra_jira_sync::store::{SqliteStore, SyncStore};
use penaxtra_jira_sync::{JiraSync, MemoryFindings, Progress};
use penaxtra_mapping::Finding;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(about = "Push findings to Jira with a durable, resumable SQLite store")]
struct Cli {
    #[command(flatten)]
    connection: connection::ConnectionArgs,
    /// The SQLite store (created when missing).
    #[arg(long)]
    store: PathBuf,
    /// A JSON array of findings (the format of the render example).
    file: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(&cli.file)
        .map_err(|e| format!("cannot read {}: {e}", cli.file.display()))?;
    let findings: Vec<Finding> = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a JSON array of findings: {e}", cli.file.display()))?;
    let store = Arc::new(SqliteStore::open(&cli.store)?);
    let host = Arc::new(MemoryFindings::with(findings.clone()));
    let sync = JiraSync::builder(cli.connection.client()?, store.clone(), host)
        .template(cli.connection.template()?)
        .build()?;

    // Work left by an earlier run first, then the file.
    let earlier = sync.run_due().await?;
    let report = sync.push_many(&findings, progress_bar).await?;
    eprintln!();
    let later = sync.run_due().await?;
    let queued = store.pending().await?.len();
    let summary = serde_json::json!({
        "created": report.count("created") + report.count("recovered"),
        "already_linked": report.count("already_linked"),
        "skipped": report.count("skipped"),
        "failed": report.count("failed"),
        "queued": queued,
        "retried_from_earlier_runs": earlier.done + later.done,
    });
    println!("{summary}");
    Ok(if report.count("failed") == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn progress_bar(p: &Progress) {
    let width = 30;
    let filled = (p.done * width)
        .checked_div(p.total)
        .unwrap_or(width)
        .min(width);
    eprint!(
        "\r[{}{}] {}/{} created {} deferred {}",
        "#".repeat(filled),
        " ".repeat(width - filled),
        p.done,
        p.total,
        p.created,
        p.deferred
    );
    let _ = std::io::stderr().flush();
}
