//! One issue: create, read, edit, comment, transition, delete.

use crate::client::Effect;
use crate::{Error, JiraClient};
use jira_model::{
    AddCommentRequest, CreateIssueRequest, CreatedIssue, Description, EditIssueRequest, Flavor,
    Issue, Transition, TransitionRequest, Transitions,
};
use reqwest::Method;

/// Checks that a rich-text value is in the flavor's format: Cloud REST v3
/// rejects wiki strings, and Data Center REST v2 takes no ADF.
pub(crate) fn check_rich_text(flavor: Flavor, what: &str, text: &Description) -> Result<(), Error> {
    check_format(flavor, what, matches!(text, Description::Adf(_)))
}

fn check_format(flavor: Flavor, what: &str, is_adf: bool) -> Result<(), Error> {
    match (flavor, is_adf) {
        (Flavor::Cloud, false) => Err(Error::invalid_input(format!(
            "the {what} is wiki markup, but Jira Cloud REST v3 takes an ADF document: render it for Flavor::Cloud"
        ))),
        (Flavor::DataCenter, true) => Err(Error::invalid_input(format!(
            "the {what} is an ADF document, but Jira Data Center REST v2 takes wiki markup: render it for Flavor::DataCenter"
        ))),
        _ => Ok(()),
    }
}

pub(crate) fn check_create(flavor: Flavor, request: &CreateIssueRequest) -> Result<(), Error> {
    if let Some(d) = &request.fields.description {
        check_rich_text(flavor, "description", d)?;
    }
    Ok(())
}

impl JiraClient {
    /// `POST /issue`: creates an issue.
    ///
    /// Not retried after a timeout, a reset connection or a 5xx: the error
    /// then says [`Error::may_have_been_sent`], and the caller should look
    /// for the issue in Jira before creating it again. A 429 is retried.
    ///
    /// # Errors
    /// `invalid_input` when the description's format does not match the
    /// flavor; `issue_create_forbidden`, `customfield_unknown`,
    /// `content_limit_exceeded`, `invalid_request`, or any other [`Error`].
    pub async fn create_issue(&self, request: &CreateIssueRequest) -> Result<CreatedIssue, Error> {
        check_create(self.flavor(), request)?;
        let r = self.request(
            Method::POST,
            &["issue"],
            &[],
            Effect::CreatesIssues,
            Some(request),
        )?;
        self.fetch(r).await
    }

    /// `GET /issue/{key}?fields=...`: an issue with the chosen fields (all
    /// navigable fields when `fields` is empty).
    ///
    /// # Errors
    /// `invalid_input` for a malformed key; `not_found`; any other [`Error`].
    pub async fn get_issue(&self, key: &str, fields: &[&str]) -> Result<Issue, Error> {
        let key = self.id("issue key", key)?;
        let joined = fields.join(",");
        let query: &[(&str, &str)] = if fields.is_empty() {
            &[]
        } else {
            &[("fields", joined.as_str())]
        };
        let r = self.request(
            Method::GET,
            &["issue", key],
            query,
            Effect::Idempotent,
            None,
        )?;
        self.fetch(r).await
    }

    /// `PUT /issue/{key}`: sets fields.
    ///
    /// # Errors
    /// `invalid_input` for a malformed key or a description in the wrong
    /// format for the flavor; `customfield_unknown`; any other [`Error`].
    pub async fn edit_issue(&self, key: &str, request: &EditIssueRequest) -> Result<(), Error> {
        let key = self.id("issue key", key)?;
        if let Some(d) = request.fields.get("description") {
            match d {
                serde_json::Value::String(_) => check_format(self.flavor(), "description", false)?,
                serde_json::Value::Object(o)
                    if o.get("type").and_then(|t| t.as_str()) == Some("doc") =>
                {
                    check_format(self.flavor(), "description", true)?;
                }
                _ => {}
            }
        }
        let r = self.request(
            Method::PUT,
            &["issue", key],
            &[],
            Effect::Idempotent,
            Some(request),
        )?;
        self.send(r).await
    }

    /// `GET /issue/{key}/transitions?expand=transitions.fields`: the
    /// transitions available now, with their screen fields.
    ///
    /// # Errors
    /// `invalid_input` for a malformed key; `not_found`; any other [`Error`].
    pub async fn transitions(&self, key: &str) -> Result<Vec<Transition>, Error> {
        let key = self.id("issue key", key)?;
        let r = self.request(
            Method::GET,
            &["issue", key, "transitions"],
            &[("expand", "transitions.fields")],
            Effect::Idempotent,
            None,
        )?;
        let t: Transitions = self.fetch(r).await?;
        Ok(t.transitions)
    }

    /// `POST /issue/{key}/transitions`: performs a transition, with fields
    /// such as the resolution. Not retried once it may have reached Jira.
    ///
    /// # Errors
    /// `invalid_input` for a malformed key; `invalid_request` (for example a
    /// resolution not on the transition screen); any other [`Error`].
    pub async fn transition(&self, key: &str, request: &TransitionRequest) -> Result<(), Error> {
        let key = self.id("issue key", key)?;
        let r = self.request(
            Method::POST,
            &["issue", key, "transitions"],
            &[],
            Effect::NotIdempotent,
            Some(request),
        )?;
        self.send(r).await
    }

    /// `POST /issue/{key}/comment`. Not retried once it may have reached Jira.
    ///
    /// # Errors
    /// `invalid_input` for a malformed key or a body in the wrong format for
    /// the flavor; any other [`Error`].
    pub async fn add_comment(&self, key: &str, request: &AddCommentRequest) -> Result<(), Error> {
        let key = self.id("issue key", key)?;
        check_rich_text(self.flavor(), "comment body", &request.body)?;
        let r = self.request(
            Method::POST,
            &["issue", key, "comment"],
            &[],
            Effect::NotIdempotent,
            Some(request),
        )?;
        self.send(r).await
    }

    /// `DELETE /issue/{key}`. Retried like any idempotent call, so a delete
    /// whose first answer was lost may end in `not_found`.
    ///
    /// # Errors
    /// `invalid_input` for a malformed key; `not_found`; any other [`Error`].
    pub async fn delete_issue(&self, key: &str) -> Result<(), Error> {
        let key = self.id("issue key", key)?;
        let r = self.request(
            Method::DELETE,
            &["issue", key],
            &[],
            Effect::Idempotent,
            None,
        )?;
        self.send(r).await
    }
}
