//! Configuration: serde types a host reads from its settings (the examples
//! read TOML), validated at start with errors that name the setting.
//!
//! ```toml
//! [jira]
//! deployment = "cloud"                     # or "datacenter"
//! base_url = "https://acme.atlassian.net"
//! email = "penaxtra-bot@acme.example"      # Cloud only
//! credentials = { source = "env", token_env = "JIRA_API_TOKEN" }
//! # or: credentials = { source = "sealed", sealed_token = "pxsealed:v1:…", secret_key_env = "PENAXTRA_SEALING_KEY" }
//! rate_limit = { per_second = 10, burst = 20 }
//!
//! [template]                               # penaxtra_mapping::TemplateConfig
//! project_key = "SEC"
//! issue_type = "Bug"
//!
//! [rule]                                   # penaxtra_mapping::Rule
//! min_severity = "high"
//!
//! inbound = "terminal_only"                # or "all"
//! ```

use jira_client::{ApiTokenAuth, JiraClient, PatAuth, RateLimit};
use jira_model::Flavor;
use penaxtra_mapping::{InboundPolicy, IssueTemplate, Rule, StateTable, TemplateConfig};
use secrecy::SecretString;
use serde::Deserialize;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

/// An invalid setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting `{setting}`: {message}")]
pub struct ConfigError {
    setting: String,
    message: String,
}

impl ConfigError {
    /// An error about `setting` (a dotted path such as `jira.base_url`).
    pub fn invalid(setting: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            setting: setting.into(),
            message: message.into(),
        }
    }
    /// The setting at fault.
    pub fn setting(&self) -> &str {
        &self.setting
    }
}

/// The whole configuration of the integration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SyncConfig {
    /// How to reach Jira.
    pub jira: JiraConfig,
    /// Project, issue type, custom fields, link base: the issue template.
    #[serde(default)]
    pub template: TemplateConfig,
    /// Which findings open issues.
    #[serde(default)]
    pub rule: Rule,
    /// Finding state ↔ Jira status.
    #[serde(default)]
    pub states: StateTable,
    /// Which Jira changes come back.
    #[serde(default)]
    pub inbound: InboundPolicy,
}

/// How to reach Jira.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct JiraConfig {
    /// `cloud` or `datacenter`.
    pub deployment: Flavor,
    /// The site URL, e.g. `https://acme.atlassian.net` or
    /// `https://jira.corp.example/jira`.
    pub base_url: String,
    /// The service account's e-mail (Cloud only).
    #[serde(default)]
    pub email: Option<String>,
    /// Where the API token (Cloud) or personal access token (Data Center)
    /// comes from.
    pub credentials: CredentialsConfig,
    /// Proactive rate limit; default 10 requests/s with bursts of 20.
    #[serde(default)]
    pub rate_limit: Option<RateLimitConfig>,
    /// Per-request timeout in seconds (default 30).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

/// A request quota.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RateLimitConfig {
    /// Sustained requests per second.
    pub per_second: u32,
    /// Burst size.
    pub burst: u32,
}

/// Where the token comes from. Tokens are never written in configuration
/// in the clear.
#[derive(Clone, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum CredentialsConfig {
    /// A token sealed to the integration's public key
    /// ([`jira_client::sealed`]), opened with a secret key read from an
    /// environment variable or a file.
    Sealed {
        /// The sealed token's text form.
        sealed_token: String,
        /// Environment variable holding the secret key.
        #[serde(default)]
        secret_key_env: Option<String>,
        /// File holding the secret key.
        #[serde(default)]
        secret_key_file: Option<PathBuf>,
    },
    /// A token in an environment variable.
    Env {
        /// The variable's name.
        token_env: String,
    },
}

impl std::fmt::Debug for CredentialsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialsConfig::Sealed {
                secret_key_env,
                secret_key_file,
                ..
            } => f
                .debug_struct("Sealed")
                .field("sealed_token", &"[sealed]")
                .field("secret_key_env", secret_key_env)
                .field("secret_key_file", secret_key_file)
                .finish(),
            CredentialsConfig::Env { token_env } => {
                f.debug_struct("Env").field("token_env", token_env).finish()
            }
        }
    }
}

impl CredentialsConfig {
    /// Reads (and for a sealed token, opens) the token.
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting when the variable or file is
    /// missing, or the sealed token cannot be opened with the key.
    pub fn token(&self) -> Result<SecretString, ConfigError> {
        match self {
            CredentialsConfig::Env { token_env } => {
                read_env("jira.credentials.token_env", token_env)
            }
            CredentialsConfig::Sealed {
                sealed_token,
                secret_key_env,
                secret_key_file,
            } => {
                let key_text = match (secret_key_env, secret_key_file) {
                    (Some(var), None) => read_env("jira.credentials.secret_key_env", var)?,
                    (None, Some(path)) => {
                        let text = std::fs::read_to_string(path).map_err(|e| {
                            ConfigError::invalid(
                                "jira.credentials.secret_key_file",
                                format!("cannot read {}: {}", path.display(), e.kind()),
                            )
                        })?;
                        SecretString::from(text.trim().to_string())
                    }
                    _ => {
                        return Err(ConfigError::invalid(
                            "jira.credentials",
                            "a sealed token needs exactly one of secret_key_env or secret_key_file",
                        ));
                    }
                };
                use secrecy::ExposeSecret;
                let key: jira_client::sealed::SealingSecretKey =
                    key_text.expose_secret().parse().map_err(|e| {
                        ConfigError::invalid(
                            "jira.credentials.secret_key",
                            format!("not a sealing secret key: {e}"),
                        )
                    })?;
                let sealed: jira_client::sealed::SealedToken =
                    sealed_token.parse().map_err(|e| {
                        ConfigError::invalid("jira.credentials.sealed_token", format!("{e}"))
                    })?;
                sealed.open(&key).map_err(|e| {
                    ConfigError::invalid(
                        "jira.credentials.sealed_token",
                        format!("cannot be opened with the configured secret key: {e}"),
                    )
                })
            }
        }
    }
}

fn read_env(setting: &str, var: &str) -> Result<SecretString, ConfigError> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(SecretString::from(v.trim().to_string())),
        Ok(_) => Err(ConfigError::invalid(
            setting,
            format!("environment variable {var} is empty"),
        )),
        Err(_) => Err(ConfigError::invalid(
            setting,
            format!("environment variable {var} is not set"),
        )),
    }
}

impl JiraConfig {
    /// Builds the Jira client this configuration describes.
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting at fault.
    pub fn client(&self) -> Result<JiraClient, ConfigError> {
        self.client_builder()?
            .build()
            .map_err(|e| ConfigError::invalid("jira.base_url", e.to_string()))
    }

    /// The quota of `jira.rate_limit` (default 10/s, bursts of 20): the
    /// local quota of [`JiraConfig::client`], and the rate to give a
    /// [`crate::SharedRateBudget`] that replicas share.
    ///
    /// # Errors
    /// [`ConfigError`] when a number is zero.
    pub fn rate_limit(&self) -> Result<RateLimit, ConfigError> {
        let rl = self.rate_limit.unwrap_or(RateLimitConfig {
            per_second: 10,
            burst: 20,
        });
        let per_second = NonZeroU32::new(rl.per_second).ok_or_else(|| {
            ConfigError::invalid("jira.rate_limit.per_second", "must be at least 1")
        })?;
        let burst = NonZeroU32::new(rl.burst)
            .ok_or_else(|| ConfigError::invalid("jira.rate_limit.burst", "must be at least 1"))?;
        Ok(RateLimit::new(per_second, burst))
    }

    /// The client builder this configuration describes (credentials opened,
    /// quota and timeout set), for a host that adds to it, e.g. a
    /// [`crate::SharedRateBudget`] with
    /// [`jira_client::ClientBuilder::shared_budget`].
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting at fault (the base URL is checked
    /// by `build`).
    pub fn client_builder(&self) -> Result<jira_client::ClientBuilder, ConfigError> {
        let token = self.credentials.token()?;
        let builder = match self.deployment {
            Flavor::Cloud => {
                let email = self
                    .email
                    .as_deref()
                    .filter(|e| e.contains('@'))
                    .ok_or_else(|| {
                        ConfigError::invalid(
                            "jira.email",
                            "Jira Cloud needs the service account's e-mail",
                        )
                    })?;
                JiraClient::builder(
                    &self.base_url,
                    self.deployment,
                    ApiTokenAuth::new(email, token),
                )
            }
            Flavor::DataCenter => {
                JiraClient::builder(&self.base_url, self.deployment, PatAuth::new(token))
            }
        };
        let timeout = Duration::from_secs(self.timeout_secs.unwrap_or(30));
        if timeout.is_zero() {
            return Err(ConfigError::invalid(
                "jira.timeout_secs",
                "must be at least 1",
            ));
        }
        Ok(builder.rate_limit(self.rate_limit()?).timeout(timeout))
    }
}

impl SyncConfig {
    /// The issue template this configuration describes.
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting at fault.
    pub fn issue_template(&self) -> Result<IssueTemplate, ConfigError> {
        IssueTemplate::new(self.template.clone())
            .map_err(|e| ConfigError::invalid("template", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn parse(text: &str) -> Result<SyncConfig, toml::de::Error> {
        toml::from_str(text)
    }

    const BASE: &str = r#"
        [jira]
        deployment = "cloud"
        base_url = "https://acme.atlassian.net"
        email = "penaxtra-bot@acme.example"
        credentials = { source = "env", token_env = "PX_TEST_TOKEN_UNSET_1" }
    "#;

    #[test]
    fn a_minimal_config_takes_the_product_page_defaults() {
        let c = parse(BASE).unwrap();
        assert_eq!(c.jira.deployment, Flavor::Cloud);
        assert_eq!(c.inbound, InboundPolicy::TerminalOnly);
        let t = c.issue_template().unwrap();
        assert_eq!((t.project_key(), t.issue_type()), ("SEC", "Bug"));
        assert_eq!(c.rule, Rule::default());
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let e = parse(&format!("{BASE}\nlinks_base = \"x\"")).unwrap_err();
        assert!(e.to_string().contains("links_base"), "{e}");
        let e = parse(&BASE.replace("token_env", "token_evn")).unwrap_err();
        assert!(
            e.to_string().contains("token_evn") || e.to_string().contains("token_env"),
            "{e}"
        );
    }

    #[test]
    fn invalid_settings_are_named() {
        let c = parse(BASE).unwrap();
        let e = c.jira.client().unwrap_err();
        assert_eq!(e.setting(), "jira.credentials.token_env");
        assert!(e.to_string().contains("PX_TEST_TOKEN_UNSET_1"));

        let c = parse(&BASE.replace("email = \"penaxtra-bot@acme.example\"", "")).unwrap();
        let creds = CredentialsConfig::Sealed {
            sealed_token: String::new(),
            secret_key_env: None,
            secret_key_file: None,
        };
        let mut jira = c.jira.clone();
        jira.credentials = creds;
        assert_eq!(jira.client().unwrap_err().setting(), "jira.credentials");
    }

    #[test]
    fn a_sealed_token_opens_with_its_key_from_a_file() {
        let pair = jira_client::sealed::SealingKeyPair::generate();
        let token = SecretString::from("real-api-token-value".to_string());
        let sealed = jira_client::sealed::SealedToken::seal(&pair.public_key(), &token).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, pair.secret_key().to_text().expose_secret()).unwrap();
        let creds = CredentialsConfig::Sealed {
            sealed_token: sealed.to_string(),
            secret_key_env: None,
            secret_key_file: Some(key_file.clone()),
        };
        assert_eq!(
            creds.token().unwrap().expose_secret(),
            "real-api-token-value"
        );
        let debug = format!("{creds:?}");
        assert!(
            !debug.contains(&sealed.to_string()) && !debug.contains("real-api-token-value"),
            "{debug}"
        );

        // Another key cannot open it, and says which setting is wrong.
        let other = jira_client::sealed::SealingKeyPair::generate();
        std::fs::write(&key_file, other.secret_key().to_text().expose_secret()).unwrap();
        let e = creds.token().unwrap_err();
        assert_eq!(e.setting(), "jira.credentials.sealed_token");
        assert!(!e.to_string().contains("real-api-token-value"));
    }

    #[test]
    fn a_zero_rate_limit_is_refused() {
        let text = BASE.replace("PX_TEST_TOKEN_UNSET_1", "PATH") + "\n";
        let mut c = parse(&text).unwrap();
        c.jira.rate_limit = Some(RateLimitConfig {
            per_second: 0,
            burst: 5,
        });
        assert_eq!(
            c.jira.client().unwrap_err().setting(),
            "jira.rate_limit.per_second"
        );
    }
}
