//! Authentication per flavor: Cloud Basic `email:api_token` (a scoped
//! token, or a Bearer OAuth access token, only through the API gateway);
//! Data Center `Bearer <PAT or OAuth access token>` or Basic
//! `name:password`. An expired token is refused like a wrong one.

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
    /// Valid credentials that work only through the API gateway (a scoped
    /// token or an OAuth access token sent to the site): a plain 401.
    GatewayOnly,
}

/// The outcome of reading the `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Login {
    /// Who, if anyone.
    pub auth: Auth,
    /// The account a Data Center Basic login names (right password or
    /// not): the one whose failed logins count towards a CAPTCHA.
    pub basic_user: Option<&'static Account>,
    /// Whether an OAuth access token authenticated the request (its
    /// traffic counts against Cloud's points quota).
    pub oauth: bool,
}

impl Login {
    fn of(auth: Auth) -> Self {
        Self {
            auth,
            basic_user: None,
            oauth: false,
        }
    }
}

/// What the request's route and the identity side add to a login.
#[derive(Clone, Copy)]
pub(crate) struct Context<'a> {
    /// The request came through `/ex/jira/{cloudId}`.
    pub gateway: bool,
    pub tokens: &'a crate::tokens::Tokens,
    pub now: chrono::DateTime<chrono::Utc>,
}

impl Context<'_> {
    fn live(&self, a: &'static Account) -> Auth {
        if self.tokens.is_expired(a) {
            Auth::Rejected
        } else {
            Auth::Account(a)
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
#[cfg(test)]
pub(crate) fn authenticate(flavor: Flavor, headers: &HeaderMap) -> Login {
    let tokens = crate::tokens::Tokens::new(std::time::Duration::from_secs(3600), None);
    authenticate_in(
        flavor,
        headers,
        Context {
            gateway: false,
            tokens: &tokens,
            now: chrono::Utc::now(),
        },
    )
}

/// Authenticates a request in its context.
pub(crate) fn authenticate_in(flavor: Flavor, headers: &HeaderMap, cx: Context<'_>) -> Login {
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
            let Some((email, token)) = basic_pair(rest) else {
                return Login::of(Auth::Rejected);
            };
            if let Some(a) = accounts::by_api_token(&email, &token) {
                return Login::of(cx.live(a));
            }
            match accounts::by_scoped_token(&email, &token) {
                Some(a) if cx.gateway => Login::of(cx.live(a)),
                Some(a) if !cx.tokens.is_expired(a) => Login::of(Auth::GatewayOnly),
                _ => Login::of(Auth::Rejected),
            }
        }
        Flavor::Cloud if scheme.eq_ignore_ascii_case("bearer") => {
            match cx.tokens.account(rest, cx.now) {
                Some(a) if cx.gateway => Login {
                    auth: Auth::Account(a),
                    basic_user: None,
                    oauth: true,
                },
                Some(_) => Login::of(Auth::GatewayOnly),
                None => Login::of(Auth::Rejected),
            }
        }
        Flavor::DataCenter if scheme.eq_ignore_ascii_case("bearer") => {
            if let Some(a) = accounts::by_pat(rest) {
                return Login::of(cx.live(a));
            }
            match cx.tokens.account(rest, cx.now) {
                Some(a) => Login {
                    auth: Auth::Account(a),
                    basic_user: None,
                    oauth: true,
                },
                None => Login::of(Auth::Rejected),
            }
        }
        Flavor::DataCenter if basic => {
            let Some((name, password)) = basic_pair(rest) else {
                return Login::of(Auth::Rejected);
            };
            match accounts::by_password(&name, &password) {
                Some((a, true)) => Login {
                    auth: Auth::Account(a),
                    basic_user: Some(a),
                    oauth: false,
                },
                Some((a, false)) => Login {
                    auth: Auth::Rejected,
                    basic_user: Some(a),
                    oauth: false,
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
