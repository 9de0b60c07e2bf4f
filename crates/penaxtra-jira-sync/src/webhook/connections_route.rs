//! One axum route for the webhooks of every connection (feature `axum`):
//! `POST {mount}/{connection}/{secret}` (or `?secret=`), checked by that
//! connection's gate and processed by that connection's engine, so a link
//! is always looked up within the connection the URL names.

use super::route::{Admission, WebhookLog, admit, delivery_of, outcome_log, rejected_log};
use super::{HttpWebhookRequest, RejectReason, Rejection};
use crate::ConnectionId;
use crate::connections::Connections;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Request, State};
use axum::http::StatusCode;
use axum::routing::post;
use std::net::SocketAddr;
use std::sync::Arc;

/// Largest body any connection's route reads (each connection's gate
/// applies its own, smaller or equal, limit): 10 MiB.
pub const MAX_ROUTE_BODY_BYTES: usize = 10 * 1024 * 1024;

type Observer = Arc<dyn Fn(&ConnectionId, &WebhookLog) + Send + Sync>;

/// The route of every connection's webhooks, mounted at
/// [`super::DEFAULT_MOUNT`] unless [`ConnectionsRoute::mount`] says
/// otherwise. Register `https://<service>/webhooks/jira/<connection>/<secret>`
/// in each customer's Jira.
///
/// An unknown connection, a paused connection's wrong secret and a wrong
/// secret all get the same answer (401 `url_secret_invalid`), so the URL
/// does not tell an outsider which connections exist. Use one source
/// allowlist for every connection (Atlassian's ranges): a gate refuses a
/// foreign address before it looks at the secret, and an allowlist that
/// differs between connections would tell them apart. A paused connection
/// answers a webhook that passed its gate with 503, so Jira delivers it
/// again after the pause.
///
/// The peer address comes from axum's `ConnectInfo`: serve the app with
/// `into_make_service_with_connect_info::<SocketAddr>()`.
pub struct ConnectionsRoute {
    connections: Connections,
    mount: String,
    observer: Option<Observer>,
    admission: Admission,
}

impl std::fmt::Debug for ConnectionsRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionsRoute")
            .field("mount", &self.mount)
            .field("connections", &self.connections)
            .finish_non_exhaustive()
    }
}

struct Shared {
    connections: Connections,
    mount: String,
    observer: Option<Observer>,
    admission: Admission,
    in_flight: Arc<tokio::sync::Semaphore>,
}

impl ConnectionsRoute {
    /// The route for every connection registered in `connections`, now
    /// and later.
    pub fn new(connections: Connections) -> Self {
        Self {
            connections,
            mount: super::DEFAULT_MOUNT.to_string(),
            observer: None,
            admission: Admission::default(),
        }
    }

    /// How long a client may take to send its body (default
    /// [`super::DEFAULT_BODY_DEADLINE`]).
    pub fn body_deadline(mut self, deadline: std::time::Duration) -> Self {
        self.admission.body_deadline = deadline;
        self
    }

    /// How many requests are handled at once, all connections together
    /// (default [`super::DEFAULT_MAX_IN_FLIGHT`], at least one); more are
    /// answered 503.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.admission.max_in_flight = n.max(1);
        self
    }

    /// Mounts it at `path` (default [`super::DEFAULT_MOUNT`]).
    pub fn mount(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.mount = format!("/{}", path.trim_matches('/'));
        self
    }

    /// Calls `observer` after each request with the connection named in
    /// the URL (only when it is registered) and what was done.
    pub fn on_request(
        mut self,
        observer: impl Fn(&ConnectionId, &WebhookLog) + Send + Sync + 'static,
    ) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// The axum router.
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> axum::Router<S> {
        let mount = self.mount.clone();
        let shared = Arc::new(Shared {
            connections: self.connections,
            mount: self.mount,
            observer: self.observer,
            in_flight: Arc::new(tokio::sync::Semaphore::new(self.admission.max_in_flight)),
            admission: self.admission,
        });
        axum::Router::new()
            .route(&format!("{mount}/{{connection}}"), post(receive_query))
            .route(
                &format!("{mount}/{{connection}}/{{secret}}"),
                post(receive_path),
            )
            .layer(DefaultBodyLimit::max(MAX_ROUTE_BODY_BYTES))
            .with_state(shared)
    }
}

async fn receive_query(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(connection): Path<String>,
    request: Request,
) -> StatusCode {
    receive(shared, peer, connection, request).await
}

async fn receive_path(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((connection, _secret)): Path<(String, String)>,
    request: Request,
) -> StatusCode {
    receive(shared, peer, connection, request).await
}

async fn receive(
    shared: Arc<Shared>,
    peer: SocketAddr,
    connection: String,
    request: Request,
) -> StatusCode {
    let (parts, body) = request.into_parts();
    let delivery = delivery_of(&parts.headers);
    let unknown = || {
        let rejection = Rejection::new(RejectReason::UrlSecretInvalid, None);
        crate::metrics::webhook_rejected(rejection.code());
        tracing::warn!(
            status = rejection.status(),
            code = rejection.code(),
            peer = %peer.ip(),
            "webhook rejected: no such connection, or it receives no webhooks"
        );
        rejected_log(delivery.clone(), &rejection)
    };
    let tenant = ConnectionId::new(&connection)
        .ok()
        .and_then(|id| shared.connections.tenant(&id).map(|t| (id, t)));
    let Some((id, tenant)) = tenant else {
        return status_of(&unknown());
    };
    let Some(gate) = tenant.gate.as_ref() else {
        return status_of(&unknown());
    };
    // The mount of this connection, as the path spells it.
    let mount = format!("{}/{}", shared.mount, id);
    let (body, _permit) = match admit(
        gate,
        &shared.in_flight,
        shared.admission,
        peer,
        &parts,
        body,
        &mount,
    )
    .await
    {
        Ok(admitted) => admitted,
        Err(log) => {
            let log = log.with_delivery(delivery);
            if let Some(observer) = &shared.observer {
                observer(&id, &log);
            }
            return status_of(&log);
        }
    };
    let request = HttpWebhookRequest::new(peer.ip(), &parts.uri, &parts.headers, &body, &mount);
    let log = match gate.check(&request.request()) {
        Err(rejection) => rejected_log(delivery, &rejection),
        Ok(verified) if tenant.paused.is_some() => {
            tracing::info!(connection = %id, "webhook for a paused connection: Jira will deliver it again");
            WebhookLog {
                delivery: verified.delivery_id.clone(),
                issue: verified.event.issue.as_ref().map(|i| i.key.to_string()),
                finding: None,
                from: None,
                to: None,
                outcome: "failed",
                reason: "connection_paused",
                status: 503,
            }
        }
        Ok(verified) => {
            let o = tenant.sync.handle_webhook(&verified).await;
            outcome_log(&verified, &o)
        }
    };
    if let Some(observer) = &shared.observer {
        observer(&id, &log);
    }
    status_of(&log)
}

fn status_of(log: &WebhookLog) -> StatusCode {
    StatusCode::from_u16(log.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
