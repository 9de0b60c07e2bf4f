//! Webhook events Jira sends: `jira:issue_created`, `jira:issue_updated`,
//! `jira:issue_deleted`, comment events and anything else.
//!
//! The parser accepts Cloud, Data Center and legacy Server shapes: with or
//! without `issue_event_type_name`, with or without `fieldId` on changelog
//! items, an empty or absent changelog, items in any order, a resolution
//! cleared to `null`. Unknown event names never fail parsing.

use crate::{Issue, User};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A webhook body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebhookEvent {
    /// Epoch milliseconds when Jira produced the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// The event name.
    pub webhook_event: WebhookEventKind,
    /// `issue_generic`, `issue_resolved`, ... (absent on old Server).
    #[serde(
        default,
        rename = "issue_event_type_name",
        skip_serializing_if = "Option::is_none"
    )]
    pub issue_event_type_name: Option<String>,
    /// Who acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The issue, as it is after the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<Issue>,
    /// What changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changelog: Option<Changelog>,
    /// The comment of a comment event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<serde_json::Value>,
}

impl WebhookEvent {
    /// Parses a webhook body.
    ///
    /// # Errors
    /// The serde error when the body is not JSON or has no `webhookEvent`.
    pub fn parse(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// The changelog items, empty when there is no changelog.
    pub fn items(&self) -> &[ChangelogItem] {
        self.changelog.as_ref().map_or(&[], |c| c.items.as_slice())
    }

    /// The change of `field` (matched on `fieldId`, else on `field`
    /// case-insensitively), wherever it stands among the items.
    pub fn change_of(&self, field: &str) -> Option<&ChangelogItem> {
        self.items().iter().find(|i| i.is_field(field))
    }
}

/// An event name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WebhookEventKind {
    /// `jira:issue_created`
    IssueCreated,
    /// `jira:issue_updated`
    IssueUpdated,
    /// `jira:issue_deleted`
    IssueDeleted,
    /// `comment_created`
    CommentCreated,
    /// `comment_updated`
    CommentUpdated,
    /// `comment_deleted`
    CommentDeleted,
    /// Anything else, kept as sent.
    Other(String),
}

impl WebhookEventKind {
    /// The name as Jira spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::IssueCreated => "jira:issue_created",
            Self::IssueUpdated => "jira:issue_updated",
            Self::IssueDeleted => "jira:issue_deleted",
            Self::CommentCreated => "comment_created",
            Self::CommentUpdated => "comment_updated",
            Self::CommentDeleted => "comment_deleted",
            Self::Other(s) => s,
        }
    }
    /// Parses a name; never fails.
    pub fn parse(s: &str) -> Self {
        match s {
            "jira:issue_created" => Self::IssueCreated,
            "jira:issue_updated" => Self::IssueUpdated,
            "jira:issue_deleted" => Self::IssueDeleted,
            "comment_created" => Self::CommentCreated,
            "comment_updated" => Self::CommentUpdated,
            "comment_deleted" => Self::CommentDeleted,
            other => Self::Other(other.to_string()),
        }
    }
    /// Whether it is a comment event.
    pub fn is_comment(&self) -> bool {
        matches!(
            self,
            Self::CommentCreated | Self::CommentUpdated | Self::CommentDeleted
        )
    }
}

impl Serialize for WebhookEventKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for WebhookEventKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::parse(&String::deserialize(d)?))
    }
}

/// A changelog: `{"id":"10001","items":[...]}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Changelog {
    /// Changelog id (a string on Cloud, sometimes a number on Server).
    #[serde(
        default,
        deserialize_with = "string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    /// Changed fields, in any order.
    #[serde(default)]
    pub items: Vec<ChangelogItem>,
}

impl Changelog {
    /// A changelog from its parts.
    pub fn new(id: Option<String>, items: Vec<ChangelogItem>) -> Self {
        Self { id, items }
    }
}

/// One changed field.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ChangelogItem {
    /// Field name (`status`, `resolution`).
    #[serde(default)]
    pub field: String,
    /// `jira` or `custom`.
    #[serde(default)]
    pub fieldtype: String,
    /// Field id (Cloud only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_id: Option<String>,
    /// Old raw value.
    #[serde(default, deserialize_with = "string_or_number")]
    pub from: Option<String>,
    /// Old display value.
    #[serde(default)]
    pub from_string: Option<String>,
    /// New raw value (`null` when cleared).
    #[serde(default, deserialize_with = "string_or_number")]
    pub to: Option<String>,
    /// New display value.
    #[serde(default)]
    pub to_string: Option<String>,
}

impl ChangelogItem {
    /// A `jira`-type item from its parts.
    pub fn new(
        field: impl Into<String>,
        from: Option<(String, String)>,
        to: Option<(String, String)>,
    ) -> Self {
        let field = field.into();
        let (from, from_string) = from.map_or((None, None), |(a, b)| (Some(a), Some(b)));
        let (to, to_string) = to.map_or((None, None), |(a, b)| (Some(a), Some(b)));
        Self {
            field_id: Some(field.clone()),
            field,
            fieldtype: "jira".into(),
            from,
            from_string,
            to,
            to_string,
        }
    }
    /// Whether this item is about `field` (by id, else by name, ignoring case).
    pub fn is_field(&self, field: &str) -> bool {
        self.field_id
            .as_deref()
            .is_some_and(|id| id.eq_ignore_ascii_case(field))
            || self.field.eq_ignore_ascii_case(field)
    }
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cloud_shape() {
        let body = json!({
            "timestamp": 1_764_000_000_000_i64, "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "user": {"accountId": "abc", "displayName": "Alex"},
            "issue": {"id": "10001", "key": "SEC-1", "fields": {"status": {"id":"3","name":"Done",
                "statusCategory":{"id":3,"key":"done","name":"Done"}}, "resolution": {"id":"1","name":"Won't Do"}}},
            "changelog": {"id": "10100", "items": [
                {"field":"resolution","fieldtype":"jira","fieldId":"resolution","from":null,"fromString":null,"to":"1","toString":"Won't Do"},
                {"field":"status","fieldtype":"jira","fieldId":"status","from":"1","fromString":"Open","to":"3","toString":"Done"}]}
        });
        let e = WebhookEvent::parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(e.webhook_event, WebhookEventKind::IssueUpdated);
        assert_eq!(
            e.change_of("status").unwrap().to_string.as_deref(),
            Some("Done")
        );
        assert_eq!(e.change_of("resolution").unwrap().from, None);
        assert_eq!(e.user.unwrap().identity(), Some("abc"));
    }

    #[test]
    fn legacy_server_shape() {
        let body = json!({
            "timestamp": 1_500_000_000_000_i64, "webhookEvent": "jira:issue_updated",
            "user": {"name": "alex", "key": "alex"},
            "issue": {"id": "1", "key": "SEC-1", "fields": {}},
            "changelog": {"id": 10100, "items": [
                {"field":"Status","fieldtype":"jira","from":1,"fromString":"Open","to":"5","toString":"Resolved"}]}
        });
        let e = WebhookEvent::parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(e.issue_event_type_name, None);
        assert_eq!(e.changelog.as_ref().unwrap().id.as_deref(), Some("10100"));
        assert_eq!(e.change_of("status").unwrap().from.as_deref(), Some("1"));
    }

    #[test]
    fn unknown_and_comment_events() {
        let e = WebhookEvent::parse(br#"{"webhookEvent":"sprint_started"}"#).unwrap();
        assert_eq!(
            e.webhook_event,
            WebhookEventKind::Other("sprint_started".into())
        );
        assert!(e.items().is_empty());
        let e = WebhookEvent::parse(
            br#"{"webhookEvent":"comment_created","comment":{"id":"1","body":"<b>x</b>"}}"#,
        )
        .unwrap();
        assert!(e.webhook_event.is_comment());
        assert!(WebhookEvent::parse(b"{}").is_err());
        assert!(WebhookEvent::parse(b"<html>").is_err());
    }
}
