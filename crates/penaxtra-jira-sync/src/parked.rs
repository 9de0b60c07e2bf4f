//! Parked work a person can act on: operations that need a person (bad
//! credentials, a missing permission, an unknown field, a deleted issue)
//! wait in the store with their code and fix. List them, retry one or all
//! after fixing the cause, or drop one with a reason.
//!
//! These work on the store alone (no Jira connection), so an operator tool
//! can run them next to a stopped service; [`crate::JiraSync`] has the same
//! calls for a running one.

use crate::store::{OpId, PendingOp, QueuedOp, StoreError, SyncStore};

/// A parked operation, with what a person needs to act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParkedOp {
    /// Its id, to retry or drop it.
    pub id: OpId,
    /// The operation.
    pub op: PendingOp,
    /// Attempts made.
    pub attempts: u32,
    /// The error code it was parked with (`unauthorized`,
    /// `issue_create_forbidden`, `customfield_unknown`, `issue_deleted`, ...).
    pub code: String,
    /// The error message, with the fix where there is one.
    pub message: String,
}

impl ParkedOp {
    fn from_queued(q: QueuedOp) -> Self {
        let text = q.last_error.unwrap_or_default();
        let (code, message) = match text.split_once(": ") {
            Some((code, rest))
                if !code.is_empty()
                    && code
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()) =>
            {
                (code.to_string(), rest.to_string())
            }
            _ => (String::new(), text),
        };
        Self {
            id: q.id,
            op: q.op,
            attempts: q.attempts,
            code,
            message,
        }
    }
}

/// What became of a parked operation a person acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParkedAction {
    /// Queued again, due now (the worker runs it next round).
    Retried(OpId),
    /// Removed from the queue for good.
    Dropped(ParkedOp),
    /// No parked operation has that id.
    NotFound(OpId),
}

/// Every parked operation, oldest first.
///
/// # Errors
/// [`StoreError`] when the store fails.
pub async fn list(store: &dyn SyncStore) -> Result<Vec<ParkedOp>, StoreError> {
    Ok(store
        .pending()
        .await?
        .into_iter()
        .filter(|q| q.parked)
        .map(ParkedOp::from_queued)
        .collect())
}

async fn find(store: &dyn SyncStore, id: OpId) -> Result<Option<QueuedOp>, StoreError> {
    Ok(store
        .pending()
        .await?
        .into_iter()
        .find(|q| q.parked && q.id == id))
}

/// Queues parked operation `id` again, due at `now_ms`: after a person fixed
/// the cause. (The new row is queued before the parked one goes, so a crash
/// in between leaves both, never neither.)
///
/// # Errors
/// [`StoreError`] when the store fails.
pub async fn retry(
    store: &dyn SyncStore,
    id: OpId,
    now_ms: i64,
) -> Result<ParkedAction, StoreError> {
    let Some(q) = find(store, id).await? else {
        return Ok(ParkedAction::NotFound(id));
    };
    let again = store
        .enqueue(&q.op, now_ms, Some("retried by a person"))
        .await?;
    if again.id != q.id {
        store.complete(q.op_ref()).await?;
    }
    tracing::info!(op = %id, finding = %q.op.finding(), "parked operation retried by a person");
    Ok(ParkedAction::Retried(again.id))
}

/// Queues every parked operation again, due at `now_ms`.
///
/// # Errors
/// [`StoreError`] when the store fails.
pub async fn retry_all(store: &dyn SyncStore, now_ms: i64) -> Result<usize, StoreError> {
    let n = store.unpark_all(now_ms).await?;
    tracing::info!(count = n, "parked operations retried by a person");
    Ok(n)
}

/// Drops parked operation `id` for good, logging `reason` (who decided, and
/// why: the finding stays as it is in Penaxtra and in Jira).
///
/// # Errors
/// [`StoreError`] when the store fails.
pub async fn drop(
    store: &dyn SyncStore,
    id: OpId,
    reason: &str,
) -> Result<ParkedAction, StoreError> {
    let Some(q) = find(store, id).await? else {
        return Ok(ParkedAction::NotFound(id));
    };
    let op_ref = q.op_ref();
    let parked = ParkedOp::from_queued(q);
    store.complete(op_ref).await?;
    tracing::warn!(op = %id, finding = %parked.op.finding(), code = %parked.code, reason, "parked operation dropped by a person");
    Ok(ParkedAction::Dropped(parked))
}

impl crate::JiraSync {
    /// Every parked operation; see [`list`].
    ///
    /// # Errors
    /// [`crate::SyncError::Store`] when the store fails.
    pub async fn parked(&self) -> Result<Vec<ParkedOp>, crate::SyncError> {
        Ok(list(self.core().store.as_ref()).await?)
    }

    /// Retries one parked operation now; see [`retry`].
    ///
    /// # Errors
    /// [`crate::SyncError::Store`] when the store fails.
    pub async fn retry_parked(&self, id: OpId) -> Result<ParkedAction, crate::SyncError> {
        Ok(retry(self.core().store.as_ref(), id, self.core().now_ms()).await?)
    }

    /// Retries every parked operation now; see [`retry_all`].
    ///
    /// # Errors
    /// [`crate::SyncError::Store`] when the store fails.
    pub async fn retry_all_parked(&self) -> Result<usize, crate::SyncError> {
        Ok(retry_all(self.core().store.as_ref(), self.core().now_ms()).await?)
    }

    /// Drops one parked operation with a reason; see [`drop`].
    ///
    /// # Errors
    /// [`crate::SyncError::Store`] when the store fails.
    pub async fn drop_parked(
        &self,
        id: OpId,
        reason: &str,
    ) -> Result<ParkedAction, crate::SyncError> {
        Ok(drop(self.core().store.as_ref(), id, reason).await?)
    }
}
