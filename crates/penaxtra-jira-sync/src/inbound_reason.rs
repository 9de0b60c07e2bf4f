//! Why an inbound event did what it did, as a stable code.

/// Why an inbound event (webhook or reconciliation) was applied, ignored or
/// failed. [`InboundReason::code`] is the stable string for logs and
/// metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InboundReason {
    /// `state_changed`: the finding's state was changed.
    StateChanged,
    /// `already_in_state`: the finding is already in the state Jira shows.
    AlreadyInState,
    /// `duplicate_delivery`: a delivery (or changelog) already processed.
    DuplicateDelivery,
    /// `issue_created`: an issue was created: nothing to apply.
    IssueCreated,
    /// `comment`: a comment event: nothing to apply.
    Comment,
    /// `not_an_issue_event`: not an issue event.
    NotAnIssueEvent,
    /// `no_issue`: the event carries no issue.
    NoIssue,
    /// `other_project`: the issue belongs to another project.
    OtherProject,
    /// `not_linked`: the issue is not linked to a finding.
    NotLinked,
    /// `no_state_change`: no status or resolution changed.
    NoStateChange,
    /// `stale`: older (on Jira's clock) than what the link has seen.
    Stale,
    /// `timestamp_ahead`: the event's timestamp is further ahead of now
    /// than any real delivery's ([`crate::MAX_EVENT_AHEAD`]): refused, and it
    /// moves nothing (a forged far-future event would otherwise make every
    /// later real event look stale).
    TimestampAhead,
    /// `timestamp_too_old`: the event is older than
    /// [`crate::SyncSettings::max_event_age`] (when set): a captured body
    /// that old may be replayed after its marks expired, so it is refused
    /// and moves nothing (reconciliation reads Jira's current state
    /// instead).
    TimestampTooOld,
    /// `echo`: our own change coming back.
    Echo,
    /// `unmapped_status`: the status means no finding state.
    UnmappedStatus,
    /// `policy_terminal_only`: the inbound policy only lets terminal states back.
    PolicyTerminalOnly,
    /// `finding_gone`: the host no longer has the finding.
    FindingGone,
    /// `issue_deleted`: a linked issue was deleted in Jira (reconciliation unlinks it).
    IssueDeleted,
    /// `outbound_queued`: reconciliation: Jira is behind the finding, the change is queued.
    OutboundQueued,
    /// `outbound_in_flight`: our own change to the issue is being made: Jira retries later.
    OutboundInFlight,
    /// `store_unavailable`: the sync store failed: Jira retries later.
    StoreUnavailable,
    /// `host_unavailable`: the host's finding store failed.
    HostUnavailable,
    /// `connection_test`: the synthetic issue of a connection test; its
    /// arrival is recorded for the test's webhook round-trip step.
    ConnectionTest,
}

impl InboundReason {
    /// The stable code, e.g. `state_changed`, `echo`, `stale`.
    pub fn code(self) -> &'static str {
        match self {
            InboundReason::StateChanged => "state_changed",
            InboundReason::AlreadyInState => "already_in_state",
            InboundReason::DuplicateDelivery => "duplicate_delivery",
            InboundReason::IssueCreated => "issue_created",
            InboundReason::Comment => "comment",
            InboundReason::NotAnIssueEvent => "not_an_issue_event",
            InboundReason::NoIssue => "no_issue",
            InboundReason::OtherProject => "other_project",
            InboundReason::NotLinked => "not_linked",
            InboundReason::NoStateChange => "no_state_change",
            InboundReason::Stale => "stale",
            InboundReason::TimestampAhead => "timestamp_ahead",
            InboundReason::TimestampTooOld => "timestamp_too_old",
            InboundReason::Echo => "echo",
            InboundReason::UnmappedStatus => "unmapped_status",
            InboundReason::PolicyTerminalOnly => "policy_terminal_only",
            InboundReason::FindingGone => "finding_gone",
            InboundReason::IssueDeleted => "issue_deleted",
            InboundReason::OutboundQueued => "outbound_queued",
            InboundReason::OutboundInFlight => "outbound_in_flight",
            InboundReason::StoreUnavailable => "store_unavailable",
            InboundReason::HostUnavailable => "host_unavailable",
            InboundReason::ConnectionTest => "connection_test",
        }
    }
}

impl std::fmt::Display for InboundReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.code())
    }
}

impl PartialEq<&str> for InboundReason {
    fn eq(&self, other: &&str) -> bool {
        self.code() == *other
    }
}

impl serde::Serialize for InboundReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}
