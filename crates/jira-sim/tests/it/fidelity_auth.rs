//! Authentication as real Jira answers it: Cloud serves refused
//! credentials as anonymous (200 with `X-Seraph-LoginReason`, empty
//! searches), Data Center answers an HTML 401 and locks an account behind
//! a CAPTCHA after failed Basic logins.

use crate::common::{Api, Who, client, start};
use base64::Engine;
use jira_model::Flavor;
use jira_sim::{JiraSim, SimConfig, accounts};
use serde_json::json;

#[tokio::test]
async fn cloud_serves_a_refused_token_as_anonymous() {
    let sim = start(Flavor::Cloud).await;
    let bot = Api::new(&sim, Who::Bot);
    let key = bot.create("s", "fnd_1").await;
    let wrong = Api::new(&sim, Who::Wrong);

    // The search a duplicate check makes: 200, no issues, no error body.
    let a = wrong
        .post(
            "search/jql",
            json!({"jql": "project = SEC", "fields": ["key"]}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json()["issues"], json!([]));
    assert_eq!(
        a.header("X-Seraph-LoginReason"),
        Some("AUTHENTICATED_FAILED")
    );
    let a = wrong.get("search/jql?jql=project%20%3D%20SEC").await;
    assert_eq!((a.status, a.json()["issues"].clone()), (200, json!([])));
    // The same search with the right token finds the issue.
    let a = bot
        .post(
            "search/jql",
            json!({"jql": "project = SEC", "fields": ["key"]}),
        )
        .await;
    assert_eq!(a.json()["issues"][0]["key"], key.as_str());
    assert!(a.header("X-Seraph-LoginReason").is_none());

    // The issue looks absent; who am I and writes are 401.
    let a = wrong.get(&format!("issue/{key}")).await;
    assert_eq!(a.status, 404);
    assert_eq!(
        a.header("X-Seraph-LoginReason"),
        Some("AUTHENTICATED_FAILED")
    );
    for a in [
        wrong.get("myself").await,
        wrong.post("issue", bot.issue("t", "fnd_2")).await,
        wrong
            .put(&format!("issue/{key}"), json!({"fields":{"summary":"x"}}))
            .await,
    ] {
        assert_eq!(a.status, 401, "{}", a.text);
        assert_eq!(
            a.header("X-Seraph-LoginReason"),
            Some("AUTHENTICATED_FAILED")
        );
        assert!(a.header("WWW-Authenticate").is_some());
    }
    assert_eq!(sim.issues().len(), 1, "nothing was written");
    assert_eq!(sim.issue(&key).unwrap().summary, "s");

    // Off, a refused token is a plain 401 everywhere.
    let strict = JiraSim::start(SimConfig::new(Flavor::Cloud).anonymous_on_bad_credentials(false))
        .await
        .unwrap();
    let a = Api::new(&strict, Who::Wrong)
        .post("search/jql", json!({"jql": "project = SEC"}))
        .await;
    assert_eq!(a.status, 401);
}

#[tokio::test]
async fn data_center_refused_credentials_get_an_html_401() {
    let sim = start(Flavor::DataCenter).await;
    let a = Api::new(&sim, Who::Wrong).get("myself").await;
    assert_eq!(a.status, 401);
    assert!(
        a.header("content-type").unwrap().starts_with("text/html"),
        "{:?}",
        a.headers
    );
    assert!(
        a.text
            .contains("Basic Authentication Failure - Reason : AUTHENTICATED_FAILED"),
        "{}",
        a.text
    );
    assert_eq!(
        a.header("X-Seraph-LoginReason"),
        Some("AUTHENTICATED_FAILED")
    );
    // Searches are not served anonymously on Data Center.
    let a = Api::new(&sim, Who::Wrong)
        .post("search", json!({"jql": "project = SEC"}))
        .await;
    assert_eq!(a.status, 401);
}

async fn basic(sim: &JiraSim, user: &str, password: &str) -> reqwest::Response {
    let value = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    client()
        .get(format!("{}/rest/api/2/myself", sim.base_url()))
        .header("Authorization", format!("Basic {value}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn data_center_locks_an_account_behind_a_captcha_after_failed_logins() {
    let sim = start(Flavor::DataCenter).await;
    let bot = "penaxtra-bot";
    assert_eq!(
        basic(&sim, bot, accounts::SERVICE_PASSWORD).await.status(),
        200
    );
    for n in 1..=jira_sim::DEFAULT_CAPTCHA_AFTER {
        let r = basic(&sim, bot, "wrong").await;
        assert_eq!(r.status(), 401, "failed login {n}");
    }
    assert!(sim.is_captcha_locked(bot));
    // Now even the right password is denied until someone signs in in
    // the browser.
    let r = basic(&sim, bot, accounts::SERVICE_PASSWORD).await;
    assert_eq!(r.status(), 403);
    let denied = r
        .headers()
        .get("X-Authentication-Denied-Reason")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        denied,
        format!("CAPTCHA_CHALLENGE; login-url={}/login.jsp", sim.base_url())
    );
    assert_eq!(
        r.headers()["X-Seraph-LoginReason"].to_str().unwrap(),
        "AUTHENTICATION_DENIED"
    );
    // Other accounts, and the bot's personal access token, are unaffected.
    assert_eq!(
        basic(&sim, "alex", accounts::HUMAN_PASSWORD).await.status(),
        200
    );
    assert_eq!(Api::new(&sim, Who::Bot).get("myself").await.status, 200);
    // The admin API shows the lock; a browser login lifts it.
    let admin = client()
        .get(format!("{}/_sim/accounts/{bot}", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(admin["captcha_locked"], true);
    assert_eq!(admin["time_zone"], "America/Phoenix");
    let r = client()
        .post(format!(
            "{}/_sim/accounts/{bot}/browser-login",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        basic(&sim, bot, accounts::SERVICE_PASSWORD).await.status(),
        200
    );

    // A success in between starts the count again; `None` never locks.
    for _ in 0..2 {
        basic(&sim, bot, "wrong").await;
    }
    basic(&sim, bot, accounts::SERVICE_PASSWORD).await;
    basic(&sim, bot, "wrong").await;
    assert!(!sim.is_captcha_locked(bot));
    let never = JiraSim::start(SimConfig::new(Flavor::DataCenter).captcha_after(None))
        .await
        .unwrap();
    for _ in 0..10 {
        assert_eq!(basic(&never, bot, "wrong").await.status(), 401);
    }
    assert_eq!(
        basic(&never, bot, accounts::SERVICE_PASSWORD)
            .await
            .status(),
        200
    );
}
