//! The webhook receiver shared by the `webhook_receiver` and `quickstart`
//! examples: the library's axum route ([`WebhookRoute`]), printing one JSON
//! line per request.

use penaxtra_jira_sync::Inbound;
use penaxtra_jira_sync::webhook::{DEFAULT_MOUNT, WebhookGate, WebhookRoute};
use std::net::SocketAddr;
use std::sync::Arc;

/// Where the receiver is mounted.
pub const MOUNT: &str = DEFAULT_MOUNT;

/// One line of the receiver's log.
pub type LineSink = Arc<dyn Fn(serde_json::Value) + Send + Sync>;

/// Serves webhooks on `listener` until the task is dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    gate: WebhookGate,
    inbound: Inbound,
    sink: LineSink,
) -> std::io::Result<()> {
    let route = WebhookRoute::new(gate, inbound)
        .on_request(move |log| sink(serde_json::to_value(log).unwrap_or(serde_json::Value::Null)));
    let app: axum::Router = route.router();
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
