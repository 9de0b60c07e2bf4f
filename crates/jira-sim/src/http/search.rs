//! Search: Cloud `search/jql` (token pages, no total) and Data Center
//! `search` (offset pages with a total); Cloud's removed `search` is 410.
//!
//! Both search the index, which sees a change only the configured search
//! lag after it was made; Cloud's `reconcileIssues` reads the listed issues
//! at their current version.

use super::issues::Call;
use super::rest::{param, params};
use super::{lock, parse_body, reply};
use crate::world::SimIssue;
use crate::world::api_error::ApiError;
use crate::world::render::{self, RenderCtx, Selection};
use axum::response::Response;
use base64::Engine;
use serde_json::{Map, Value, json};

const CLOUD_KEYS: &[&str] = &[
    "jql",
    "nextPageToken",
    "maxResults",
    "fields",
    "expand",
    "properties",
    "fieldsByKeys",
    "failFast",
    "reconcileIssues",
];
const DC_KEYS: &[&str] = &[
    "jql",
    "startAt",
    "maxResults",
    "fields",
    "expand",
    "properties",
    "fieldsByKeys",
    "validateQuery",
];

/// Most issue ids Cloud's `reconcileIssues` takes.
const MAX_RECONCILE: usize = 50;

/// The search request, from the query (GET) or the body (POST).
struct Req {
    jql: String,
    token: Option<String>,
    start_at: u64,
    max_results: Option<i64>,
    fields: Vec<String>,
    /// `expand`: `changelog`, `names`, `schema`, `renderedFields`.
    expand: Vec<String>,
    /// `reconcileIssues`: ids searched at their current version, in their
    /// canonical decimal form.
    reconcile: Vec<String>,
}

fn too_many_to_reconcile(n: usize) -> Response {
    reply::error(ApiError::message(
        400,
        &format!(
            "The number of issues to reconcile ({n}) exceeds the maximum of {MAX_RECONCILE}. \
             Pass at most {MAX_RECONCILE} issue ids in 'reconcileIssues'."
        ),
    ))
}

/// `reconcileIssues` of a GET: repeated and/or comma-separated numbers.
fn reconcile_param(c: &Call<'_>) -> Result<Vec<String>, Response> {
    let mut ids = Vec::new();
    for v in params(c.query, "reconcileIssues") {
        for piece in v.split(',') {
            let piece = piece.trim();
            let id = piece.parse::<i64>().map_err(|_| {
                reply::error(ApiError::message(
                    400,
                    &format!("The value '{piece}' of 'reconcileIssues' is not a number."),
                ))
            })?;
            ids.push(id.to_string());
        }
    }
    if ids.len() > MAX_RECONCILE {
        return Err(too_many_to_reconcile(ids.len()));
    }
    Ok(ids)
}

fn read(c: &Call<'_>, method: &str, allowed: &[&str]) -> Result<Req, Response> {
    if method == "GET" {
        let num = |n: &str| -> Result<Option<i64>, Response> {
            param(c.query, n)
                .map(|v| {
                    v.parse::<i64>().map_err(|_| {
                        reply::error(ApiError::message(
                            400,
                            &format!("The value '{v}' of '{n}' is not a number."),
                        ))
                    })
                })
                .transpose()
        };
        let reconcile = if allowed.contains(&"reconcileIssues") {
            reconcile_param(c)?
        } else {
            Vec::new()
        };
        return Ok(Req {
            reconcile,
            jql: param(c.query, "jql").unwrap_or("").to_string(),
            token: param(c.query, "nextPageToken").map(str::to_string),
            start_at: u64::try_from(num("startAt")?.unwrap_or(0)).unwrap_or(0),
            max_results: num("maxResults")?,
            fields: params(c.query, "fields")
                .into_iter()
                .map(str::to_string)
                .collect(),
            expand: params(c.query, "expand")
                .into_iter()
                .map(str::to_string)
                .collect(),
        });
    }
    let body = parse_body(c.body)?;
    let Some(obj) = body.as_object() else {
        return Err(reply::error(ApiError::bad_json(
            "the body must be a JSON object",
        )));
    };
    if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(reply::error(ApiError::message(
            400,
            &format!("Invalid request payload. Unrecognized field \"{k}\"."),
        )));
    }
    let bad = |f: &str| {
        reply::error(ApiError::message(
            400,
            &format!("Invalid request payload. Field \"{f}\" has the wrong type."),
        ))
    };
    let jql = match obj.get("jql") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(bad("jql")),
    };
    let fields = match obj.get("fields") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(|| bad("fields")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("fields")),
    };
    let int = |f: &str| match obj.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| bad(f)),
    };
    let token = match obj.get("nextPageToken") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(bad("nextPageToken")),
    };
    // Cloud takes a comma-separated string, Data Center an array.
    let expand = match obj.get("expand") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(|| bad("expand")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("expand")),
    };
    let reconcile = match obj.get("reconcileIssues") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => {
            let ids = a
                .iter()
                .map(|v| {
                    v.as_i64()
                        .map(|n| n.to_string())
                        .ok_or_else(|| bad("reconcileIssues"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if ids.len() > MAX_RECONCILE {
                return Err(too_many_to_reconcile(ids.len()));
            }
            ids
        }
        Some(_) => return Err(bad("reconcileIssues")),
    };
    Ok(Req {
        reconcile,
        jql,
        token,
        start_at: u64::try_from(int("startAt")?.unwrap_or(0)).unwrap_or(0),
        max_results: int("maxResults")?,
        fields,
        expand,
    })
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn token_for(jql: &str, offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({"o": offset, "q": fnv(jql)}).to_string())
}

fn offset_of(jql: &str, token: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    (v.get("q")?.as_u64()? == fnv(jql)).then_some(())?;
    usize::try_from(v.get("o")?.as_u64()?).ok()
}

/// An issue of a result page, with the expansions asked for.
fn shown(rc: &RenderCtx<'_>, req: &Req, i: &SimIssue, sel: &Selection) -> Value {
    let mut v = render::issue(rc, i, sel);
    let expand: Vec<&str> = req.expand.iter().map(String::as_str).collect();
    super::issues::expand(rc, &expand, i, &mut v);
    v
}

/// Cloud `POST search/approximate-count` `{"jql": …}` → `{"count": N}`:
/// how many issues the (bounded) JQL matches, as the index sees them.
pub(crate) fn approximate_count(c: &Call<'_>) -> Response {
    let body = match parse_body(c.body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(jql) = body.get("jql").and_then(Value::as_str) else {
        return reply::error(ApiError::message(400, "The 'jql' field is required."));
    };
    let w = lock(&c.app.world);
    let now = c.app.clock.now();
    let when = crate::jql::When {
        now,
        offset_minutes: c.account.utc_offset_minutes,
    };
    let query = match crate::jql::compile_for(jql, &w, when) {
        Ok(q) => q,
        Err(e) => return jql_error(e),
    };
    if !query.is_bounded() {
        return jql_error(
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.".into(),
        );
    }
    let count = query.run(w.indexed(now, &[])).len();
    reply::json(200, &json!({ "count": count }))
}

fn jql_error(message: String) -> Response {
    reply::error(ApiError::message(400, &message))
}

/// Cloud `GET|POST /rest/api/{2|3}/search/jql`.
pub(crate) fn cloud(c: &Call<'_>, method: &str) -> Response {
    let req = match read(c, method, CLOUD_KEYS) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let sel = Selection::parse(&req.fields, Selection::IdOnly);
    let cap = if sel == Selection::IdOnly { 5000 } else { 100 };
    let max = usize::try_from(req.max_results.unwrap_or(50).clamp(1, cap)).unwrap_or(50);
    let offset = match req.token.as_deref() {
        None => 0,
        Some(t) => match offset_of(&req.jql, t) {
            Some(o) => o,
            None => {
                return reply::error(ApiError::message(
                    400,
                    "The provided next page token is invalid or expired.",
                ));
            }
        },
    };
    let w = lock(&c.app.world);
    let now = c.app.clock.now();
    let when = crate::jql::When {
        now,
        offset_minutes: c.account.utc_offset_minutes,
    };
    let query = match crate::jql::compile_for(&req.jql, &w, when) {
        Ok(q) => q,
        Err(e) => return jql_error(e),
    };
    if !query.is_bounded() {
        return jql_error(
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.".into(),
        );
    }
    let hits = query.run(w.indexed(now, &req.reconcile));
    let rc = c.rc();
    let page: Vec<Value> = hits
        .iter()
        .skip(offset)
        .take(max)
        .map(|i| shown(&rc, &req, i, &sel))
        .collect();
    let end = offset + page.len();
    let mut out = Map::new();
    out.insert("issues".into(), Value::Array(page));
    let last = end >= hits.len();
    if !last {
        out.insert("nextPageToken".into(), json!(token_for(&req.jql, end)));
    }
    out.insert("isLast".into(), json!(last));
    reply::json(200, &Value::Object(out))
}

/// Data Center `GET|POST /rest/api/2/search`.
pub(crate) fn data_center(c: &Call<'_>, method: &str) -> Response {
    let req = match read(c, method, DC_KEYS) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let sel = Selection::parse(&req.fields, Selection::navigable());
    let max = usize::try_from(req.max_results.unwrap_or(50).clamp(0, 1000)).unwrap_or(50);
    let start = usize::try_from(req.start_at).unwrap_or(usize::MAX);
    let w = lock(&c.app.world);
    let now = c.app.clock.now();
    let when = crate::jql::When {
        now,
        offset_minutes: c.account.utc_offset_minutes,
    };
    let query = match crate::jql::compile_for(&req.jql, &w, when) {
        Ok(q) => q,
        Err(e) => return jql_error(e),
    };
    // Data Center has no `reconcileIssues`: other nodes catch up in time.
    let hits = query.run(w.indexed(now, &[]));
    let rc = c.rc();
    let page: Vec<Value> = hits
        .iter()
        .skip(start)
        .take(max)
        .map(|i| shown(&rc, &req, i, &sel))
        .collect();
    reply::json(
        200,
        &json!({"expand": "schema,names", "startAt": req.start_at, "maxResults": max,
            "total": hits.len(), "issues": page}),
    )
}

/// Cloud's removed `/rest/api/{2|3}/search`.
pub(crate) fn gone() -> Response {
    reply::error(ApiError::message(
        410,
        "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. \
         A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_their_query() {
        let t = token_for("project = SEC", 50);
        assert_eq!(offset_of("project = SEC", &t), Some(50));
        assert_eq!(offset_of("project = OTHER", &t), None);
        assert_eq!(offset_of("project = SEC", "garbage!"), None);
    }
}
