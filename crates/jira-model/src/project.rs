use serde::{Deserialize, Serialize};

/// `GET /rest/api/{2|3}/project/{key}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Project {
    /// Project id.
    pub id: String,
    /// Project key.
    pub key: String,
    /// Project name.
    #[serde(default)]
    pub name: String,
    /// Issue types of the project.
    #[serde(default)]
    pub issue_types: Vec<IssueType>,
}

impl Project {
    /// A project from its parts.
    pub fn new(
        id: impl Into<String>,
        key: impl Into<String>,
        name: impl Into<String>,
        issue_types: Vec<IssueType>,
    ) -> Self {
        Self {
            id: id.into(),
            key: key.into(),
            name: name.into(),
            issue_types,
        }
    }
}

/// An issue type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct IssueType {
    /// Issue type id.
    pub id: String,
    /// Issue type name.
    pub name: String,
    /// Whether it is a sub-task type.
    #[serde(default)]
    pub subtask: bool,
}

impl IssueType {
    /// An issue type from its parts.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            subtask: false,
        }
    }
}

/// `GET /rest/api/{2|3}/issue/createmeta/{project}/issuetypes`: Cloud calls the
/// list `issueTypes`, Data Center `values`; both are accepted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct IssueTypesPage {
    /// Issue types.
    #[serde(default, alias = "values")]
    pub issue_types: Vec<IssueType>,
    /// Offset.
    #[serde(default)]
    pub start_at: u64,
    /// Number of issue types.
    #[serde(default)]
    pub total: u64,
}

/// `GET /rest/api/{2|3}/issue/createmeta/{project}/issuetypes/{id}`: the
/// fields of the create screen. Cloud calls the list `fields`, Data Center
/// `values`; both are accepted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreateMetaPage {
    /// Fields on the create screen.
    #[serde(default, alias = "values")]
    pub fields: Vec<CreateMetaField>,
    /// Offset.
    #[serde(default)]
    pub start_at: u64,
    /// Page size.
    #[serde(default)]
    pub max_results: u64,
    /// Number of fields.
    #[serde(default)]
    pub total: u64,
}

impl CreateMetaPage {
    /// A page of fields.
    pub fn new(fields: Vec<CreateMetaField>) -> Self {
        let total = fields.len() as u64;
        Self {
            fields,
            start_at: 0,
            max_results: total,
            total,
        }
    }
    /// Whether the create screen has this field id.
    pub fn has_field(&self, id: &str) -> bool {
        self.fields.iter().any(|f| f.field_id == id)
    }
}

/// A field on the create screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreateMetaField {
    /// Field id.
    pub field_id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Whether it is required.
    #[serde(default)]
    pub required: bool,
    /// Schema as Jira sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<serde_json::Value>,
    /// The values the field takes, when Jira lists them (priorities,
    /// components, options), as Jira sent them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<serde_json::Value>,
}

impl CreateMetaField {
    /// A field from its parts.
    pub fn new(field_id: impl Into<String>, name: impl Into<String>, required: bool) -> Self {
        Self {
            field_id: field_id.into(),
            name: name.into(),
            required,
            schema: None,
            allowed_values: Vec::new(),
        }
    }
}

/// `GET /rest/api/{2|3}/serverInfo`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServerInfo {
    /// Base URL Jira believes it has.
    #[serde(default)]
    pub base_url: String,
    /// Version string.
    #[serde(default)]
    pub version: String,
    /// `Cloud` or `Server`/`DataCenter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_type: Option<String>,
    /// Server title.
    #[serde(default)]
    pub server_title: String,
}

impl ServerInfo {
    /// Server info from its parts.
    pub fn new(
        base_url: impl Into<String>,
        version: impl Into<String>,
        deployment_type: Option<String>,
        server_title: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            version: version.into(),
            deployment_type,
            server_title: server_title.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn createmeta_both_shapes() {
        let cloud: CreateMetaPage = serde_json::from_str(
            r#"{"fields":[{"fieldId":"assignee","key":"assignee","name":"Assignee","required":true}],"maxResults":1,"startAt":0,"total":1}"#,
        )
        .unwrap();
        assert!(cloud.has_field("assignee"));
        let dc: CreateMetaPage = serde_json::from_str(
            r#"{"values":[{"fieldId":"summary","name":"Summary","required":true}],"isLast":true}"#,
        )
        .unwrap();
        assert!(dc.has_field("summary"));
        let types: IssueTypesPage =
            serde_json::from_str(r#"{"values":[{"id":"1","name":"Bug"}]}"#).unwrap();
        assert_eq!(types.issue_types[0].name, "Bug");
    }
}
