use crate::{CreateIssueRequest, CreatedIssue, ErrorBody};
use serde::{Deserialize, Serialize};

/// Jira takes at most this many issues in one bulk create request.
pub const MAX_BULK_CREATE: usize = 50;

/// The body of `POST /rest/api/{2|3}/issue/bulk`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct BulkCreateRequest {
    /// The issues to create, at most [`MAX_BULK_CREATE`].
    #[serde(rename = "issueUpdates")]
    pub issue_updates: Vec<CreateIssueRequest>,
}

impl BulkCreateRequest {
    /// A bulk request of these issues. The caller keeps to [`MAX_BULK_CREATE`].
    pub fn new(issue_updates: Vec<CreateIssueRequest>) -> Self {
        Self { issue_updates }
    }
}

/// One failed element of a bulk create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BulkElementError {
    /// The index of the failed issue in the request.
    #[serde(rename = "failedElementNumber")]
    pub failed_element_number: usize,
    /// HTTP-like status of the element.
    #[serde(default)]
    pub status: u16,
    /// Jira's messages for the element.
    #[serde(rename = "elementErrors", default)]
    pub element_errors: ErrorBody,
}

/// The answer to a bulk create (201 when any succeeded, 400 when all failed;
/// both have this shape).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BulkCreateResponse {
    /// Created issues, in the order of the successful elements of the request.
    #[serde(default)]
    pub issues: Vec<CreatedIssue>,
    /// Failed elements.
    #[serde(default)]
    pub errors: Vec<BulkElementError>,
}

impl BulkCreateResponse {
    /// A response from its parts.
    pub fn new(issues: Vec<CreatedIssue>, errors: Vec<BulkElementError>) -> Self {
        Self { issues, errors }
    }

    /// One outcome per element of a request of `len` issues, by index.
    ///
    /// Jira lists created issues in request order, skipping failed elements,
    /// and failed elements by `failedElementNumber`. An index for which Jira
    /// said nothing (a response shorter than the request) is `None`: the
    /// caller must treat that issue as unknown, not as failed.
    pub fn outcomes(&self, len: usize) -> Vec<Option<Result<CreatedIssue, BulkElementError>>> {
        let mut out: Vec<Option<Result<CreatedIssue, BulkElementError>>> = vec![None; len];
        for e in &self.errors {
            if let Some(slot) = out.get_mut(e.failed_element_number) {
                *slot = Some(Err(e.clone()));
            }
        }
        let mut created = self.issues.iter();
        for slot in out.iter_mut() {
            if slot.is_none() {
                match created.next() {
                    Some(c) => *slot = Some(Ok(c.clone())),
                    None => break,
                }
            }
        }
        out
    }
}

impl BulkElementError {
    /// An element error from its parts.
    pub fn new(failed_element_number: usize, status: u16, element_errors: ErrorBody) -> Self {
        Self {
            failed_element_number,
            status,
            element_errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn outcomes_map_back_to_indexes() {
        let r: BulkCreateResponse = serde_json::from_value(json!({
            "issues":[{"id":"1","key":"SEC-1"},{"id":"2","key":"SEC-2"}],
            "errors":[{"failedElementNumber":1,"status":400,
                "elementErrors":{"errorMessages":[],"errors":{"summary":"too long"}}}]
        }))
        .unwrap();
        let o = r.outcomes(4);
        assert_eq!(o[0].as_ref().unwrap().as_ref().unwrap().key, "SEC-1");
        assert!(o[1].as_ref().unwrap().is_err());
        assert_eq!(o[2].as_ref().unwrap().as_ref().unwrap().key, "SEC-2");
        assert!(o[3].is_none());
    }

    #[test]
    fn all_failed_shape() {
        let r: BulkCreateResponse = serde_json::from_value(json!({"issues":[],"errors":[
            {"elementErrors":{"errorMessages":[],"errors":{"issuetype":"bad"}},"failedElementNumber":0,"status":400}]}))
        .unwrap();
        let o = r.outcomes(1);
        let e = o[0].as_ref().unwrap().as_ref().unwrap_err();
        assert_eq!(e.element_errors.field_errors["issuetype"], "bad");
    }
}
