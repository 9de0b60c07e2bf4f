//! Routing of `/rest/api/{2|3}/...` per flavor.

use super::{App, comments, issues, meta, reply, search};
use crate::accounts::Account;
use crate::world::ApiVersion;
use crate::world::api_error::ApiError;
use axum::body::Bytes;
use axum::response::Response;
use jira_model::Flavor;

/// Query parameters, in order, decoded.
pub(crate) type Query = Vec<(String, String)>;

/// All values of a query parameter.
pub(crate) fn params<'a>(q: &'a Query, name: &str) -> Vec<&'a str> {
    q.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The first value of a query parameter.
pub(crate) fn param<'a>(q: &'a Query, name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Serves a REST call. The flag says whether a create committed issues
/// (the answer may then be dropped by a fault). `failed_login`: Cloud
/// serves refused credentials as anonymous.
pub(crate) async fn route(
    app: &App,
    account: Option<&'static Account>,
    failed_login: bool,
    method: &str,
    path: &str,
    query: &str,
    body: &Bytes,
) -> (Response, bool) {
    let Some(rest) = path.strip_prefix("/rest/api/") else {
        return (reply::no_resource(&app.base_url, path), false);
    };
    let (version, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let api = match (app.flavor, version) {
        (Flavor::Cloud, "3" | "latest") => ApiVersion::V3,
        (_, "2") | (Flavor::DataCenter, "latest") => ApiVersion::V2,
        _ => return (reply::no_resource(&app.base_url, path), false),
    };
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let q: Query = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    if segs.as_slice() == ["serverInfo"] && method == "GET" {
        return (meta::server_info(app, api), false);
    }
    let Some(account) = account else {
        return (anonymous(app, failed_login, method, &segs), false);
    };
    let c = issues::Call {
        app,
        api,
        account,
        query: &q,
        body,
    };
    let r = match (method, segs.as_slice()) {
        ("GET", ["myself"]) => meta::myself(app, api, account),
        ("GET", ["project", p]) => meta::project(app, api, p),
        ("GET", ["issue", "createmeta", p, "issuetypes"]) => meta::createmeta_types(app, api, p),
        ("GET", ["issue", "createmeta", p, "issuetypes", t]) => {
            meta::createmeta_fields(app, api, p, t)
        }
        ("GET", ["field"]) => meta::fields(app, api),
        ("POST", ["issue"]) => return issues::create(&c),
        ("POST", ["issue", "bulk"]) => return issues::bulk_create(&c),
        ("GET", ["issue", key]) => issues::get(&c, key),
        ("PUT", ["issue", key]) => issues::edit(&c, key),
        ("DELETE", ["issue", key]) => issues::delete(&c, key),
        ("GET", ["issue", key, "transitions"]) => issues::transitions(&c, key),
        ("POST", ["issue", key, "transitions"]) => issues::transition(&c, key).await,
        ("GET", ["issue", key, "comment"]) => comments::list(&c, key),
        ("POST", ["issue", key, "comment"]) => comments::add(&c, key),
        ("GET", ["issue", key, "comment", id]) => comments::get(&c, key, id),
        ("PUT", ["issue", key, "comment", id]) => comments::update(&c, key, id),
        ("DELETE", ["issue", key, "comment", id]) => comments::delete(&c, key, id),
        ("GET", ["issue", key, "changelog"]) if app.flavor == Flavor::Cloud => {
            issues::changelog(&c, key)
        }
        ("POST", ["search", "approximate-count"]) if app.flavor == Flavor::Cloud => {
            search::approximate_count(&c)
        }
        ("GET", ["field", "search"]) if app.flavor == Flavor::Cloud => meta::field_search(&c),
        ("GET", ["customFields"]) if app.flavor == Flavor::DataCenter => meta::custom_fields(&c),
        ("GET" | "POST", ["search", "jql"]) if app.flavor == Flavor::Cloud => {
            search::cloud(&c, method)
        }
        ("GET" | "POST", ["search"]) if app.flavor == Flavor::DataCenter => {
            search::data_center(&c, method)
        }
        ("GET" | "POST", ["search"]) => search::gone(),
        (_, known) if is_known(known) => reply::json(
            405,
            &serde_json::json!({"message": format!("Method {method} is not allowed here"), "status-code": 405}),
        ),
        _ => reply::no_resource(&app.base_url, path),
    };
    (r, false)
}

/// What an anonymous user gets. Cloud lets anonymous users search and read
/// what they may browse (nothing of `SEC`): searches answer 200 with no
/// issues, reads of an issue or the project 404, everything else 401. With
/// credentials Jira refused, that is how an expired API token looks:
/// `X-Seraph-LoginReason: AUTHENTICATED_FAILED` on an otherwise normal
/// answer (jira.js#418). Data Center answers 401.
fn anonymous(app: &App, failed_login: bool, method: &str, segs: &[&str]) -> Response {
    if app.flavor != Flavor::Cloud {
        return super::unauthorized(app, failed_login);
    }
    match (method, segs) {
        ("GET" | "POST", ["search", "jql"]) => {
            reply::json(200, &serde_json::json!({"issues": [], "isLast": true}))
        }
        ("POST", ["search", "approximate-count"]) => {
            reply::json(200, &serde_json::json!({"count": 0}))
        }
        ("GET", ["issue", _, ..]) => reply::error(ApiError::issue_not_found()),
        ("GET", ["project", p]) => meta::no_project(p),
        _ => super::unauthorized(app, failed_login),
    }
}

fn is_known(segs: &[&str]) -> bool {
    matches!(
        segs,
        ["myself"]
            | ["serverInfo"]
            | ["field"]
            | ["issue"]
            | ["issue", "bulk"]
            | ["issue", _]
            | ["issue", _, "transitions" | "comment"]
            | ["issue", _, "comment", _]
            | ["project", _]
    )
}
