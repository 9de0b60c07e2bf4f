//! Every answer real Jira has been seen to give in `testdata/recorded`
//! maps to its error code: an anonymous 200 or 404 is `unauthorized`, a
//! CAPTCHA lockout `captcha_required`, HTML and JSON 429s `rate_limited`.

use crate::support::{ManualTime, builder};
use jira_client::RetryPolicy;
use jira_model::{Flavor, TransitionRequest};
use serde_json::Value;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn answers() -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/recorded/answers.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A header value for a recorded `*`.
fn filled(name: &str, value: &str) -> String {
    match (name, value) {
        (_, v) if !v.contains('*') => v.to_string(),
        ("X-RateLimit-Reset", _) => "2023-11-14T22:13:21.000Z".into(),
        ("Beta-RateLimit-Policy", _) => "\"jira-per-issue-on-write\";q=20;w=2".into(),
        ("Beta-RateLimit", _) => "\"jira-per-issue-on-write\";r=0;t=1".into(),
        ("WWW-Authenticate", _) => "Basic realm=\"protected-area\"".into(),
        (_, v) => v.replace('*', "1"),
    }
}

#[tokio::test]
async fn each_recorded_answer_maps_to_its_code() {
    let all = answers();
    assert!(all.len() >= 12);
    for a in all {
        let name = a["name"].as_str().unwrap();
        let flavor = match a["flavor"].as_str().unwrap() {
            "cloud" => Flavor::Cloud,
            _ => Flavor::DataCenter,
        };
        let server = MockServer::start().await;
        let mut response =
            ResponseTemplate::new(u16::try_from(a["status"].as_u64().unwrap()).unwrap())
                .set_body_string(a["body"].as_str().unwrap());
        for (k, v) in a["headers"].as_object().unwrap() {
            response = response.insert_header(k.as_str(), filled(k, v.as_str().unwrap()));
        }
        Mock::given(wiremock::matchers::any())
            .respond_with(response)
            .mount(&server)
            .await;
        let c = builder(&server, flavor, &ManualTime::new())
            .retry_policy(RetryPolicy::no_retries())
            .build()
            .unwrap();
        let result = if name.contains("transition") || name.contains("resolution") {
            c.transition("SEC-1", &TransitionRequest::new("21")).await
        } else if name.contains("search") {
            c.search_all("project = SEC", &["key"]).await.map(|_| ())
        } else {
            c.get_issue("SEC-1", &["status"]).await.map(|_| ())
        };
        let code = result.err().map(|e| e.code());
        assert_eq!(code, a["code"].as_str(), "{name}");
    }
}
