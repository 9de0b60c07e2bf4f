use crate::Issue;
use serde::{Deserialize, Serialize};

/// The body of Cloud `POST /rest/api/3/search/jql`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CloudSearchRequest {
    /// The JQL query.
    pub jql: String,
    /// Token of the page to read; absent for the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    /// Page size.
    pub max_results: u32,
    /// Fields to return.
    pub fields: Vec<String>,
    /// Issue ids (at most 50) to read at their latest version: Cloud's
    /// search is eventually consistent except for the issues listed here.
    /// Sent on every page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reconcile_issues: Vec<i64>,
}

impl CloudSearchRequest {
    /// A first-page request.
    pub fn new(jql: impl Into<String>, max_results: u32, fields: Vec<String>) -> Self {
        Self {
            jql: jql.into(),
            next_page_token: None,
            max_results,
            fields,
            reconcile_issues: Vec::new(),
        }
    }
}

/// A page of Cloud `/rest/api/3/search/jql`: no `total`, a token to go on.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CloudSearchPage {
    /// Issues of this page.
    #[serde(default)]
    pub issues: Vec<Issue>,
    /// Token of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    /// Whether this is the last page (absent → decided by the token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_last: Option<bool>,
}

impl CloudSearchPage {
    /// A page from its parts.
    pub fn new(issues: Vec<Issue>, next_page_token: Option<String>, is_last: bool) -> Self {
        Self {
            issues,
            next_page_token,
            is_last: Some(is_last),
        }
    }
    /// Whether there is no further page.
    pub fn is_last_page(&self) -> bool {
        self.is_last.unwrap_or(false) || self.next_page_token.is_none()
    }
}

/// The body of Data Center `POST /rest/api/2/search`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DataCenterSearchRequest {
    /// The JQL query.
    pub jql: String,
    /// Offset of the first issue.
    pub start_at: u64,
    /// Page size.
    pub max_results: u32,
    /// Fields to return.
    pub fields: Vec<String>,
}

impl DataCenterSearchRequest {
    /// A request for the page at `start_at`.
    pub fn new(
        jql: impl Into<String>,
        start_at: u64,
        max_results: u32,
        fields: Vec<String>,
    ) -> Self {
        Self {
            jql: jql.into(),
            start_at,
            max_results,
            fields,
        }
    }
}

/// A page of Data Center `/rest/api/2/search`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DataCenterSearchPage {
    /// Offset of the first issue of the page.
    #[serde(default)]
    pub start_at: u64,
    /// Page size Jira used (may be less than asked).
    #[serde(default)]
    pub max_results: u64,
    /// Number of matching issues.
    #[serde(default)]
    pub total: u64,
    /// Issues of this page.
    #[serde(default)]
    pub issues: Vec<Issue>,
}

impl DataCenterSearchPage {
    /// A page from its parts.
    pub fn new(start_at: u64, max_results: u64, total: u64, issues: Vec<Issue>) -> Self {
        Self {
            start_at,
            max_results,
            total,
            issues,
        }
    }
    /// Whether there is no further page.
    pub fn is_last_page(&self) -> bool {
        self.issues.is_empty() || self.start_at + self.issues.len() as u64 >= self.total
    }
}
