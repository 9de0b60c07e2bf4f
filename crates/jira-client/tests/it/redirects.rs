//! Credentials go only to the configured origin: a redirect elsewhere is
//! refused without a request to the other host.

use crate::support::{ManualTime, basic_header, builder};
use jira_model::{CreateIssueRequest, Flavor};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_redirect_to_another_host_never_gets_the_auth_header() {
    let jira = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"accountId":"stolen"})))
        .mount(&elsewhere)
        .await;
    for status in [301, 302, 303, 307, 308] {
        Mock::given(method("GET"))
            .and(path("/rest/api/3/myself"))
            .respond_with(ResponseTemplate::new(status).insert_header(
                "Location",
                format!("{}/rest/api/3/myself?x=1", elsewhere.uri()),
            ))
            .up_to_n_times(1)
            .mount(&jira)
            .await;
        let c = builder(&jira, Flavor::Cloud, &ManualTime::new())
            .build()
            .unwrap();
        let e = c.myself().await.unwrap_err();
        assert_eq!(e.code(), "redirect", "{status}");
        assert_eq!(e.status(), Some(status));
        // The other origin is named, without its path or query.
        assert!(e.to_string().contains(&elsewhere.uri()), "{e}");
        assert!(!e.to_string().contains("x=1"));
        assert!(!e.is_retryable());
    }
    let reached = elsewhere.received_requests().await.unwrap();
    assert!(
        reached.is_empty(),
        "{} requests reached the other host",
        reached.len()
    );
}

#[tokio::test]
async fn a_same_origin_redirect_is_followed_with_credentials() {
    let jira = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/myself"))
        .respond_with(
            ResponseTemplate::new(301).insert_header("Location", "/jira/rest/api/3/myself"),
        )
        .expect(1)
        .mount(&jira)
        .await;
    Mock::given(method("GET"))
        .and(path("/jira/rest/api/3/myself"))
        .and(header("authorization", basic_header().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"accountId":"a"})))
        .expect(1)
        .mount(&jira)
        .await;
    let c = builder(&jira, Flavor::Cloud, &ManualTime::new())
        .build()
        .unwrap();
    assert_eq!(c.myself().await.unwrap().account_id.as_deref(), Some("a"));
}

#[tokio::test]
async fn a_post_is_never_turned_into_a_get() {
    let jira = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "/elsewhere"))
        .expect(1)
        .mount(&jira)
        .await;
    Mock::given(method("GET"))
        .and(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&jira)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/bulk"))
        .respond_with(
            ResponseTemplate::new(307).insert_header("Location", "/rest/api/3/issue/bulk2"),
        )
        .expect(1)
        .mount(&jira)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/bulk2"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"issues":[{"id":"1","key":"SEC-1"}],"errors":[]})),
        )
        .expect(1)
        .mount(&jira)
        .await;
    let c = builder(&jira, Flavor::Cloud, &ManualTime::new())
        .build()
        .unwrap();
    let request = CreateIssueRequest::builder("SEC", "Bug", "s").build();
    let e = c.create_issue(&request).await.unwrap_err();
    assert_eq!(e.code(), "redirect");
    // 307 keeps the method and body.
    let out = c.bulk_create(&[request]).await;
    assert_eq!(out[0].as_ref().unwrap().key, "SEC-1");
}

#[tokio::test]
async fn redirect_loops_end() {
    let jira = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "/rest/api/3/myself"))
        .expect(6)
        .mount(&jira)
        .await;
    let c = builder(&jira, Flavor::Cloud, &ManualTime::new())
        .build()
        .unwrap();
    assert_eq!(c.myself().await.unwrap_err().code(), "redirect");
}
