//! The JQL subset over HTTP.

use crate::common::{Api, Who};
use chrono::TimeZone;
use jira_model::Flavor;
use jira_sim::{JiraSim, SimClock, SimConfig};
use serde_json::json;
use std::time::Duration;

async fn keys(api: &Api, jql: &str) -> Vec<String> {
    let a = api
        .post(
            "search/jql",
            json!({"jql": jql, "fields": ["summary"], "maxResults": 100}),
        )
        .await;
    assert_eq!(a.status, 200, "{jql}: {}", a.text);
    a.json()["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn subset_over_http_with_a_manual_clock() {
    let start = chrono::Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap();
    let clock = SimClock::manual(start);
    let sim = JiraSim::start(SimConfig::new(Flavor::Cloud).clock(clock.clone()))
        .await
        .unwrap();
    let api = Api::new(&sim, Who::Bot);
    let a = api.create("Prompt injection", "fnd_2026_a1").await;
    clock.advance(Duration::from_secs(600));
    let b = api.create("Data leak", "fnd_2026_a10").await;
    clock.advance(Duration::from_secs(600));
    let t = api.transition_id(&a, "Done").await.unwrap();
    api.post(
        &format!("issue/{a}/transitions"),
        json!({"transition":{"id":t},"fields":{"resolution":{"name":"Done"}}}),
    )
    .await;
    assert_eq!(keys(&api, "project = SEC").await, [b.clone(), a.clone()]);
    assert_eq!(
        keys(&api, &format!("key in ({a}, {b}) ORDER BY key ASC")).await,
        [a.clone(), b.clone()]
    );
    assert_eq!(
        keys(&api, "cf[10031] ~ \"fnd_2026_a1\"").await,
        std::slice::from_ref(&a)
    );
    assert_eq!(
        keys(&api, "labels = penaxtra AND statusCategory = Done").await,
        std::slice::from_ref(&a)
    );
    assert_eq!(
        keys(&api, "labels in (penaxtra, other) AND status != Done").await,
        std::slice::from_ref(&b)
    );
    assert_eq!(
        // 10:10 UTC, written in the bot's zone (America/Phoenix, UTC-7).
        keys(&api, "updated >= \"2026-01-31 03:10\" ORDER BY updated ASC").await,
        [b.clone(), a.clone()]
    );
    assert_eq!(keys(&api, "updated >= -5m").await, std::slice::from_ref(&a));
    assert_eq!(
        keys(
            &api,
            "(status = Open OR resolution = Done) AND project = SEC ORDER BY created DESC"
        )
        .await,
        [b, a]
    );

    for (jql, needle) in [
        ("project = SEC AND", "Error in the JQL Query"),
        ("assignee = currentUser()", "currentUser()"),
        ("assignee = alex", "Field 'assignee' does not exist"),
        ("cf[10031] = fnd_1", "operator '='"),
        ("key = SEC-404", "does not exist for field 'key'"),
        ("summary ~ \"open", "has not been completed"),
    ] {
        let r = api.post("search/jql", json!({"jql": jql})).await;
        assert_eq!(r.status, 400, "{jql}");
        let body = r.json();
        assert!(
            body["errorMessages"][0].as_str().unwrap().contains(needle),
            "{jql}: {body}"
        );
        assert!(body["errors"].is_object());
    }
}
