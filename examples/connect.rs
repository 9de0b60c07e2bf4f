//! Test connection against any Jira:
//!
//! ```sh
//! JIRA_API_TOKEN=… cargo run --example connect -- --url https://acme.atlassian.net \
//!     --flavor cloud --email penaxtra-bot@acme.example --project SEC --issue-type Bug
//! JIRA_PAT=… cargo run --example connect -- --url https://jira.corp.example --flavor datacenter
//! ```
//!
//! One line per step; exit code 0 only when every step passed; on failure
//! the error code and its fix.

#[path = "support/connection.rs"]
mod connection;

use clap::Parser;
use penaxtra_jira_sync::store::MemoryStore;
use penaxtra_jira_sync::{JiraSync, MemoryFindings};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(about = "Test the connection to a Jira: create a synthetic issue and close it at once")]
struct Cli {
    #[command(flatten)]
    connection: connection::ConnectionArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let sync = match build(&cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let report = sync.test_connection().await;
    for step in &report.steps {
        match &step.error {
            None => println!(
                "ok    {:<14} {:>6} ms  {}",
                step.name,
                step.duration.as_millis(),
                step.detail
            ),
            Some(e) => {
                let message = e.to_string();
                println!(
                    "FAIL  {:<14} {:>6} ms  [{}] {message}",
                    step.name,
                    step.duration.as_millis(),
                    e.code()
                );
                if let Some(fix) = e.fix().filter(|fix| !message.contains(fix)) {
                    println!("      fix: {fix}");
                }
            }
        }
    }
    if let Some(key) = &report.synthetic_issue {
        println!("synthetic issue: {key}");
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn build(cli: &Cli) -> Result<JiraSync, Box<dyn std::error::Error>> {
    let client = cli.connection.client(None)?;
    let template = cli.connection.template()?;
    Ok(JiraSync::builder(
        client,
        Arc::new(MemoryStore::new()),
        Arc::new(MemoryFindings::new()),
    )
    .template(template)
    .build()?)
}
