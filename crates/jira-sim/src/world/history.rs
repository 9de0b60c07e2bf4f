//! An issue's change history, as `expand=changelog` and
//! `GET issue/{key}/changelog` show it.

use chrono::{DateTime, Utc};
use jira_model::webhook::ChangelogItem;
use serde::{Deserialize, Serialize};

/// One change: who made it, when, and the fields it changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SimHistory {
    /// History id (the webhook's `changelog.id`).
    pub id: String,
    /// Name of the account that made the change.
    pub author: String,
    /// When.
    pub created: DateTime<Utc>,
    /// What changed.
    pub items: Vec<ChangelogItem>,
}
