//! Issue handlers: create, bulk create, get, edit, delete, transitions,
//! comments.

use super::rest::{Query, param, params};
use super::{App, lock, parse_body, reply};
use crate::accounts::Account;
use crate::world::api_error::ApiError;
use crate::world::render::{self, RenderCtx, Selection};
use crate::world::{ApiVersion, Ctx, SimEvent, SimIssue};
use axum::body::Bytes;
use axum::response::Response;
use jira_model::{BulkCreateResponse, BulkElementError, CreatedIssue, ErrorBody, MAX_BULK_CREATE};
use serde_json::{Value, json};

/// One REST call.
pub(crate) struct Call<'a> {
    pub app: &'a App,
    pub api: ApiVersion,
    pub account: &'static Account,
    pub query: &'a Query,
    pub body: &'a Bytes,
}

impl Call<'_> {
    /// Rendering for the calling account.
    pub fn rc(&self) -> crate::world::render::RenderCtx<'_> {
        self.app.render_for(self.api, Some(self.account))
    }

    pub fn ctx(&self) -> Ctx {
        Ctx {
            api: self.api,
            account: self.account,
            now: self.app.clock.now(),
        }
    }

    fn created(&self, ev: &SimEvent) -> CreatedIssue {
        CreatedIssue::new(
            ev.issue.id.clone(),
            ev.issue.key.clone(),
            Some(format!(
                "{}/rest/api/{}/issue/{}",
                self.app.base_url,
                self.api.as_str(),
                ev.issue.id
            )),
        )
    }
}

/// Runs a world operation that yields events, publishing them.
pub(crate) fn publish_result<T>(
    app: &App,
    r: Result<(T, Vec<SimEvent>), ApiError>,
) -> Result<T, Response> {
    match r {
        Ok((t, events)) => {
            app.publish(&events);
            Ok(t)
        }
        Err(e) => Err(reply::error(e)),
    }
}

pub(crate) fn create(c: &Call<'_>) -> (Response, bool) {
    let body = match parse_body(c.body) {
        Ok(b) => b,
        Err(r) => return (r, false),
    };
    let r = lock(&c.app.world)
        .create(&c.ctx(), &body)
        .map(|ev| (c.created(&ev), vec![ev]));
    match publish_result(c.app, r) {
        Ok(created) => (reply::json(201, &json!(created)), true),
        Err(resp) => (resp, false),
    }
}

pub(crate) fn bulk_create(c: &Call<'_>) -> (Response, bool) {
    let body = match parse_body(c.body) {
        Ok(b) => b,
        Err(r) => return (r, false),
    };
    let Some(items) = body.get("issueUpdates").and_then(Value::as_array) else {
        return (
            reply::error(ApiError::message(
                400,
                "Field 'issueUpdates' is required and must be an array.",
            )),
            false,
        );
    };
    if items.is_empty() {
        return (
            reply::error(ApiError::message(
                400,
                "Nothing to create: 'issueUpdates' is empty.",
            )),
            false,
        );
    }
    if items.len() > MAX_BULK_CREATE {
        return (
            reply::error(ApiError::message(
                400,
                &format!("The number of issues to create exceeds the limit of {MAX_BULK_CREATE}."),
            )),
            false,
        );
    }
    let outcomes = lock(&c.app.world).bulk_create(&c.ctx(), items);
    let mut issues = Vec::new();
    let mut errors = Vec::new();
    let mut events = Vec::new();
    for (n, o) in outcomes.into_iter().enumerate() {
        match o {
            Ok(ev) => {
                issues.push(c.created(&ev));
                events.push(ev);
            }
            Err(e) => errors.push(BulkElementError::new(
                n,
                e.status,
                ErrorBody::parse(e.body.to_string().as_bytes()),
            )),
        }
    }
    c.app.publish_in(&events, crate::webhook::Flow::Secondary);
    // Jira does not promise that `issues` follows the request's order (it
    // carries no correlation id), so neither does the simulator: the
    // created issues come back in an order of their ids' hashes.
    issues.sort_by_key(|i| {
        i.id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    });
    let committed = !issues.is_empty();
    let status = if committed { 201 } else { 400 };
    let resp = BulkCreateResponse::new(issues, errors);
    (reply::json(status, &json!(resp)), committed)
}

pub(crate) fn find_or_404<'w>(
    w: &'w crate::world::World,
    key: &str,
) -> Result<&'w crate::world::SimIssue, Response> {
    w.find(key)
        .ok_or_else(|| reply::error(ApiError::issue_not_found()))
}

pub(crate) fn get(c: &Call<'_>, key: &str) -> Response {
    let w = lock(&c.app.world);
    let issue = match find_or_404(&w, key) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let sel = Selection::parse(&params(c.query, "fields"), Selection::all());
    let rc = c.rc();
    let mut v = render::issue(&rc, issue, &sel);
    if sel == Selection::IdOnly {
        v["key"] = json!(issue.key);
    }
    expand(&rc, &params(c.query, "expand"), issue, &mut v);
    let issue_type = issue.issue_type.clone();
    let project = crate::world::project_of(issue);
    // The field metadata reads the world again (the options).
    drop(w);
    let wanted = params(c.query, "expand");
    if wanted
        .iter()
        .flat_map(|e| e.split(','))
        .any(|e| e.trim() == "editmeta")
    {
        // The edit screen: the create screen's fields but the project,
        // keyed by field id.
        let it = crate::world::ISSUE_TYPES
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(&issue_type))
            .copied()
            .unwrap_or(crate::world::ISSUE_TYPES[0]);
        let fields: serde_json::Map<String, Value> =
            super::meta::field_metas(c.app, c.api, project, it)
                .into_iter()
                .filter_map(|mut f| {
                    let id = f.get("fieldId")?.as_str()?.to_string();
                    if id == "project" {
                        return None;
                    }
                    if let Some(o) = f.as_object_mut() {
                        o.remove("fieldId");
                    }
                    Some((id, f))
                })
                .collect();
        v["editmeta"] = json!({ "fields": fields });
    }
    reply::json(200, &v)
}

/// The expansions Jira applies to an issue (get and search): `changelog`,
/// `names`, `schema`, `renderedFields`; others are ignored, as Jira
/// ignores the ones it does not know.
pub(crate) fn expand(rc: &RenderCtx<'_>, expand: &[&str], issue: &SimIssue, v: &mut Value) {
    let wanted: Vec<&str> = expand
        .iter()
        .flat_map(|e| e.split(','))
        .map(str::trim)
        .collect();
    if wanted.contains(&"changelog") {
        v["changelog"] = render::changelog(rc, issue);
    }
    let fields = v
        .get("fields")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let (names, schema) = render::names_and_schema(rc, &fields);
    if wanted.contains(&"names") {
        v["names"] = names;
    }
    if wanted.contains(&"schema") {
        v["schema"] = schema;
    }
    if wanted.contains(&"renderedFields") {
        v["renderedFields"] = render::rendered_fields(issue);
    }
}

/// Cloud `GET issue/{key}/changelog`: the histories, a page at a time
/// (`startAt`, `maxResults` up to 100, default 100).
pub(crate) fn changelog(c: &Call<'_>, key: &str) -> Response {
    let w = lock(&c.app.world);
    let issue = match find_or_404(&w, key) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let (start, max) = match page(c.query, 100) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let rc = c.rc();
    let values: Vec<Value> = issue
        .history
        .iter()
        .skip(start)
        .take(max)
        .map(|h| render::history(&rc, h))
        .collect();
    let total = issue.history.len();
    let last = start + values.len() >= total;
    let mut out = json!({
        "self": format!("{}/rest/api/{}/issue/{}/changelog?maxResults={max}&startAt={start}",
            c.app.base_url, c.api.as_str(), issue.key),
        "maxResults": max, "startAt": start, "total": total, "isLast": last, "values": values,
    });
    if !last {
        out["nextPage"] = json!(format!(
            "{}/rest/api/{}/issue/{}/changelog?maxResults={max}&startAt={}",
            c.app.base_url,
            c.api.as_str(),
            issue.key,
            start + max
        ));
    }
    reply::json(200, &out)
}

/// `startAt` and `maxResults` (at most `cap`, default `cap`) of a paged read.
pub(crate) fn page(q: &Query, cap: usize) -> Result<(usize, usize), Response> {
    let num = |name: &str| -> Result<Option<i64>, Response> {
        param(q, name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    reply::error(ApiError::message(
                        400,
                        &format!("The value '{v}' of '{name}' is not a number."),
                    ))
                })
            })
            .transpose()
    };
    let start = usize::try_from(num("startAt")?.unwrap_or(0).max(0)).unwrap_or(0);
    let cap_i = i64::try_from(cap).unwrap_or(i64::MAX);
    let max = usize::try_from(num("maxResults")?.unwrap_or(cap_i).clamp(0, cap_i)).unwrap_or(cap);
    Ok((start, max))
}

pub(crate) fn edit(c: &Call<'_>, key: &str) -> Response {
    let body = match parse_body(c.body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let r = lock(&c.app.world)
        .edit(&c.ctx(), key, &body)
        .map(|ev| ((), ev.into_iter().collect()));
    match publish_result(c.app, r) {
        Ok(()) => reply::no_content(),
        Err(resp) => resp,
    }
}

pub(crate) fn delete(c: &Call<'_>, key: &str) -> Response {
    let r = lock(&c.app.world)
        .delete(&c.ctx(), key)
        .map(|ev| ((), vec![ev]));
    match publish_result(c.app, r) {
        Ok(()) => reply::no_content(),
        Err(resp) => resp,
    }
}

pub(crate) fn transitions(c: &Call<'_>, key: &str) -> Response {
    let w = lock(&c.app.world);
    let issue = match find_or_404(&w, key) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let with_fields = param(c.query, "expand")
        .is_some_and(|e| e.split(',').any(|x| x.trim() == "transitions.fields"));
    let only = param(c.query, "transitionId");
    let rc = c.rc();
    let cloud = c.app.flavor == jira_model::Flavor::Cloud;
    let list: Vec<Value> = c
        .app
        .workflow
        .available(&issue.status_id)
        .filter(|t| only.is_none_or(|id| id == t.id))
        .filter_map(|t| {
            let to = c.app.workflow.status(&t.to)?;
            let mut v = json!({
                "id": t.id,
                "name": t.name,
                "to": render::status(&rc, to),
                "hasScreen": t.resolution_on_screen,
            });
            if cloud {
                v["isGlobal"] = json!(false);
                v["isInitial"] = json!(false);
                v["isAvailable"] = json!(true);
                v["isConditional"] = json!(false);
                v["isLooped"] = json!(false);
            }
            if with_fields {
                let mut fields = serde_json::Map::new();
                if t.resolution_on_screen {
                    let allowed: Vec<Value> = c
                        .app
                        .workflow
                        .resolutions
                        .iter()
                        .map(|r| render::resolution(&rc, r))
                        .collect();
                    fields.insert(
                        "resolution".into(),
                        json!({"required": t.resolution_required,
                            "schema": {"type": "resolution", "system": "resolution"},
                            "name": "Resolution", "key": "resolution", "hasDefaultValue": false,
                            "operations": ["set"], "allowedValues": allowed}),
                    );
                }
                v["fields"] = Value::Object(fields);
            }
            Some(v)
        })
        .collect();
    let mut out = json!({ "transitions": list });
    if with_fields {
        out["expand"] = json!("transitions");
    }
    reply::json(200, &out)
}

pub(crate) async fn transition(c: &Call<'_>, key: &str) -> Response {
    let body = match parse_body(c.body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(id) = lock(&c.app.world).find(key).map(|i| i.id.clone()) else {
        return reply::error(ApiError::issue_not_found());
    };
    let Some(_held) = c.app.in_flight.hold(&id) else {
        return reply::error(ApiError::message(
            409,
            "The issue is being transitioned by another request. Try again once that transition is complete.",
        ));
    };
    // The transition executes (validators, post-functions, indexing) for
    // this long, holding the issue against other transitions.
    if !c.app.transition_hold.is_zero() {
        tokio::time::sleep(c.app.transition_hold).await;
    }
    let r = lock(&c.app.world)
        .transition(&c.ctx(), key, &body)
        .map(|evs| ((), evs));
    match publish_result(c.app, r) {
        Ok(()) => reply::no_content(),
        Err(resp) => resp,
    }
}
