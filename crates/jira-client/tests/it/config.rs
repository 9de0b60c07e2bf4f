//! Building a client: checked configuration, no silent fallbacks.

use crate::support::{PAT, retries};
use jira_client::{JiraClient, PatAuth, RetryPolicy, UrlPolicy};
use jira_model::Flavor;
use std::num::NonZeroU32;
use std::time::Duration;

fn build_with(url: &str, policy: UrlPolicy) -> Result<JiraClient, jira_client::Error> {
    JiraClient::builder(url, Flavor::DataCenter, PatAuth::new(PAT.into()))
        .url_policy(policy)
        .build()
}

fn build(url: &str) -> Result<JiraClient, jira_client::Error> {
    build_with(url, UrlPolicy::default().allow_loopback())
}

#[test]
fn https_is_required_outside_loopback() {
    assert!(build("https://jira.corp.example/jira").is_ok());
    assert!(build("http://127.0.0.1:8080").is_ok());
    assert!(build("http://127.3.4.5:8080/").is_ok());
    assert!(build("http://localhost:8080").is_ok());
    assert!(build("http://[::1]:8080").is_ok());
    for refused in ["http://jira.corp.example", "http://192.168.1.10"] {
        let e = build(refused).unwrap_err();
        assert_eq!(e.code(), "url_refused", "{refused}");
    }
    // Without the operator's loopback opt-in, loopback is refused too.
    for refused in ["http://127.0.0.1:8080", "http://localhost:8080"] {
        let e = build_with(refused, UrlPolicy::default()).unwrap_err();
        assert_eq!(e.code(), "url_refused", "{refused}");
    }
    for bad in [
        "ftp://jira.corp.example",
        "jira.corp.example",
        "https://bot:pw@jira.corp.example",
        "https://jira.corp.example/?os_authType=basic",
        "",
    ] {
        let e = build(bad).unwrap_err();
        assert_eq!(e.code(), "config", "{bad}");
        assert!(!e.to_string().contains("pw@"), "{e}");
        assert_eq!(e.fix(), Some("Fix the client configuration"));
    }
}

#[test]
fn inconsistent_settings_are_refused() {
    let b = || {
        JiraClient::builder(
            "https://jira.atlassian.net",
            Flavor::Cloud,
            PatAuth::new(PAT.into()),
        )
    };
    assert_eq!(
        b().timeout(Duration::ZERO).build().unwrap_err().code(),
        "config"
    );
    assert_eq!(
        b().connect_timeout(Duration::ZERO)
            .build()
            .unwrap_err()
            .code(),
        "config"
    );
    let backwards = RetryPolicy::new(
        NonZeroU32::MIN,
        Duration::from_secs(1),
        Duration::from_secs(10),
        Duration::from_secs(1),
    );
    assert_eq!(
        b().retry_policy(backwards).build().unwrap_err().code(),
        "config"
    );
    assert_eq!(
        b().user_agent("bad\nagent").build().unwrap_err().code(),
        "config"
    );
    let c = b()
        .retry_policy(retries(2, 5))
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    assert_eq!(c.flavor(), Flavor::Cloud);
    assert!(c.rate_limit_status().is_none());
    let debug = format!("{c:?}");
    assert!(debug.contains("https://jira.atlassian.net"));
    assert!(!debug.contains(PAT));
}

#[test]
fn clients_and_their_futures_can_move_between_tasks() {
    fn send<T: Send>(_: &T) {}
    fn send_sync<T: Send + Sync + Clone + 'static>(_: &T) {}
    let c = build("http://127.0.0.1:9").unwrap();
    send_sync(&c);
    let request = jira_model::CreateIssueRequest::builder("SEC", "Bug", "s").build();
    let requests = [request.clone()];
    send(&c.myself());
    send(&c.create_issue(&request));
    send(&c.bulk_create(&requests));
    send(&c.search_all("project = SEC", &[]));
    let mut pages = c.search("project = SEC", &[]);
    send(&pages.next_page());
}
