//! Select options Jira refuses. A multi-select custom field takes only the
//! options an admin configured, and a finding may name a framework that is
//! not one of them (yet): Jira then refuses the whole create with
//! `Option value 'X' is not valid` (getsentry/sentry#13001). Rather than
//! park the finding without an issue, the create is made again without the
//! refused values; they stay in the issue's labels and description.

use jira_model::{CreateIssueRequest, CreatedIssue, FieldValue};

/// The value Jira names in `Option value 'X' is not valid`.
fn refused_option(message: &str) -> Option<&str> {
    message
        .strip_prefix("Option value '")?
        .strip_suffix("' is not valid")
}

/// `request` without the multi-select values `error` says Jira refused,
/// when that is all Jira refused; `None` otherwise (or when nothing would
/// change, so a caller never loops).
pub(crate) fn without_refused_options(
    request: &CreateIssueRequest,
    error: &jira_client::Error,
) -> Option<CreateIssueRequest> {
    if error.kind() != jira_client::ErrorKind::InvalidRequest {
        return None;
    }
    let body = error.jira_messages()?;
    if !body.messages.is_empty() || body.field_errors.is_empty() {
        return None;
    }
    let mut out = request.clone();
    for (field, message) in &body.field_errors {
        let value = refused_option(message)?;
        let (id, values) = out
            .fields
            .custom
            .iter_mut()
            .find(|(id, _)| id.as_str() == field)?;
        let FieldValue::MultiSelect(values) = values else {
            return None;
        };
        let before = values.len();
        values.retain(|v| v != value);
        if values.len() == before {
            return None;
        }
        tracing::warn!(field = %id, "Jira has no such option for this field; creating the issue without it (it stays in the labels)");
    }
    out.fields
        .custom
        .retain(|_, v| !matches!(v, FieldValue::MultiSelect(v) if v.is_empty()));
    Some(out)
}

impl crate::push::Pusher<'_> {
    /// Creates an issue; when Jira refuses only options of a multi-select,
    /// creates it without them.
    /// `client` is the claim's gated client ([`crate::lease::ClaimLease`]).
    pub(crate) async fn create_issue_without_refused_options(
        &self,
        client: &jira_client::JiraClient,
        request: &CreateIssueRequest,
    ) -> Result<CreatedIssue, jira_client::Error> {
        let mut request = request.clone();
        loop {
            match client.create_issue(&request).await {
                Err(e) => match without_refused_options(&request, &e) {
                    Some(fewer) => request = fewer,
                    None => return Err(e),
                },
                ok => return ok,
            }
        }
    }
}
