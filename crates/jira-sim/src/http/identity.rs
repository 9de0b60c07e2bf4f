//! What sits beside Jira's REST API: `/_edge/tenant_info` (a Cloud site's
//! cloudId), the OAuth 2.0 token endpoints (Cloud's `POST /oauth/token`
//! of auth.atlassian.com, served here on the simulator's address; Data
//! Center's `POST /rest/oauth2/latest/token`), Data Center's
//! `GET /rest/auth/1/session`, and the points quota's headers.

use super::{App, lock, reply};
use crate::accounts::{self, Account};
use crate::tokens::{CLOUD_ID, Points, QUOTA_POLICY, QUOTA_WINDOW};
use axum::body::Bytes;
use axum::http::HeaderValue;
use axum::response::Response;
use jira_model::Flavor;
use serde_json::json;

/// Cloud's token endpoint path (on auth.atlassian.com).
pub(crate) const CLOUD_TOKEN_PATH: &str = "/oauth/token";
/// Data Center's token endpoint path.
pub(crate) const DC_TOKEN_PATH: &str = "/rest/oauth2/latest/token";

/// `GET /_edge/tenant_info`: Cloud's public `{"cloudId": ...}`.
pub(crate) fn tenant_info(app: &App, path: &str) -> Response {
    match app.flavor {
        Flavor::Cloud => reply::json(200, &json!({ "cloudId": CLOUD_ID })),
        Flavor::DataCenter => reply::no_resource(&app.base_url, path),
    }
}

/// The token endpoint: `client_credentials` only, form or JSON body.
pub(crate) fn token(app: &App, body: &Bytes) -> Response {
    let fields: Vec<(String, String)> = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_string())))
            .collect(),
        _ => url::form_urlencoded::parse(body).into_owned().collect(),
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if field("grant_type") != Some("client_credentials") {
        return reply::json(
            400,
            &json!({"error": "unsupported_grant_type", "error_description": "Only client_credentials is supported."}),
        );
    }
    let account = match (field("client_id"), field("client_secret")) {
        (Some(id), Some(secret)) => accounts::by_oauth_client(id, secret),
        _ => None,
    };
    let Some(account) = account else {
        return reply::json(
            401,
            &json!({"error": "invalid_client", "error_description": "Unauthorized"}),
        );
    };
    let (token, expires_in) = lock(&app.tokens).issue(account, app.clock.now());
    let scope = field("scope").unwrap_or(match app.flavor {
        Flavor::Cloud => "read:jira-work write:jira-work read:jira-user",
        Flavor::DataCenter => "WRITE",
    });
    reply::json(
        200,
        &json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in, "scope": scope}),
    )
}

/// Data Center `GET /rest/auth/1/session`: who is logged in.
pub(crate) fn session(app: &App, account: &Account) -> Response {
    reply::json(
        200,
        &json!({
            "self": format!("{}/rest/api/latest/user?username={}", app.base_url, account.name),
            "name": account.name,
            "loginInfo": {"failedLoginCount": 0, "loginCount": 1, "lastFailedLoginTime": null, "previousLoginTime": null}
        }),
    )
}

/// The quota's headers on an answer; `X-RateLimit-NearLimit` when at most
/// a fifth is left (`r` only then, as Atlassian sends it).
pub(crate) fn quota_headers(r: &mut Response, p: Points) {
    let policy = format!(
        "\"{QUOTA_POLICY}\";q={};w={}",
        p.limit,
        QUOTA_WINDOW.as_secs()
    );
    if let Ok(v) = HeaderValue::from_str(&policy) {
        r.headers_mut().append("Beta-RateLimit-Policy", v);
    }
    if u64::from(p.remaining) * 5 <= u64::from(p.limit) {
        reply::set_header(
            r,
            "Beta-RateLimit",
            &format!("\"{QUOTA_POLICY}\";r={};t={}", p.remaining, p.reset_secs),
        );
        reply::set_header(r, "X-RateLimit-NearLimit", "true");
    }
}

/// The quota's 429.
pub(crate) fn quota_refusal(app: &App, p: Points) -> Response {
    let mut r = reply::json(
        429,
        &json!({"errorMessages":["The request has been rate-limited. Please try again later."],"errors":{}}),
    );
    super::limits::cloud_refusal_headers(
        app,
        &mut r,
        "jira-quota-tenant-based",
        p.limit,
        QUOTA_WINDOW.as_secs(),
        p.reset_secs,
    );
    r
}
