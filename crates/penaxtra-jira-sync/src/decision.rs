//! The one place that decides what happens to an operation that failed:
//! try again later, or park it for a person. Push, state-out, backfill and
//! the worker all ask here.

use crate::error::SyncError;
use std::time::Duration;

/// What to do with a failed operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Try again after at least this long (Jira's `Retry-After`, or the
    /// end of a search consistency window), with backoff.
    Retry { at_least: Option<Duration> },
    /// A person must act; keep it parked with its fix.
    Park,
}

/// Decides after `attempts` earlier failed attempts.
pub(crate) fn decide(error: &SyncError, attempts: u32) -> Decision {
    if error.worth_retrying(attempts) {
        Decision::Retry {
            at_least: error.retry_hint(),
        }
    } else {
        Decision::Park
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_errors_wait_at_least_their_hint() {
        let e = SyncError::AwaitingConsistency {
            finding: "f".into(),
            wait: Duration::from_secs(7),
        };
        assert_eq!(
            decide(&e, 0),
            Decision::Retry {
                at_least: Some(Duration::from_secs(7))
            }
        );
        let e = SyncError::NoTransitionPath {
            issue: "SEC-1".into(),
            current: "Open".into(),
            target: "Gone".into(),
            max_steps: 6,
        };
        assert!(matches!(decide(&e, 0), Decision::Retry { .. }));
        assert_eq!(decide(&e, 3), Decision::Park, "parked after a few tries");
        let e = SyncError::UnknownFinding {
            finding: "f".into(),
        };
        assert_eq!(decide(&e, 0), Decision::Park);
    }
}
