//! The worker: retries queued operations with backoff until they succeed or
//! need a person. Callable once (`run_due`) or in the background.

use crate::engine::JiraSync;
use crate::error::SyncError;
use crate::push::{Attempt, AttemptError, PushOutcome, duration_ms};
use crate::state_out::StateOutcome;
use crate::store::{PendingOp, QueuedOp};
use std::time::Duration;

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
}

/// A worker running in the background; stops when dropped or on
/// [`WorkerHandle::stop`].
#[derive(Debug)]
pub struct WorkerHandle {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Stops the worker after its current round.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl WorkerHandle {
    /// Runs `round(n)` now and then every `interval` until stopped.
    pub(crate) fn spawn<F, Fut>(interval: Duration, round: F) -> Self
    where
        F: Fn(u64) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut n = 0u64;
            loop {
                round(n).await;
                n += 1;
                tokio::select! {
                    _ = &mut rx => break,
                    _ = tokio::time::sleep(interval) => {}
                }
            }
        });
        Self {
            stop: Some(tx),
            task,
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

enum Step {
    Done,
    Retry(SyncError, Option<Duration>),
    Park(SyncError),
    Gone,
}

impl JiraSync {
    /// Runs every operation that is due now, once.
    ///
    /// # Errors
    /// [`SyncError::Store`] when the store fails; operations not yet handled
    /// stay queued.
    pub async fn run_due(&self) -> Result<WorkerReport, SyncError> {
        let mut report = WorkerReport::default();
        let now = self.now_ms();
        let due = self
            .inner
            .store
            .due(now, self.inner.settings.worker_batch)
            .await?;
        for q in due {
            match self.run_op(&q).await {
                Step::Done => {
                    self.inner.store.complete(q.id).await?;
                    report.done += 1;
                }
                Step::Gone => {
                    tracing::warn!(finding = %q.op.finding(), "queued operation about a finding the host no longer has");
                    self.inner.store.complete(q.id).await?;
                    report.gone += 1;
                }
                Step::Retry(e, hint) => {
                    let next = self.now_ms() + duration_ms(self.retry_delay(q.attempts + 1, hint));
                    self.inner
                        .store
                        .reschedule(q.id, next, &format!("{}: {e}", e.code()))
                        .await?;
                    report.retried += 1;
                }
                Step::Park(e) => {
                    tracing::warn!(finding = %q.op.finding(), code = e.code(), fix = e.fix(), "parked until a person acts");
                    self.inner
                        .store
                        .park(q.id, &format!("{}: {e}", e.code()))
                        .await?;
                    report.parked += 1;
                }
            }
        }
        Ok(report)
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
        let classify = |e: SyncError| {
            if e.worth_retrying(q.attempts) {
                let hint = match &e {
                    SyncError::Jira(j) => j.retry_after(),
                    _ => None,
                };
                Step::Retry(e, hint)
            } else {
                Step::Park(e)
            }
        };
        let finding = match self.inner.findings.finding(q.op.finding()).await {
            Ok(Some(f)) => f,
            Ok(None) => return Step::Gone,
            Err(e) => return classify(e.into()),
        };
        match &q.op {
            PendingOp::Create { .. } => match self.try_push(&finding).await {
                Ok(Attempt::Done(_)) => Step::Done,
                Ok(Attempt::Busy) => Step::Retry(
                    SyncError::Busy {
                        finding: finding.id.to_string(),
                    },
                    Some(self.inner.settings.claim_lease),
                ),
                Err(AttemptError { error }) => classify(error),
            },
            // The finding as it is now, not as it was when the change was
            // queued: a later change may have happened since.
            PendingOp::SetState { .. } => {
                match self.try_set_state(&finding.id, finding.state).await {
                    Ok(StateOutcome::NotLinked) => {
                        // Not linked yet: push it (its issue then follows the
                        // finding's state through the queue), or nothing to do.
                        match self.try_push(&finding).await {
                            Ok(Attempt::Done(PushOutcome::Skipped)) => Step::Done,
                            // Linking queued this very operation again (same
                            // key, same row): finish it now rather than complete
                            // it away.
                            Ok(Attempt::Done(_)) => {
                                match self.try_set_state(&finding.id, finding.state).await {
                                    Ok(_) => Step::Done,
                                    Err(e) => classify(e),
                                }
                            }
                            Ok(Attempt::Busy) => Step::Retry(
                                SyncError::Busy {
                                    finding: finding.id.to_string(),
                                },
                                Some(self.inner.settings.claim_lease),
                            ),
                            Err(AttemptError { error }) => classify(error),
                        }
                    }
                    Ok(_) => Step::Done,
                    Err(e) => classify(e),
                }
            }
        }
    }
}
