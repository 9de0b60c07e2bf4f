//! The webhook rejection matrix end to end: real HTTP requests (reqwest)
//! to the example receiver (`examples/support/receiver.rs`), each answered
//! with its status, none of the refused ones changing anything, and nothing
//! secret in what the receiver logged.

// `inbound` loads the example receiver privately; this copy is shared
// with the fault suite.
#[path = "../../../../examples/support/receiver.rs"]
#[allow(dead_code, clippy::duplicate_mod)]
pub(crate) mod receiver;

use crate::log_capture::capture_logs;
use penaxtra_jira_sync::store::{Link, MemoryStore, SyncStore};
use penaxtra_jira_sync::webhook::{
    DELIVERY_ID_HEADER, IpAllowlist, SIGNATURE_HEADER, WebhookGate, WebhookGateConfig, sign_body,
};
use penaxtra_jira_sync::{Inbound, MemoryFindings};
use penaxtra_mapping::{Finding, FindingId, FindingState, InboundPolicy, Severity};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

const URL_SECRET: &str = "e2e-url-secret-4d1c7a90b2";
const HMAC_SECRET: &str = "e2e-hmac-secret-81f0e3c6d5";
const MAX_BODY: usize = 4096;
const KEY: &str = "SEC-7";
/// Appears in every event body; must never be logged.
const BODY_MARKER: &str = "BODY-MARKER-e2e-91";

fn finding_id() -> FindingId {
    FindingId::new("fnd_e2e_000007").unwrap()
}

/// A person resolving `KEY` in Jira Cloud's shape.
fn resolved_event() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "timestamp": 1_760_000_000_000_i64,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_resolved",
        "user": {"accountId": "5f5e1a0c0000000000000002", "displayName": "Alex"},
        "issue": {"id": "10007", "key": KEY, "fields": {
            "summary": BODY_MARKER,
            "status": {"id": "10002", "name": "Done", "statusCategory": {"id": 3, "key": "done", "name": "Done"}},
            "resolution": {"id": "10000", "name": "Done"},
            "labels": ["penaxtra"]}},
        "changelog": {"id": "70001", "items": [
            {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "1", "fromString": "Open", "to": "10002", "toString": "Done"},
            {"field": "resolution", "fieldtype": "jira", "fieldId": "resolution", "from": null, "fromString": null, "to": "10000", "toString": "Done"}]}
    }))
    .unwrap()
}

fn signature(body: &[u8]) -> String {
    format!(
        "sha256={}",
        sign_body(&SecretString::from(HMAC_SECRET), body)
    )
}

struct Server {
    addr: SocketAddr,
    host: Arc<MemoryFindings>,
    store: Arc<MemoryStore>,
    lines: Arc<Mutex<Vec<serde_json::Value>>>,
    link: Link,
}

/// Serves the example receiver with `gate` over a store linking the
/// finding to `KEY`.
async fn serve(gate: WebhookGate) -> Server {
    let f = Finding::new(
        finding_id(),
        "Prompt injection",
        Severity::High,
        FindingState::Open,
    )
    .unwrap();
    let host = Arc::new(MemoryFindings::with([f]));
    let store = Arc::new(MemoryStore::new());
    let link = Link::new(
        finding_id(),
        crate::support::key(KEY),
        "10007",
        FindingState::Open,
        1,
    );
    store.insert_link(&link, None).await.unwrap();
    let inbound = Inbound::new(
        Arc::clone(&store) as Arc<dyn SyncStore>,
        Arc::clone(&host) as _,
        "SEC",
    )
    .policy(InboundPolicy::All);
    let lines: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let sink = Arc::clone(&lines);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(receiver::serve(
        listener,
        gate,
        inbound,
        Arc::new(move |l| sink.lock().unwrap().push(l)),
    ));
    Server {
        addr,
        host,
        store,
        lines,
        link,
    }
}

impl Server {
    fn url(&self, secret: Option<&str>) -> String {
        match secret {
            Some(s) => format!("http://{}{}/{s}", self.addr, receiver::MOUNT),
            None => format!("http://{}{}", self.addr, receiver::MOUNT),
        }
    }

    /// Nothing changed: the finding, its link, and no delivery id recorded.
    async fn assert_unchanged(&self, case: &str) {
        assert!(
            self.host.changes().is_empty(),
            "{case}: the finding was changed"
        );
        assert_eq!(
            self.host.get(&finding_id()).unwrap().state,
            FindingState::Open,
            "{case}"
        );
        assert_eq!(
            self.store.link(&finding_id()).await.unwrap().as_ref(),
            Some(&self.link),
            "{case}: the link was changed"
        );
        assert!(
            self.store.pending().await.unwrap().is_empty(),
            "{case}: something was queued"
        );
    }
}

/// One request: `url`, `X-Forwarded-For`, signature header and body.
async fn post(url: &str, forwarded: Option<&str>, sig: Option<&str>, body: Vec<u8>) -> u16 {
    let http = reqwest::Client::new();
    let mut req = http
        .post(url)
        .header("content-type", "application/json")
        .header(DELIVERY_ID_HEADER, "delivery-e2e-1")
        .body(body);
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    if let Some(s) = sig {
        req = req.header(SIGNATURE_HEADER, s);
    }
    req.send().await.unwrap().status().as_u16()
}

/// Behind a proxy on loopback: only addresses of 192.0.2.0/24 named by
/// `X-Forwarded-For` are allowed.
fn proxied_gate() -> WebhookGate {
    WebhookGate::new(
        WebhookGateConfig::builder(
            IpAllowlist::from_cidrs(["192.0.2.0/24"]).unwrap(),
            SecretString::from(URL_SECRET),
        )
        .hmac_secret(SecretString::from(HMAC_SECRET))
        .trusted_proxy("127.0.0.1/32".parse().unwrap())
        .max_body_bytes(MAX_BODY)
        .build()
        .unwrap(),
    )
    .unwrap()
}

async fn matrix() {
    let server = serve(proxied_gate()).await;
    let body = resolved_event();
    assert!(body.len() < MAX_BODY);
    let sig = signature(&body);
    let ok_ip = Some("192.0.2.10");
    let good = server.url(Some(URL_SECRET));

    let mut too_large = body.clone();
    too_large.resize(MAX_BODY + 1, b' ');
    let too_large_sig = signature(&too_large);
    let huge = vec![b'{'; 64 * 1024];
    let not_json = b"webhookEvent=jira:issue_updated&issue=SEC-7".to_vec();
    let not_event = br#"{"issue":{"key":"SEC-7"},"changelog":{"items":[]}}"#.to_vec();
    let wrong_sig = format!(
        "sha256={}",
        sign_body(&SecretString::from("not-the-hmac-secret-000"), &body)
    );
    let query_url = format!("{}?secret=not-{URL_SECRET}", server.url(None));
    // (case, URL, X-Forwarded-For, X-Hub-Signature, body, status expected)
    type Case<'a> = (
        &'a str,
        String,
        Option<&'a str>,
        Option<String>,
        Vec<u8>,
        u16,
    );
    let cases: Vec<Case> = vec![
        (
            "body over the limit",
            good.clone(),
            ok_ip,
            Some(too_large_sig),
            too_large,
            413,
        ),
        (
            "body far over the limit",
            good.clone(),
            ok_ip,
            None,
            huge,
            413,
        ),
        (
            "source outside the allowlist",
            good.clone(),
            Some("203.0.113.7"),
            Some(sig.clone()),
            body.clone(),
            403,
        ),
        (
            "forwarded-for that is not an address",
            good.clone(),
            Some("jira.example"),
            Some(sig.clone()),
            body.clone(),
            403,
        ),
        (
            "no forwarded-for from the proxy: no client address, refused",
            good.clone(),
            None,
            Some(sig.clone()),
            body.clone(),
            403,
        ),
        (
            "no URL secret",
            server.url(None),
            ok_ip,
            Some(sig.clone()),
            body.clone(),
            401,
        ),
        (
            "wrong URL secret",
            server.url(Some("e2e-url-secret-guess")),
            ok_ip,
            Some(sig.clone()),
            body.clone(),
            401,
        ),
        (
            "wrong secret in the query",
            query_url,
            ok_ip,
            Some(sig.clone()),
            body.clone(),
            401,
        ),
        ("no signature", good.clone(), ok_ip, None, body.clone(), 401),
        (
            "signature with another secret",
            good.clone(),
            ok_ip,
            Some(wrong_sig),
            body.clone(),
            401,
        ),
        (
            "signature of another body",
            good.clone(),
            ok_ip,
            Some(signature(b"{}")),
            body.clone(),
            401,
        ),
        (
            "not JSON",
            good.clone(),
            ok_ip,
            Some(signature(&not_json)),
            not_json,
            400,
        ),
        (
            "JSON but not a Jira event",
            good.clone(),
            ok_ip,
            Some(signature(&not_event)),
            not_event,
            400,
        ),
    ];
    let rejected = cases.len();
    for (case, url, forwarded, sig, body, want) in cases {
        let got = post(&url, forwarded, sig.as_deref(), body).await;
        assert_eq!(got, want, "{case}");
        server.assert_unchanged(case).await;
    }
    // Every refusal is logged as a rejection, the oversized bodies too
    // (refused from their declared length or cut off while reading,
    // before they were in memory).
    {
        let lines = server.lines.lock().unwrap();
        assert_eq!(lines.len(), rejected, "{lines:?}");
        assert!(
            lines.iter().all(|l| l["outcome"] == "rejected"),
            "{lines:?}"
        );
        let reasons: Vec<&str> = lines.iter().filter_map(|l| l["reason"].as_str()).collect();
        for code in [
            "body_too_large",
            "ip_not_allowed",
            "url_secret_invalid",
            "signature_invalid",
            "not_json",
            "not_jira_event",
        ] {
            assert!(reasons.contains(&code), "{code} missing: {reasons:?}");
        }
    }

    // The same delivery, authentic, from an allowed source: applied once.
    // Its delivery id was on every refused request: none of them recorded it.
    assert_eq!(post(&good, ok_ip, Some(&sig), body.clone()).await, 200);
    assert_eq!(
        server.host.get(&finding_id()).unwrap().state,
        FindingState::Resolved
    );
    assert_eq!(server.host.changes().len(), 1);
    let last = server.lines.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        (&last["outcome"], &last["reason"], &last["status"]),
        (
            &serde_json::json!("applied"),
            &serde_json::json!("state_changed"),
            &serde_json::json!(200)
        )
    );
    // Jira retries a delivery it thinks failed: 200 again, applied once.
    assert_eq!(post(&good, ok_ip, Some(&sig), body).await, 200);
    assert_eq!(server.host.changes().len(), 1);
}

#[test]
fn rejection_matrix_through_the_example_server() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The server runs on this thread, so its logs are captured too.
    let logs = capture_logs(|| runtime.block_on(matrix()));
    assert!(logs.contains("webhook rejected"), "{logs}");
    assert!(logs.contains("203.0.113.7"), "the refused source is logged");
    for secret in [URL_SECRET, HMAC_SECRET, BODY_MARKER, "not-the-hmac-secret"] {
        assert!(!logs.contains(secret), "{secret} logged:\n{logs}");
    }
}

#[tokio::test]
async fn an_allowlist_without_the_peer_refuses_direct_requests() {
    let gate = WebhookGate::new(
        WebhookGateConfig::builder(
            IpAllowlist::from_cidrs(["192.0.2.0/24", "2001:db8::/32"]).unwrap(),
            SecretString::from(URL_SECRET),
        )
        .unsigned()
        .build()
        .unwrap(),
    )
    .unwrap();
    let server = serve(gate).await;
    let body = resolved_event();
    // No proxy is trusted, so a forged X-Forwarded-For is not believed.
    for forwarded in [None, Some("192.0.2.10")] {
        let status = post(&server.url(Some(URL_SECRET)), forwarded, None, body.clone()).await;
        assert_eq!(status, 403, "{forwarded:?}");
        server.assert_unchanged("peer outside the allowlist").await;
    }
    let lines = server.lines.lock().unwrap();
    assert!(
        lines
            .iter()
            .all(|l| l["reason"] == "ip_not_allowed" && l["status"] == 403),
        "{lines:?}"
    );
}
