//! A replica of the engine: its local state and the steps it takes.
//!
//! Each step is one atomic action of the model. Between two steps of a
//! replica any number of steps of others, ticks of time, crashes and pauses
//! may happen: a pause is simply a replica taking no step while time ticks.

use crate::jira::IssueState;
use crate::model::{Config, Milestone, State};
use crate::store::{ClaimAnswer, Fence, LinkHow, LinkRow};
use crate::{IssueId, LeaseGuard, ReplicaId, Time};

/// A claim the replica holds, as it knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Lease {
    /// The fence its writes carry.
    pub fence: Fence,
    /// Local end of the lease, on the monotonic clock: the time the claim
    /// or renew request was sent plus the lease (`lease.rs`).
    pub valid_until: Time,
}

/// Where the replica is in pushing the finding (`push.rs`: `try_push`,
/// `create_claimed`, `record_link`; `backfill.rs` does the same per chunk).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Not pushing; a retry is due at `retry_at` (the queue's due time,
    /// `SyncError::AwaitingConsistency`), or at once.
    Idle {
        /// Not before this time.
        retry_at: Time,
    },
    /// Holds the claim. With a doubt it must check Jira first; without one
    /// it may create.
    Claimed {
        /// The claim.
        lease: Lease,
        /// Since when an earlier attempt may have reached Jira.
        doubt: Option<Time>,
    },
    /// Holds the claim and knows the issue (found by search, or read by the
    /// id kept on the claim row); next: link it.
    Found {
        /// The claim.
        lease: Lease,
        /// The issue.
        issue: IssueId,
        /// How it was found.
        how: LinkHow,
    },
    /// A create is in flight.
    Creating {
        /// The claim.
        lease: Lease,
        /// When it was sent.
        sent_at: Time,
    },
    /// Jira answered the create; next: record the id (fix
    /// `keep_created_ids`), then link.
    Answered {
        /// The claim.
        lease: Lease,
        /// The created issue.
        issue: IssueId,
        /// Its id is on the claim row.
        recorded: bool,
    },
}

impl Phase {
    /// The claim held, if any.
    pub fn lease(&self) -> Option<Lease> {
        match self {
            Phase::Idle { .. } => None,
            Phase::Claimed { lease, .. }
            | Phase::Found { lease, .. }
            | Phase::Creating { lease, .. }
            | Phase::Answered { lease, .. } => Some(*lease),
        }
    }
}

/// A heal that has read and not yet written (`heal.rs`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HealPlan {
    /// The link as read.
    pub read: LinkRow,
    /// The oldest issue the search showed: the one kept.
    pub keep: IssueId,
    /// The others it showed: closed as duplicates.
    pub close: Vec<IssueId>,
    /// How many issues existed when the search showed every one of them
    /// (and no create could still commit); `None` when it did not.
    pub saw_all: Option<u8>,
}

/// A replica's local state: lost on a crash.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Replica {
    /// The push.
    pub phase: Phase,
    /// A heal between its read and its write.
    pub heal: Option<HealPlan>,
    /// A state-out between reading the link and writing its bookkeeping
    /// back (`state_out.rs`).
    pub sync_out: Option<LinkRow>,
}

impl Replica {
    /// A fresh replica.
    pub fn new() -> Self {
        Self {
            phase: Phase::Idle { retry_at: 0 },
            heal: None,
            sync_out: None,
        }
    }
}

impl Default for Replica {
    fn default() -> Self {
        Self::new()
    }
}

fn idx(r: ReplicaId) -> usize {
    usize::from(r)
}

/// `store.claim(...)` (`push.rs` `try_push`). Busy and Linked change
/// nothing: the replica is queued again (Busy: one lease later, which the
/// interleaving covers).
pub(crate) fn claim(cfg: &Config, s: &mut State, r: ReplicaId) -> bool {
    let Phase::Idle { retry_at } = s.replicas[idx(r)].phase else {
        return false;
    };
    if s.t < retry_at {
        return false;
    }
    let extra = if cfg.fixes.doubt_from_expiry_plus_timeout {
        cfg.rt
    } else {
        0
    };
    let now = cfg.store_now(s.t, r);
    match s.store.claim(r, now, cfg.lease, extra) {
        ClaimAnswer::Linked | ClaimAnswer::Busy => false,
        ClaimAnswer::Acquired {
            fence,
            doubt_since,
            created_issue,
            took_over_from,
        } => {
            if let Some(p) = took_over_from
                && p != r
                && s.replicas[idx(p)].phase.lease().is_none()
            {
                s.seen |= Milestone::CrashTakeover as u8;
            }
            let lease = Lease {
                fence,
                valid_until: s.t + cfg.lease,
            };
            s.replicas[idx(r)].phase = match created_issue {
                Some(issue) if cfg.fixes.keep_created_ids => {
                    // A GET by id: consistent, whatever the search lag.
                    let early = s
                        .jira
                        .get(issue)
                        .is_some_and(|i| s.t < i.created_at + cfg.lag);
                    Phase::Found {
                        lease,
                        issue,
                        how: LinkHow::ById { early },
                    }
                }
                _ => Phase::Claimed {
                    lease,
                    doubt: doubt_since,
                },
            };
            true
        }
    }
}

/// The lease keeper's `store.renew(...)` (`lease.rs`): on success the
/// local lease runs from the time the renew was sent.
pub(crate) fn renew(cfg: &Config, s: &mut State, r: ReplicaId) -> bool {
    let Some(lease) = s.replicas[idx(r)].phase.lease() else {
        return false;
    };
    let now = cfg.store_now(s.t, r);
    if !s.store.renew(lease.fence, now, cfg.lease) {
        return false;
    }
    let renewed = Lease {
        fence: lease.fence,
        valid_until: s.t + cfg.lease,
    };
    match &mut s.replicas[idx(r)].phase {
        Phase::Idle { .. } => {}
        Phase::Claimed { lease, .. }
        | Phase::Found { lease, .. }
        | Phase::Creating { lease, .. }
        | Phase::Answered { lease, .. } => *lease = renewed,
    }
    true
}

/// In doubt: search Jira for the label (`find_existing`); link what it
/// shows, else trust "absent" only after the consistency window, else
/// release with the doubt kept and come back when the window has passed.
pub(crate) fn search(cfg: &Config, s: &mut State, r: ReplicaId) -> bool {
    let Phase::Claimed {
        lease,
        doubt: Some(since),
    } = s.replicas[idx(r)].phase
    else {
        return false;
    };
    if let Some(&issue) = s.jira.search(s.t, cfg.lag).first() {
        s.replicas[idx(r)].phase = Phase::Found {
            lease,
            issue,
            how: LinkHow::Search,
        };
        return true;
    }
    // With the store's clock the replica learns the doubt's age and waits
    // on its monotonic clock (here: global time); without it, it compares
    // its own wall clock with `doubt_since`.
    let skew = if cfg.fixes.db_clock {
        0
    } else {
        cfg.skews[idx(r)]
    };
    let trusted_at = since + cfg.window - skew;
    if s.t >= trusted_at {
        s.replicas[idx(r)].phase = Phase::Claimed { lease, doubt: None };
    } else {
        s.store.release(lease.fence, Some(since));
        s.replicas[idx(r)].phase = Phase::Idle {
            retry_at: trusted_at,
        };
    }
    true
}

/// Check the lease, then send the create: one atomic step. A pause between
/// the last check and the bytes leaving the socket is the window no code
/// can close (Jira takes no fence); the model does not split it.
pub(crate) fn send(cfg: &Config, s: &mut State, r: ReplicaId) -> bool {
    let Phase::Claimed { lease, doubt: None } = s.replicas[idx(r)].phase else {
        return false;
    };
    if s.jira.inflight[idx(r)].is_some() {
        return false;
    }
    let left = lease.valid_until - s.t;
    let ok = match cfg.fixes.lease_guard {
        LeaseGuard::Off => true,
        LeaseGuard::Valid => left > 0,
        LeaseGuard::Margin => left >= cfg.rt,
    };
    if !ok {
        return false;
    }
    s.jira.inflight[idx(r)] = Some(crate::jira::InFlight {
        sent_at: s.t,
        committed: None,
    });
    s.replicas[idx(r)].phase = Phase::Creating {
        lease,
        sent_at: s.t,
    };
    true
}

/// Jira commits replica `r`'s create, at any time up to `RT` after it was
/// sent, whatever became of the replica.
pub(crate) fn jira_commit(cfg: &Config, s: &mut State, r: ReplicaId) -> bool {
    if !s.jira.can_commit(r, s.t, cfg.rt) {
        return false;
    }
    s.jira.commit(r, s.t);
    true
}

/// The answer of a committed create reaches the replica before its timeout.
pub(crate) fn answer(cfg: &Config, s: &mut State, r: ReplicaId) -> bool {
    let Phase::Creating { lease, sent_at } = s.replicas[idx(r)].phase else {
        return false;
    };
    let Some(Some(issue)) = s.jira.inflight[idx(r)].as_ref().map(|f| f.committed) else {
        return false;
    };
    if s.t > sent_at + cfg.rt {
        return false;
    }
    s.jira.inflight[idx(r)] = None;
    s.replicas[idx(r)].phase = Phase::Answered {
        lease,
        issue,
        recorded: false,
    };
    true
}

/// The create "may have been sent": the answer of a committed create was
/// lost (`drop`), or the request timed out (`timeout`). The replica
/// releases the claim in doubt, stamped now.
pub(crate) fn fail_create(cfg: &Config, s: &mut State, r: ReplicaId, timeout: bool) -> bool {
    let Phase::Creating { lease, sent_at } = s.replicas[idx(r)].phase else {
        return false;
    };
    let committed = s.jira.inflight[idx(r)].as_ref().and_then(|f| f.committed);
    if timeout {
        if s.t < sent_at + cfg.rt {
            return false;
        }
    } else if committed.is_none() {
        return false;
    }
    if let Some(issue) = committed {
        s.jira.issues[usize::from(issue)].dropped = true;
        s.jira.inflight[idx(r)] = None;
    }
    let now = cfg.store_now(s.t, r);
    s.store.release(lease.fence, Some(now));
    s.replicas[idx(r)].phase = Phase::Idle { retry_at: 0 };
    true
}

/// Records the created issue's id on the claim row, fenced (fix
/// `keep_created_ids`). Refused: the claim was lost, the replica stops.
pub(crate) fn record_created(cfg: &Config, s: &mut State, r: ReplicaId) -> bool {
    if !cfg.fixes.keep_created_ids {
        return false;
    }
    let Phase::Answered {
        lease,
        issue,
        recorded: false,
    } = s.replicas[idx(r)].phase
    else {
        return false;
    };
    s.replicas[idx(r)].phase = if s.store.record_created(lease.fence, issue) {
        Phase::Answered {
            lease,
            issue,
            recorded: true,
        }
    } else {
        Phase::Idle { retry_at: 0 }
    };
    true
}

/// `insert_link` under the fence (`record_link`). Refused: the claim was
/// lost; the next holder checks Jira first.
pub(crate) fn link(cfg: &Config, s: &mut State, r: ReplicaId) -> bool {
    let (lease, issue, how) = match s.replicas[idx(r)].phase {
        Phase::Found { lease, issue, how } => (lease, issue, how),
        Phase::Answered {
            lease,
            issue,
            recorded,
        } if recorded || !cfg.fixes.keep_created_ids => (lease, issue, LinkHow::Created),
        _ => return false,
    };
    s.store.insert_link(lease.fence, issue, how);
    s.replicas[idx(r)].phase = Phase::Idle { retry_at: 0 };
    true
}

/// The process dies: local state is gone; its claim row stays until it
/// expires; a create it sent may still commit. The answer of a committed
/// one is lost.
pub(crate) fn crash(s: &mut State, r: ReplicaId) -> bool {
    let rep = &mut s.replicas[idx(r)];
    if rep.phase.lease().is_none() && rep.heal.is_none() && rep.sync_out.is_none() {
        return false;
    }
    if rep.phase.lease().is_some() {
        rep.phase = Phase::Idle { retry_at: 0 };
    }
    rep.heal = None;
    rep.sync_out = None;
    if let Some(issue) = s.jira.inflight[idx(r)].as_ref().and_then(|f| f.committed) {
        s.jira.issues[usize::from(issue)].dropped = true;
        s.jira.inflight[idx(r)] = None;
    }
    true
}

/// Healing, first half (`reconcile.rs` → `heal.rs`): search the label; with
/// more than one live issue visible, plan to keep the oldest.
pub(crate) fn heal_read(cfg: &Config, s: &mut State, r: ReplicaId) -> bool {
    if s.replicas[idx(r)].heal.is_some() {
        return false;
    }
    let Some(read) = s.store.link.clone() else {
        return false;
    };
    let visible = s.jira.search(s.t, cfg.lag);
    let [keep, rest @ ..] = visible.as_slice() else {
        return false;
    };
    if rest.is_empty() {
        return false;
    }
    let none_in_flight = (0..s.jira.inflight.len()).all(|i| {
        let id = ReplicaId::try_from(i).unwrap_or(ReplicaId::MAX);
        !s.jira.can_commit(id, s.t, cfg.rt)
    });
    let saw_all = (visible.len() == s.jira.live() && none_in_flight)
        .then(|| u8::try_from(s.jira.issues.len()).unwrap_or(u8::MAX));
    s.replicas[idx(r)].heal = Some(HealPlan {
        read,
        keep: *keep,
        close: rest.to_vec(),
        saw_all,
    });
    true
}

/// Healing, second half: relink to the kept issue if the link points
/// elsewhere (an `update_link` from the copy read, compared by version with
/// `link_cas`), and only then close the others as duplicates.
pub(crate) fn heal_write(cfg: &Config, s: &mut State, r: ReplicaId) -> bool {
    let Some(plan) = s.replicas[idx(r)].heal.take() else {
        return false;
    };
    if plan.read.issue != plan.keep {
        let decided = s
            .jira
            .get(plan.keep)
            .is_some_and(|i| i.state == IssueState::Decided);
        let moved = LinkRow {
            issue: plan.keep,
            decided,
            ..plan.read.clone()
        };
        if !s.store.update_link(&moved, cfg.fixes.link_cas) {
            return true;
        }
    }
    for id in plan.close {
        s.jira.issues[usize::from(id)].state = IssueState::Duplicate;
    }
    if let Some(n) = plan.saw_all {
        s.healed = Some(n);
    }
    true
}

/// A state-out reads the link (`state_out.rs`)...
pub(crate) fn sync_out_read(cfg: &Config, s: &mut State, r: ReplicaId) -> bool {
    if s.replicas[idx(r)].sync_out.is_some() {
        return false;
    }
    match &s.store.link {
        Some(l) if l.version < cfg.version_cap => {
            s.replicas[idx(r)].sync_out = Some(l.clone());
            true
        }
        _ => false,
    }
}

/// ...and writes its bookkeeping back from that copy (`update_link`).
pub(crate) fn sync_out_write(cfg: &Config, s: &mut State, r: ReplicaId) -> bool {
    let Some(read) = s.replicas[idx(r)].sync_out.take() else {
        return false;
    };
    s.store.update_link(&read, cfg.fixes.link_cas);
    true
}

/// A person decides the linked issue (e.g. Won't Do); the inbound path
/// records it on the link (`inbound.rs`).
pub(crate) fn person(s: &mut State) -> bool {
    let Some(link) = &mut s.store.link else {
        return false;
    };
    let Some(issue) = s.jira.issues.get_mut(usize::from(link.issue)) else {
        return false;
    };
    if issue.state != IssueState::Open {
        return false;
    }
    issue.state = IssueState::Decided;
    link.decided = true;
    link.version += 1;
    true
}
