//! Parked work a person can act on, straight from the sync store (no Jira
//! connection needed, so it runs beside a stopped service too).
//!
//! ```sh
//! cargo run --example parked -- --store sync.sqlite list
//! cargo run --example parked -- --store sync.sqlite retry 12
//! cargo run --example parked -- --store sync.sqlite retry-all
//! cargo run --example parked -- --store sync.sqlite drop 12 --reason "SEC-4 deleted on purpose (alex)"
//! ```
//!
//! `list` prints one JSON line per parked operation:
//! `{"id","op","finding","attempts","code","message"}`; the others print
//! what they did. Retried operations run at the service's next worker round.
//! Exit code 1 when the id is not a parked operation, 2 on bad input.

use clap::{Parser, Subcommand};
use penaxtra_jira_sync::parked::{self, ParkedAction};
use penaxtra_jira_sync::store::{OpId, SqliteStore};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(about = "List, retry or drop operations parked for a person")]
struct Cli {
    /// The SQLite sync store.
    #[arg(long)]
    store: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every parked operation, with its code and fix.
    List,
    /// Queue one again, due now (after fixing its cause).
    Retry {
        /// The operation's id (from `list`).
        id: i64,
    },
    /// Queue every parked operation again.
    RetryAll,
    /// Drop one for good.
    Drop {
        /// The operation's id (from `list`).
        id: i64,
        /// Why (kept in the log).
        #[arg(long)]
        reason: String,
    },
}

#[tokio::main(flavor = "current_thread")]
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
    if !cli.store.exists() {
        return Err(format!("no store at {}", cli.store.display()).into());
    }
    let store = SqliteStore::open(&cli.store)?;
    let now = chrono::Utc::now().timestamp_millis();
    let outcome = match cli.command {
        Command::List => {
            for p in parked::list(&store).await? {
                let line = serde_json::json!({
                    "id": p.id.0,
                    "op": p.op,
                    "finding": p.op.finding().as_str(),
                    "attempts": p.attempts,
                    "code": p.code,
                    "message": p.message,
                });
                println!("{line}");
            }
            return Ok(ExitCode::SUCCESS);
        }
        Command::RetryAll => {
            let n = parked::retry_all(&store, now).await?;
            println!("{n} parked operations queued again");
            return Ok(ExitCode::SUCCESS);
        }
        Command::Retry { id } => parked::retry(&store, OpId(id), now).await?,
        Command::Drop { id, reason } => {
            if reason.trim().is_empty() {
                return Err("--reason must say why".into());
            }
            parked::drop(&store, OpId(id), &reason).await?
        }
    };
    Ok(match outcome {
        ParkedAction::Retried(id) => {
            println!("queued again as {id}");
            ExitCode::SUCCESS
        }
        ParkedAction::Dropped(p) => {
            println!("dropped {} ({} of {})", p.id, p.code, p.op.finding());
            ExitCode::SUCCESS
        }
        ParkedAction::NotFound(id) => {
            eprintln!("{id} is not a parked operation (see `list`)");
            ExitCode::FAILURE
        }
        _ => ExitCode::FAILURE,
    })
}
