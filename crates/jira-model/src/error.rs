use thiserror::Error;

/// The error type of this crate: a value that cannot be a valid Jira value,
/// or a payload that does not have the shape asked for.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelError {
    /// An identifier (issue key, project key, field id) is malformed.
    #[error("invalid {kind} {value:?}: {reason}")]
    InvalidId {
        /// What kind of identifier it was meant to be.
        kind: &'static str,
        /// The rejected value (identifiers are never secret).
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A field was present but its value did not have the requested shape.
    #[error("field {field} has an unexpected shape: {message}")]
    FieldShape {
        /// The field id.
        field: String,
        /// What serde said.
        message: String,
    },
    /// A value breaks one of Jira's limits.
    #[error("{what} breaks a Jira limit: {reason}")]
    Limit {
        /// Which value.
        what: &'static str,
        /// Which limit.
        reason: String,
    },
    /// A link target is not a URL the writers will emit. The URL itself is
    /// not repeated: its query may carry a token.
    #[error("invalid link URL: {reason}")]
    InvalidHref {
        /// Why it was rejected.
        reason: &'static str,
    },
    /// An ADF node breaks a rule of Atlassian's schema (or one Jira enforces
    /// beyond it, such as no newline inside a text node).
    #[error("invalid ADF at {path}: {reason}")]
    InvalidAdf {
        /// Where in the document, e.g. `content[2].content[0]`.
        path: String,
        /// Which rule.
        reason: &'static str,
    },
}
