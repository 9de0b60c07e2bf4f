//! Every error shape Jira is known to send, mapped to its stable code.

use crate::support::{ManualTime, builder, client, prefix, retries};
use jira_client::{ErrorKind, JiraClient, RetryPolicy};
use jira_model::{CreateIssueRequest, Flavor};
use serde_json::json;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn answer(server: &MockServer, verb: &str, suffix: &str, response: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(format!("{}{suffix}", prefix(Flavor::Cloud))))
        .respond_with(response)
        .mount(server)
        .await;
}

fn no_retries(server: &MockServer) -> JiraClient {
    builder(server, Flavor::Cloud, &ManualTime::new())
        .retry_policy(RetryPolicy::no_retries())
        .build()
        .unwrap()
}

fn create_request() -> CreateIssueRequest {
    CreateIssueRequest::builder("SEC", "Bug", "[Penaxtra] x").build()
}

#[tokio::test]
async fn unauthorized_as_401_in_every_body_shape() {
    for body in [
        ResponseTemplate::new(401).set_body_json(
            json!({"message":"Client must be authenticated to access this resource.","status-code":401}),
        ),
        ResponseTemplate::new(401),
        ResponseTemplate::new(401)
            .insert_header("content-type", "text/html")
            .set_body_string("<html><body><h1>Unauthorized (401)</h1></body></html>"),
    ] {
        let server = MockServer::start().await;
        answer(&server, "GET", "/myself", body).await;
        let e = client(&server, Flavor::Cloud).myself().await.unwrap_err();
        assert_eq!(e.code(), "unauthorized");
        assert_eq!(e.kind(), ErrorKind::Unauthorized);
        assert_eq!(e.status(), Some(401));
        assert_eq!(e.fix(), Some("Re-mint the token; verify the service-account e-mail"));
        assert!(!e.is_retryable());
        assert_eq!(e.attempts(), 1);
    }
}

#[tokio::test]
async fn unauthorized_as_200_with_seraph_header() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        "/myself",
        ResponseTemplate::new(200)
            .insert_header("X-Seraph-LoginReason", "AUTHENTICATED_FAILED")
            .set_body_json(json!({"name":"anonymous"})),
    )
    .await;
    let e = client(&server, Flavor::Cloud).myself().await.unwrap_err();
    assert_eq!(e.code(), "unauthorized");
    assert_eq!(e.status(), Some(200));
    assert!(e.to_string().contains("AUTHENTICATED_FAILED"));
}

#[tokio::test]
async fn forbidden_on_create_is_issue_create_forbidden() {
    let server = MockServer::start().await;
    let body = json!({"errorMessages":["You do not have permission to create issues in this project."],"errors":{}});
    answer(
        &server,
        "POST",
        "/issue",
        ResponseTemplate::new(403).set_body_json(&body),
    )
    .await;
    answer(
        &server,
        "GET",
        "/project/SEC",
        ResponseTemplate::new(403).set_body_json(&body),
    )
    .await;
    let c = client(&server, Flavor::Cloud);
    let e = c.create_issue(&create_request()).await.unwrap_err();
    assert_eq!(e.code(), "issue_create_forbidden");
    assert!(e.fix().unwrap().contains("permission scheme"));
    assert!(!e.may_have_been_sent());
    assert_eq!(c.project("SEC").await.unwrap_err().code(), "forbidden");
}

#[tokio::test]
async fn unknown_custom_field_as_400_or_404() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        "/issue",
        ResponseTemplate::new(400).set_body_json(json!({"errorMessages":[],"errors":{
            "customfield_10031":"Field 'customfield_10031' cannot be set. It is not on the appropriate screen, or unknown."}})),
    )
    .await;
    answer(
        &server,
        "PUT",
        "/issue/SEC-1",
        ResponseTemplate::new(404).set_body_json(json!({"errorMessages":["Field 'customfield_99999' does not exist or you do not have permission to view it."]})),
    )
    .await;
    let c = client(&server, Flavor::Cloud);
    let e = c.create_issue(&create_request()).await.unwrap_err();
    assert_eq!(e.code(), "customfield_unknown");
    assert_eq!(e.custom_fields(), ["customfield_10031"]);
    assert_eq!(
        e.fix(),
        Some("Re-pick the field in the integration settings")
    );
    let e = c
        .edit_issue(
            "SEC-1",
            &jira_model::EditIssueRequest::new().set("customfield_99999", json!("x")),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "customfield_unknown");
    assert_eq!(e.status(), Some(404));
}

#[tokio::test]
async fn not_found_gone_and_unexpected() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        "/project/NOPE",
        ResponseTemplate::new(404).set_body_json(
            json!({"errorMessages":["No project could be found with key 'NOPE'."],"errors":{}}),
        ),
    )
    .await;
    answer(&server, "POST", "/search/jql", ResponseTemplate::new(410)).await;
    answer(
        &server,
        "DELETE",
        "/issue/SEC-1",
        ResponseTemplate::new(409).set_body_json(json!({"errorMessages":["conflict"]})),
    )
    .await;
    answer(
        &server,
        "PUT",
        "/issue/SEC-1",
        ResponseTemplate::new(405)
            .set_body_json(json!({"message":"Method Not Allowed","status-code":405})),
    )
    .await;
    let c = client(&server, Flavor::Cloud);
    let e = c.project("NOPE").await.unwrap_err();
    assert_eq!(e.code(), "not_found");
    assert!(e.to_string().contains("No project could be found"));
    let e = c.search_all("project = SEC", &[]).await.unwrap_err();
    assert_eq!(e.code(), "gone");
    assert!(e.jira_messages().is_none());
    let e = c.delete_issue("SEC-1").await.unwrap_err();
    assert_eq!(e.code(), "conflict");
    assert_eq!(e.status(), Some(409));
    let e = c
        .edit_issue(
            "SEC-1",
            &jira_model::EditIssueRequest::new().set("summary", json!("x")),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "unexpected_status");
    assert_eq!(e.status(), Some(405));
}

#[tokio::test]
async fn invalid_request_keeps_jiras_messages() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        "/issue",
        ResponseTemplate::new(400).set_body_json(json!({"errorMessages":["Field 'priority' is required"],"errors":{},"warningMessages":["deprecated field"]})),
    )
    .await;
    let e = client(&server, Flavor::Cloud)
        .create_issue(&create_request())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_request");
    let body = e.jira_messages().unwrap();
    assert_eq!(body.messages, ["Field 'priority' is required"]);
    assert_eq!(body.warnings, ["deprecated field"]);
    assert!(
        e.to_string()
            .contains("Jira said: Field 'priority' is required")
    );
}

#[tokio::test]
async fn content_limit_exceeded() {
    for response in [
        ResponseTemplate::new(400).set_body_json(json!({"errorMessages":["CONTENT_LIMIT_EXCEEDED"],"errors":{}})),
        ResponseTemplate::new(400).set_body_json(json!({"errorMessages":[],"errors":{"summary":"Summary must be less than 255 characters."}})),
        ResponseTemplate::new(413).set_body_string("<html>Request Entity Too Large</html>"),
    ] {
        let server = MockServer::start().await;
        answer(&server, "POST", "/issue", response).await;
        let e = client(&server, Flavor::Cloud)
            .create_issue(&create_request())
            .await
            .unwrap_err();
        assert_eq!(e.code(), "content_limit_exceeded");
    }
}

#[tokio::test]
async fn rate_limited_after_retries_with_html_body() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "3")
                .insert_header("content-type", "text/html")
                .set_body_string("<html><body>Too many requests</body></html>"),
        )
        .expect(3)
        .mount(&server)
        .await;
    let time = ManualTime::new();
    let c = builder(&server, Flavor::Cloud, &time)
        .retry_policy(retries(3, 60))
        .build()
        .unwrap();
    let e = c.myself().await.unwrap_err();
    assert_eq!(e.code(), "rate_limited");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(e.attempts(), 3);
    assert!(e.is_retryable());
    assert!(
        e.jira_messages()
            .unwrap()
            .text
            .as_deref()
            .unwrap()
            .contains("Too many requests")
    );
    assert_eq!(
        time.sleeps(),
        [Duration::from_secs(3), Duration::from_secs(3)]
    );
}

#[tokio::test]
async fn server_errors_with_xml_or_empty_bodies() {
    for response in [
        ResponseTemplate::new(500)
            .insert_header("content-type", "application/xml")
            .set_body_string("<?xml version=\"1.0\"?><status><status-code>500</status-code><message>NullPointerException</message></status>"),
        ResponseTemplate::new(502),
        ResponseTemplate::new(503),
    ] {
        let server = MockServer::start().await;
        answer(&server, "GET", "/serverInfo", response).await;
        let e = no_retries(&server).server_info().await.unwrap_err();
        assert_eq!(e.code(), "server");
        assert!(e.is_retryable());
    }
}

#[tokio::test]
async fn decode_errors_name_the_problem() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        "/myself",
        ResponseTemplate::new(200).set_body_json(json!({"accountId":"x","active":"yes"})),
    )
    .await;
    answer(
        &server,
        "GET",
        "/serverInfo",
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/html")
            .set_body_string("<!DOCTYPE html><html><title>Log in - Atlassian</title></html>"),
    )
    .await;
    answer(&server, "GET", "/field", ResponseTemplate::new(200)).await;
    answer(
        &server,
        "GET",
        "/issue/SEC-1/transitions",
        ResponseTemplate::new(200)
            .set_body_json(json!({"transitions":[{"id":"1","name":"x","to":{"name":5}}]})),
    )
    .await;
    let c = no_retries(&server);
    let e = c.myself().await.unwrap_err();
    assert_eq!(e.code(), "decode");
    assert!(e.to_string().contains("`active`"), "{e}");
    let e = c.server_info().await.unwrap_err();
    assert_eq!(e.code(), "decode");
    assert!(e.to_string().contains("HTML"), "{e}");
    let e = c.fields().await.unwrap_err();
    assert!(e.to_string().contains("empty body"), "{e}");
    let e = c.transitions("SEC-1").await.unwrap_err();
    assert!(e.to_string().contains("`transitions[0].to.name`"), "{e}");
}

#[tokio::test]
async fn a_created_issue_that_cannot_be_read_may_exist() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        "/issue",
        ResponseTemplate::new(201).set_body_string("not json"),
    )
    .await;
    let e = client(&server, Flavor::Cloud)
        .create_issue(&create_request())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "decode");
    assert!(e.may_have_been_sent());
    assert_eq!(e.status(), Some(201));
}

#[tokio::test]
async fn errors_are_cheap_clones_with_sources() {
    use std::error::Error as _;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = JiraClient::builder(
        &format!("http://127.0.0.1:{port}"),
        Flavor::Cloud,
        jira_client::PatAuth::new("t0ken-value".into()),
    )
    .url_policy(jira_client::UrlPolicy::default().allow_loopback())
    .retry_policy(RetryPolicy::no_retries())
    .build()
    .unwrap();
    let e = c.myself().await.unwrap_err();
    assert_eq!(e.code(), "transport");
    assert!(e.source().is_some());
    let copy = e.clone();
    assert_eq!(copy.to_string(), e.to_string());
}

#[tokio::test]
async fn an_anonymous_404_is_unauthorized_not_a_missing_issue() {
    // Jira Cloud serves an expired API token as an anonymous user: the
    // issue exists but is invisible. Reading it as `not_found` would make
    // reconciliation unlink a live issue.
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        "/issue/SEC-1",
        ResponseTemplate::new(404)
            .insert_header("X-Seraph-LoginReason", "AUTHENTICATED_FAILED")
            .set_body_json(json!({"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}})),
    )
    .await;
    let e = client(&server, Flavor::Cloud)
        .get_issue("SEC-1", &["status"])
        .await
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("unauthorized", Some(404)));
    // And an anonymous, empty search is no "nothing found".
    answer(
        &server,
        "POST",
        "/search/jql",
        ResponseTemplate::new(200)
            .insert_header("X-Seraph-LoginReason", "AUTHENTICATED_FAILED")
            .set_body_json(json!({"issues": [], "isLast": true})),
    )
    .await;
    let e = client(&server, Flavor::Cloud)
        .search_all("project = SEC AND labels = penaxtra", &["key"])
        .await
        .unwrap_err();
    assert_eq!(e.code(), "unauthorized");
}

#[tokio::test]
async fn a_captcha_lockout_is_its_own_code_with_the_browser_fix() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/2/myself"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("X-Seraph-LoginReason", "AUTHENTICATION_DENIED")
                .insert_header(
                    "X-Authentication-Denied-Reason",
                    "CAPTCHA_CHALLENGE; login-url=https://jira.corp.example/login.jsp",
                )
                .set_body_string("<html><body>Forbidden</body></html>"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = builder(&server, Flavor::DataCenter, &ManualTime::new())
        .retry_policy(retries(5, 60))
        .build()
        .unwrap();
    let e = c.myself().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CaptchaRequired);
    assert_eq!(e.code(), "captcha_required");
    assert!(
        !e.is_retryable(),
        "another login would only count as another failure"
    );
    assert!(
        e.fix()
            .unwrap()
            .starts_with("Sign in once in the browser as the service account")
    );
    assert!(!e.to_string().contains("login.jsp"));
}

#[tokio::test]
async fn a_conflicting_transition_is_returned_for_the_caller_to_decide_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/SEC-1/transitions"))
        .respond_with(ResponseTemplate::new(409).set_body_json(
            json!({"errorMessages":["The issue is being transitioned by another request."],"errors":{}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let c = builder(&server, Flavor::Cloud, &ManualTime::new())
        .retry_policy(retries(5, 60))
        .build()
        .unwrap();
    let e = c
        .transition("SEC-1", &jira_model::TransitionRequest::new("21"))
        .await
        .unwrap_err();
    assert_eq!((e.code(), e.kind()), ("conflict", ErrorKind::Conflict));
    assert!(e.is_retryable(), "worth trying again, after a fresh read");
    assert_eq!(e.attempts(), 1, "never repeated blindly by the client");
}
