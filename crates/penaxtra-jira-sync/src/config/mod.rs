//! Configuration: serde types a host reads from its settings (the examples
//! read TOML), validated at start with errors that name the setting.
//!
//! ```toml
//! [jira]
//! deployment = "cloud"                     # or "datacenter"
//! base_url = "https://acme.atlassian.net"
//! email = "penaxtra-bot@acme.example"      # Cloud only
//! credentials = { source = "env", token_env = "JIRA_API_TOKEN" }
//! # or: credentials = { source = "sealed", sealed_token = "pxsealed:v2:…", secret_key_env = "PENAXTRA_SEALING_KEY" }
//! #     (sealed for connection "default" and this base_url: see `DEFAULT_CONNECTION_ID`)
//! rate_limit = { per_second = 10, burst = 20 }
//!
//! [template]                               # penaxtra_mapping::TemplateConfig
//! project_key = "SEC"
//! issue_type = "Bug"
//!
//! [[routes]]                               # penaxtra_mapping::RouteConfig, first match wins
//! name = "ml-platform"
//! match = { tags = { team = "ml-platform" } }
//! project_key = "OPS"
//!
//! [rule]                                   # penaxtra_mapping::Rule
//! min_severity = "high"
//!
//! inbound = "terminal_only"                # or "all"
//! service_account = "5f5e1a0c0000000000000001"   # optional, see below
//!
//! [settings]                               # engine tunables, all optional
//! claim_lease = "30s"
//!
//! [network]                                # the operator's, not a tenant's
//! allow_private_cidrs = ["10.20.0.0/16"]   # where a Data Center Jira lives
//! allow_loopback = false                   # true only for the simulator and tests
//! ```
//!
//! One file builds the whole engine ([`crate::JiraSync::from_config`]) and a
//! webhook receiver that has no Jira client ([`crate::Inbound::from_config`]).
//! The mapping sections (`rule`, `template`, `routes`, `states`, `inbound`) are
//! [`MappingConfig`]; the README lists every key with its default.

mod error;
mod service;

pub use error::ConfigError;

pub use service::{ConnectionConfig, ServiceConfig};

use crate::settings::{DeletedIssue, SyncSettings};
use jira_client::{ApiTokenAuth, JiraClient, PatAuth, RateLimit, UrlPolicy};
use jira_model::Flavor;
use penaxtra_mapping::{
    InboundPolicy, IssueTemplate, Mapping, MappingConfig, RouteConfig, Rule, StateTable,
    TemplateConfig,
};
use secrecy::SecretString;
use serde::Deserialize;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

/// The whole configuration of the integration: one file builds the engine,
/// inbound processing included.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SyncConfig {
    /// How to reach Jira.
    pub jira: JiraConfig,
    /// Rule, issue template, state table and inbound policy (the
    /// top-level `rule`, `template`, `states` and `inbound` keys).
    pub mapping: MappingConfig,
    /// Engine tunables (`[settings]`).
    pub settings: SettingsConfig,
    /// The identity (Cloud account id, Data Center user key or name) of the
    /// integration's own Jira account: its changes are echoes. Optional for
    /// the engine, which asks Jira (`/myself`); a webhook receiver without a
    /// Jira client needs it to drop echoes by actor (it drops them by
    /// expected status either way).
    pub service_account: Option<String>,
    /// The webhook gate (`[webhook]`), for a host that receives webhooks;
    /// see [`crate::webhook::WebhookGateConfig`] for its keys.
    pub webhook: Option<crate::webhook::WebhookGateConfig>,
    /// Where the Jira client may connect (`[network]`); also given to
    /// [`SyncConfig::jira`], whose client it governs.
    pub network: NetworkConfig,
}

/// The file's shape; [`SyncConfig`] gathers the mapping keys into one value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSyncConfig {
    jira: JiraConfig,
    #[serde(default)]
    template: TemplateConfig,
    #[serde(default)]
    routes: Vec<RouteConfig>,
    #[serde(default)]
    rule: Rule,
    #[serde(default)]
    states: StateTable,
    #[serde(default)]
    inbound: InboundPolicy,
    #[serde(default)]
    settings: SettingsConfig,
    #[serde(default)]
    service_account: Option<String>,
    #[serde(default)]
    webhook: Option<crate::webhook::WebhookGateConfig>,
    #[serde(default)]
    network: NetworkConfig,
}

impl<'de> Deserialize<'de> for SyncConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawSyncConfig::deserialize(d)?;
        let mut mapping = MappingConfig::default();
        mapping.rule = raw.rule;
        mapping.template = raw.template;
        mapping.routes = raw.routes;
        mapping.states = raw.states;
        mapping.inbound = raw.inbound;
        Ok(SyncConfig {
            jira: raw.jira.with_network(raw.network.clone()),
            network: raw.network,
            mapping,
            settings: raw.settings,
            service_account: raw.service_account.filter(|s| !s.trim().is_empty()),
            webhook: raw.webhook,
        })
    }
}

/// Engine tunables as a file writes them: durations as `"500ms"`, `"30s"`
/// or `"5m"`. Every key is optional; [`SyncSettings`] documents the
/// defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SettingsConfig {
    /// [`SyncSettings::claim_lease`] (default `"30s"`).
    pub claim_lease: Option<String>,
    /// [`SyncSettings::always_check_jira`] (default false).
    pub always_check_jira: Option<bool>,
    /// [`SyncSettings::search_consistency_window`] (default `"60s"` Cloud,
    /// `"2s"` Data Center).
    pub search_consistency_window: Option<String>,
    /// [`SyncSettings::on_deleted_issue`]: `"park"` (default) or `"recreate"`.
    pub on_deleted_issue: Option<DeletedIssue>,
    /// [`SyncSettings::chunk_size`] (default 50, at most 50).
    pub chunk_size: Option<usize>,
    /// [`SyncSettings::concurrency`] (default 4).
    pub concurrency: Option<usize>,
    /// [`SyncSettings::retry_base`] (default `"5s"`).
    pub retry_base: Option<String>,
    /// [`SyncSettings::retry_max`] (default `"15m"`).
    pub retry_max: Option<String>,
    /// [`SyncSettings::max_transition_steps`] (default 6).
    pub max_transition_steps: Option<usize>,
    /// [`SyncSettings::worker_batch`] (default 200).
    pub worker_batch: Option<usize>,
    /// [`SyncSettings::sweep_overlap`] (default `"5m"`).
    pub sweep_overlap: Option<String>,
    /// [`SyncSettings::delivery_retention`] (default `"7d"`).
    pub delivery_retention: Option<String>,
    /// [`SyncSettings::max_event_age`] (default: none), at most
    /// `delivery_retention`.
    pub max_event_age: Option<String>,
    /// [`SyncSettings::webhook_receiver_url`] (default none: the connection
    /// test has no webhook round-trip step).
    pub webhook_receiver_url: Option<String>,
    /// [`SyncSettings::webhook_round_trip_wait`] (default `"60s"`).
    pub webhook_round_trip_wait: Option<String>,
}

/// Reads `"1500ms"`, `"30s"`, `"5m"`, `"1h"` or `"7d"`.
///
/// # Errors
/// [`ConfigError`] naming `setting` when the text is not such a duration.
pub fn parse_duration(setting: &str, text: &str) -> Result<Duration, ConfigError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let bad = || {
        ConfigError::invalid(
            setting,
            format!("{text:?} is not a duration such as \"500ms\", \"30s\", \"5m\" or \"1h\""),
        )
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
        "h" => Ok(Duration::from_secs(n.saturating_mul(3600))),
        "d" => Ok(Duration::from_secs(n.saturating_mul(86_400))),
        _ => Err(bad()),
    }
}

impl SettingsConfig {
    /// The engine settings, defaults filled in. Ranges are checked when the
    /// engine is built.
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting when a duration cannot be read.
    pub fn to_settings(&self) -> Result<SyncSettings, ConfigError> {
        let mut s = SyncSettings::default();
        let dur = |key: &str, v: &Option<String>| -> Result<Option<Duration>, ConfigError> {
            v.as_deref()
                .map(|t| parse_duration(&format!("settings.{key}"), t))
                .transpose()
        };
        if let Some(d) = dur("claim_lease", &self.claim_lease)? {
            s.claim_lease = d;
        }
        if let Some(b) = self.always_check_jira {
            s.always_check_jira = b;
        }
        if let Some(d) = dur("search_consistency_window", &self.search_consistency_window)? {
            s.search_consistency_window = Some(d);
        }
        if let Some(d) = self.on_deleted_issue {
            s.on_deleted_issue = d;
        }
        if let Some(n) = self.chunk_size {
            s.chunk_size = n;
        }
        if let Some(n) = self.concurrency {
            s.concurrency = n;
        }
        if let Some(d) = dur("retry_base", &self.retry_base)? {
            s.retry_base = d;
        }
        if let Some(d) = dur("retry_max", &self.retry_max)? {
            s.retry_max = d;
        }
        if let Some(n) = self.max_transition_steps {
            s.max_transition_steps = n;
        }
        if let Some(n) = self.worker_batch {
            s.worker_batch = n;
        }
        if let Some(d) = dur("sweep_overlap", &self.sweep_overlap)? {
            s.sweep_overlap = d;
        }
        if let Some(d) = dur("delivery_retention", &self.delivery_retention)? {
            s.delivery_retention = d;
        }
        if let Some(d) = dur("max_event_age", &self.max_event_age)? {
            if d > s.delivery_retention {
                return Err(ConfigError::invalid(
                    "settings.max_event_age",
                    "must not exceed settings.delivery_retention: an older body's marks are gone, so its replay could not be recognised",
                ));
            }
            s.max_event_age = Some(d);
        }
        if let Some(url) = &self.webhook_receiver_url {
            s.webhook_receiver_url = Some(crate::settings::ReceiverUrl::parse(url)?);
        }
        if let Some(d) = dur("webhook_round_trip_wait", &self.webhook_round_trip_wait)? {
            s.webhook_round_trip_wait = d;
        }
        Ok(s)
    }
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
    /// The kind of credentials (default: `api_token` on Cloud, `pat` on
    /// Data Center); see [`AuthKind`].
    #[serde(default)]
    pub auth: Option<AuthKind>,
    /// The service account's e-mail (Cloud `api_token` and `scoped_token`).
    #[serde(default)]
    pub email: Option<String>,
    /// The OAuth client id (`oauth_client_credentials`).
    #[serde(default)]
    pub client_id: Option<String>,
    /// The OAuth `scope` asked for (`oauth_client_credentials`; Data Center
    /// needs one, e.g. `"WRITE"`).
    #[serde(default)]
    pub oauth_scope: Option<String>,
    /// Atlassian's API gateway (default `https://api.atlassian.com`), for
    /// `scoped_token` and Cloud `oauth_client_credentials`.
    #[serde(default)]
    pub gateway_url: Option<String>,
    /// The OAuth token endpoint (default
    /// `https://auth.atlassian.com/oauth/token` on Cloud,
    /// `{base_url}/rest/oauth2/latest/token` on Data Center).
    #[serde(default)]
    pub token_url: Option<String>,
    /// The site's cloudId, when known (otherwise read from
    /// `{base_url}/_edge/tenant_info` when the gateway is used).
    #[serde(default)]
    pub cloud_id: Option<String>,
    /// Where the secret comes from: the API token, scoped token or personal
    /// access token, or the OAuth client secret. Sealed for the connection
    /// and `base_url`'s origin alike.
    pub credentials: CredentialsConfig,
    /// Proactive rate limit; default 10 requests/s with bursts of 20.
    #[serde(default)]
    pub rate_limit: Option<RateLimitConfig>,
    /// Per-request timeout in seconds (default 30).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// The operator's `[network]` table, never read from `[jira]` (a key
    /// there is refused as unknown): see [`JiraConfig::with_network`].
    #[serde(skip)]
    network: NetworkConfig,
    /// The connection this Jira belongs to (its sealed token is opened for
    /// it): [`DEFAULT_CONNECTION_ID`] unless [`JiraConfig::with_connection`]
    /// says otherwise (a `[[connections]]` file sets each one's `id`).
    #[serde(skip, default = "default_connection_id")]
    connection: String,
}

/// The kind of credentials, `jira.auth`: how Atlassian's customers
/// connect.
///
/// | `auth` | flavor | header | requests go to |
/// |---|---|---|---|
/// | `api_token` | Cloud | Basic `email:token` | the site (`base_url`) |
/// | `scoped_token` | Cloud | Basic `email:token` | `{gateway_url}/ex/jira/{cloudId}` |
/// | `oauth_client_credentials` | Cloud | Bearer access token from `token_url` | `{gateway_url}/ex/jira/{cloudId}` |
/// | `oauth_client_credentials` | Data Center | Bearer access token from `{base_url}/rest/oauth2/latest/token` | the instance |
/// | `pat` | Data Center | Bearer personal access token | the instance |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthKind {
    /// A classic API token of the account (Cloud).
    ApiToken,
    /// A scoped API token, as service accounts get (Cloud).
    ScopedToken,
    /// OAuth 2.0 client credentials (Cloud or Data Center); the secret in
    /// `credentials` is the client secret.
    OauthClientCredentials,
    /// A personal access token (Data Center).
    Pat,
}

fn default_connection_id() -> String {
    DEFAULT_CONNECTION_ID.to_string()
}

/// The operator's network policy, the top-level `[network]` table: where
/// the Jira client may connect, whatever base URL a tenant typed. Both keys
/// are optional; the default is [`UrlPolicy::default`] (https to public
/// addresses only; Cloud under Atlassian's domains).
///
/// ```toml
/// [network]
/// allow_private_cidrs = ["10.20.0.0/16", "fd00:1234::/32"]
/// allow_loopback = false
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct NetworkConfig {
    /// [`UrlPolicy::allow_loopback`]: loopback addresses, over http too
    /// (default false). For the simulator and tests only: in a service
    /// with tenants it lets a tenant reach the service's own sidecars.
    #[serde(default)]
    pub allow_loopback: bool,
    /// [`UrlPolicy::allow_cidr`]: private ranges a Data Center Jira may
    /// live in, e.g. `"10.0.0.0/8"` (default none).
    #[serde(default)]
    pub allow_private_cidrs: Vec<String>,
}

impl NetworkConfig {
    /// The URL policy this table describes.
    ///
    /// # Errors
    /// [`ConfigError`] for `network.allow_private_cidrs` when a range
    /// cannot be read.
    pub fn url_policy(&self) -> Result<UrlPolicy, ConfigError> {
        let mut policy = UrlPolicy::default();
        if self.allow_loopback {
            policy = policy.allow_loopback();
        }
        for cidr in &self.allow_private_cidrs {
            policy = policy.allow_cidr(cidr).map_err(|e| {
                ConfigError::invalid("network.allow_private_cidrs", format!("{cidr:?}: {e}"))
            })?;
        }
        Ok(policy)
    }
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
                .field("secret_key_env", &secret_key_env.as_deref().map(EnvName))
                .field("secret_key_file", secret_key_file)
                .finish(),
            CredentialsConfig::Env { token_env } => f
                .debug_struct("Env")
                .field("token_env", &EnvName(token_env))
                .finish(),
        }
    }
}

/// The connection id of the one connection that `[jira]` describes: a
/// sealed token for it is sealed with `seal_token --connection default`.
pub const DEFAULT_CONNECTION_ID: &str = "default";

impl CredentialsConfig {
    /// Reads (and for a sealed token, opens) the token of `connection`,
    /// whose Jira is at `base_url`. A sealed token opens only for the
    /// connection and the Jira origin (`scheme://host[:port]` of
    /// `base_url`) it was sealed for, so a sealed token copied into another
    /// connection's configuration, or left beside a changed URL, is refused
    /// rather than sent elsewhere. v1 sealed tokens, bound to neither, are
    /// refused with the command that reseals them.
    ///
    /// `secret_key_env` / `secret_key_file` may hold several secret keys
    /// (`pxsealkey:v1:…`, separated by newlines, spaces or commas; `#`
    /// starts a comment): during a key rotation, the old and the new.
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting when the variable or file is
    /// missing, or the sealed token cannot be opened with the keys, or was
    /// sealed for another connection or origin.
    pub fn token_for(&self, connection: &str, base_url: &str) -> Result<SecretString, ConfigError> {
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
                use jira_client::sealed::{
                    ConnectionId, JiraOrigin, SealedToken, SealingKeyring, TokenBinding,
                };
                use secrecy::ExposeSecret;
                let keys: SealingKeyring = key_text.expose_secret().parse().map_err(|e| {
                    ConfigError::invalid(
                        "jira.credentials.secret_key",
                        format!("not a list of sealing secret keys: {e}"),
                    )
                })?;
                let connection = ConnectionId::new(connection)
                    .map_err(|e| ConfigError::invalid("connection id", e.to_string()))?;
                let origin = JiraOrigin::from_base_url(base_url)
                    .map_err(|e| ConfigError::invalid("jira.base_url", e.to_string()))?;
                let binding = TokenBinding::new(connection, origin);
                let sealed: SealedToken = sealed_token.parse().map_err(|e| {
                    ConfigError::invalid("jira.credentials.sealed_token", format!("{e}"))
                })?;
                sealed.open(&keys, &binding).map_err(|e| {
                    ConfigError::invalid(
                        "jira.credentials.sealed_token",
                        format!("cannot be used: {e}"),
                    )
                })
            }
        }
    }
}

fn read_env(setting: &str, var: &str) -> Result<SecretString, ConfigError> {
    let name = EnvName(var);
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(SecretString::from(v.trim().to_string())),
        Ok(_) => Err(ConfigError::invalid(
            setting,
            format!("environment variable {name} is empty"),
        )),
        Err(_) if name.shown() => Err(ConfigError::invalid(
            setting,
            format!("environment variable {name} is not set"),
        )),
        Err(_) => Err(ConfigError::invalid(
            setting,
            format!(
                "{name} is not set; this setting names the environment variable that holds \
                 the secret, not the secret itself: if a token was pasted here, revoke it, \
                 put the new one in a variable and name that variable"
            ),
        )),
    }
}

/// The name of an environment variable as configuration gives it, for a
/// message or `Debug`: a user may paste the secret itself where its
/// variable's name belongs, so a value that does not look like a variable
/// name is described by its length, never shown.
///
/// A name is shown when it is a portable variable name
/// (`[A-Za-z_][A-Za-z0-9_]*`) whose `_`-separated words are at most
/// [`EnvName::MAX_WORD`] characters long: `JIRA_API_TOKEN` is shown, while
/// a personal access token (base64, often letters and digits only) or a hex
/// key is one long word and is not.
struct EnvName<'a>(&'a str);

impl EnvName<'_> {
    /// The longest `_`-separated word of a name that is shown.
    const MAX_WORD: usize = 24;

    fn shown(&self) -> bool {
        let mut chars = self.0.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        valid && self.0.split('_').all(|word| word.len() <= Self::MAX_WORD)
    }
}

impl std::fmt::Display for EnvName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.shown() {
            f.write_str(self.0)
        } else {
            write!(
                f,
                "[a value of {} characters that is not an environment variable name]",
                self.0.chars().count()
            )
        }
    }
}

impl std::fmt::Debug for EnvName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.shown() {
            std::fmt::Debug::fmt(self.0, f)
        } else {
            std::fmt::Display::fmt(self, f)
        }
    }
}

impl JiraConfig {
    /// The same configuration under the operator's `[network]` policy
    /// (default: the strict [`UrlPolicy::default`]). [`SyncConfig`] applies
    /// its own `[network]` table; a host that reads `[jira]` alone calls
    /// this.
    pub fn with_network(mut self, network: NetworkConfig) -> Self {
        self.network = network;
        self
    }

    /// The same configuration for `connection` (default
    /// [`DEFAULT_CONNECTION_ID`]): its sealed token is opened only if it was
    /// sealed for this connection.
    pub fn with_connection(mut self, connection: &crate::ConnectionId) -> Self {
        self.connection = connection.as_str().to_string();
        self
    }

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

    /// The client builder this configuration describes (credentials opened
    /// for its connection, [`DEFAULT_CONNECTION_ID`] unless
    /// [`JiraConfig::with_connection`] set another, at `base_url`'s origin,
    /// quota, timeout and the `[network]` URL policy set), for a host that
    /// adds to it, e.g. a
    /// [`crate::SharedRateBudget`] with
    /// [`jira_client::ClientBuilder::shared_budget`].
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting at fault (the base URL is checked
    /// by `build`).
    pub fn client_builder(&self) -> Result<jira_client::ClientBuilder, ConfigError> {
        let secret = self
            .credentials
            .token_for(&self.connection, &self.base_url)?;
        let email = || {
            self.email
                .as_deref()
                .filter(|e| e.contains('@'))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        "jira.email",
                        "Jira Cloud API tokens need the service account's e-mail",
                    )
                })
        };
        let kind = self.auth.unwrap_or(match self.deployment {
            Flavor::Cloud => AuthKind::ApiToken,
            Flavor::DataCenter => AuthKind::Pat,
        });
        let mut builder = match (kind, self.deployment) {
            (AuthKind::ApiToken, Flavor::Cloud) => JiraClient::builder(
                &self.base_url,
                self.deployment,
                ApiTokenAuth::new(email()?, secret),
            ),
            (AuthKind::ScopedToken, Flavor::Cloud) => JiraClient::builder(
                &self.base_url,
                self.deployment,
                jira_client::ScopedTokenAuth::new(email()?, secret),
            ),
            (AuthKind::Pat, Flavor::DataCenter) => {
                JiraClient::builder(&self.base_url, self.deployment, PatAuth::new(secret))
            }
            (AuthKind::OauthClientCredentials, _) => {
                let id = self
                    .client_id
                    .as_deref()
                    .filter(|id| !id.trim().is_empty())
                    .ok_or_else(|| {
                        ConfigError::invalid(
                            "jira.client_id",
                            "OAuth client credentials need the client id",
                        )
                    })?;
                let mut oauth = jira_client::OAuthClientCredentials::new(id, secret);
                if let Some(scope) = &self.oauth_scope {
                    oauth = oauth.scope(scope);
                }
                if let Some(url) = &self.token_url {
                    oauth = oauth.token_url(url);
                }
                JiraClient::builder(&self.base_url, self.deployment, oauth)
            }
            (AuthKind::ApiToken | AuthKind::ScopedToken, Flavor::DataCenter) => {
                return Err(ConfigError::invalid(
                    "jira.auth",
                    "API tokens are Jira Cloud's: a Data Center Jira takes \"pat\" or \"oauth_client_credentials\"",
                ));
            }
            (AuthKind::Pat, Flavor::Cloud) => {
                return Err(ConfigError::invalid(
                    "jira.auth",
                    "personal access tokens are Jira Data Center's: Jira Cloud takes \"api_token\", \"scoped_token\" or \"oauth_client_credentials\"",
                ));
            }
        };
        if let Some(url) = &self.gateway_url {
            builder = builder.gateway_url(url);
        }
        if let Some(id) = &self.cloud_id {
            builder = builder.cloud_id(id);
        }
        let timeout = Duration::from_secs(self.timeout_secs.unwrap_or(30));
        if timeout.is_zero() {
            return Err(ConfigError::invalid(
                "jira.timeout_secs",
                "must be at least 1",
            ));
        }
        Ok(builder
            .rate_limit(self.rate_limit()?)
            .timeout(timeout)
            .url_policy(self.network.url_policy()?))
    }
}

/// Reads the file at `path` and parses it with `parse`; errors name the
/// file.
pub(crate) fn read_toml_file<T>(
    path: &std::path::Path,
    parse: impl FnOnce(&str) -> Result<T, ConfigError>,
) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::invalid(
            "file",
            format!("cannot read {}: {}", path.display(), e.kind()),
        )
    })?;
    parse(&text).map_err(|e| {
        ConfigError::invalid(
            e.setting().to_string(),
            format!("{}: {}", path.display(), e.message()),
        )
    })
}

/// A TOML error with its line, never the document.
fn toml_error(text: &str, e: &toml::de::Error) -> ConfigError {
    let place = e
        .span()
        .map(|span| {
            let line = text[..span.start.min(text.len())].lines().count().max(1);
            format!(" (line {line})")
        })
        .unwrap_or_default();
    ConfigError::invalid("file", format!("{}{place}", e.message()))
}

impl SyncConfig {
    /// Reads a TOML configuration file's text.
    ///
    /// # Errors
    /// [`ConfigError`] naming the key and the line at fault (the document
    /// itself is never echoed: it may hold a sealed token).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e: toml::de::Error| toml_error(text, &e))
    }

    /// The TOML document itself, with [`SyncConfig::from_toml`]'s errors.
    pub(crate) fn from_toml_value(text: &str) -> Result<toml::Table, ConfigError> {
        toml::from_str(text).map_err(|e: toml::de::Error| toml_error(text, &e))
    }

    /// Reads a TOML configuration file.
    ///
    /// # Errors
    /// [`ConfigError`] when the file cannot be read or a setting is wrong.
    pub fn from_toml_file(path: &std::path::Path) -> Result<Self, ConfigError> {
        read_toml_file(path, Self::from_toml)
    }

    /// The checked mapping: rule, template, state table, inbound policy.
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting at fault.
    pub fn checked_mapping(&self) -> Result<Mapping, ConfigError> {
        self.mapping.clone().build().map_err(ConfigError::from)
    }

    /// The issue template this configuration describes.
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting at fault.
    pub fn issue_template(&self) -> Result<IssueTemplate, ConfigError> {
        Ok(self.checked_mapping()?.template)
    }
}

impl From<penaxtra_mapping::MappingError> for ConfigError {
    fn from(e: penaxtra_mapping::MappingError) -> Self {
        match e {
            penaxtra_mapping::MappingError::Config { field, reason } => {
                ConfigError::invalid(field, reason)
            }
            other => ConfigError::invalid("mapping", other.to_string()),
        }
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
        assert_eq!(c.mapping.inbound, InboundPolicy::TerminalOnly);
        let t = c.issue_template().unwrap();
        assert_eq!((t.project_key(), t.issue_type()), ("SEC", "Bug"));
        assert_eq!(c.mapping.rule, Rule::default());
        let s = c.settings.to_settings().unwrap();
        assert_eq!(s.claim_lease, SyncSettings::default().claim_lease);
        assert_eq!(c.service_account, None);
    }

    #[test]
    fn one_file_sets_mapping_settings_and_the_service_account() {
        let text = format!(
            "inbound = \"all\"
            service_account = \"5f5e1a0c0000000000000001\"
            {BASE}
            [rule]
            min_severity = \"medium\"
            [template]
            project_key = \"OPS\"
            [settings]
            claim_lease = \"45s\"
            search_consistency_window = \"90s\"
            on_deleted_issue = \"recreate\"
            retry_base = \"250ms\"
            retry_max = \"2m\"
            concurrency = 2
            "
        );
        let c = SyncConfig::from_toml(&text).unwrap();
        assert_eq!(c.mapping.inbound, InboundPolicy::All);
        assert_eq!(c.issue_template().unwrap().project_key(), "OPS");
        assert_eq!(
            c.service_account.as_deref(),
            Some("5f5e1a0c0000000000000001")
        );
        let s = c.settings.to_settings().unwrap();
        assert_eq!(s.claim_lease, Duration::from_secs(45));
        assert_eq!(s.search_consistency_window, Some(Duration::from_secs(90)));
        assert_eq!(s.on_deleted_issue, DeletedIssue::Recreate);
        assert_eq!(s.retry_base, Duration::from_millis(250));
        assert_eq!(s.retry_max, Duration::from_secs(120));
        assert_eq!(s.concurrency, 2);
    }

    #[test]
    fn the_example_configuration_builds() {
        let c = SyncConfig::from_toml(include_str!("../../../../examples/penaxtra-jira.sim.toml"))
            .unwrap();
        assert_eq!(c.jira.base_url, "http://127.0.0.1:8080");
        assert!(c.network.allow_loopback, "the simulator is on loopback");
        c.checked_mapping().unwrap();
        c.settings.to_settings().unwrap();
        let gate = c.webhook.expect("the example configures the gate");
        assert_eq!(gate.url_secrets.len(), 1);
    }

    #[test]
    fn the_routes_example_routes_the_sample_to_two_projects() {
        let c = SyncConfig::from_toml(include_str!(
            "../../../../examples/penaxtra-jira.routes.toml"
        ))
        .unwrap();
        let template = c.checked_mapping().unwrap().template;
        assert_eq!(template.project_keys(), ["SEC", "OPS"]);
        let findings = penaxtra_mapping::parse_findings(include_str!(
            "../../../../examples/findings.sample.json"
        ))
        .unwrap();
        let projects: std::collections::BTreeSet<&str> =
            findings.iter().map(|f| template.target(f).0).collect();
        assert_eq!(projects.len(), 2, "{projects:?}");
    }

    #[test]
    fn bad_settings_name_their_key_and_line() {
        let e = SyncConfig::from_toml(&format!("{BASE}\n[settings]\nclaim_lease = \"soon\"\n"))
            .unwrap()
            .settings
            .to_settings()
            .unwrap_err();
        assert_eq!(e.setting(), "settings.claim_lease");
        let e = SyncConfig::from_toml(&format!("{BASE}\n[settings]\nclaim_leese = \"1s\"\n"))
            .unwrap_err();
        assert!(e.to_string().contains("claim_leese"), "{e}");
        assert!(e.to_string().contains("line 8"), "{e}");
        let c = SyncConfig::from_toml(&format!("{BASE}\n[rule]\nstates = []\n")).unwrap();
        assert_eq!(c.checked_mapping().unwrap_err().setting(), "rule.states");
        assert_eq!(
            parse_duration("x", "1500ms").unwrap(),
            Duration::from_millis(1500)
        );
        assert!(parse_duration("x", "5 weeks").is_err());
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

    /// A token pasted where the name of its variable belongs is never
    /// repeated: not by the error (`Display`, `Debug`), not by the
    /// configuration's `Debug`.
    #[test]
    fn a_token_pasted_as_a_variable_name_is_not_repeated() {
        let pasted = [
            // Jira Cloud API token shape.
            "ATATT3xFfGF0k9pQ-7Zr_2mXn=1A2B3C4D",
            // A personal access token: base64, here letters and digits only.
            "NjM4MTk2NTQ5NzQ2OkqZ3mFxQ2b8Vt7yW1pLr0sK",
            // A hex key, a sealing key, a token with spaces around it.
            "a3f91c07d2e84b6f9a0c1d2e3f405162",
            "pxkey:v1:Zm9vYmFyYmF6cXV4cXV1eA",
            "  secret-token-with-spaces  ",
            "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
        ];
        for token in pasted {
            let env = CredentialsConfig::Env {
                token_env: token.to_string(),
            };
            let sealed = CredentialsConfig::Sealed {
                sealed_token: "pxsealed:v2:AAAAAAAAAAAA:AAAA".into(),
                secret_key_env: Some(token.to_string()),
                secret_key_file: None,
            };
            for (creds, setting) in [
                (env, "jira.credentials.token_env"),
                (sealed, "jira.credentials.secret_key_env"),
            ] {
                let e = creds
                    .token_for(DEFAULT_CONNECTION_ID, "https://acme.atlassian.net")
                    .unwrap_err();
                assert_eq!(e.setting(), setting);
                let shown = [
                    e.to_string(),
                    format!("{e:?}"),
                    format!("{e:#?}"),
                    format!("{creds:?}"),
                ];
                for text in shown {
                    assert!(!text.contains(token.trim()), "{token} leaked: {text}");
                    // Nor a long piece of it.
                    let t = token.trim();
                    for i in 0..t.len().saturating_sub(8) {
                        assert!(t.is_char_boundary(i));
                        assert!(!text.contains(&t[i..i + 8]), "{token} leaked: {text}");
                    }
                }
                let message = e.to_string();
                assert!(message.contains("characters"), "{message}");
                assert!(
                    message.contains("not an environment variable name"),
                    "{message}"
                );
            }
        }

        // A real name is still shown, so a typo can be found.
        for name in ["JIRA_API_TOKN", "penaxtra_sealing_key", "_X1"] {
            let e = read_env("jira.credentials.token_env", name).unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
            let creds = CredentialsConfig::Env {
                token_env: name.into(),
            };
            assert!(format!("{creds:?}").contains(&format!("{name:?}")));
        }
        // Not names: shown by length only.
        for not_a_name in ["", "JIRA-API-TOKEN", "1TOKEN", "TOKEN=x", "ÄPI_TOKEN"] {
            let e = read_env("jira.credentials.token_env", not_a_name).unwrap_err();
            let expected = format!("of {} characters", not_a_name.chars().count());
            assert!(e.to_string().contains(&expected), "{e}");
        }
    }

    const ACME: &str = "https://acme.atlassian.net";

    fn seal_for(
        pair: &jira_client::sealed::SealingKeyPair,
        connection: &str,
        base_url: &str,
        token: &str,
    ) -> jira_client::sealed::SealedToken {
        let binding =
            jira_client::sealed::TokenBinding::for_base_url(connection, base_url).unwrap();
        jira_client::sealed::SealedToken::seal(
            &pair.public_key(),
            &binding,
            &SecretString::from(token.to_string()),
        )
        .unwrap()
    }

    fn sealed_creds(sealed: &str, key_file: &std::path::Path) -> CredentialsConfig {
        CredentialsConfig::Sealed {
            sealed_token: sealed.to_string(),
            secret_key_env: None,
            secret_key_file: Some(key_file.to_path_buf()),
        }
    }

    #[test]
    fn a_sealed_token_opens_with_its_key_from_a_file() {
        let pair = jira_client::sealed::SealingKeyPair::generate();
        let sealed = seal_for(&pair, DEFAULT_CONNECTION_ID, ACME, "real-api-token-value");
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, pair.secret_key().to_text().expose_secret()).unwrap();
        let creds = sealed_creds(&sealed.to_string(), &key_file);
        assert_eq!(
            creds
                .token_for(DEFAULT_CONNECTION_ID, "https://ACME.atlassian.net:443/")
                .unwrap()
                .expose_secret(),
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
        let e = creds.token_for(DEFAULT_CONNECTION_ID, ACME).unwrap_err();
        assert_eq!(e.setting(), "jira.credentials.sealed_token");
        assert!(e.to_string().contains(&pair.key_id().to_string()), "{e}");
        assert!(!e.to_string().contains("real-api-token-value"));
    }

    /// Tenant B's sealed token pasted into tenant A's configuration, or
    /// beside another Jira URL, is refused: B's token never goes to A's
    /// server.
    #[test]
    fn a_sealed_token_opens_only_for_its_connection_and_origin() {
        let pair = jira_client::sealed::SealingKeyPair::generate();
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, pair.secret_key().to_text().expose_secret()).unwrap();
        let of_b = seal_for(&pair, "tenant-b", "https://b.atlassian.net", "b-token-7f3e");
        let creds = sealed_creds(&of_b.to_string(), &key_file);
        assert_eq!(
            creds
                .token_for("tenant-b", "https://b.atlassian.net/")
                .unwrap()
                .expose_secret(),
            "b-token-7f3e"
        );
        for (connection, base_url, named) in [
            ("tenant-a", "https://b.atlassian.net", "\"tenant-b\""),
            (
                DEFAULT_CONNECTION_ID,
                "https://b.atlassian.net",
                "\"tenant-b\"",
            ),
            (
                "tenant-b",
                "https://a.atlassian.net",
                "https://b.atlassian.net",
            ),
            (
                "tenant-b",
                "http://b.atlassian.net",
                "https://b.atlassian.net",
            ),
            (
                "tenant-b",
                "https://b.atlassian.net:8443",
                "https://b.atlassian.net",
            ),
        ] {
            let e = creds.token_for(connection, base_url).unwrap_err();
            assert_eq!(e.setting(), "jira.credentials.sealed_token");
            let message = e.to_string();
            assert!(message.contains(named), "{message}");
            assert!(message.contains("seal_token --connection"), "{message}");
            assert!(!message.contains("b-token-7f3e"), "{message}");
        }
        // The engine's one connection is "default": B's token is refused there too.
        let mut jira = parse(BASE).unwrap().jira;
        jira.base_url = "https://b.atlassian.net".into();
        jira.credentials = creds;
        let e = jira.client().unwrap_err();
        assert_eq!(e.setting(), "jira.credentials.sealed_token");
        assert!(e.to_string().contains("tenant-b"), "{e}");
        // A connection id or base URL that cannot be one is named.
        let e = jira.credentials.token_for("a b", ACME).unwrap_err();
        assert_eq!(e.setting(), "connection id");
        let e = jira
            .credentials
            .token_for("tenant-b", "b.atlassian.net")
            .unwrap_err();
        assert_eq!(e.setting(), "jira.base_url");
    }

    /// A v1 sealed token (bound to nothing) is refused with the command
    /// that reseals it; the configuration never opens it unbound.
    #[test]
    fn a_v1_sealed_token_is_refused_with_how_to_reseal() {
        // Sealed by the previous release for this key.
        let key = "pxsealkey:v1:KP_1dIkeyo0wZDjSOjmK9K3BaKtcpFKQIcH-SMSAH5s";
        let v1 = "pxsealed:v1:BmtQ4YWlXZadhAC8uCCvkpwZfJIsNC6_2XXvsL8_ZGo30-byR37vMCSoYebhak1je3zGKGCdK3o_8_Btp6ge";
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, key).unwrap();
        let e = sealed_creds(v1, &key_file)
            .token_for(DEFAULT_CONNECTION_ID, ACME)
            .unwrap_err();
        assert_eq!(e.setting(), "jira.credentials.sealed_token");
        assert!(
            e.to_string()
                .contains("seal_token --connection <id> --base-url <jira url>"),
            "{e}"
        );
        assert!(!e.to_string().contains("v1-legacy-token"));
    }

    /// During a rotation the key file holds the old and the new key: tokens
    /// sealed for either open; once the old key is removed, its tokens are
    /// refused naming its key id.
    #[test]
    fn a_key_list_opens_tokens_of_old_and_new_keys() {
        let old = jira_client::sealed::SealingKeyPair::generate();
        let new = jira_client::sealed::SealingKeyPair::generate();
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("keys");
        std::fs::write(
            &key_file,
            format!(
                "# new\n{}\n# old, until every token is resealed\n{}\n",
                new.secret_key().to_text().expose_secret(),
                old.secret_key().to_text().expose_secret()
            ),
        )
        .unwrap();
        let by_old = seal_for(&old, DEFAULT_CONNECTION_ID, ACME, "old-token");
        let by_new = seal_for(&new, DEFAULT_CONNECTION_ID, ACME, "new-token");
        for (sealed, token) in [(&by_old, "old-token"), (&by_new, "new-token")] {
            let creds = sealed_creds(&sealed.to_string(), &key_file);
            assert_eq!(
                creds
                    .token_for(DEFAULT_CONNECTION_ID, ACME)
                    .unwrap()
                    .expose_secret(),
                token
            );
        }
        std::fs::write(&key_file, new.secret_key().to_text().expose_secret()).unwrap();
        let e = sealed_creds(&by_old.to_string(), &key_file)
            .token_for(DEFAULT_CONNECTION_ID, ACME)
            .unwrap_err();
        assert_eq!(e.setting(), "jira.credentials.sealed_token");
        assert!(e.to_string().contains(&old.key_id().to_string()), "{e}");
        // A bad entry in the list is named by position.
        std::fs::write(
            &key_file,
            format!(
                "{},pxsealkey:v1:AAAA",
                new.secret_key().to_text().expose_secret()
            ),
        )
        .unwrap();
        let e = sealed_creds(&by_new.to_string(), &key_file)
            .token_for(DEFAULT_CONNECTION_ID, ACME)
            .unwrap_err();
        assert_eq!(e.setting(), "jira.credentials.secret_key");
        assert!(e.to_string().contains("key 2"), "{e}");
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

    #[test]
    fn the_operators_network_table_governs_the_client() {
        let dc = |network: &str| {
            format!(
                "[jira]\ndeployment = \"datacenter\"\nbase_url = \"https://10.20.1.2/jira\"\n\
                 credentials = {{ source = \"env\", token_env = \"PATH\" }}\n{network}"
            )
        };
        // Strict by default: a private address is refused, naming the fix.
        let c = SyncConfig::from_toml(&dc("")).unwrap();
        assert_eq!(c.network, NetworkConfig::default());
        let e = c.jira.client().unwrap_err();
        assert!(e.to_string().contains("url_refused"), "{e}");
        assert!(e.to_string().contains("ask your operator"), "{e}");
        // The operator lists the range.
        let c = SyncConfig::from_toml(&dc(
            "[network]\nallow_private_cidrs = [\"10.20.0.0/16\", \"fd00::/8\"]\n",
        ))
        .unwrap();
        assert_eq!(c.network.allow_private_cidrs.len(), 2);
        c.jira.client().unwrap();
        // A range that cannot be read names its setting.
        let c = SyncConfig::from_toml(&dc("[network]\nallow_private_cidrs = [\"10.20.0.1/16\"]\n"))
            .unwrap();
        let e = c.jira.client().unwrap_err();
        assert_eq!(e.setting(), "network.allow_private_cidrs");
        assert!(e.to_string().contains("10.20.0.0/16"), "{e}");
        // Loopback only with the opt-in.
        let lo =
            |network: &str| dc(network).replace("https://10.20.1.2/jira", "http://127.0.0.1:8080");
        let c = SyncConfig::from_toml(&lo("")).unwrap();
        assert!(c.jira.client().is_err());
        let c = SyncConfig::from_toml(&lo("[network]\nallow_loopback = true\n")).unwrap();
        c.jira.client().unwrap();
        // The `[jira]` table cannot carry it, nor can `[network]` grow keys.
        let in_jira = dc("").replace("[jira]\n", "[jira]\nnetwork = { allow_loopback = true }\n");
        assert!(SyncConfig::from_toml(&in_jira).is_err());
        assert!(SyncConfig::from_toml(&dc("[network]\nallow_everything = true\n")).is_err());
    }
}
