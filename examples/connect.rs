//! Test connection against any Jira, as one configuration file describes it
//! (see `examples/penaxtra-jira.sim.toml` and the README's configuration
//! reference):
//!
//! ```sh
//! JIRA_API_TOKEN=… cargo run --example connect -- --config penaxtra-jira.toml
//! ```
//!
//! The `[jira]` table's `auth` names the kind of credentials (`api_token`,
//! `scoped_token`, `oauth_client_credentials`, `pat`); the report says
//! which worked and where the REST calls went (the site, or Atlassian's
//! API gateway).
//!
//! One line per step; exit code 0 only when every step passed; on failure
//! the error code and its fix; 2 when the configuration is wrong.
//!
//! With `settings.webhook_receiver_url` set, the test ends with a webhook
//! round trip: the `webhook_receiver` example (or the host's receiver) must
//! run on the same store, given with `--store`:
//!
//! ```sh
//! cargo run --example webhook_receiver -- --config penaxtra-jira.toml --store sync.sqlite &
//! cargo run --example connect -- --config penaxtra-jira.toml --store sync.sqlite
//! ```

#[path = "support/service.rs"]
mod service;
#[path = "support/store.rs"]
mod store;

use clap::Parser;
use penaxtra_jira_sync::store::{MemoryStore, SyncStore};
use penaxtra_jira_sync::{JiraSync, MemoryFindings};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(about = "Test the connection to a Jira: create a synthetic issue and close it at once")]
struct Cli {
    /// The configuration file (TOML): one connection, or several
    /// (`[[connections]]`: every one is tested, or the one `--connection`
    /// names).
    #[arg(long)]
    config: PathBuf,
    /// The connection of a file that lists several.
    #[arg(long)]
    connection: Option<String>,
    /// The store shared with the webhook receiver (a SQLite file or
    /// `postgres://…`), for the webhook round trip; default: in memory.
    #[arg(long)]
    store: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let engines = match build(&cli).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let several = engines.len() > 1;
    let mut passed = true;
    for (id, sync) in engines {
        if several {
            println!("== connection {id}");
        }
        passed &= test(&sync).await;
    }
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs one connection's test and prints its steps; whether it passed.
async fn test(sync: &JiraSync) -> bool {
    let report = sync.test_connection().await;
    for step in &report.steps {
        match &step.error {
            None => println!(
                "ok    {:<18} {:>6} ms  {}",
                step.name,
                step.duration.as_millis(),
                step.detail
            ),
            Some(e) => {
                let message = e.to_string();
                println!(
                    "FAIL  {:<18} {:>6} ms  [{}] {message}",
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
    if let (Some(kind), Some(url)) = (&report.credential_kind, &report.api_url) {
        println!("credentials: {kind}, REST calls to {url}");
    }
    if let Some(key) = &report.synthetic_issue {
        println!("synthetic issue: {key}");
    }
    report.passed()
}

/// Every connection to test, each an engine on its own store handle.
async fn build(
    cli: &Cli,
) -> Result<Vec<(penaxtra_jira_sync::ConnectionId, JiraSync)>, Box<dyn std::error::Error>> {
    let mut engines = Vec::new();
    for c in service::pick(&cli.config, cli.connection.as_deref(), true)? {
        let store: Arc<dyn SyncStore> = match &cli.store {
            Some(arg) => store::open(arg, &c.id).await?.sync,
            None => Arc::new(MemoryStore::new().for_connection(c.id.clone())),
        };
        let sync = JiraSync::from_config(&c.config, store, Arc::new(MemoryFindings::new()))
            .map_err(|e| e.in_connection(&c.id))?;
        engines.push((c.id, sync));
    }
    Ok(engines)
}
