//! Backfill: many findings at once, in bulk-create chunks of 50, several
//! chunks in flight. A duplicate search is made only for findings in doubt,
//! so a fresh backfill costs one bulk create per 50 findings, plus one read
//! that matches the created issues to their findings by label.

use crate::clock::duration_ms;
use crate::engine::JiraSync;
use crate::error::SyncError;
use crate::lease::ClaimLease;
use crate::push::{Progress, PushKind, PushOutcome};
use crate::store::{Claim, Doubt, Fence, PendingOp, Release};
use jira_model::{CreatedIssue, Issue, IssueKey};
use penaxtra_mapping::{Finding, FindingId, dedup_label};
use std::collections::HashMap;

/// What a backfill did, in counts: one per [`PushKind`], plus a bounded
/// sample of outcomes and the first outcomes that need attention. Its size
/// does not grow with the number of findings; to see every outcome, pass a
/// callback to [`JiraSync::push_many_with`] or use
/// [`JiraSync::push_many_all`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct BackfillReport {
    /// Findings given (every one has exactly one outcome).
    pub total: usize,
    counts: HashMap<PushKind, usize>,
    /// The first outcomes reached, at most [`BackfillReport::SAMPLE_LEN`],
    /// in the order they were reached (not input order: chunks finish in any
    /// order; findings that do not match the rule come first).
    pub sample: Vec<(FindingId, PushOutcome)>,
    /// The first outcomes that need attention ([`PushKind::Queued`],
    /// [`PushKind::Parked`], [`PushKind::Failed`]), at most
    /// [`BackfillReport::ATTENTION_LEN`], in the order they were reached.
    pub attention: Vec<(FindingId, PushOutcome)>,
    /// Outcomes that needed attention beyond [`BackfillReport::ATTENTION_LEN`]:
    /// counted, not kept.
    pub attention_dropped: usize,
}

impl BackfillReport {
    /// Outcomes kept in [`BackfillReport::sample`]: 20.
    pub const SAMPLE_LEN: usize = 20;
    /// Outcomes kept in [`BackfillReport::attention`]: 1,000.
    pub const ATTENTION_LEN: usize = 1_000;

    /// How many outcomes are of this kind (see [`PushOutcome::kind`]).
    pub fn count(&self, kind: PushKind) -> usize {
        self.counts.get(&kind).copied().unwrap_or(0)
    }

    /// Whether an outcome of this kind needs a person or the worker.
    fn needs_attention(kind: PushKind) -> bool {
        matches!(kind, PushKind::Queued | PushKind::Parked | PushKind::Failed)
    }

    fn record(&mut self, id: &FindingId, outcome: &PushOutcome) {
        let kind = outcome.kind();
        *self.counts.entry(kind).or_insert(0) += 1;
        if self.sample.len() < Self::SAMPLE_LEN {
            self.sample.push((id.clone(), outcome.clone()));
        }
        if Self::needs_attention(kind) {
            if self.attention.len() < Self::ATTENTION_LEN {
                self.attention.push((id.clone(), outcome.clone()));
            } else {
                self.attention_dropped += 1;
            }
        }
    }
}

impl JiraSync {
    /// Pushes many findings: those that match the rule and have no issue get
    /// one, created in bulk (50 a request); findings an earlier attempt may
    /// have created are searched for first. `progress` is called after each
    /// chunk.
    ///
    /// The report holds counts and a bounded sample, not one outcome per
    /// finding (memory stays flat however many findings come): see
    /// [`JiraSync::push_many_with`] to see each outcome as it is reached,
    /// [`JiraSync::push_many_all`] to get them all in input order.
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
        self.push_many_with(findings, progress, |_, _, _| {}).await
    }

    /// [`JiraSync::push_many`], returning every outcome too, in input order
    /// (`(finding, outcome)`, one per input finding): memory grows with the
    /// number of findings.
    ///
    /// # Errors
    /// As [`JiraSync::push_many`].
    pub async fn push_many_all(
        &self,
        findings: &[Finding],
        progress: impl Fn(&Progress) + Send + Sync,
    ) -> Result<(BackfillReport, Vec<(FindingId, PushOutcome)>), SyncError> {
        let mut all: Vec<Option<PushOutcome>> = vec![None; findings.len()];
        let report = self
            .push_many_with(findings, progress, |i, _, o| all[i] = Some(o.clone()))
            .await?;
        let all = findings
            .iter()
            .zip(all)
            .map(|(f, o)| (f.id.clone(), o.unwrap_or(PushOutcome::Skipped)))
            .collect();
        Ok((report, all))
    }

    /// [`JiraSync::push_many`], calling `on_outcome(index, finding,
    /// outcome)` once for each input finding as its outcome is reached
    /// (`index` is its position in `findings`; the order is not input
    /// order). Outcomes reached before an error are still passed on.
    ///
    /// # Errors
    /// As [`JiraSync::push_many`].
    pub async fn push_many_with(
        &self,
        findings: &[Finding],
        progress: impl Fn(&Progress) + Send + Sync,
        mut on_outcome: impl FnMut(usize, &FindingId, &PushOutcome) + Send,
    ) -> Result<BackfillReport, SyncError> {
        let total = findings.len();
        let mut report = BackfillReport {
            total,
            ..BackfillReport::default()
        };
        let mut reached = |i: usize, outcome: PushOutcome, report: &mut BackfillReport| {
            let id = &findings[i].id;
            crate::metrics::push(outcome.kind().code());
            on_outcome(i, id, &outcome);
            report.record(id, &outcome);
        };
        let rule = self.rule();
        let mut skipped = 0;
        for (i, f) in findings.iter().enumerate() {
            if !rule.matches(f) {
                skipped += 1;
                reached(i, PushOutcome::Skipped, &mut report);
            }
        }
        let mut state = Progress {
            done: skipped,
            total,
            created: 0,
            deferred: 0,
        };
        progress(&state);

        // At most `concurrency` chunks in flight, each holding the only copy
        // of its findings, and outcomes passed on as chunks end: memory stays
        // flat however many findings come.
        let concurrency = self.settings().concurrency;
        let chunk_size = self.settings().chunk_size;
        let mut matching = findings.iter().enumerate().filter(|(_, f)| rule.matches(f));
        let mut tasks = tokio::task::JoinSet::new();
        let mut first_error = None;
        loop {
            while tasks.len() < concurrency && first_error.is_none() {
                let chunk: Vec<(usize, Finding)> = matching
                    .by_ref()
                    .take(chunk_size)
                    .map(|(i, f)| (i, f.clone()))
                    .collect();
                if chunk.is_empty() {
                    break;
                }
                let this = self.clone();
                tasks.spawn(async move { this.pusher().push_chunk(chunk).await });
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
                        reached(i, outcome, &mut report);
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
        Ok(report)
    }
}

impl crate::push::Pusher<'_> {
    /// One chunk of a backfill: claim, confirm what earlier attempts are
    /// known to have made, check what is in doubt, create in bulk under the
    /// claims' gate, record the ids Jira answered, match by label, link.
    pub(crate) async fn push_chunk(
        &self,
        chunk: Vec<(usize, Finding)>,
    ) -> Result<Vec<(usize, PushOutcome)>, SyncError> {
        let store = &self.core.store;
        let lease = duration_ms(self.core.settings.claim_lease);
        let mut out = Vec::with_capacity(chunk.len());
        let mut claimed: Vec<ChunkClaim> = Vec::new();
        for (i, f) in chunk {
            // Each claim's validity counts from its own request: a stall
            // in this loop (a busy store) shortens the early ones, never
            // lengthens them.
            let sent = self.core.clock.monotonic();
            match store
                .claim(&f.id, &self.core.owner, self.core.now_ms(), lease)
                .await?
            {
                Claim::Linked(link) => out.push((
                    i,
                    PushOutcome::AlreadyLinked {
                        issue_key: link.issue_key,
                    },
                )),
                Claim::Parked { reason } => out.push((i, PushOutcome::Parked { reason })),
                Claim::Busy => {
                    let due = self.core.now_ms() + lease;
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
                Claim::Acquired { fence, doubt } => claimed.push(ChunkClaim {
                    i,
                    f,
                    fence,
                    doubt,
                    sent,
                    claimed_at: self.core.clock.monotonic(),
                    left: Release::Kept,
                }),
            }
        }
        if claimed.is_empty() {
            return Ok(out);
        }
        let held = ClaimLease::hold(
            self.core,
            claimed
                .iter()
                .map(|c| (c.f.id.clone(), c.fence, c.sent))
                .collect(),
        );

        // Issues earlier attempts are known to have made, read by id
        // (consistent), then a duplicate search only for findings still in
        // doubt (or every one, by setting): a fresh backfill makes neither.
        claimed = self.recover_known(claimed, &mut out).await?;
        let always = self.core.settings.always_check_jira;
        let to_check: Vec<FindingId> = claimed
            .iter()
            .filter(|c| always || c.doubt.is_some())
            .map(|c| c.f.id.clone())
            .collect();
        if !to_check.is_empty() {
            match self.find_existing(&to_check).await {
                Ok(found) => {
                    let mut rest = Vec::with_capacity(claimed.len());
                    for mut c in claimed {
                        if let Some(issue) = found.get(&c.f.id) {
                            let outcome = self.link_found(&c, issue).await?;
                            out.push((c.i, outcome));
                            continue;
                        }
                        if let Some(doubt) = &c.doubt {
                            if let Some(wait) = self.search_not_yet_trusted(doubt, c.claimed_at) {
                                let e = SyncError::AwaitingConsistency {
                                    finding: c.f.id.to_string(),
                                    wait,
                                };
                                out.push((c.i, self.fail_claimed(&c, e).await?));
                                continue;
                            }
                            // A search made after the window found nothing.
                            c.left = Release::Cleared;
                        }
                        rest.push(c);
                    }
                    claimed = rest;
                }
                Err(e) => {
                    for c in claimed {
                        out.push((c.i, self.fail_claimed(&c, e.clone()).await?));
                    }
                    return Ok(out);
                }
            }
        }

        // Findings that no longer match get no new issue.
        let mut matching = Vec::with_capacity(claimed.len());
        for c in claimed {
            if self.rule.matches(&c.f) {
                matching.push(c);
            } else {
                store.release(&c.f.id, c.fence, c.left).await?;
                out.push((c.i, PushOutcome::Skipped));
            }
        }

        // Render; a finding that cannot be rendered fails alone.
        let mut requests = Vec::with_capacity(matching.len());
        let mut to_create = Vec::with_capacity(matching.len());
        for c in matching {
            match self.render(&c.f).await {
                Ok(r) => {
                    requests.push(r);
                    to_create.push(c);
                }
                Err(e) => {
                    out.push((c.i, self.fail_claimed(&c, e).await?));
                }
            }
        }
        if requests.is_empty() {
            return Ok(out);
        }
        let client = held.client(self.core);
        let results = client.bulk_create(&requests).await;
        let created_at = self.core.now_ms();

        // Which elements failed is known by their index
        // (`failedElementNumber`); which issue belongs to which finding is
        // not: Jira does not promise the order of `issues`. The created
        // issues are matched to findings by their dedup labels.
        let mut created = Vec::new();
        let mut succeeded = Vec::new();
        for ((mut c, result), request) in to_create.into_iter().zip(results).zip(&requests) {
            match result {
                Ok(issue) => {
                    created.push(issue);
                    c.left = Release::Raised { at_ms: created_at };
                    succeeded.push(c);
                }
                Err(e) => {
                    // Jira refused only options it does not have: this one
                    // is created alone without them.
                    if let Some(fewer) = crate::options::without_refused_options(request, &e) {
                        let outcome = self.create_alone(&mut c, &client, &fewer).await?;
                        out.push((c.i, outcome));
                        continue;
                    }
                    if e.may_have_been_sent() {
                        c.left = Release::Raised { at_ms: created_at };
                    }
                    out.push((c.i, self.fail_claimed(&c, e.into()).await?));
                }
            }
        }
        if succeeded.is_empty() {
            return Ok(out);
        }
        // Kept before the read-back: a crash or a lost lease from here on
        // leaves the next claimant the ids to confirm, not a search to wait
        // for.
        let ids: Vec<String> = created.iter().map(|c| c.id.clone()).collect();
        let findings: Vec<FindingId> = succeeded.iter().map(|c| c.f.id.clone()).collect();
        if let Err(e) = store.note_created(&findings, &ids).await {
            tracing::warn!(
                code = e.code(),
                "could not record the ids of a bulk create; the next claimants search for them"
            );
        }
        let matched = match self.match_created(&succeeded, &created).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(
                    code = e.code(),
                    "could not read back the issues of a bulk create; they are confirmed by id before any new create"
                );
                HashMap::new()
            }
        };
        for c in succeeded {
            match matched.get(&c.f.id) {
                Some(issue) => match self
                    .record_link(&c.f, &issue.key, &issue.id, None, c.fence)
                    .await
                {
                    Ok(()) => out.push((
                        c.i,
                        PushOutcome::Created {
                            issue_key: IssueKey::new(&issue.key)?,
                        },
                    )),
                    Err(e) => out.push((c.i, self.fail_claimed(&c, e).await?)),
                },
                None => {
                    let e = SyncError::CreateUnconfirmed {
                        finding: c.f.id.to_string(),
                    };
                    out.push((c.i, self.fail_claimed(&c, e).await?));
                }
            }
        }
        Ok(out)
    }

    /// Links the claims whose earlier attempts are known to have created
    /// their issue (their [`crate::store::Doubt::issue_ids`], read by id);
    /// answers the others.
    async fn recover_known(
        &self,
        claimed: Vec<ChunkClaim>,
        out: &mut Vec<(usize, PushOutcome)>,
    ) -> Result<Vec<ChunkClaim>, SyncError> {
        let mut ids: Vec<&str> = claimed
            .iter()
            .filter_map(|c| c.doubt.as_ref())
            .flat_map(|d| d.issue_ids.iter().map(String::as_str))
            .collect();
        if ids.is_empty() {
            return Ok(claimed);
        }
        ids.sort_unstable();
        ids.dedup();
        let findings: Vec<FindingId> = claimed
            .iter()
            .filter(|c| c.doubt.as_ref().is_some_and(|d| !d.issue_ids.is_empty()))
            .map(|c| c.f.id.clone())
            .collect();
        let found = match self.confirm_by_id(&ids, &findings).await {
            Ok(found) => found,
            Err(e) => {
                for c in claimed {
                    out.push((c.i, self.fail_claimed(&c, e.clone()).await?));
                }
                return Ok(Vec::new());
            }
        };
        let mut rest = Vec::with_capacity(claimed.len());
        for c in claimed {
            match found.get(&c.f.id) {
                Some(issue) => {
                    let outcome = self.link_found(&c, issue).await?;
                    out.push((c.i, outcome));
                }
                None => rest.push(c),
            }
        }
        Ok(rest)
    }

    /// Links a claim to the issue an earlier attempt made.
    async fn link_found(&self, c: &ChunkClaim, issue: &Issue) -> Result<PushOutcome, SyncError> {
        match self
            .record_link(&c.f, &issue.key, &issue.id, Some(issue), c.fence)
            .await
        {
            Ok(()) => Ok(PushOutcome::Recovered {
                issue_key: IssueKey::new(&issue.key)?,
            }),
            Err(e) => self.fail_claimed(c, e).await,
        }
    }

    /// Creates one claimed finding's issue alone, after Jira refused only
    /// options it does not have in a bulk create (its own answer then names
    /// its issue, so no matching by label is needed).
    async fn create_alone(
        &self,
        c: &mut ChunkClaim,
        client: &jira_client::JiraClient,
        request: &jira_model::CreateIssueRequest,
    ) -> Result<PushOutcome, SyncError> {
        Ok(
            match self
                .create_issue_without_refused_options(client, request)
                .await
            {
                Ok(issue) => {
                    c.left = Release::Raised {
                        at_ms: self.core.now_ms(),
                    };
                    let ids = [issue.id.clone()];
                    if let Err(e) = self
                        .core
                        .store
                        .note_created(std::slice::from_ref(&c.f.id), &ids)
                        .await
                    {
                        tracing::warn!(finding = %c.f.id, code = e.code(), "could not record the created issue's id");
                    }
                    match self
                        .record_link(&c.f, &issue.key, &issue.id, None, c.fence)
                        .await
                    {
                        Ok(()) => PushOutcome::Created {
                            issue_key: IssueKey::new(&issue.key)?,
                        },
                        Err(e) => self.fail_claimed(c, e).await?,
                    }
                }
                Err(e) => {
                    if e.may_have_been_sent() {
                        c.left = Release::Raised {
                            at_ms: self.core.now_ms(),
                        };
                    }
                    self.fail_claimed(c, e.into()).await?
                }
            },
        )
    }

    /// Matches the issues a bulk create made to the findings they were made
    /// for, by reading their labels back by id ([`Self::read_by_id`]):
    /// never by position, not even for a single success.
    async fn match_created(
        &self,
        findings: &[ChunkClaim],
        created: &[CreatedIssue],
    ) -> Result<HashMap<FindingId, CreatedIssue>, SyncError> {
        let by_label: HashMap<String, &FindingId> = findings
            .iter()
            .map(|c| (dedup_label(&c.f.id), &c.f.id))
            .collect();
        let ids: Vec<&str> = created.iter().map(|c| c.id.as_str()).collect();
        let issues = self.read_by_id(&ids, &["labels"]).await?;
        let mut out = HashMap::new();
        for issue in issues {
            let Some(made) = created.iter().find(|c| c.id == issue.id) else {
                continue;
            };
            if let Some(&finding) = issue.fields.labels.iter().find_map(|l| by_label.get(l)) {
                out.insert(finding.clone(), made.clone());
            }
        }
        Ok(out)
    }

    /// Releases a claim after a failure, leaving what its `left` says, and
    /// queues or parks the create.
    async fn fail_claimed(
        &self,
        c: &ChunkClaim,
        error: SyncError,
    ) -> Result<PushOutcome, SyncError> {
        match self.core.store.release(&c.f.id, c.fence, c.left).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(finding = %c.f.id, fence = %c.fence, "claim lost during a backfill; the next holder checks Jira first");
            }
            Err(e) => {
                tracing::warn!(finding = %c.f.id, code = e.code(), "could not release a claim");
            }
        }
        self.defer(
            PendingOp::Create {
                finding: c.f.id.clone(),
            },
            error,
        )
        .await
    }
}

/// A finding whose claim this backfill holds.
struct ChunkClaim {
    i: usize,
    f: Finding,
    fence: Fence,
    doubt: Option<Doubt>,
    /// Monotonic time the claim request was sent.
    sent: std::time::Duration,
    /// Monotonic time the store answered it.
    claimed_at: std::time::Duration,
    /// What a release leaves behind if this claim fails from here.
    left: Release,
}
