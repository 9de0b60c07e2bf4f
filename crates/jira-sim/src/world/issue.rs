//! The simulator's record of an issue, as the admin API and
//! [`crate::JiraSim::issues`] show it.

use chrono::{DateTime, Utc};
use jira_model::StatusCategoryKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The full state of one issue, deleted ones included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SimIssue {
    /// Issue id (`10000` and up).
    pub id: String,
    /// Issue key (`SEC-1` and up).
    pub key: String,
    /// Project key.
    pub project_key: String,
    /// Issue type name.
    pub issue_type: String,
    /// Summary.
    pub summary: String,
    /// Description as stored: an ADF document (sent to Cloud v3) or a string
    /// (sent to REST v2).
    pub description: Option<serde_json::Value>,
    /// Labels.
    pub labels: Vec<String>,
    /// Custom fields by id, in the JSON shape Jira returns them.
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    /// Priority name.
    pub priority: String,
    /// Component names.
    #[serde(default)]
    pub components: Vec<String>,
    /// Name of the assigned account, `None` while unassigned.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Due date (`YYYY-MM-DD`).
    #[serde(default)]
    pub due_date: Option<String>,
    /// Status name.
    pub status: String,
    /// Status id.
    pub status_id: String,
    /// Status category.
    pub status_category: StatusCategoryKey,
    /// Resolution name, `None` while unresolved.
    pub resolution: Option<String>,
    /// When the resolution was set.
    pub resolution_date: Option<DateTime<Utc>>,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Last update.
    pub updated: DateTime<Utc>,
    /// Name of the account that created it.
    pub creator: String,
    /// Whether it was deleted (deleted issues stay in the admin list).
    pub deleted: bool,
    /// Comments.
    pub comments: Vec<SimComment>,
    /// Change history, oldest first (what `expand=changelog` shows).
    #[serde(default)]
    pub history: Vec<super::SimHistory>,
}

impl SimIssue {
    /// The value of `customfield_10031` "Penaxtra Finding ID".
    pub fn finding_id(&self) -> Option<&str> {
        self.custom_fields
            .get(super::FINDING_FIELD)
            .and_then(serde_json::Value::as_str)
    }

    /// The value of `customfield_10033` "Finding Severity" (a select).
    pub fn severity(&self) -> Option<&str> {
        self.custom_fields
            .get(super::SEVERITY_FIELD)
            .and_then(|v| v.get("value"))
            .and_then(serde_json::Value::as_str)
    }

    /// The values of `customfield_10032` "Framework references", whatever
    /// its kind.
    pub fn framework_values(&self) -> Vec<String> {
        super::fields::values_of(self.custom_fields.get(super::FRAMEWORKS_FIELD))
    }

    /// The key's number: 7 of `SEC-7`.
    pub fn number(&self) -> u64 {
        self.key
            .rsplit_once('-')
            .and_then(|(_, n)| n.parse().ok())
            .unwrap_or(0)
    }
}

/// A comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SimComment {
    /// Comment id.
    pub id: String,
    /// Name of the author account.
    pub author: String,
    /// Body as stored (ADF or string).
    pub body: serde_json::Value,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Last edit, if edited.
    #[serde(default)]
    pub updated: Option<DateTime<Utc>>,
    /// Name of the account that last edited it, if edited.
    #[serde(default)]
    pub update_author: Option<String>,
    /// Who may see it: a project role or a group (`None`: everyone who may
    /// browse the issue).
    #[serde(default)]
    pub visibility: Option<super::SimVisibility>,
}
