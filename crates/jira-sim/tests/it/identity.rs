//! How service accounts connect: the API gateway, `/_edge/tenant_info`,
//! the OAuth token endpoints with expiring tokens, token expiry, the points
//! quota, Data Center's session resource and `expand=editmeta`.

use base64::Engine;
use jira_model::Flavor;
use jira_sim::{JiraSim, SimClock, SimConfig, accounts};
use serde_json::Value;
use std::time::Duration;

fn basic(email: &str, token: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{email}:{token}"))
    )
}

async fn get(url: &str, auth: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let r = crate::common::client()
        .get(url)
        .header("Authorization", auth)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

async fn grant(sim: &JiraSim, secret: &str) -> (u16, Value) {
    let r = crate::common::client()
        .post(sim.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", accounts::SERVICE_OAUTH_CLIENT_ID),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

#[tokio::test]
async fn tenant_info_names_the_cloud_site_and_data_center_has_none() {
    let sim = crate::common::start(Flavor::Cloud).await;
    let (status, _, text) = get(&format!("{}/_edge/tenant_info", sim.base_url()), "").await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["cloudId"], sim.cloud_id());
    let dc = crate::common::start(Flavor::DataCenter).await;
    let (status, _, _) = get(&format!("{}/_edge/tenant_info", dc.base_url()), "").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_scoped_token_works_through_the_gateway_only() {
    let sim = crate::common::start(Flavor::Cloud).await;
    let scoped = basic(accounts::SERVICE_EMAIL, accounts::SERVICE_SCOPED_TOKEN);
    let site = format!("{}/rest/api/3/myself", sim.base_url());
    let (status, headers, _) = get(&site, &scoped).await;
    assert_eq!(status, 401, "the site refuses a scoped token");
    assert!(headers.get("x-seraph-loginreason").is_none());
    let gateway = format!(
        "{}/ex/jira/{}/rest/api/3/myself",
        sim.gateway_url(),
        sim.cloud_id()
    );
    let (status, _, text) = get(&gateway, &scoped).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(accounts::SERVICE_EMAIL));
    // A classic token works in both places; another cloudId is unknown.
    let classic = basic(accounts::SERVICE_EMAIL, accounts::SERVICE_API_TOKEN);
    assert_eq!(get(&gateway, &classic).await.0, 200);
    let other = format!("{}/ex/jira/nope/rest/api/3/myself", sim.gateway_url());
    assert_eq!(get(&other, &scoped).await.0, 404);
}

#[tokio::test]
async fn an_expired_api_token_is_answered_like_a_wrong_one() {
    let sim = JiraSim::start(SimConfig::new(Flavor::Cloud).anonymous_on_bad_credentials(false))
        .await
        .unwrap();
    let url = format!("{}/rest/api/3/myself", sim.base_url());
    let good = basic(accounts::SERVICE_EMAIL, accounts::SERVICE_API_TOKEN);
    let wrong = basic(accounts::SERVICE_EMAIL, "not-the-token");
    assert_eq!(get(&url, &good).await.0, 200);
    assert!(sim.expire_tokens("penaxtra-bot"));
    let (expired_status, expired_headers, expired_body) = get(&url, &good).await;
    let (wrong_status, wrong_headers, wrong_body) = get(&url, &wrong).await;
    assert_eq!(expired_status, 401);
    assert_eq!((expired_status, expired_body), (wrong_status, wrong_body));
    assert_eq!(
        expired_headers.get("x-seraph-loginreason"),
        wrong_headers.get("x-seraph-loginreason")
    );
}

#[tokio::test]
async fn oauth_tokens_expire_on_the_simulators_clock_in_both_flavors() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let clock = SimClock::manual(chrono::Utc::now());
        let sim = JiraSim::start(
            SimConfig::new(flavor)
                .clock(clock.clone())
                .oauth_token_lifetime(Duration::from_secs(5)),
        )
        .await
        .unwrap();
        assert_eq!(grant(&sim, "wrong").await.0, 401);
        let (status, v) = grant(&sim, accounts::SERVICE_OAUTH_CLIENT_SECRET).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["token_type"], "Bearer");
        assert_eq!(v["expires_in"], 5);
        let bearer = format!("Bearer {}", v["access_token"].as_str().unwrap());
        let (site, api) = match flavor {
            Flavor::Cloud => (
                format!(
                    "{}/ex/jira/{}/rest/api/3/myself",
                    sim.gateway_url(),
                    sim.cloud_id()
                ),
                "3",
            ),
            Flavor::DataCenter => (format!("{}/rest/api/2/myself", sim.base_url()), "2"),
        };
        assert_eq!(get(&site, &bearer).await.0, 200, "{flavor:?}");
        if flavor == Flavor::Cloud {
            let direct = format!("{}/rest/api/{api}/myself", sim.base_url());
            assert_eq!(get(&direct, &bearer).await.0, 401, "OAuth on the site URL");
        }
        clock.advance(Duration::from_secs(6));
        assert_eq!(get(&site, &bearer).await.0, 401, "{flavor:?} expired");
        assert_eq!(sim.token_grants(), 1);
    }
}

#[tokio::test]
async fn data_center_has_a_session_resource() {
    let sim = crate::common::start(Flavor::DataCenter).await;
    let url = format!("{}/rest/auth/1/session", sim.base_url());
    let (status, _, text) = get(&url, &format!("Bearer {}", accounts::SERVICE_PAT)).await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["name"], "penaxtra-bot");
    assert_eq!(get(&url, "").await.0, 401);
}

#[tokio::test]
async fn the_points_quota_warns_then_refuses_oauth_traffic() {
    let sim = JiraSim::start(
        SimConfig::new(Flavor::Cloud)
            .points_quota(Some(10))
            .cloud_limits(None),
    )
    .await
    .unwrap();
    let (_, v) = grant(&sim, accounts::SERVICE_OAUTH_CLIENT_SECRET).await;
    let bearer = format!("Bearer {}", v["access_token"].as_str().unwrap());
    let url = format!(
        "{}/ex/jira/{}/rest/api/3/myself",
        sim.gateway_url(),
        sim.cloud_id()
    );
    let mut near_seen = false;
    for n in 1..=10 {
        let (status, headers, _) = get(&url, &bearer).await;
        assert_eq!(status, 200, "request {n}");
        let policy = headers
            .get_all("beta-ratelimit-policy")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join(",");
        assert!(
            policy.contains("\"global-app-quota\";q=10;w=3600"),
            "{policy}"
        );
        if headers.get("beta-ratelimit").is_some() {
            near_seen = true;
            assert_eq!(headers["x-ratelimit-nearlimit"], "true");
        }
    }
    assert!(near_seen);
    let (status, headers, _) = get(&url, &bearer).await;
    assert_eq!(status, 429);
    assert_eq!(headers["ratelimit-reason"], "jira-quota-tenant-based");
    assert!(headers.get("retry-after").is_some());
    // API-token traffic is exempt.
    let classic = basic(accounts::SERVICE_EMAIL, accounts::SERVICE_API_TOKEN);
    assert_eq!(get(&url, &classic).await.0, 200);
}

#[tokio::test]
async fn get_issue_expands_editmeta() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = crate::common::start(flavor).await;
        let api = crate::common::Api::new(&sim, crate::common::Who::Bot);
        let key = api.create("[Penaxtra] x", "fnd_editmeta").await;
        let r = api.get(&format!("issue/{key}?expand=editmeta")).await;
        let v = r.json();
        let fields = &v["editmeta"]["fields"];
        assert_eq!(fields["summary"]["required"], true, "{flavor:?}: {v}");
        assert!(fields["labels"]["operations"].is_array());
        assert!(fields.get("project").is_none());
        let plain = api.get(&format!("issue/{key}")).await.json();
        assert!(plain.get("editmeta").is_none());
    }
}
