//! Comments: add, edit, delete, and who may see them. A comment restricted
//! to a project role or a group is stored with its restriction, echoed
//! with it, hidden from accounts outside it, and refused when the role or
//! group does not exist or the author is not in it.
//!
//! Sources: the Jira REST comment resource (`visibility` with `type`
//! `role`/`group` and `value`); atlassian/atlassian-mcp-server#105 ("Role
//! with id: Users does not exist."); reload/github-security-jira#128
//! (`commentLevel`: "You are currently not a member of the project role: …").

use super::api_error::ApiError;
use super::fields::Mode;
use super::{Ctx, PROJECTS, SimComment, SimEvent, World};
use crate::accounts::Account;
use jira_model::webhook::WebhookEventKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Who may see a comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SimVisibility {
    /// `role` or `group`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The role's or group's name.
    pub value: String,
}

/// Project roles of `SEC` and their members (account names).
const ROLES: [(&str, &[&str]); 3] = [
    ("Administrators", &["penaxtra-bot"]),
    ("Developers", &["penaxtra-bot", "alex"]),
    ("Users", &["penaxtra-bot", "alex", "readonly"]),
];

/// Groups and their members.
const GROUPS: [(&str, &[&str]); 3] = [
    ("jira-administrators", &["penaxtra-bot"]),
    ("security-team", &["penaxtra-bot", "alex"]),
    ("jira-software-users", &["penaxtra-bot", "alex", "readonly"]),
];

fn members(v: &SimVisibility) -> Option<&'static [&'static str]> {
    let table: &[(&str, &[&str])] = if v.kind == "role" { &ROLES } else { &GROUPS };
    table
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(&v.value))
        .map(|(_, m)| *m)
}

/// Whether `reader` may see `c` (no reader: the system, e.g. webhooks).
pub(crate) fn visible_to(c: &SimComment, reader: Option<&Account>) -> bool {
    match (&c.visibility, reader) {
        (None, _) | (_, None) => true,
        (Some(v), Some(a)) => members(v).is_some_and(|m| m.contains(&a.name)),
    }
}

fn comment_level(message: String) -> ApiError {
    ApiError::fields(BTreeMap::from([("commentLevel".to_string(), message)]))
}

/// Reads and checks a `visibility` object for `author`.
fn visibility(v: Option<&Value>, author: &Account) -> Result<Option<SimVisibility>, ApiError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
    let value = v
        .get("value")
        .or_else(|| v.get("identifier"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !matches!(kind, "role" | "group") || value.is_empty() {
        return Err(comment_level(
            "A visibility needs a 'type' of role or group and a 'value'.".into(),
        ));
    }
    let vis = SimVisibility {
        kind: kind.to_string(),
        value: value.to_string(),
    };
    let Some(m) = members(&vis) else {
        return Err(comment_level(if kind == "role" {
            format!("Role with id: {value} does not exist.")
        } else {
            format!("Group: {value} does not exist.")
        }));
    };
    if !m.contains(&author.name) {
        return Err(comment_level(format!(
            "You are currently not a member of the project {}: {value}.",
            if kind == "role" { "role" } else { "group" }
        )));
    }
    // Stored under the name Jira knows it by.
    let table: &[(&str, &[&str])] = if kind == "role" { &ROLES } else { &GROUPS };
    let canonical = table
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(value))
        .map_or(value, |(n, _)| *n);
    Ok(Some(SimVisibility {
        kind: vis.kind,
        value: canonical.to_string(),
    }))
}

/// The order of a comment listing (`orderBy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommentOrder {
    /// `created` / `+created` (the default): oldest first.
    Created,
    /// `-created`: newest first.
    CreatedDesc,
}

impl CommentOrder {
    /// Parses `orderBy`; `None` for a value Jira does not sort by.
    pub fn parse(v: Option<&str>) -> Option<Self> {
        match v.map(str::trim) {
            None | Some("" | "created" | "+created") => Some(Self::Created),
            Some("-created") => Some(Self::CreatedDesc),
            Some(_) => None,
        }
    }
}

fn no_comment(id: &str) -> ApiError {
    ApiError::message(404, &format!("Can not find a comment for the id: {id}."))
}

impl World {
    /// Adds a comment (with its `visibility`, if any).
    pub fn comment(&mut self, ctx: &Ctx, key: &str, body: &Value) -> Result<SimEvent, ApiError> {
        let i = self.writable(
            ctx,
            key,
            "You do not have the permission to comment on this issue.",
        )?;
        let text = self
            .checker(ctx, Mode::Edit, &PROJECTS[0])
            .comment_body(body.get("body"))?;
        let vis = visibility(body.get("visibility"), ctx.account)?;
        Ok(self.add_comment(ctx, i, text, vis))
    }

    pub(super) fn add_comment(
        &mut self,
        ctx: &Ctx,
        i: usize,
        body: Value,
        visibility: Option<SimVisibility>,
    ) -> SimEvent {
        self.next_comment += 1;
        let comment = SimComment {
            id: self.next_comment.to_string(),
            author: ctx.account.name.into(),
            body,
            created: ctx.now,
            updated: None,
            update_author: None,
            visibility,
        };
        let mut issue = self.issues[i].clone();
        issue.comments.push(comment.clone());
        issue.updated = ctx.now;
        self.commit(i, issue.clone(), ctx.now);
        let mut e = self.event(
            ctx,
            WebhookEventKind::IssueUpdated,
            "issue_commented",
            issue,
            Vec::new(),
        );
        e.comment = Some(comment);
        e.comment_event = Some(WebhookEventKind::CommentCreated);
        e
    }

    /// A comment of a live issue that `reader` may see.
    pub fn find_comment(
        &self,
        key: &str,
        id: &str,
        reader: Option<&Account>,
    ) -> Result<(&super::SimIssue, &SimComment), ApiError> {
        let issue = self.find(key).ok_or_else(ApiError::issue_not_found)?;
        issue
            .comments
            .iter()
            .find(|c| c.id == id && visible_to(c, reader))
            .map(|c| (issue, c))
            .ok_or_else(|| no_comment(id))
    }

    /// The index of issue `key` and of its comment `id`, when `ctx` may
    /// change it: its author, or an administrator (the service account).
    fn own_comment(&self, ctx: &Ctx, key: &str, id: &str) -> Result<(usize, usize), ApiError> {
        let i = self.writable(
            ctx,
            key,
            "You do not have the permission to comment on this issue.",
        )?;
        let n = self.issues[i]
            .comments
            .iter()
            .position(|c| c.id == id && visible_to(c, Some(ctx.account)))
            .ok_or_else(|| no_comment(id))?;
        let admin = ROLES[0].1.contains(&ctx.account.name);
        if !admin && self.issues[i].comments[n].author != ctx.account.name {
            return Err(ApiError::message(
                403,
                "You do not have the permission to edit or delete this comment.",
            ));
        }
        Ok((i, n))
    }

    /// Edits a comment's body (and, when given, its visibility).
    pub fn update_comment(
        &mut self,
        ctx: &Ctx,
        key: &str,
        id: &str,
        body: &Value,
    ) -> Result<SimEvent, ApiError> {
        let (i, n) = self.own_comment(ctx, key, id)?;
        let text = self
            .checker(ctx, Mode::Edit, &PROJECTS[0])
            .comment_body(body.get("body"))?;
        let vis = match body.get("visibility") {
            None => self.issues[i].comments[n].visibility.clone(),
            some => visibility(some, ctx.account)?,
        };
        let mut issue = self.issues[i].clone();
        let c = &mut issue.comments[n];
        c.body = text;
        c.visibility = vis;
        c.updated = Some(ctx.now);
        c.update_author = Some(ctx.account.name.into());
        let comment = c.clone();
        issue.updated = ctx.now;
        self.commit(i, issue.clone(), ctx.now);
        let mut e = self.event(
            ctx,
            WebhookEventKind::IssueUpdated,
            "issue_comment_edited",
            issue,
            Vec::new(),
        );
        e.comment = Some(comment);
        e.comment_event = Some(WebhookEventKind::CommentUpdated);
        Ok(e)
    }

    /// Deletes a comment.
    pub fn delete_comment(&mut self, ctx: &Ctx, key: &str, id: &str) -> Result<SimEvent, ApiError> {
        let (i, n) = self.own_comment(ctx, key, id)?;
        let mut issue = self.issues[i].clone();
        let comment = issue.comments.remove(n);
        issue.updated = ctx.now;
        self.commit(i, issue.clone(), ctx.now);
        let mut e = self.event(
            ctx,
            WebhookEventKind::IssueUpdated,
            "issue_comment_deleted",
            issue,
            Vec::new(),
        );
        e.comment = Some(comment);
        e.comment_event = Some(WebhookEventKind::CommentDeleted);
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::ALL;
    use serde_json::json;

    #[test]
    fn visibility_is_checked_against_roles_groups_and_membership() {
        let bot = &ALL[0];
        let alex = &ALL[1];
        let v = visibility(Some(&json!({"type":"role","value":"developers"})), alex)
            .unwrap()
            .unwrap();
        assert_eq!((v.kind.as_str(), v.value.as_str()), ("role", "Developers"));
        let e = visibility(Some(&json!({"type":"role","value":"Wizards"})), bot).unwrap_err();
        assert_eq!(
            e.body["errors"]["commentLevel"],
            "Role with id: Wizards does not exist."
        );
        let e =
            visibility(Some(&json!({"type":"role","value":"Administrators"})), alex).unwrap_err();
        assert_eq!(
            e.body["errors"]["commentLevel"],
            "You are currently not a member of the project role: Administrators."
        );
        assert!(visibility(Some(&json!({"type":"group","value":"nope"})), bot).is_err());
        assert!(visibility(Some(&json!({"type":"user","value":"x"})), bot).is_err());
        assert_eq!(visibility(Some(&Value::Null), bot).unwrap(), None);
        let c = SimComment {
            id: "1".into(),
            author: "penaxtra-bot".into(),
            body: json!("x"),
            created: chrono::Utc::now(),
            updated: None,
            update_author: None,
            visibility: Some(SimVisibility {
                kind: "group".into(),
                value: "jira-administrators".into(),
            }),
        };
        assert!(visible_to(&c, Some(bot)) && !visible_to(&c, Some(alex)));
        assert!(visible_to(&c, None), "webhooks carry every comment");
        assert_eq!(
            CommentOrder::parse(Some("-created")),
            Some(CommentOrder::CreatedDesc)
        );
        assert_eq!(CommentOrder::parse(None), Some(CommentOrder::Created));
        assert_eq!(CommentOrder::parse(Some("author")), None);
    }
}
