//! Credentials: the [`Auth`] trait and its two implementations, Cloud API
//! token (Basic) and Data Center personal access token (Bearer).

use crate::Error;
use async_trait::async_trait;
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;

/// Produces the `Authorization` header for each request. The host can
/// implement it (for example for OAuth with refresh).
///
/// The client sends the header only to the configured Jira origin, marks it
/// sensitive, and scrubs the header's credentials and every value of
/// [`Auth::secrets`] from anything it puts in an error.
#[async_trait]
pub trait Auth: Send + Sync + fmt::Debug {
    /// The full header value, e.g. `Basic ...` or `Bearer ...`.
    ///
    /// # Errors
    /// [`Error::credentials`] when no usable credentials can be produced.
    async fn authorization(&self) -> Result<SecretString, Error>;

    /// Secret values that must never appear in an error message, beyond the
    /// header value itself (for Basic auth: the bare token).
    fn secrets(&self) -> Vec<SecretString> {
        Vec::new()
    }
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
        let email = self.email.trim();
        if email.is_empty() || email.contains(':') || email.chars().any(char::is_control) {
            return Err(Error::credentials(
                "the service-account e-mail is empty or contains ':' or control characters",
            ));
        }
        let token = self.token.expose_secret();
        if token.is_empty() {
            return Err(Error::credentials("the API token is empty"));
        }
        let mut raw = String::with_capacity(email.len() + 1 + token.len());
        raw.push_str(email);
        raw.push(':');
        raw.push_str(token);
        let raw = SecretString::from(raw);
        let encoded = SecretString::from(
            base64::engine::general_purpose::STANDARD.encode(raw.expose_secret()),
        );
        let mut value = String::with_capacity(6 + encoded.expose_secret().len());
        value.push_str("Basic ");
        value.push_str(encoded.expose_secret());
        Ok(SecretString::from(value))
    }

    fn secrets(&self) -> Vec<SecretString> {
        vec![self.token.clone()]
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
