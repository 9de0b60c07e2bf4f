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
            .map(|l| (l.outcome, l.reason, l.status))
            .collect::<Vec<_>>(),
        [
            ("rejected", "url_secret_invalid", 401),
            ("applied", "state_changed", 200),
            ("ignored", "duplicate_delivery", 200),
            ("rejected", "body_too_large", 413),
            ("rejected", "body_too_large", 413),
        ],
        "the bodies over the limit were refused while reading (chunked) or from their length"
    );
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

/// A served route for the admission tests: linked SEC-9, HMAC on.
async fn admission_server(route: impl FnOnce(WebhookRoute) -> WebhookRoute) -> SocketAddr {
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
                id,
                crate::support::key("SEC-9"),
                "10009",
                FindingState::Open,
                0,
            ),
            None,
        )
        .await
        .unwrap();
    let gate = crate::support::loopback_gate(URL_SECRET, HMAC_SECRET);
    let inbound =
        Inbound::new(store as Arc<dyn SyncStore>, host as _, "SEC").policy(InboundPolicy::All);
    let app: axum::Router = route(WebhookRoute::new(gate, inbound)).router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    addr
}

/// Sends a POST's head declaring `length` bytes and `sent` of them, then
/// stalls; the stream is returned to read the answer from (or hold).
async fn stalled_post(
    addr: SocketAddr,
    path: &str,
    length: usize,
    sent: &[u8],
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(sent).await.unwrap();
    stream
}

/// The status line's code, read within `within` (None when nothing came).
async fn status_within(
    stream: &mut tokio::net::TcpStream,
    within: std::time::Duration,
) -> Option<u16> {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 256];
    let n = tokio::time::timeout(within, stream.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    String::from_utf8_lossy(&buf[..n])
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
}

/// A stranger without the URL secret is answered from the head alone: the
/// route never waits for (or reads) the body it declared. A client that
/// has the secret but never finishes its body is cut at the deadline.
#[tokio::test]
async fn refusals_come_before_the_body_and_slow_bodies_are_cut() {
    let addr = admission_server(|r| r.body_deadline(std::time::Duration::from_millis(300))).await;
    // Declares 2 KiB, sends nothing of it: answered at once.
    let mut stranger = stalled_post(addr, "/webhooks/jira/not-the-secret-000000", 2048, b"").await;
    assert_eq!(
        status_within(&mut stranger, std::time::Duration::from_secs(5)).await,
        Some(401),
        "refused before the body"
    );
    // Has the secret, sends 10 bytes of 2 KiB, stalls: 408 after the deadline.
    let mut slow = stalled_post(
        addr,
        &format!("/webhooks/jira/{URL_SECRET}"),
        2048,
        b"{\"webhook",
    )
    .await;
    assert_eq!(
        status_within(&mut slow, std::time::Duration::from_secs(10)).await,
        Some(408)
    );
}

/// 200 slow clients holding connections do not keep a real delivery out
/// (the route handles up to 256 at once); with the cap at 200, the next
/// request is refused at once (503, Jira retries) instead of queueing
/// behind them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_cannot_crowd_out_real_deliveries() {
    let body = event();
    let sig = format!(
        "sha256={}",
        sign_body(&SecretString::from(HMAC_SECRET), &body)
    );
    let deliver = |addr: SocketAddr| {
        let (body, sig) = (body.clone(), sig.clone());
        async move {
            let started = std::time::Instant::now();
            let status = reqwest::Client::builder()
                .no_proxy()
                .build()
                .unwrap()
                .post(format!("http://{addr}/webhooks/jira/{URL_SECRET}"))
                .header(SIGNATURE_HEADER, sig)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            (status, started.elapsed())
        }
    };
    let hold = |addr: SocketAddr| async move {
        let mut held = Vec::new();
        for _ in 0..200 {
            held.push(
                stalled_post(addr, &format!("/webhooks/jira/{URL_SECRET}"), 4096, b"{").await,
            );
        }
        // Let the route take each one in.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        held
    };

    let addr = admission_server(|r| r.body_deadline(std::time::Duration::from_secs(30))).await;
    let held = hold(addr).await;
    let (status, took) = deliver(addr).await;
    assert_eq!(
        status, 200,
        "a real delivery gets through beside 200 slow clients"
    );
    eprintln!("real delivery beside 200 slow clients: {took:?}");
    drop(held);

    let addr = admission_server(|r| {
        r.body_deadline(std::time::Duration::from_secs(30))
            .max_in_flight(200)
    })
    .await;
    let held = hold(addr).await;
    let (status, _) = deliver(addr).await;
    assert_eq!(status, 503, "over the cap: refused at once, not queued");
    drop(held);
}
