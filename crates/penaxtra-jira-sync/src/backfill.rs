//! Backfill: many findings at once, in bulk-create chunks of 50 with one
//! duplicate check per chunk, several chunks in flight.

use crate::engine::JiraSync;
use crate::error::SyncError;
use crate::push::{Progress, PushOutcome, duration_ms};
use crate::store::{Claim, PendingOp};
use penaxtra_mapping::{Finding, FindingId};

/// Outcomes of a backfill, one per input finding, in input order.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BackfillReport {
    /// `(finding, outcome)` in input order.
    pub outcomes: Vec<(FindingId, PushOutcome)>,
}

impl BackfillReport {
    /// How many outcomes are of this kind (see [`PushOutcome::kind`]).
    pub fn count(&self, kind: &str) -> usize {
        self.outcomes
            .iter()
            .filter(|(_, o)| o.kind() == kind)
            .count()
    }
}

impl JiraSync {
    /// Pushes many findings: those that match the rule and have no issue get
    /// one, created in bulk (50 a request) after one duplicate search per
    /// chunk. `progress` is called after each chunk.
    ///
    /// # Errors
    /// [`SyncError::Store`] when the sync store fails so that outcomes could
    /// not be recorded or queued; the findings of the failing chunk are then
    /// left claimed (their leases expire) and may be pushed again safely.
    pub async fn push_many(
        &self,
        findings: &[Finding],
        progress: impl Fn(&Progress) + Send + Sync,
    ) -> Result<BackfillReport, SyncError> {
        let total = findings.len();
        let mut outcomes: Vec<Option<PushOutcome>> = vec![None; total];
        let mut matching: Vec<usize> = Vec::new();
        for (i, f) in findings.iter().enumerate() {
            if self.inner.rule.matches(f) {
                matching.push(i);
            } else {
                outcomes[i] = Some(PushOutcome::Skipped);
            }
        }
        let mut state = Progress {
            done: total - matching.len(),
            total,
            created: 0,
            deferred: 0,
        };
        progress(&state);

        // At most `concurrency` chunks in flight, each holding the only copy
        // of its findings: memory stays flat however many findings come.
        let concurrency = self.inner.settings.concurrency;
        let mut chunks = matching.chunks(self.inner.settings.chunk_size);
        let mut tasks = tokio::task::JoinSet::new();
        let mut first_error = None;
        loop {
            while tasks.len() < concurrency && first_error.is_none() {
                let Some(chunk) = chunks.next() else { break };
                let chunk: Vec<(usize, Finding)> =
                    chunk.iter().map(|&i| (i, findings[i].clone())).collect();
                let this = self.clone();
                tasks.spawn(async move { this.push_chunk(chunk).await });
            }
            let Some(joined) = tasks.join_next().await else {
                break;
            };
            let result = match joined {
                Ok(r) => r,
                Err(e) => {
                    first_error.get_or_insert(SyncError::Host(crate::HostError::transient(
                        format!("backfill task failed: {e}"),
                    )));
                    continue;
                }
            };
            match result {
                Ok(chunk) => {
                    for (i, outcome) in chunk {
                        state.done += 1;
                        match &outcome {
                            PushOutcome::Created { .. } => state.created += 1,
                            PushOutcome::Queued { .. } | PushOutcome::Failed { .. } => {
                                state.deferred += 1
                            }
                            _ => {}
                        }
                        outcomes[i] = Some(outcome);
                    }
                    tracing::info!(
                        done = state.done,
                        total = state.total,
                        created = state.created,
                        deferred = state.deferred,
                        "backfill progress"
                    );
                    progress(&state);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let outcomes = findings
            .iter()
            .zip(outcomes)
            .map(|(f, o)| (f.id.clone(), o.unwrap_or(PushOutcome::Skipped)))
            .collect();
        Ok(BackfillReport { outcomes })
    }

    async fn push_chunk(
        &self,
        chunk: Vec<(usize, Finding)>,
    ) -> Result<Vec<(usize, PushOutcome)>, SyncError> {
        let store = &self.inner.store;
        let now = self.now_ms();
        let lease = duration_ms(self.inner.settings.claim_lease);
        let mut out = Vec::with_capacity(chunk.len());
        let mut claimed: Vec<(usize, Finding)> = Vec::new();
        let mut any_uncertain = false;
        for (i, f) in chunk {
            match store.claim(&f.id, &self.inner.owner, now, lease).await? {
                Claim::Linked(link) => out.push((
                    i,
                    PushOutcome::AlreadyLinked {
                        issue_key: link.issue_key,
                    },
                )),
                Claim::Busy => {
                    let due = now + lease;
                    store
                        .enqueue(
                            &PendingOp::Create {
                                finding: f.id.clone(),
                            },
                            due,
                            Some("busy"),
                        )
                        .await?;
                    out.push((
                        i,
                        PushOutcome::Queued {
                            code: "busy",
                            retry_at_ms: due,
                        },
                    ));
                }
                Claim::Acquired { uncertain } => {
                    any_uncertain |= uncertain;
                    claimed.push((i, f));
                }
            }
        }
        if claimed.is_empty() {
            return Ok(out);
        }

        // One duplicate search for the chunk.
        if any_uncertain || self.inner.settings.always_check_jira {
            let ids: Vec<FindingId> = claimed.iter().map(|(_, f)| f.id.clone()).collect();
            match self.find_existing(&ids).await {
                Ok(found) => {
                    let mut rest = Vec::with_capacity(claimed.len());
                    for (i, f) in claimed {
                        match found.get(&f.id) {
                            Some(issue) => {
                                self.record_link(&f, &issue.key, &issue.id, Some(issue))
                                    .await?;
                                out.push((
                                    i,
                                    PushOutcome::Recovered {
                                        issue_key: issue.key.clone(),
                                    },
                                ));
                            }
                            None => rest.push((i, f)),
                        }
                    }
                    claimed = rest;
                }
                Err(e) => {
                    for (i, f) in claimed {
                        out.push((i, self.fail_claimed(&f, e.clone(), false).await?));
                    }
                    return Ok(out);
                }
            }
        }

        // Render; a finding that cannot be rendered fails alone.
        let flavor = self.inner.client.flavor();
        let mut requests = Vec::with_capacity(claimed.len());
        let mut to_create = Vec::with_capacity(claimed.len());
        for (i, f) in claimed {
            match self.inner.template.render(&f, flavor) {
                Ok(r) => {
                    requests.push(r);
                    to_create.push((i, f));
                }
                Err(e) => out.push((i, self.fail_claimed(&f, e.into(), false).await?)),
            }
        }
        if requests.is_empty() {
            return Ok(out);
        }
        let results = self.inner.client.bulk_create(&requests).await;
        for ((i, f), result) in to_create.into_iter().zip(results) {
            match result {
                Ok(created) => {
                    self.record_link(&f, &created.key, &created.id, None)
                        .await?;
                    out.push((
                        i,
                        PushOutcome::Created {
                            issue_key: created.key,
                        },
                    ));
                }
                Err(e) => {
                    let ambiguous = e.may_have_been_sent();
                    out.push((i, self.fail_claimed(&f, e.into(), ambiguous).await?));
                }
            }
        }
        Ok(out)
    }

    /// Releases a claim after a failure and queues or parks the create.
    async fn fail_claimed(
        &self,
        f: &Finding,
        error: SyncError,
        ambiguous: bool,
    ) -> Result<PushOutcome, SyncError> {
        if let Err(e) = self
            .inner
            .store
            .release(&f.id, &self.inner.owner, ambiguous)
            .await
        {
            tracing::warn!(finding = %f.id, code = e.code(), "could not release a claim");
        }
        self.defer(
            PendingOp::Create {
                finding: f.id.clone(),
            },
            error,
        )
        .await
    }
}
