//! Push a findings file to a Jira, keeping links and pending work in a
//! durable store (a SQLite file, or Postgres with `--store postgres://…`);
//! resumable at any moment, and runnable as several replicas on one store:
//!
//! ```sh
//! cargo run -p jira-sim -- --listen 127.0.0.1:8080 --flavor cloud &
//! JIRA_API_TOKEN=sim-api-token cargo run --example sync -- --url http://127.0.0.1:8080 \
//!     --email penaxtra-bot@sim.example --store sync.sqlite examples/findings.sample.json
//! ```
//!
//! With Postgres (`PX_PG_SCHEMA` chooses the schema, default
//! `penaxtra_jira`), several copies may run at once against one database,
//! as replicas; `--shared-rate N` makes them share N requests a second
//! through the store instead of each pacing itself alone:
//!
//! ```sh
//! JIRA_API_TOKEN=sim-api-token cargo run --example sync -- --url http://127.0.0.1:8080 \
//!     --email penaxtra-bot@sim.example --store postgres://postgres@127.0.0.1:5432/test \
//!     --shared-rate 10 examples/findings.sample.json
//! ```
//!
//! Kill it whenever you like (SIGKILL included) and run it again: every
//! matching finding ends with exactly one issue, and the run that is started
//! again finishes the job. It first settles what earlier runs left, pushes
//! the file, then waits (with a progress line) for the work it can still do
//! — retries due later, claims of a killed run that expire within one lease
//! — until nothing is left or `--max-wait` has passed, and runs a
//! reconciliation sweep. Ends with one JSON summary line:
//! `{"created":…,"already_linked":…,"skipped":…,"failed":…,"queued":…,"parked":…,"healed":…,"timed_out":…,"retried_from_earlier_runs":…}`
//! (`queued`: operations still waiting; `failed`: findings parked for a
//! person). Exit code 0 when nothing failed and nothing is left.

#[path = "support/connection.rs"]
mod connection;
#[path = "support/store.rs"]
mod store;

use clap::Parser;
use penaxtra_jira_sync::{
    JiraSync, MemoryFindings, Progress, PushKind, SharedRateBudget, SyncSettings, WorkLeft,
};
use penaxtra_mapping::Finding;
use std::io::Write;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(about = "Push findings to Jira with a durable, resumable store (SQLite or Postgres)")]
struct Cli {
    #[command(flatten)]
    connection: connection::ConnectionArgs,
    /// The store: a SQLite file (created when missing) or a Postgres
    /// connection string, postgres://user[:password]@host[:port]/db.
    #[arg(long)]
    store: String,
    /// Requests a second shared by every process using this store (a
    /// budget kept in the store; bursts of the same size). Without it,
    /// each process paces itself alone.
    #[arg(long)]
    shared_rate: Option<NonZeroU32>,
    /// A JSON array of findings (the format of the render example).
    file: PathBuf,
    /// How long to wait for work left (retries, claims of a killed run):
    /// e.g. 300s, 5m, 1500ms.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    max_wait: Duration,
    /// How long a claim holds without renewal (default 30s).
    #[arg(long, value_parser = parse_duration)]
    claim_lease: Option<Duration>,
    /// How long Jira's search may lag behind a create (default 60s for
    /// Cloud, 2s for Data Center).
    #[arg(long, value_parser = parse_duration)]
    search_consistency_window: Option<Duration>,
    /// First retry delay (default 5s).
    #[arg(long, value_parser = parse_duration)]
    retry_base: Option<Duration>,
    /// Longest retry delay (default 15m).
    #[arg(long, value_parser = parse_duration)]
    retry_max: Option<Duration>,
}

/// `1500ms`, `30s`, `5m` or plain seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 1500ms, 30s or 5m"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("{s:?}: the unit must be ms, s or m")),
    }
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
    let opened = store::open(&cli.store).await?;
    let store = opened.sync;
    let budget = cli.shared_rate.map(|rate| {
        Arc::new(SharedRateBudget::new(
            opened.budget,
            "jira",
            jira_client::RateLimit::new(rate, rate),
        )) as Arc<dyn jira_client::RequestBudget>
    });
    let host = Arc::new(MemoryFindings::with(findings.clone()));
    let mut settings = SyncSettings::default();
    if let Some(d) = cli.claim_lease {
        settings.claim_lease = d;
    }
    settings.search_consistency_window = cli.search_consistency_window;
    if let Some(d) = cli.retry_base {
        settings.retry_base = d;
    }
    if let Some(d) = cli.retry_max {
        settings.retry_max = d;
    }
    let sync = JiraSync::builder(cli.connection.client(budget)?, store, host)
        .template(cli.connection.template()?)
        .settings(settings)
        .build()?;

    // Work left by an earlier run first (its creates are recovered once
    // their claims expire), then the file, then whatever is left.
    let earlier = sync.run_due().await?;
    let report = sync.push_many(&findings, progress_bar).await?;
    eprintln!();
    let settled = sync.settle(cli.max_wait, waiting_line).await?;
    eprintln!();
    let healed = settled.reconcile.as_ref().map_or(0, |r| r.healed.len());
    let summary = serde_json::json!({
        "created": report.count(PushKind::Created) + report.count(PushKind::Recovered),
        "already_linked": report.count(PushKind::AlreadyLinked),
        "skipped": report.count(PushKind::Skipped),
        "failed": settled.left.parked,
        "queued": settled.left.queued + settled.left.claims,
        "parked": settled.left.parked,
        "healed": healed,
        "timed_out": settled.timed_out,
        "retried_from_earlier_runs": earlier.done + earlier.recovered,
    });
    println!("{summary}");
    Ok(if settled.left.parked == 0 && settled.left.is_done() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn waiting_line(left: &WorkLeft) {
    eprint!(
        "\rwaiting: {} queued, {} claims in flight, {} parked   ",
        left.queued, left.claims, left.parked
    );
    let _ = std::io::stderr().flush();
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
