//! What the host application implements: where findings live.

use async_trait::async_trait;
use penaxtra_mapping::{Finding, FindingId, FindingState};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Why the integration changes a finding's state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateCause {
    /// A verified Jira webhook about the linked issue.
    JiraWebhook {
        /// The issue.
        issue_key: jira_model::IssueKey,
        /// `X-Atlassian-Webhook-Identifier`, when Jira sent one.
        delivery_id: Option<String>,
    },
    /// Reconciliation found the issue in this state (a webhook was lost).
    Reconciliation {
        /// The issue.
        issue_key: jira_model::IssueKey,
    },
}

/// An error of the host's finding store, carried as is.
#[derive(Debug, Clone, thiserror::Error)]
#[error("host finding store failed: {message}")]
pub struct HostError {
    message: String,
    retryable: bool,
}

impl HostError {
    /// A transient failure: the webhook is answered 5xx so Jira retries.
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
        }
    }
    /// A permanent failure.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
        }
    }
    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

/// Where the host keeps its findings. Implement it over Penaxtra's database.
#[async_trait]
pub trait Findings: Send + Sync {
    /// Reads a finding; `None` when there is no such finding.
    ///
    /// # Errors
    /// [`HostError`] when the host's store fails.
    async fn finding(&self, id: &FindingId) -> Result<Option<Finding>, HostError>;

    /// Changes a finding's state because of Jira. Must be idempotent.
    ///
    /// # Errors
    /// [`HostError`] when the change could not be made durable; the
    /// integration then answers Jira's webhook with 5xx so it is retried.
    async fn set_state(
        &self,
        id: &FindingId,
        state: FindingState,
        cause: StateCause,
    ) -> Result<(), HostError>;
}

/// An in-memory [`Findings`] for tests and examples, recording every change
/// with its cause.
#[derive(Debug, Default, Clone)]
pub struct MemoryFindings {
    inner: Arc<Mutex<MemoryFindingsInner>>,
}

#[derive(Debug, Default)]
struct MemoryFindingsInner {
    findings: HashMap<FindingId, Finding>,
    changes: Vec<(FindingId, FindingState, StateCause)>,
}

impl MemoryFindings {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding these findings.
    pub fn with(findings: impl IntoIterator<Item = Finding>) -> Self {
        let store = Self::new();
        for f in findings {
            store.insert(f);
        }
        store
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryFindingsInner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds or replaces a finding.
    pub fn insert(&self, finding: Finding) {
        self.lock().findings.insert(finding.id.clone(), finding);
    }

    /// Removes a finding (the host deleted it); answers it when it was there.
    pub fn remove(&self, id: &FindingId) -> Option<Finding> {
        self.lock().findings.remove(id)
    }

    /// A finding by id.
    pub fn get(&self, id: &FindingId) -> Option<Finding> {
        self.lock().findings.get(id).cloned()
    }

    /// Every change made through [`Findings::set_state`], in order.
    pub fn changes(&self) -> Vec<(FindingId, FindingState, StateCause)> {
        self.lock().changes.clone()
    }
}

#[async_trait]
impl Findings for MemoryFindings {
    async fn finding(&self, id: &FindingId) -> Result<Option<Finding>, HostError> {
        Ok(self.get(id))
    }

    async fn set_state(
        &self,
        id: &FindingId,
        state: FindingState,
        cause: StateCause,
    ) -> Result<(), HostError> {
        let mut inner = self.lock();
        let Some(f) = inner.findings.get_mut(id) else {
            return Err(HostError::permanent(format!("no finding {id}")));
        };
        f.state = state;
        inner.changes.push((id.clone(), state, cause));
        Ok(())
    }
}
