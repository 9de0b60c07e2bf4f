//! The facade's error type.

use crate::HostError;
use crate::store::StoreError;

/// Everything that can go wrong in the facade. Each variant keeps the error
/// of the layer that failed, so `code()`, `fix()` and `is_retryable()` answer
/// with that layer's knowledge.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// Jira answered with an error, or could not be reached.
    #[error(transparent)]
    Jira(#[from] jira_client::Error),
    /// The sync store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The host's finding store failed.
    #[error(transparent)]
    Host(#[from] HostError),
    /// A finding could not be turned into a Jira request.
    #[error(transparent)]
    Mapping(#[from] penaxtra_mapping::MappingError),
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Jira sent a value its model rejects (an issue key that is not one).
    #[error(transparent)]
    Model(#[from] jira_model::ModelError),
    /// The finding has no Jira issue.
    #[error("finding {finding} has no Jira issue yet")]
    NotLinked {
        /// The finding.
        finding: String,
    },
    /// No finding with this id in the host.
    #[error("no finding {finding} in the host's store")]
    UnknownFinding {
        /// The finding.
        finding: String,
    },
    /// The workflow has no path from the issue's status to the target.
    #[error(
        "issue {issue} cannot reach status {target:?} from {current:?}: no transition path within {max_steps} steps; \
         map the state to a status of this workflow in the state table"
    )]
    NoTransitionPath {
        /// The issue.
        issue: String,
        /// Its status.
        current: String,
        /// The wanted status.
        target: String,
        /// The search bound.
        max_steps: usize,
    },
    /// Another task or replica holds the finding's claim.
    #[error("finding {finding} is being pushed by another worker")]
    Busy {
        /// The finding.
        finding: String,
    },
    /// An earlier attempt may have created the finding's issue, and Jira's
    /// search cannot yet be trusted to show it (its consistency window has
    /// not passed): the create waits rather than risk a duplicate.
    #[error(
        "finding {finding}: an earlier attempt may have created its issue; waiting {wait:?} for Jira's search to catch up before creating"
    )]
    AwaitingConsistency {
        /// The finding.
        finding: String,
        /// How long until a search can be trusted.
        wait: std::time::Duration,
    },
    /// The connection test's synthetic issue sent no webhook that reached
    /// the receiver (sharing this engine's store) in time.
    #[error(
        "no webhook of the synthetic issue {issue} reached the receiver at {receiver} within {waited:?}"
    )]
    WebhookNotReceived {
        /// The synthetic issue.
        issue: String,
        /// The receiver's URL, its secret path hidden.
        receiver: String,
        /// How long the test waited.
        waited: std::time::Duration,
    },
    /// A bulk create answered success for this finding's element, but the
    /// issue could not be matched to it by its dedup label; it is treated as
    /// possibly created and checked again before any new create.
    #[error("finding {finding}: Jira's bulk answer could not be matched to an issue by its label")]
    CreateUnconfirmed {
        /// The finding.
        finding: String,
    },
}

/// Attempts at a state change that found no transition path before it is
/// parked.
const NO_PATH_RETRIES: u32 = 3;

impl SyncError {
    /// A stable code: the Jira client's (`unauthorized`,
    /// `issue_create_forbidden`, `customfield_unknown`, `rate_limited`, ...),
    /// the store's, or `host`, `mapping`, `config`, `not_linked`,
    /// `unknown_finding`, `no_transition_path`, `busy`,
    /// `awaiting_search_consistency`, `create_unconfirmed`,
    /// `webhook_not_received`.
    pub fn code(&self) -> &'static str {
        match self {
            SyncError::Jira(e) => e.code(),
            SyncError::Store(e) => e.code(),
            SyncError::Host(_) => "host",
            SyncError::Mapping(_) => "mapping",
            SyncError::Config(_) => "config",
            SyncError::Model(_) => "model",
            SyncError::NotLinked { .. } => "not_linked",
            SyncError::UnknownFinding { .. } => "unknown_finding",
            SyncError::NoTransitionPath { .. } => "no_transition_path",
            SyncError::Busy { .. } => "busy",
            SyncError::AwaitingConsistency { .. } => "awaiting_search_consistency",
            SyncError::CreateUnconfirmed { .. } => "create_unconfirmed",
            SyncError::WebhookNotReceived { .. } => "webhook_not_received",
        }
    }

    /// What a person should do, when a person must act.
    pub fn fix(&self) -> Option<&'static str> {
        match self {
            SyncError::Jira(e) => e.fix(),
            SyncError::NoTransitionPath { .. } => Some(
                "Map the finding state to a status this workflow can reach, in the state table settings",
            ),
            SyncError::Config(_) => Some("Correct the named setting and restart"),
            SyncError::WebhookNotReceived { .. } => Some(
                "In Jira, point a webhook for this project's issue created and updated events at the receiver URL \
                 (with its secret); admit Jira's addresses in the receiver's allowlist (its rejection metrics and \
                 logs name the reason); run the receiver on this engine's sync store",
            ),
            _ => None,
        }
    }

    /// Whether trying the same operation later may succeed without a person
    /// acting (rate limits, timeouts, 5xx, a busy store, a held claim).
    pub fn is_retryable(&self) -> bool {
        match self {
            SyncError::Jira(e) => e.is_retryable(),
            SyncError::Store(
                StoreError::Backend { .. } | StoreError::Fenced { .. } | StoreError::Stale { .. },
            ) => true,
            SyncError::Host(e) => e.is_retryable(),
            SyncError::Busy { .. }
            | SyncError::AwaitingConsistency { .. }
            | SyncError::CreateUnconfirmed { .. } => true,
            _ => false,
        }
    }

    /// The least time to wait before trying again, when known: Jira's
    /// `Retry-After`, or what is left of a search consistency window.
    pub fn retry_hint(&self) -> Option<std::time::Duration> {
        match self {
            SyncError::Jira(e) => e.retry_after(),
            SyncError::AwaitingConsistency { wait, .. } => Some(*wait),
            _ => None,
        }
    }

    /// Whether the worker should try again after `attempts` failed
    /// attempts: retryable errors always; a missing transition path a few
    /// times, since someone moving the issue during the walk looks the same
    /// as a workflow without a path, before it is parked for a person.
    pub fn worth_retrying(&self, attempts: u32) -> bool {
        self.is_retryable()
            || (matches!(self, SyncError::NoTransitionPath { .. }) && attempts < NO_PATH_RETRIES)
    }

    /// Whether a person must act before the operation can succeed
    /// (credentials, permissions, configuration, workflow).
    pub fn needs_person(&self) -> bool {
        !self.is_retryable()
    }
}
