use thiserror::Error;

/// The error type of this crate: bad findings, bad configuration, or a
/// finding that cannot be rendered within Jira's limits.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MappingError {
    /// Findings JSON that could not be read, with the place: serde_json's
    /// line and column and, when known, which finding and which field.
    #[error("findings JSON at line {line} column {column}{location}: {message}")]
    Json {
        /// 1-based line (0 when the input ended early).
        line: usize,
        /// 1-based column.
        column: usize,
        /// ` (finding #3 "fnd_1", field "severity")`, or empty.
        location: String,
        /// What was wrong.
        message: String,
    },
    /// A finding value that breaks a rule of the finding JSON form.
    #[error("invalid finding {field}: {reason}")]
    InvalidFinding {
        /// The field (`id`, `title`, `probe_id`...).
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A severity that is not one of the five.
    #[error("unknown severity {value:?}: expected one of info, low, medium, high, critical")]
    UnknownSeverity {
        /// The value given (at most 64 characters of it).
        value: String,
    },
    /// A finding state that is not one of the five.
    #[error(
        "unknown finding state {value:?}: expected one of open, triaged, resolved, accepted, false_positive"
    )]
    UnknownState {
        /// The value given (at most 64 characters of it).
        value: String,
    },
    /// A configuration value that cannot work.
    #[error("invalid configuration {field}: {reason}")]
    Config {
        /// The setting, e.g. `template.project_key`.
        field: String,
        /// Why, and what to do.
        reason: String,
    },
    /// The finding cannot be rendered within Jira's limits.
    #[error("cannot render finding {finding}: {reason}")]
    Render {
        /// The finding id.
        finding: String,
        /// Why.
        reason: String,
    },
}

impl MappingError {
    /// A stable code for the kind of error: `findings_json`,
    /// `invalid_finding`, `unknown_severity`, `unknown_state`,
    /// `invalid_config` or `render_failed`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Json { .. } => "findings_json",
            Self::InvalidFinding { .. } => "invalid_finding",
            Self::UnknownSeverity { .. } => "unknown_severity",
            Self::UnknownState { .. } => "unknown_state",
            Self::Config { .. } => "invalid_config",
            Self::Render { .. } => "render_failed",
        }
    }

    pub(crate) fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// At most 64 characters of a rejected value, for an error message.
pub(crate) fn excerpt_of(value: &str) -> String {
    value.chars().take(64).collect()
}
