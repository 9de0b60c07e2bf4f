//! Bulk create: chunks of 50, per-element outcomes at the caller's indexes.

use crate::support::{FLAVORS, ManualTime, builder, client, prefix};
use jira_model::{CreateIssueRequest, Flavor};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn requests(n: usize) -> Vec<CreateIssueRequest> {
    (0..n)
        .map(|i| {
            let summary = if i % 7 == 3 {
                format!("bad-field {i}")
            } else {
                format!("ok {i}")
            };
            CreateIssueRequest::builder("SEC", "Bug", summary).build()
        })
        .collect()
}

/// Answers like Jira: creates every `ok` element, fails every `bad-field`
/// element with the unknown-field error, 201 if any succeeded, else 400.
fn jira_like(
    counter: Arc<AtomicUsize>,
) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static {
    move |req: &Request| {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let updates = body["issueUpdates"].as_array().unwrap();
        assert!(updates.len() <= 50, "chunk of {}", updates.len());
        counter.fetch_add(1, Ordering::SeqCst);
        let mut issues = vec![];
        let mut errors = vec![];
        for (n, u) in updates.iter().enumerate() {
            let summary = u["fields"]["summary"].as_str().unwrap();
            let index: usize = summary.rsplit(' ').next().unwrap().parse().unwrap();
            if summary.starts_with("bad-field") {
                errors.push(json!({"failedElementNumber": n, "status": 400, "elementErrors": {
                    "errorMessages": [], "errors": {"customfield_10031":
                    "Field 'customfield_10031' cannot be set. It is not on the appropriate screen, or unknown."}}}));
            } else {
                issues.push(
                    json!({"id": format!("{}", 10000 + index), "key": format!("SEC-{index}")}),
                );
            }
        }
        let status = if issues.is_empty() { 400 } else { 201 };
        ResponseTemplate::new(status).set_body_json(json!({"issues": issues, "errors": errors}))
    }
}

#[tokio::test]
async fn partial_success_maps_back_to_caller_indexes_in_chunks_of_50() {
    for flavor in FLAVORS {
        let server = MockServer::start().await;
        let chunks = Arc::new(AtomicUsize::new(0));
        Mock::given(method("POST"))
            .and(path(format!("{}/issue/bulk", prefix(flavor))))
            .respond_with(jira_like(chunks.clone()))
            .mount(&server)
            .await;
        let input = requests(120);
        let out = client(&server, flavor).bulk_create(&input).await;
        assert_eq!(out.len(), 120);
        assert_eq!(chunks.load(Ordering::SeqCst), 3);
        for (i, o) in out.iter().enumerate() {
            if i % 7 == 3 {
                let e = o.as_ref().unwrap_err();
                assert_eq!(e.code(), "customfield_unknown", "{i}");
                assert_eq!(e.custom_fields(), ["customfield_10031"]);
                assert!(e.to_string().contains(&format!("bulk element {i}")), "{e}");
                assert!(!e.may_have_been_sent());
            } else {
                assert_eq!(o.as_ref().unwrap().key, format!("SEC-{i}"), "{flavor}");
            }
        }
    }
}

#[tokio::test]
async fn all_failed_400_gives_each_element_its_error() {
    let server = MockServer::start().await;
    let chunks = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .respond_with(jira_like(chunks))
        .mount(&server)
        .await;
    let input: Vec<_> = (0..3)
        .map(|i| CreateIssueRequest::builder("SEC", "Bug", format!("bad-field {i}")).build())
        .collect();
    let out = client(&server, Flavor::Cloud).bulk_create(&input).await;
    assert!(
        out.iter()
            .all(|o| o.as_ref().unwrap_err().code() == "customfield_unknown")
    );
}

#[tokio::test]
async fn a_failed_chunk_fails_whole_and_stops_the_batch() {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let ok = jira_like(Arc::new(AtomicUsize::new(0)));
    Mock::given(method("POST"))
        .respond_with(move |req: &Request| {
            if seen.fetch_add(1, Ordering::SeqCst) == 1 {
                ResponseTemplate::new(500)
            } else {
                ok(req)
            }
        })
        .mount(&server)
        .await;
    let input: Vec<_> = (0..120)
        .map(|i| CreateIssueRequest::builder("SEC", "Bug", format!("ok {i}")).build())
        .collect();
    let out = client(&server, Flavor::DataCenter)
        .bulk_create(&input)
        .await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the third chunk is not sent"
    );
    for (i, o) in out.iter().enumerate() {
        match i {
            0..50 => assert!(o.is_ok()),
            50..100 => {
                let e = o.as_ref().unwrap_err();
                assert_eq!(e.code(), "server");
                assert!(e.may_have_been_sent(), "a failed create chunk may exist");
            }
            _ => {
                let e = o.as_ref().unwrap_err();
                assert_eq!(e.code(), "not_attempted");
                assert!(!e.may_have_been_sent());
                assert!(e.is_retryable());
            }
        }
    }
}

#[tokio::test]
async fn a_whole_chunk_400_without_element_errors_is_every_elements_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"errorMessages":["Issue type is required"],"errors":{}})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let input = requests(60);
    let out = client(&server, Flavor::Cloud).bulk_create(&input).await;
    // An invalid request does not stop the batch: the next chunk may be fine.
    assert!(out.iter().all(|o| {
        let e = o.as_ref().unwrap_err();
        e.code() == "invalid_request"
            && e.jira_messages().unwrap().messages == ["Issue type is required"]
    }));
}

#[tokio::test]
async fn elements_jira_says_nothing_about_are_unknown() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"issues":[{"id":"1","key":"SEC-1"}],"errors":[]})),
        )
        .mount(&server)
        .await;
    let out = client(&server, Flavor::Cloud)
        .bulk_create(&requests(3))
        .await;
    assert_eq!(out[0].as_ref().unwrap().key, "SEC-1");
    for o in &out[1..] {
        let e = o.as_ref().unwrap_err();
        assert_eq!(e.code(), "bulk_outcome_unknown");
        assert!(e.may_have_been_sent());
        assert!(!e.is_retryable());
    }
}

#[tokio::test]
async fn forbidden_stops_the_batch_as_issue_create_forbidden() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403))
        .expect(1)
        .mount(&server)
        .await;
    let out = builder(&server, Flavor::Cloud, &ManualTime::new())
        .build()
        .unwrap()
        .bulk_create(&requests(51))
        .await;
    assert!(
        out[..50]
            .iter()
            .all(|o| o.as_ref().unwrap_err().code() == "issue_create_forbidden")
    );
    assert_eq!(out[50].as_ref().unwrap_err().code(), "not_attempted");
}

#[tokio::test]
async fn empty_input_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    assert!(
        client(&server, Flavor::Cloud)
            .bulk_create(&[])
            .await
            .is_empty()
    );
}
