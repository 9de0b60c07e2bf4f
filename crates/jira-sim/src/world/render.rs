//! Issues, statuses, users and fields in the JSON shapes Jira returns, per
//! flavor and REST version.

use super::{
    ApiVersion, FINDING_FIELD, FRAMEWORKS_FIELD, ISSUE_TYPES, PRIORITIES, SEVERITY_FIELD,
    SEVERITY_OPTIONS, SimComment, SimIssue, SimProject, adf,
};
use crate::accounts::{self, Account};
use crate::workflow::{WorkflowResolution, WorkflowStatus};
use crate::{FrameworksFieldKind, Workflow};
use chrono::{DateTime, Utc};
use jira_model::{Flavor, StatusCategory, StatusCategoryKey};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// What rendering needs.
#[derive(Clone, Copy)]
pub(crate) struct RenderCtx<'a> {
    pub flavor: Flavor,
    pub api: ApiVersion,
    pub base: &'a str,
    pub workflow: &'a Workflow,
    pub kind: FrameworksFieldKind,
    /// The reader's offset from UTC, in minutes: REST answers show times
    /// in the calling account's time zone (webhooks in UTC).
    pub offset_minutes: i32,
    /// Who reads: restricted comments are shown to members only (`None`,
    /// the system: every comment).
    pub reader: Option<&'a Account>,
}

impl RenderCtx<'_> {
    fn rest(&self) -> String {
        format!("{}/rest/api/{}", self.base, self.api.as_str())
    }

    /// A time as the reader sees it.
    pub fn time(&self, t: DateTime<Utc>) -> String {
        fmt_time_in(t, self.offset_minutes)
    }
}

/// Fields of an issue: (id, navigable).
const ISSUE_FIELDS: [(&str, bool); 20] = [
    ("summary", true),
    ("description", true),
    ("labels", true),
    ("status", true),
    ("resolution", true),
    ("resolutiondate", true),
    ("issuetype", true),
    ("project", true),
    ("priority", true),
    ("components", true),
    ("assignee", true),
    ("duedate", true),
    ("created", true),
    ("updated", true),
    ("creator", true),
    ("reporter", true),
    (FINDING_FIELD, true),
    (FRAMEWORKS_FIELD, true),
    (SEVERITY_FIELD, true),
    ("comment", false),
];

/// Which fields to return, from a `fields` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selection {
    /// Only the issue id (Cloud `search/jql` default).
    IdOnly,
    /// Some fields.
    Fields {
        all: bool,
        navigable: bool,
        include: BTreeSet<String>,
        exclude: BTreeSet<String>,
    },
}

impl Selection {
    pub fn all() -> Self {
        Self::Fields {
            all: true,
            navigable: false,
            include: BTreeSet::new(),
            exclude: BTreeSet::new(),
        }
    }

    pub fn navigable() -> Self {
        Self::Fields {
            all: false,
            navigable: true,
            include: BTreeSet::new(),
            exclude: BTreeSet::new(),
        }
    }

    /// Parses `fields` values (each may be comma-separated); `default` when
    /// none was given.
    pub fn parse<S: AsRef<str>>(values: &[S], default: Selection) -> Selection {
        let items: Vec<&str> = values
            .iter()
            .flat_map(|v| v.as_ref().split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if items.is_empty() {
            return default;
        }
        if items.iter().all(|i| *i == "id") {
            return Selection::IdOnly;
        }
        let (mut all, mut navigable) = (false, false);
        let (mut include, mut exclude) = (BTreeSet::new(), BTreeSet::new());
        for i in items {
            match i {
                "*all" => all = true,
                "*navigable" => navigable = true,
                "id" | "key" => {}
                _ => match i.strip_prefix('-') {
                    Some(x) => {
                        exclude.insert(x.to_string());
                    }
                    None => {
                        include.insert(i.to_string());
                    }
                },
            }
        }
        if include.is_empty() && !all && !navigable {
            navigable = true;
        }
        Selection::Fields {
            all,
            navigable,
            include,
            exclude,
        }
    }

    fn wants(&self, field: &str, is_navigable: bool) -> bool {
        match self {
            Selection::IdOnly => false,
            Selection::Fields {
                all,
                navigable,
                include,
                exclude,
            } => {
                !exclude.contains(field)
                    && (*all || (*navigable && is_navigable) || include.contains(field))
            }
        }
    }
}

/// Jira's timestamp format: `2026-01-31T10:00:00.000+0000`.
pub(crate) fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()
}

/// Jira's datetime format at an offset of `minutes` from UTC:
/// `2026-01-31T15:30:00.000+0530`.
pub(crate) fn fmt_time_in(t: DateTime<Utc>, minutes: i32) -> String {
    match chrono::FixedOffset::east_opt(minutes * 60) {
        Some(offset) => t
            .with_timezone(&offset)
            .format("%Y-%m-%dT%H:%M:%S%.3f%z")
            .to_string(),
        None => fmt_time(t),
    }
}

/// A description as one line of text for changelog strings.
pub(crate) fn plain_description(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => adf::to_wiki(other),
    }
}

/// Rich text for this API version: ADF on v3, a string on v2.
pub(crate) fn rich_text(api: ApiVersion, v: &Value) -> Value {
    match (api, v) {
        (ApiVersion::V3, Value::String(s)) => adf::from_text(s),
        (ApiVersion::V2, Value::Object(_)) => Value::String(adf::to_wiki(v)),
        (_, other) => other.clone(),
    }
}

/// An issue.
pub(crate) fn issue(rc: &RenderCtx<'_>, i: &SimIssue, sel: &Selection) -> Value {
    if *sel == Selection::IdOnly {
        return json!({ "id": i.id });
    }
    let mut fields = Map::new();
    for (name, nav) in ISSUE_FIELDS {
        if sel.wants(name, nav) {
            fields.insert(name.to_string(), field_value(rc, i, name));
        }
    }
    json!({
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": i.id,
        "self": format!("{}/issue/{}", rc.rest(), i.id),
        "key": i.key,
        "fields": fields,
    })
}

fn field_value(rc: &RenderCtx<'_>, i: &SimIssue, name: &str) -> Value {
    match name {
        "summary" => json!(i.summary),
        "description" => i
            .description
            .as_ref()
            .map_or(Value::Null, |d| rich_text(rc.api, d)),
        "labels" => json!(i.labels),
        "status" => match rc.workflow.status(&i.status_id) {
            Some(s) => status(rc, s),
            None => json!({"id": i.status_id, "name": i.status,
                "statusCategory": category(rc, &i.status_category)}),
        },
        "resolution" => match i
            .resolution
            .as_deref()
            .and_then(|r| rc.workflow.resolution(r))
        {
            Some(r) => resolution(rc, r),
            None => Value::Null,
        },
        "resolutiondate" => i.resolution_date.map_or(Value::Null, |t| json!(rc.time(t))),
        "issuetype" => ISSUE_TYPES
            .iter()
            .find(|(_, n)| *n == i.issue_type)
            .map_or(Value::Null, |t| issue_type(rc, *t)),
        "project" => project(rc, super::project_of(i), false),
        "components" => {
            let p = super::project_of(i);
            Value::Array(
                i.components
                    .iter()
                    .filter_map(|n| p.components.iter().find(|(_, c)| c == n))
                    .map(|c| component(rc, *c))
                    .collect(),
            )
        }
        "assignee" => i
            .assignee
            .as_deref()
            .and_then(accounts::by_name)
            .map_or(Value::Null, |a| user(rc, a)),
        "duedate" => i.due_date.as_ref().map_or(Value::Null, |d| json!(d)),
        "priority" => {
            PRIORITIES
                .iter()
                .find(|(_, n)| *n == i.priority)
                .map_or(Value::Null, |(id, n)| {
                    json!({"self": format!("{}/priority/{id}", rc.rest()), "iconUrl":
                    format!("{}/images/icons/priorities/{}.svg", rc.base, n.to_lowercase()),
                    "name": n, "id": id})
                })
        }
        "created" => json!(rc.time(i.created)),
        "updated" => json!(rc.time(i.updated)),
        "creator" | "reporter" => {
            accounts::by_name(&i.creator).map_or(Value::Null, |a| user(rc, a))
        }
        FINDING_FIELD => i
            .custom_fields
            .get(FINDING_FIELD)
            .cloned()
            .unwrap_or(Value::Null),
        SEVERITY_FIELD => i
            .custom_fields
            .get(SEVERITY_FIELD)
            .map_or(Value::Null, |o| {
                let id = o.get("id").and_then(Value::as_str).unwrap_or("");
                json!({"self": format!("{}/customFieldOption/{id}", rc.rest()),
                    "value": o.get("value").cloned().unwrap_or(Value::Null), "id": id})
            }),
        FRAMEWORKS_FIELD => match i.custom_fields.get(FRAMEWORKS_FIELD) {
            None => Value::Null,
            Some(Value::Array(items)) if rc.kind == FrameworksFieldKind::MultiSelect => {
                Value::Array(
                    items
                        .iter()
                        .map(|o| {
                            let id = o.get("id").and_then(Value::as_str).unwrap_or("");
                            json!({"self": format!("{}/customFieldOption/{id}", rc.rest()),
                            "value": o.get("value").cloned().unwrap_or(Value::Null), "id": id})
                        })
                        .collect(),
                )
            }
            Some(v) => v.clone(),
        },
        "comment" => {
            let comments: Vec<Value> = i
                .comments
                .iter()
                .filter(|c| super::visible_to(c, rc.reader))
                .map(|c| comment(rc, i, c))
                .collect();
            json!({"comments": comments, "self": format!("{}/issue/{}/comment", rc.rest(), i.id),
                "maxResults": comments.len(), "total": comments.len(), "startAt": 0})
        }
        _ => Value::Null,
    }
}

/// A status category.
pub(crate) fn category(rc: &RenderCtx<'_>, key: &StatusCategoryKey) -> Value {
    let stock = StatusCategory::stock(key.clone());
    let color = match key {
        StatusCategoryKey::New => "blue-gray",
        StatusCategoryKey::Indeterminate => "yellow",
        StatusCategoryKey::Done => "green",
        _ => "medium-gray",
    };
    json!({
        "self": format!("{}/statuscategory/{}", rc.rest(), stock.id),
        "id": stock.id,
        "key": key.as_str(),
        "colorName": color,
        "name": stock.name,
    })
}

/// A status.
pub(crate) fn status(rc: &RenderCtx<'_>, s: &WorkflowStatus) -> Value {
    json!({
        "self": format!("{}/status/{}", rc.rest(), s.id),
        "description": "",
        "iconUrl": format!("{}/images/icons/statuses/generic.png", rc.base),
        "name": s.name,
        "id": s.id,
        "statusCategory": category(rc, &s.category),
    })
}

/// A resolution.
pub(crate) fn resolution(rc: &RenderCtx<'_>, r: &WorkflowResolution) -> Value {
    json!({
        "self": format!("{}/resolution/{}", rc.rest(), r.id),
        "id": r.id,
        "description": format!("Resolved as {}.", r.name),
        "name": r.name,
    })
}

/// An issue type.
pub(crate) fn issue_type(rc: &RenderCtx<'_>, (id, name): (&str, &str)) -> Value {
    json!({
        "self": format!("{}/issuetype/{id}", rc.rest()),
        "id": id,
        "description": if name == "Bug" { "A problem which impairs or prevents the functions of the product." } else { "A security weakness." },
        "iconUrl": format!("{}/images/icons/issuetypes/{}.svg", rc.base, name.to_lowercase()),
        "name": name,
        "subtask": false,
        "hierarchyLevel": 0,
    })
}

/// A project, with its issue types (and components) when asked.
pub(crate) fn project(rc: &RenderCtx<'_>, sp: &SimProject, with_issue_types: bool) -> Value {
    let mut p = json!({
        "self": format!("{}/project/{}", rc.rest(), sp.id),
        "id": sp.id,
        "key": sp.key,
        "name": sp.name,
        "projectTypeKey": "software",
        "simplified": false,
        "avatarUrls": avatars(rc.base, "projectavatar", sp.id),
    });
    if with_issue_types {
        p["issueTypes"] = ISSUE_TYPES.iter().map(|t| issue_type(rc, *t)).collect();
        p["components"] = sp.components.iter().map(|c| component(rc, *c)).collect();
    }
    p
}

/// A component: (id, name).
pub(crate) fn component(rc: &RenderCtx<'_>, (id, name): (&str, &str)) -> Value {
    json!({"self": format!("{}/component/{id}", rc.rest()), "id": id, "name": name})
}

fn avatars(base: &str, kind: &str, id: &str) -> Value {
    let url = |s: u32| format!("{base}/secure/{kind}?size={s}&id={id}");
    json!({"48x48": url(48), "24x24": url(24), "16x16": url(16), "32x32": url(32)})
}

/// A user in the flavor's shape: `accountId` on Cloud, `name`/`key` on
/// Data Center.
pub(crate) fn user(rc: &RenderCtx<'_>, a: &Account) -> Value {
    match rc.flavor {
        Flavor::Cloud => json!({
            "self": format!("{}/user?accountId={}", rc.rest(), a.account_id),
            "accountId": a.account_id,
            "emailAddress": a.email,
            "avatarUrls": avatars(rc.base, "useravatar", a.account_id),
            "displayName": a.display_name,
            "active": true,
            "timeZone": a.time_zone,
            "accountType": "atlassian",
        }),
        Flavor::DataCenter => json!({
            "self": format!("{}/user?username={}", rc.rest(), a.name),
            "name": a.name,
            "key": a.key,
            "emailAddress": a.email,
            "avatarUrls": avatars(rc.base, "useravatar", a.key),
            "displayName": a.display_name,
            "active": true,
            "timeZone": a.time_zone,
        }),
    }
}

/// A comment.
pub(crate) fn comment(rc: &RenderCtx<'_>, i: &SimIssue, c: &SimComment) -> Value {
    let author = accounts::by_name(&c.author).map_or(Value::Null, |a| user(rc, a));
    let update_author = c
        .update_author
        .as_deref()
        .and_then(accounts::by_name)
        .map_or_else(|| author.clone(), |a| user(rc, a));
    let mut v = json!({
        "self": format!("{}/issue/{}/comment/{}", rc.rest(), i.id, c.id),
        "id": c.id,
        "author": author,
        "body": rich_text(rc.api, &c.body),
        "updateAuthor": update_author,
        "created": rc.time(c.created),
        "updated": rc.time(c.updated.unwrap_or(c.created)),
    });
    if let Some(vis) = &c.visibility {
        v["visibility"] = json!({"type": vis.kind, "value": vis.value});
        if rc.flavor == Flavor::Cloud {
            v["visibility"]["identifier"] = json!(vis.value);
        }
    }
    if rc.flavor == Flavor::Cloud {
        v["jsdPublic"] = json!(true);
    }
    v
}

/// One history of an issue's changelog.
pub(crate) fn history(rc: &RenderCtx<'_>, h: &super::SimHistory) -> Value {
    let items: Vec<Value> = h
        .items
        .iter()
        .map(|it| {
            let mut it = it.clone();
            if rc.flavor == Flavor::DataCenter {
                it.field_id = None;
            }
            serde_json::to_value(it).unwrap_or(Value::Null)
        })
        .collect();
    json!({
        "id": h.id,
        "author": accounts::by_name(&h.author).map_or(Value::Null, |a| user(rc, a)),
        "created": rc.time(h.created),
        "items": items,
    })
}

/// `expand=changelog`: every history, oldest first.
pub(crate) fn changelog(rc: &RenderCtx<'_>, i: &SimIssue) -> Value {
    let histories: Vec<Value> = i.history.iter().map(|h| history(rc, h)).collect();
    json!({"startAt": 0, "maxResults": histories.len(), "total": histories.len(), "histories": histories})
}

/// `expand=names` and `expand=schema`: each returned field's name and
/// schema, from the field definitions.
pub(crate) fn names_and_schema(rc: &RenderCtx<'_>, fields: &Map<String, Value>) -> (Value, Value) {
    let defs = field_definitions(rc);
    let mut names = Map::new();
    let mut schema = Map::new();
    for id in fields.keys() {
        if let Some(d) = defs.iter().find(|d| d["id"] == id.as_str()) {
            names.insert(id.clone(), d["name"].clone());
            schema.insert(id.clone(), d["schema"].clone());
        } else {
            let name = match id.as_str() {
                "resolutiondate" => "Resolved",
                "creator" => "Creator",
                "reporter" => "Reporter",
                "comment" => "Comment",
                other => other,
            };
            names.insert(id.clone(), json!(name));
        }
    }
    (Value::Object(names), Value::Object(schema))
}

/// `expand=renderedFields`: the rich-text fields as HTML, times as text.
pub(crate) fn rendered_fields(i: &SimIssue) -> Value {
    let html = |text: &str| {
        let escaped = text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        format!("<p>{escaped}</p>")
    };
    json!({
        "description": i.description.as_ref().map(|d| html(&plain_description(d))),
        "created": i.created.format("%d/%b/%y %-I:%M %p").to_string(),
        "updated": i.updated.format("%d/%b/%y %-I:%M %p").to_string(),
    })
}

/// `GET /field`: every field the project knows.
pub(crate) fn field_definitions(rc: &RenderCtx<'_>) -> Vec<Value> {
    let system = |id: &str, name: &str, schema: Value| {
        json!({"id": id, "key": id, "name": name, "custom": false, "orderable": true,
            "navigable": true, "searchable": true, "clauseNames": [id], "schema": schema})
    };
    let mut out = vec![
        system(
            "summary",
            "Summary",
            json!({"type":"string","system":"summary"}),
        ),
        system(
            "description",
            "Description",
            json!({"type":"string","system":"description"}),
        ),
        system(
            "labels",
            "Labels",
            json!({"type":"array","items":"string","system":"labels"}),
        ),
        system(
            "status",
            "Status",
            json!({"type":"status","system":"status"}),
        ),
        system(
            "resolution",
            "Resolution",
            json!({"type":"resolution","system":"resolution"}),
        ),
        system(
            "issuetype",
            "Issue Type",
            json!({"type":"issuetype","system":"issuetype"}),
        ),
        system(
            "project",
            "Project",
            json!({"type":"project","system":"project"}),
        ),
        system(
            "priority",
            "Priority",
            json!({"type":"priority","system":"priority"}),
        ),
        system(
            "created",
            "Created",
            json!({"type":"datetime","system":"created"}),
        ),
        system(
            "updated",
            "Updated",
            json!({"type":"datetime","system":"updated"}),
        ),
    ];
    for id in CUSTOM_FIELDS {
        let (name, schema) = custom_field(rc, id);
        let n = id.trim_start_matches("customfield_");
        out.push(json!({"id": id, "key": id, "name": name,
            "custom": true, "orderable": true, "navigable": true, "searchable": true,
            "clauseNames": [format!("cf[{n}]"), name], "schema": schema}));
    }
    out
}

/// The custom fields of the project.
pub(crate) const CUSTOM_FIELDS: [&str; 3] = [FINDING_FIELD, FRAMEWORKS_FIELD, SEVERITY_FIELD];

/// The allowed values of the "Finding Severity" select.
pub(crate) fn severity_options(rc: &RenderCtx<'_>) -> Value {
    SEVERITY_OPTIONS
        .iter()
        .map(|(id, v)| json!({"self": format!("{}/customFieldOption/{id}", rc.rest()), "value": v, "id": id}))
        .collect()
}

/// Name and schema of a custom field.
pub(crate) fn custom_field(rc: &RenderCtx<'_>, id: &str) -> (&'static str, Value) {
    if id == SEVERITY_FIELD {
        return (
            "Finding Severity",
            json!({"type":"option","custom":"com.atlassian.jira.plugin.system.customfieldtypes:select","customId":10033}),
        );
    }
    if id == FINDING_FIELD {
        (
            "Penaxtra Finding ID",
            json!({"type":"string","custom":"com.atlassian.jira.plugin.system.customfieldtypes:textfield","customId":10031}),
        )
    } else {
        let schema = match rc.kind {
            FrameworksFieldKind::MultiSelect => json!({"type":"array","items":"option",
                "custom":"com.atlassian.jira.plugin.system.customfieldtypes:multiselect","customId":10032}),
            FrameworksFieldKind::Labels => json!({"type":"array","items":"string",
                "custom":"com.atlassian.jira.plugin.system.customfieldtypes:labels","customId":10032}),
        };
        ("Framework references", schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_parsing() {
        assert_eq!(
            Selection::parse::<&str>(&[], Selection::IdOnly),
            Selection::IdOnly
        );
        assert_eq!(
            Selection::parse(&["id"], Selection::all()),
            Selection::IdOnly
        );
        let s = Selection::parse(&["summary,status", "-status"], Selection::IdOnly);
        assert!(s.wants("summary", true) && !s.wants("status", true) && !s.wants("labels", true));
        let s = Selection::parse(&["*all,-comment"], Selection::IdOnly);
        assert!(!s.wants("comment", false) && s.wants("labels", true));
        let s = Selection::parse(&["-description"], Selection::IdOnly);
        assert!(s.wants("summary", true) && !s.wants("description", true));
        let s = Selection::parse(&["*navigable"], Selection::IdOnly);
        assert!(!s.wants("comment", false));
    }

    #[test]
    fn time_format() {
        use chrono::TimeZone;
        let t = Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap();
        assert_eq!(fmt_time(t), "2026-01-31T10:00:00.000+0000");
        assert_eq!(fmt_time_in(t, 330), "2026-01-31T15:30:00.000+0530");
        assert_eq!(fmt_time_in(t, -420), "2026-01-31T03:00:00.000-0700");
    }
}
