//! Jira Data Center's CAPTCHA lockout: after a number of failed Basic logins
//! in a row, an account's REST logins are denied (403 with
//! `X-Authentication-Denied-Reason: CAPTCHA_CHALLENGE; login-url=…`) until
//! someone signs in as that account through the web UI and solves the
//! CAPTCHA. A successful login resets the count. Personal access tokens
//! name no user until they match, so only Basic logins count.

use std::collections::{HashMap, HashSet};

/// Jira Data Center's default "Maximum Authentication Attempts Allowed".
pub const DEFAULT_CAPTCHA_AFTER: u32 = 3;

/// Failed logins and locked accounts, by account name.
#[derive(Debug, Default)]
pub(crate) struct LoginGuard {
    /// Failed logins in a row that lock an account (`None`: never).
    after: Option<u32>,
    failures: HashMap<&'static str, u32>,
    locked: HashSet<&'static str>,
}

impl LoginGuard {
    pub fn new(after: Option<u32>) -> Self {
        Self {
            after,
            ..Self::default()
        }
    }

    /// Whether `name` must solve a CAPTCHA in the browser first.
    pub fn is_locked(&self, name: &str) -> bool {
        self.locked.contains(name)
    }

    /// Records a failed login; `true` when it locked the account.
    pub fn failed(&mut self, name: &'static str) -> bool {
        let n = self.failures.entry(name).or_insert(0);
        *n += 1;
        if self.after.is_some_and(|after| *n >= after) {
            self.locked.insert(name)
        } else {
            false
        }
    }

    /// Records a successful login: the count starts again.
    pub fn succeeded(&mut self, name: &str) {
        self.failures.remove(name);
    }

    /// Someone signed in as `name` in the browser and solved the CAPTCHA.
    pub fn browser_login(&mut self, name: &str) {
        self.failures.remove(name);
        self.locked.remove(name);
    }

    /// Forgets every failure and lock.
    pub fn reset(&mut self) {
        self.failures.clear();
        self.locked.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_failures_in_a_row_until_a_browser_login() {
        let mut g = LoginGuard::new(Some(3));
        assert!(!g.failed("a"));
        assert!(!g.failed("a"));
        g.succeeded("a");
        assert!(!g.failed("a"));
        assert!(!g.failed("a"));
        assert!(
            !g.is_locked("a"),
            "a success in between starts the count again"
        );
        assert!(g.failed("a"));
        assert!(g.is_locked("a") && !g.is_locked("b"));
        g.succeeded("a");
        assert!(g.is_locked("a"), "only the browser unlocks");
        g.browser_login("a");
        assert!(!g.is_locked("a"));
        let mut never = LoginGuard::new(None);
        for _ in 0..100 {
            never.failed("a");
        }
        assert!(!never.is_locked("a"));
    }
}
