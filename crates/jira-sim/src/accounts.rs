//! The accounts the simulator accepts.
//!
//! Each e-mail address is the account name followed by `@sim.example`.
//! Cloud flavor authenticates `Authorization: Basic base64(email:api_token)`;
//! Data Center flavor authenticates `Authorization: Bearer <PAT>`.

/// E-mail of the service account `penaxtra-bot`.
pub const SERVICE_EMAIL: &str = "penaxtra-bot@sim.example";
/// Cloud API token of the service account.
pub const SERVICE_API_TOKEN: &str = "sim-api-token";
/// Data Center personal access token of the service account.
pub const SERVICE_PAT: &str = "sim-pat";
/// E-mail of `alex`, a person who works issues.
pub const HUMAN_EMAIL: &str = "alex@sim.example";
/// Cloud API token of `alex`.
pub const HUMAN_API_TOKEN: &str = "human-api-token";
/// Data Center personal access token of `alex`.
pub const HUMAN_PAT: &str = "human-pat";
/// E-mail of `readonly`, who may browse but lacks the Create Issues permission.
pub const READONLY_EMAIL: &str = "readonly@sim.example";
/// Cloud API token of `readonly`.
pub const READONLY_API_TOKEN: &str = "readonly-api-token";
/// Data Center personal access token of `readonly`.
pub const READONLY_PAT: &str = "readonly-pat";

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
    api_token: &'static str,
    pat: &'static str,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("name", &self.name)
            .field("email", &self.email)
            .field("can_write", &self.can_write)
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
        api_token: SERVICE_API_TOKEN,
        pat: SERVICE_PAT,
    },
    Account {
        name: "alex",
        key: "JIRAUSER10101",
        account_id: "5f5e1a0c0000000000000002",
        email: HUMAN_EMAIL,
        display_name: "Alex Example",
        can_write: true,
        api_token: HUMAN_API_TOKEN,
        pat: HUMAN_PAT,
    },
    Account {
        name: "readonly",
        key: "JIRAUSER10102",
        account_id: "5f5e1a0c0000000000000003",
        email: READONLY_EMAIL,
        display_name: "Read Only",
        can_write: false,
        api_token: READONLY_API_TOKEN,
        pat: READONLY_PAT,
    },
];

/// The account with this e-mail and Cloud API token, if any.
pub fn by_api_token(email: &str, token: &str) -> Option<&'static Account> {
    ALL.iter()
        .find(|a| a.email.eq_ignore_ascii_case(email) && constant_time_eq(a.api_token, token))
}

/// The account with this Data Center personal access token, if any.
pub fn by_pat(pat: &str) -> Option<&'static Account> {
    ALL.iter().find(|a| constant_time_eq(a.pat, pat))
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
        for a in ALL {
            assert_eq!(a.email, format!("{}@sim.example", a.name));
        }
    }

    #[test]
    fn debug_hides_tokens() {
        let text = format!("{:?}", ALL[0]);
        assert!(!text.contains(SERVICE_API_TOKEN) && !text.contains(SERVICE_PAT));
    }
}
