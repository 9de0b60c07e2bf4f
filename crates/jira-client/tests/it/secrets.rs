//! No token, auth header or query string ever appears in an error or a
//! `Debug` output, even when Jira (or a proxy) echoes the secret back.

use crate::support::ManualTime;
use base64::Engine as _;
use jira_client::{ApiTokenAuth, Auth, Error, JiraClient, PatAuth, RetryPolicy};
use jira_model::{CreateIssueRequest, Flavor};
use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn assert_clean(text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "secret leaked into: {text}");
    }
}

fn check(e: &Error, secrets: &[String]) {
    assert_clean(&e.to_string(), secrets);
    assert_clean(&format!("{e:?}"), secrets);
    assert_clean(&format!("{e:#?}"), secrets);
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        assert_clean(&s.to_string(), secrets);
        assert_clean(&format!("{s:?}"), secrets);
        source = s.source();
    }
}

/// Answers that echo the secret in every place Jira puts text.
async fn echoing_server(token: &str, header: &str) -> MockServer {
    let server = MockServer::start().await;
    let mount = |p: &'static str, r: ResponseTemplate| Mock::given(path(p)).respond_with(r);
    mount(
        "/rest/api/3/myself",
        ResponseTemplate::new(401)
            .set_body_json(json!({"message": format!("bad token {token}"), "status-code": 401})),
    )
    .mount(&server)
    .await;
    mount(
        "/rest/api/3/serverInfo",
        ResponseTemplate::new(429)
            .insert_header("content-type", "text/html")
            .set_body_string(format!("<html><pre>Authorization: {header}</pre></html>")),
    )
    .mount(&server)
    .await;
    mount(
        "/rest/api/3/issue",
        ResponseTemplate::new(400).set_body_json(json!({
        "errorMessages": [format!("no {token}")], "errors": {token: format!("{header}")},
        "warningMessages": [token]})),
    )
    .mount(&server)
    .await;
    mount(
        "/rest/api/3/field",
        ResponseTemplate::new(200).set_body_json(json!([{"id": 5, "name": token}])),
    )
    .mount(&server)
    .await;
    mount(
        "/rest/api/3/issue/SEC-1",
        ResponseTemplate::new(200)
            .set_body_json(json!({"key": "SEC-1", "fields": {"status": {"name": [token]}}})),
    )
    .mount(&server)
    .await;
    mount(
        "/rest/api/3/issue/bulk",
        ResponseTemplate::new(201).set_body_json(json!({
        "issues": [], "errors": [{"failedElementNumber": 0, "status": 400,
        "elementErrors": {"errorMessages": [token], "errors": {"customfield_1": header}}}]})),
    )
    .mount(&server)
    .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/project/SEC"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "Location",
            format!("https://u:{token}@evil.example/?t={token}"),
        ))
        .mount(&server)
        .await;
    server
}

async fn every_error(client: &JiraClient) -> Vec<Error> {
    let request = CreateIssueRequest::builder("SEC", "Bug", "s").build();
    let mut out = vec![
        client.myself().await.unwrap_err(),
        client.server_info().await.unwrap_err(),
        client.create_issue(&request).await.unwrap_err(),
        client.fields().await.unwrap_err(),
        client.get_issue("SEC-1", &["status"]).await.unwrap_err(),
        client.project("SEC").await.unwrap_err(),
    ];
    out.extend(
        client
            .bulk_create(&[request])
            .await
            .into_iter()
            .map(|r| r.unwrap_err()),
    );
    out
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn no_error_or_debug_output_contains_the_token(
        token in "[A-Za-z0-9_=+/-]{16,48}",
        email in "[a-z]{3,10}@[a-z]{3,8}\\.example",
    ) {
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{email}:{token}"))
        );
        let credential = header.trim_start_matches("Basic ").to_string();
        let secrets = vec![token.clone(), credential];
        runtime().block_on(async {
            let server = echoing_server(&token, &header).await;
            let auth = ApiTokenAuth::new(email.clone(), SecretString::from(token.clone()));
            assert_clean(&format!("{auth:?}"), &secrets);
            let time = ManualTime::new();
            let builder = JiraClient::builder(&server.uri(), Flavor::Cloud, auth)
.url_policy(jira_client::UrlPolicy::default().allow_loopback())
                .sleeper(time.clone())
                .clock(time.clone())
                .retry_policy(RetryPolicy::no_retries());
            assert_clean(&format!("{builder:?}"), &secrets);
            let client = builder.build().unwrap();
            assert_clean(&format!("{client:?}"), &secrets);
            let errors = every_error(&client).await;
            assert_eq!(errors.len(), 7);
            for e in &errors {
                check(e, &secrets);
            }
            // The echoes were there to scrub: Jira's messages survive, masked.
            assert!(errors[2].to_string().contains("[redacted]"));
            assert_eq!(errors[3].code(), "decode");
            assert_eq!(errors[5].code(), "redirect");
        });
    }

    #[test]
    fn bad_tokens_fail_without_echo(token in "[a-z]{8,20}[\\x00-\\x08\\x0e-\\x1f][a-z]{1,8}") {
        runtime().block_on(async {
            let auth = PatAuth::new(SecretString::from(token.clone()));
            assert!(!format!("{auth:?}").contains(&token));
            // A control character cannot go into a header: a typed error, no echo.
            let client = JiraClient::builder("http://127.0.0.1:9", Flavor::DataCenter, auth)
.url_policy(jira_client::UrlPolicy::default().allow_loopback())
                .build()
                .unwrap();
            let e = client.myself().await.unwrap_err();
            prop_assert_eq!(e.code(), "credentials");
            check(&e, std::slice::from_ref(&token));
            Ok::<(), TestCaseError>(())
        })?;
    }
}

#[tokio::test]
async fn query_strings_never_reach_error_messages() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let client = JiraClient::builder(
        &server.uri(),
        Flavor::DataCenter,
        PatAuth::new("t0ken-abcdef".into()),
    )
    .url_policy(jira_client::UrlPolicy::default().allow_loopback())
    .build()
    .unwrap();
    let e = client
        .get_issue("SEC-9", &["summary", "customfield_10031"])
        .await
        .unwrap_err();
    assert_eq!(e.request(), Some("GET /rest/api/2/issue/SEC-9"));
    assert!(!e.to_string().contains("fields="));
    assert!(!format!("{e:?}").contains("fields="));
}

#[tokio::test]
async fn custom_auth_secrets_are_scrubbed_too() {
    #[derive(Debug)]
    struct Oauth;
    #[async_trait::async_trait]
    impl Auth for Oauth {
        async fn authorization(&self) -> Result<SecretString, Error> {
            Ok(SecretString::from("Bearer oauth-access-123456"))
        }
        fn secrets(&self) -> Vec<SecretString> {
            vec![SecretString::from("refresh-987654")]
        }
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(403).set_body_string("denied oauth-access-123456 refresh-987654"),
        )
        .mount(&server)
        .await;
    let client = jira_client::ClientBuilder::new(&server.uri(), Flavor::Cloud, Oauth)
        .url_policy(jira_client::UrlPolicy::default().allow_loopback())
        .build()
        .unwrap();
    let e = client.myself().await.unwrap_err();
    assert_eq!(e.code(), "forbidden");
    check(&e, &["oauth-access-123456".into(), "refresh-987654".into()]);
    let header = Oauth.authorization().await.unwrap();
    assert!(header.expose_secret().starts_with("Bearer"));
}

/// A non-JSON error body is kept only up to a bound (2,048 bytes). A token
/// that straddles that cut must be masked whole: were the body cut first,
/// the token's first bytes would survive and no longer match the secret.
#[tokio::test]
async fn a_token_across_the_cut_of_a_long_body_leaks_no_prefix() {
    /// The bound of a kept non-JSON body (`jira_model`'s `MAX_TEXT`).
    const KEPT: usize = 2048;
    let token = "Kx9QwV2mTz8LpR4sYb6NhJ3c";
    let server = MockServer::start().await;
    // Bodies whose token starts 4 .. len-1 bytes before the cut.
    let starts: Vec<usize> = (KEPT - token.len() + 1..=KEPT - 4).collect();
    for &start in &starts {
        let filler = ".".repeat(start - "<pre>".len());
        Mock::given(path(format!("/rest/api/2/issue/SEC-{start}")))
            .respond_with(
                ResponseTemplate::new(502)
                    .insert_header("content-type", "text/html")
                    .set_body_string(format!("<pre>{filler}{token} and the rest</pre>")),
            )
            .mount(&server)
            .await;
    }
    let client = JiraClient::builder(
        &server.uri(),
        Flavor::DataCenter,
        PatAuth::new(SecretString::from(token)),
    )
    .url_policy(jira_client::UrlPolicy::default().allow_loopback())
    .retry_policy(RetryPolicy::no_retries())
    .build()
    .unwrap();
    for start in starts {
        let e = client
            .get_issue(&format!("SEC-{start}"), &["status"])
            .await
            .unwrap_err();
        assert_eq!(e.status(), Some(502));
        let prefixes: Vec<String> = (4..=token.len()).map(|n| token[..n].to_string()).collect();
        check(&e, &prefixes);
        let body = e
            .jira_messages()
            .and_then(|b| b.text.as_deref())
            .unwrap_or_default();
        assert_eq!(body.len(), KEPT, "the body is kept up to its bound");
        assert!(!body.contains(&token[..4]), "start {start}: {body}");
    }
}
