//! The worker: retries queued operations with backoff until they succeed or
//! need a person. Callable once (`run_due`) or in the background.

use crate::background::WorkerHandle;
use crate::clock::duration_ms;
use crate::decision::{Decision, decide};
use crate::engine::JiraSync;
use crate::error::SyncError;
use crate::lease::OpLease;
use crate::push::{Attempt, AttemptError, PushOutcome};
use crate::state_out::StateOutcome;
use crate::store::{PendingOp, QueuedOp};
use std::time::Duration;

/// Operations a worker takes from the queue at once (each batch under one
/// lease, renewed per operation when it starts).
const TAKE_AT_ONCE: usize = 16;

/// What one worker round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerReport {
    /// Operations that succeeded and left the queue.
    pub done: usize,
    /// Operations that failed again and were rescheduled.
    pub retried: usize,
    /// Operations parked for a person.
    pub parked: usize,
    /// Operations about findings the host no longer has (left the queue,
    /// logged).
    pub gone: usize,
    /// Creates recovered from claims whose process is gone (queued, and run
    /// in this or a later round).
    pub recovered: usize,
}

enum Step {
    Done,
    Failed(SyncError),
    Gone,
}

impl JiraSync {
    /// Runs the recovery pass (claims whose process is gone become queued
    /// creates), then every operation that is due now, once. Each runs
    /// under a lease renewed while it is in flight, so a crash leaves it
    /// queued for the next round, never lost.
    ///
    /// # Errors
    /// [`SyncError::Store`] when the store fails; operations not yet handled
    /// stay queued.
    pub async fn run_due(&self) -> Result<WorkerReport, SyncError> {
        let report = self
            .run_due_up_to(self.core().settings.worker_batch, true)
            .await?;
        let left = self.work_left().await?;
        crate::metrics::queue(left.queued, left.parked);
        Ok(report)
    }

    /// One round of at most `limit` operations, after the recovery pass
    /// when `recover`. The connection pool's turn (`connections.rs`) and
    /// [`JiraSync::run_due`] share it.
    pub(crate) async fn run_due_up_to(
        &self,
        limit: usize,
        recover: bool,
    ) -> Result<WorkerReport, SyncError> {
        let mut report = WorkerReport::default();
        let store = &self.core().store;
        if recover {
            let recovered = store.recover_orphans(self.core().now_ms()).await?;
            if !recovered.is_empty() {
                tracing::info!(
                    connection = %store.connection(),
                    count = recovered.len(),
                    "recovered creates whose process is gone"
                );
            }
            report.recovered = recovered.len();
            self.deliveries()
                .maybe_prune(store.as_ref(), self.core().now_ms())
                .await;
        }
        let lease = duration_ms(self.core().settings.claim_lease);
        // What is due when the round starts: an operation rescheduled during
        // the round waits for the next one.
        let round_start = self.core().now_ms();
        let mut taken_so_far = 0;
        while taken_so_far < limit {
            // Taken a few at a time, each under one lease, so that other
            // workers (replicas) take the rest meanwhile.
            let take = TAKE_AT_ONCE.min(limit - taken_so_far);
            let taken = store
                .take_due(round_start, take, self.core().now_ms() + lease)
                .await?;
            if taken.is_empty() {
                break;
            }
            taken_so_far += taken.len();
            // The whole batch is renewed while any of it runs: an
            // operation waiting its turn must not fall due and be taken by
            // another worker meanwhile.
            let _keeper = OpLease::hold(self.core(), taken.iter().map(QueuedOp::op_ref).collect());
            for q in taken {
                // Renewed from now: the batch's lease started when it was taken.
                if !store
                    .extend(q.op_ref(), self.core().now_ms() + lease)
                    .await?
                {
                    continue;
                }
                self.run_taken(&q, &mut report).await?;
            }
        }
        crate::metrics::worker([
            ("done", report.done),
            ("retried", report.retried),
            ("parked", report.parked),
            ("gone", report.gone),
            ("recovered", report.recovered),
        ]);
        Ok(report)
    }

    /// Runs one operation whose lease this worker holds, and records the
    /// outcome in the queue.
    async fn run_taken(&self, q: &QueuedOp, report: &mut WorkerReport) -> Result<(), SyncError> {
        let store = &self.core().store;
        match self.run_op(q).await {
            Step::Done => {
                store.complete(q.op_ref()).await?;
                report.done += 1;
            }
            Step::Gone => {
                tracing::warn!(finding = %q.op.finding(), "queued operation about a finding the host no longer has");
                if q.op.is_create() {
                    self.forget_claim(q.op.finding()).await?;
                }
                store.complete(q.op_ref()).await?;
                report.gone += 1;
            }
            Step::Failed(e) => match decide(&e, q.attempts) {
                Decision::Retry { at_least } => {
                    let next = self.core().now_ms()
                        + duration_ms(self.core().retry_delay(q.attempts + 1, at_least));
                    store
                        .reschedule(q.op_ref(), next, &format!("{}: {e}", e.code()))
                        .await?;
                    report.retried += 1;
                }
                Decision::Park => {
                    tracing::warn!(finding = %q.op.finding(), code = e.code(), fix = e.fix(), "parked until a person acts");
                    store
                        .park(q.op_ref(), &format!("{}: {e}", e.code()))
                        .await?;
                    report.parked += 1;
                }
            },
        }
        Ok(())
    }

    /// Forgets the claim (and its doubt) of a finding the host no longer
    /// has, so nothing waits for it; a live holder keeps its claim.
    async fn forget_claim(&self, finding: &penaxtra_mapping::FindingId) -> Result<(), SyncError> {
        let core = self.core();
        let lease = duration_ms(core.settings.claim_lease);
        if let crate::store::Claim::Acquired { fence, .. } = core
            .store
            .claim(finding, &core.owner, core.now_ms(), lease)
            .await?
        {
            core.store
                .release(finding, fence, crate::store::Release::Cleared)
                .await?;
        }
        Ok(())
    }

    /// Runs [`JiraSync::run_due`] every `interval` in a background task.
    pub fn spawn_worker(&self, interval: Duration) -> WorkerHandle {
        let this = self.clone();
        WorkerHandle::spawn(interval, move |_| {
            let this = this.clone();
            async move {
                if let Err(e) = this.run_due().await {
                    tracing::warn!(code = e.code(), "worker round failed: {e}");
                }
            }
        })
    }

    async fn run_op(&self, q: &QueuedOp) -> Step {
        let busy = |finding: &penaxtra_mapping::FindingId| {
            Step::Failed(SyncError::Busy {
                finding: finding.to_string(),
            })
        };
        let finding = match self.findings().finding(q.op.finding()).await {
            Ok(Some(f)) => f,
            Ok(None) => return Step::Gone,
            Err(e) => return Step::Failed(e.into()),
        };
        match &q.op {
            PendingOp::Create { .. } | PendingOp::Recreate { .. } => {
                match self.pusher().try_push(&finding).await {
                    Ok(Attempt::Done(_)) => Step::Done,
                    Ok(Attempt::Busy) => busy(&finding.id),
                    Err(AttemptError { error }) => Step::Failed(error),
                }
            }
            // The finding as it is now, not as it was when the change was
            // queued: a later change may have happened since.
            PendingOp::SetState { .. } => {
                match self
                    .state_out()
                    .try_set_state(&finding.id, finding.state)
                    .await
                {
                    Ok(StateOutcome::NotLinked) => {
                        // Not linked yet: push it (linking queues the state
                        // change when the issue is not where the finding
                        // is), or nothing to do.
                        match self.pusher().try_push(&finding).await {
                            Ok(Attempt::Done(
                                PushOutcome::Skipped | PushOutcome::Parked { .. },
                            )) => Step::Done,
                            Ok(Attempt::Done(_)) => {
                                match self
                                    .state_out()
                                    .try_set_state(&finding.id, finding.state)
                                    .await
                                {
                                    Ok(_) => Step::Done,
                                    Err(e) => Step::Failed(e),
                                }
                            }
                            Ok(Attempt::Busy) => busy(&finding.id),
                            Err(AttemptError { error }) => Step::Failed(error),
                        }
                    }
                    Ok(_) => Step::Done,
                    Err(e) => Step::Failed(e),
                }
            }
        }
    }
}

impl JiraSync {
    /// Runs [`JiraSync::reconcile`] every `interval` in the background,
    /// checking for deleted issues every `deleted_every` sweeps (0: never).
    pub fn spawn_reconciler(&self, interval: Duration, deleted_every: u32) -> WorkerHandle {
        let this = self.clone();
        WorkerHandle::spawn(interval, move |round| {
            let this = this.clone();
            async move {
                let check = deleted_every != 0 && round % u64::from(deleted_every) == 0;
                if let Err(e) = this.reconcile(check).await {
                    tracing::warn!(code = e.code(), "reconciliation sweep failed: {e}");
                }
            }
        })
    }
}
