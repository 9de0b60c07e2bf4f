//! The HTTP server: one entry point that counts, delays, injects faults,
//! authenticates, rate-limits, and hands REST calls to their handlers; the
//! admin API under `/_sim/` skips all of that but the routing.

// Handlers short-circuit with a ready answer (`Result<_, Response>`);
// boxing those answers would buy nothing.
#![allow(clippy::result_large_err)]

mod admin;
mod auth;
mod comments;
pub(crate) mod conn;
mod identity;
pub(crate) mod in_flight;
mod issues;
mod limits;
mod meta;
mod reply;
mod rest;
mod search;

use crate::captcha::LoginGuard;
use crate::faults::{DropMode, FaultAnswer, FaultEngine};
use crate::rate_limit::cloud::{CloudLimiter, Granted};
use crate::rate_limit::{RateLimiter, Take};
use crate::webhook::{Flow, Hub};
use crate::world::render::RenderCtx;
use crate::world::{ApiVersion, SimEvent, World};
use crate::{FrameworksFieldKind, SimClock, Workflow};
use auth::Auth;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use conn::ConnHandle;
use jira_model::Flavor;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::watch;

/// Largest request body read.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Shared state of a running simulator.
pub(crate) struct App {
    pub flavor: Flavor,
    pub base_url: String,
    pub latency: Duration,
    pub workflow: Workflow,
    pub kind: FrameworksFieldKind,
    pub world: Mutex<World>,
    pub faults: Mutex<FaultEngine>,
    pub limiter: Mutex<Option<RateLimiter>>,
    /// Cloud's burst and per-issue limits.
    pub cloud: Mutex<Option<CloudLimiter>>,
    /// Data Center's failed logins and CAPTCHA locks.
    pub logins: Mutex<LoginGuard>,
    /// OAuth access tokens, expired accounts, the points quota.
    pub tokens: Mutex<crate::tokens::Tokens>,
    /// Cloud: bad credentials are served as anonymous.
    pub anonymous_on_bad_credentials: bool,
    /// Transitions being executed, and how long each takes.
    pub in_flight: in_flight::InFlight,
    pub transition_hold: Duration,
    /// The simulator's own seeded randomness (429 bodies).
    pub rng: Mutex<rand::rngs::StdRng>,
    pub hub: Hub,
    pub clock: SimClock,
    pub counts: Mutex<BTreeMap<String, u64>>,
    pub total: AtomicU64,
    /// Requests refused by the rate limiter (not fault storms).
    pub rate_limited: AtomicU64,
    /// Requests the rate limiters judged, by `"METHOD /path"`: where Jira
    /// counts a request against its quota (admitted and refused alike).
    pub judged: Mutex<BTreeMap<String, crate::LimiterCount>>,
    pub shutdown: watch::Receiver<bool>,
}

/// Locks a mutex, taking over a poisoned one (state stays consistent: no
/// operation panics half-way).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl App {
    /// Rendering for `account` (times in its zone; UTC for none).
    pub fn render_for<'a>(
        &'a self,
        api: ApiVersion,
        account: Option<&'a crate::accounts::Account>,
    ) -> RenderCtx<'a> {
        let mut rc = self.render_ctx(api);
        rc.offset_minutes = account.map_or(0, |a| a.utc_offset_minutes);
        rc.reader = account;
        rc
    }

    pub fn render_ctx(&self, api: ApiVersion) -> RenderCtx<'_> {
        RenderCtx {
            offset_minutes: 0,
            reader: None,
            flavor: self.flavor,
            api,
            base: &self.base_url,
            workflow: &self.workflow,
            kind: self.kind,
        }
    }

    /// Sends webhooks for events: the issue event, and a comment event
    /// (`comment_created`, …) beside it when a comment changed.
    pub fn publish(&self, events: &[SimEvent]) {
        self.publish_in(events, Flow::Primary);
    }

    /// Sends webhooks for events in a given flow (bulk changes go out in
    /// the secondary flow).
    pub fn publish_in(&self, events: &[SimEvent], flow: Flow) {
        let rc = self.render_ctx(ApiVersion::V2);
        for ev in events {
            let body = crate::webhook::body(&rc, ev);
            self.hub.dispatch(ev.kind.as_str(), &body, flow);
            if let Some(kind) = &ev.comment_event {
                let body = crate::webhook::comment_body(&rc, ev, kind);
                self.hub.dispatch(kind.as_str(), &body, flow);
            }
        }
    }

    fn count(&self, method: &str, path: &str) {
        self.total.fetch_add(1, Ordering::SeqCst);
        *lock(&self.counts)
            .entry(format!("{method} {path}"))
            .or_insert(0) += 1;
    }

    /// Counts a request the rate limiters judged (`refused`: answered 429).
    fn judge(&self, method: &str, path: &str, refused: bool) {
        let mut judged = lock(&self.judged);
        let c = judged.entry(format!("{method} {path}")).or_default();
        if refused {
            c.refused += 1;
        } else {
            c.admitted += 1;
        }
    }

    pub fn reset(&self) {
        lock(&self.world).reset();
        lock(&self.faults).restart();
        if let Some(l) = lock(&self.limiter).as_mut() {
            l.reset();
        }
        if let Some(l) = lock(&self.cloud).as_mut() {
            l.reset();
        }
        lock(&self.logins).reset();
        lock(&self.tokens).reset();
        lock(&self.counts).clear();
        lock(&self.judged).clear();
        self.total.store(0, Ordering::SeqCst);
        self.rate_limited.store(0, Ordering::SeqCst);
        self.hub.clear_deliveries();
    }
}

/// Every request comes through here.
pub(crate) async fn entry(
    State(app): State<Arc<App>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return reply::json(
            413,
            &serde_json::json!({"errorMessages":["Request body too large."],"errors":{}}),
        );
    };
    let full_path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let method = parts.method.as_str().to_string();
    if full_path == "/_sim" || full_path.starts_with("/_sim/") {
        return admin::handle(&app, &method, &full_path, &bytes).await;
    }
    // Atlassian's API gateway: `/ex/jira/{cloudId}/rest/...` reaches the
    // site whose cloudId it names.
    let (path, gateway) = match full_path.strip_prefix("/ex/jira/") {
        Some(rest) if app.flavor == Flavor::Cloud => {
            let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
            if id != crate::tokens::CLOUD_ID {
                return reply::json(
                    404,
                    &serde_json::json!({"code": 404, "message": "Not Found - No resource found for cloudId"}),
                );
            }
            (format!("/{tail}"), true)
        }
        _ => (full_path.clone(), false),
    };
    app.count(&method, &full_path);
    if method == "GET" && path == "/_edge/tenant_info" && !gateway {
        return identity::tenant_info(&app, &path);
    }
    let token_path = match app.flavor {
        Flavor::Cloud => identity::CLOUD_TOKEN_PATH,
        Flavor::DataCenter => identity::DC_TOKEN_PATH,
    };
    if method == "POST" && path == token_path && !gateway {
        return identity::token(&app, &bytes);
    }
    let plan = lock(&app.faults).next();
    let html = lock(&app.faults).config().html_error_bodies;
    let delay = app.latency + plan.delay.unwrap_or_default();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some(answer) = plan.answer {
        return fault_answer(&app, answer, html);
    }
    let login = {
        let tokens = lock(&app.tokens);
        auth::authenticate_in(
            app.flavor,
            &parts.headers,
            auth::Context {
                gateway,
                tokens: &tokens,
                now: app.clock.now(),
            },
        )
    };
    let mut failed_login = false;
    let account = match login.auth {
        _ if login
            .basic_user
            .is_some_and(|u| lock(&app.logins).is_locked(u.name)) =>
        {
            return captcha_denied(&app);
        }
        // Scoped tokens and OAuth access tokens on the site URL: Jira
        // answers a plain 401, whatever it does for other bad credentials.
        Auth::GatewayOnly => return unauthorized(&app, false),
        Auth::Rejected => {
            if let Some(user) = login.basic_user {
                lock(&app.logins).failed(user.name);
            }
            if app.flavor == Flavor::Cloud && app.anonymous_on_bad_credentials {
                failed_login = true;
                None
            } else {
                return unauthorized(&app, true);
            }
        }
        Auth::Anonymous => None,
        Auth::Account(a) => {
            if login.basic_user.is_some() {
                lock(&app.logins).succeeded(a.name);
            }
            Some(a)
        }
    };
    // Cloud's points quota counts OAuth traffic (API tokens are exempt).
    let points = if login.oauth && app.flavor == Flavor::Cloud {
        lock(&app.tokens).take_point(app.clock.now())
    } else {
        None
    };
    if let Some(p) = points.filter(|p| p.refused) {
        app.rate_limited.fetch_add(1, Ordering::SeqCst);
        app.judge(&method, &path, true);
        return identity::quota_refusal(&app, p);
    }
    if method == "GET" && path == "/rest/auth/1/session" && app.flavor == Flavor::DataCenter {
        return match account {
            Some(a) => identity::session(&app, a),
            None => unauthorized(&app, false),
        };
    }
    let bucket = account.map_or("anonymous", |a| a.name);
    let now = app.clock.now();
    let taken = {
        let mut l = lock(&app.limiter);
        l.as_mut().map(|l| (l.take(bucket, now), l.limit()))
    };
    if let Some((Take::Limited { retry_after }, limit)) = taken {
        app.rate_limited.fetch_add(1, Ordering::SeqCst);
        app.judge(&method, &path, true);
        return rate_limited(&app, retry_after, limit, html);
    }
    let granted = match cloud_limits(&app, bucket, &method, &path, now) {
        Ok(g) => g,
        Err(resp) => {
            app.judge(&method, &path, true);
            return resp;
        }
    };
    app.judge(&method, &path, false);
    let (mut resp, committed) =
        rest::route(&app, account, failed_login, &method, &path, &query, &bytes).await;
    if plan.drop && committed {
        drop_answer(&app, &conn).await;
    }
    if let Some(g) = granted {
        limits::cloud_granted_headers(&mut resp, g);
    }
    if let Some((Take::Allowed { remaining }, limit)) = taken {
        match app.flavor {
            Flavor::DataCenter => limits::dc_headers(&mut resp, limit, remaining, 0),
            Flavor::Cloud => {
                if f64::from(remaining) < f64::from(limit.burst) * 0.2 {
                    reply::set_header(&mut resp, "X-RateLimit-NearLimit", "true");
                }
            }
        }
    }
    if let Some(p) = points {
        identity::quota_headers(&mut resp, p);
    }
    if failed_login {
        reply::set_header(&mut resp, "X-Seraph-LoginReason", "AUTHENTICATED_FAILED");
    }
    resp
}

/// Cloud's burst bucket and per-issue write limit: the burst bucket's
/// state when the request may go on, Jira's 429 when not.
fn cloud_limits(
    app: &App,
    bucket: &str,
    method: &str,
    path: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Granted>, Response> {
    if app.flavor != Flavor::Cloud {
        return Ok(None);
    }
    let issue_id = limits::issue_written(method, path)
        .and_then(|key| lock(&app.world).find(key).map(|i| i.id.clone()));
    let mut guard = lock(&app.cloud);
    let Some(cloud) = guard.as_mut() else {
        return Ok(None);
    };
    let share = cloud.limits().html_share;
    let refused = match cloud.burst(bucket, method, path, now) {
        Ok(granted) => match issue_id.map(|id| cloud.issue_write(&id, now)) {
            Some(Err(refusal)) => refusal,
            _ => return Ok(Some(granted)),
        },
        Err(refusal) => refusal,
    };
    drop(guard);
    let html = limits::html_429(app, share);
    Err(limits::cloud_refusal(app, &refused, html))
}

/// Kills the connection of a committed create, at once or after hanging.
async fn drop_answer(app: &App, conn: &ConnHandle) {
    let mode = lock(&app.faults).config().drop_mode;
    if let DropMode::Timeout { hang_ms } = mode {
        let mut shutdown = app.shutdown.clone();
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(hang_ms)) => {}
            _ = shutdown.wait_for(|s| *s) => {}
        }
    }
    conn.kill();
}

/// A 401 in the flavor's shape. `rejected`: credentials were sent and
/// refused (Data Center then answers its HTML page; Cloud adds
/// `X-Seraph-LoginReason`).
pub(crate) fn unauthorized(app: &App, rejected: bool) -> Response {
    match app.flavor {
        Flavor::Cloud => {
            let mut r = reply::text(
                401,
                "text/plain;charset=UTF-8",
                "Client must be authenticated to access this resource.".into(),
            );
            reply::set_header(&mut r, "WWW-Authenticate", "Basic realm=\"protected-area\"");
            if rejected {
                reply::set_header(&mut r, "X-Seraph-LoginReason", "AUTHENTICATED_FAILED");
            }
            r
        }
        Flavor::DataCenter if rejected => {
            // Jira Data Center's Seraph filter answers a failed login with
            // an HTML page (node-jira-client#314).
            let mut r = reply::text(
                401,
                "text/html;charset=UTF-8",
                "<html><head><title>Unauthorized (401)</title></head><body>\
                 <h1>Unauthorized (401)</h1>\
                 <p>Basic Authentication Failure - Reason : AUTHENTICATED_FAILED</p>\
                 </body></html>"
                    .into(),
            );
            reply::set_header(&mut r, "X-Seraph-LoginReason", "AUTHENTICATED_FAILED");
            reply::set_header(&mut r, "WWW-Authenticate", "Basic realm=\"protected-area\"");
            r
        }
        Flavor::DataCenter => reply::json(
            401,
            &serde_json::json!({"errorMessages":["You are not authenticated. Authentication required to perform this operation."],"errors":{}}),
        ),
    }
}

/// Data Center's answer to a login of an account locked behind a CAPTCHA.
fn captcha_denied(app: &App) -> Response {
    let mut r = reply::text(
        403,
        "text/html;charset=UTF-8",
        "<html><head><title>Forbidden (403)</title></head><body><h1>Forbidden (403)</h1>\
         <p>CAPTCHA_CHALLENGE: sign in through the web interface first.</p></body></html>"
            .into(),
    );
    reply::set_header(&mut r, "X-Seraph-LoginReason", "AUTHENTICATION_DENIED");
    reply::set_header(
        &mut r,
        "X-Authentication-Denied-Reason",
        &format!("CAPTCHA_CHALLENGE; login-url={}/login.jsp", app.base_url),
    );
    r
}

/// A 429 of the per-account bucket.
fn rate_limited(
    app: &App,
    retry_after: Duration,
    limit: crate::SimRateLimit,
    html: bool,
) -> Response {
    match app.flavor {
        Flavor::DataCenter => limits::dc_refusal(limit, retry_after),
        Flavor::Cloud => {
            let mut r = limit_body(html);
            let secs = limits::ceil_secs(retry_after);
            limits::cloud_refusal_headers(app, &mut r, "jira-burst-based", limit.burst, 1, secs);
            r
        }
    }
}

fn limit_body(html: bool) -> Response {
    if html {
        reply::html(429)
    } else {
        reply::json(
            429,
            &serde_json::json!({"errorMessages":["The request has been rate-limited. Please try again later."],"errors":{}}),
        )
    }
}

fn fault_answer(app: &App, answer: FaultAnswer, html: bool) -> Response {
    match answer {
        FaultAnswer::Storm { retry_after_secs } => {
            let secs = u64::from(retry_after_secs);
            match app.flavor {
                Flavor::Cloud => {
                    let mut r = limit_body(html);
                    limits::cloud_refusal_headers(
                        app,
                        &mut r,
                        "jira-quota-tenant-based",
                        100,
                        3600,
                        secs,
                    );
                    // A storm's own delay, zero included.
                    reply::set_header(&mut r, "Retry-After", &secs.to_string());
                    r
                }
                Flavor::DataCenter => {
                    let limit = crate::SimRateLimit::new(1, 100);
                    let mut r = limits::dc_refusal(limit, Duration::ZERO);
                    reply::set_header(&mut r, "Retry-After", &secs.to_string());
                    r
                }
            }
        }
        FaultAnswer::ServerError(code) if html => reply::html(code),
        FaultAnswer::ServerError(code) => {
            let message = match code {
                500 => "Internal server error",
                502 => "Bad gateway",
                _ => "Service unavailable",
            };
            reply::json(
                code,
                &serde_json::json!({"errorMessages":[message],"errors":{}}),
            )
        }
    }
}

/// Parses a JSON body into a value, or Jira's answer for bad JSON.
pub(crate) fn parse_body(bytes: &Bytes) -> Result<serde_json::Value, Response> {
    serde_json::from_slice(bytes)
        .map_err(|e| reply::error(crate::world::api_error::ApiError::bad_json(&e.to_string())))
}
