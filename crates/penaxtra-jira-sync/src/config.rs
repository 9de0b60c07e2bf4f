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
        let rl = self.rate_limit.unwrap_or(RateLimitConfig {
            per_second: 10,
            burst: 20,
        });
        let per_second = NonZeroU32::new(rl.per_second).ok_or_else(|| {
            ConfigError::invalid("jira.rate_limit.per_second", "must be at least 1")
        })?;
        let burst = NonZeroU32::new(rl.burst)
            .ok_or_else(|| ConfigError::invalid("jira.rate_limit.burst", "must be at least 1"))?;
        let timeout = Duration::from_secs(self.timeout_secs.unwrap_or(30));
        if timeout.is_zero() {
            return Err(ConfigError::invalid(
                "jira.timeout_secs",
                "must be at least 1",
            ));
        }
        builder
            .rate_limit(RateLimit::new(per_second, burst))
            .timeout(timeout)
            .build()
            .map_err(|e| ConfigError::invalid("jira.base_url", e.to_string()))
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
