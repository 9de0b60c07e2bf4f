use crate::{Date, FieldId, adf};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;

/// The project of a new issue, by key or by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectRef {
    /// `{"key":"SEC"}`
    Key(String),
    /// `{"id":"10000"}`
    Id(String),
}

/// The issue type of a new issue, by name or by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueTypeRef {
    /// `{"name":"Bug"}`
    Name(String),
    /// `{"id":"10001"}`
    Id(String),
}

/// A priority, by name or by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PriorityRef {
    /// `{"name":"High"}`
    Name(String),
    /// `{"id":"2"}`
    Id(String),
}

/// A user in a create request: `{"accountId":…}` on Jira Cloud (which
/// knows no user names), `{"name":…}` on Data Center.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum UserRef {
    /// `{"accountId":"5b10a2844c20165700ede21g"}` (Cloud).
    #[serde(rename = "accountId")]
    AccountId(String),
    /// `{"name":"alex"}` (Data Center).
    #[serde(rename = "name")]
    Name(String),
}

/// A rich-text value: wiki markup for REST v2, an ADF document for Cloud REST v3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Description {
    /// Wiki markup (REST v2, Data Center).
    Wiki(String),
    /// Atlassian Document Format (Cloud REST v3).
    Adf(adf::Document),
}

/// The value of a custom (or system) field in a create or edit request, in
/// the JSON shape Jira expects for that kind of field.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FieldValue {
    /// A text field: `"x"`.
    Text(String),
    /// A labels-type field: `["x","y"]`.
    Labels(Vec<String>),
    /// A multi-select or checkbox field: `[{"value":"x"}]`.
    MultiSelect(Vec<String>),
    /// A single-select field: `{"value":"x"}`.
    SingleSelect(String),
    /// Any other shape, sent as given.
    Raw(serde_json::Value),
}

impl FieldValue {
    /// The JSON Jira expects for this value.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{Value, json};
        match self {
            FieldValue::Text(s) => Value::String(s.clone()),
            FieldValue::Labels(v) => json!(v),
            FieldValue::MultiSelect(v) => {
                Value::Array(v.iter().map(|x| json!({ "value": x })).collect())
            }
            FieldValue::SingleSelect(s) => json!({ "value": s }),
            FieldValue::Raw(v) => v.clone(),
        }
    }
}

impl Serialize for FieldValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// `fields` of a create request. Custom fields serialise beside the system
/// fields, keyed by their id.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CreateFields {
    /// The project.
    pub project: ProjectRef,
    /// The issue type.
    pub issuetype: IssueTypeRef,
    /// The summary (one line, under 255 characters).
    pub summary: String,
    /// The description.
    pub description: Option<Description>,
    /// Labels (no whitespace).
    pub labels: Vec<String>,
    /// The priority.
    pub priority: Option<PriorityRef>,
    /// Components, by name (`[{"name":"Gateway"}]`).
    pub components: Vec<String>,
    /// The assignee.
    pub assignee: Option<UserRef>,
    /// The due date (`duedate`, `YYYY-MM-DD`); Jira refuses it when the
    /// field is not on the create screen.
    pub duedate: Option<Date>,
    /// Custom fields by id.
    pub custom: BTreeMap<FieldId, FieldValue>,
}

impl Serialize for CreateFields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("project", &self.project)?;
        map.serialize_entry("issuetype", &self.issuetype)?;
        map.serialize_entry("summary", &self.summary)?;
        if let Some(d) = &self.description {
            map.serialize_entry("description", d)?;
        }
        if !self.labels.is_empty() {
            map.serialize_entry("labels", &self.labels)?;
        }
        if let Some(p) = &self.priority {
            map.serialize_entry("priority", p)?;
        }
        if !self.components.is_empty() {
            let named: Vec<serde_json::Value> = self
                .components
                .iter()
                .map(|c| serde_json::json!({ "name": c }))
                .collect();
            map.serialize_entry("components", &named)?;
        }
        if let Some(a) = &self.assignee {
            map.serialize_entry("assignee", a)?;
        }
        if let Some(d) = &self.duedate {
            map.serialize_entry("duedate", d)?;
        }
        for (k, v) in &self.custom {
            map.serialize_entry(k.as_str(), v)?;
        }
        map.end()
    }
}

/// The body of `POST /rest/api/{2|3}/issue`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CreateIssueRequest {
    /// The fields of the new issue.
    pub fields: CreateFields,
}

impl CreateIssueRequest {
    /// Starts a request with the values every issue needs: project key,
    /// issue type name and summary.
    pub fn builder(
        project_key: impl Into<String>,
        issue_type_name: impl Into<String>,
        summary: impl Into<String>,
    ) -> CreateIssueRequestBuilder {
        CreateIssueRequestBuilder {
            fields: CreateFields {
                project: ProjectRef::Key(project_key.into()),
                issuetype: IssueTypeRef::Name(issue_type_name.into()),
                summary: summary.into(),
                description: None,
                labels: Vec::new(),
                priority: None,
                components: Vec::new(),
                assignee: None,
                duedate: None,
                custom: BTreeMap::new(),
            },
        }
    }
}

/// Builds a [`CreateIssueRequest`].
#[derive(Debug, Clone)]
pub struct CreateIssueRequestBuilder {
    fields: CreateFields,
}

impl CreateIssueRequestBuilder {
    /// Refers to the project by id instead of key.
    pub fn project(mut self, project: ProjectRef) -> Self {
        self.fields.project = project;
        self
    }
    /// Refers to the issue type by id instead of name.
    pub fn issue_type(mut self, issue_type: IssueTypeRef) -> Self {
        self.fields.issuetype = issue_type;
        self
    }
    /// Sets the description.
    pub fn description(mut self, description: Description) -> Self {
        self.fields.description = Some(description);
        self
    }
    /// Adds a label.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.fields.labels.push(label.into());
        self
    }
    /// Adds labels.
    pub fn labels<I: IntoIterator<Item = S>, S: Into<String>>(mut self, labels: I) -> Self {
        self.fields
            .labels
            .extend(labels.into_iter().map(Into::into));
        self
    }
    /// Sets the priority.
    pub fn priority(mut self, priority: PriorityRef) -> Self {
        self.fields.priority = Some(priority);
        self
    }
    /// Adds components, by name.
    pub fn components<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.fields
            .components
            .extend(names.into_iter().map(Into::into));
        self
    }
    /// Sets the assignee.
    pub fn assignee(mut self, user: UserRef) -> Self {
        self.fields.assignee = Some(user);
        self
    }
    /// Sets the due date.
    pub fn due_date(mut self, date: Date) -> Self {
        self.fields.duedate = Some(date);
        self
    }
    /// Sets a custom field.
    pub fn custom_field(mut self, id: FieldId, value: FieldValue) -> Self {
        self.fields.custom.insert(id, value);
        self
    }
    /// Finishes the request.
    pub fn build(self) -> CreateIssueRequest {
        CreateIssueRequest {
            fields: self.fields,
        }
    }
}

/// The answer to a create: `{"id":"10000","key":"ED-24","self":"..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreatedIssue {
    /// The issue id.
    pub id: String,
    /// The issue key.
    pub key: String,
    /// The issue's REST URL.
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_url: Option<String>,
}

impl CreatedIssue {
    /// A created issue from its parts.
    pub fn new(id: impl Into<String>, key: impl Into<String>, self_url: Option<String>) -> Self {
        Self {
            id: id.into(),
            key: key.into(),
            self_url,
        }
    }
}

/// The body of `PUT /rest/api/{2|3}/issue/{key}`: fields to set.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EditIssueRequest {
    /// Field id → new value.
    pub fields: BTreeMap<String, serde_json::Value>,
}

impl EditIssueRequest {
    /// An empty edit.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets a field to a value.
    pub fn set(mut self, field: impl Into<String>, value: serde_json::Value) -> Self {
        self.fields.insert(field.into(), value);
        self
    }
}

/// The body of `POST /rest/api/{2|3}/issue/{key}/comment`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AddCommentRequest {
    /// The comment text (wiki markup for v2, ADF for v3).
    pub body: Description,
    /// Who may see it (`None`: everyone who may browse the issue).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<CommentVisibility>,
}

impl AddCommentRequest {
    /// A comment with this body, visible to everyone who may browse the
    /// issue.
    pub fn new(body: Description) -> Self {
        Self {
            body,
            visibility: None,
        }
    }

    /// The same comment, visible to members of this project role only.
    /// Jira refuses it (400) when the role does not exist or the author is
    /// not in it; it is then not posted at all, never posted publicly.
    pub fn restricted_to_role(mut self, role: impl Into<String>) -> Self {
        self.visibility = Some(CommentVisibility::Role(role.into()));
        self
    }

    /// The same comment, visible to members of this group only.
    pub fn restricted_to_group(mut self, group: impl Into<String>) -> Self {
        self.visibility = Some(CommentVisibility::Group(group.into()));
        self
    }
}

/// Who may see a comment: `{"type":"role"|"group","value":…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
#[non_exhaustive]
pub enum CommentVisibility {
    /// Members of this project role.
    Role(String),
    /// Members of this group.
    Group(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_value_shapes() {
        assert_eq!(FieldValue::Text("a".into()).to_json(), json!("a"));
        assert_eq!(FieldValue::Labels(vec!["a".into()]).to_json(), json!(["a"]));
        assert_eq!(
            FieldValue::MultiSelect(vec!["a".into()]).to_json(),
            json!([{"value":"a"}])
        );
        assert_eq!(
            FieldValue::SingleSelect("a".into()).to_json(),
            json!({"value":"a"})
        );
        assert_eq!(
            FieldValue::Raw(json!({"id":"1"})).to_json(),
            json!({"id":"1"})
        );
    }

    #[test]
    fn create_request_shape() {
        let r = CreateIssueRequest::builder("SEC", "Bug", "s")
            .project(ProjectRef::Id("10000".into()))
            .issue_type(IssueTypeRef::Id("3".into()))
            .description(Description::Wiki("d".into()))
            .labels(["a", "b"])
            .priority(PriorityRef::Name("High".into()))
            .components(["Gateway"])
            .assignee(UserRef::AccountId("5b10".into()))
            .due_date(Date::from_unix_days(20_454).unwrap())
            .custom_field(
                FieldId::new("customfield_10032").unwrap(),
                FieldValue::MultiSelect(vec!["OWASP_LLM01".into()]),
            )
            .build();
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"fields":{
                "project":{"id":"10000"},"issuetype":{"id":"3"},"summary":"s","description":"d",
                "labels":["a","b"],"priority":{"name":"High"},
                "components":[{"name":"Gateway"}],"assignee":{"accountId":"5b10"},
                "duedate":"2026-01-01",
                "customfield_10032":[{"value":"OWASP_LLM01"}]}})
        );
    }

    #[test]
    fn comment_visibility_shape() {
        let c = AddCommentRequest::new(Description::Wiki("x".into()));
        assert_eq!(serde_json::to_value(&c).unwrap(), json!({"body":"x"}));
        let c = c.restricted_to_role("Administrators");
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({"body":"x","visibility":{"type":"role","value":"Administrators"}})
        );
        let c = AddCommentRequest::new(Description::Wiki("x".into())).restricted_to_group("sec");
        assert_eq!(
            serde_json::to_value(&c).unwrap()["visibility"],
            json!({"type":"group","value":"sec"})
        );
    }

    #[test]
    fn created_issue_parses_reference_example() {
        let c: CreatedIssue = serde_json::from_value(json!({
            "id":"10000","key":"ED-24","self":"https://x/rest/api/3/issue/10000",
            "transition":{"status":200,"errorCollection":{"errorMessages":[],"errors":{}}}}))
        .unwrap();
        assert_eq!(c.key, "ED-24");
    }
}
