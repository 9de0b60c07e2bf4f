//! The HTTP server: one entry point that counts, delays, injects faults,
//! authenticates, rate-limits, and hands REST calls to their handlers; the
//! admin API under `/_sim/` skips all of that but the routing.

// Handlers short-circuit with a ready answer (`Result<_, Response>`);
// boxing those answers would buy nothing.
#![allow(clippy::result_large_err)]

mod admin;
mod auth;
pub(crate) mod conn;
mod issues;
mod meta;
mod reply;
mod rest;
mod search;

use crate::faults::{DropMode, FaultAnswer, FaultEngine};
use crate::rate_limit::{RateLimiter, Take};
use crate::webhook::Hub;
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
    pub hub: Hub,
    pub clock: SimClock,
    pub counts: Mutex<BTreeMap<String, u64>>,
    pub total: AtomicU64,
    /// Requests refused by the rate limiter (not fault storms).
    pub rate_limited: AtomicU64,
    pub shutdown: watch::Receiver<bool>,
}

/// Locks a mutex, taking over a poisoned one (state stays consistent: no
/// operation panics half-way).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl App {
    pub fn render_ctx(&self, api: ApiVersion) -> RenderCtx<'_> {
        RenderCtx {
            flavor: self.flavor,
            api,
            base: &self.base_url,
            workflow: &self.workflow,
            kind: self.kind,
        }
    }

    /// Sends webhooks for events.
    pub fn publish(&self, events: &[SimEvent]) {
        let rc = self.render_ctx(ApiVersion::V2);
        for ev in events {
            let body = crate::webhook::body(&rc, ev);
            self.hub.dispatch(ev.kind.as_str(), &body);
        }
    }

    fn count(&self, method: &str, path: &str) {
        self.total.fetch_add(1, Ordering::SeqCst);
        *lock(&self.counts)
            .entry(format!("{method} {path}"))
            .or_insert(0) += 1;
    }

    pub fn reset(&self) {
        lock(&self.world).reset();
        lock(&self.faults).restart();
        if let Some(l) = lock(&self.limiter).as_mut() {
            l.reset();
        }
        lock(&self.counts).clear();
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
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let method = parts.method.as_str().to_string();
    if path == "/_sim" || path.starts_with("/_sim/") {
        return admin::handle(&app, &method, &path, &bytes).await;
    }
    app.count(&method, &path);
    let plan = lock(&app.faults).next();
    let html = lock(&app.faults).config().html_error_bodies;
    let delay = app.latency + plan.delay.unwrap_or_default();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some(answer) = plan.answer {
        return fault_answer(&app, answer, html);
    }
    let account = match auth::authenticate(app.flavor, &parts.headers) {
        Auth::Rejected => return unauthorized(&app, true),
        Auth::Anonymous => None,
        Auth::Account(a) => Some(a),
    };
    let bucket = account.map_or("anonymous", |a| a.name);
    let taken = {
        let now = app.clock.now();
        let mut l = lock(&app.limiter);
        l.as_mut().map(|l| (l.take(bucket, now), l.limit()))
    };
    if let Some((Take::Limited { retry_after }, limit)) = taken {
        app.rate_limited.fetch_add(1, Ordering::SeqCst);
        return rate_limited(&app, retry_after, limit, html);
    }
    let (mut resp, committed) = rest::route(&app, account, &method, &path, &query, &bytes).await;
    if plan.drop && committed {
        drop_answer(&app, &conn).await;
    }
    if let Some((Take::Allowed { remaining }, limit)) = taken {
        match app.flavor {
            Flavor::DataCenter => dc_limit_headers(&mut resp, limit, remaining),
            Flavor::Cloud => {
                if f64::from(remaining) < f64::from(limit.burst) * 0.2 {
                    reply::set_header(&mut resp, "X-RateLimit-NearLimit", "true");
                }
            }
        }
    }
    resp
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

pub(crate) fn unauthorized(app: &App, rejected: bool) -> Response {
    match app.flavor {
        Flavor::Cloud => reply::text(
            401,
            "text/plain;charset=UTF-8",
            "Client must be authenticated to access this resource.".into(),
        ),
        Flavor::DataCenter => {
            let mut r = reply::json(
                401,
                &serde_json::json!({"errorMessages":["You are not authenticated. Authentication required to perform this operation."],"errors":{}}),
            );
            if rejected {
                reply::set_header(&mut r, "X-Seraph-LoginReason", "AUTHENTICATED_FAILED");
            }
            r
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    let s = d.as_secs();
    if d.subsec_nanos() > 0 { s + 1 } else { s }
}

fn rate_limited(
    app: &App,
    retry_after: Duration,
    limit: crate::SimRateLimit,
    html: bool,
) -> Response {
    let mut r = limit_body(html);
    let secs = ceil_secs(retry_after);
    reply::set_header(&mut r, "Retry-After", &secs.to_string());
    match app.flavor {
        Flavor::Cloud => cloud_limit_headers(app, &mut r, limit.burst, secs, "jira-burst-based"),
        Flavor::DataCenter => dc_limit_headers(&mut r, limit, 0),
    }
    r
}

fn limit_body(html: bool) -> Response {
    if html {
        reply::html(429)
    } else {
        reply::json(
            429,
            &serde_json::json!({"errorMessages":["Rate limit exceeded."],"errors":{}}),
        )
    }
}

fn cloud_limit_headers(app: &App, r: &mut Response, limit: u32, secs: u64, reason: &str) {
    let reset = app.clock.now() + chrono::Duration::seconds(i64::try_from(secs).unwrap_or(0));
    reply::set_header(r, "X-RateLimit-Limit", &limit.to_string());
    reply::set_header(r, "X-RateLimit-Remaining", "0");
    reply::set_header(
        r,
        "X-RateLimit-Reset",
        &reset.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    );
    reply::set_header(r, "X-RateLimit-NearLimit", "true");
    reply::set_header(r, "RateLimit-Reason", reason);
}

fn dc_limit_headers(r: &mut Response, limit: crate::SimRateLimit, remaining: u32) {
    reply::set_header(r, "X-RateLimit-Limit", &limit.burst.to_string());
    reply::set_header(r, "X-RateLimit-Remaining", &remaining.to_string());
    reply::set_header(r, "X-RateLimit-Interval-Seconds", "1");
    reply::set_header(r, "X-RateLimit-FillRate", &limit.per_second.to_string());
}

fn fault_answer(app: &App, answer: FaultAnswer, html: bool) -> Response {
    match answer {
        FaultAnswer::Storm { retry_after_secs } => {
            let mut r = limit_body(html);
            reply::set_header(&mut r, "Retry-After", &retry_after_secs.to_string());
            match app.flavor {
                Flavor::Cloud => cloud_limit_headers(
                    app,
                    &mut r,
                    100,
                    u64::from(retry_after_secs),
                    "jira-quota-tenant-based",
                ),
                Flavor::DataCenter => {
                    dc_limit_headers(&mut r, crate::SimRateLimit::new(1, 100), 0);
                }
            }
            r
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
