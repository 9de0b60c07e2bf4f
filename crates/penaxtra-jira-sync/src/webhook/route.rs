//! A ready axum route for Jira webhooks (feature `axum`): the gate, then
//! inbound processing, answering Jira the status each outcome calls for.

use super::{HttpWebhookRequest, WebhookGate};
use crate::Inbound;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use std::net::SocketAddr;
use std::sync::Arc;

/// Where the route is mounted unless [`WebhookRoute::mount`] says otherwise.
pub const DEFAULT_MOUNT: &str = "/webhooks/jira";

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
/// `POST {mount}/{secret}`. The body limit of the gate is enforced while
/// the body is read (a larger body is refused with 413 before it is all
/// in memory).
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
}

impl WebhookRoute {
    /// The route for this gate and inbound processing, at [`DEFAULT_MOUNT`].
    pub fn new(gate: WebhookGate, inbound: Inbound) -> Self {
        Self {
            gate,
            inbound,
            mount: DEFAULT_MOUNT.to_string(),
            observer: None,
        }
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
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let parts = HttpWebhookRequest::new(peer.ip(), &uri, &headers, &body, &shared.mount);
    let delivery = delivery_of(&headers);
    let log = match shared.gate.check(&parts.request()) {
        Err(rejection) => rejected_log(delivery, &rejection),
        Ok(verified) => {
            let o = shared.inbound.handle_webhook(&verified).await;
            outcome_log(&verified, &o)
        }
    };
    if let Some(observer) = &shared.observer {
        observer(&log);
    }
    StatusCode::from_u16(log.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
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
