//! A ready axum route for Jira webhooks (feature `axum`): the gate, then
//! inbound processing, answering Jira the status each outcome calls for.

use super::{HttpWebhookRequest, WebhookGate};
use crate::Inbound;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::net::SocketAddr;
use std::sync::Arc;

/// Where the route is mounted unless [`WebhookRoute::mount`] says otherwise.
pub const DEFAULT_MOUNT: &str = "/webhooks/jira";

/// How long a request may take to send its body, unless
/// [`WebhookRoute::body_deadline`] says otherwise: Jira sends a few
/// kilobytes at once; a client still sending after this is cut off (408).
pub const DEFAULT_BODY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// Requests handled at once, unless [`WebhookRoute::max_in_flight`] says
/// otherwise; more are answered 503 at once (Jira retries).
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// The limits every webhook route applies before a body is processed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Admission {
    pub(super) body_deadline: std::time::Duration,
    pub(super) max_in_flight: usize,
}

impl Default for Admission {
    fn default() -> Self {
        Self {
            body_deadline: DEFAULT_BODY_DEADLINE,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

/// What the route did with one request, for logs and metrics. Serialises as
/// `{"delivery","issue","finding","from","to","outcome","reason","status"}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct WebhookLog {
    /// `X-Atlassian-Webhook-Identifier`, when sent (at most 128 characters).
    pub delivery: Option<String>,
    /// The issue key.
    pub issue: Option<String>,
    /// The finding.
    pub finding: Option<String>,
    /// The finding's state before.
    pub from: Option<&'static str>,
    /// The state Jira asked for.
    pub to: Option<&'static str>,
    /// `applied`, `ignored`, `failed` or `rejected`.
    pub outcome: &'static str,
    /// The inbound reason or the rejection's code.
    pub reason: &'static str,
    /// The HTTP status answered.
    pub status: u16,
}

type Observer = Arc<dyn Fn(&WebhookLog) + Send + Sync>;

/// The route: `POST {mount}` (secret in `?secret=`) and
/// `POST {mount}/{secret}`. Cheap to refuse: the source address, the URL
/// secret and a declared `Content-Length` are checked before the body is
/// read ([`WebhookGate::check_before_body`]); the body is then read within
/// the gate's size limit (413) and a deadline (408); at most
/// [`DEFAULT_MAX_IN_FLIGHT`] requests are handled at once (503 beyond).
/// Serve it with a header-read timeout too (hyper's, when the server
/// offers one): a client that never finishes its headers never reaches
/// the route.
///
/// The peer address comes from axum's `ConnectInfo`: serve the app with
/// `into_make_service_with_connect_info::<SocketAddr>()`.
///
/// ```no_run
/// # async fn run(gate: penaxtra_jira_sync::webhook::WebhookGate, inbound: penaxtra_jira_sync::Inbound) -> std::io::Result<()> {
/// use penaxtra_jira_sync::webhook::WebhookRoute;
/// use std::net::SocketAddr;
///
/// let app = axum::Router::new().merge(WebhookRoute::new(gate, inbound).router());
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:8443").await?;
/// axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
/// # }
/// ```
pub struct WebhookRoute {
    gate: WebhookGate,
    inbound: Inbound,
    mount: String,
    observer: Option<Observer>,
    admission: Admission,
}

impl std::fmt::Debug for WebhookRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRoute")
            .field("mount", &self.mount)
            .field("inbound", &self.inbound)
            .finish_non_exhaustive()
    }
}

struct Shared {
    gate: WebhookGate,
    inbound: Inbound,
    mount: String,
    observer: Option<Observer>,
    admission: Admission,
    in_flight: Arc<tokio::sync::Semaphore>,
}

impl WebhookRoute {
    /// The route for this gate and inbound processing, at [`DEFAULT_MOUNT`].
    pub fn new(gate: WebhookGate, inbound: Inbound) -> Self {
        Self {
            gate,
            inbound,
            mount: DEFAULT_MOUNT.to_string(),
            observer: None,
            admission: Admission::default(),
        }
    }

    /// How long a client may take to send its body (default
    /// [`DEFAULT_BODY_DEADLINE`]).
    pub fn body_deadline(mut self, deadline: std::time::Duration) -> Self {
        self.admission.body_deadline = deadline;
        self
    }

    /// How many requests are handled at once (default
    /// [`DEFAULT_MAX_IN_FLIGHT`], at least one); more are answered 503.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.admission.max_in_flight = n.max(1);
        self
    }

    /// Mounts it at `path` (default [`DEFAULT_MOUNT`]).
    pub fn mount(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.mount = format!("/{}", path.trim_matches('/'));
        self
    }

    /// Calls `observer` after each request with what was done (default:
    /// none; every outcome is also traced).
    pub fn on_request(mut self, observer: impl Fn(&WebhookLog) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// The axum router.
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> axum::Router<S> {
        // One byte over the gate's limit still reaches the gate, which
        // answers 413 with its own reason; more is cut off while reading.
        let limit = self.gate.max_body_bytes().saturating_add(1);
        let mount = self.mount.clone();
        let shared = Arc::new(Shared {
            gate: self.gate,
            inbound: self.inbound,
            mount: self.mount,
            observer: self.observer,
            in_flight: Arc::new(tokio::sync::Semaphore::new(self.admission.max_in_flight)),
            admission: self.admission,
        });
        axum::Router::new()
            .route(&mount, post(receive))
            .route(&format!("{mount}/{{secret}}"), post(receive))
            .layer(DefaultBodyLimit::max(limit))
            .with_state(shared)
    }
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> StatusCode {
    let (parts, body) = request.into_parts();
    let delivery = delivery_of(&parts.headers);
    let log = match admit(
        &shared.gate,
        &shared.in_flight,
        shared.admission,
        peer,
        &parts,
        body,
        &shared.mount,
    )
    .await
    {
        Err(log) => log.with_delivery(delivery),
        Ok((body, _permit)) => {
            let request = HttpWebhookRequest::new(
                peer.ip(),
                &parts.uri,
                &parts.headers,
                &body,
                &shared.mount,
            );
            match shared.gate.check(&request.request()) {
                Err(rejection) => rejected_log(delivery, &rejection),
                Ok(verified) => {
                    let o = shared.inbound.handle_webhook(&verified).await;
                    outcome_log(&verified, &o)
                }
            }
        }
    };
    if let Some(observer) = &shared.observer {
        observer(&log);
    }
    StatusCode::from_u16(log.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Admits a request to the gate's full check: a slot among those in
/// flight, the gate's checks that need no body, then the body, read
/// within the gate's limit and the deadline. The slot is held until the
/// answer is sent. Refusals come back as their log line.
pub(super) async fn admit(
    gate: &WebhookGate,
    in_flight: &Arc<tokio::sync::Semaphore>,
    admission: Admission,
    peer: SocketAddr,
    parts: &axum::http::request::Parts,
    body: axum::body::Body,
    mount: &str,
) -> Result<(Bytes, tokio::sync::OwnedSemaphorePermit), WebhookLog> {
    let refused = |reason: &'static str, status: u16| WebhookLog {
        delivery: None,
        issue: None,
        finding: None,
        from: None,
        to: None,
        outcome: "rejected",
        reason,
        status,
    };
    let Ok(permit) = Arc::clone(in_flight).try_acquire_owned() else {
        crate::metrics::webhook_rejected("too_busy");
        return Err(refused("too_busy", 503));
    };
    let before = HttpWebhookRequest::new(peer.ip(), &parts.uri, &parts.headers, &[], mount);
    if let Err(rejection) = gate.check_before_body(&before.request()) {
        return Err(rejected_log(None, &rejection));
    }
    // One byte over the gate's limit still reaches the gate, which answers
    // 413 with its own reason; more is cut off while reading.
    let limit = gate.max_body_bytes().saturating_add(1);
    match tokio::time::timeout(admission.body_deadline, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok((bytes, permit)),
        Ok(Err(_)) => {
            crate::metrics::webhook_rejected("body_too_large");
            Err(refused("body_too_large", 413))
        }
        Err(_) => {
            crate::metrics::webhook_rejected("body_timeout");
            tracing::warn!(peer = %peer.ip(), "webhook body not sent within the deadline");
            Err(refused("body_timeout", 408))
        }
    }
}

impl WebhookLog {
    /// The same line with this delivery id.
    pub(super) fn with_delivery(mut self, delivery: Option<String>) -> Self {
        self.delivery = delivery;
        self
    }
}

/// The delivery id Jira sent, cut to 128 characters.
pub(super) fn delivery_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-atlassian-webhook-identifier")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(128).collect::<String>())
}

/// The log of a request the gate refused.
pub(super) fn rejected_log(delivery: Option<String>, rejection: &super::Rejection) -> WebhookLog {
    WebhookLog {
        delivery,
        issue: None,
        finding: None,
        from: None,
        to: None,
        outcome: "rejected",
        reason: rejection.code(),
        status: rejection.status(),
    }
}

/// The log of a request the gate let in and inbound processed.
pub(super) fn outcome_log(
    verified: &super::VerifiedWebhook,
    o: &crate::InboundOutcome,
) -> WebhookLog {
    WebhookLog {
        delivery: verified.delivery_id.clone(),
        issue: o.issue.as_ref().map(|k| k.to_string()),
        finding: o.finding.as_ref().map(|f| f.to_string()),
        from: o.from.map(|s| s.as_str()),
        to: o.to.map(|s| s.as_str()),
        outcome: o.disposition.as_str(),
        reason: o.reason.code(),
        status: o.http_status(),
    }
}
