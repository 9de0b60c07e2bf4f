//! Webhook bodies in the flavor's real shape.

use crate::world::SimEvent;
use crate::world::render::{self, RenderCtx, Selection};
use jira_model::Flavor;
use serde_json::{Value, json};

/// The body of the webhook for `ev`. Issues are rendered as REST v2 renders
/// them (descriptions as wiki strings) on both flavors; users by
/// `accountId` on Cloud, by `name`/`key` on Data Center; changelog items
/// carry `fieldId` on Cloud only.
pub(crate) fn body(rc: &RenderCtx<'_>, ev: &SimEvent) -> Value {
    let mut v = json!({
        "timestamp": ev.at.timestamp_millis(),
        "webhookEvent": ev.kind.as_str(),
        "issue_event_type_name": ev.type_name,
        "user": render::user(rc, ev.actor),
        "issue": render::issue(rc, &ev.issue, &Selection::all()),
    });
    if let Some(id) = &ev.changelog_id {
        let items: Vec<Value> = ev
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
        v["changelog"] = json!({ "id": id, "items": items });
    }
    if let Some(c) = &ev.comment {
        v["comment"] = render::comment(rc, &ev.issue, c);
    }
    v
}

/// The body of a comment webhook (`comment_created`, `comment_updated`,
/// `comment_deleted`): the comment and a short form of its issue.
pub(crate) fn comment_body(
    rc: &RenderCtx<'_>,
    ev: &SimEvent,
    kind: &jira_model::webhook::WebhookEventKind,
) -> Value {
    let fields = Selection::parse(
        &["summary,status,issuetype,project,priority"],
        Selection::IdOnly,
    );
    let mut v = json!({
        "timestamp": ev.at.timestamp_millis(),
        "webhookEvent": kind.as_str(),
        "issue": render::issue(rc, &ev.issue, &fields),
    });
    if let Some(c) = &ev.comment {
        v["comment"] = render::comment(rc, &ev.issue, c);
    }
    v
}
