//! A request budget shared beyond one client: several processes or
//! replicas speaking to one Jira with one account share one rate limit, and
//! a local quota cannot see the others' requests. The host plugs in a
//! [`RequestBudget`] kept where every replica can reach it (the sync
//! store, for `penaxtra-jira-sync`); the client asks it before every
//! attempt, after its local quota and any slow-down Jira asked for.

use async_trait::async_trait;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A budget of requests shared with other clients of the same Jira.
///
/// [`RequestBudget::reserve`] is asked once before every attempt (retries
/// included). It reserves the right to send one request and answers how
/// long to wait before sending it: zero while the budget has room, the
/// time to the caller's slot otherwise. A reservation is never given back,
/// so a reserving process that dies only leaves a slot unused.
#[async_trait]
pub trait RequestBudget: Send + Sync + fmt::Debug {
    /// Reserves one request; answers the wait before it may be sent.
    ///
    /// # Errors
    /// [`BudgetError`] when the budget cannot be reached. The client then
    /// logs a warning and sends under its local quota and Jira's own
    /// answers (`Retry-After`, rate-limit headers) alone.
    async fn reserve(&self) -> Result<Duration, BudgetError>;
}

/// A shared [`RequestBudget`] could not be reached.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the shared request budget is unavailable: {message}")]
pub struct BudgetError {
    message: String,
    #[source]
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl BudgetError {
    /// An error saying what failed, with its cause.
    pub fn new(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Arc::new(source)),
        }
    }

    /// An error with a message only.
    pub fn message(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }
}
