use serde::{Deserialize, Serialize};

/// A Jira user, as `GET /myself` and webhooks report it. Cloud identifies
/// users by `accountId`; Data Center by `name` and `key`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct User {
    /// Cloud account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Data Center user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Data Center user key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// E-mail address (may be hidden).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Whether the account is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// The profile time zone (`America/Phoenix`): Jira reads a JQL
    /// datetime without a zone in it, and shows times in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

impl User {
    /// The stable identity of the user: the Cloud account id, else the Data
    /// Center key, else the name.
    pub fn identity(&self) -> Option<&str> {
        self.account_id
            .as_deref()
            .or(self.key.as_deref())
            .or(self.name.as_deref())
    }
}
