//! A gated client asks its gate immediately before every attempt: a closed
//! gate sends nothing, an open one cuts the attempt's timeout to its
//! budget, and a retry asks again (a claim lost during the backoff stops
//! the second attempt).

use crate::support::{FLAVORS, PAT, prefix};
use async_trait::async_trait;
use jira_client::{ErrorKind, GateClosed, JiraClient, PatAuth, SendGate};
use jira_model::{CreateIssueRequest, Flavor};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A gate that answers `budgets` in turn (`None`: closed) and counts asks.
#[derive(Debug)]
struct Scripted {
    budgets: Vec<Option<Duration>>,
    asked: AtomicUsize,
}

impl Scripted {
    fn new(budgets: Vec<Option<Duration>>) -> Arc<Self> {
        Arc::new(Self {
            budgets,
            asked: AtomicUsize::new(0),
        })
    }
}

#[async_trait]
impl SendGate for Scripted {
    async fn admit(&self) -> Result<Duration, GateClosed> {
        let i = self.asked.fetch_add(1, Ordering::SeqCst);
        match self.budgets.get(i).copied().flatten() {
            Some(budget) => Ok(budget),
            None => Err(GateClosed::new("the claim is gone")),
        }
    }
}

fn request() -> CreateIssueRequest {
    CreateIssueRequest::builder("SEC", "Bug", "[Penaxtra] gated").build()
}

fn client(server: &MockServer, flavor: Flavor) -> JiraClient {
    JiraClient::builder(&server.uri(), flavor, PatAuth::new(PAT.into()))
        .url_policy(jira_client::UrlPolicy::default().allow_loopback())
        .without_rate_limit()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_closed_gate_sends_nothing() {
    for flavor in FLAVORS {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("{}/issue", prefix(flavor))))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id":"1","key":"SEC-1"})))
            .expect(0)
            .mount(&server)
            .await;
        let gate = Scripted::new(vec![None]);
        let e = client(&server, flavor)
            .gated(gate.clone())
            .create_issue(&request())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Withheld, "{flavor:?}: {e}");
        assert_eq!(e.code(), "withheld");
        assert!(!e.may_have_been_sent(), "nothing was sent");
        assert!(e.to_string().contains("the claim is gone"), "{e}");
        assert_eq!(gate.asked.load(Ordering::SeqCst), 1);
        // The same client ungated still sends: the gate belongs to the
        // handle made by `gated`, not to the shared pool.
        server.reset().await;
        Mock::given(method("POST"))
            .and(path(format!("{}/issue", prefix(flavor))))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id":"1","key":"SEC-1"})))
            .expect(1)
            .mount(&server)
            .await;
        client(&server, flavor)
            .create_issue(&request())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn an_open_gate_cuts_the_attempt_to_its_budget() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id":"1","key":"SEC-1"}))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let gate = Scripted::new(vec![Some(Duration::from_millis(200))]);
    // Jira answers 201 after 5 s and the client's own timeout is 30 s:
    // only the gate's budget can turn this attempt into a timeout.
    let e = client(&server, Flavor::Cloud)
        .gated(gate)
        .create_issue(&request())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(
        e.may_have_been_sent(),
        "an attempt cut short may have reached Jira"
    );
}

#[tokio::test]
async fn a_retry_asks_the_gate_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/api/2/issue"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .expect(1)
        .mount(&server)
        .await;
    let gate = Scripted::new(vec![Some(Duration::from_secs(10)), None]);
    let e = client(&server, Flavor::DataCenter)
        .gated(gate.clone())
        .create_issue(&request())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Withheld, "{e}");
    assert_eq!(
        gate.asked.load(Ordering::SeqCst),
        2,
        "asked before the first attempt and again before the retry"
    );
}
