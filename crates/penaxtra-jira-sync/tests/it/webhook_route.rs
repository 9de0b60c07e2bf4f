//! The axum route (`WebhookRoute`) mounted in a host's own app, beside its
//! other routes, at its own path: authentic deliveries apply, and a body
//! over the limit is refused while it is being read.

use penaxtra_jira_sync::store::{Link, MemoryStore, SyncStore};
use penaxtra_jira_sync::webhook::{
    IpAllowlist, SIGNATURE_HEADER, WebhookGate, WebhookGateConfig, WebhookLog, WebhookRoute,
    sign_body,
};
use penaxtra_jira_sync::{Inbound, MemoryFindings};
use penaxtra_mapping::{Finding, FindingId, FindingState, InboundPolicy, Severity};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

const URL_SECRET: &str = "route-url-secret-5b8e21d0";
const HMAC_SECRET: &str = "route-hmac-secret-c93a07f4";
const MAX_BODY: usize = 2048;

fn event() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "timestamp": 1_760_000_000_000_i64,
        "webhookEvent": "jira:issue_updated",
        "user": {"accountId": "5f5e1a0c0000000000000002", "displayName": "Alex"},
        "issue": {"id": "10009", "key": "SEC-9", "fields": {
            "status": {"id": "10002", "name": "Done", "statusCategory": {"id": 3, "key": "done", "name": "Done"}},
            "resolution": {"id": "10000", "name": "Done"}, "labels": ["penaxtra"]}},
        "changelog": {"id": "90001", "items": [
            {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "1", "fromString": "Open", "to": "10002", "toString": "Done"}]}
    }))
    .unwrap()
}

#[tokio::test]
async fn the_route_mounts_in_a_host_app_and_limits_bodies_while_reading() {
    let id = FindingId::new("fnd_route_9").unwrap();
    let host = Arc::new(MemoryFindings::with([Finding::new(
        id.clone(),
        "Prompt injection",
        Severity::High,
        FindingState::Open,
    )
    .unwrap()]));
    let store = Arc::new(MemoryStore::new());
    store
        .insert_link(
            &Link::new(
                id.clone(),
                crate::support::key("SEC-9"),
                "10009",
                FindingState::Open,
                0,
            ),
            None,
        )
        .await
        .unwrap();
    let gate = WebhookGate::new(
        WebhookGateConfig::builder(
            IpAllowlist::from_cidrs(["127.0.0.0/8"]).unwrap(),
            SecretString::from(URL_SECRET),
        )
        .hmac_secret(SecretString::from(HMAC_SECRET))
        .max_body_bytes(MAX_BODY)
        .build()
        .unwrap(),
    )
    .unwrap();
    let inbound = Inbound::new(store as Arc<dyn SyncStore>, Arc::clone(&host) as _, "SEC")
        .policy(InboundPolicy::All);
    let seen: Arc<Mutex<Vec<WebhookLog>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let route = WebhookRoute::new(gate, inbound)
        .mount("/hooks/jira/")
        .on_request(move |log| sink.lock().unwrap().push(log.clone()));
    // The host's own app: another route beside the webhook route.
    let app: axum::Router = axum::Router::new()
        .route("/health", axum::routing::get(|| async { "ok" }))
        .merge(route.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    assert_eq!(
        http.get(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );

    let body = event();
    let sig = format!(
        "sha256={}",
        sign_body(&SecretString::from(HMAC_SECRET), &body)
    );
    let post = |path: String, body: Vec<u8>, sig: String| {
        http.post(format!("{base}{path}"))
            .header(SIGNATURE_HEADER, sig)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let wrong = post(
        format!("/hooks/jira/{URL_SECRET}x"),
        body.clone(),
        sig.clone(),
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), 401);
    let ok = post(
        format!("/hooks/jira/{URL_SECRET}"),
        body.clone(),
        sig.clone(),
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(host.get(&id).unwrap().state, FindingState::Resolved);
    let by_query = post(
        format!("/hooks/jira?secret={URL_SECRET}"),
        body.clone(),
        sig,
    )
    .await
    .unwrap();
    assert_eq!(by_query.status(), 200, "the query form is mounted too");

    // Over the limit, chunked (no length up front): cut off while reading.
    assert_eq!(
        chunked_post(addr, &format!("/hooks/jira/{URL_SECRET}"), 64).await,
        413
    );
    // Over the limit with a length: refused before reading.
    let big = post(
        format!("/hooks/jira/{URL_SECRET}"),
        vec![b' '; 64 * 1024],
        String::new(),
    )
    .await
    .unwrap();
    assert_eq!(big.status(), 413);
    let logs = seen.lock().unwrap().clone();
    assert_eq!(
        logs.iter()
            .map(|l| (l.outcome, l.status))
            .collect::<Vec<_>>(),
        [("rejected", 401), ("applied", 200), ("ignored", 200)],
        "the bodies over the limit never reached the gate"
    );
    assert_eq!(logs[1].reason, "state_changed");
}

/// POSTs `kib` KiB of spaces with `Transfer-Encoding: chunked`, by hand,
/// and returns the status of the answer.
async fn chunked_post(addr: SocketAddr, path: &str, kib: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("400\r\n{}\r\n", " ".repeat(1024));
    for _ in 0..kib {
        // The server may answer and close before everything is sent.
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"))
}
