//! The retry and backoff schedule, on paused tokio time or simulated time.

use crate::support::{
    FLAVORS, ManualTime, PAT, RecordingSleep, builder, client, prefix, retries, t0,
};
use jira_client::{JiraClient, PatAuth, RetryPolicy};
use jira_model::{CreateIssueRequest, Flavor};
use serde_json::json;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn create_request() -> CreateIssueRequest {
    CreateIssueRequest::builder("SEC", "Bug", "[Penaxtra] x").build()
}

fn created() -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({"id":"1","key":"SEC-1"}))
}

/// A mock answering `first` once (highest priority), then `then`.
async fn once_then(
    server: &MockServer,
    verb: &str,
    p: &str,
    first: ResponseTemplate,
    then: ResponseTemplate,
) {
    Mock::given(method(verb))
        .and(path(p))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method(verb))
        .and(path(p))
        .respond_with(then)
        .with_priority(2)
        .mount(server)
        .await;
}

/// A client on real tokio sleeps (paused in these tests), recording them.
fn paused_client(server: &MockServer, flavor: Flavor, sleep: &Arc<RecordingSleep>) -> JiraClient {
    let auth = PatAuth::new(PAT.into());
    JiraClient::builder(&server.uri(), flavor, auth)
        .url_policy(jira_client::UrlPolicy::default().allow_loopback())
        .without_timeouts()
        .without_rate_limit()
        .sleeper(sleep.clone())
        .retry_policy(retries(5, 60))
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn retry_after_zero_retries_at_once() {
    for flavor in FLAVORS {
        let server = MockServer::start().await;
        let p = format!("{}/myself", prefix(flavor));
        once_then(
            &server,
            "GET",
            &p,
            ResponseTemplate::new(429).insert_header("Retry-After", "0"),
            ResponseTemplate::new(200).set_body_json(json!({"name":"bot"})),
        )
        .await;
        let sleep = RecordingSleep::new();
        let me = paused_client(&server, flavor, &sleep)
            .myself()
            .await
            .unwrap();
        assert_eq!(me.name.as_deref(), Some("bot"));
        // `0` is a delay of zero, not a missing header (which would back off).
        assert_eq!(sleep.sleeps(), [Duration::ZERO]);
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_seconds_is_waited_exactly_on_paused_time() {
    let server = MockServer::start().await;
    once_then(
        &server,
        "GET",
        "/rest/api/2/serverInfo",
        ResponseTemplate::new(429).insert_header("Retry-After", "17"),
        ResponseTemplate::new(200).set_body_json(json!({"version":"9.12.4"})),
    )
    .await;
    let sleep = RecordingSleep::new();
    let start = tokio::time::Instant::now();
    paused_client(&server, Flavor::DataCenter, &sleep)
        .server_info()
        .await
        .unwrap();
    assert_eq!(sleep.sleeps(), [Duration::from_secs(17)]);
    assert!(tokio::time::Instant::now() - start >= Duration::from_secs(17));
}

#[tokio::test]
async fn retry_after_http_date_and_rate_limit_reset() {
    let server = MockServer::start().await;
    let date = httpdate::fmt_http_date(t0() + Duration::from_secs(42));
    once_then(
        &server,
        "GET",
        "/rest/api/3/myself",
        ResponseTemplate::new(429).insert_header("Retry-After", date.as_str()),
        ResponseTemplate::new(200).set_body_json(json!({"accountId":"a"})),
    )
    .await;
    once_then(
        &server,
        "GET",
        "/rest/api/3/field",
        ResponseTemplate::new(429)
            .insert_header("X-RateLimit-Reset", "2023-11-14T22:15:00Z")
            .insert_header("RateLimit-Reason", "jira-quota-tenant-based"),
        ResponseTemplate::new(200).set_body_json(json!([])),
    )
    .await;
    let time = ManualTime::new();
    let c = builder(&server, Flavor::Cloud, &time)
        .retry_policy(retries(3, 600))
        .build()
        .unwrap();
    c.myself().await.unwrap();
    assert_eq!(time.sleeps(), [Duration::from_secs(42)]);
    // t0 is 22:13:20Z; 42 s have passed; the reset is at 22:15:00Z.
    c.fields().await.unwrap();
    assert_eq!(time.sleeps()[1], Duration::from_secs(100 - 42));
    let status = c.rate_limit_status().unwrap();
    assert_eq!(status.reason.as_deref(), Some("jira-quota-tenant-based"));
}

#[tokio::test(start_paused = true)]
async fn backoff_without_retry_after_is_capped_full_jitter() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .expect(6)
        .mount(&server)
        .await;
    let sleep = RecordingSleep::new();
    let policy = RetryPolicy::new(
        NonZeroU32::new(6).unwrap(),
        Duration::from_secs(600),
        Duration::from_millis(400),
        Duration::from_secs(2),
    );
    let c = JiraClient::builder(&server.uri(), Flavor::DataCenter, PatAuth::new(PAT.into()))
        .url_policy(jira_client::UrlPolicy::default().allow_loopback())
        .without_timeouts()
        .without_rate_limit()
        .sleeper(sleep.clone())
        .retry_policy(policy)
        .build()
        .unwrap();
    let e = c.myself().await.unwrap_err();
    assert_eq!(e.code(), "server");
    assert_eq!(e.attempts(), 6);
    let sleeps = sleep.sleeps();
    assert_eq!(sleeps.len(), 5);
    let caps = [400, 800, 1600, 2000, 2000].map(Duration::from_millis);
    for (s, cap) in sleeps.iter().zip(caps) {
        assert!(*s <= cap, "{s:?} > {cap:?}");
    }
}

#[tokio::test]
async fn total_wait_budget_stops_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "20"))
        .expect(3)
        .mount(&server)
        .await;
    let time = ManualTime::new();
    let c = builder(&server, Flavor::Cloud, &time)
        .retry_policy(retries(10, 50))
        .build()
        .unwrap();
    let e = c.myself().await.unwrap_err();
    assert_eq!(e.code(), "rate_limited");
    assert_eq!(e.attempts(), 3);
    assert_eq!(
        time.sleeps(),
        [Duration::from_secs(20), Duration::from_secs(20)]
    );
    assert_eq!(e.retry_after(), Some(Duration::from_secs(20)));
}

#[tokio::test]
async fn a_retry_after_beyond_the_budget_is_returned_not_waited() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let time = ManualTime::new();
    let c = builder(&server, Flavor::Cloud, &time).build().unwrap();
    let e = c.myself().await.unwrap_err();
    assert_eq!(e.code(), "rate_limited");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
    assert!(time.sleeps().is_empty());
}

#[tokio::test]
async fn create_is_not_retried_after_a_5xx() {
    for status in [500, 502, 503, 504] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/rest/api/3/issue"))
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
        let time = ManualTime::new();
        let c = builder(&server, Flavor::Cloud, &time).build().unwrap();
        let e = c.create_issue(&create_request()).await.unwrap_err();
        assert_eq!(e.code(), "server");
        assert!(e.may_have_been_sent(), "{status}");
        assert!(e.is_retryable());
        assert_eq!(e.attempts(), 1);
        assert!(time.sleeps().is_empty());
        assert!(e.to_string().contains("may have taken effect"));
    }
}

#[tokio::test(start_paused = true)]
async fn create_is_retried_after_a_429() {
    let server = MockServer::start().await;
    once_then(
        &server,
        "POST",
        "/rest/api/2/issue",
        ResponseTemplate::new(429).insert_header("Retry-After", "2"),
        created(),
    )
    .await;
    let sleep = RecordingSleep::new();
    let c = paused_client(&server, Flavor::DataCenter, &sleep);
    assert_eq!(
        c.create_issue(&create_request()).await.unwrap().key,
        "SEC-1"
    );
    assert_eq!(sleep.sleeps(), [Duration::from_secs(2)]);
}

#[tokio::test]
async fn idempotent_calls_are_retried_after_a_5xx() {
    let server = MockServer::start().await;
    once_then(
        &server,
        "GET",
        "/rest/api/3/myself",
        ResponseTemplate::new(500),
        ResponseTemplate::new(200).set_body_json(json!({"accountId":"a"})),
    )
    .await;
    once_then(
        &server,
        "PUT",
        "/rest/api/3/issue/SEC-1",
        ResponseTemplate::new(502),
        ResponseTemplate::new(204),
    )
    .await;
    once_then(
        &server,
        "DELETE",
        "/rest/api/3/issue/SEC-2",
        ResponseTemplate::new(504),
        ResponseTemplate::new(204),
    )
    .await;
    // A search is a POST, but a read: retried too.
    once_then(
        &server,
        "POST",
        "/rest/api/3/search/jql",
        ResponseTemplate::new(500),
        ResponseTemplate::new(200).set_body_json(json!({"issues":[],"isLast":true})),
    )
    .await;
    let time = ManualTime::new();
    let c = builder(&server, Flavor::Cloud, &time).build().unwrap();
    c.myself().await.unwrap();
    c.edit_issue(
        "SEC-1",
        &jira_model::EditIssueRequest::new().set("labels", json!([])),
    )
    .await
    .unwrap();
    c.delete_issue("SEC-2").await.unwrap();
    assert!(c.search_all("project = SEC", &[]).await.unwrap().is_empty());
    assert_eq!(time.sleeps().len(), 4);
}

#[tokio::test]
async fn non_idempotent_posts_are_not_retried_after_a_5xx() {
    let server = MockServer::start().await;
    for suffix in ["/issue/SEC-1/transitions", "/issue/SEC-1/comment"] {
        Mock::given(method("POST"))
            .and(path(format!("/rest/api/2{suffix}")))
            .respond_with(ResponseTemplate::new(500))
            .expect(1)
            .mount(&server)
            .await;
    }
    let c = client(&server, Flavor::DataCenter);
    let e = c
        .transition("SEC-1", &jira_model::TransitionRequest::new("31"))
        .await
        .unwrap_err();
    assert!(e.may_have_been_sent());
    let e = c
        .add_comment(
            "SEC-1",
            &jira_model::AddCommentRequest::new(jira_model::Description::Wiki("c".into())),
        )
        .await
        .unwrap_err();
    assert!(e.may_have_been_sent());
}

#[tokio::test]
async fn create_timeout_is_not_retried_and_may_have_been_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(created().set_delay(Duration::from_secs(5)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"name":"bot"}))
                .set_delay(Duration::from_secs(5)),
        )
        .expect(2)
        .mount(&server)
        .await;
    let time = ManualTime::new();
    let c = builder(&server, Flavor::DataCenter, &time)
        .timeout(Duration::from_millis(300))
        .retry_policy(retries(2, 60))
        .build()
        .unwrap();
    let e = c.create_issue(&create_request()).await.unwrap_err();
    assert_eq!(e.code(), "timeout");
    assert!(e.may_have_been_sent());
    assert_eq!(e.attempts(), 1);
    let e = c.myself().await.unwrap_err();
    assert_eq!(e.code(), "timeout");
    assert_eq!(e.attempts(), 2);
}

/// A TCP server that reads a request and closes the connection without
/// answering, counting connections.
async fn resetting_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            seen.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            drop(socket);
        }
    });
    (format!("http://{addr}"), count)
}

#[tokio::test]
async fn reset_connection_create_not_retried_get_retried() {
    let (uri, count) = resetting_server().await;
    let time = ManualTime::new();
    let c = JiraClient::builder(&uri, Flavor::DataCenter, PatAuth::new(PAT.into()))
        .url_policy(jira_client::UrlPolicy::default().allow_loopback())
        .sleeper(time.clone())
        .clock(time.clone())
        .without_rate_limit()
        .retry_policy(retries(3, 60))
        .build()
        .unwrap();
    let e = c.create_issue(&create_request()).await.unwrap_err();
    assert_eq!(e.code(), "transport");
    assert!(e.may_have_been_sent());
    assert_eq!(count.load(Ordering::SeqCst), 1);
    let e = c.myself().await.unwrap_err();
    assert_eq!(e.code(), "transport");
    assert_eq!(e.attempts(), 3);
    assert_eq!(count.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn refused_connection_is_retried_even_for_create() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let time = ManualTime::new();
    let c = JiraClient::builder(
        &format!("http://127.0.0.1:{port}"),
        Flavor::DataCenter,
        PatAuth::new(PAT.into()),
    )
    .url_policy(jira_client::UrlPolicy::default().allow_loopback())
    .sleeper(time.clone())
    .clock(time.clone())
    .without_rate_limit()
    .retry_policy(retries(3, 60))
    .build()
    .unwrap();
    let e = c.create_issue(&create_request()).await.unwrap_err();
    assert_eq!(e.code(), "transport");
    assert!(!e.may_have_been_sent());
    assert_eq!(e.attempts(), 3);
    assert_eq!(time.sleeps().len(), 2);
}
