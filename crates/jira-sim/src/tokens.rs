//! What Atlassian's identity side keeps for the simulator: the site's
//! cloudId, OAuth access tokens issued by the token endpoints (expiring on
//! the simulator's clock), accounts whose tokens expired, and Cloud's
//! points-based quota for OAuth traffic.

use crate::accounts::Account;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The simulated Cloud site's cloudId (`/_edge/tenant_info`), the id in
/// gateway paths `/ex/jira/{cloudId}/...`.
pub const CLOUD_ID: &str = "0e5f6c1a-51a1-4d1e-9a5e-5e5e5e5e0001";

/// The points quota's policy name in the `Beta-RateLimit*` headers.
pub(crate) const QUOTA_POLICY: &str = "global-app-quota";

/// The quota's window.
pub(crate) const QUOTA_WINDOW: Duration = Duration::from_secs(3600);

/// Issued tokens and expiries.
#[derive(Debug)]
pub(crate) struct Tokens {
    lifetime: Duration,
    issued: BTreeMap<String, (&'static Account, DateTime<Utc>)>,
    next: u64,
    grants: u64,
    expired: BTreeSet<&'static str>,
    quota: Option<u32>,
    window: Option<(DateTime<Utc>, u32)>,
}

/// The points quota's answer for one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Points {
    pub limit: u32,
    pub remaining: u32,
    pub reset_secs: u64,
    pub refused: bool,
}

impl Tokens {
    pub(crate) fn new(lifetime: Duration, quota: Option<u32>) -> Self {
        Self {
            lifetime,
            issued: BTreeMap::new(),
            next: 0,
            grants: 0,
            expired: BTreeSet::new(),
            quota,
            window: None,
        }
    }

    /// Issues an access token for `account`; answers it and its lifetime
    /// in whole seconds.
    pub(crate) fn issue(&mut self, account: &'static Account, now: DateTime<Utc>) -> (String, u64) {
        self.next += 1;
        self.grants += 1;
        let token = format!("sim-oauth-access-{:06}", self.next);
        let until = now + chrono::Duration::from_std(self.lifetime).unwrap_or_default();
        self.issued.insert(token.clone(), (account, until));
        (token, self.lifetime.as_secs().max(1))
    }

    /// The account of a live access token.
    pub(crate) fn account(&self, token: &str, now: DateTime<Utc>) -> Option<&'static Account> {
        self.issued
            .get(token)
            .filter(|(_, until)| now < *until)
            .map(|(a, _)| *a)
    }

    pub(crate) fn grants(&self) -> u64 {
        self.grants
    }

    /// Every access token issued so far stops working.
    pub(crate) fn expire_access_tokens(&mut self) {
        self.issued.clear();
    }

    /// The account's API, scoped and personal access tokens stop working.
    pub(crate) fn expire_account(&mut self, account: &'static Account) {
        self.expired.insert(account.name);
    }

    pub(crate) fn is_expired(&self, account: &Account) -> bool {
        self.expired.contains(account.name)
    }

    /// Takes one point of the hourly quota (when one is set).
    pub(crate) fn take_point(&mut self, now: DateTime<Utc>) -> Option<Points> {
        let limit = self.quota?;
        let window = chrono::Duration::from_std(QUOTA_WINDOW).unwrap_or_default();
        let (start, used) = match self.window {
            Some((start, used)) if now < start + window => (start, used),
            _ => (now, 0),
        };
        let refused = used >= limit;
        let used = if refused { used } else { used + 1 };
        self.window = Some((start, used));
        let reset_secs = u64::try_from((start + window - now).num_seconds())
            .unwrap_or(0)
            .max(1);
        Some(Points {
            limit,
            remaining: limit - used,
            reset_secs,
            refused,
        })
    }

    pub(crate) fn reset(&mut self) {
        self.issued.clear();
        self.grants = 0;
        self.expired.clear();
        self.window = None;
    }
}
