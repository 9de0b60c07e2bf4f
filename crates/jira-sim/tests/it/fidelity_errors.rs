//! Errors in Jira's own words, concurrent transitions, and keys that skip.

use crate::common::{Api, Who, start};
use jira_model::Flavor;
use jira_sim::{JiraSim, SimConfig};
use serde_json::{Value, json};
use std::time::Duration;

fn fields(extra: Value) -> Value {
    let mut f = json!({"project": {"key": "SEC"}, "issuetype": {"name": "Bug"}, "summary": "s"});
    for (k, v) in extra.as_object().unwrap() {
        f[k] = v.clone();
    }
    json!({ "fields": f })
}

async fn field_error(api: &Api, extra: Value, field: &str) -> String {
    let a = api.post("issue", fields(extra)).await;
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(a.json()["errorMessages"], json!([]), "{}", a.text);
    a.json()["errors"][field]
        .as_str()
        .unwrap_or_else(|| panic!("no error for {field}: {}", a.text))
        .to_string()
}

#[tokio::test]
async fn field_errors_in_jiras_words() {
    let sim = JiraSim::start(
        SimConfig::new(Flavor::Cloud)
            .frameworks_options(Some(vec!["OWASP_LLM01".into(), "OWASP_LLM02".into()])),
    )
    .await
    .unwrap();
    let v3 = Api::new(&sim, Who::Bot);
    let v2 = Api::new(&sim, Who::Bot).v2();
    let cases = [
        (
            &v3,
            json!({"labels": ["Severity: high"]}),
            "labels",
            "The label 'Severity: high' contains spaces which is invalid.",
        ),
        (
            &v3,
            json!({"customfield_10032": [{"value": "OWASP_LLM01"}, {"value": "NIST_AI_600"}]}),
            "customfield_10032",
            "Option value 'NIST_AI_600' is not valid",
        ),
        (
            &v3,
            json!({"customfield_10032": ["OWASP_LLM01"]}),
            "customfield_10032",
            "expected Object",
        ),
        (
            &v3,
            json!({"customfield_10033": "High"}),
            "customfield_10033",
            "Could not find valid 'id' or 'value' in the Parent Option object.",
        ),
        (
            &v3,
            json!({"customfield_10033": {"value": "Severe"}}),
            "customfield_10033",
            "Option value 'Severe' is not valid",
        ),
        (
            &v2,
            json!({"description": {"type": "doc", "version": 1, "content": []}}),
            "description",
            "Operation value must be a string",
        ),
        (
            &v3,
            json!({"description": "*plain* wiki"}),
            "description",
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)",
        ),
        (
            &v3,
            json!({"customfield_10099": "x"}),
            "customfield_10099",
            "Field 'customfield_10099' cannot be set. It is not on the appropriate screen, or unknown.",
        ),
    ];
    for (api, extra, field, want) in cases {
        assert_eq!(
            field_error(api, extra.clone(), field).await,
            want,
            "{extra}"
        );
    }
    assert!(sim.issues().is_empty(), "no refused create made an issue");
    // The allowed ones work, and the select is stored and shown.
    let a = v3
        .post(
            "issue",
            fields(json!({"customfield_10032": [{"value": "OWASP_LLM02"}],
                "customfield_10033": {"value": "High"}})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let key = a.json()["key"].as_str().unwrap().to_string();
    let got = v3.get(&format!("issue/{key}")).await.json();
    assert_eq!(got["fields"]["customfield_10033"]["value"], "High");
    assert_eq!(got["fields"]["customfield_10033"]["id"], "10201");
    assert_eq!(sim.issue(&key).unwrap().framework_values(), ["OWASP_LLM02"]);
}

#[tokio::test]
async fn a_failed_create_can_still_take_an_issue_number() {
    let sim = start(Flavor::Cloud).await;
    let api = Api::new(&sim, Who::Bot);
    assert_eq!(api.create("a", "f1").await, "SEC-1");
    let long = api.description(&"x".repeat(40_000));
    let a = api
        .post("issue", fields(json!({"description": long})))
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["errorMessages"], json!(["CONTENT_LIMIT_EXCEEDED"]));
    // SEC-2 was taken by the refused create: keys are not contiguous.
    assert_eq!(api.create("c", "f3").await, "SEC-3");
    // Errors found before a number is taken do not skip one.
    let a = api.post("issue", fields(json!({"labels": ["a b"]}))).await;
    assert_eq!(a.status, 400);
    assert_eq!(api.create("d", "f4").await, "SEC-4");
}

#[tokio::test]
async fn transition_errors_in_jiras_words() {
    let sim = start(Flavor::DataCenter).await;
    let api = Api::new(&sim, Who::Bot);
    let key = api.create("s", "f").await;
    let a = api
        .post(
            &format!("issue/{key}/transitions"),
            json!({"transition": {"id": "21"}}),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json()["errorMessages"],
        json!(["Field Resolution is required."])
    );
    // A field that is not on the transition's screen.
    let a = api
        .post(
            &format!("issue/{key}/transitions"),
            json!({"transition": {"id": "11"}, "fields": {"resolution": {"name": "Done"}}}),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json()["errors"]["resolution"],
        "Field 'resolution' cannot be set. It is not on the appropriate screen, or unknown."
    );
    assert_eq!(sim.issue(&key).unwrap().status, "Open");
}

#[tokio::test]
async fn concurrent_transitions_of_one_issue_one_wins_the_others_get_409() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim =
            JiraSim::start(SimConfig::new(flavor).transition_hold(Duration::from_millis(300)))
                .await
                .unwrap();
        let bot = Api::new(&sim, Who::Bot);
        let alex = Api::new(&sim, Who::Alex);
        let key = bot.create("s", "f").await;
        let other = bot.create("t", "g").await;
        let start = json!({"transition": {"id": "11"}});
        let done = json!({"transition": {"id": "21"}, "fields": {"resolution": {"name": "Done"}}});
        let path = format!("issue/{key}/transitions");
        let other_path = format!("issue/{other}/transitions");
        let (a, b, c) = tokio::join!(
            alex.post(&path, start.clone()),
            bot.post(&path, done),
            // Another issue is not held.
            bot.post(&other_path, start),
        );
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [204, 409], "{flavor}: {} / {}", a.text, b.text);
        assert_eq!(c.status, 204);
        let refused = if a.status == 409 { &a } else { &b };
        assert!(
            jira_model::ErrorBody::parse(refused.text.as_bytes()).mentions("being transitioned"),
            "{}",
            refused.text
        );
        let winner = if a.status == 204 {
            "In Progress"
        } else {
            "Done"
        };
        assert_eq!(sim.issue(&key).unwrap().status, winner, "{flavor}");
        // Once the first is done, the issue takes transitions again.
        let id = if winner == "Done" { "61" } else { "51" };
        let again = bot.post(&path, json!({"transition": {"id": id}})).await;
        assert_eq!(again.status, 204, "{}", again.text);
    }
}
