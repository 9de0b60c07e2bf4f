//! The webhook receiver shared by the `webhook_receiver` and `quickstart`
//! examples: an axum server that hands each request to the library's
//! framework-neutral gate, then to inbound processing, and prints one JSON
//! line per request.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use penaxtra_jira_sync::Inbound;
use penaxtra_jira_sync::webhook::{GateDecision, WebhookGate, WebhookRequest, extract_url_secret};
use secrecy::ExposeSecret;
use std::net::SocketAddr;
use std::sync::Arc;

/// Where the receiver is mounted.
pub const MOUNT: &str = "/webhooks/jira";

/// One line of the receiver's log.
pub type LineSink = Arc<dyn Fn(serde_json::Value) + Send + Sync>;

struct Receiver {
    gate: WebhookGate,
    inbound: Inbound,
    sink: LineSink,
}

/// Serves webhooks on `listener` until the task is dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    gate: WebhookGate,
    inbound: Inbound,
    sink: LineSink,
) -> std::io::Result<()> {
    let limit = gate.max_body_bytes().saturating_add(1);
    let state = Arc::new(Receiver {
        gate,
        inbound,
        sink,
    });
    let app = axum::Router::new()
        .route(MOUNT, post(receive))
        .route(&format!("{MOUNT}/{{secret}}"), post(receive))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

async fn receive(
    State(rx): State<Arc<Receiver>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let secret = extract_url_secret(uri.path(), uri.query(), MOUNT);
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let forwarded = forwarded.join(",");
    let pairs: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    let request = WebhookRequest::new(peer.ip(), &body)
        .forwarded_for((!forwarded.is_empty()).then_some(forwarded.as_str()))
        .url_secret(secret.as_ref().map(ExposeSecret::expose_secret))
        .headers(&pairs);
    let line = match rx.gate.check(&request) {
        GateDecision::Rejected(r) => serde_json::json!({
            "delivery": header_text(&headers, "x-atlassian-webhook-identifier"),
            "issue": null, "finding": null, "from": null, "to": null,
            "outcome": "rejected", "reason": r.code(), "status": r.status(),
        }),
        GateDecision::Accepted(verified) => {
            let o = rx.inbound.handle_webhook(&verified).await;
            serde_json::json!({
                "delivery": verified.delivery_id,
                "issue": o.issue,
                "finding": o.finding.as_ref().map(|f| f.to_string()),
                "from": o.from.map(|s| s.as_str()),
                "to": o.to.map(|s| s.as_str()),
                "outcome": o.disposition.as_str(),
                "reason": o.reason,
                "status": o.http_status(),
            })
        }
        // The gate's decision type may grow; refuse what this server does not know.
        _ => {
            serde_json::json!({"outcome": "rejected", "reason": "unknown_decision", "status": 500})
        }
    };
    let status = line["status"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(500);
    (rx.sink)(line);
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(128).collect())
}
