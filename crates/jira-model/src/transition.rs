use crate::Status;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `GET /rest/api/{2|3}/issue/{key}/transitions`: the transitions available now.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Transitions {
    /// The transitions.
    #[serde(default)]
    pub transitions: Vec<Transition>,
}

impl Transitions {
    /// A list of transitions.
    pub fn new(transitions: Vec<Transition>) -> Self {
        Self { transitions }
    }
}

/// One available transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Transition {
    /// Transition id, used to perform it.
    pub id: String,
    /// Transition name, e.g. `Resolve`.
    #[serde(default)]
    pub name: String,
    /// The status the issue reaches.
    pub to: Status,
    /// Whether the transition has a screen.
    #[serde(default)]
    pub has_screen: bool,
    /// Fields on the transition screen (only with `expand=transitions.fields`).
    #[serde(default)]
    pub fields: BTreeMap<String, TransitionField>,
}

impl Transition {
    /// A transition from its parts.
    pub fn new(id: impl Into<String>, name: impl Into<String>, to: Status) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            to,
            has_screen: false,
            fields: BTreeMap::new(),
        }
    }
    /// Whether the transition screen has `field` (e.g. `resolution`).
    pub fn has_field(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }
}

/// A field on a transition screen.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TransitionField {
    /// Whether it must be set.
    #[serde(default)]
    pub required: bool,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Allowed values (for resolution: `[{"id":"1","name":"Done"}]`).
    #[serde(default)]
    pub allowed_values: Vec<serde_json::Value>,
    /// Field schema as Jira sent it.
    #[serde(default)]
    pub schema: Option<serde_json::Value>,
}

impl TransitionField {
    /// A field with these allowed values.
    pub fn new(
        name: impl Into<String>,
        required: bool,
        allowed_values: Vec<serde_json::Value>,
    ) -> Self {
        Self {
            required,
            name: name.into(),
            allowed_values,
            schema: None,
        }
    }
    /// Names of the allowed values that have a `name` (resolutions do).
    pub fn allowed_names(&self) -> impl Iterator<Item = &str> {
        self.allowed_values
            .iter()
            .filter_map(|v| v.get("name").and_then(|n| n.as_str()))
    }
}

/// `{"id":"5"}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionRef {
    /// The transition id.
    pub id: String,
}

/// The body of `POST /rest/api/{2|3}/issue/{key}/transitions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TransitionRequest {
    /// Which transition.
    pub transition: TransitionRef,
    /// Fields to set on the way (e.g. resolution).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl TransitionRequest {
    /// Performs transition `id` with no fields.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            transition: TransitionRef { id: id.into() },
            fields: serde_json::Map::new(),
        }
    }
    /// Sets the resolution by name: `"fields":{"resolution":{"name":"Won't Do"}}`.
    pub fn with_resolution(mut self, name: impl Into<String>) -> Self {
        self.fields.insert(
            "resolution".into(),
            serde_json::json!({ "name": name.into() }),
        );
        self
    }
    /// The resolution name set on this request, if any.
    pub fn resolution(&self) -> Option<&str> {
        self.fields.get("resolution")?.get("name")?.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_shape() {
        let r = TransitionRequest::new("5").with_resolution("Won't Do");
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"transition":{"id":"5"},"fields":{"resolution":{"name":"Won't Do"}}})
        );
        assert_eq!(
            serde_json::to_value(TransitionRequest::new("2")).unwrap(),
            json!({"transition":{"id":"2"}})
        );
    }

    #[test]
    fn parses_fields_metadata() {
        let t: Transitions = serde_json::from_value(json!({"transitions":[{
            "id":"31","name":"Done","hasScreen":true,
            "to":{"id":"10001","name":"Done","statusCategory":{"id":3,"key":"done","name":"Done"}},
            "fields":{"resolution":{"required":true,"name":"Resolution",
                "allowedValues":[{"id":"1","name":"Done"},{"id":"2","name":"Won't Do"}]}}}]}))
        .unwrap();
        let tr = &t.transitions[0];
        assert!(tr.has_field("resolution"));
        assert_eq!(
            tr.fields["resolution"].allowed_names().collect::<Vec<_>>(),
            ["Done", "Won't Do"]
        );
    }
}
