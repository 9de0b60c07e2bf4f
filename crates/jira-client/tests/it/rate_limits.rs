//! The local quota shared by clones, and the proactive slow-down Jira's
//! rate-limit headers ask for.

use crate::support::{ManualTime, builder, retries};
use jira_client::RateLimit;
use jira_model::Flavor;
use serde_json::json;
use std::num::NonZeroU32;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn one_per_second() -> RateLimit {
    RateLimit::new(NonZeroU32::MIN, NonZeroU32::MIN)
}

async fn ok_myself(server: &MockServer) {
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name":"bot"})))
        .mount(server)
        .await;
}

#[tokio::test]
async fn clones_share_one_quota() {
    let server = MockServer::start().await;
    ok_myself(&server).await;
    let time = ManualTime::new();
    let a = builder(&server, Flavor::DataCenter, &time)
        .rate_limit(one_per_second())
        .build()
        .unwrap();
    let b = a.clone();
    a.myself().await.unwrap();
    b.myself().await.unwrap();
    a.myself().await.unwrap();
    // Three requests at one a second: the clones waited for each other.
    assert_eq!(time.elapsed(), Duration::from_secs(2));
    assert_eq!(
        time.sleeps(),
        [Duration::from_secs(1), Duration::from_secs(1)]
    );
}

#[tokio::test]
async fn clones_share_one_quota_across_tasks() {
    let server = MockServer::start().await;
    ok_myself(&server).await;
    let time = ManualTime::new();
    let client = builder(&server, Flavor::Cloud, &time)
        .rate_limit(RateLimit::new(NonZeroU32::new(2).unwrap(), NonZeroU32::MIN))
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.myself().await.map(|_| ()) })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
    // Four requests at two a second, one at a time: at least 1.5 s of
    // (simulated) waiting in all.
    assert!(
        time.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        time.elapsed()
    );
}

#[tokio::test]
async fn separate_clients_do_not_share() {
    let server = MockServer::start().await;
    ok_myself(&server).await;
    let time = ManualTime::new();
    let a = builder(&server, Flavor::DataCenter, &time)
        .rate_limit(one_per_second())
        .build()
        .unwrap();
    let b = builder(&server, Flavor::DataCenter, &time)
        .rate_limit(one_per_second())
        .build()
        .unwrap();
    a.myself().await.unwrap();
    b.myself().await.unwrap();
    assert!(time.sleeps().is_empty());
}

#[tokio::test]
async fn cloud_near_limit_spreads_the_remaining_requests_to_the_reset() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/myself"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-RateLimit-Limit", "100")
                .insert_header("X-RateLimit-Remaining", "4")
                .insert_header("X-RateLimit-Reset", "2023-11-14T22:13:40Z")
                .insert_header("X-RateLimit-NearLimit", "true")
                .set_body_json(json!({"accountId":"a"})),
        )
        .mount(&server)
        .await;
    let time = ManualTime::new();
    let c = builder(&server, Flavor::Cloud, &time).build().unwrap();
    c.myself().await.unwrap();
    assert!(time.sleeps().is_empty());
    let status = c.rate_limit_status().unwrap();
    assert_eq!(status.remaining, Some(4));
    assert_eq!(status.near_limit, Some(true));
    // 20 s to the reset, 4 requests left: 5 s apart. A clone waits too.
    c.clone().myself().await.unwrap();
    assert_eq!(time.sleeps(), [Duration::from_secs(5)]);
}

#[tokio::test]
async fn data_center_token_bucket_paces_at_the_fill_rate() {
    let server = MockServer::start().await;
    let bucket = |remaining: &str| {
        ResponseTemplate::new(200)
            .insert_header("X-RateLimit-Limit", "100")
            .insert_header("X-RateLimit-Remaining", remaining)
            .insert_header("X-RateLimit-Interval-Seconds", "60")
            .insert_header("X-RateLimit-FillRate", "10")
            .set_body_json(json!({"name":"bot"}))
    };
    Mock::given(path("/rest/api/2/myself"))
        .respond_with(bucket("90"))
        .mount(&server)
        .await;
    Mock::given(path("/rest/api/2/serverInfo"))
        .respond_with(bucket("3"))
        .mount(&server)
        .await;
    let time = ManualTime::new();
    let c = builder(&server, Flavor::DataCenter, &time).build().unwrap();
    c.myself().await.unwrap();
    c.myself().await.unwrap();
    assert!(time.sleeps().is_empty(), "plenty of tokens: no slow-down");
    c.server_info().await.unwrap();
    c.myself().await.unwrap();
    // 10 tokens a minute: one every 6 s.
    assert_eq!(time.sleeps(), [Duration::from_secs(6)]);
    assert_eq!(c.rate_limit_status().unwrap().fill_rate, Some(10));
}

#[tokio::test]
async fn a_429_holds_every_clone() {
    let server = MockServer::start().await;
    Mock::given(path("/rest/api/3/myself"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "7"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    ok_myself(&server).await;
    let time = ManualTime::new();
    let c = builder(&server, Flavor::Cloud, &time)
        .retry_policy(retries(3, 60))
        .build()
        .unwrap();
    c.myself().await.unwrap();
    assert_eq!(time.sleeps(), [Duration::from_secs(7)]);
    assert_eq!(
        c.rate_limit_status().unwrap().retry_after,
        Some(Duration::from_secs(7))
    );
}

#[tokio::test]
async fn the_default_quota_is_documented_and_applies() {
    assert_eq!(RateLimit::DEFAULT.per_second.get(), 10);
    assert_eq!(RateLimit::DEFAULT.burst.get(), 10);
    let server = MockServer::start().await;
    ok_myself(&server).await;
    let time = ManualTime::new();
    let c = builder(&server, Flavor::Cloud, &time)
        .rate_limit(RateLimit::default())
        .build()
        .unwrap();
    for _ in 0..11 {
        c.myself().await.unwrap();
    }
    // Ten go out as a burst, the eleventh waits a tenth of a second.
    assert_eq!(time.sleeps(), [Duration::from_millis(100)]);
}

/// Time that never moves: a sleep is recorded and returns at once, so a
/// request held by the client's shared slow-down shows as recorded sleeps.
#[derive(Debug, Default)]
struct FrozenTime {
    sleeps: std::sync::Mutex<Vec<Duration>>,
}

impl jira_client::Clock for FrozenTime {
    fn now(&self) -> std::time::SystemTime {
        crate::support::t0()
    }
    fn monotonic(&self) -> Duration {
        Duration::ZERO
    }
}

#[async_trait::async_trait]
impl jira_client::Sleep for FrozenTime {
    async fn sleep(&self, d: Duration) {
        self.sleeps.lock().unwrap().push(d);
        tokio::task::yield_now().await;
    }
}

impl FrozenTime {
    fn take(&self) -> Vec<Duration> {
        std::mem::take(&mut *self.sleeps.lock().unwrap())
    }
}

/// `PUT /issue/SEC-1` is refused once with `reason`; then SEC-1 and SEC-2
/// are edited. Returns the sleeps of each edit.
async fn edits_after_a_429(reason: &str) -> (Vec<Duration>, Vec<Duration>) {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/rest/api/3/issue/SEC-1"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "2")
                .insert_header("RateLimit-Reason", reason)
                .insert_header("X-RateLimit-Reset", "2023-11-14T22:13:22.000Z"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let time = std::sync::Arc::new(FrozenTime::default());
    let c = jira_client::JiraClient::builder(
        &server.uri(),
        Flavor::Cloud,
        jira_client::ApiTokenAuth::new(
            crate::support::EMAIL,
            crate::support::TOKEN.to_string().into(),
        ),
    )
    .url_policy(jira_client::UrlPolicy::default().allow_loopback())
    .sleeper(time.clone())
    .clock(time.clone())
    .without_rate_limit()
    .retry_policy(retries(3, 60))
    .build()
    .unwrap();
    let edit = jira_model::EditIssueRequest::new().set("summary", json!("x"));
    c.edit_issue("SEC-1", &edit).await.unwrap();
    let first = time.take();
    c.edit_issue("SEC-2", &edit).await.unwrap();
    (first, time.take())
}

#[tokio::test]
async fn a_per_issue_429_waits_for_that_issue_only() {
    let (hot, other) = edits_after_a_429("jira-per-issue-on-write").await;
    assert_eq!(
        hot,
        [Duration::from_secs(2)],
        "the refused write waits Retry-After"
    );
    assert!(
        other.is_empty(),
        "another issue's write is not held: {other:?}"
    );
    // A burst refusal holds every request (the control: the same run with
    // another reason does hold the other issue's write).
    // (Time is frozen here, so a held request keeps finding the hold.)
    let (hot, other) = edits_after_a_429("jira-burst-based").await;
    assert_eq!(hot.first(), Some(&Duration::from_secs(2)));
    assert_eq!(other.first(), Some(&Duration::from_secs(2)));
}
