//! Routing of `/rest/api/{2|3}/...` per flavor.

use super::{App, issues, meta, reply, search};
use crate::accounts::Account;
use crate::world::ApiVersion;
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
/// (the answer may then be dropped by a fault).
pub(crate) async fn route(
    app: &App,
    account: Option<&'static Account>,
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
        return (super::unauthorized(app, false), false);
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
        ("POST", ["issue", key, "transitions"]) => issues::transition(&c, key),
        ("GET", ["issue", key, "comment"]) => issues::comments(&c, key),
        ("POST", ["issue", key, "comment"]) => issues::add_comment(&c, key),
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
            | ["project", _]
    )
}
