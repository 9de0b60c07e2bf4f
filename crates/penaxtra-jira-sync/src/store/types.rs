use jira_model::{IssueKey, StatusName};
use penaxtra_mapping::{FindingId, FindingState};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A fencing token: every claim taken gets a larger one than any before it
/// in the store, and every write made on the strength of a claim carries
/// it. A holder whose lease ran out (a paused or partitioned process) finds
/// its token stale and its late writes refused, so it cannot overwrite the
/// next holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Fence(pub i64);

impl std::fmt::Display for Fence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fence#{}", self.0)
    }
}

/// The answer to [`super::SyncStore::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// The caller holds the claim and may create the issue.
    Acquired {
        /// The token every later write of this claim carries.
        fence: Fence,
        /// `Some`: an earlier attempt may have created the issue in Jira;
        /// check Jira before creating (see [`Doubt`]).
        doubt: Option<Doubt>,
    },
    /// Another owner holds an unexpired claim.
    Busy,
    /// The finding already has an issue.
    Linked(Link),
    /// A create for this finding is parked for a person (for example its
    /// issue was deleted in Jira and the settings say not to recreate it).
    Parked {
        /// The parked operation's last error, with its code and fix.
        reason: String,
    },
}

impl Claim {
    /// A claim just acquired; for host stores and tests.
    pub fn acquired(fence: Fence, doubt: Option<Doubt>) -> Self {
        Claim::Acquired { fence, doubt }
    }
}

/// Why a claimant must check Jira before creating: an earlier attempt may
/// have created the issue.
///
/// Every time here is on the **store's** clock ([`super::StoreClock`]), so
/// replicas whose clocks disagree still agree on how old a doubt is: the
/// claimant waits out the rest of Jira's search consistency window on its
/// own monotonic clock, from the `age_ms` the store measured.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Doubt {
    /// When the doubt began (epoch ms, store clock): the release of an
    /// attempt that may have reached Jira, or the expiry of a holder that
    /// stopped renewing.
    pub since_ms: i64,
    /// How long ago that was when the claim was taken (store clock, never
    /// negative).
    pub age_ms: i64,
    /// The doubt comes from a holder whose lease ran out while it held the
    /// claim (not from a release): a write it sent before its expiry may
    /// still commit in Jira for up to a request timeout after it, so the
    /// window counts from `since_ms` plus the request timeout.
    pub expired_holder: bool,
    /// Ids of issues that attempts on this finding are known to have
    /// created ([`super::SyncStore::note_created`]): confirm these by id
    /// (consistent), before and instead of trusting the lagging search.
    pub issue_ids: Vec<String>,
}

impl Doubt {
    /// A doubt since `since_ms`, `age_ms` old; for host stores and tests.
    pub fn new(since_ms: i64, age_ms: i64, expired_holder: bool) -> Self {
        Self {
            since_ms,
            age_ms: age_ms.max(0),
            expired_holder,
            issue_ids: Vec::new(),
        }
    }

    /// The same doubt with the ids of issues known to have been created.
    pub fn with_issue_ids(mut self, issue_ids: Vec<String>) -> Self {
        self.issue_ids = issue_ids;
        self
    }
}

/// What a holder leaves behind when it gives a claim back without a link
/// ([`super::SyncStore::release`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Release {
    /// Jira was checked after the consistency window and has no issue for
    /// the finding: the claim is forgotten, doubt and all.
    Cleared,
    /// Nothing this holder sent can have created an issue: an earlier
    /// doubt, if any, stays exactly as it was (a later claimant still
    /// checks); with none, the claim is forgotten.
    Kept,
    /// This holder sent a create that may have reached Jira: the doubt
    /// begins now. `at_ms` is the caller's time, used only by a store on
    /// [`super::StoreClock::Caller`]; a store on its own clock records its
    /// own now, which is no earlier than the attempt.
    Raised {
        /// The caller's time of the attempt's end (epoch ms).
        at_ms: i64,
    },
}

/// A Jira status (and, when it matters, resolution) that this integration
/// moved or is moving an issue to: a Jira event or sweep that shows it is
/// an echo of our own change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExpectedStatus {
    /// The status name.
    pub status: StatusName,
    /// The resolution that goes with it; `None` for a status passed through
    /// on the way (any resolution is ours there).
    pub resolution: Option<String>,
}

impl ExpectedStatus {
    /// A status passed through, any resolution.
    pub fn passing(status: impl Into<StatusName>) -> Self {
        Self {
            status: status.into(),
            resolution: None,
        }
    }

    /// A status to arrive in, with the resolution set there (`None` when the
    /// target has no resolution: then the issue must have none).
    pub fn arriving(status: impl Into<StatusName>, resolution: Option<String>) -> Self {
        Self {
            status: status.into(),
            resolution: Some(resolution.unwrap_or_default()),
        }
    }

    /// Whether Jira showing `status` with `resolution` is this expectation.
    /// Names compare as Jira compares them ([`StatusName`]).
    pub fn matches(&self, status: &StatusName, resolution: Option<&str>) -> bool {
        if self.status != *status {
            return false;
        }
        match &self.resolution {
            None => true,
            Some(want) => want
                .trim()
                .eq_ignore_ascii_case(resolution.unwrap_or_default().trim()),
        }
    }

    /// One line of text: `status` or `status<TAB>resolution` (names hold no
    /// tab or newline); what [`ExpectedStatus::parse`] reads back.
    pub fn to_line(&self) -> String {
        match &self.resolution {
            None => self.status.as_str().to_string(),
            Some(r) => format!("{}\t{r}", self.status),
        }
    }

    /// Reads [`ExpectedStatus::to_line`].
    pub fn parse(line: &str) -> Self {
        match line.split_once('\t') {
            None => Self::passing(line),
            Some((s, r)) => Self {
                status: StatusName::new(s),
                resolution: Some(r.to_string()),
            },
        }
    }
}

/// A finding linked to its Jira issue, with the sync bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Link {
    /// The finding.
    pub finding_id: FindingId,
    /// The issue key, e.g. `SEC-42`.
    pub issue_key: IssueKey,
    /// The issue id.
    pub issue_id: String,
    /// The last finding state pushed to Jira.
    pub state_out: Option<FindingState>,
    /// The last finding state applied from Jira.
    pub state_in: Option<FindingState>,
    /// The Jira statuses this integration's own moves put the issue in:
    /// while it walks an issue through several transitions, every status of
    /// the walk; afterwards, the target with its resolution. A Jira event or
    /// sweep that reports one of these is our own echo. Cleared when a
    /// person's change applies.
    pub expected_statuses: Vec<ExpectedStatus>,
    /// The newest Jira-side time (epoch ms, Jira's clock: a webhook's
    /// `timestamp`, an issue's `updated`) this link has caught up with;
    /// Jira events from before it are stale. Never the local clock.
    pub last_event_ms: Option<i64>,
    /// While an outbound state change is being made (local epoch ms, a
    /// lease renewed by the walk): Jira events arriving meanwhile cannot yet
    /// be ordered against it, so they are answered "try again" and judged
    /// once the walk has recorded Jira's time of its last move.
    #[serde(default)]
    pub moving_until_ms: Option<i64>,
    /// When the link was made (epoch ms).
    pub created_ms: i64,
    /// When the bookkeeping last changed (epoch ms).
    pub updated_ms: i64,
    /// The version this copy was read at: [`super::SyncStore::update_link`]
    /// writes only over that version (compare-and-set), and the store
    /// counts it up with every update. `0` for a new link.
    #[serde(default)]
    pub version: i64,
}

impl Link {
    /// Whether `status` with `resolution` is where this integration moved
    /// (or is moving) the issue.
    pub fn expects(&self, status: &StatusName, resolution: Option<&str>) -> bool {
        self.expected_statuses
            .iter()
            .any(|e| e.matches(status, resolution))
    }

    /// Records a Jira-side time this link has caught up with.
    pub fn saw_jira_time(&mut self, jira_ms: i64) {
        self.last_event_ms = Some(self.last_event_ms.map_or(jira_ms, |t| t.max(jira_ms)));
    }

    /// A fresh link for a just-created (or just-found) issue whose state in
    /// Jira corresponds to `state`.
    pub fn new(
        finding_id: FindingId,
        issue_key: IssueKey,
        issue_id: impl Into<String>,
        state: FindingState,
        now_ms: i64,
    ) -> Self {
        Self {
            finding_id,
            issue_key,
            issue_id: issue_id.into(),
            state_out: Some(state),
            state_in: None,
            expected_statuses: Vec::new(),
            last_event_ms: None,
            moving_until_ms: None,
            created_ms: now_ms,
            updated_ms: now_ms,
            version: 0,
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
    /// The finding's issue was deleted in Jira: create a new one. Queued
    /// parked when the settings leave that to a person; while it is parked,
    /// the finding cannot be claimed ([`Claim::Parked`]).
    Recreate {
        /// The finding.
        finding: FindingId,
        /// The key of the deleted issue.
        deleted_issue: IssueKey,
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
            PendingOp::Create { finding }
            | PendingOp::Recreate { finding, .. }
            | PendingOp::SetState { finding, .. } => finding,
        }
    }

    /// Whether it creates an issue.
    pub fn is_create(&self) -> bool {
        matches!(self, PendingOp::Create { .. } | PendingOp::Recreate { .. })
    }

    /// Operations with the same key replace each other in the queue.
    pub fn key(&self) -> String {
        match self {
            PendingOp::Create { finding } | PendingOp::Recreate { finding, .. } => {
                format!("create:{}", finding.as_str())
            }
            PendingOp::SetState { finding, .. } => format!("state:{}", finding.as_str()),
        }
    }
}

/// One version of a queued operation. Enqueueing an equal operation again
/// replaces it under the same id with a new version; completing,
/// rescheduling or parking acts only on the version that ran, so a newer
/// operation queued while an older one runs is never lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OpRef {
    /// The queue row.
    pub id: OpId,
    /// Its version.
    pub version: i64,
}

/// An operation in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QueuedOp {
    /// Its id.
    pub id: OpId,
    /// Its version (see [`OpRef`]).
    pub version: i64,
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

impl QueuedOp {
    /// The version of this operation, to complete or reschedule.
    pub fn op_ref(&self) -> OpRef {
        OpRef {
            id: self.id,
            version: self.version,
        }
    }

    /// A queued operation from its parts; for host stores and tests.
    pub fn new(
        op_ref: OpRef,
        op: PendingOp,
        attempts: u32,
        due_ms: i64,
        last_error: Option<String>,
        parked: bool,
    ) -> Self {
        Self {
            id: op_ref.id,
            version: op_ref.version,
            op,
            attempts,
            due_ms,
            last_error,
            parked,
        }
    }
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
        existing: IssueKey,
        /// The issue that was to be linked.
        attempted: IssueKey,
    },
    /// A write made on the strength of a claim whose lease ran out and was
    /// taken by another holder (its fencing token is stale).
    #[error("the claim on finding {finding} was lost ({fence} is no longer current)")]
    Fenced {
        /// The finding.
        finding: String,
        /// The stale token.
        fence: Fence,
    },
    /// A compare-and-set write found the record changed since it was read.
    #[error("the {what} of {key} changed since it was read")]
    Stale {
        /// What record.
        what: &'static str,
        /// Its key.
        key: String,
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

    /// A stable code: `store_conflict`, `store_fenced`, `store_not_found`,
    /// `store_corrupt`, `store_backend`.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Conflict { .. } => "store_conflict",
            StoreError::Fenced { .. } => "store_fenced",
            StoreError::Stale { .. } => "store_stale",
            StoreError::NotFound { .. } => "store_not_found",
            StoreError::Corrupt { .. } => "store_corrupt",
            StoreError::Backend { .. } => "store_backend",
        }
    }
}

/// What is left to do in a store, counted ([`super::SyncStore::work_counts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkCounts {
    /// Queued operations that are not parked.
    pub queued: usize,
    /// Parked operations.
    pub parked: usize,
    /// The earliest due time of a queued operation that is not parked
    /// (epoch ms).
    pub next_due_ms: Option<i64>,
    /// Claims of findings that have no parked operation.
    pub claims: usize,
}
