//! The claim decisions every store makes the same way: whether a claim can
//! be taken, what doubt it inherits, and what a release leaves behind. Pure,
//! so the memory, SQLite and Postgres stores (and the model in
//! `crates/claim-model`) cannot drift apart; each store only reads the row
//! under its lock and writes the answer back.

use super::{Doubt, Release};

/// What a store keeps of a claim between calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimRow {
    /// Who holds it; `None` once released in doubt.
    pub(crate) owner: Option<String>,
    /// Its expiry (store clock).
    pub(crate) until_ms: i64,
    /// Since when an earlier attempt may have created the issue.
    pub(crate) doubt_since_ms: Option<i64>,
    /// Whether that doubt comes from a holder that expired (see
    /// [`Doubt::expired_holder`]).
    pub(crate) doubt_expired: bool,
    /// Issues attempts are known to have created.
    pub(crate) issue_ids: Vec<String>,
}

/// What a claimant that may take the claim inherits: the new row to write
/// (owner, fence and expiry set by the store) keeps this doubt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Take {
    pub(crate) doubt_since_ms: Option<i64>,
    pub(crate) doubt_expired: bool,
}

/// Decides a claim at the store's `now_ms`: `None` when someone holds a
/// live claim (the claimant is told busy).
pub(crate) fn decide_claim(existing: Option<&ClaimRow>, now_ms: i64) -> Option<Take> {
    match existing {
        None => Some(Take {
            doubt_since_ms: None,
            doubt_expired: false,
        }),
        // A live claim is exclusive, even against its own owner: the tasks
        // of one engine share an owner name.
        Some(row) if row.owner.is_some() && row.until_ms > now_ms => None,
        // Expired while held: its holder may have sent a write until its
        // expiry, which may commit for a request timeout after.
        Some(row) if row.owner.is_some() => match row.doubt_since_ms {
            Some(d) if d > row.until_ms => Some(Take {
                doubt_since_ms: Some(d),
                doubt_expired: row.doubt_expired,
            }),
            _ => Some(Take {
                doubt_since_ms: Some(row.until_ms),
                doubt_expired: true,
            }),
        },
        Some(row) => Some(Take {
            doubt_since_ms: row.doubt_since_ms,
            doubt_expired: row.doubt_expired,
        }),
    }
}

/// The doubt a claimant is told, measured at the store's `now_ms`.
pub(crate) fn doubt_of(
    doubt_since_ms: Option<i64>,
    doubt_expired: bool,
    issue_ids: &[String],
    now_ms: i64,
) -> Option<Doubt> {
    doubt_since_ms.map(|since| {
        Doubt::new(since, now_ms.saturating_sub(since), doubt_expired)
            .with_issue_ids(issue_ids.to_vec())
    })
}

/// What a release by the current holder leaves: `None` forgets the claim,
/// `Some((since, expired))` keeps it, without owner, in doubt.
pub(crate) fn after_release(row: &ClaimRow, release: Release, now_ms: i64) -> Option<(i64, bool)> {
    match release {
        Release::Cleared => None,
        Release::Kept => row.doubt_since_ms.map(|d| (d, row.doubt_expired)),
        Release::Raised { .. } => Some(raised(row, now_ms)),
    }
}

/// The doubt after a create that may have reached Jira at `now_ms`: the
/// later of the two, keeping an expired holder's extra grace (it is only
/// ever more careful).
pub(crate) fn raised(row: &ClaimRow, now_ms: i64) -> (i64, bool) {
    match row.doubt_since_ms {
        Some(d) if d >= now_ms => (d, row.doubt_expired),
        _ => (now_ms, row.doubt_expired),
    }
}

/// The time a [`Release::Raised`] stands for: the store's own now, or the
/// caller's on [`super::StoreClock::Caller`].
pub(crate) fn raised_at(release: Release, store_now_ms: i64, caller_time: bool) -> i64 {
    match release {
        Release::Raised { at_ms } if caller_time => at_ms,
        _ => store_now_ms,
    }
}

/// Adds ids to a claim's known issues, once each.
pub(crate) fn add_ids(known: &mut Vec<String>, ids: &[String]) {
    for id in ids {
        if !known.contains(id) {
            known.push(id.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(owner: Option<&str>, until: i64, doubt: Option<i64>, expired: bool) -> ClaimRow {
        ClaimRow {
            owner: owner.map(str::to_string),
            until_ms: until,
            doubt_since_ms: doubt,
            doubt_expired: expired,
            issue_ids: Vec::new(),
        }
    }

    #[test]
    fn a_live_claim_is_busy_and_an_expired_one_is_taken_with_doubt_from_its_expiry() {
        let live = row(Some("a"), 200, None, false);
        assert_eq!(decide_claim(Some(&live), 199), None);
        assert_eq!(
            decide_claim(Some(&live), 200),
            Some(Take {
                doubt_since_ms: Some(200),
                doubt_expired: true
            })
        );
        // A released doubt later than the expiry is kept as it was.
        let released_late = row(Some("a"), 200, Some(250), false);
        assert_eq!(
            decide_claim(Some(&released_late), 300),
            Some(Take {
                doubt_since_ms: Some(250),
                doubt_expired: false
            })
        );
        let released = row(None, 200, Some(150), true);
        assert_eq!(
            decide_claim(Some(&released), 160),
            Some(Take {
                doubt_since_ms: Some(150),
                doubt_expired: true
            })
        );
    }

    #[test]
    fn a_release_that_sent_nothing_keeps_the_doubt_it_found() {
        let r = row(Some("a"), 200, Some(100), true);
        assert_eq!(after_release(&r, Release::Kept, 500), Some((100, true)));
        assert_eq!(after_release(&r, Release::Cleared, 500), None);
        assert_eq!(
            after_release(&r, Release::Raised { at_ms: 0 }, 500),
            Some((500, true))
        );
        let none = row(Some("a"), 200, None, false);
        assert_eq!(after_release(&none, Release::Kept, 500), None);
    }

    #[test]
    fn the_age_of_a_doubt_is_never_negative() {
        let d = doubt_of(Some(1_000), false, &[], 900).map(|d| d.age_ms);
        assert_eq!(d, Some(0));
    }
}
