//! Webhook delivery, signature and retries, against a tiny axum receiver.

use crate::common::{Api, Who};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use hmac::{Hmac, Mac};
use jira_model::Flavor;
use jira_model::webhook::{WebhookEvent, WebhookEventKind};
use jira_sim::{JiraSim, SimConfig, WebhookRetry, WebhookTiming};
use serde_json::json;
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub query: Option<String>,
    pub body: Bytes,
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub got: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer, in order; 200 once they run out.
    script: Arc<Mutex<Vec<u16>>>,
}

async fn hook(State(r): State<Receiver>, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.got.lock().unwrap().push(Received {
        headers,
        query: uri.query().map(str::to_string),
        body,
    });
    let mut script = r.script.lock().unwrap();
    let code = if script.is_empty() {
        200
    } else {
        script.remove(0)
    };
    StatusCode::from_u16(code).unwrap()
}

/// Starts a receiver; returns its base URL.
pub async fn receiver(script: Vec<u16>) -> (String, Receiver) {
    let r = Receiver {
        script: Arc::new(Mutex::new(script)),
        ..Receiver::default()
    };
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, r)
}

fn fast_retry() -> WebhookRetry {
    WebhookRetry::new(3, Duration::from_millis(5))
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn cloud_events_signed_in_cloud_shape() {
    let (url, rx) = receiver(vec![]).await;
    // In order (these check each event's shape; `fidelity_webhooks` checks
    // that deliveries are late and unordered by default).
    let sim = JiraSim::start(
        SimConfig::new(Flavor::Cloud)
            .webhook_timing(WebhookTiming::for_flavor(Flavor::Cloud).immediate())
            .webhook(
                format!("{url}/hook?secret=url-s3cret"),
                Some("hmac-key".into()),
            ),
    )
    .await
    .unwrap();
    let bot = Api::new(&sim, Who::Bot);
    let alex = Api::new(&sim, Who::Alex);
    let key = bot.create("s", "fnd_1").await;
    let t = alex.transition_id(&key, "Won't Do").await.unwrap();
    alex.post(
        &format!("issue/{key}/transitions"),
        json!({"transition":{"id":t},"fields":{"resolution":{"name":"Won't Do"}}}),
    )
    .await;
    bot.delete(&format!("issue/{key}")).await;
    sim.flush_webhooks().await;

    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    let mut ids = std::collections::BTreeSet::new();
    for r in &got {
        assert_eq!(
            r.query.as_deref(),
            Some("secret=url-s3cret"),
            "URL used as registered"
        );
        let sig = r.headers.get("X-Hub-Signature").unwrap().to_str().unwrap();
        assert_eq!(sig, hmac_hex("hmac-key", &r.body));
        assert_ne!(sig, hmac_hex("other-key", &r.body));
        ids.insert(
            r.headers
                .get("X-Atlassian-Webhook-Identifier")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(ids.len(), 3, "an identifier per delivery");

    let events: Vec<WebhookEvent> = got
        .iter()
        .map(|r| WebhookEvent::parse(&r.body).unwrap())
        .collect();
    assert_eq!(events[0].webhook_event, WebhookEventKind::IssueCreated);
    assert_eq!(
        events[0].issue_event_type_name.as_deref(),
        Some("issue_created")
    );
    assert_eq!(
        events[0].user.as_ref().unwrap().account_id.as_deref(),
        Some("5f5e1a0c0000000000000001")
    );
    let updated = &events[1];
    assert_eq!(updated.webhook_event, WebhookEventKind::IssueUpdated);
    assert_eq!(
        updated.user.as_ref().unwrap().display_name.as_deref(),
        Some("Alex Example"),
        "the acting user"
    );
    let status = updated.change_of("status").unwrap();
    assert_eq!(
        (status.from_string.as_deref(), status.to_string.as_deref()),
        (Some("Open"), Some("Won't Do"))
    );
    assert_eq!(
        status.field_id.as_deref(),
        Some("status"),
        "Cloud items carry fieldId"
    );
    let res = updated.change_of("resolution").unwrap();
    assert_eq!(
        (res.from.as_deref(), res.to_string.as_deref()),
        (None, Some("Won't Do"))
    );
    assert!(updated.timestamp.unwrap() > 0);
    let issue = updated.issue.as_ref().unwrap();
    assert_eq!(issue.fields.resolution.as_ref().unwrap().name, "Won't Do");
    assert_eq!(events[2].webhook_event, WebhookEventKind::IssueDeleted);
    // What was sent is logged, with the answers; Debug hides the URL secret.
    let log = sim.webhook_deliveries();
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|d| d.succeeded() && d.attempt == 1));
    assert!(!format!("{log:?}").contains("url-s3cret"));
    assert!(log[0].url().contains("url-s3cret"));
}

#[tokio::test]
async fn data_center_shape_unsigned_without_secret() {
    let (url, rx) = receiver(vec![]).await;
    let sim = JiraSim::start(
        SimConfig::new(Flavor::DataCenter)
            .webhook_timing(WebhookTiming::for_flavor(Flavor::DataCenter).immediate()),
    )
    .await
    .unwrap();
    sim.register_webhook(format!("{url}/hook"), None).unwrap();
    let alex = Api::new(&sim, Who::Alex);
    let key = alex.create("s", "f").await;
    let t = alex.transition_id(&key, "Start Progress").await.unwrap();
    alex.post(
        &format!("issue/{key}/transitions"),
        json!({"transition":{"id":t}}),
    )
    .await;
    alex.put(
        &format!("issue/{key}"),
        json!({"fields":{"summary":"renamed"}}),
    )
    .await;
    sim.flush_webhooks().await;
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|r| r.headers.get("X-Hub-Signature").is_none())
    );
    let ev = WebhookEvent::parse(&got[1].body).unwrap();
    let user = ev.user.clone().unwrap();
    assert_eq!(
        (user.name.as_deref(), user.account_id.as_deref()),
        (Some("alex"), None)
    );
    assert_eq!(
        ev.issue_event_type_name.as_deref(),
        Some("issue_work_started")
    );
    assert!(
        ev.items().iter().all(|i| i.field_id.is_none()),
        "no fieldId on Data Center"
    );
    let raw: serde_json::Value = serde_json::from_slice(&got[1].body).unwrap();
    assert!(
        raw["issue"]["fields"]["description"].is_string(),
        "webhook issues use REST v2 shapes"
    );
    let ev = WebhookEvent::parse(&got[2].body).unwrap();
    assert_eq!(
        ev.change_of("summary").unwrap().to_string.as_deref(),
        Some("renamed")
    );
    // Read-only changes nothing and fires nothing.
    Api::new(&sim, Who::ReadOnly)
        .put(&format!("issue/{key}"), json!({"fields":{"summary":"x"}}))
        .await;
    sim.flush_webhooks().await;
    assert_eq!(rx.got.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn non_2xx_is_retried_with_the_same_identifier() {
    let (url, rx) = receiver(vec![500, 503]).await;
    let sim = JiraSim::start(SimConfig::new(Flavor::Cloud).webhook_retry(fast_retry()))
        .await
        .unwrap();
    sim.register_webhook(format!("{url}/hook"), Some("k".into()))
        .unwrap();
    Api::new(&sim, Who::Bot).create("s", "f").await;
    sim.flush_webhooks().await;
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    let ids: Vec<_> = got
        .iter()
        .map(|r| r.headers["X-Atlassian-Webhook-Identifier"].clone())
        .collect();
    assert!(ids.iter().all(|i| *i == ids[0]));
    assert!(got[0].headers.get("X-Atlassian-Webhook-Retry").is_none());
    assert_eq!(got[2].headers["X-Atlassian-Webhook-Retry"], "2");
    let log = sim.webhook_deliveries();
    let statuses: Vec<_> = log.iter().map(|d| d.status).collect();
    assert_eq!(statuses, [Some(500), Some(503), Some(200)]);
}

#[tokio::test]
async fn retries_are_bounded_and_errors_recorded() {
    let (url, rx) = receiver(vec![503; 10]).await;
    let sim = JiraSim::start(SimConfig::new(Flavor::Cloud).webhook_retry(fast_retry()))
        .await
        .unwrap();
    sim.register_webhook(format!("{url}/hook"), None).unwrap();
    // A receiver that is not listening at all.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}/hook", dead.local_addr().unwrap());
    drop(dead);
    sim.register_webhook(dead_url, None).unwrap();
    Api::new(&sim, Who::Bot).create("s", "f").await;
    sim.flush_webhooks().await;
    assert_eq!(
        rx.got.lock().unwrap().len(),
        3,
        "max_attempts, then give up"
    );
    let log = sim.webhook_deliveries();
    assert_eq!(log.len(), 6);
    let refused: Vec<_> = log.iter().filter(|d| d.status.is_none()).collect();
    assert_eq!(refused.len(), 3);
    assert!(
        refused
            .iter()
            .all(|d| d.error.as_deref().unwrap().starts_with("connection failed"))
    );
    assert!(sim.register_webhook("not a url", None).is_err());
}
