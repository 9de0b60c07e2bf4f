//! The crate's error type.

use thiserror::Error;

/// What can go wrong when configuring, starting or driving the simulator.
///
/// Errors never carry tokens, webhook secrets or URL queries.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SimError {
    /// The listen address could not be bound.
    #[error("could not bind the simulator to {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A configuration value is invalid (a rate, a workflow, a webhook URL).
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    /// A configuration file could not be read or parsed.
    #[error("could not read simulator configuration file {path}: {message}")]
    ConfigFile {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// An I/O error while serving.
    #[error("simulator I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl SimError {
    /// A stable code for the error: `bind`, `config`, `config_file` or `io`.
    pub fn code(&self) -> &'static str {
        match self {
            SimError::Bind { .. } => "bind",
            SimError::Config(_) => "config",
            SimError::ConfigFile { .. } => "config_file",
            SimError::Io(_) => "io",
        }
    }
}
