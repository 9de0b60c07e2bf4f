//! JQL search pagination: Cloud tokens, Data Center offsets.

use crate::support::client;
use jira_model::Flavor;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn issues(range: std::ops::Range<u32>) -> Value {
    Value::Array(
        range
            .map(|n| {
                json!({"id": format!("{}", 10000 + n), "key": format!("SEC-{n}"),
                "fields": {"status": {"name": "Open", "statusCategory": {"key": "new"}}}})
            })
            .collect(),
    )
}

fn keys(list: &[jira_model::Issue]) -> Vec<String> {
    list.iter().map(|i| i.key.clone()).collect()
}

#[tokio::test]
async fn cloud_walks_next_page_tokens_until_is_last() {
    let server = MockServer::start().await;
    let jql = "project = SEC AND labels = penaxtra";
    Mock::given(method("POST"))
        .and(path("/rest/api/3/search/jql"))
        .and(body_json(
            json!({"jql": jql, "maxResults": 2, "fields": ["status"]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"issues": issues(1..3), "nextPageToken": "tok-2", "isLast": false}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/search/jql"))
        .and(body_partial_json(json!({"nextPageToken": "tok-2"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"issues": issues(3..5), "nextPageToken": "tok-3", "isLast": false}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/search/jql"))
        .and(body_partial_json(json!({"nextPageToken": "tok-3"})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"issues": issues(5..6), "isLast": true})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server, Flavor::Cloud);
    let mut pages = c.search(jql, &["status"]).page_size(2);
    let mut sizes = vec![];
    let mut all = vec![];
    while let Some(page) = pages.next_page().await.unwrap() {
        sizes.push(page.len());
        all.extend(page);
    }
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(keys(&all), ["SEC-1", "SEC-2", "SEC-3", "SEC-4", "SEC-5"]);
    assert!(pages.next_page().await.unwrap().is_none(), "stays done");
}

#[tokio::test]
async fn data_center_walks_start_at_until_total_even_when_pages_are_capped() {
    let server = MockServer::start().await;
    let jql = "project = SEC";
    // Asked for 3 a page; Jira caps at 2.
    for (start, range) in [(0u64, 1..3), (2, 3..5), (4, 5..6)] {
        Mock::given(method("POST"))
            .and(path("/rest/api/2/search"))
            .and(body_json(
                json!({"jql": jql, "startAt": start, "maxResults": 3, "fields": ["*navigable"]}),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "startAt": start, "maxResults": 2, "total": 5, "issues": issues(range)})))
            .expect(1)
            .mount(&server)
            .await;
    }
    let c = client(&server, Flavor::DataCenter);
    let all = c.search(jql, &[]).page_size(3).collect_all().await.unwrap();
    assert_eq!(keys(&all), ["SEC-1", "SEC-2", "SEC-3", "SEC-4", "SEC-5"]);
}

#[tokio::test]
async fn search_all_with_the_default_page_size() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/api/2/search"))
        .and(body_partial_json(json!({"startAt": 0, "maxResults": 50})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"startAt": 0, "maxResults": 50, "total": 0, "issues": []})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server, Flavor::DataCenter);
    assert!(
        c.search_all("project = SEC", &["status"])
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_repeated_cloud_token_is_an_error_not_a_loop() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"issues": issues(1..2), "nextPageToken": "same", "isLast": false}),
        ))
        .expect(2)
        .mount(&server)
        .await;
    let c = client(&server, Flavor::Cloud);
    let mut pages = c.search("project = SEC", &["status"]);
    assert_eq!(pages.next_page().await.unwrap().unwrap().len(), 1);
    let e = pages.next_page().await.unwrap_err();
    assert_eq!(e.code(), "decode");
    assert!(e.to_string().contains("nextPageToken"));
}

#[tokio::test]
async fn a_failed_page_can_be_asked_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"errorMessages":["Error in the JQL Query: Expecting ')' before the end of the query."],"errors":{}})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"startAt": 0, "maxResults": 50, "total": 1, "issues": issues(1..2)}),
        ))
        .mount(&server)
        .await;
    let c = client(&server, Flavor::DataCenter);
    let mut pages = c.search("project = SEC AND (", &[]);
    let e = pages.next_page().await.unwrap_err();
    assert_eq!(e.code(), "invalid_request");
    assert!(e.to_string().contains("Error in the JQL Query"));
    assert_eq!(pages.next_page().await.unwrap().unwrap().len(), 1);
    assert!(pages.next_page().await.unwrap().is_none());
}
