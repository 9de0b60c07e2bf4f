//! Sending one logical request: wait for the quota and any slow-down, attach
//! credentials (only for the configured origin), follow same-origin
//! redirects, read a bounded body, classify, and retry per the policy.

use crate::auth::CredentialKind;
use crate::classify::{Operation, classify};
use crate::client::Inner;
use crate::error::{Error, ErrorKind};
use crate::rate_limit::{NEAR_LIMIT_PAUSE, RateLimitStatus};
use crate::redact::Redactor;
use jira_model::Flavor;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use url::Url;

/// Most redirects followed for one request (same origin only).
const MAX_REDIRECTS: usize = 5;
/// Largest answer body read, in bytes.
pub(crate) const MAX_BODY: usize = 32 * 1024 * 1024;
/// Guard against a clock that does not advance with the sleeper.
const MAX_THROTTLE_ROUNDS: usize = 1000;

/// One logical request.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) op: Operation,
    pub(crate) url: Url,
    pub(crate) body: Option<Vec<u8>>,
    /// Error statuses handed back to the caller as answers instead of errors
    /// (bulk create reads its 400 body itself).
    pub(crate) accept: &'static [u16],
    /// The caller's gate, asked before each attempt ([`crate::SendGate`]).
    pub(crate) gate: Option<std::sync::Arc<dyn crate::SendGate>>,
}

/// Jira's answer.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    /// The secrets of the request, for scrubbing errors built from the body.
    pub(crate) redactor: Redactor,
    /// The `Authorization` header sent, for [`crate::Auth::rejected`].
    pub(crate) credential: SecretString,
}

impl Inner {
    /// Sends `request`, retrying per the policy.
    pub(crate) async fn execute(&self, request: &Request) -> Result<Answer, Error> {
        let max_attempts = self.retry.max_attempts.get();
        let mut waited = Duration::ZERO;
        let mut attempt: u32 = 0;
        // A 401 is answered at most once by a fresh token and at most once
        // by trying the gateway: never a loop.
        let mut refreshed = false;
        let mut probing = false;
        let mut site_refusal: Option<Error> = None;
        loop {
            attempt += 1;
            self.throttle().await;
            // Asked after every wait, immediately before the attempt: a
            // claim lost while waiting for the quota stops the write here.
            let budget = match &request.gate {
                None => None,
                Some(gate) => match gate.admit().await {
                    Ok(budget) => Some(budget),
                    Err(closed) => {
                        return Err(Error::new(
                            ErrorKind::Withheld,
                            format!("not sent: {}", closed.reason),
                        )
                        .with_request(request.op.label())
                        .with_attempts(attempt));
                    }
                },
            };
            let timeout = match (budget, self.timeout) {
                (Some(b), Some(t)) => Some(b.min(t)),
                (b, t) => b.or(t),
            };
            let started = std::time::Instant::now();
            let sent = match self.target(&request.url, probing).await {
                Ok(url) => self.send_once(request, &url, timeout).await,
                Err(e) => Err(e),
            };
            crate::metrics::request(
                &request.op,
                sent.as_ref().ok().map(|a| a.status),
                started.elapsed(),
            );
            let error = match sent {
                Ok(answer) => {
                    self.observe(answer.status, &answer.headers);
                    let verdict = if request.accept.contains(&answer.status) {
                        None
                    } else {
                        classify(
                            &request.op,
                            answer.status,
                            &answer.headers,
                            &answer.body,
                            self.clock.now(),
                            &answer.redactor,
                        )
                    };
                    match verdict {
                        None => {
                            self.accepted(probing);
                            return Ok(answer);
                        }
                        Some(e) if answer.status == 401 => {
                            if !refreshed && self.auth.rejected(&answer.credential).await {
                                refreshed = true;
                                tracing::debug!(request = %request.op.label(), "Jira refused the access token; fetching a new one");
                                continue;
                            }
                            if !probing && self.may_probe_gateway() {
                                probing = true;
                                site_refusal = Some(e);
                                continue;
                            }
                            self.refusal(e, refreshed, probing)
                        }
                        Some(e) => e,
                    }
                }
                Err(e) => e,
            };
            // A probe of the gateway that did not answer 401 tells nothing:
            // the site's refusal stands.
            let error = match site_refusal.take() {
                Some(site) if probing && error.kind() != ErrorKind::Unauthorized => {
                    // Not an attempt of the caller's request.
                    attempt -= 1;
                    self.refusal(site, refreshed, false)
                }
                _ => error,
            };
            probing = false;
            let error = error.with_attempts(attempt);
            let repeatable = request.op.idempotent || !error.may_have_been_sent();
            // A conflict is the caller's to retry: the issue may have moved,
            // so the same request could now be the wrong one.
            let caller_retries = error.kind() == ErrorKind::Conflict;
            if !error.is_retryable() || !repeatable || caller_retries || attempt >= max_attempts {
                return Err(error);
            }
            let delay = match error.retry_after() {
                Some(d) => d,
                None => self.retry.backoff(attempt, self.clock.jitter()),
            };
            let total = waited.saturating_add(delay);
            if total > self.retry.max_total_wait {
                tracing::debug!(
                    request = %request.op.label(),
                    code = error.code(),
                    delay_ms = delay.as_millis() as u64,
                    "not retrying: the wait would exceed the retry budget"
                );
                return Err(error);
            }
            waited = total;
            crate::metrics::retry(error.code());
            // Jira's per-issue write limit concerns one issue: only this
            // request waits; requests for other issues go on.
            if error.kind() == ErrorKind::RateLimited && !error.is_per_issue_limit() {
                self.hold_all(delay);
            }
            tracing::debug!(
                request = %request.op.label(),
                code = error.code(),
                attempt,
                delay_ms = delay.as_millis() as u64,
                "retrying"
            );
            self.sleeper.sleep(delay).await;
        }
    }

    /// The URL of this attempt: the site's, or the gateway's (with the
    /// cloudId, discovered once) when the credentials need it or this
    /// attempt probes it.
    async fn target(&self, url: &url::Url, probing: bool) -> Result<url::Url, Error> {
        if !self.base.same_origin(url) {
            return Err(Error::config(
                "a request was addressed outside the configured Jira; nothing was sent",
            ));
        }
        if !(probing || self.routing.via_gateway()) {
            return Ok(url.clone());
        }
        let id = match self.routing.cloud_id() {
            Some(id) => id.to_string(),
            None => {
                let id = crate::gateway::discover(&self.http, self.base.as_url()).await?;
                self.routing.remember(id).to_string()
            }
        };
        Ok(self.routing.rebase(self.base.as_url(), url, &id))
    }

    /// Jira accepted the credentials (on the gateway, when probing).
    fn accepted(&self, probing: bool) {
        if probing {
            self.routing.switch_to_gateway();
            tracing::warn!(
                "the API token is refused on the site but accepted through Atlassian's API gateway: \
                 it is a scoped (service-account) token; requests now go through the gateway \
                 (configure auth = \"scoped_token\" to skip the refused first request)"
            );
        }
        self.authenticated
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether a 401 of the site may be retried through the gateway: a
    /// classic Cloud API token that may really be a scoped one, tried once
    /// per client.
    fn may_probe_gateway(&self) -> bool {
        self.flavor == Flavor::Cloud
            && self.auth.kind() == CredentialKind::ApiToken
            && !self.routing.via_gateway()
            && self.routing.start_probe()
    }

    /// The final error of a 401: what the person should do about it.
    fn refusal(&self, error: Error, refreshed: bool, probed: bool) -> Error {
        let kind = self.auth.kind();
        if !refreshed && self.authenticated.load(std::sync::atomic::Ordering::SeqCst) {
            return error.rekind(
                ErrorKind::TokenExpired,
                format!(
                    "Jira rejected the {} it accepted earlier from this client: it expired or was revoked",
                    kind_name(kind)
                ),
            );
        }
        let message = match kind {
            CredentialKind::ApiToken if probed => {
                "Jira rejected the API token on the site and through the API gateway: check the service account's e-mail and the token; tokens also stop working when they expire (at most a year since December 2024)"
            }
            CredentialKind::ApiToken => {
                "Jira rejected the API token: check the service account's e-mail and the token; tokens also stop working when they expire (at most a year since December 2024)"
            }
            CredentialKind::ScopedToken => {
                "Jira rejected the scoped API token through the API gateway: check the service account's e-mail, the token and its scopes; tokens also stop working when they expire"
            }
            CredentialKind::OAuthClientCredentials => {
                "Jira rejected a freshly issued OAuth access token: check that the service account's OAuth credentials have Jira scopes and access to this site"
            }
            CredentialKind::PersonalAccessToken => {
                "Jira rejected the personal access token: check it, and that it has not expired"
            }
            _ => return error,
        };
        error.rekind(ErrorKind::Unauthorized, message)
    }

    /// Holds every request of every clone for `delay`.
    fn hold_all(&self, delay: Duration) {
        let until = self.clock.monotonic().saturating_add(delay);
        let mut p = self.pacing();
        p.hold_until = p.hold_until.max(until);
    }

    /// Waits for the shared slow-down and the local quota, then for this
    /// attempt's slot in the shared budget, if there is one.
    async fn throttle(&self) {
        self.throttle_locally().await;
        let Some(budget) = &self.budget else {
            return;
        };
        match budget.reserve().await {
            Ok(wait) if wait.is_zero() => {}
            Ok(wait) => {
                self.sleeper.sleep(wait).await;
                // A 429 seen meanwhile holds this slot's request too.
                self.wait_for_hold().await;
            }
            Err(e) => tracing::warn!(
                error = %e,
                "sending under the local quota only"
            ),
        }
    }

    /// Waits until no slow-down holds requests.
    async fn wait_for_hold(&self) {
        for _ in 0..MAX_THROTTLE_ROUNDS {
            let now = self.clock.monotonic();
            let hold = self.pacing().hold_until;
            if hold <= now {
                return;
            }
            self.sleeper.sleep(hold - now).await;
        }
    }

    /// Waits for the shared slow-down and the local quota.
    async fn throttle_locally(&self) {
        for _ in 0..MAX_THROTTLE_ROUNDS {
            let now = self.clock.monotonic();
            let hold = self.pacing().hold_until;
            if hold > now {
                self.sleeper.sleep(hold - now).await;
                continue;
            }
            if let Some(limiter) = &self.limiter
                && let Err(not_until) = limiter.check()
            {
                let wait = not_until.wait_time_from(self.clock.monotonic());
                self.sleeper.sleep(wait).await;
                continue;
            }
            return;
        }
        tracing::warn!("the clock does not advance with the sleeper; sending without waiting");
    }

    /// Records the rate-limit headers and slows down when Jira says the
    /// quota is nearly spent.
    fn observe(&self, status: u16, headers: &HeaderMap) {
        let now = self.clock.now();
        let Some(limits) = RateLimitStatus::from_headers(headers, now) else {
            return;
        };
        // With a local quota, the fallback pause is one of its tokens.
        let fallback = self.rate_limit.map_or(NEAR_LIMIT_PAUSE, |r| {
            Duration::from_secs(1) / r.per_second.get()
        });
        let pause = if status < 400 {
            limits
                .pacing_delay_or(now, fallback)
                .map(|d| d.min(self.retry.max_backoff))
        } else {
            None
        };
        let monotonic = self.clock.monotonic();
        let mut p = self.pacing();
        if let Some(pause) = pause {
            tracing::debug!(
                pause_ms = pause.as_millis() as u64,
                "Jira is near its rate limit; slowing down"
            );
            p.hold_until = p.hold_until.max(monotonic.saturating_add(pause));
        }
        p.last = Some(limits);
    }

    /// One attempt: send, following same-origin redirects, within
    /// `timeout` in all (the client's, or less when a gate cut it).
    async fn send_once(
        &self,
        request: &Request,
        url: &url::Url,
        timeout: Option<Duration>,
    ) -> Result<Answer, Error> {
        let Some(timeout) = timeout else {
            return self.send_attempt(request, url).await;
        };
        match tokio::time::timeout(timeout, self.send_attempt(request, url)).await {
            Ok(answer) => answer,
            // The whole attempt, redirects and body included, ran out of
            // time: the request may have reached Jira.
            Err(_) => Err(
                Error::new(ErrorKind::Timeout, "Jira did not answer in time")
                    .with_request(request.op.label())
                    .sent(true),
            ),
        }
    }

    /// One attempt without a deadline of its own.
    async fn send_attempt(&self, request: &Request, target: &url::Url) -> Result<Answer, Error> {
        let op = &request.op;
        let secret = self
            .auth
            .authorization()
            .await
            .map_err(|e| e.with_request(op.label()))?;
        let redactor = Redactor::new(Some(&secret), self.auth.secrets());
        let mut auth = HeaderValue::from_str(secret.expose_secret()).map_err(|_| {
            Error::credentials("the credentials contain characters not allowed in an HTTP header")
                .with_request(op.label())
        })?;
        auth.set_sensitive(true);
        let credential = secret;

        // Credentials go only to the origin this attempt was addressed to:
        // the configured site, or the configured gateway.
        let origin = target.origin();
        let mut url = target.clone();
        let mut method = op.method.clone();
        let mut body = request.body.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut builder = self
                .http
                .request(method.clone(), url.clone())
                .header(AUTHORIZATION, auth.clone())
                .header(ACCEPT, "application/json");
            if let Some(b) = &body {
                builder = builder
                    .header(CONTENT_TYPE, "application/json")
                    .body(b.clone());
            }
            let response = builder
                .send()
                .await
                .map_err(|e| transport_error(op, e, false))?;
            let status = response.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok());
                if let Some(location) = location {
                    let target = url.join(location).map_err(|_| {
                        Error::new(
                            ErrorKind::Redirect,
                            "Jira redirected to an unreadable location",
                        )
                        .with_request(op.label())
                        .with_status(status.as_u16())
                    })?;
                    if target.origin() != origin {
                        return Err(Error::new(
                            ErrorKind::Redirect,
                            format!(
                                "Jira redirected to another origin ({}); credentials are never sent there",
                                target.origin().ascii_serialization()
                            ),
                        )
                        .with_request(op.label())
                        .with_status(status.as_u16()));
                    }
                    match status.as_u16() {
                        307 | 308 => {}
                        301..=303 if method == Method::GET || method == Method::HEAD => {}
                        _ => {
                            return Err(Error::new(
                                ErrorKind::Redirect,
                                format!(
                                    "Jira answered a {method} with a redirect that would turn it into a GET"
                                ),
                            )
                            .with_request(op.label())
                            .with_status(status.as_u16()));
                        }
                    }
                    if status.as_u16() == 303 {
                        method = Method::GET;
                        body = None;
                    }
                    tracing::debug!(request = %op.label(), to = target.path(), "following a same-origin redirect");
                    url = target;
                    continue;
                }
            }
            let headers = response.headers().clone();
            let body = read_body(op, response).await?;
            return Ok(Answer {
                status: status.as_u16(),
                headers,
                body,
                redactor,
                credential,
            });
        }
        Err(
            Error::new(ErrorKind::Redirect, "Jira redirected too many times")
                .with_request(op.label()),
        )
    }
}

fn kind_name(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::ApiToken => "API token",
        CredentialKind::ScopedToken => "scoped API token",
        CredentialKind::OAuthClientCredentials => "OAuth access token",
        CredentialKind::PersonalAccessToken => "personal access token",
        _ => "credentials",
    }
}

/// Reads the body, at most [`MAX_BODY`] bytes.
async fn read_body(op: &Operation, mut response: reqwest::Response) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(op, e, true))?
    {
        if out.len() + chunk.len() > MAX_BODY {
            return Err(Error::new(
                ErrorKind::Decode,
                format!(
                    "Jira's answer is larger than {} MiB",
                    MAX_BODY / (1024 * 1024)
                ),
            )
            .with_request(op.label())
            .sent(true));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Maps a reqwest failure. The URL (and so any query) is removed from the
/// source before it is kept.
fn transport_error(op: &Operation, e: reqwest::Error, reading_body: bool) -> Error {
    // The resolver refused every address of the host: nothing was sent,
    // and a retry would be refused the same way.
    if let Some(refusal) = crate::url_policy::Refusal::find(&e) {
        return refusal
            .clone()
            .into_error()
            .with_request(op.label())
            .sent(false);
    }
    let (kind, message, sent) = if e.is_timeout() {
        if e.is_connect() {
            (
                ErrorKind::Timeout,
                "could not connect to Jira in time",
                false,
            )
        } else {
            (ErrorKind::Timeout, "Jira did not answer in time", true)
        }
    } else if e.is_connect() {
        (ErrorKind::Transport, "could not connect to Jira", false)
    } else if e.is_builder() {
        (ErrorKind::Config, "the request could not be built", false)
    } else {
        (
            ErrorKind::Transport,
            "the connection to Jira failed during the request",
            true,
        )
    };
    Error::new(kind, message)
        .with_request(op.label())
        .sent(sent || reading_body)
        .with_source(e.without_url())
}
