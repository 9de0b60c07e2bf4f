//! Jira Cloud's burst and per-issue write limits, and both flavors' 429
//! shapes, on a manual clock (no wall-clock timing).

use crate::common::{Api, Who};
use chrono::TimeZone;
use jira_model::Flavor;
use jira_sim::{CloudLimits, JiraSim, SimClock, SimConfig, SimRateLimit};
use serde_json::json;
use std::time::Duration;

fn t0() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap()
}

async fn cloud(limits: CloudLimits) -> (JiraSim, SimClock) {
    let clock = SimClock::manual(t0());
    let sim = JiraSim::start(
        SimConfig::new(Flavor::Cloud)
            .cloud_limits(Some(limits))
            .clock(clock.clone()),
    )
    .await
    .unwrap();
    (sim, clock)
}

fn edit(n: usize) -> serde_json::Value {
    json!({"fields": {"summary": format!("edit {n}")}})
}

#[tokio::test]
async fn per_issue_writes_are_limited_to_twenty_per_two_seconds() {
    let (sim, clock) = cloud(CloudLimits {
        html_share: 0.0,
        ..CloudLimits::default()
    })
    .await;
    let bot = Api::new(&sim, Who::Bot);
    let hot = bot.create("hot", "fnd_1").await;
    let cold = bot.create("cold", "fnd_2").await;
    for n in 0..20 {
        let a = bot.put(&format!("issue/{hot}"), edit(n)).await;
        assert_eq!(a.status, 204, "write {n}: {}", a.text);
    }
    let a = bot.put(&format!("issue/{hot}"), edit(20)).await;
    assert_eq!(a.status, 429);
    assert_eq!(
        a.header("RateLimit-Reason"),
        Some("jira-per-issue-on-write")
    );
    assert_eq!(a.header("Retry-After"), Some("2"));
    assert_eq!(a.header("X-RateLimit-Limit"), Some("20"));
    assert_eq!(a.header("X-RateLimit-Remaining"), Some("0"));
    assert_eq!(a.header("X-RateLimit-NearLimit"), Some("true"));
    assert_eq!(
        a.header("X-RateLimit-Reset"),
        Some("2026-01-31T10:00:02.000Z"),
        "an ISO 8601 time, not epoch seconds"
    );
    assert_eq!(
        a.header("Beta-RateLimit-Policy"),
        Some("\"jira-per-issue-on-write\";q=20;w=2")
    );
    assert_eq!(
        a.header("Beta-RateLimit"),
        Some("\"jira-per-issue-on-write\";r=0;t=2")
    );
    assert_eq!(
        a.json()["errorMessages"][0],
        "The request has been rate-limited. Please try again later."
    );
    assert_eq!(
        sim.issue(&hot).unwrap().summary,
        "edit 19",
        "refused: nothing changed"
    );
    // Transitions and comments count as writes to the issue too.
    let t = bot
        .post(
            &format!("issue/{hot}/comment"),
            json!({"body": bot.description("x")}),
        )
        .await;
    assert_eq!(t.status, 429);
    // Other issues, and reads of this one, are not limited.
    assert_eq!(bot.put(&format!("issue/{cold}"), edit(0)).await.status, 204);
    assert_eq!(bot.get(&format!("issue/{hot}")).await.status, 200);
    clock.advance(Duration::from_secs(2));
    assert_eq!(bot.put(&format!("issue/{hot}"), edit(21)).await.status, 204);
}

#[tokio::test]
async fn burst_buckets_per_endpoint_and_method_with_headers_on_every_answer() {
    let (sim, clock) = cloud(CloudLimits {
        burst_read: 5,
        html_share: 0.0,
        ..CloudLimits::default()
    })
    .await;
    let bot = Api::new(&sim, Who::Bot);
    let mut remaining = Vec::new();
    for _ in 0..5 {
        let a = bot.get("myself").await;
        assert_eq!(a.status, 200);
        assert_eq!(a.header("X-RateLimit-Limit"), Some("5"));
        assert_eq!(
            a.header("Beta-RateLimit-Policy"),
            Some("\"jira-burst-based\";q=5;w=1")
        );
        remaining.push((
            a.header("X-RateLimit-Remaining").unwrap().to_string(),
            a.header("X-RateLimit-NearLimit").unwrap().to_string(),
            a.header("Beta-RateLimit").is_some(),
        ));
    }
    assert_eq!(
        remaining,
        [
            ("4".into(), "false".into(), false),
            ("3".into(), "false".into(), false),
            ("2".into(), "false".into(), false),
            ("1".into(), "false".into(), false),
            ("0".into(), "true".into(), true),
        ]
    );
    let a = bot.get("myself").await;
    assert_eq!(a.status, 429);
    assert_eq!(a.header("RateLimit-Reason"), Some("jira-burst-based"));
    assert_eq!(a.header("Retry-After"), Some("1"));
    // Another endpoint and another method have their own buckets.
    assert_eq!(bot.get("serverInfo").await.status, 200);
    assert_eq!(
        bot.post("search/jql", json!({"jql": "project = SEC"}))
            .await
            .status,
        200
    );
    clock.advance(Duration::from_millis(200));
    assert_eq!(bot.get("myself").await.status, 200);
}

#[tokio::test]
async fn cloud_429_bodies_are_sometimes_json_and_sometimes_html() {
    let (sim, _clock) = cloud(CloudLimits {
        burst_read: 1,
        ..CloudLimits::default()
    })
    .await;
    let bot = Api::new(&sim, Who::Bot);
    bot.get("myself").await;
    let (mut html, mut json) = (0, 0);
    for _ in 0..40 {
        let a = bot.get("myself").await;
        assert_eq!(a.status, 429);
        if a.header("content-type").unwrap().starts_with("text/html") {
            assert!(a.text.contains("rate-limited"), "{}", a.text);
            html += 1;
        } else {
            assert!(jira_model::ErrorBody::parse(a.text.as_bytes()).mentions("rate-limited"));
            json += 1;
        }
    }
    assert!(html > 5 && json > 5, "html {html}, json {json}");
}

#[tokio::test]
async fn data_center_token_bucket_answers_tomcat_html() {
    let clock = SimClock::manual(t0());
    let sim = JiraSim::start(
        SimConfig::new(Flavor::DataCenter)
            .rate_limit(Some(SimRateLimit::new(1, 2)))
            .clock(clock),
    )
    .await
    .unwrap();
    let bot = Api::new(&sim, Who::Bot);
    let a = bot.get("myself").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("Retry-After"), Some("0"), "0 while tokens remain");
    assert!(a.header("RateLimit-Reason").is_none(), "a Cloud header");
    bot.get("myself").await;
    let a = bot.get("myself").await;
    assert_eq!(a.status, 429);
    assert!(a.header("content-type").unwrap().starts_with("text/html"));
    assert!(
        a.text
            .contains("HTTP Status 429 \u{2013} Too Many Requests")
            && a.text.contains("Rate limit exceeded."),
        "{}",
        a.text
    );
    assert_eq!(a.header("X-RateLimit-Remaining"), Some("0"));
    assert_eq!(a.header("X-RateLimit-FillRate"), Some("1"));
    assert_eq!(a.header("X-RateLimit-Interval-Seconds"), Some("1"));
    assert_eq!(a.header("Retry-After"), Some("1"));
    // Data Center has no Cloud burst bucket.
    let open = JiraSim::start(SimConfig::new(Flavor::DataCenter))
        .await
        .unwrap();
    let a = Api::new(&open, Who::Bot).get("myself").await;
    assert!(a.header("X-RateLimit-Limit").is_none());
}
