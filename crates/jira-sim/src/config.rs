//! The simulator's configuration: builder for the library, JSON file for the
//! binary.

use crate::{CloudLimits, FaultConfig, SimClock, SimError, SimRateLimit, Workflow};
use jira_model::Flavor;
use serde::Deserialize;
use std::time::Duration;

/// The options of the multi-select frameworks field by default, as a Jira
/// admin would have set the field up for Penaxtra: the OWASP Top 10 for LLM
/// applications and the MITRE ATLAS, NIST and EU AI Act references of the
/// sample findings. Real Jira never adds an option on its own: any other
/// value is refused with `Option value 'X' is not valid`.
pub const DEFAULT_FRAMEWORK_OPTIONS: &[&str] = &[
    "OWASP_LLM01",
    "OWASP_LLM02",
    "OWASP_LLM03",
    "OWASP_LLM04",
    "OWASP_LLM05",
    "OWASP_LLM06",
    "OWASP_LLM07",
    "OWASP_LLM08",
    "OWASP_LLM09",
    "OWASP_LLM10",
    "MITRE_ATLAS_AML_T0051",
    "MITRE_ATLAS_AML_T0054",
    "NIST_AI_600-1",
    "EU_AI_ACT_Art10",
    "EU_AI_ACT_Art14",
    "EU_AI_ACT_Art15",
];

/// The kind of the custom field `customfield_10032` "Framework references".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FrameworksFieldKind {
    /// A multi-select field, `[{"value":"x"}]`, with a fixed list of
    /// options ([`SimConfig::frameworks_options`]).
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

impl WebhookRetry {
    /// The flavor's own policy: Jira Cloud retries (at most 5 attempts in
    /// all here, from 200 ms); Jira Data Center does not retry at all.
    pub fn for_flavor(flavor: Flavor) -> Self {
        match flavor {
            Flavor::Cloud => Self::default(),
            Flavor::DataCenter => Self::new(1, Duration::from_millis(200)),
        }
    }
}

/// When and whether webhook deliveries go out.
///
/// Each delivery waits a random time up to `max_delay` before its first
/// attempt, so deliveries arrive late and out of order, as Jira's do
/// ("up to 30 minutes" on Cloud; set minutes here to test that). Data
/// Center's delivery queue holds at most `queue_capacity` deliveries not
/// yet made and drops what does not fit, and `drop_rate` drops a share of
/// deliveries outright (JRASERVER-74492); neither applies to Cloud.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct WebhookTiming {
    /// Longest random wait before a delivery's first attempt.
    pub max_delay: Duration,
    /// Data Center: most deliveries waiting at once; more are dropped.
    pub queue_capacity: usize,
    /// Data Center: share (0..=1) of deliveries dropped.
    pub drop_rate: f64,
}

impl WebhookTiming {
    /// The flavor's default: up to 20 ms of random delay (enough to reorder
    /// deliveries made close together), a queue of 1,000, nothing dropped
    /// at random.
    pub fn for_flavor(_flavor: Flavor) -> Self {
        Self {
            max_delay: Duration::from_millis(20),
            queue_capacity: 1000,
            drop_rate: 0.0,
        }
    }
    /// In order and at once: no delay (one delivery after the other).
    pub fn immediate(mut self) -> Self {
        self.max_delay = Duration::ZERO;
        self
    }
    /// Sets the longest random delay.
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }
    /// Sets the Data Center queue capacity.
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n;
        self
    }
    /// Sets the Data Center drop rate.
    pub fn drop_rate(mut self, rate: f64) -> Self {
        self.drop_rate = rate;
        self
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
/// has defaults (no per-account rate limit, no faults, the default
/// workflow, a multi-select frameworks field, no webhooks, no latency, no
/// search lag, seed 0) and, on by default because real Jira does it: Cloud's
/// burst and per-issue write limits, Cloud's anonymous answers to bad
/// credentials, Data Center's CAPTCHA lockout, 409 for concurrent
/// transitions, late and unordered webhooks (retried on Cloud only).
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
    /// Cloud: credentials that match no account are served as an anonymous
    /// user would be (a 200 with `X-Seraph-LoginReason:
    /// AUTHENTICATED_FAILED` and no issues from searches, a 404 for an
    /// issue, a 401 where anonymous users may not go). On by default.
    pub anonymous_on_bad_credentials: bool,
    /// Data Center: failed Basic logins in a row after which the account
    /// must solve a CAPTCHA in the browser (default 3; `None`: never).
    pub captcha_after: Option<u32>,
    /// Cloud's burst and per-issue write limits (default on for Cloud,
    /// `None` turns them off; Data Center ignores them).
    pub cloud_limits: Option<CloudLimits>,
    /// How long a transition holds its issue: another transition of the
    /// same issue arriving meanwhile is refused with 409 (default 10 ms).
    pub transition_hold: Duration,
    /// Webhook delays, queue and drops.
    pub webhook_timing: WebhookTiming,
    /// The multi-select frameworks field's only options, as a Jira admin
    /// configured them: other values are refused with Jira's `Option value
    /// 'X' is not valid`, as real Jira does (default
    /// [`DEFAULT_FRAMEWORK_OPTIONS`]). `None`: a new value becomes a new
    /// option, as if an admin kept the list up to date (kinder than Jira).
    pub frameworks_options: Option<Vec<String>>,
    /// How long an OAuth access token from the token endpoints lives
    /// (default an hour, as Atlassian's; seconds make a test cross an
    /// expiry), on the simulator's clock.
    pub oauth_token_lifetime: Duration,
    /// Cloud's points-based quota for OAuth traffic, in points (one a
    /// request) per hour (default none). API-token traffic is exempt, as on
    /// Jira Cloud. Answers carry `Beta-RateLimit-Policy`, and near the end
    /// `Beta-RateLimit` and `X-RateLimit-NearLimit`; a spent quota answers
    /// 429 with `RateLimit-Reason: jira-quota-tenant-based`.
    pub points_quota: Option<u32>,
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
            webhook_retry: WebhookRetry::for_flavor(flavor),
            clock: SimClock::system(),
            listen: "127.0.0.1:0".into(),
            anonymous_on_bad_credentials: true,
            captcha_after: Some(crate::captcha::DEFAULT_CAPTCHA_AFTER),
            cloud_limits: Some(CloudLimits::default()),
            transition_hold: Duration::from_millis(10),
            webhook_timing: WebhookTiming::for_flavor(flavor),
            frameworks_options: Some(
                DEFAULT_FRAMEWORK_OPTIONS
                    .iter()
                    .map(|o| (*o).to_string())
                    .collect(),
            ),
            oauth_token_lifetime: Duration::from_secs(3600),
            points_quota: None,
        }
    }
    /// Sets how long OAuth access tokens live.
    pub fn oauth_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.oauth_token_lifetime = lifetime;
        self
    }
    /// Sets (or, with `None`, removes) Cloud's hourly points quota for
    /// OAuth traffic.
    pub fn points_quota(mut self, points_per_hour: Option<u32>) -> Self {
        self.points_quota = points_per_hour;
        self
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
    /// Cloud: whether bad credentials are served as anonymous (see
    /// [`SimConfig::anonymous_on_bad_credentials`]); off answers 401.
    pub fn anonymous_on_bad_credentials(mut self, on: bool) -> Self {
        self.anonymous_on_bad_credentials = on;
        self
    }
    /// Data Center: failed Basic logins in a row that lock an account
    /// behind a CAPTCHA (`None`: never).
    pub fn captcha_after(mut self, after: Option<u32>) -> Self {
        self.captcha_after = after;
        self
    }
    /// Sets (or, with `None`, removes) Cloud's burst and per-issue limits.
    pub fn cloud_limits(mut self, limits: Option<CloudLimits>) -> Self {
        self.cloud_limits = limits;
        self
    }
    /// Sets how long a transition holds its issue against concurrent ones.
    pub fn transition_hold(mut self, hold: Duration) -> Self {
        self.transition_hold = hold;
        self
    }
    /// Fixes the frameworks field's options (see
    /// [`SimConfig::frameworks_options`]).
    pub fn frameworks_options(mut self, options: Option<Vec<String>>) -> Self {
        self.frameworks_options = options;
        self
    }
    /// Sets webhook delays, queue and drops.
    pub fn webhook_timing(mut self, timing: WebhookTiming) -> Self {
        self.webhook_timing = timing;
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
        if self.oauth_token_lifetime < Duration::from_secs(1) {
            return Err(SimError::Config(
                "oauth_token_lifetime must be at least a second".into(),
            ));
        }
        if self.points_quota == Some(0) {
            return Err(SimError::Config(
                "points_quota must be at least 1 (or null for none)".into(),
            ));
        }
        if self.captcha_after == Some(0) {
            return Err(SimError::Config(
                "captcha_after must be at least 1 (or null for never)".into(),
            ));
        }
        if let Some(l) = &self.cloud_limits {
            l.validate()?;
        }
        let t = &self.webhook_timing;
        if !(0.0..=1.0).contains(&t.drop_rate) {
            return Err(SimError::Config(format!(
                "webhook drop_rate {} is not within 0..=1",
                t.drop_rate
            )));
        }
        if t.queue_capacity == 0 {
            return Err(SimError::Config(
                "webhook queue_capacity must be at least 1".into(),
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
        if let Some(on) = f.anonymous_on_bad_credentials {
            c.anonymous_on_bad_credentials = on;
        }
        if let Some(after) = f.captcha_after {
            c.captcha_after = after;
        }
        if let Some(limits) = f.cloud_limits {
            c.cloud_limits = limits;
        }
        if let Some(o) = f.frameworks_options {
            c.frameworks_options = Some(o);
        }
        if let Some(ms) = f.transition_hold_ms {
            c.transition_hold = Duration::from_millis(ms);
        }
        if let Some(w) = f.webhook_timing {
            if let Some(ms) = w.max_delay_ms {
                c.webhook_timing.max_delay = Duration::from_millis(ms);
            }
            if let Some(n) = w.queue_capacity {
                c.webhook_timing.queue_capacity = n;
            }
            if let Some(r) = w.drop_rate {
                c.webhook_timing.drop_rate = r;
            }
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
    anonymous_on_bad_credentials: Option<bool>,
    /// `null` never locks; absent keeps the default.
    #[serde(default, deserialize_with = "some")]
    captcha_after: Option<Option<u32>>,
    /// `null` turns the limits off; absent keeps the default.
    #[serde(default, deserialize_with = "some")]
    cloud_limits: Option<Option<CloudLimits>>,
    transition_hold_ms: Option<u64>,
    webhook_timing: Option<FileTiming>,
    frameworks_options: Option<Vec<String>>,
}

/// Tells a present `null` (`Some(None)`) from an absent field (`None`).
fn some<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTiming {
    max_delay_ms: Option<u64>,
    queue_capacity: Option<usize>,
    drop_rate: Option<f64>,
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
        assert_eq!(c.captcha_after, Some(3), "on by default");
        assert!(c.cloud_limits.is_some() && c.anonymous_on_bad_credentials);
        let off = SimConfig::from_json_str(
            r#"{"captcha_after":null,"cloud_limits":null,"anonymous_on_bad_credentials":false,
               "transition_hold_ms":0,"webhook_timing":{"max_delay_ms":60000,"drop_rate":0.5}}"#,
            Flavor::DataCenter,
        )
        .unwrap();
        assert_eq!(off.captcha_after, None);
        assert_eq!(off.cloud_limits, None);
        assert!(!off.anonymous_on_bad_credentials);
        assert_eq!(off.transition_hold, Duration::ZERO);
        assert_eq!(off.webhook_timing.max_delay, Duration::from_secs(60));
        assert_eq!(off.webhook_timing.drop_rate, 0.5);
        assert_eq!(
            off.webhook_retry.max_attempts, 1,
            "Data Center does not retry webhooks"
        );
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
            r#"{"captcha_after":0}"#,
            r#"{"webhook_timing":{"drop_rate":1.5}}"#,
            r#"{"cloud_limits":{"burst_read":0}}"#,
            "not json",
        ] {
            assert!(
                SimConfig::from_json_str(bad, Flavor::Cloud).is_err(),
                "{bad}"
            );
        }
    }
}
