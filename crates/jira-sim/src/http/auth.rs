//! Authentication per flavor: Cloud Basic `email:api_token`, Data Center
//! `Bearer <PAT>`.

use crate::accounts::{self, Account};
use axum::http::{HeaderMap, header};
use base64::Engine;
use jira_model::Flavor;

/// What the `Authorization` header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    /// No credentials.
    Anonymous,
    /// Valid credentials of this account.
    Account(&'static Account),
    /// Credentials that match no account, or the other flavor's scheme.
    Rejected,
}

/// Authenticates a request.
pub(crate) fn authenticate(flavor: Flavor, headers: &HeaderMap) -> Auth {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Auth::Anonymous;
    };
    let Ok(value) = value.to_str() else {
        return Auth::Rejected;
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    let found = match flavor {
        Flavor::Cloud if scheme.eq_ignore_ascii_case("basic") => {
            base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .and_then(|pair| {
                    let (email, token) = pair.split_once(':')?;
                    accounts::by_api_token(email, token)
                })
        }
        Flavor::DataCenter if scheme.eq_ignore_ascii_case("bearer") => accounts::by_pat(rest),
        _ => None,
    };
    found.map_or(Auth::Rejected, Auth::Account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::*;
    use axum::http::HeaderValue;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        m
    }

    fn basic(email: &str, token: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{email}:{token}"))
        )
    }

    #[test]
    fn per_flavor() {
        assert_eq!(
            authenticate(Flavor::Cloud, &HeaderMap::new()),
            Auth::Anonymous
        );
        let ok = authenticate(Flavor::Cloud, &h(&basic(SERVICE_EMAIL, SERVICE_API_TOKEN)));
        assert!(matches!(ok, Auth::Account(a) if a.name == "penaxtra-bot"));
        assert_eq!(
            authenticate(Flavor::Cloud, &h(&basic(SERVICE_EMAIL, "x"))),
            Auth::Rejected
        );
        assert_eq!(
            authenticate(Flavor::Cloud, &h(&format!("Bearer {SERVICE_PAT}"))),
            Auth::Rejected
        );
        assert_eq!(authenticate(Flavor::Cloud, &h("Basic %%%")), Auth::Rejected);
        let ok = authenticate(Flavor::DataCenter, &h(&format!("Bearer {HUMAN_PAT}")));
        assert!(matches!(ok, Auth::Account(a) if a.name == "alex"));
        assert_eq!(
            authenticate(
                Flavor::DataCenter,
                &h(&basic(SERVICE_EMAIL, SERVICE_API_TOKEN))
            ),
            Auth::Rejected
        );
    }
}
