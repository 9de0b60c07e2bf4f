//! `--config` and `--connection` of the `sync`, `connect` and
//! `webhook_receiver` examples: a file with one connection (read as
//! `default`) or several (`[[connections]]`), and the one to use.

use penaxtra_jira_sync::config::{ConnectionConfig, ServiceConfig};
use std::path::Path;

/// The connections of `path` that `wanted` names: the one given, or every
/// one when `all` and none is given, or the only one.
pub fn pick(
    path: &Path,
    wanted: Option<&str>,
    all: bool,
) -> Result<Vec<ConnectionConfig>, Box<dyn std::error::Error>> {
    let service = ServiceConfig::from_toml_file(path)?;
    let ids = || {
        service
            .connections
            .iter()
            .map(|c| c.id.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted {
        Some(w) => match service.connections.iter().find(|c| c.id.as_str() == w) {
            Some(c) => Ok(vec![c.clone()]),
            None => Err(format!(
                "{}: no connection {w:?} (it has: {})",
                path.display(),
                ids()
            )
            .into()),
        },
        None if all || service.connections.len() == 1 => Ok(service.connections.clone()),
        None => Err(format!(
            "{} lists several connections ({}): choose one with --connection",
            path.display(),
            ids()
        )
        .into()),
    }
}
