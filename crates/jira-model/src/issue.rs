use crate::{FieldId, ModelError, Status};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// An issue as Jira returns it from `GET /issue/{key}`, search and webhooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Issue {
    /// Issue id.
    #[serde(default)]
    pub id: String,
    /// Issue key, e.g. `SEC-42`.
    pub key: String,
    /// The fields that were asked for.
    #[serde(default)]
    pub fields: IssueFields,
}

/// The fields of an issue the integration reads; every other field is kept
/// in `other` and reached through [`Issue::custom_field`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IssueFields {
    /// Summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Current status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Resolution (`null` while unresolved).
    #[serde(default)]
    pub resolution: Option<Resolution>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Last update, as Jira formats it (`2026-01-31T10:00:00.000+0000`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// Creation time, as Jira formats it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Project (`{"id","key","name"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<serde_json::Value>,
    /// Every other field, by id.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// A resolution: `{"id":"10000","name":"Won't Do"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Resolution {
    /// Resolution id.
    #[serde(default)]
    pub id: String,
    /// Resolution name.
    pub name: String,
}

impl Resolution {
    /// A resolution from its parts.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
        }
    }
}

impl Issue {
    /// An issue from its parts.
    pub fn new(id: impl Into<String>, key: impl Into<String>, fields: IssueFields) -> Self {
        Self {
            id: id.into(),
            key: key.into(),
            fields,
        }
    }

    /// The value of field `id`, parsed as `T`. `Ok(None)` when the field is
    /// absent or `null`.
    ///
    /// # Errors
    /// [`ModelError::FieldShape`] when the field is present but is not a `T`:
    /// a shape mismatch is reported, never swallowed.
    pub fn custom_field<T: DeserializeOwned>(&self, id: &FieldId) -> Result<Option<T>, ModelError> {
        match self.fields.other.get(id.as_str()) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => T::deserialize(v)
                .map(Some)
                .map_err(|e| ModelError::FieldShape {
                    field: id.to_string(),
                    message: e.to_string(),
                }),
        }
    }

    /// The values of a labels-type (`["x"]`) or multi-select
    /// (`[{"value":"x"}]`) field, or a text field as one value.
    ///
    /// # Errors
    /// [`ModelError::FieldShape`] for any other shape.
    pub fn field_values(&self, id: &FieldId) -> Result<Vec<String>, ModelError> {
        let shape = |message: &str| ModelError::FieldShape {
            field: id.to_string(),
            message: message.into(),
        };
        match self.fields.other.get(id.as_str()) {
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(serde_json::Value::String(s)) => Ok(vec![s.clone()]),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    serde_json::Value::String(s) => Ok(s.clone()),
                    serde_json::Value::Object(o) => o
                        .get("value")
                        .and_then(|v| v.as_str())
                        .map(str::to_string)
                        .ok_or_else(|| shape("option without a string \"value\"")),
                    _ => Err(shape("array item is neither a string nor an option")),
                })
                .collect(),
            Some(_) => Err(shape("neither text, labels nor options")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn issue() -> Issue {
        serde_json::from_value(json!({"id":"1","key":"SEC-1","fields":{
            "summary":"s","status":{"id":"1","name":"Open","statusCategory":{"id":2,"key":"new","name":"To Do"}},
            "resolution":null,"labels":["penaxtra"],
            "customfield_10031":"fnd_1","customfield_10032":[{"value":"A","id":"1"}],
            "customfield_10033":["x"],"customfield_10034":7}}))
        .unwrap()
    }

    #[test]
    fn typed_custom_fields() {
        let i = issue();
        let f = |s: &str| FieldId::new(s).unwrap();
        assert_eq!(
            i.custom_field::<String>(&f("customfield_10031"))
                .unwrap()
                .as_deref(),
            Some("fnd_1")
        );
        assert_eq!(
            i.custom_field::<String>(&f("customfield_99")).unwrap(),
            None
        );
        assert!(matches!(
            i.custom_field::<String>(&f("customfield_10034")),
            Err(ModelError::FieldShape { .. })
        ));
        assert_eq!(i.field_values(&f("customfield_10032")).unwrap(), ["A"]);
        assert_eq!(i.field_values(&f("customfield_10033")).unwrap(), ["x"]);
        assert!(i.field_values(&f("customfield_10034")).is_err());
        assert_eq!(i.fields.resolution, None);
    }

    #[test]
    fn parses_reference_issue() {
        // A trimmed copy of the shape of Atlassian's getIssue example.
        let i: Issue =
            serde_json::from_value(json!({"id":"10002","key":"ED-1","self":"x","fields":{
            "watcher":{"isWatching":false},"sub-tasks":[],"timetracking":{}}}))
            .unwrap();
        assert_eq!(i.key, "ED-1");
        assert!(i.fields.status.is_none());
    }
}
