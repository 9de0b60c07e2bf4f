//! Authentication per flavor: Cloud Basic `email:api_token`; Data Center
//! `Bearer <PAT>` or Basic `name:password`.

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

/// The outcome of reading the `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Login {
    /// Who, if anyone.
    pub auth: Auth,
    /// The account a Data Center Basic login names (right password or
    /// not): the one whose failed logins count towards a CAPTCHA.
    pub basic_user: Option<&'static Account>,
}

impl Login {
    fn of(auth: Auth) -> Self {
        Self {
            auth,
            basic_user: None,
        }
    }
}

fn basic_pair(rest: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest)
        .ok()?;
    let pair = String::from_utf8(raw).ok()?;
    let (user, secret) = pair.split_once(':')?;
    Some((user.to_string(), secret.to_string()))
}

/// Authenticates a request.
pub(crate) fn authenticate(flavor: Flavor, headers: &HeaderMap) -> Login {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Login::of(Auth::Anonymous);
    };
    let Ok(value) = value.to_str() else {
        return Login::of(Auth::Rejected);
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    let basic = scheme.eq_ignore_ascii_case("basic");
    match flavor {
        Flavor::Cloud if basic => {
            let found =
                basic_pair(rest).and_then(|(email, token)| accounts::by_api_token(&email, &token));
            Login::of(found.map_or(Auth::Rejected, Auth::Account))
        }
        Flavor::DataCenter if scheme.eq_ignore_ascii_case("bearer") => {
            Login::of(accounts::by_pat(rest).map_or(Auth::Rejected, Auth::Account))
        }
        Flavor::DataCenter if basic => {
            let Some((name, password)) = basic_pair(rest) else {
                return Login::of(Auth::Rejected);
            };
            match accounts::by_password(&name, &password) {
                Some((a, true)) => Login {
                    auth: Auth::Account(a),
                    basic_user: Some(a),
                },
                Some((a, false)) => Login {
                    auth: Auth::Rejected,
                    basic_user: Some(a),
                },
                None => Login::of(Auth::Rejected),
            }
        }
        _ => Login::of(Auth::Rejected),
    }
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

    fn auth(flavor: Flavor, headers: &HeaderMap) -> Auth {
        authenticate(flavor, headers).auth
    }

    #[test]
    fn per_flavor() {
        assert_eq!(auth(Flavor::Cloud, &HeaderMap::new()), Auth::Anonymous);
        let ok = auth(Flavor::Cloud, &h(&basic(SERVICE_EMAIL, SERVICE_API_TOKEN)));
        assert!(matches!(ok, Auth::Account(a) if a.name == "penaxtra-bot"));
        assert_eq!(
            auth(Flavor::Cloud, &h(&basic(SERVICE_EMAIL, "x"))),
            Auth::Rejected
        );
        assert_eq!(
            auth(Flavor::Cloud, &h(&format!("Bearer {SERVICE_PAT}"))),
            Auth::Rejected
        );
        assert_eq!(auth(Flavor::Cloud, &h("Basic %%%")), Auth::Rejected);
        let ok = auth(Flavor::DataCenter, &h(&format!("Bearer {HUMAN_PAT}")));
        assert!(matches!(ok, Auth::Account(a) if a.name == "alex"));
        assert_eq!(
            auth(
                Flavor::DataCenter,
                &h(&basic(SERVICE_EMAIL, SERVICE_API_TOKEN))
            ),
            Auth::Rejected
        );
    }

    #[test]
    fn data_center_basic_names_the_account_whether_or_not_the_password_is_right() {
        let right = authenticate(
            Flavor::DataCenter,
            &h(&basic("penaxtra-bot", SERVICE_PASSWORD)),
        );
        assert!(matches!(right.auth, Auth::Account(a) if a.name == "penaxtra-bot"));
        assert_eq!(right.basic_user.map(|a| a.name), Some("penaxtra-bot"));
        let wrong = authenticate(Flavor::DataCenter, &h(&basic("penaxtra-bot", "nope")));
        assert_eq!(wrong.auth, Auth::Rejected);
        assert_eq!(wrong.basic_user.map(|a| a.name), Some("penaxtra-bot"));
        let nobody = authenticate(Flavor::DataCenter, &h(&basic("ghost", "x")));
        assert_eq!((nobody.auth, nobody.basic_user), (Auth::Rejected, None));
        // Cloud has no passwords.
        assert_eq!(
            auth(Flavor::Cloud, &h(&basic("penaxtra-bot", SERVICE_PASSWORD))),
            Auth::Rejected
        );
    }
}
