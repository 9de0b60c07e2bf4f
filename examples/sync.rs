//! Push a findings file to a Jira, keeping links and pending work in a
//! durable store (a SQLite file, or Postgres with `--store postgres://…`);
//! resumable at any moment, and runnable as several replicas on one store:
//!
//! ```sh
//! cargo run -p jira-sim -- --listen 127.0.0.1:8080 --flavor cloud &
//! JIRA_API_TOKEN=sim-api-token cargo run --example sync -- --config examples/penaxtra-jira.sim.toml \
//!     --store sync.sqlite examples/findings.sample.json
//! ```
//!
//! The configuration file (see the README's configuration reference) sets
//! the connection, the mapping and the engine's `[settings]`.
//!
//! With Postgres (`PX_PG_SCHEMA` chooses the schema, default
//! `penaxtra_jira`), several copies may run at once against one database,
//! as replicas; `--shared-rate` makes them share `jira.rate_limit` through
//! the store instead of each pacing itself alone:
//!
//! ```sh
//! JIRA_API_TOKEN=sim-api-token cargo run --example sync -- --config examples/penaxtra-jira.sim.toml \
//!     --store postgres://postgres@127.0.0.1:5432/test --shared-rate examples/findings.sample.json
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
//!
//! `PENAXTRA_CLOCK_OFFSET_MS` (e.g. `90000`, or `-90000`) runs this process
//! with its wall clock that far ahead of (or behind) the system's: a
//! replica on a host whose clock is wrong. Claims are measured on the
//! store's clock, so it makes no duplicate.

#[path = "support/service.rs"]
mod service;
#[path = "support/store.rs"]
mod store;

use clap::Parser;
use penaxtra_jira_sync::config::parse_duration;
use penaxtra_jira_sync::{
    Clock, JiraSync, MemoryFindings, OffsetClock, Progress, PushKind, SharedRateBudget, WorkLeft,
};
use penaxtra_mapping::Finding;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(about = "Push findings to Jira with a durable, resumable store (SQLite or Postgres)")]
struct Cli {
    /// The configuration file (TOML): one connection, or several
    /// (`[[connections]]`, then `--connection` names the one to sync).
    #[arg(long)]
    config: PathBuf,
    /// The connection of a file that lists several.
    #[arg(long)]
    connection: Option<String>,
    /// The store: a SQLite file (created when missing) or a Postgres
    /// connection string, postgres://user[:password]@host[:port]/db.
    #[arg(long)]
    store: String,
    /// Share `jira.rate_limit` with every process using this store (a
    /// budget kept in the store). Without it, each process paces itself.
    #[arg(long)]
    shared_rate: bool,
    /// A JSON array of findings (the format of the render example).
    file: PathBuf,
    /// How long to wait for work left (retries, claims of a killed run):
    /// e.g. 300s, 5m, 1500ms.
    #[arg(long, default_value = "5m", value_parser = |s: &str| parse_duration("--max-wait", s).map_err(|e| e.to_string()))]
    max_wait: Duration,
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
    let picked = service::pick(&cli.config, cli.connection.as_deref(), false)?;
    let Some(connection) = picked.into_iter().next() else {
        return Err("no connection to sync".into());
    };
    let config = connection.config;
    let opened = store::open(&cli.store, &connection.id).await?;
    let mut client = config.jira.client_builder()?;
    if let Some(offset) = clock_offset()? {
        eprintln!("this process's clock runs {offset} ms off the system's");
        client = client.clock(Arc::new(OffsetClock::new(offset)) as Arc<dyn Clock>);
    }
    if cli.shared_rate {
        let budget = SharedRateBudget::new(opened.budget, "jira", config.jira.rate_limit()?);
        client = client.shared_budget(Arc::new(budget));
    }
    let host = Arc::new(MemoryFindings::with(findings.clone()));
    let sync = JiraSync::builder(client.build()?, opened.sync, host)
        .mapping(config.checked_mapping()?)
        .settings(config.settings.to_settings()?)
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

/// `PENAXTRA_CLOCK_OFFSET_MS`, when set.
fn clock_offset() -> Result<Option<i64>, String> {
    match std::env::var("PENAXTRA_CLOCK_OFFSET_MS") {
        Ok(v) => v.trim().parse().map(Some).map_err(|_| {
            format!("PENAXTRA_CLOCK_OFFSET_MS must be a whole number of milliseconds, not {v:?}")
        }),
        Err(_) => Ok(None),
    }
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
