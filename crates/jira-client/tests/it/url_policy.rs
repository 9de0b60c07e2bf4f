//! The operator's URL policy: a tenant's base URL cannot make the client
//! connect inward. Each refusal is checked against a canary listener that
//! counts the connections it accepts: a refused URL reaches nothing.
//!
//! Only loopback URLs are ever called: a URL naming any other address must
//! be refused by `build`, so a broken policy fails the test instead of
//! sending traffic off this machine.

use crate::support::{ManualTime, PAT, builder};
use jira_client::{JiraClient, PatAuth, UrlPolicy};
use jira_model::Flavor;
use serde_json::json;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A listener on 127.0.0.1 that counts the connections it accepts.
struct Canary {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Canary {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Self { port, accepted }
    }

    async fn accepted(&self) -> usize {
        // Let a connection in flight be accepted before counting.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        self.accepted.load(Ordering::SeqCst)
    }
}

fn is_loopback_url(url: &str) -> bool {
    let Ok(u) = Url::parse(url) else {
        return false;
    };
    match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => {
            IpAddr::V6(ip).is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Builds a client for `url` with `policy` and, when it builds, calls
/// `myself`: the error, from either step.
async fn refusal(url: &str, flavor: Flavor, policy: UrlPolicy) -> jira_client::Error {
    let time = ManualTime::new();
    let built = JiraClient::builder(url, flavor, PatAuth::new(PAT.into()))
        .url_policy(policy)
        .sleeper(time.clone())
        .clock(time.clone())
        .build();
    let client = match built {
        Err(e) => return e,
        Ok(c) => c,
    };
    assert!(
        is_loopback_url(url),
        "{url} was not refused at build time; not calling it from a test"
    );
    client
        .myself()
        .await
        .expect_err("the policy must refuse the call")
}

#[tokio::test]
async fn the_strict_policy_refuses_every_inward_url_and_connects_to_nothing() {
    let canary = Canary::start().await;
    let port = canary.port;
    let cases: Vec<(String, Flavor)> = vec![
        (format!("http://127.0.0.1:{port}"), Flavor::DataCenter),
        (format!("https://127.0.0.1:{port}"), Flavor::DataCenter),
        (format!("https://127.0.0.1:{port}"), Flavor::Cloud),
        (format!("http://localhost:{port}"), Flavor::DataCenter),
        // Checked at connect time: the name resolves to loopback.
        (format!("https://localhost:{port}"), Flavor::DataCenter),
        (format!("https://LocalHost:{port}/jira"), Flavor::DataCenter),
        (format!("http://2130706433:{port}"), Flavor::DataCenter),
        (format!("https://2130706433:{port}"), Flavor::DataCenter),
        (format!("https://0x7f000001:{port}"), Flavor::DataCenter),
        (
            format!("https://[::ffff:127.0.0.1]:{port}"),
            Flavor::DataCenter,
        ),
        (format!("https://[::1]:{port}"), Flavor::DataCenter),
        ("https://10.1.2.3".into(), Flavor::DataCenter),
        ("https://169.254.169.254".into(), Flavor::DataCenter),
        (
            "https://[::ffff:169.254.169.254]".into(),
            Flavor::DataCenter,
        ),
        ("https://[64:ff9b::a9fe:a9fe]".into(), Flavor::DataCenter),
        ("https://192.168.0.1".into(), Flavor::DataCenter),
        ("https://100.64.0.1".into(), Flavor::DataCenter),
        ("https://[fd00::1]".into(), Flavor::DataCenter),
        ("https://0.0.0.0".into(), Flavor::DataCenter),
        ("http://acme.atlassian.net".into(), Flavor::Cloud),
        ("https://jira.corp.example".into(), Flavor::Cloud),
        ("https://evilatlassian.net".into(), Flavor::Cloud),
        (
            "https://acme.atlassian.net.evil.example".into(),
            Flavor::Cloud,
        ),
    ];
    for (url, flavor) in &cases {
        let e = refusal(url, *flavor, UrlPolicy::default()).await;
        assert_eq!(e.code(), "url_refused", "{url}: {e}");
        assert!(!e.is_retryable(), "{url}");
        assert!(!e.may_have_been_sent(), "{url}");
        assert!(e.attempts() <= 1, "{url}: retried {} times", e.attempts());
        assert!(e.fix().unwrap().contains("operator"), "{e}");
        assert!(e.status().is_none());
    }
    assert_eq!(
        canary.accepted().await,
        0,
        "a refused URL reached the canary"
    );
}

#[tokio::test]
async fn a_name_resolving_inward_is_refused_at_connect_time_without_retries() {
    let canary = Canary::start().await;
    let url = format!("https://localhost:{}/jira", canary.port);
    // The URL itself passes: only its addresses are refused.
    let e = refusal(&url, Flavor::DataCenter, UrlPolicy::default()).await;
    assert_eq!(e.code(), "url_refused", "{e}");
    // One attempt under the default retry policy (5 attempts): a refusal
    // is final.
    assert_eq!(e.attempts(), 1, "{e}");
    assert_eq!(e.request(), Some("GET /jira/rest/api/2/myself"));
    let text = e.to_string();
    assert!(text.contains("localhost resolves to 127.0.0.1"), "{text}");
    assert!(text.contains("a loopback address"), "{text}");
    assert!(text.contains("operator's URL policy allows"), "{text}");
    assert_eq!(canary.accepted().await, 0);
    // A listed private range does not open loopback.
    let corp = UrlPolicy::default().allow_cidr("10.0.0.0/8").unwrap();
    let e = refusal(&url, Flavor::DataCenter, corp).await;
    assert_eq!(e.code(), "url_refused", "{e}");
    assert!(e.to_string().contains("10.0.0.0/8"), "{e}");
    assert_eq!(canary.accepted().await, 0);
}

#[tokio::test]
async fn build_time_refusals_say_what_and_never_echo_the_path() {
    let e = JiraClient::builder(
        "https://192.168.0.1/jira/secret-path",
        Flavor::DataCenter,
        PatAuth::new(PAT.into()),
    )
    .build()
    .unwrap_err();
    assert_eq!(e.code(), "url_refused");
    let text = e.to_string();
    assert!(text.contains("192.168.0.1 is a private address"), "{text}");
    assert!(text.contains("ask your operator"), "{text}");
    assert!(!text.contains("secret-path"), "{text}");
    // A URL with user info or a query is a configuration error, and is
    // not echoed either.
    let e = JiraClient::builder(
        "https://bot:hunter2@10.0.0.1/?token=hunter2",
        Flavor::DataCenter,
        PatAuth::new(PAT.into()),
    )
    .build()
    .unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

#[tokio::test]
async fn the_loopback_opt_in_reaches_a_local_jira_by_address_and_by_name() {
    let jira = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/2/myself"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"key": "bot"})))
        .expect(2)
        .mount(&jira)
        .await;
    let port = jira.address().port();
    for url in [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
    ] {
        let c = JiraClient::builder(&url, Flavor::DataCenter, PatAuth::new(PAT.into()))
            .url_policy(UrlPolicy::default().allow_loopback())
            .build()
            .unwrap();
        assert_eq!(c.myself().await.unwrap().identity(), Some("bot"), "{url}");
    }
    // The same URL without the opt-in is refused, and never sent.
    let e = refusal(&jira.uri(), Flavor::DataCenter, UrlPolicy::default()).await;
    assert_eq!(e.code(), "url_refused");
}

#[test]
fn atlassian_hosts_pass_the_build_time_check() {
    for url in [
        "https://acme.atlassian.net",
        "https://ACME.atlassian.net/",
        "https://acme.jira.com",
        "https://api.atlassian.com/ex/jira/11223344-a1b2-3b33-c444-def123456789",
    ] {
        let c = JiraClient::builder(url, Flavor::Cloud, PatAuth::new(PAT.into()))
            .build()
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(c.flavor(), Flavor::Cloud);
    }
    // A Data Center host name passes too: its addresses are checked when
    // they are resolved.
    assert!(
        JiraClient::builder(
            "https://jira.corp.example/jira",
            Flavor::DataCenter,
            PatAuth::new(PAT.into())
        )
        .build()
        .is_ok()
    );
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed() {
    let jira = MockServer::start().await;
    let canary = Canary::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/myself"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "Location",
            format!("http://127.0.0.1:{}/rest/api/3/myself", canary.port),
        ))
        .expect(1)
        .mount(&jira)
        .await;
    // The loopback opt-in allows the canary's address too: only the
    // redirect rule keeps the client away from it.
    let c = builder(&jira, Flavor::Cloud, &ManualTime::new())
        .build()
        .unwrap();
    let e = c.myself().await.unwrap_err();
    assert_eq!(e.code(), "redirect", "{e}");
    assert_eq!(e.status(), Some(302));
    assert_eq!(canary.accepted().await, 0, "the redirect was followed");
}
