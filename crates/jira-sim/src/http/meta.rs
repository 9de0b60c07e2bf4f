//! Who am I, server info, project, create metadata and fields.

use super::{App, lock, reply};
use crate::FrameworksFieldKind;
use crate::accounts::Account;
use crate::world::api_error::ApiError;
use crate::world::render;
use crate::world::{
    ApiVersion, FINDING_FIELD, FRAMEWORKS_FIELD, ISSUE_TYPES, PRIORITIES, SEVERITY_FIELD,
    sim_project,
};
use axum::response::Response;
use jira_model::Flavor;
use serde_json::{Value, json};

pub(crate) fn myself(app: &App, api: ApiVersion, a: &Account) -> Response {
    let rc = app.render_for(api, Some(a));
    let mut v = render::user(&rc, a);
    v["locale"] = json!("en_US");
    v["groups"] = json!({"size": 1, "items": []});
    reply::json(200, &v)
}

pub(crate) fn server_info(app: &App, _api: ApiVersion) -> Response {
    let now = render::fmt_time(app.clock.now());
    let v = match app.flavor {
        Flavor::Cloud => json!({
            "baseUrl": app.base_url, "displayUrl": app.base_url,
            "version": "1001.0.0-SNAPSHOT", "versionNumbers": [1001, 0, 0],
            "deploymentType": "Cloud", "buildNumber": 100_282,
            "buildDate": "2026-01-01T00:00:00.000+0000", "serverTime": now,
            "scmInfo": "0000000000000000000000000000000000000000",
            "serverTitle": "Jira (jira-sim)", "defaultLocale": {"locale": "en_US"},
            "serverTimeZone": "UTC",
        }),
        Flavor::DataCenter => json!({
            "baseUrl": app.base_url, "version": "9.12.0", "versionNumbers": [9, 12, 0],
            "deploymentType": "Server", "buildNumber": 912_000,
            "buildDate": "2026-01-01T00:00:00.000+0000", "serverTime": now,
            "scmInfo": "0000000000000000000000000000000000000000",
            "serverTitle": "Jira (jira-sim)",
        }),
    };
    reply::json(200, &v)
}

pub(crate) fn no_project(p: &str) -> Response {
    reply::error(ApiError::message(
        404,
        &format!("No project could be found with key '{p}'."),
    ))
}

pub(crate) fn project(app: &App, api: ApiVersion, p: &str) -> Response {
    let Some(sp) = sim_project(p) else {
        return no_project(p);
    };
    reply::json(200, &render::project(&app.render_ctx(api), sp, true))
}

pub(crate) fn createmeta_types(app: &App, api: ApiVersion, p: &str) -> Response {
    if sim_project(p).is_none() {
        return no_project(p);
    }
    let rc = app.render_ctx(api);
    let types: Vec<Value> = ISSUE_TYPES
        .iter()
        .map(|t| render::issue_type(&rc, *t))
        .collect();
    let n = types.len();
    let v = match app.flavor {
        Flavor::Cloud => json!({"issueTypes": types, "maxResults": 50, "startAt": 0, "total": n}),
        Flavor::DataCenter => {
            json!({"values": types, "maxResults": 50, "startAt": 0, "total": n, "isLast": true})
        }
    };
    reply::json(200, &v)
}

pub(crate) fn createmeta_fields(app: &App, api: ApiVersion, p: &str, t: &str) -> Response {
    let Some(sp) = sim_project(p) else {
        return no_project(p);
    };
    let Some(it) = ISSUE_TYPES.iter().find(|(id, _)| *id == t) else {
        return reply::error(ApiError::message(
            404,
            &format!("The issue type with id '{t}' does not exist."),
        ));
    };
    let fields = field_metas(app, api, sp, *it);
    let n = fields.len();
    let v = match app.flavor {
        Flavor::Cloud => json!({"fields": fields, "maxResults": 50, "startAt": 0, "total": n}),
        Flavor::DataCenter => {
            json!({"values": fields, "maxResults": 50, "startAt": 0, "total": n, "isLast": true})
        }
    };
    reply::json(200, &v)
}

/// The fields of the create (and edit) screen of an issue type in a
/// project, each with its `required`, `schema`, `name`, `key`,
/// `operations` and allowed values.
pub(crate) fn field_metas(
    app: &App,
    api: ApiVersion,
    sp: &crate::world::SimProject,
    it: (&str, &str),
) -> Vec<Value> {
    let rc = app.render_ctx(api);
    let field = |id: &str, name: &str, required: bool, schema: Value, ops: &[&str]| {
        json!({"required": required, "schema": schema, "name": name, "key": id, "fieldId": id,
            "hasDefaultValue": false, "operations": ops})
    };
    let mut project = field(
        "project",
        "Project",
        true,
        json!({"type":"project","system":"project"}),
        &["set"],
    );
    project["allowedValues"] = json!([render::project(&rc, sp, false)]);
    let mut issuetype = field(
        "issuetype",
        "Issue Type",
        true,
        json!({"type":"issuetype","system":"issuetype"}),
        &[],
    );
    issuetype["allowedValues"] = json!([render::issue_type(&rc, it)]);
    let mut priority = field(
        "priority",
        "Priority",
        false,
        json!({"type":"priority","system":"priority"}),
        &["set"],
    );
    priority["allowedValues"] = PRIORITIES
        .iter()
        .map(|(id, n)| json!({"self": format!("{}/rest/api/{}/priority/{id}", app.base_url, api.as_str()), "name": n, "id": id}))
        .collect();
    priority["hasDefaultValue"] = json!(true);
    priority["defaultValue"] = json!({"name": "Medium", "id": "3"});
    let (fname, fschema) = render::custom_field(&rc, FINDING_FIELD);
    let (wname, wschema) = render::custom_field(&rc, FRAMEWORKS_FIELD);
    let mut frameworks = field(
        FRAMEWORKS_FIELD,
        wname,
        false,
        wschema,
        &["add", "set", "remove"],
    );
    if app.kind == FrameworksFieldKind::MultiSelect {
        frameworks["allowedValues"] = lock(&app.world)
            .options
            .iter()
            .map(|(id, v)| json!({"self": format!("{}/rest/api/{}/customFieldOption/{id}", app.base_url, api.as_str()), "value": v, "id": id}))
            .collect();
    }
    let mut components = field(
        "components",
        "Components",
        false,
        json!({"type":"array","items":"component","system":"components"}),
        &["add", "set", "remove"],
    );
    components["allowedValues"] = sp
        .components
        .iter()
        .map(|c| render::component(&rc, *c))
        .collect();
    let mut assignee = field(
        "assignee",
        "Assignee",
        false,
        json!({"type":"user","system":"assignee"}),
        &["set"],
    );
    assignee["autoCompleteUrl"] = json!(format!(
        "{}/rest/api/{}/user/assignable/search?project={}&query=",
        app.base_url,
        api.as_str(),
        sp.key
    ));
    let (sname, sschema) = render::custom_field(&rc, SEVERITY_FIELD);
    let mut severity = field(SEVERITY_FIELD, sname, false, sschema, &["set"]);
    severity["allowedValues"] = render::severity_options(&rc);
    let fields = vec![
        project,
        issuetype,
        field(
            "summary",
            "Summary",
            true,
            json!({"type":"string","system":"summary"}),
            &["set"],
        ),
        field(
            "description",
            "Description",
            false,
            json!({"type":"string","system":"description"}),
            &["set"],
        ),
        field(
            "labels",
            "Labels",
            false,
            json!({"type":"array","items":"string","system":"labels"}),
            &["add", "set", "remove"],
        ),
        priority,
        components,
        assignee,
        field(FINDING_FIELD, fname, false, fschema, &["set"]),
        frameworks,
        severity,
    ];
    let mut fields = fields;
    if sp.due_date_on_screen {
        fields.push(field(
            "duedate",
            "Due date",
            false,
            json!({"type":"date","system":"duedate"}),
            &["set"],
        ));
    }
    fields
}

pub(crate) fn fields(app: &App, api: ApiVersion) -> Response {
    reply::json(
        200,
        &Value::Array(render::field_definitions(&app.render_ctx(api))),
    )
}

/// The custom fields as a discovery listing shows them, filtered by a
/// case-insensitive part of the name.
fn custom_listing<'a>(
    rc: &render::RenderCtx<'a>,
    query: Option<&str>,
) -> Vec<(&'static str, &'static str, Value)> {
    render::CUSTOM_FIELDS
        .iter()
        .map(|id| {
            let (name, schema) = render::custom_field(rc, id);
            (*id, name, schema)
        })
        .filter(|(id, name, _)| {
            query.is_none_or(|q| {
                let q = q.to_lowercase();
                name.to_lowercase().contains(&q) || id.contains(&q)
            })
        })
        .collect()
}

/// Cloud `GET field/search?type=custom&query=…&startAt&maxResults`: fields,
/// paged (50 a page by default).
pub(crate) fn field_search(c: &super::issues::Call<'_>) -> Response {
    let (start, max) = match super::issues::page(c.query, 50) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let rc = c.rc();
    let kinds: Vec<&str> = super::rest::params(c.query, "type")
        .iter()
        .flat_map(|t| t.split(','))
        .collect();
    let ids: Vec<&str> = super::rest::params(c.query, "id")
        .iter()
        .flat_map(|t| t.split(','))
        .collect();
    let query = super::rest::param(c.query, "query");
    let mut all: Vec<Value> = Vec::new();
    if kinds.is_empty() || kinds.contains(&"system") {
        all.extend(
            render::field_definitions(&rc)
                .into_iter()
                .filter(|f| f["custom"] == false)
                .filter(|f| {
                    query.is_none_or(|q| {
                        f["name"]
                            .as_str()
                            .is_some_and(|n| n.to_lowercase().contains(&q.to_lowercase()))
                    })
                })
                .map(|f| {
                    json!({"id": f["id"], "key": f["key"], "name": f["name"], "schema": f["schema"],
                        "isLocked": true, "description": ""})
                }),
        );
    }
    if kinds.is_empty() || kinds.contains(&"custom") {
        for (id, name, schema) in custom_listing(&rc, query) {
            let searcher = schema["custom"]
                .as_str()
                .map(|t| t.replace(":textfield", ":textsearcher"))
                .map(|t| t.replace(":multiselect", ":multiselectsearcher"))
                .map(|t| t.replace(":select", ":multiselectsearcher"));
            all.push(json!({"id": id, "key": id, "name": name, "schema": schema,
                "description": "", "isLocked": false, "searcherKey": searcher,
                "stableId": format!("sfid:{id}"),
                "untranslatedName": name}));
        }
    }
    all.retain(|f| ids.is_empty() || ids.iter().any(|i| f["id"] == *i));
    let total = all.len();
    let values: Vec<Value> = all.into_iter().skip(start).take(max).collect();
    reply::json(
        200,
        &json!({"maxResults": max, "startAt": start, "total": total,
            "isLast": start + values.len() >= total, "values": values}),
    )
}

/// Data Center `GET customFields?search=…&startAt&maxResults`: the custom
/// fields with their type names, paged.
pub(crate) fn custom_fields(c: &super::issues::Call<'_>) -> Response {
    let (start, max) = match super::issues::page(c.query, 50) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let rc = c.rc();
    let search = super::rest::param(c.query, "search");
    let all: Vec<Value> = custom_listing(&rc, search)
        .into_iter()
        .map(|(id, name, schema)| {
            let kind = match schema["custom"].as_str().unwrap_or_default() {
                t if t.ends_with(":textfield") => "Text Field (single line)",
                t if t.ends_with(":multiselect") => "Select List (multiple choices)",
                t if t.ends_with(":select") => "Select List (single choice)",
                _ => "Labels",
            };
            let numeric: u64 = id
                .trim_start_matches("customfield_")
                .parse()
                .unwrap_or_default();
            json!({"id": id, "name": name, "description": "", "type": kind,
                "searcherKey": schema["custom"], "self": format!("{}/rest/api/2/customFields/{id}", c.app.base_url),
                "numericId": numeric, "isLocked": false, "isManaged": false, "isAllProjects": true,
                "isTrusted": true, "projectsCount": 0, "screensCount": 1, "contextsCount": 1})
        })
        .collect();
    let total = all.len();
    let values: Vec<Value> = all.into_iter().skip(start).take(max).collect();
    reply::json(
        200,
        &json!({"maxResults": max, "startAt": start, "total": total,
            "isLast": start + values.len() >= total, "values": values}),
    )
}
