//! OAuth 2.0 client credentials: the client id and secret are exchanged
//! for a Bearer access token (about an hour, no refresh token), which is
//! fetched before first use, renewed ahead of its expiry, and renewed once
//! after a 401. One exchange is in flight per credentials at a time:
//! concurrent requests wait for it.
//!
//! Cloud: `POST https://auth.atlassian.com/oauth/token`, requests through
//! the API gateway. Data Center: `POST {base}/rest/oauth2/latest/token`
//! with a `scope`, requests to the instance itself.

use super::{Auth, AuthContext, CredentialKind};
use crate::error::{Error, ErrorKind};
use crate::time::Clock;
use async_trait::async_trait;
use jira_model::Flavor;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};
use url::Url;

/// Atlassian's token endpoint for Cloud OAuth 2.0 client credentials.
pub const DEFAULT_CLOUD_TOKEN_URL: &str = "https://auth.atlassian.com/oauth/token";

/// Path of Data Center's token endpoint under the base URL.
const DATA_CENTER_TOKEN_PATH: &str = "rest/oauth2/latest/token";

/// Largest token answer read.
const MAX_TOKEN_BODY: usize = 64 * 1024;

/// Longest a token is renewed before it expires; a short-lived token is
/// renewed when a fifth of its life is left.
const RENEW_AHEAD: Duration = Duration::from_secs(60);

/// Lifetime assumed when the token endpoint does not say (Atlassian's is
/// an hour).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// OAuth 2.0 client credentials of a service account (Cloud or Data
/// Center).
///
/// ```
/// use jira_client::{JiraClient, OAuthClientCredentials};
/// use jira_model::Flavor;
/// let creds = OAuthClientCredentials::new("my-client-id", "my-secret".into());
/// assert!(!format!("{creds:?}").contains("my-secret"));
/// let client = JiraClient::builder("https://acme.atlassian.net", Flavor::Cloud, creds).build()?;
/// # Ok::<(), jira_client::Error>(())
/// ```
pub struct OAuthClientCredentials {
    client_id: String,
    client_secret: SecretString,
    scope: Option<String>,
    token_url: Option<String>,
    bound: OnceLock<Bound>,
    current: tokio::sync::Mutex<Option<Current>>,
}

struct Bound {
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    url: Url,
    base: Url,
}

struct Current {
    header: SecretString,
    renew_at: SystemTime,
}

impl OAuthClientCredentials {
    /// Credentials with this client id and secret. The token endpoint is
    /// the flavor's default ([`DEFAULT_CLOUD_TOKEN_URL`], or
    /// `{base}/rest/oauth2/latest/token` on Data Center) unless
    /// [`OAuthClientCredentials::token_url`] says otherwise.
    pub fn new(client_id: impl Into<String>, client_secret: SecretString) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret,
            scope: None,
            token_url: None,
            bound: OnceLock::new(),
            current: tokio::sync::Mutex::new(None),
        }
    }

    /// The `scope` asked for (Data Center requires one, e.g. `WRITE`;
    /// Cloud takes the scopes given to the credentials).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Another token endpoint (a test double, a proxy of the operator's):
    /// checked against the client's URL policy when the client is built.
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The current access token, renewed when it is missing or about to
    /// expire. Holds the lock while renewing: concurrent callers wait for
    /// the one exchange.
    async fn header(&self) -> Result<SecretString, Error> {
        let bound = self.bound.get().ok_or_else(|| {
            Error::credentials(
                "OAuth client credentials are exchanged by the client they are given to: pass them to JiraClient::builder",
            )
        })?;
        let mut current = self.current.lock().await;
        let now = bound.clock.now();
        if let Some(c) = current.as_ref()
            && now < c.renew_at
        {
            return Ok(c.header.clone());
        }
        let fresh = self.exchange(bound).await?;
        let header = fresh.header.clone();
        *current = Some(fresh);
        Ok(header)
    }

    /// One `client_credentials` exchange.
    async fn exchange(&self, bound: &Bound) -> Result<Current, Error> {
        let label = format!("POST {}", bound.url.path());
        if self.client_id.trim().is_empty() || self.client_secret.expose_secret().is_empty() {
            return Err(
                Error::credentials("the OAuth client id or client secret is empty")
                    .with_request(label),
            );
        }
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials")
                .append_pair("client_id", self.client_id.trim())
                .append_pair("client_secret", self.client_secret.expose_secret());
            if let Some(scope) = &self.scope {
                form.append_pair("scope", scope);
            }
            SecretString::from(form.finish())
        };
        let sent = bound
            .http
            .post(bound.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body.expose_secret().to_string())
            .send()
            .await;
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => {
                let kind = if e.is_timeout() {
                    ErrorKind::Timeout
                } else {
                    ErrorKind::Transport
                };
                return Err(Error::new(kind, "could not reach the OAuth token endpoint")
                    .with_request(label)
                    .with_source(e.without_url()));
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| crate::retry::parse_retry_after(v, bound.clock.now()));
        let mut bytes = Vec::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            if bytes.len() + chunk.len() > MAX_TOKEN_BODY {
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        match status {
            200..=299 => {}
            400 | 401 | 403 => {
                // `error` is one of OAuth's codes; anything else is not shown.
                let code = answer
                    .get("error")
                    .and_then(|v| v.as_str())
                    .filter(|c| {
                        c.len() <= 40 && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    })
                    .unwrap_or("refused");
                return Err(Error::new(
                    ErrorKind::OAuthRejected,
                    format!("the token endpoint refused the client credentials ({code})"),
                )
                .with_request(label)
                .with_status(status));
            }
            429 => {
                return Err(Error::new(
                    ErrorKind::RateLimited,
                    "the OAuth token endpoint is rate limiting",
                )
                .with_request(label)
                .with_status(status)
                .with_retry_after(retry_after));
            }
            500..=599 => {
                return Err(
                    Error::new(ErrorKind::Server, "the OAuth token endpoint failed")
                        .with_request(label)
                        .with_status(status),
                );
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::UnexpectedStatus,
                    "the OAuth token endpoint answered with a status the client does not expect",
                )
                .with_request(label)
                .with_status(status));
            }
        }
        let token = answer
            .get("access_token")
            .and_then(|v| v.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Decode,
                    "the OAuth token endpoint's answer has no access_token",
                )
                .with_request(label.clone())
                .with_status(status)
            })?;
        if let Some(kind) = answer.get("token_type").and_then(|v| v.as_str())
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(Error::new(
                ErrorKind::Decode,
                "the OAuth token endpoint issued a token that is not a Bearer token",
            )
            .with_request(label)
            .with_status(status));
        }
        let lifetime = answer
            .get("expires_in")
            .and_then(serde_json::Value::as_u64)
            .map_or(DEFAULT_LIFETIME, Duration::from_secs);
        let ahead = RENEW_AHEAD.min(lifetime / 5);
        let mut header = String::with_capacity(7 + token.len());
        header.push_str("Bearer ");
        header.push_str(token);
        tracing::debug!(
            expires_in_secs = lifetime.as_secs(),
            "fetched an OAuth access token"
        );
        crate::metrics::token_exchange();
        Ok(Current {
            header: SecretString::from(header),
            renew_at: bound.clock.now() + lifetime.saturating_sub(ahead),
        })
    }
}

impl fmt::Debug for OAuthClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &format_args!("[redacted]"))
            .field("scope", &self.scope)
            .field(
                "token_url",
                &self.bound.get().map(|b| b.url.as_str().to_string()),
            )
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Auth for OAuthClientCredentials {
    async fn authorization(&self) -> Result<SecretString, Error> {
        self.header().await
    }

    fn secrets(&self) -> Vec<SecretString> {
        vec![self.client_secret.clone()]
    }

    fn kind(&self) -> CredentialKind {
        CredentialKind::OAuthClientCredentials
    }

    fn uses_gateway(&self, flavor: Flavor) -> bool {
        flavor == Flavor::Cloud
    }

    fn attach(&self, context: &AuthContext) -> Result<(), Error> {
        let url = match (&self.token_url, context.flavor) {
            (Some(u), _) => Url::parse(u.trim())
                .map_err(|_| Error::config("the OAuth token URL is not a valid URL"))?,
            (None, Flavor::Cloud) => Url::parse(DEFAULT_CLOUD_TOKEN_URL)
                .map_err(|_| Error::config("the OAuth token URL is not a valid URL"))?,
            (None, Flavor::DataCenter) => {
                let mut u = context.base.clone();
                if let Ok(mut path) = u.path_segments_mut() {
                    path.pop_if_empty()
                        .extend(DATA_CENTER_TOKEN_PATH.split('/'));
                }
                u
            }
        };
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err(Error::config(
                "the OAuth token URL must not contain user info or a fragment",
            ));
        }
        context
            .policy
            .check_token_url(&url, context.flavor)
            .map_err(|r| r.into_error())?;
        let bound = Bound {
            http: context.http.clone(),
            clock: Arc::clone(&context.clock),
            url,
            base: context.base.clone(),
        };
        if let Err(bound) = self.bound.set(bound) {
            let first = self.bound.get().map(|b| &b.base);
            if first != Some(&bound.base) {
                return Err(Error::config(
                    "these OAuth client credentials already serve a client of another Jira",
                ));
            }
        }
        Ok(())
    }

    async fn rejected(&self, header: &SecretString) -> bool {
        let mut current = self.current.lock().await;
        if current
            .as_ref()
            .is_some_and(|c| c.header.expose_secret() == header.expose_secret())
        {
            *current = None;
        }
        true
    }
}
