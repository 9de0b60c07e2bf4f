use serde::{Deserialize, Serialize};

/// One entry of `GET /rest/api/{2|3}/field`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FieldDefinition {
    /// Field id (`summary`, `customfield_10031`).
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Whether it is a custom field.
    #[serde(default)]
    pub custom: bool,
    /// Its schema.
    #[serde(default)]
    pub schema: Option<FieldSchema>,
}

impl FieldDefinition {
    /// A field definition from its parts.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        custom: bool,
        schema: Option<FieldSchema>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            custom,
            schema,
        }
    }
}

/// The schema of a field.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FieldSchema {
    /// `string`, `array`, `option`, ...
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Item type for arrays (`string`, `option`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<String>,
    /// Custom field type key, e.g.
    /// `com.atlassian.jira.plugin.system.customfieldtypes:multiselect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<String>,
    /// Numeric id of a custom field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_id: Option<u64>,
    /// System field name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
}

impl FieldSchema {
    /// A schema from its type, item type and custom type.
    pub fn new(
        kind: impl Into<String>,
        items: Option<String>,
        custom: Option<String>,
        custom_id: Option<u64>,
    ) -> Self {
        Self {
            kind: kind.into(),
            items,
            custom,
            custom_id,
            system: None,
        }
    }
}
