use penaxtra_mapping::{FindingId, FindingState};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The answer to [`super::SyncStore::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// The caller holds the claim and may create the issue.
    Acquired {
        /// An earlier attempt may have reached Jira: search before creating.
        uncertain: bool,
    },
    /// Another owner holds an unexpired claim.
    Busy,
    /// The finding already has an issue.
    Linked(Link),
}

/// A finding linked to its Jira issue, with the sync bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Link {
    /// The finding.
    pub finding_id: FindingId,
    /// The issue key, e.g. `SEC-42`.
    pub issue_key: String,
    /// The issue id.
    pub issue_id: String,
    /// The last finding state pushed to Jira.
    pub state_out: Option<FindingState>,
    /// The last finding state applied from Jira.
    pub state_in: Option<FindingState>,
    /// The Jira statuses this integration's own moves put the issue in:
    /// while it walks an issue through several transitions, every status of
    /// the walk; afterwards, the target. A Jira event or sweep that reports
    /// one of these is our own echo. Cleared when a person's change applies.
    pub expected_statuses: Vec<String>,
    /// Jira's timestamp (epoch ms) of the last Jira event applied; older
    /// events are stale.
    pub last_event_ms: Option<i64>,
    /// When the link was made (epoch ms).
    pub created_ms: i64,
    /// When the bookkeeping last changed (epoch ms).
    pub updated_ms: i64,
}

impl Link {
    /// Whether `status` is one this integration moved (or is moving) the
    /// issue to.
    pub fn expects(&self, status: &str) -> bool {
        self.expected_statuses
            .iter()
            .any(|s| s.trim().eq_ignore_ascii_case(status.trim()))
    }

    /// A fresh link for a just-created (or just-found) issue whose state in
    /// Jira corresponds to `state`.
    pub fn new(
        finding_id: FindingId,
        issue_key: impl Into<String>,
        issue_id: impl Into<String>,
        state: FindingState,
        now_ms: i64,
    ) -> Self {
        Self {
            finding_id,
            issue_key: issue_key.into(),
            issue_id: issue_id.into(),
            state_out: Some(state),
            state_in: None,
            expected_statuses: Vec::new(),
            last_event_ms: None,
            created_ms: now_ms,
            updated_ms: now_ms,
        }
    }
}

/// The id of a queued operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OpId(pub i64);

impl std::fmt::Display for OpId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "op#{}", self.0)
    }
}

/// A Jira operation that is still to be done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PendingOp {
    /// Create the issue of a finding (with its duplicate check).
    Create {
        /// The finding.
        finding: FindingId,
    },
    /// Bring the finding's issue to the Jira state of `state`.
    SetState {
        /// The finding.
        finding: FindingId,
        /// The finding state to mirror.
        state: FindingState,
    },
}

impl PendingOp {
    /// The finding the operation is about.
    pub fn finding(&self) -> &FindingId {
        match self {
            PendingOp::Create { finding } | PendingOp::SetState { finding, .. } => finding,
        }
    }

    /// Operations with the same key replace each other in the queue.
    pub fn key(&self) -> String {
        match self {
            PendingOp::Create { finding } => format!("create:{}", finding.as_str()),
            PendingOp::SetState { finding, .. } => format!("state:{}", finding.as_str()),
        }
    }
}

/// An operation in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QueuedOp {
    /// Its id.
    pub id: OpId,
    /// The operation.
    pub op: PendingOp,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it is due (epoch ms).
    pub due_ms: i64,
    /// The last error, with its code.
    pub last_error: Option<String>,
    /// Whether it waits for a person.
    pub parked: bool,
}

/// Where reconciliation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SweepCursor {
    /// Start time (epoch ms) of the last complete sweep.
    pub last_sweep_ms: i64,
}

impl SweepCursor {
    /// A cursor at this time.
    pub fn new(last_sweep_ms: i64) -> Self {
        Self { last_sweep_ms }
    }
}

/// The error of a store.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The finding is already linked to another issue.
    #[error("finding {finding} is already linked to {existing}, not {attempted}")]
    Conflict {
        /// The finding.
        finding: String,
        /// Its issue.
        existing: String,
        /// The issue that was to be linked.
        attempted: String,
    },
    /// No such record.
    #[error("no {what} for {key}")]
    NotFound {
        /// What was looked for.
        what: &'static str,
        /// Its key.
        key: String,
    },
    /// A stored record could not be read back.
    #[error("stored {what} is unreadable: {message}")]
    Corrupt {
        /// What record.
        what: &'static str,
        /// Why.
        message: String,
    },
    /// The backend failed (database locked past the timeout, disk full, ...).
    #[error("sync store failed: {context}")]
    Backend {
        /// What the store was doing.
        context: String,
        /// The backend's error.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    /// Wraps a backend error; for host implementations of the store.
    pub fn backend(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError::Backend {
            context: context.into(),
            source: Arc::new(source),
        }
    }

    /// A stable code: `store_conflict`, `store_not_found`, `store_corrupt`,
    /// `store_backend`.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Conflict { .. } => "store_conflict",
            StoreError::NotFound { .. } => "store_not_found",
            StoreError::Corrupt { .. } => "store_corrupt",
            StoreError::Backend { .. } => "store_backend",
        }
    }
}
