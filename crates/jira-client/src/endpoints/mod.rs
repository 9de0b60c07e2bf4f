//! The typed Jira endpoints, as methods of [`JiraClient`](crate::JiraClient).

mod bulk;
mod issue;
mod meta;
mod search;

pub use search::{DEFAULT_PAGE_SIZE, MAX_RECONCILE_ISSUES, SearchPages};
