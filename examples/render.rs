//! Renders Penaxtra findings into the exact bodies of Jira's create-issue
//! request, without talking to Jira:
//!
//! ```sh
//! cargo run -p penaxtra-jira-sync --example render -- --flavor cloud examples/findings.sample.json
//! cat findings.json | cargo run -p penaxtra-jira-sync --example render -- --flavor datacenter --config mapping.toml
//! ```
//!
//! Reads a JSON array of findings from FILE, or from stdin without one, and
//! prints a JSON array with one element per finding:
//! `{"finding_id": "...", "matches_rule": true|false, "request": {...}}`,
//! where `request` is the body for `POST /rest/api/3/issue` (Cloud, ADF
//! description) or `POST /rest/api/2/issue` (Data Center, wiki markup).
//!
//! Without `--config` the documented default mapping applies: rule
//! severity ≥ high and state open; project `SEC`, issue type `Bug`, the
//! finding id in `customfield_10031`, framework references in
//! `customfield_10032` as a multi-select; redaction on. `--config` takes a
//! TOML file (JSON when it ends in `.json`) of
//! `penaxtra_mapping::MappingConfig`.
//!
//! Bad input (malformed JSON, an unknown severity, a bad setting) prints one
//! line naming the file, line, column, finding and field, and exits with 1.

use clap::Parser;
use jira_model::Flavor;
use penaxtra_mapping::{MappingConfig, parse_findings, render_all};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(about = "Render Penaxtra findings into Jira create-issue request bodies")]
struct Cli {
    /// Which Jira: `cloud` (REST v3, ADF) or `datacenter` (REST v2, wiki markup).
    #[arg(long)]
    flavor: Flavor,
    /// Mapping settings (TOML, or JSON for a `.json` file); the documented
    /// default without it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A JSON array of findings; stdin without it.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

fn read(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
}

fn load_config(path: &PathBuf) -> Result<MappingConfig, String> {
    let text = read(path)?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    } else {
        toml::from_str(&text)
            .map_err(|e| format!("{}: {}", path.display(), e.to_string().trim_end()))
    }
}

fn run(cli: &Cli) -> Result<String, String> {
    let (config, config_name) = match &cli.config {
        Some(path) => (load_config(path)?, path.display().to_string()),
        None => (MappingConfig::default(), "default settings".to_string()),
    };
    let mapping = config.build().map_err(|e| format!("{config_name}: {e}"))?;
    let (input, source) = match &cli.file {
        Some(path) => (read(path)?, path.display().to_string()),
        None => (
            std::io::read_to_string(std::io::stdin())
                .map_err(|e| format!("stdin: cannot read: {e}"))?,
            "stdin".to_string(),
        ),
    };
    let findings = parse_findings(&input).map_err(|e| format!("{source}: {e}"))?;
    let rendered = render_all(&findings, &mapping.rule, &mapping.template, cli.flavor)
        .map_err(|e| format!("{source}: {e}"))?;
    serde_json::to_string_pretty(&rendered).map_err(|e| format!("cannot print the result: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
