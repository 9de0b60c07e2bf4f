//! Time as Jira Cloud and Data Center treat it: no account is in UTC,
//! `/myself` says which zone it is in, answers show times in that zone, and
//! JQL reads a datetime without a zone in it, at minute precision.

use crate::common::{Api, Who};
use chrono::TimeZone;
use jira_model::Flavor;
use jira_sim::{JiraSim, SimClock, SimConfig};
use serde_json::json;

async fn keys(api: &Api, jql: &str) -> Vec<String> {
    let path = if api.flavor == Flavor::Cloud {
        "search/jql"
    } else {
        "search"
    };
    let a = api.post(path, json!({"jql": jql, "fields": ["key"]})).await;
    assert_eq!(a.status, 200, "{jql}: {}", a.text);
    a.json()["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn jql_dates_without_a_zone_are_read_in_the_searchers_zone() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let created = chrono::Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap();
        let sim = JiraSim::start(SimConfig::new(flavor).clock(SimClock::manual(created)))
            .await
            .unwrap();
        let bot = Api::new(&sim, Who::Bot);
        let alex = Api::new(&sim, Who::Alex);
        let key = bot.create("s", "f").await;

        let me = bot.get("myself").await.json();
        // The service account is behind UTC: the direction in which a
        // checkpoint written in UTC skips issues.
        assert_eq!(me["timeZone"], "America/Phoenix", "{flavor}");
        assert_eq!(alex.get("myself").await.json()["timeZone"], "Asia/Kolkata");
        // Answers show times in the caller's zone.
        let got = bot.get(&format!("issue/{key}?fields=created")).await.json();
        assert_eq!(got["fields"]["created"], "2026-01-31T03:00:00.000-0700");
        let got = alex
            .get(&format!("issue/{key}?fields=created"))
            .await
            .json();
        assert_eq!(got["fields"]["created"], "2026-01-31T15:30:00.000+0530");

        // A checkpoint of 10:00 UTC written without a zone: the bot's search
        // reads it as 10:00 in Phoenix (17:00 UTC) and skips the issue.
        let naive = "project = SEC AND updated >= \"2026-01-31 10:00\"";
        assert!(keys(&bot, naive).await.is_empty(), "{flavor}");
        // Alex (05:30 ahead) reads it as 04:30 UTC and finds it.
        assert_eq!(keys(&alex, naive).await, std::slice::from_ref(&key));
        // Epoch milliseconds mean the same instant for everyone.
        let ms = created.timestamp_millis();
        for api in [&alex, &bot] {
            let jql = format!("project = SEC AND updated >= {ms}");
            assert_eq!(
                keys(api, &jql).await,
                std::slice::from_ref(&key),
                "{flavor}"
            );
            let jql = format!("project = SEC AND updated > {ms}");
            assert!(keys(api, &jql).await.is_empty());
        }
        // Minute precision: seconds are refused.
        let a = bot
            .post(
                if flavor == Flavor::Cloud {
                    "search/jql"
                } else {
                    "search"
                },
                json!({"jql": "project = SEC AND updated >= \"2026-01-31 10:00:30\""}),
            )
            .await;
        assert_eq!(a.status, 400);
        assert!(a.text.contains("yyyy/MM/dd HH:mm"), "{}", a.text);
    }
}
