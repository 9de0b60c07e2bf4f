//! Configuring a [`JiraClient`]: required values in
//! [`JiraClient::builder`], everything else with a documented default, and a
//! checked [`ClientBuilder::build`].

use crate::base_url::BaseUrl;
use crate::client::{Inner, JiraClient, Limiter, Pacing};
use crate::time::{Clock, GovernorClock, Sleep, SystemClock, TokioSleep};
use crate::url_policy::PolicyResolver;
use crate::{Auth, Error, RateLimit, RequestBudget, RetryPolicy, UrlPolicy};
use jira_model::Flavor;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Default whole-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `User-Agent`.
pub const DEFAULT_USER_AGENT: &str = concat!("penaxtra-jira-client/", env!("CARGO_PKG_VERSION"));

/// Builds a [`JiraClient`].
///
/// | setting | default |
/// |---|---|
/// | [`timeout`](Self::timeout) | [`DEFAULT_TIMEOUT`] (30 s) |
/// | [`connect_timeout`](Self::connect_timeout) | [`DEFAULT_CONNECT_TIMEOUT`] (10 s) |
/// | [`rate_limit`](Self::rate_limit) | [`RateLimit::DEFAULT`] (10/s, bursts of 10) |
/// | [`shared_budget`](Self::shared_budget) | none (this process's quota only) |
/// | [`retry_policy`](Self::retry_policy) | [`RetryPolicy::default`] (5 attempts, 60 s of waiting) |
/// | [`sleeper`](Self::sleeper) / [`clock`](Self::clock) | tokio / system |
/// | [`user_agent`](Self::user_agent) | [`DEFAULT_USER_AGENT`] |
/// | [`url_policy`](Self::url_policy) | [`UrlPolicy::default`] (strict: https to public addresses, Cloud under Atlassian's domains) |
///
/// The client never uses a proxy, not even one from `HTTPS_PROXY`: a proxy
/// would resolve and connect on its behalf, out of the URL policy's reach.
pub struct ClientBuilder {
    base_url: String,
    flavor: Flavor,
    auth: Arc<dyn Auth>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    rate_limit: Option<RateLimit>,
    budget: Option<Arc<dyn RequestBudget>>,
    retry: RetryPolicy,
    sleeper: Arc<dyn Sleep>,
    clock: Option<Arc<dyn Clock>>,
    user_agent: String,
    url_policy: UrlPolicy,
    gateway_url: String,
    cloud_id: Option<String>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("flavor", &self.flavor)
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("rate_limit", &self.rate_limit)
            .field("budget", &self.budget)
            .field("retry", &self.retry)
            .field("url_policy", &self.url_policy)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder for the Jira at `base_url` (with an optional context path,
    /// e.g. `https://jira.corp.example/jira`), of this flavor, with these
    /// credentials. The URL is checked by [`ClientBuilder::build`].
    pub fn new(base_url: &str, flavor: Flavor, auth: impl Auth + 'static) -> Self {
        Self::with_shared_auth(base_url, flavor, Arc::new(auth))
    }

    /// Like [`ClientBuilder::new`] with an auth the host shares.
    pub fn with_shared_auth(base_url: &str, flavor: Flavor, auth: Arc<dyn Auth>) -> Self {
        Self {
            base_url: base_url.to_string(),
            flavor,
            auth,
            timeout: Some(DEFAULT_TIMEOUT),
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            rate_limit: Some(RateLimit::DEFAULT),
            budget: None,
            retry: RetryPolicy::default(),
            sleeper: Arc::new(TokioSleep),
            clock: None,
            user_agent: DEFAULT_USER_AGENT.to_string(),
            url_policy: UrlPolicy::default(),
            gateway_url: crate::DEFAULT_GATEWAY_URL.to_string(),
            cloud_id: None,
        }
    }

    /// The whole-request timeout (connect, send, and read the answer;
    /// default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The connect timeout (default [`DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// No request or connect timeout. Meant for tests that pause tokio time
    /// (where any pending timer fires as soon as the runtime idles); a
    /// production client should keep timeouts.
    pub fn without_timeouts(mut self) -> Self {
        self.timeout = None;
        self.connect_timeout = None;
        self
    }

    /// The local request quota, shared by every clone of the client
    /// (default [`RateLimit::DEFAULT`]).
    pub fn rate_limit(mut self, rate_limit: RateLimit) -> Self {
        self.rate_limit = Some(rate_limit);
        self
    }

    /// No local quota (Jira's rate-limit headers are still honoured).
    pub fn without_rate_limit(mut self) -> Self {
        self.rate_limit = None;
        self
    }

    /// A request budget shared with the other processes or replicas that
    /// speak to this Jira with the same account (default: none). Asked
    /// before every attempt, after the local quota; see [`RequestBudget`].
    /// Keep the local quota too: it spaces this process's own bursts.
    pub fn shared_budget(mut self, budget: Arc<dyn RequestBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// How transient failures are retried (default
    /// [`RetryPolicy::default`]: 5 attempts, 60 s of waiting in all, full
    /// jitter from 500 ms up to 30 s).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// How the client waits (default: `tokio::time::sleep`).
    pub fn sleeper(mut self, sleeper: Arc<dyn Sleep>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Where the client reads the time (default: [`SystemClock`]). Its
    /// monotonic time must advance with the sleeper's sleeps.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The `User-Agent` header (default [`DEFAULT_USER_AGENT`]).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Where the client may connect (default [`UrlPolicy::default`], the
    /// strict policy). The operator sets it; a tenant's base URL cannot
    /// relax it. Checked by [`ClientBuilder::build`] on the URL and again
    /// on every address a host name resolves to.
    pub fn url_policy(mut self, policy: UrlPolicy) -> Self {
        self.url_policy = policy;
        self
    }

    /// Atlassian's API gateway, where scoped tokens and Cloud OAuth send
    /// their requests as `{gateway}/ex/jira/{cloudId}/rest/...` (default
    /// [`DEFAULT_GATEWAY_URL`](crate::DEFAULT_GATEWAY_URL)). Checked
    /// against the URL policy like the base URL, as a Cloud host.
    pub fn gateway_url(mut self, url: impl Into<String>) -> Self {
        self.gateway_url = url.into();
        self
    }

    /// The site's cloudId, when known: the client then does not read it
    /// from `{site}/_edge/tenant_info`.
    pub fn cloud_id(mut self, cloud_id: impl Into<String>) -> Self {
        self.cloud_id = Some(cloud_id.into());
        self
    }

    /// Checks the configuration and builds the client. Sends nothing.
    ///
    /// # Errors
    /// `url_refused` when the [`UrlPolicy`] refuses the base URL (its
    /// scheme, a Cloud host outside Atlassian's domains, a host written as
    /// a refused address). `config` when the base URL is invalid (not http
    /// or https, user info, query or fragment), a timeout is zero, the retry
    /// policy is inconsistent, the user agent is not a valid header value,
    /// the gateway URL or cloudId is invalid, the credentials do not suit
    /// the flavor (a scoped token for Data Center), or the HTTP stack
    /// cannot be set up. `url_refused` for a gateway or OAuth token URL the
    /// policy refuses.
    pub fn build(self) -> Result<JiraClient, Error> {
        let base = BaseUrl::parse(&self.base_url)?;
        self.url_policy
            .check_url(base.as_url(), self.flavor)
            .map_err(|r| r.into_error())?;
        if self.timeout == Some(Duration::ZERO) || self.connect_timeout == Some(Duration::ZERO) {
            return Err(Error::config("a timeout of zero would fail every request"));
        }
        self.retry.validate()?;
        let user_agent = reqwest::header::HeaderValue::from_str(&self.user_agent)
            .map_err(|_| Error::config("the user agent is not a valid header value"))?;
        let mut http = reqwest::Client::builder()
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(PolicyResolver::new(self.url_policy.clone())))
            .user_agent(user_agent);
        if let Some(t) = self.timeout {
            http = http.timeout(t);
        }
        if let Some(t) = self.connect_timeout {
            http = http.connect_timeout(t);
        }
        let http = http.build().map_err(|e| {
            Error::config("the HTTP client could not be set up").with_source(e.without_url())
        })?;
        let clock: Arc<dyn Clock> = self.clock.unwrap_or_else(|| Arc::new(SystemClock::new()));
        let via_gateway = self.auth.uses_gateway(self.flavor);
        let gateway = BaseUrl::parse(&self.gateway_url)
            .map_err(|_| Error::config("the API gateway URL is not a valid https URL"))?;
        if self.flavor == Flavor::Cloud {
            self.url_policy
                .check_url(gateway.as_url(), Flavor::Cloud)
                .map_err(|r| r.into_error())?;
        } else if via_gateway {
            return Err(Error::config(
                "these credentials need Atlassian's API gateway, which serves Jira Cloud only",
            ));
        }
        let cloud_id = self
            .cloud_id
            .as_deref()
            .map(crate::gateway::check_cloud_id)
            .transpose()?;
        self.auth.attach(&crate::AuthContext {
            http: http.clone(),
            clock: Arc::clone(&clock),
            flavor: self.flavor,
            base: base.as_url().clone(),
            policy: self.url_policy.clone(),
        })?;
        let limiter = self
            .rate_limit
            .map(|r| Limiter::direct_with_clock(r.quota(), GovernorClock(Arc::clone(&clock))));
        Ok(JiraClient {
            gate: None,
            inner: Arc::new(Inner {
                http,
                base,
                flavor: self.flavor,
                auth: self.auth,
                limiter,
                rate_limit: self.rate_limit,
                budget: self.budget,
                retry: self.retry,
                sleeper: self.sleeper,
                clock,
                pacing: Mutex::new(Pacing::default()),
                timeout: self.timeout,
                routing: crate::gateway::Routing::new(
                    gateway.as_url().clone(),
                    via_gateway,
                    cloud_id,
                ),
                authenticated: std::sync::atomic::AtomicBool::new(false),
            }),
        })
    }
}
