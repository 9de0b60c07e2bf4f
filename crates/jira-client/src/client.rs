//! The client handle: cheap to clone, every clone sharing one HTTP pool, one
//! rate limiter and one view of Jira's rate-limit state.

use crate::base_url::{BaseUrl, path_id};
use crate::builder::ClientBuilder;
use crate::classify::{Operation, decode};
use crate::time::{Clock, GovernorClock, Sleep};
use crate::transport::{Answer, Request};
use crate::{Auth, Error, RateLimit, RateLimitStatus, RequestBudget, RetryPolicy};
use jira_model::Flavor;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use url::Url;

pub(crate) type Limiter = governor::RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    GovernorClock,
    governor::middleware::NoOpMiddleware<Duration>,
>;

/// Shared slow-down state.
#[derive(Debug, Default)]
pub(crate) struct Pacing {
    /// No request starts before this monotonic time.
    pub(crate) hold_until: Duration,
    /// The rate-limit headers of the last answer that had any.
    pub(crate) last: Option<RateLimitStatus>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) base: BaseUrl,
    pub(crate) flavor: Flavor,
    pub(crate) auth: Arc<dyn Auth>,
    pub(crate) limiter: Option<Limiter>,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) budget: Option<Arc<dyn RequestBudget>>,
    pub(crate) retry: RetryPolicy,
    pub(crate) sleeper: Arc<dyn Sleep>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) pacing: Mutex<Pacing>,
    /// The whole-request timeout the HTTP client was built with.
    pub(crate) timeout: Option<Duration>,
    /// Site or API gateway, and the site's cloudId.
    pub(crate) routing: crate::gateway::Routing,
    /// Whether Jira accepted this client's credentials at least once (a
    /// later 401 then means they expired or were revoked).
    pub(crate) authenticated: std::sync::atomic::AtomicBool,
}

impl Inner {
    pub(crate) fn pacing(&self) -> MutexGuard<'_, Pacing> {
        self.pacing.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An authenticated, rate-limit-aware client of one Jira site.
///
/// Cloning is cheap; clones share the connection pool, the local quota and
/// the slow-down Jira asks for, so any number of tasks together stay under
/// the limit.
#[derive(Clone)]
pub struct JiraClient {
    pub(crate) inner: Arc<Inner>,
    /// Asked before every attempt of every request of this handle
    /// ([`JiraClient::gated`]); `None` for an ungated client.
    pub(crate) gate: Option<Arc<dyn crate::SendGate>>,
}

impl fmt::Debug for JiraClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JiraClient")
            .field("base_url", &self.inner.base.as_url().as_str())
            .field("flavor", &self.inner.flavor)
            .field("auth", &self.inner.auth)
            .field("via_gateway", &self.inner.routing.via_gateway())
            .field("rate_limit", &self.inner.rate_limit)
            .field("budget", &self.inner.budget)
            .field("retry", &self.inner.retry)
            .field("gated", &self.gate.is_some())
            .finish_non_exhaustive()
    }
}

/// Whether a call may be repeated after it may have taken effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Reads, edits, deletes, searches.
    Idempotent,
    /// Creates, comments, transitions.
    NotIdempotent,
    /// Creates issues (403 means `issue_create_forbidden`).
    CreatesIssues,
}

impl JiraClient {
    /// Starts a builder; see [`ClientBuilder`].
    pub fn builder(base_url: &str, flavor: Flavor, auth: impl Auth + 'static) -> ClientBuilder {
        ClientBuilder::new(base_url, flavor, auth)
    }

    /// The clock the client reads (set by [`ClientBuilder::clock`]); the
    /// sync engine built on this client reads it too unless given its own.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The deployment this client speaks to.
    pub fn flavor(&self) -> Flavor {
        self.inner.flavor
    }

    /// The whole-request timeout of each attempt (`None` when built
    /// [`without_timeouts`](crate::ClientBuilder::without_timeouts)); a
    /// gated client ([`JiraClient::gated`]) may cut it shorter.
    pub fn request_timeout(&self) -> Option<Duration> {
        self.inner.timeout
    }

    /// The normalised base URL (no trailing slash).
    pub fn base_url(&self) -> &Url {
        self.inner.base.as_url()
    }

    /// The kind of credentials this client sends.
    pub fn credential_kind(&self) -> crate::CredentialKind {
        self.inner.auth.kind()
    }

    /// Whether requests go through Atlassian's API gateway (from the start
    /// for scoped tokens and Cloud OAuth; after the first 401 of the site
    /// for a classic API token that is really a scoped one).
    pub fn uses_gateway(&self) -> bool {
        self.inner.routing.via_gateway()
    }

    /// The site's cloudId, once known (configured, or discovered for the
    /// gateway).
    pub fn cloud_id(&self) -> Option<&str> {
        self.inner.routing.cloud_id()
    }

    /// Reads the site's cloudId from `{site}/_edge/tenant_info` (once per
    /// client; later calls answer the kept value).
    ///
    /// # Errors
    /// `not_cloud` when the site is not a Jira Cloud site; `transport`,
    /// `timeout`, `server` or `url_refused` when it cannot be asked.
    pub async fn discover_cloud_id(&self) -> Result<String, Error> {
        if let Some(id) = self.inner.routing.cloud_id() {
            return Ok(id.to_string());
        }
        if self.inner.flavor != Flavor::Cloud {
            return Err(Error::new(
                crate::ErrorKind::NotCloud,
                "a Data Center Jira has no cloudId",
            ));
        }
        let id = crate::gateway::discover(&self.inner.http, self.inner.base.as_url()).await?;
        Ok(self.inner.routing.remember(id).to_string())
    }

    /// Where REST calls go now: the site's base URL, or
    /// `{gateway}/ex/jira/{cloudId}` through the gateway (the gateway's
    /// root while the cloudId is not known yet).
    pub fn api_base_url(&self) -> Url {
        let routing = &self.inner.routing;
        if !routing.via_gateway() {
            return self.inner.base.as_url().clone();
        }
        match routing.cloud_id() {
            Some(id) => routing.rebase(self.inner.base.as_url(), self.inner.base.as_url(), id),
            None => routing.gateway.clone(),
        }
    }

    /// The rate-limit headers of the last Jira answer that carried any.
    pub fn rate_limit_status(&self) -> Option<RateLimitStatus> {
        self.inner.pacing().last.clone()
    }

    /// A request to `/rest/api/{2|3}/{segments}`. Segments that come from
    /// the caller must have passed [`path_id`].
    pub(crate) fn request(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        query: &[(&str, &str)],
        effect: Effect,
        body: Option<&dyn erased::Body>,
    ) -> Result<Request, Error> {
        let mut url = self
            .inner
            .base
            .endpoint(self.inner.flavor.api_version(), segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let op = Operation {
            method,
            path: url.path().to_string(),
            create: effect == Effect::CreatesIssues,
            idempotent: effect == Effect::Idempotent,
        };
        let body = body
            .map(|b| {
                b.to_json().map_err(|e| {
                    Error::invalid_input(format!("the request body cannot be serialised: {e}"))
                        .with_request(op.label())
                })
            })
            .transpose()?;
        Ok(Request {
            op,
            url,
            body,
            accept: &[],
            gate: self.gate.clone(),
        })
    }

    /// Sends and decodes the JSON answer.
    pub(crate) async fn fetch<T: DeserializeOwned>(&self, request: Request) -> Result<T, Error> {
        let answer = self.inner.execute(&request).await?;
        self.decode(&request, &answer)
    }

    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        request: &Request,
        answer: &Answer,
    ) -> Result<T, Error> {
        decode(&request.op, &answer.headers, &answer.body, &answer.redactor)
            .map_err(|e| e.with_status(answer.status))
    }

    /// Sends and ignores the answer's body.
    pub(crate) async fn send(&self, request: Request) -> Result<(), Error> {
        self.inner.execute(&request).await.map(|_| ())
    }

    pub(crate) fn id<'a>(&self, what: &str, value: &'a str) -> Result<&'a str, Error> {
        path_id(what, value)
    }
}

/// Object-safe serialisation of request bodies.
pub(crate) mod erased {
    /// A serialisable request body.
    pub(crate) trait Body {
        fn to_json(&self) -> Result<Vec<u8>, serde_json::Error>;
    }
    impl<T: super::Serialize> Body for T {
        fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
            serde_json::to_vec(self)
        }
    }
}
