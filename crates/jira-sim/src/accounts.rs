//! The accounts the simulator accepts.
//!
//! Each e-mail address is the account name followed by `@sim.example`.
//! Cloud flavor authenticates `Authorization: Basic base64(email:api_token)`;
//! Data Center flavor authenticates `Authorization: Bearer <PAT>`, or
//! `Authorization: Basic base64(name:password)` (which counts failed logins
//! towards a CAPTCHA lockout, as Jira Data Center does).
//!
//! Like real accounts, none of them is in UTC: each has a profile time zone
//! ([`Account::time_zone`]) that `/myself` reports and JQL reads dates in.

/// E-mail of the service account `penaxtra-bot`.
pub const SERVICE_EMAIL: &str = "penaxtra-bot@sim.example";
/// Cloud API token of the service account.
pub const SERVICE_API_TOKEN: &str = "sim-api-token";
/// Data Center personal access token of the service account.
pub const SERVICE_PAT: &str = "sim-pat";
/// Data Center password of the service account (Basic `penaxtra-bot:…`).
pub const SERVICE_PASSWORD: &str = "sim-password";
/// Scoped API token of the service account (what an Atlassian service
/// account gets): accepted through the API gateway
/// (`/ex/jira/{cloudId}/...`), refused with 401 on the site.
pub const SERVICE_SCOPED_TOKEN: &str = "sim-scoped-token";
/// OAuth 2.0 client id of the service account's client credentials.
pub const SERVICE_OAUTH_CLIENT_ID: &str = "sim-oauth-client";
/// OAuth 2.0 client secret of the service account's client credentials.
pub const SERVICE_OAUTH_CLIENT_SECRET: &str = "sim-oauth-secret";
/// E-mail of `alex`, a person who works issues.
pub const HUMAN_EMAIL: &str = "alex@sim.example";
/// Cloud API token of `alex`.
pub const HUMAN_API_TOKEN: &str = "human-api-token";
/// Data Center personal access token of `alex`.
pub const HUMAN_PAT: &str = "human-pat";
/// Data Center password of `alex`.
pub const HUMAN_PASSWORD: &str = "human-password";
/// E-mail of `readonly`, who may browse but lacks the Create Issues permission.
pub const READONLY_EMAIL: &str = "readonly@sim.example";
/// Cloud API token of `readonly`.
pub const READONLY_API_TOKEN: &str = "readonly-api-token";
/// Data Center personal access token of `readonly`.
pub const READONLY_PAT: &str = "readonly-pat";
/// Data Center password of `readonly`.
pub const READONLY_PASSWORD: &str = "readonly-password";

/// One account of the simulated Jira.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Account {
    /// Data Center user name (and the local part of the e-mail).
    pub name: &'static str,
    /// Data Center user key.
    pub key: &'static str,
    /// Cloud account id.
    pub account_id: &'static str,
    /// E-mail address.
    pub email: &'static str,
    /// Display name.
    pub display_name: &'static str,
    /// Whether the account may create, edit, transition, comment on and
    /// delete issues (`readonly` may only browse).
    pub can_write: bool,
    /// Profile time zone (an IANA name without daylight saving time, so a
    /// fixed offset is exact).
    pub time_zone: &'static str,
    /// Offset of [`Account::time_zone`] from UTC, in minutes.
    pub utc_offset_minutes: i32,
    api_token: &'static str,
    pat: &'static str,
    password: &'static str,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("name", &self.name)
            .field("email", &self.email)
            .field("can_write", &self.can_write)
            .field("time_zone", &self.time_zone)
            .finish_non_exhaustive()
    }
}

/// Every account, service account first.
pub const ALL: [Account; 3] = [
    Account {
        name: "penaxtra-bot",
        key: "JIRAUSER10100",
        account_id: "5f5e1a0c0000000000000001",
        email: SERVICE_EMAIL,
        display_name: "Penaxtra Bot",
        can_write: true,
        time_zone: "America/Phoenix",
        utc_offset_minutes: -420,
        api_token: SERVICE_API_TOKEN,
        pat: SERVICE_PAT,
        password: SERVICE_PASSWORD,
    },
    Account {
        name: "alex",
        key: "JIRAUSER10101",
        account_id: "5f5e1a0c0000000000000002",
        email: HUMAN_EMAIL,
        display_name: "Alex Example",
        can_write: true,
        time_zone: "Asia/Kolkata",
        utc_offset_minutes: 330,
        api_token: HUMAN_API_TOKEN,
        pat: HUMAN_PAT,
        password: HUMAN_PASSWORD,
    },
    Account {
        name: "readonly",
        key: "JIRAUSER10102",
        account_id: "5f5e1a0c0000000000000003",
        email: READONLY_EMAIL,
        display_name: "Read Only",
        can_write: false,
        time_zone: "Asia/Tokyo",
        utc_offset_minutes: 540,
        api_token: READONLY_API_TOKEN,
        pat: READONLY_PAT,
        password: READONLY_PASSWORD,
    },
];

/// The account with this e-mail and Cloud API token, if any.
pub fn by_api_token(email: &str, token: &str) -> Option<&'static Account> {
    ALL.iter()
        .find(|a| a.email.eq_ignore_ascii_case(email) && constant_time_eq(a.api_token, token))
}

/// The service account, when this e-mail and scoped API token are its.
pub fn by_scoped_token(email: &str, token: &str) -> Option<&'static Account> {
    ALL.iter().find(|a| {
        a.email.eq_ignore_ascii_case(email)
            && a.name == "penaxtra-bot"
            && constant_time_eq(SERVICE_SCOPED_TOKEN, token)
    })
}

/// The service account, when these are its OAuth client credentials.
pub fn by_oauth_client(client_id: &str, secret: &str) -> Option<&'static Account> {
    (client_id == SERVICE_OAUTH_CLIENT_ID && constant_time_eq(SERVICE_OAUTH_CLIENT_SECRET, secret))
        .then_some(&ALL[0])
}

/// The account with this Data Center personal access token, if any.
pub fn by_pat(pat: &str) -> Option<&'static Account> {
    ALL.iter().find(|a| constant_time_eq(a.pat, pat))
}

/// The account with this Data Center user name, if any, and whether
/// `password` is its password.
pub fn by_password(name: &str, password: &str) -> Option<(&'static Account, bool)> {
    ALL.iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
        .map(|a| (a, constant_time_eq(a.password, password)))
}

/// The account named `name` (`penaxtra-bot`, `alex`, `readonly`).
pub fn by_name(name: &str) -> Option<&'static Account> {
    ALL.iter().find(|a| a.name == name)
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(
            by_api_token(SERVICE_EMAIL, SERVICE_API_TOKEN).unwrap().name,
            "penaxtra-bot"
        );
        assert!(by_api_token(SERVICE_EMAIL, HUMAN_API_TOKEN).is_none());
        assert!(by_api_token(HUMAN_EMAIL, "human-api-toke").is_none());
        assert_eq!(by_pat(READONLY_PAT).unwrap().name, "readonly");
        assert!(!by_pat(READONLY_PAT).unwrap().can_write);
        assert!(by_pat("nope").is_none());
        assert_eq!(
            by_password("Alex", HUMAN_PASSWORD).map(|(a, ok)| (a.name, ok)),
            Some(("alex", true))
        );
        assert_eq!(by_password("alex", "x").map(|(_, ok)| ok), Some(false));
        assert!(by_password("nobody", HUMAN_PASSWORD).is_none());
        assert!(
            ALL.iter().all(|a| a.utc_offset_minutes != 0),
            "no account is in UTC"
        );
        for a in ALL {
            assert_eq!(a.email, format!("{}@sim.example", a.name));
        }
    }

    #[test]
    fn debug_hides_tokens() {
        let text = format!("{:?}", ALL[0]);
        assert!(!text.contains(SERVICE_API_TOKEN) && !text.contains(SERVICE_PAT));
        assert!(!text.contains(SERVICE_PASSWORD));
    }
}
