//! The switches: each fix of the target design can be turned off on its own,
//! so that a test can show which property falls without it.

/// How a holder checks its own lease right before it sends a Jira create
/// (`lease_guard`). The real code keeps `valid_until` on its monotonic
/// clock: the time the claim (or renew) request was *sent* plus the lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeaseGuard {
    /// No check: the create is sent whatever the lease says (the code before
    /// the fix: the lease keeper only logs a lost renewal).
    Off,
    /// Sends only while the local lease is still valid (`valid_until > now`).
    /// Jira may still commit the create up to a request timeout later, so
    /// this is safe only together with
    /// [`Fixes::doubt_from_expiry_plus_timeout`].
    Valid,
    /// The target design: sends only when `valid_until - now >= RT`, so the
    /// attempt (capped at `RT`) ends by the time the lease does.
    Margin,
}

/// Which fixes of the target design are on. [`Fixes::all`] is the design.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fixes {
    /// Check the local lease before sending a create (see [`LeaseGuard`]).
    pub lease_guard: LeaseGuard,
    /// The store measures time with its own clock: `store_now` is the
    /// database's clock, and the age of a doubt is told in it, so the
    /// replica waits for the consistency window on its monotonic clock.
    /// Off: the store takes the caller's (skewed) wall clock as `now`, and
    /// the replica compares its wall clock with `doubt_since`.
    pub db_clock: bool,
    /// A claim that expired while held leaves the doubt `until + RT` (the
    /// latest time a create its holder sent can commit), not just `until`.
    pub doubt_from_expiry_plus_timeout: bool,
    /// The holder records the created issue's id on the claim row (a fenced
    /// write) as soon as Jira answers; a taker then reads that issue by id
    /// (consistent) instead of searching (lagging).
    pub keep_created_ids: bool,
    /// `update_link` is a compare-and-set on the link's version: a write
    /// made from a stale read is refused.
    pub link_cas: bool,
}

impl Fixes {
    /// Every fix on: the target design.
    pub const fn all() -> Self {
        Self {
            lease_guard: LeaseGuard::Margin,
            db_clock: true,
            doubt_from_expiry_plus_timeout: true,
            keep_created_ids: true,
            link_cas: true,
        }
    }
}

impl Default for Fixes {
    fn default() -> Self {
        Self::all()
    }
}
