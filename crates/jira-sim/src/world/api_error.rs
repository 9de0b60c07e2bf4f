//! An error answer in Jira's shape, produced by the world and the HTTP layer.

use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A Jira error answer: a status and a JSON body, by default
/// `{"errorMessages":[...],"errors":{...}}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub body: Value,
}

impl ApiError {
    pub fn new(status: u16, messages: &[&str], errors: BTreeMap<String, String>) -> Self {
        Self {
            status,
            body: json!({ "errorMessages": messages, "errors": errors }),
        }
    }
    pub fn message(status: u16, message: &str) -> Self {
        Self::new(status, &[message], BTreeMap::new())
    }
    pub fn fields(errors: BTreeMap<String, String>) -> Self {
        Self::new(400, &[], errors)
    }
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::fields(BTreeMap::from([(field.to_string(), message.into())]))
    }
    pub fn issue_not_found() -> Self {
        Self::message(
            404,
            "Issue does not exist or you do not have permission to see it.",
        )
    }
    pub fn bad_json(detail: &str) -> Self {
        Self::message(
            400,
            &format!("The request body could not be parsed as JSON: {detail}"),
        )
    }
    pub fn content_limit() -> Self {
        Self::message(400, "CONTENT_LIMIT_EXCEEDED")
    }
    /// Whether this is Cloud's `CONTENT_LIMIT_EXCEEDED`.
    pub fn is_content_limit(&self) -> bool {
        *self == Self::content_limit()
    }
}

/// Jira's message for a field that cannot be set.
pub(crate) fn cannot_set(field: &str) -> String {
    format!("Field '{field}' cannot be set. It is not on the appropriate screen, or unknown.")
}
