//! The simulator's configuration: builder for the library, JSON file for the
//! binary.

use crate::{FaultConfig, SimClock, SimError, SimRateLimit, Workflow};
use jira_model::Flavor;
use serde::Deserialize;
use std::time::Duration;

/// The kind of the custom field `customfield_10032` "Framework references".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FrameworksFieldKind {
    /// A multi-select field, `[{"value":"x"}]`, whose options grow as new
    /// values arrive.
    #[default]
    MultiSelect,
    /// A labels-type field, `["x"]`.
    Labels,
}

/// How webhook deliveries are retried on a non-2xx answer or a failed
/// connection: at most `max_attempts` in all, waiting `initial_backoff`,
/// then twice as long each time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookRetry {
    /// Attempts in all, at least 1.
    pub max_attempts: u32,
    /// Wait before the first retry.
    pub initial_backoff: Duration,
}

impl WebhookRetry {
    /// A retry policy.
    pub fn new(max_attempts: u32, initial_backoff: Duration) -> Self {
        Self {
            max_attempts,
            initial_backoff,
        }
    }
}

impl Default for WebhookRetry {
    fn default() -> Self {
        Self::new(5, Duration::from_millis(200))
    }
}

/// A webhook to deliver events to: the URL exactly as registered (a secret in
/// its query included) and an optional HMAC secret.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    pub(crate) url: String,
    pub(crate) secret: Option<String>,
}

impl WebhookTarget {
    /// The URL with its query and fragment left out, safe to show.
    pub fn display_url(&self) -> String {
        redact_url(&self.url)
    }
    /// Whether deliveries are signed.
    pub fn is_signed(&self) -> bool {
        self.secret.is_some()
    }
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &self.display_url())
            .field("signed", &self.is_signed())
            .finish()
    }
}

/// `scheme://host:port/path` of a URL, without query, fragment or user info.
pub(crate) fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}{}",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.port().map(|p| format!(":{p}")).unwrap_or_default(),
            u.path()
        ),
        Err(_) => "[unparsable url]".into(),
    }
}

pub(crate) fn check_webhook_url(url: &str) -> Result<(), SimError> {
    let u = url::Url::parse(url)
        .map_err(|e| SimError::Config(format!("webhook URL is not a URL: {e}")))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(SimError::Config(format!(
            "webhook URL {} must be http or https",
            redact_url(url)
        )));
    }
    Ok(())
}

/// Everything the simulator needs to start. Required: the flavor; the rest
/// has defaults (no rate limit, no faults, the default workflow, a
/// multi-select frameworks field, no webhooks, no latency, no search lag,
/// seed 0).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SimConfig {
    /// Cloud or Data Center.
    pub flavor: Flavor,
    /// Per-account rate limit (off by default).
    pub rate_limit: Option<SimRateLimit>,
    /// Seed of the simulator's own randomness (webhook identifiers).
    pub seed: u64,
    /// Kind of the frameworks custom field.
    pub frameworks_field_kind: FrameworksFieldKind,
    /// The workflow.
    pub workflow: Workflow,
    /// Webhooks registered at start.
    pub webhooks: Vec<WebhookTarget>,
    /// Latency added to every REST request.
    pub latency: Duration,
    /// How long a create or update takes to reach JQL search (Cloud
    /// `search/jql`, Data Center `search`); `GET issue` sees it at once.
    /// Zero (the default): search is consistent at once.
    pub search_lag: Duration,
    /// Faults injected from the start.
    pub faults: FaultConfig,
    /// Webhook retry policy.
    pub webhook_retry: WebhookRetry,
    /// The clock.
    pub clock: SimClock,
    /// Address to listen on (`127.0.0.1:0` by default).
    pub listen: String,
}

impl SimConfig {
    /// The default world for `flavor`.
    pub fn new(flavor: Flavor) -> Self {
        Self {
            flavor,
            rate_limit: None,
            seed: 0,
            frameworks_field_kind: FrameworksFieldKind::default(),
            workflow: Workflow::default(),
            webhooks: Vec::new(),
            latency: Duration::ZERO,
            search_lag: Duration::ZERO,
            faults: FaultConfig::default(),
            webhook_retry: WebhookRetry::default(),
            clock: SimClock::system(),
            listen: "127.0.0.1:0".into(),
        }
    }
    /// Sets (or, with `None`, removes) the per-account rate limit.
    pub fn rate_limit(mut self, limit: Option<SimRateLimit>) -> Self {
        self.rate_limit = limit;
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets the kind of the frameworks custom field.
    pub fn frameworks_field_kind(mut self, kind: FrameworksFieldKind) -> Self {
        self.frameworks_field_kind = kind;
        self
    }
    /// Sets the workflow.
    pub fn workflow(mut self, workflow: Workflow) -> Self {
        self.workflow = workflow;
        self
    }
    /// Registers a webhook at start.
    pub fn webhook(mut self, url: impl Into<String>, secret: Option<String>) -> Self {
        self.webhooks.push(WebhookTarget {
            url: url.into(),
            secret,
        });
        self
    }
    /// Adds latency to every REST request.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }
    /// Sets the search index lag: JQL search sees a created issue only
    /// `lag` after its creation, and an update only `lag` after it was made
    /// (until then it finds and shows the issue as it was), as Jira Cloud's
    /// eventually consistent `search/jql` does. Cloud's `reconcileIssues`
    /// reads the listed issues fresh; `GET issue` is always fresh.
    pub fn search_lag(mut self, lag: Duration) -> Self {
        self.search_lag = lag;
        self
    }
    /// Injects faults from the start.
    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.faults = faults;
        self
    }
    /// Sets the webhook retry policy.
    pub fn webhook_retry(mut self, retry: WebhookRetry) -> Self {
        self.webhook_retry = retry;
        self
    }
    /// Sets the clock (a manual clock makes timestamps and rate limits
    /// deterministic).
    pub fn clock(mut self, clock: SimClock) -> Self {
        self.clock = clock;
        self
    }
    /// Sets the listen address; it must be a loopback address.
    pub fn listen(mut self, addr: impl Into<String>) -> Self {
        self.listen = addr.into();
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// [`SimError::Config`] naming the first bad value.
    pub fn validate(&self) -> Result<(), SimError> {
        if let Some(r) = &self.rate_limit {
            r.validate()?;
        }
        self.workflow.validate()?;
        self.faults.validate()?;
        for w in &self.webhooks {
            check_webhook_url(&w.url)?;
        }
        if self.webhook_retry.max_attempts == 0 {
            return Err(SimError::Config(
                "webhook max_attempts must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// Reads a JSON configuration file (see the README for its fields) on
    /// top of the defaults for `flavor`; a `flavor` in the file wins.
    ///
    /// # Errors
    /// [`SimError::ConfigFile`] when the file cannot be read or parsed,
    /// [`SimError::Config`] when a value is invalid.
    pub fn from_json_file(path: &std::path::Path, flavor: Flavor) -> Result<Self, SimError> {
        let text = std::fs::read_to_string(path).map_err(|e| SimError::ConfigFile {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_json_str(&text, flavor).map_err(|e| match e {
            SimError::Config(message) => SimError::ConfigFile {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    /// Parses the JSON configuration format (see [`SimConfig::from_json_file`]).
    ///
    /// # Errors
    /// [`SimError::Config`] when the JSON is malformed or a value is invalid.
    pub fn from_json_str(text: &str, flavor: Flavor) -> Result<Self, SimError> {
        let f: FileConfig =
            serde_json::from_str(text).map_err(|e| SimError::Config(e.to_string()))?;
        let mut c = SimConfig::new(f.flavor.unwrap_or(flavor));
        c.rate_limit = f.rate_limit;
        if let Some(s) = f.seed {
            c.seed = s;
        }
        if let Some(k) = f.frameworks_field_kind {
            c.frameworks_field_kind = k;
        }
        c.workflow = match f.workflow.as_deref() {
            None | Some("default") => Workflow::default(),
            Some("two_step") => Workflow::two_step(),
            Some("without_resolution_screen") => Workflow::without_resolution_screen(),
            Some("two_step_without_resolution_screen") => {
                Workflow::two_step_without_resolution_screen()
            }
            Some(other) => {
                return Err(SimError::Config(format!(
                    "unknown workflow {other:?}: expected default, two_step, \
                     without_resolution_screen or two_step_without_resolution_screen"
                )));
            }
        };
        for w in f.webhooks {
            c = c.webhook(w.url, w.secret);
        }
        c.latency = Duration::from_millis(f.latency_ms.unwrap_or(0));
        c.search_lag = Duration::from_millis(f.search_lag_ms.unwrap_or(0));
        if let Some(faults) = f.faults {
            c.faults = faults;
        }
        if let Some(r) = f.webhook_retry {
            c.webhook_retry =
                WebhookRetry::new(r.max_attempts, Duration::from_millis(r.initial_backoff_ms));
        }
        if let Some(l) = f.listen {
            c.listen = l;
        }
        c.validate()?;
        Ok(c)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    flavor: Option<Flavor>,
    listen: Option<String>,
    seed: Option<u64>,
    rate_limit: Option<SimRateLimit>,
    frameworks_field_kind: Option<FrameworksFieldKind>,
    workflow: Option<String>,
    #[serde(default)]
    webhooks: Vec<FileWebhook>,
    latency_ms: Option<u64>,
    search_lag_ms: Option<u64>,
    faults: Option<FaultConfig>,
    webhook_retry: Option<FileRetry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWebhook {
    url: String,
    secret: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRetry {
    max_attempts: u32,
    initial_backoff_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_config_file_format() {
        let c = SimConfig::from_json_str(
            r#"{"flavor":"datacenter","seed":9,"rate_limit":{"per_second":5,"burst":10},
               "frameworks_field_kind":"labels","workflow":"two_step",
               "webhooks":[{"url":"http://127.0.0.1:9/hook?secret=s3cr3t","secret":"k"}],
               "latency_ms":3,"search_lag_ms":1500,"faults":{"seed":4,"error_rate":0.1},
               "webhook_retry":{"max_attempts":2,"initial_backoff_ms":5}}"#,
            Flavor::Cloud,
        )
        .unwrap();
        assert_eq!(c.flavor, Flavor::DataCenter);
        assert_eq!(c.rate_limit, Some(SimRateLimit::new(5, 10)));
        assert_eq!(c.frameworks_field_kind, FrameworksFieldKind::Labels);
        assert_eq!(c.workflow, Workflow::two_step());
        assert_eq!(c.faults.error_rate, 0.1);
        assert_eq!(c.search_lag, Duration::from_millis(1500));
        assert_eq!(
            SimConfig::from_json_str("{}", Flavor::Cloud)
                .unwrap()
                .search_lag,
            Duration::ZERO
        );
        assert_eq!(
            SimConfig::new(Flavor::Cloud)
                .search_lag(Duration::from_secs(2))
                .search_lag,
            Duration::from_secs(2)
        );
        assert_eq!(c.webhook_retry.max_attempts, 2);
        let shown = format!("{:?}", c.webhooks);
        assert!(!shown.contains("s3cr3t") && shown.contains("/hook"));
    }

    #[test]
    fn bad_files_are_rejected() {
        for bad in [
            r#"{"flavour":"cloud"}"#,
            r#"{"workflow":"fancy"}"#,
            r#"{"rate_limit":{"per_second":0,"burst":1}}"#,
            r#"{"webhooks":[{"url":"ftp://x/"}]}"#,
            r#"{"faults":{"error_rate":2}}"#,
            r#"{"search_lag_ms":-1}"#,
            r#"{"search_lag_ms":"5s"}"#,
            "not json",
        ] {
            assert!(
                SimConfig::from_json_str(bad, Flavor::Cloud).is_err(),
                "{bad}"
            );
        }
    }
}
