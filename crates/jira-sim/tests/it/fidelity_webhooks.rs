//! Webhooks as Jira delivers them: late and unordered, before search
//! shows the change, with a flow header, retried with the same identifier
//! on Cloud only, dropped by a full Data Center queue; comment events.

use crate::common::{Api, Who};
use crate::webhooks::receiver;
use jira_model::Flavor;
use jira_model::webhook::{WebhookEvent, WebhookEventKind};
use jira_sim::{JiraSim, SimConfig, WebhookRetry, WebhookTiming};
use serde_json::json;
use std::time::Duration;

fn summary_of(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    v["issue"]["fields"]["summary"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn cloud_deliveries_are_late_unordered_and_ahead_of_search() {
    let (url, rx) = receiver(vec![]).await;
    let sim = JiraSim::start(
        SimConfig::new(Flavor::Cloud)
            .search_lag(Duration::from_secs(600))
            .webhook_timing(
                WebhookTiming::for_flavor(Flavor::Cloud).max_delay(Duration::from_millis(300)),
            )
            .webhook(format!("{url}/hook"), None),
    )
    .await
    .unwrap();
    let bot = Api::new(&sim, Who::Bot);
    let key = bot.create("s", "f").await;
    for n in 0..20 {
        bot.put(
            &format!("issue/{key}"),
            json!({"fields": {"summary": format!("v{n:02}")}}),
        )
        .await;
    }
    sim.flush_webhooks().await;
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 21);
    let order: Vec<String> = got
        .iter()
        .skip(1)
        .map(|r| summary_of(&r.body))
        .filter(|s| s.starts_with('v'))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(sorted.len(), 20);
    assert_ne!(order, sorted, "deliveries arrive out of order");
    for r in &got {
        assert_eq!(r.headers["X-Atlassian-Webhook-Flow"], "Primary");
    }
    // Every delivery came while search still did not show the issue.
    let found = bot
        .post(
            "search/jql",
            json!({"jql": "project = SEC", "fields": ["summary"]}),
        )
        .await
        .json();
    assert_eq!(found["issues"], json!([]));
    // Bulk changes go out in the secondary flow.
    bot.post(
        "issue/bulk",
        json!({"issueUpdates": [bot.issue("a", "f1"), bot.issue("b", "f2")]}),
    )
    .await;
    sim.flush_webhooks().await;
    let got = rx.got.lock().unwrap().clone();
    let secondary = got
        .iter()
        .filter(|r| r.headers["X-Atlassian-Webhook-Flow"] == "Secondary")
        .count();
    assert_eq!(secondary, 2);
}

#[tokio::test]
async fn data_center_neither_retries_nor_keeps_what_its_queue_cannot_hold() {
    // No retry: a 503 is the end of that delivery.
    let (url, rx) = receiver(vec![503]).await;
    let sim =
        JiraSim::start(SimConfig::new(Flavor::DataCenter).webhook(format!("{url}/hook"), None))
            .await
            .unwrap();
    let bot = Api::new(&sim, Who::Bot);
    bot.create("s", "f").await;
    sim.flush_webhooks().await;
    assert_eq!(rx.got.lock().unwrap().len(), 1);
    assert_eq!(sim.webhook_deliveries()[0].status, Some(503));
    // The same on Cloud is retried, with the same identifier.
    let (url, rx) = receiver(vec![503]).await;
    let cloud = JiraSim::start(
        SimConfig::new(Flavor::Cloud)
            .webhook_retry(WebhookRetry::new(3, Duration::from_millis(5)))
            .webhook(format!("{url}/hook"), None),
    )
    .await
    .unwrap();
    Api::new(&cloud, Who::Bot).create("s", "f").await;
    cloud.flush_webhooks().await;
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].headers["X-Atlassian-Webhook-Identifier"],
        got[1].headers["X-Atlassian-Webhook-Identifier"]
    );
    assert_eq!(got[1].headers["X-Atlassian-Webhook-Retry"], "1");

    // A queue of two, each delivery waiting: the rest are dropped.
    let (url, rx) = receiver(vec![]).await;
    let busy = JiraSim::start(
        SimConfig::new(Flavor::DataCenter)
            .webhook_timing(
                WebhookTiming::for_flavor(Flavor::DataCenter)
                    .max_delay(Duration::from_secs(1))
                    .queue_capacity(2),
            )
            .webhook(format!("{url}/hook"), None),
    )
    .await
    .unwrap();
    let bot = Api::new(&busy, Who::Bot);
    let key = bot.create("s", "f").await;
    for n in 0..5 {
        bot.put(
            &format!("issue/{key}"),
            json!({"fields": {"summary": format!("v{n}")}}),
        )
        .await;
    }
    busy.flush_webhooks().await;
    let dropped = busy.dropped_webhooks();
    let received = rx.got.lock().unwrap().len();
    assert!(!dropped.is_empty(), "a full queue drops");
    assert_eq!(received + dropped.len(), 6);
    assert!(dropped.iter().all(|d| d.reason == "queue full"));
    // A drop rate drops at random even when the queue is empty.
    let (url, rx) = receiver(vec![]).await;
    let lossy = JiraSim::start(
        SimConfig::new(Flavor::DataCenter)
            .webhook_timing(WebhookTiming::for_flavor(Flavor::DataCenter).drop_rate(1.0))
            .webhook(format!("{url}/hook"), None),
    )
    .await
    .unwrap();
    Api::new(&lossy, Who::Bot).create("s", "f").await;
    lossy.flush_webhooks().await;
    assert!(rx.got.lock().unwrap().is_empty());
    assert_eq!(lossy.dropped_webhooks().len(), 1);
}

#[tokio::test]
async fn comments_fire_comment_events_beside_the_issue_event() {
    let (url, rx) = receiver(vec![]).await;
    let sim = JiraSim::start(
        SimConfig::new(Flavor::Cloud)
            .webhook_timing(WebhookTiming::for_flavor(Flavor::Cloud).immediate())
            .webhook(format!("{url}/hook"), None),
    )
    .await
    .unwrap();
    let bot = Api::new(&sim, Who::Bot);
    let key = bot.create("s", "f").await;
    let id = bot
        .post(
            &format!("issue/{key}/comment"),
            json!({"body": bot.description("hello"), "visibility": {"type": "role", "value": "Developers"}}),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    bot.put(
        &format!("issue/{key}/comment/{id}"),
        json!({"body": bot.description("edited")}),
    )
    .await;
    bot.delete(&format!("issue/{key}/comment/{id}")).await;
    sim.flush_webhooks().await;
    let kinds: Vec<(WebhookEventKind, Option<String>)> = rx
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|r| {
            let e = WebhookEvent::parse(&r.body).unwrap();
            (e.webhook_event, e.issue_event_type_name)
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (WebhookEventKind::IssueCreated, Some("issue_created".into())),
            (
                WebhookEventKind::IssueUpdated,
                Some("issue_commented".into())
            ),
            (WebhookEventKind::CommentCreated, None),
            (
                WebhookEventKind::IssueUpdated,
                Some("issue_comment_edited".into())
            ),
            (WebhookEventKind::CommentUpdated, None),
            (
                WebhookEventKind::IssueUpdated,
                Some("issue_comment_deleted".into())
            ),
            (WebhookEventKind::CommentDeleted, None),
        ]
    );
    let created: serde_json::Value =
        serde_json::from_slice(&rx.got.lock().unwrap()[2].body).unwrap();
    assert_eq!(created["comment"]["id"], id.as_str());
    assert_eq!(created["comment"]["visibility"]["value"], "Developers");
    assert_eq!(created["issue"]["key"], key.as_str());
}
