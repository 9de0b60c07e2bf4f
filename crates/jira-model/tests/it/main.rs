//! Integration tests of jira-model: the ADF builder against Atlassian's
//! published schema, wiki-markup escaping and Jira's limits.

// Helpers outside `#[test]` functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod adf;
mod limits;
mod schema;
mod wiki;
