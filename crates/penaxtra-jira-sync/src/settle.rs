//! Settling: run the worker until no work it can do is left, so that a run
//! resumed after a crash finishes the job in that same run.

use crate::engine::JiraSync;
use crate::error::SyncError;
use crate::reconcile::ReconcileReport;
use crate::worker::WorkerReport;
use std::time::Duration;

/// Work still in the store, as [`JiraSync::work_left`] counts it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkLeft {
    /// Queued operations that are not parked (in flight, or due later).
    pub queued: usize,
    /// Claims without a link or a parked operation: held by a live or dead
    /// process, or left in doubt. A dead holder's become queued creates
    /// once their lease ends.
    pub claims: usize,
    /// Operations parked for a person (not waited for).
    pub parked: usize,
    /// When the next queued operation falls due (epoch ms).
    pub next_due_ms: Option<i64>,
}

impl WorkLeft {
    /// Whether nothing is left that the worker could do.
    pub fn is_done(&self) -> bool {
        self.queued == 0 && self.claims == 0
    }
}

/// What [`JiraSync::settle`] did.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SettleReport {
    /// Worker rounds run.
    pub rounds: usize,
    /// The worker's rounds, added up.
    pub worker: WorkerReport,
    /// What was left at the end (parked operations; anything else only when
    /// `timed_out`).
    pub left: WorkLeft,
    /// Whether `max_wait` ran out with work left.
    pub timed_out: bool,
    /// The reconciliation sweep run at the end; `None` when it failed (its
    /// error is logged and the next sweep covers the same window).
    pub reconcile: Option<ReconcileReport>,
}

impl JiraSync {
    /// Counts the work left in the store.
    ///
    /// # Errors
    /// [`SyncError::Store`] when the store fails.
    pub async fn work_left(&self) -> Result<WorkLeft, SyncError> {
        let counts = self.store().work_counts().await?;
        Ok(WorkLeft {
            queued: counts.queued,
            claims: counts.claims,
            parked: counts.parked,
            next_due_ms: counts.next_due_ms,
        })
    }

    /// Runs the worker (recovery pass included) until no work it can do is
    /// left or `max_wait` has passed: it waits for operations due later and
    /// for claims of processes that died to expire and be recovered. Then
    /// runs one reconciliation sweep, and the worker again for what the
    /// sweep queued. `progress` is called after each round with what is
    /// left.
    ///
    /// # Errors
    /// [`SyncError::Store`] when the store fails.
    pub async fn settle(
        &self,
        max_wait: Duration,
        progress: impl Fn(&WorkLeft),
    ) -> Result<SettleReport, SyncError> {
        let deadline = tokio::time::Instant::now() + max_wait;
        let mut report = SettleReport::default();
        let mut swept = false;
        loop {
            let round = self.run_due().await?;
            report.rounds += 1;
            add(&mut report.worker, &round);
            let left = self.work_left().await?;
            report.left = left;
            progress(&left);
            if left.is_done() {
                if swept {
                    break;
                }
                swept = true;
                match self.reconcile(false).await {
                    Ok(r) => report.reconcile = Some(r),
                    Err(e) => {
                        tracing::warn!(
                            code = e.code(),
                            "the closing reconciliation sweep failed: {e}"
                        )
                    }
                }
                continue;
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                report.timed_out = true;
                break;
            }
            // Sleep until the next operation is due, at most a second (a dead
            // process's claim may expire meanwhile), at least a little.
            let until_due = left
                .next_due_ms
                .map(|d| {
                    Duration::from_millis(u64::try_from(d - self.core().now_ms()).unwrap_or(0))
                })
                .unwrap_or(Duration::from_secs(1));
            let nap = until_due
                .clamp(Duration::from_millis(20), Duration::from_secs(1))
                .min(deadline - now);
            tokio::time::sleep(nap).await;
        }
        Ok(report)
    }
}

fn add(total: &mut WorkerReport, round: &WorkerReport) {
    total.done += round.done;
    total.retried += round.retried;
    total.parked += round.parked;
    total.gone += round.gone;
    total.recovered += round.recovered;
}
