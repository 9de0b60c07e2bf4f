//! Bulk create: chunks of 50, one outcome per caller index.

use super::issue::check_create;
use crate::classify::{classify, element_error};
use crate::client::Effect;
use crate::error::ErrorKind;
use crate::transport::Request;
use crate::{Error, JiraClient};
use jira_model::{
    BulkCreateRequest, BulkCreateResponse, CreateIssueRequest, CreatedIssue, MAX_BULK_CREATE,
};
use reqwest::Method;

type Outcome = Result<CreatedIssue, Error>;

/// Whether a whole-chunk failure would fail the next chunks too, so they
/// are not sent.
fn stops_batch(e: &Error) -> bool {
    !matches!(
        e.kind(),
        ErrorKind::InvalidRequest
            | ErrorKind::CustomFieldUnknown
            | ErrorKind::ContentLimitExceeded
            | ErrorKind::Decode
            | ErrorKind::UnexpectedStatus
            | ErrorKind::InvalidInput
            | ErrorKind::BulkOutcomeUnknown
    )
}

impl JiraClient {
    /// `POST /issue/bulk` in chunks of [`MAX_BULK_CREATE`]: one outcome per
    /// element of `requests`, at the same index.
    ///
    /// Jira creates what it can: a failed element gets its own error,
    /// classified like any answer (e.g. `customfield_unknown`). A chunk that
    /// fails as a whole gives each of its elements that error; when the
    /// failure would repeat (credentials, permission, rate limit, Jira
    /// unreachable or failing), later chunks are not sent and their elements
    /// get `not_attempted`. An element Jira said nothing about gets
    /// `bulk_outcome_unknown` (it may exist). A chunk is not retried once it
    /// may have reached Jira. Elements whose description does not match the
    /// flavor get `invalid_input` and are not sent.
    ///
    /// Which elements failed is exact (Jira names them by
    /// `failedElementNumber`). Which created issue belongs to which
    /// successful element is **not**: Jira's `issues` list carries no
    /// correlation id and its order is not promised, so the successes are
    /// handed out in the order Jira listed them. A caller that must know
    /// which issue is which reads them back and matches them by content
    /// (a label, a field), as `penaxtra-jira-sync` does.
    pub async fn bulk_create(&self, requests: &[CreateIssueRequest]) -> Vec<Outcome> {
        let mut out: Vec<Option<Outcome>> = (0..requests.len()).map(|_| None).collect();
        let mut valid = Vec::with_capacity(requests.len());
        for (i, r) in requests.iter().enumerate() {
            match check_create(self.flavor(), r) {
                Ok(()) => valid.push(i),
                Err(e) => out[i] = Some(Err(e)),
            }
        }
        let mut stopped: Option<Error> = None;
        for chunk in valid.chunks(MAX_BULK_CREATE) {
            if let Some(cause) = &stopped {
                let e = Error::new(
                    ErrorKind::NotAttempted,
                    format!(
                        "not sent: an earlier chunk of the bulk create failed with {}",
                        cause.code()
                    ),
                )
                .with_request(cause.request().unwrap_or_default().to_string());
                for &i in chunk {
                    out[i] = Some(Err(e.clone()));
                }
                continue;
            }
            match self.bulk_chunk(requests, chunk).await {
                Ok(results) => {
                    for (&i, r) in chunk.iter().zip(results) {
                        out[i] = Some(r);
                    }
                }
                Err(e) => {
                    for &i in chunk {
                        out[i] = Some(Err(e.clone()));
                    }
                    if stops_batch(&e) {
                        stopped = Some(e);
                    }
                }
            }
        }
        out.into_iter()
            .enumerate()
            .map(|(i, o)| {
                o.unwrap_or_else(|| {
                    Err(Error::new(
                        ErrorKind::BulkOutcomeUnknown,
                        format!("bulk element {i} has no outcome"),
                    ))
                })
            })
            .collect()
    }

    /// One request of at most 50 issues; `Err` when the chunk failed whole.
    async fn bulk_chunk(
        &self,
        requests: &[CreateIssueRequest],
        chunk: &[usize],
    ) -> Result<Vec<Outcome>, Error> {
        let body = BulkCreateRequest::new(chunk.iter().map(|&i| requests[i].clone()).collect());
        let mut r: Request = self.request(
            Method::POST,
            &["issue", "bulk"],
            &[],
            Effect::CreatesIssues,
            Some(&body),
        )?;
        r.accept = &[400];
        let answer = self.inner.execute(&r).await?;
        let response: BulkCreateResponse = if answer.status == 400 {
            match serde_json::from_slice::<BulkCreateResponse>(&answer.body) {
                Ok(b) if !b.errors.is_empty() => b,
                _ => {
                    return Err(classify(
                        &r.op,
                        answer.status,
                        &answer.headers,
                        &answer.body,
                        self.inner.clock.now(),
                        &answer.redactor,
                    )
                    .unwrap_or_else(|| {
                        Error::new(ErrorKind::InvalidRequest, "Jira refused the bulk create")
                    })
                    .with_attempts(1));
                }
            }
        } else {
            self.decode(&r, &answer)?
        };
        let outcomes = response.outcomes(chunk.len());
        Ok(outcomes
            .into_iter()
            .zip(chunk)
            .map(|(o, &i)| match o {
                Some(Ok(created)) => Ok(created),
                Some(Err(e)) => Err(element_error(
                    &r.op,
                    i,
                    e.status,
                    answer.redactor.scrub_body(e.element_errors),
                )),
                None => Err(Error::new(
                    ErrorKind::BulkOutcomeUnknown,
                    format!("bulk element {i}: Jira's answer does not say whether it was created"),
                )
                .with_request(r.op.label())
                .with_status(answer.status)
                .sent(true)),
            })
            .collect())
    }
}
