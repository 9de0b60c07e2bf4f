//! `jira-sim`: run the simulator from the command line.
//!
//! ```text
//! cargo run -p jira-sim -- --listen 127.0.0.1:8080 --flavor cloud|datacenter [--config FILE] [--seed N] [--search-lag-ms N]
//! ```
//!
//! Prints one line with the base URL, then the accounts it accepts, and
//! serves until Ctrl-C.

use clap::Parser;
use jira_model::Flavor;
use jira_sim::{JiraSim, SimConfig, SimError, accounts};
use std::path::PathBuf;

/// A stateful Jira Cloud / Data Center simulator on loopback.
#[derive(Parser, Debug)]
#[command(name = "jira-sim", version)]
struct Args {
    /// Loopback address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// `cloud` (REST v3 and v2, Basic e-mail + API token) or `datacenter`
    /// (REST v2, Bearer PAT).
    #[arg(long, value_parser = parse_flavor, default_value = "cloud")]
    flavor: Flavor,
    /// A JSON configuration file (see the README).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Seed of the simulator's own randomness (webhook identifiers).
    #[arg(long)]
    seed: Option<u64>,
    /// A webhook URL to deliver events to (repeatable).
    #[arg(long)]
    webhook: Vec<String>,
    /// HMAC secret for the `--webhook` URLs.
    #[arg(long)]
    webhook_secret: Option<String>,
    /// Milliseconds a create or update takes to reach JQL search, as on
    /// Jira Cloud (default 0, or the config file's `search_lag_ms`).
    #[arg(long)]
    search_lag_ms: Option<u64>,
}

fn parse_flavor(s: &str) -> Result<Flavor, String> {
    s.parse()
}

async fn run(args: Args) -> Result<(), SimError> {
    let mut config = match &args.config {
        Some(path) => SimConfig::from_json_file(path, args.flavor)?,
        None => SimConfig::new(args.flavor),
    };
    config = config.listen(args.listen.clone());
    if let Some(seed) = args.seed {
        config = config.seed(seed);
    }
    if let Some(ms) = args.search_lag_ms {
        config = config.search_lag(std::time::Duration::from_millis(ms));
    }
    for url in &args.webhook {
        config = config.webhook(url.clone(), args.webhook_secret.clone());
    }
    let sim = JiraSim::start(config).await?;
    println!(
        "jira-sim ({}) listening on {}",
        sim.flavor(),
        sim.base_url()
    );
    for a in accounts::ALL {
        let how = match sim.flavor() {
            Flavor::Cloud => format!("Basic {}:{}", a.email, token_of(a.name, Flavor::Cloud)),
            Flavor::DataCenter => format!("Bearer {}", token_of(a.name, Flavor::DataCenter)),
        };
        let role = if a.can_write {
            "read-write"
        } else {
            "read-only (no Create Issues)"
        };
        println!("  account {:<13} {:<28} {role}", a.name, how);
    }
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
    Ok(())
}

/// The well-known credential of a simulator account (they are public by
/// design: the simulator guards nothing).
fn token_of(name: &str, flavor: Flavor) -> &'static str {
    match (name, flavor) {
        ("penaxtra-bot", Flavor::Cloud) => accounts::SERVICE_API_TOKEN,
        ("penaxtra-bot", Flavor::DataCenter) => accounts::SERVICE_PAT,
        ("alex", Flavor::Cloud) => accounts::HUMAN_API_TOKEN,
        ("alex", Flavor::DataCenter) => accounts::HUMAN_PAT,
        (_, Flavor::Cloud) => accounts::READONLY_API_TOKEN,
        (_, Flavor::DataCenter) => accounts::READONLY_PAT,
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jira-sim: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
