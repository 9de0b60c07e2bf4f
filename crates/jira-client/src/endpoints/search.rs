//! JQL search as a paginated stream: Cloud `POST /rest/api/3/search/jql`
//! (`nextPageToken`/`isLast`), Data Center `POST /rest/api/2/search`
//! (`startAt`/`total`).

use crate::client::Effect;
use crate::error::ErrorKind;
use crate::{Error, JiraClient};
use jira_model::{
    CloudSearchPage, CloudSearchRequest, DataCenterSearchPage, DataCenterSearchRequest, Flavor,
    Issue,
};
use reqwest::Method;

/// Issues asked for per page unless [`SearchPages::page_size`] says otherwise.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// The field list meaning "all navigable fields".
const NAVIGABLE: &str = "*navigable";

#[derive(Debug, Clone)]
enum Cursor {
    /// Cloud: the token of the next page (`None` for the first).
    Cloud { token: Option<String> },
    /// Data Center: the offset of the next page.
    DataCenter { start_at: u64 },
    /// The last page was read.
    Done,
}

/// The pages of a JQL search. Read them with [`SearchPages::next_page`];
/// a failed page leaves the cursor where it was, so the call can be repeated.
#[derive(Debug, Clone)]
pub struct SearchPages {
    client: JiraClient,
    jql: String,
    fields: Vec<String>,
    page_size: u32,
    reconcile: Vec<i64>,
    cursor: Cursor,
}

/// The most issue ids Cloud reconciles in one search.
pub const MAX_RECONCILE_ISSUES: usize = 50;

impl SearchPages {
    /// Cloud: reads these issues (numeric ids; the first
    /// [`MAX_RECONCILE_ISSUES`] are sent, on every page) at their latest
    /// version, though the search index may not have caught up with them
    /// yet. Data Center has no such parameter (its index is read-your-writes
    /// on one node): ignored there. Ids that are not numbers are skipped.
    pub fn reconcile<S: AsRef<str>>(mut self, issue_ids: &[S]) -> Self {
        self.reconcile = issue_ids
            .iter()
            .filter_map(|id| id.as_ref().trim().parse::<i64>().ok())
            .take(MAX_RECONCILE_ISSUES)
            .collect();
        self
    }

    /// Asks for `size` issues a page (at least 1). Jira may return fewer.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.max(1);
        self
    }

    /// The next page of issues, or `None` after the last one.
    ///
    /// # Errors
    /// Any [`Error`] of the search request (`invalid_request` for bad JQL);
    /// `decode` when Cloud repeats a page token (the search would never end).
    pub async fn next_page(&mut self) -> Result<Option<Vec<Issue>>, Error> {
        match &self.cursor {
            Cursor::Done => Ok(None),
            Cursor::Cloud { token } => {
                let token = token.clone();
                let mut body =
                    CloudSearchRequest::new(self.jql.clone(), self.page_size, self.fields.clone());
                body.next_page_token = token.clone();
                body.reconcile_issues = self.reconcile.clone();
                let r = self.client.request(
                    Method::POST,
                    &["search", "jql"],
                    &[],
                    Effect::Idempotent,
                    Some(&body),
                )?;
                let label = r.op.label();
                let page: CloudSearchPage = self.client.fetch(r).await?;
                if !page.is_last_page()
                    && page.next_page_token.is_some()
                    && page.next_page_token == token
                {
                    return Err(Error::new(
                        ErrorKind::Decode,
                        "Jira returned the same nextPageToken again; the search would never end",
                    )
                    .with_request(label));
                }
                self.cursor = if page.is_last_page() {
                    Cursor::Done
                } else {
                    Cursor::Cloud {
                        token: page.next_page_token,
                    }
                };
                Ok(Some(page.issues))
            }
            Cursor::DataCenter { start_at } => {
                let start_at = *start_at;
                let body = DataCenterSearchRequest::new(
                    self.jql.clone(),
                    start_at,
                    self.page_size,
                    self.fields.clone(),
                );
                let r = self.client.request(
                    Method::POST,
                    &["search"],
                    &[],
                    Effect::Idempotent,
                    Some(&body),
                )?;
                let page: DataCenterSearchPage = self.client.fetch(r).await?;
                let next = start_at + page.issues.len() as u64;
                self.cursor = if page.issues.is_empty() || next >= page.total {
                    Cursor::Done
                } else {
                    Cursor::DataCenter { start_at: next }
                };
                Ok(Some(page.issues))
            }
        }
    }

    /// Reads every remaining page.
    ///
    /// # Errors
    /// The first page that fails.
    pub async fn collect_all(mut self) -> Result<Vec<Issue>, Error> {
        let mut out = Vec::new();
        while let Some(page) = self.next_page().await? {
            out.extend(page);
        }
        Ok(out)
    }
}

impl JiraClient {
    /// A JQL search, read page by page. `fields` are the fields to return;
    /// empty means the navigable fields in both flavors (Cloud's own default
    /// would be ids only). Nothing is sent until the first
    /// [`SearchPages::next_page`].
    pub fn search(&self, jql: &str, fields: &[&str]) -> SearchPages {
        let fields = if fields.is_empty() {
            vec![NAVIGABLE.to_string()]
        } else {
            fields.iter().map(|f| f.to_string()).collect()
        };
        SearchPages {
            client: self.clone(),
            jql: jql.to_string(),
            fields,
            page_size: DEFAULT_PAGE_SIZE,
            reconcile: Vec::new(),
            cursor: match self.flavor() {
                Flavor::Cloud => Cursor::Cloud { token: None },
                Flavor::DataCenter => Cursor::DataCenter { start_at: 0 },
            },
        }
    }

    /// Every issue matching `jql`, all pages read.
    ///
    /// # Errors
    /// The first page that fails.
    pub async fn search_all(&self, jql: &str, fields: &[&str]) -> Result<Vec<Issue>, Error> {
        self.search(jql, fields).collect_all().await
    }
}
