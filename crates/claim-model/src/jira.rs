//! The modelled Jira: issues carrying the finding's dedup label, creates in
//! flight, a search that lags behind writes, and a consistent read by id.
//!
//! Jira has no fencing: a create that left a replica commits whatever the
//! store says by then. It commits at some time in `[sent_at, sent_at + RT]`
//! (the request timeout bounds how long Jira may still act on a request),
//! whether or not the replica is still waiting for the answer.

use crate::{IssueId, ReplicaId, Time};

/// Where an issue is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IssueState {
    /// Open, as created.
    Open,
    /// A person decided it (e.g. Won't Do): the sync must not walk it back.
    Decided,
    /// Closed by healing as a duplicate; it lost the dedup label, so no
    /// search for the finding shows it any more.
    Duplicate,
}

/// An issue created for the finding.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Issue {
    /// When Jira committed it (Jira's `created`).
    pub created_at: Time,
    /// Where it is.
    pub state: IssueState,
    /// Its creator never got the answer: the response was lost after the
    /// commit (commit-then-drop). For the `sometimes` properties only.
    pub dropped: bool,
}

/// A create request Jira has received and may still commit.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InFlight {
    /// When the replica sent it.
    pub sent_at: Time,
    /// The issue, once committed.
    pub committed: Option<IssueId>,
}

/// The modelled Jira.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Jira {
    /// Every issue ever created for the finding, in commit order (the
    /// index is the id, so ids grow with commit order as Jira's do).
    pub issues: Vec<Issue>,
    /// The create each replica has in flight (at most one per replica).
    pub inflight: Vec<Option<InFlight>>,
}

impl Jira {
    /// Nothing created, nothing in flight.
    pub fn new(replicas: usize) -> Self {
        Self {
            issues: Vec::new(),
            inflight: vec![None; replicas],
        }
    }

    /// Whether the create of replica `r` can still commit at `now`.
    pub fn can_commit(&self, r: ReplicaId, now: Time, rt: Time) -> bool {
        matches!(&self.inflight[usize::from(r)],
            Some(f) if f.committed.is_none() && now <= f.sent_at + rt)
    }

    /// Commits the create of replica `r` at `now`.
    pub fn commit(&mut self, r: ReplicaId, now: Time) {
        let id = IssueId::try_from(self.issues.len()).unwrap_or(IssueId::MAX);
        if let Some(f) = &mut self.inflight[usize::from(r)] {
            f.committed = Some(id);
            self.issues.push(Issue {
                created_at: now,
                state: IssueState::Open,
                dropped: false,
            });
        }
    }

    /// The issues a search by the finding's label shows at `now`: those
    /// not closed as duplicates and created at least `lag` ago, oldest
    /// first.
    pub fn search(&self, now: Time, lag: Time) -> Vec<IssueId> {
        self.issues
            .iter()
            .enumerate()
            .filter(|(_, i)| i.state != IssueState::Duplicate && i.created_at + lag <= now)
            .filter_map(|(id, _)| IssueId::try_from(id).ok())
            .collect()
    }

    /// The issues that are not closed as duplicates.
    pub fn live(&self) -> usize {
        self.issues
            .iter()
            .filter(|i| i.state != IssueState::Duplicate)
            .count()
    }

    /// The issue with this id (a consistent GET by id).
    pub fn get(&self, id: IssueId) -> Option<&Issue> {
        self.issues.get(usize::from(id))
    }
}
