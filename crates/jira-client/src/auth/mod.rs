//! Credentials: the [`Auth`] trait and the four kinds Atlassian customers
//! connect with: the classic Cloud API token ([`ApiTokenAuth`], Basic, to
//! the site), the scoped API token of a (service) account
//! ([`ScopedTokenAuth`], Basic, through the API gateway), OAuth 2.0 client
//! credentials ([`OAuthClientCredentials`], Bearer, Cloud through the
//! gateway or Data Center at the instance) and the Data Center personal
//! access token ([`PatAuth`], Bearer).

mod oauth;

pub use oauth::{DEFAULT_CLOUD_TOKEN_URL, OAuthClientCredentials};

use crate::Error;
use crate::time::Clock;
use async_trait::async_trait;
use base64::Engine as _;
use jira_model::Flavor;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::sync::Arc;

/// Which kind of credentials a client sends: named in the test-connection
/// report and in configuration (`auth = "..."`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialKind {
    /// A classic API token of an Atlassian account (Cloud, Basic, site URL).
    ApiToken,
    /// A scoped API token, the kind service accounts get (Cloud, Basic,
    /// through the API gateway `api.atlassian.com/ex/jira/{cloudId}`).
    ScopedToken,
    /// OAuth 2.0 client credentials (Cloud: through the gateway; Data
    /// Center: at the instance), exchanged for Bearer access tokens.
    OAuthClientCredentials,
    /// A Data Center personal access token (Bearer).
    PersonalAccessToken,
    /// An [`Auth`] the host wrote.
    Custom,
}

impl CredentialKind {
    /// The configuration name: `api_token`, `scoped_token`,
    /// `oauth_client_credentials`, `pat`, `custom`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiToken => "api_token",
            Self::ScopedToken => "scoped_token",
            Self::OAuthClientCredentials => "oauth_client_credentials",
            Self::PersonalAccessToken => "pat",
            Self::Custom => "custom",
        }
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a client lends its credentials when it is built: its HTTP stack
/// (under the operator's URL policy), clock, flavor and base URL. Opaque:
/// only this crate's credentials read it.
#[derive(Clone)]
pub struct AuthContext {
    pub(crate) http: reqwest::Client,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) flavor: Flavor,
    pub(crate) base: url::Url,
    pub(crate) policy: crate::UrlPolicy,
}

impl fmt::Debug for AuthContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthContext")
            .field("flavor", &self.flavor)
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// Produces the `Authorization` header for each request. The host can
/// implement it.
///
/// The client sends the header only to the configured Jira origin (the
/// site, or the API gateway when [`Auth::uses_gateway`]), marks it
/// sensitive, and scrubs the header's credentials and every value of
/// [`Auth::secrets`] from anything it puts in an error. After a 401 it
/// calls [`Auth::rejected`] once; when that answers `true` it asks for the
/// header again and repeats the request once, never more.
#[async_trait]
pub trait Auth: Send + Sync + fmt::Debug {
    /// The full header value, e.g. `Basic ...` or `Bearer ...`.
    ///
    /// # Errors
    /// [`Error::credentials`] when no usable credentials can be produced;
    /// for OAuth, the token endpoint's refusal or failure.
    async fn authorization(&self) -> Result<SecretString, Error>;

    /// Secret values that must never appear in an error message, beyond the
    /// header value itself (for Basic auth: the bare token).
    fn secrets(&self) -> Vec<SecretString> {
        Vec::new()
    }

    /// The kind of credentials (default [`CredentialKind::Custom`]).
    fn kind(&self) -> CredentialKind {
        CredentialKind::Custom
    }

    /// Whether requests go through Atlassian's API gateway
    /// (`{gateway}/ex/jira/{cloudId}/rest/...`) instead of the site URL
    /// (default: no). Scoped tokens and Cloud OAuth do.
    fn uses_gateway(&self, flavor: Flavor) -> bool {
        let _ = flavor;
        false
    }

    /// Called once by [`ClientBuilder::build`](crate::ClientBuilder::build)
    /// with the client's HTTP stack (default: nothing to do).
    ///
    /// # Errors
    /// `config` or `url_refused` when the credentials cannot work with this
    /// client (a token endpoint the URL policy refuses, a kind the flavor
    /// does not have).
    fn attach(&self, context: &AuthContext) -> Result<(), Error> {
        let _ = context;
        Ok(())
    }

    /// Jira answered 401 to `header`: drop it if it is still the current
    /// one, and say whether asking [`Auth::authorization`] again may help
    /// (default: no). Concurrent requests refused with the same header
    /// cause one refresh.
    async fn rejected(&self, header: &SecretString) -> bool {
        let _ = header;
        false
    }
}

/// `Basic base64(email:token)`, checked.
fn basic(email: &str, token: &SecretString, what: &str) -> Result<SecretString, Error> {
    let email = email.trim();
    if email.is_empty() || email.contains(':') || email.chars().any(char::is_control) {
        return Err(Error::credentials(
            "the service-account e-mail is empty or contains ':' or control characters",
        ));
    }
    let token = token.expose_secret();
    if token.is_empty() {
        return Err(Error::credentials(format!("the {what} is empty")));
    }
    let mut raw = String::with_capacity(email.len() + 1 + token.len());
    raw.push_str(email);
    raw.push(':');
    raw.push_str(token);
    let raw = SecretString::from(raw);
    let encoded =
        SecretString::from(base64::engine::general_purpose::STANDARD.encode(raw.expose_secret()));
    let mut value = String::with_capacity(6 + encoded.expose_secret().len());
    value.push_str("Basic ");
    value.push_str(encoded.expose_secret());
    Ok(SecretString::from(value))
}

/// Jira Cloud: `Authorization: Basic base64(email:api_token)`, with the
/// service account's e-mail and an API token minted at id.atlassian.com.
#[derive(Clone)]
pub struct ApiTokenAuth {
    email: String,
    token: SecretString,
}

impl ApiTokenAuth {
    /// Credentials of the account with this e-mail.
    pub fn new(email: impl Into<String>, token: SecretString) -> Self {
        Self {
            email: email.into(),
            token,
        }
    }

    /// The account's e-mail.
    pub fn email(&self) -> &str {
        &self.email
    }
}

impl fmt::Debug for ApiTokenAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiTokenAuth")
            .field("email", &self.email)
            .field("token", &format_args!("[redacted]"))
            .finish()
    }
}

#[async_trait]
impl Auth for ApiTokenAuth {
    async fn authorization(&self) -> Result<SecretString, Error> {
        basic(&self.email, &self.token, "API token")
    }

    fn kind(&self) -> CredentialKind {
        CredentialKind::ApiToken
    }

    fn secrets(&self) -> Vec<SecretString> {
        vec![self.token.clone()]
    }
}

/// Jira Cloud, scoped API token (what an Atlassian service account gets):
/// `Authorization: Basic base64(email:token)` like a classic token, but
/// valid only through the API gateway
/// (`https://api.atlassian.com/ex/jira/{cloudId}/rest/api/3/...`): the site
/// URL answers 401. The client discovers the site's `cloudId` and sends
/// every request there.
#[derive(Clone)]
pub struct ScopedTokenAuth {
    email: String,
    token: SecretString,
}

impl ScopedTokenAuth {
    /// Credentials of the (service) account with this e-mail.
    pub fn new(email: impl Into<String>, token: SecretString) -> Self {
        Self {
            email: email.into(),
            token,
        }
    }

    /// The account's e-mail.
    pub fn email(&self) -> &str {
        &self.email
    }
}

impl fmt::Debug for ScopedTokenAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedTokenAuth")
            .field("email", &self.email)
            .field("token", &format_args!("[redacted]"))
            .finish()
    }
}

#[async_trait]
impl Auth for ScopedTokenAuth {
    async fn authorization(&self) -> Result<SecretString, Error> {
        basic(&self.email, &self.token, "scoped API token")
    }

    fn secrets(&self) -> Vec<SecretString> {
        vec![self.token.clone()]
    }

    fn kind(&self) -> CredentialKind {
        CredentialKind::ScopedToken
    }

    fn uses_gateway(&self, _flavor: Flavor) -> bool {
        true
    }

    fn attach(&self, context: &AuthContext) -> Result<(), Error> {
        if context.flavor != Flavor::Cloud {
            return Err(Error::config(
                "scoped API tokens exist on Jira Cloud only: use a personal access token or OAuth client credentials for Data Center",
            ));
        }
        Ok(())
    }
}

/// Jira Data Center (8.14+): `Authorization: Bearer <personal access token>`.
#[derive(Clone)]
pub struct PatAuth {
    token: SecretString,
}

impl PatAuth {
    /// Credentials from a personal access token.
    pub fn new(token: SecretString) -> Self {
        Self { token }
    }
}

impl fmt::Debug for PatAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PatAuth")
            .field("token", &format_args!("[redacted]"))
            .finish()
    }
}

#[async_trait]
impl Auth for PatAuth {
    async fn authorization(&self) -> Result<SecretString, Error> {
        let token = self.token.expose_secret().trim();
        if token.is_empty() {
            return Err(Error::credentials("the personal access token is empty"));
        }
        let mut value = String::with_capacity(7 + token.len());
        value.push_str("Bearer ");
        value.push_str(token);
        Ok(SecretString::from(value))
    }

    fn kind(&self) -> CredentialKind {
        CredentialKind::PersonalAccessToken
    }

    fn secrets(&self) -> Vec<SecretString> {
        vec![self.token.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn basic_header_is_email_colon_token() {
        let a = ApiTokenAuth::new("bot@example.com", SecretString::from("tok3n"));
        let h = a.authorization().await.unwrap();
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("bot@example.com:tok3n")
        );
        assert_eq!(h.expose_secret(), expected);
        assert!(!format!("{a:?}").contains("tok3n"));
        assert!(format!("{a:?}").contains("[redacted]"));
    }

    #[tokio::test]
    async fn bearer_header_and_bad_credentials() {
        let p = PatAuth::new(SecretString::from("pat-value"));
        assert_eq!(
            p.authorization().await.unwrap().expose_secret(),
            "Bearer pat-value"
        );
        assert_eq!(format!("{p:?}"), "PatAuth { token: [redacted] }");
        let e = PatAuth::new(SecretString::from("  "))
            .authorization()
            .await
            .unwrap_err();
        assert_eq!(e.code(), "credentials");
        let e = ApiTokenAuth::new("a:b", SecretString::from("secret-token"))
            .authorization()
            .await
            .unwrap_err();
        assert_eq!(e.code(), "credentials");
        assert!(!e.to_string().contains("secret-token"));
    }
}
