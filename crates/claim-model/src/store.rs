//! The shared store (one database): the claim row and the link row of the
//! finding, and the atomic operations on them that the real stores offer
//! (`store/mod.rs`: `claim`, `renew`, `release`, `insert_link`,
//! `update_link`; `store/memory.rs`, `store/sqlite/`, `store/postgres/`
//! implement them). Every operation here is one atomic step, as a store
//! transaction is.

use crate::{IssueId, ReplicaId, Time};

/// A fence token: every claim acquired gets a larger one.
pub type Fence = u8;

/// The claim row of the finding (`SyncStore::claims`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClaimRow {
    /// Who holds it; `None` once released in doubt (the row stays so that
    /// the next claimant learns the doubt).
    pub owner: Option<ReplicaId>,
    /// The fence of the claim that wrote the row last.
    pub fence: Fence,
    /// End of the lease, on the clock the store measured it with.
    pub until: Time,
    /// Since when an earlier attempt may have reached Jira.
    pub doubt_since: Option<Time>,
    /// The id of an issue a holder created, recorded as soon as Jira
    /// answered (fix `keep_created_ids`).
    pub created_issue: Option<IssueId>,
}

/// How the link row came to be (for the `sometimes` properties).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkHow {
    /// The holder created the issue and linked it.
    Created,
    /// A holder in doubt found the issue by searching its label.
    Search,
    /// A holder in doubt read the issue by the id kept on the claim row;
    /// `early` when a search at that moment could not have shown it yet.
    ById {
        /// The search lag had not passed since the issue was created.
        early: bool,
    },
}

/// The link row of the finding (`store::Link`), reduced to what the
/// properties need.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LinkRow {
    /// The linked issue.
    pub issue: IssueId,
    /// Bumped by every write; `update_link` compares it (fix `link_cas`).
    pub version: u8,
    /// The link records that a person decided the issue (the state the
    /// inbound path recorded); a state-out that forgets it would walk the
    /// issue back.
    pub decided: bool,
    /// How it was made.
    pub how: LinkHow,
}

/// What a claim answers (`store::Claim`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimAnswer {
    /// The finding has its issue.
    Linked,
    /// Someone holds a live claim.
    Busy,
    /// Taken, with a new fence.
    Acquired {
        /// The new fence.
        fence: Fence,
        /// The doubt the earlier claims left, if any.
        doubt_since: Option<Time>,
        /// The issue an earlier holder recorded as created, if any.
        created_issue: Option<IssueId>,
        /// The replica whose claim expired while held and was taken over.
        took_over_from: Option<ReplicaId>,
    },
}

/// The shared store.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Store {
    /// The claim row, if any.
    pub claim: Option<ClaimRow>,
    /// The last fence handed out.
    pub last_fence: Fence,
    /// The link row, if any.
    pub link: Option<LinkRow>,
}

impl Store {
    /// Whether `fence` is the current, held claim (the guard of every
    /// fenced write).
    pub fn holds(&self, fence: Fence) -> bool {
        matches!(&self.claim, Some(row) if row.fence == fence && row.owner.is_some())
    }

    /// `SyncStore::claim`: linked → `Linked`; a live claim (even one's own)
    /// → `Busy`; else a new fence, `until = now + lease`, and the doubt:
    /// expired while held → `max(doubt, until (+ rt))`, released in doubt →
    /// its doubt.
    pub fn claim(
        &mut self,
        owner: ReplicaId,
        now: Time,
        lease: Time,
        expiry_doubt_extra: Time,
    ) -> ClaimAnswer {
        if self.link.is_some() {
            return ClaimAnswer::Linked;
        }
        let (doubt_since, created_issue, took_over_from) = match &self.claim {
            Some(row) if row.owner.is_some() && row.until > now => return ClaimAnswer::Busy,
            Some(row) if row.owner.is_some() => {
                let expiry = row.until + expiry_doubt_extra;
                let doubt = Some(row.doubt_since.map_or(expiry, |d| d.max(expiry)));
                (doubt, row.created_issue, row.owner)
            }
            Some(row) => (row.doubt_since, row.created_issue, None),
            None => (None, None, None),
        };
        self.last_fence += 1;
        let fence = self.last_fence;
        self.claim = Some(ClaimRow {
            owner: Some(owner),
            fence,
            until: now + lease,
            doubt_since,
            created_issue,
        });
        ClaimAnswer::Acquired {
            fence,
            doubt_since,
            created_issue,
            took_over_from,
        }
    }

    /// `SyncStore::renew`: only the current holder, to `now + lease`.
    pub fn renew(&mut self, fence: Fence, now: Time, lease: Time) -> bool {
        if !self.holds(fence) {
            return false;
        }
        if let Some(row) = &mut self.claim {
            row.until = now + lease;
        }
        true
    }

    /// `SyncStore::release`: with a doubt the row stays without an owner;
    /// without one it is deleted. Fenced.
    pub fn release(&mut self, fence: Fence, doubt_since: Option<Time>) -> bool {
        if !self.holds(fence) {
            return false;
        }
        match doubt_since {
            Some(d) => {
                if let Some(row) = &mut self.claim {
                    row.owner = None;
                    row.doubt_since = Some(d);
                }
            }
            None => self.claim = None,
        }
        true
    }

    /// The fenced write that keeps a created issue's id on the claim row
    /// (fix `keep_created_ids`).
    pub fn record_created(&mut self, fence: Fence, issue: IssueId) -> bool {
        if !self.holds(fence) {
            return false;
        }
        if let Some(row) = &mut self.claim {
            row.created_issue = Some(issue);
        }
        true
    }

    /// `SyncStore::insert_link` with a fence: records the link and ends the
    /// claim; refused once the fence no longer holds.
    pub fn insert_link(&mut self, fence: Fence, issue: IssueId, how: LinkHow) -> bool {
        if !self.holds(fence) || self.link.is_some() {
            return false;
        }
        self.link = Some(LinkRow {
            issue,
            version: 0,
            decided: false,
            how,
        });
        self.claim = None;
        true
    }

    /// `SyncStore::update_link` from a copy read at `read.version`: with
    /// `cas` refused when the row moved on since; without it the copy
    /// overwrites whatever is there.
    pub fn update_link(&mut self, read: &LinkRow, cas: bool) -> bool {
        let Some(now) = &mut self.link else {
            return false;
        };
        if cas && now.version != read.version {
            return false;
        }
        let version = now.version + 1;
        *now = LinkRow {
            version,
            ..read.clone()
        };
        true
    }
}
