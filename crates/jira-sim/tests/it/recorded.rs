//! The simulator gives the answers recorded from real Jira in
//! `testdata/recorded`: the same status, the same headers and the same
//! words.

use crate::common::{Answer, Api, Who, client};
use base64::Engine;
use jira_model::Flavor;
use jira_sim::{CloudLimits, JiraSim, SimConfig, SimRateLimit, accounts};
use serde_json::{Value, json};
use std::time::Duration;

fn answers() -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/recorded/answers.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn sim(config: SimConfig) -> (JiraSim, Api) {
    let sim = JiraSim::start(config).await.unwrap();
    let api = Api::new(&sim, Who::Bot);
    (sim, api)
}

/// Makes the simulator give the answer recorded as `name`.
async fn provoke(name: &str) -> Answer {
    let cloud = SimConfig::new(Flavor::Cloud);
    let dc = SimConfig::new(Flavor::DataCenter);
    match name {
        "cloud_expired_token_search" => {
            let (s, api) = sim(cloud).await;
            api.create("s", "f").await;
            Api::new(&s, Who::Wrong)
                .post("search/jql", json!({"jql": "project = SEC"}))
                .await
        }
        "cloud_expired_token_issue" => {
            let (s, api) = sim(cloud).await;
            let key = api.create("s", "f").await;
            Api::new(&s, Who::Wrong).get(&format!("issue/{key}")).await
        }
        "cloud_401" => {
            let (s, _) = sim(cloud).await;
            Api::new(&s, Who::Nobody).get("myself").await
        }
        "datacenter_401_html" => {
            let (s, _) = sim(dc).await;
            Api::new(&s, Who::Wrong).get("myself").await
        }
        "datacenter_captcha" => {
            let (s, _) = sim(dc).await;
            let basic = |p: &str| {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("penaxtra-bot:{p}"))
                )
            };
            let call = |p: String| {
                client()
                    .get(format!("{}/rest/api/2/myself", s.base_url()))
                    .header("Authorization", p)
                    .send()
            };
            for _ in 0..3 {
                call(basic("wrong")).await.unwrap();
            }
            let r = call(basic(accounts::SERVICE_PASSWORD)).await.unwrap();
            Answer {
                status: r.status().as_u16(),
                headers: r.headers().clone(),
                text: r.text().await.unwrap(),
            }
        }
        "cloud_429_per_issue_json" => {
            let limits = CloudLimits {
                html_share: 0.0,
                ..CloudLimits::default()
            };
            let (_s, api) = sim(cloud.cloud_limits(Some(limits))).await;
            let key = api.create("s", "f").await;
            let mut last = None;
            for n in 0..21 {
                last = Some(
                    api.put(
                        &format!("issue/{key}"),
                        json!({"fields": {"summary": format!("{n}")}}),
                    )
                    .await,
                );
            }
            last.unwrap()
        }
        "cloud_429_burst_html" => {
            let limits = CloudLimits {
                burst_read: 1,
                html_share: 1.0,
                ..CloudLimits::default()
            };
            let (_s, api) = sim(cloud.cloud_limits(Some(limits))).await;
            api.get("myself").await;
            api.get("myself").await
        }
        "datacenter_429_tomcat" => {
            let (_s, api) = sim(dc.rate_limit(Some(SimRateLimit::new(1, 1)))).await;
            api.get("myself").await;
            api.get("myself").await
        }
        "cloud_concurrent_transition" => {
            let (s, api) = sim(cloud.transition_hold(Duration::from_millis(300))).await;
            let key = api.create("s", "f").await;
            let alex = Api::new(&s, Who::Alex);
            let path = format!("issue/{key}/transitions");
            let (a, b) = tokio::join!(
                api.post(&path, json!({"transition": {"id": "11"}})),
                alex.post(&path, json!({"transition": {"id": "11"}})),
            );
            if a.status == 409 { a } else { b }
        }
        "missing_required_resolution" => {
            let (_s, api) = sim(cloud).await;
            let key = api.create("s", "f").await;
            api.post(
                &format!("issue/{key}/transitions"),
                json!({"transition": {"id": "21"}}),
            )
            .await
        }
        "comment_role_unknown" => {
            let (_s, api) = sim(cloud).await;
            let key = api.create("s", "f").await;
            api.post(
                &format!("issue/{key}/comment"),
                json!({"body": api.description("x"), "visibility": {"type": "role", "value": "Wizards"}}),
            )
            .await
        }
        "content_limit" => {
            let (_s, api) = sim(cloud).await;
            let mut body = api.issue("s", "f");
            body["fields"]["description"] = api.description(&"x".repeat(40_000));
            api.post("issue", body).await
        }
        other => panic!("no way to provoke {other}: add one"),
    }
}

#[tokio::test]
async fn the_simulator_gives_every_recorded_answer() {
    for a in answers() {
        let name = a["name"].as_str().unwrap();
        let got = provoke(name).await;
        assert_eq!(
            u64::from(got.status),
            a["status"].as_u64().unwrap(),
            "{name}: {}",
            got.text
        );
        for (k, v) in a["headers"].as_object().unwrap() {
            let want = v.as_str().unwrap();
            let have = got
                .header(k)
                .unwrap_or_else(|| panic!("{name}: no {k} in {:?}", got.headers));
            match want.split_once('*') {
                None => assert_eq!(have, want, "{name}: {k}"),
                Some((prefix, _)) => assert!(have.starts_with(prefix), "{name}: {k} = {have}"),
            }
        }
        let words = a["body_contains"].as_str().unwrap();
        assert!(
            got.text.contains(words),
            "{name}: {words:?} not in {}",
            got.text
        );
    }
}
