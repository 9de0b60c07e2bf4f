//! Validation of the `fields` (and edit `update`) of create and edit
//! requests, the way Jira answers bad input: every error at once, keyed by
//! field id, and nothing changed.

use super::api_error::{ApiError, cannot_set};
use super::{
    ApiVersion, FINDING_FIELD, FRAMEWORKS_FIELD, PRIORITIES, SEVERITY_FIELD, SEVERITY_OPTIONS,
    SimIssue, adf,
};
use crate::FrameworksFieldKind;
use jira_model::Flavor;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Whether `s` is a date as Jira's date fields take it: `YYYY-MM-DD`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && num(5..7).is_some_and(|m| (1..=12).contains(&m))
        && num(8..10).is_some_and(|d| (1..=31).contains(&d))
}

/// Longest text of a description or comment.
pub(crate) const TEXT_LIMIT: usize = 32_767;
/// Longest summary is one less than this.
pub(crate) const SUMMARY_LIMIT: usize = 255;
/// Longest single-line text custom field and label.
pub(crate) const SHORT_TEXT_LIMIT: usize = 255;

/// Create or edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Create,
    Edit,
}

/// Validated changes, not yet applied.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Draft {
    pub issue_type: Option<String>,
    pub summary: Option<String>,
    pub description: Option<Option<Value>>,
    pub labels: Option<Vec<String>>,
    pub priority: Option<String>,
    pub finding_id: Option<Option<String>>,
    /// Framework values (option values or labels), not yet interned.
    pub frameworks: Option<Vec<String>>,
    /// The "Finding Severity" option's value (`Some(None)` clears it).
    pub severity: Option<Option<String>>,
    /// Component names.
    pub components: Option<Vec<String>>,
    /// The assignee's account name (`Some(None)` unassigns).
    pub assignee: Option<Option<String>>,
    /// The due date (`Some(None)` clears it).
    pub due_date: Option<Option<String>>,
    /// The project of a create.
    pub project: Option<&'static str>,
}

/// What validation needs to know.
pub(crate) struct Checker<'a> {
    /// The project of the issue made or changed (its components and screen).
    pub project: &'static super::SimProject,
    pub api: ApiVersion,
    pub flavor: Flavor,
    pub kind: FrameworksFieldKind,
    /// Multi-select options: (id, value).
    pub options: &'a [(String, String)],
    /// Whether a new multi-select value becomes an option.
    pub options_grow: bool,
    pub mode: Mode,
}

#[derive(Default)]
struct Errors {
    map: BTreeMap<String, String>,
    content_limit: bool,
}

impl Errors {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.map
            .entry(field.to_string())
            .or_insert_with(|| message.into());
    }
}

impl Checker<'_> {
    /// Validates `fields` (and, when editing, `update` against `current`).
    pub fn check(
        &self,
        fields: &Map<String, Value>,
        update: Option<&Map<String, Value>>,
        current: Option<&SimIssue>,
    ) -> Result<Draft, ApiError> {
        let mut d = Draft::default();
        let mut e = Errors::default();
        for (id, value) in fields {
            self.field(id, value, &mut d, &mut e);
        }
        if self.mode == Mode::Create {
            if d.summary.as_deref().is_none_or(|s| s.trim().is_empty())
                && !e.map.contains_key("summary")
            {
                e.add("summary", "You must specify a summary of the issue.");
            }
            if !fields.contains_key("issuetype") {
                e.add("issuetype", "Specify an issue type");
            }
        }
        if let Some(update) = update {
            for (id, ops) in update {
                self.update(id, ops, current, &mut d, &mut e);
            }
        }
        if e.content_limit && self.flavor == Flavor::Cloud {
            return Err(ApiError::content_limit());
        }
        if !e.map.is_empty() {
            return Err(ApiError::fields(e.map));
        }
        Ok(d)
    }

    fn field(&self, id: &str, v: &Value, d: &mut Draft, e: &mut Errors) {
        match (id, self.mode) {
            ("project", Mode::Create) => {}
            // Both issue types share the workflow and the screens, so an
            // edit may change the type, as Jira allows then.
            ("issuetype", _) => match ref_name(v, &super::ISSUE_TYPES) {
                Some(name) => d.issue_type = Some(name),
                None => e.add("issuetype", "The issue type selected is invalid."),
            },
            ("summary", _) => match self.summary(v) {
                Ok(s) => d.summary = Some(s),
                Err(m) => e.add("summary", m),
            },
            ("description", _) => {
                if let Some(desc) = self.rich_text("description", v, e) {
                    d.description = Some(desc);
                }
            }
            ("labels", _) => match labels(v) {
                Ok(l) => d.labels = Some(l),
                Err(m) => e.add("labels", m),
            },
            ("priority", _) => match ref_name(v, &PRIORITIES) {
                Some(name) => d.priority = Some(name),
                None => e.add(
                    "priority",
                    "Specify the Priority (id or name) in the string format",
                ),
            },
            (FINDING_FIELD, _) => match v {
                Value::Null => d.finding_id = Some(None),
                Value::String(s) if s.chars().count() > SHORT_TEXT_LIMIT => e.add(
                    FINDING_FIELD,
                    "The entered text is too long. It exceeds the allowed limit of 255 characters.",
                ),
                Value::String(s) => d.finding_id = Some(Some(s.clone())),
                _ => e.add(FINDING_FIELD, "Operation value must be a string"),
            },
            (FRAMEWORKS_FIELD, _) => match self.frameworks(v) {
                Ok(vals) => d.frameworks = Some(vals),
                Err(m) => e.add(FRAMEWORKS_FIELD, m),
            },
            (SEVERITY_FIELD, _) => match select(v, &SEVERITY_OPTIONS) {
                Ok(o) => d.severity = Some(o),
                Err(m) => e.add(SEVERITY_FIELD, m),
            },
            ("components", _) => match self.components(v) {
                Ok(c) => d.components = Some(c),
                Err(m) => e.add("components", m),
            },
            ("assignee", _) => match self.assignee(v) {
                Ok(a) => d.assignee = Some(a),
                Err(m) => e.add("assignee", m),
            },
            ("duedate", _) if self.project.due_date_on_screen => match v {
                Value::Null => d.due_date = Some(None),
                Value::String(s) if is_date(s) => d.due_date = Some(Some(s.clone())),
                _ => e.add(
                    "duedate",
                    format!(
                        "Error parsing date string: {}",
                        v.as_str().unwrap_or(&v.to_string())
                    ),
                ),
            },
            (other, _) => e.add(other, cannot_set(other)),
        }
    }

    /// `[{"name":"Gateway"}]` or `[{"id":"10300"}]`: components of the
    /// project, as Jira names an unknown one.
    fn components(&self, v: &Value) -> Result<Vec<String>, String> {
        let Some(items) = v.as_array() else {
            return Err("data was not an array".into());
        };
        let mut out = Vec::new();
        for item in items {
            let by_name = item.get("name").and_then(Value::as_str);
            let by_id = item.get("id").and_then(Value::as_str);
            let found = self
                .project
                .components
                .iter()
                .find(|(id, name)| by_name == Some(*name) || by_id == Some(*id));
            match (found, by_name, by_id) {
                (Some((_, name)), _, _) => {
                    if !out.iter().any(|n: &String| n == name) {
                        out.push((*name).to_string());
                    }
                }
                (None, Some(name), _) => {
                    return Err(format!("Component name '{name}' is not valid"));
                }
                (None, None, Some(id)) => {
                    return Err(format!("Component with id '{id}' does not exist."));
                }
                (None, None, None) => return Err("Component id or name is required".into()),
            }
        }
        Ok(out)
    }

    /// `{"accountId":…}` on Cloud, `{"name":…}` on Data Center (or null):
    /// an account that may be assigned issues (one that may work them).
    fn assignee(&self, v: &Value) -> Result<Option<String>, String> {
        if v.is_null() {
            return Ok(None);
        }
        let (found, shown) = match self.flavor {
            Flavor::Cloud => {
                let Some(id) = v.get("accountId").and_then(Value::as_str) else {
                    return Err("Specify the user's accountId".into());
                };
                (crate::accounts::ALL.iter().find(|a| a.account_id == id), id)
            }
            Flavor::DataCenter => {
                let Some(name) = v.get("name").and_then(Value::as_str) else {
                    return Err("Specify the user's name".into());
                };
                (crate::accounts::by_name(name), name)
            }
        };
        match found {
            Some(a) if a.can_write => Ok(Some(a.name.to_string())),
            _ => Err(format!("User '{shown}' cannot be assigned issues.")),
        }
    }

    fn summary(&self, v: &Value) -> Result<String, String> {
        let Some(s) = v.as_str() else {
            return Err("Operation value must be a string".into());
        };
        if s.trim().is_empty() {
            return Err("You must specify a summary of the issue.".into());
        }
        if s.chars().count() >= SUMMARY_LIMIT {
            return Err("Summary must be less than 255 characters.".into());
        }
        if s.contains('\n') || s.contains('\r') {
            return Err("The summary is invalid because it contains newline characters.".into());
        }
        Ok(s.to_string())
    }

    /// A description or comment body for this API version; `None` when an
    /// error was recorded.
    fn rich_text(&self, field: &str, v: &Value, e: &mut Errors) -> Option<Option<Value>> {
        if v.is_null() {
            return Some(None);
        }
        let len = match (self.api, v) {
            (ApiVersion::V3, Value::Object(_)) if adf::is_valid_document(v) => {
                v.to_string().chars().count()
            }
            (ApiVersion::V3, _) => {
                e.add(
                    field,
                    "Operation value must be an Atlassian Document (see the Atlassian Document Format)",
                );
                return None;
            }
            (ApiVersion::V2, Value::String(s)) => s.chars().count(),
            (ApiVersion::V2, _) => {
                e.add(field, "Operation value must be a string");
                return None;
            }
        };
        if len > TEXT_LIMIT {
            e.content_limit = true;
            e.add(
                field,
                "The entered text is too long. It exceeds the allowed limit of 32,767 characters.",
            );
            return None;
        }
        Some(Some(v.clone()))
    }

    /// Checks a comment body, returning the error answer for a bad one.
    pub fn comment_body(&self, v: Option<&Value>) -> Result<Value, ApiError> {
        let mut e = Errors::default();
        let body = match v {
            None | Some(Value::Null) => {
                e.add("comment", "Comment body can not be empty!");
                None
            }
            Some(v) => self.rich_text("comment", v, &mut e).flatten(),
        };
        if e.content_limit && self.flavor == Flavor::Cloud {
            return Err(ApiError::content_limit());
        }
        match body {
            Some(b) if e.map.is_empty() => Ok(b),
            _ => Err(ApiError::fields(e.map)),
        }
    }

    fn frameworks(&self, v: &Value) -> Result<Vec<String>, String> {
        let Value::Array(items) = v else {
            return Err("data was not an array".into());
        };
        let mut out = Vec::new();
        for item in items {
            out.push(self.framework_item(item)?);
        }
        Ok(out)
    }

    fn framework_item(&self, item: &Value) -> Result<String, String> {
        match self.kind {
            FrameworksFieldKind::Labels => {
                let Some(s) = item.as_str() else {
                    return Err("Operation value must be a string".into());
                };
                check_label(s)?;
                Ok(s.to_string())
            }
            FrameworksFieldKind::MultiSelect => {
                // A bare string where an option object belongs
                // (bobcarroll/jira-client#144, #287).
                if !item.is_object() {
                    return Err("expected Object".into());
                }
                let by_value = item.get("value").and_then(Value::as_str);
                let by_id = item.get("id").and_then(Value::as_str);
                match (by_value, by_id) {
                    (Some(v), _)
                        if !self.options_grow && !self.options.iter().any(|(_, o)| o == v) =>
                    {
                        Err(format!("Option value '{v}' is not valid"))
                    }
                    (Some(v), _) if !v.trim().is_empty() => Ok(v.to_string()),
                    (_, Some(id)) => self
                        .options
                        .iter()
                        .find(|(oid, _)| oid == id)
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| format!("Option id '{id}' is not valid")),
                    _ => Err(format!(
                        "Option value '{}' is not valid",
                        by_value.unwrap_or_default()
                    )),
                }
            }
        }
    }

    fn update(
        &self,
        id: &str,
        ops: &Value,
        current: Option<&SimIssue>,
        d: &mut Draft,
        e: &mut Errors,
    ) {
        let Some(ops) = ops.as_array() else {
            e.add(
                id,
                "Operations must be an array of {\"set\"|\"add\"|\"remove\": value}",
            );
            return;
        };
        let list_field = id == "labels" || id == FRAMEWORKS_FIELD;
        for op in ops {
            let Some((verb, value)) = op.as_object().and_then(|o| o.iter().next()) else {
                e.add(id, "An operation must be an object");
                return;
            };
            match (verb.as_str(), list_field) {
                ("set", _) => self.field(id, value, d, e),
                ("add" | "remove", true) => {
                    let item = if id == "labels" {
                        value
                            .as_str()
                            .map(str::to_string)
                            .ok_or_else(|| "Operation value must be a string".to_string())
                            .and_then(|s| check_label(&s).map(|()| s))
                    } else {
                        self.framework_item(value)
                    };
                    let item = match item {
                        Ok(i) => i,
                        Err(m) => {
                            e.add(id, m);
                            return;
                        }
                    };
                    let slot = if id == "labels" {
                        &mut d.labels
                    } else {
                        &mut d.frameworks
                    };
                    let list = slot.get_or_insert_with(|| match (id, current) {
                        ("labels", Some(c)) => c.labels.clone(),
                        (_, Some(c)) => c.framework_values(),
                        _ => Vec::new(),
                    });
                    if verb == "add" {
                        if !list.contains(&item) {
                            list.push(item);
                        }
                    } else {
                        list.retain(|x| *x != item);
                    }
                }
                _ if matches!(
                    id,
                    "summary"
                        | "description"
                        | SEVERITY_FIELD
                        | FINDING_FIELD
                        | "priority"
                        | "labels"
                        | FRAMEWORKS_FIELD
                ) =>
                {
                    e.add(
                        id,
                        format!("Operation '{verb}' is not supported for field '{id}'"),
                    );
                }
                _ => e.add(id, cannot_set(id)),
            }
        }
    }
}

/// The name of the `{"name":..}` or `{"id":..}` reference among `known`
/// `(id, name)` pairs.
pub(crate) fn ref_name(v: &Value, known: &[(&str, &str)]) -> Option<String> {
    let name = v.get("name").and_then(Value::as_str);
    let id = v.get("id").and_then(Value::as_str);
    known
        .iter()
        .find(|(kid, kname)| {
            name.is_some_and(|n| n.eq_ignore_ascii_case(kname)) || id.is_some_and(|i| i == *kid)
        })
        .map(|(_, n)| n.to_string())
}

/// A single-select value: `{"value":..}` or `{"id":..}` naming one of
/// `options` (id, value), or `null`.
fn select(v: &Value, options: &[(&str, &str)]) -> Result<Option<String>, String> {
    if v.is_null() {
        return Ok(None);
    }
    let by_value = v.get("value").and_then(Value::as_str);
    let by_id = v.get("id").and_then(Value::as_str);
    if by_value.is_none() && by_id.is_none() {
        // Jira's words for a bare string sent to a select (bobcarroll/jira-client#106).
        return Err("Could not find valid 'id' or 'value' in the Parent Option object.".into());
    }
    options
        .iter()
        .find(|(id, value)| by_value == Some(*value) || by_id == Some(*id))
        .map(|(_, value)| Some(value.to_string()))
        .ok_or_else(|| match by_value {
            Some(value) => format!("Option value '{value}' is not valid"),
            None => format!("Option id '{}' is not valid", by_id.unwrap_or_default()),
        })
}

fn check_label(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("Label can not be empty.".into());
    }
    if s.chars().any(char::is_whitespace) {
        return Err(format!("The label '{s}' contains spaces which is invalid."));
    }
    if s.chars().count() > SHORT_TEXT_LIMIT {
        return Err(format!(
            "The label '{s}' exceeds the maximum length for a single label of 255 characters."
        ));
    }
    Ok(())
}

fn labels(v: &Value) -> Result<Vec<String>, String> {
    let Value::Array(items) = v else {
        return Err("data was not an array".into());
    };
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let Some(s) = item.as_str() else {
            return Err("Operation value must be a string".into());
        };
        check_label(s)?;
        if !out.iter().any(|x| x == s) {
            out.push(s.to_string());
        }
    }
    Ok(out)
}

/// The values of a stored labels-type or multi-select value.
pub(crate) fn values_of(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| {
                i.as_str()
                    .or_else(|| i.get("value").and_then(Value::as_str))
                    .map(str::to_string)
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn checker(api: ApiVersion, flavor: Flavor, kind: FrameworksFieldKind) -> Checker<'static> {
        Checker {
            project: &super::super::PROJECTS[0],
            api,
            flavor,
            kind,
            options: &[],
            options_grow: true,
            mode: Mode::Create,
        }
    }

    fn check(c: &Checker<'_>, fields: Value) -> Result<Draft, ApiError> {
        c.check(fields.as_object().unwrap(), None, None)
    }

    #[test]
    fn accepts_a_good_create() {
        let c = checker(
            ApiVersion::V2,
            Flavor::DataCenter,
            FrameworksFieldKind::MultiSelect,
        );
        let d = check(
            &c,
            json!({"project":{"key":"SEC"},"issuetype":{"name":"bug"},"summary":"s",
            "description":"d","labels":["a","a","b"],"priority":{"name":"High"},
            "customfield_10031":"fnd_1","customfield_10032":[{"value":"OWASP_LLM01"}]}),
        )
        .unwrap();
        assert_eq!(d.issue_type.as_deref(), Some("Bug"));
        assert_eq!(d.labels.unwrap(), ["a", "b"]);
        assert_eq!(d.frameworks.unwrap(), ["OWASP_LLM01"]);
        assert_eq!(d.finding_id, Some(Some("fnd_1".into())));
    }

    #[test]
    fn collects_every_error() {
        let c = checker(
            ApiVersion::V3,
            Flavor::Cloud,
            FrameworksFieldKind::MultiSelect,
        );
        let err = check(
            &c,
            json!({"issuetype":{"name":"Epic"},"summary":"x".repeat(255),
            "description":"plain","labels":["a b"],"customfield_99":1,"assignee":{"id":"1"},"duedate":"2026-01-01",
            "customfield_10032":"nope"}),
        )
        .unwrap_err();
        assert_eq!(err.status, 400);
        let errors = &err.body["errors"];
        assert_eq!(errors["issuetype"], "The issue type selected is invalid.");
        assert_eq!(
            errors["summary"],
            "Summary must be less than 255 characters."
        );
        assert!(
            errors["description"]
                .as_str()
                .unwrap()
                .contains("Atlassian Document")
        );
        assert!(errors["labels"].as_str().unwrap().contains("spaces"));
        assert_eq!(errors["customfield_99"], cannot_set("customfield_99"));
        // Jira Cloud names users by accountId only.
        assert_eq!(errors["assignee"], "Specify the user's accountId");
        // SEC's create screen has no due date.
        assert_eq!(errors["duedate"], cannot_set("duedate"));
        assert_eq!(errors["customfield_10032"], "data was not an array");
    }

    #[test]
    fn due_dates_and_components_follow_the_project() {
        let mut c = checker(
            ApiVersion::V2,
            Flavor::DataCenter,
            FrameworksFieldKind::Labels,
        );
        c.project = &super::super::PROJECTS[1];
        let fields = |v: Value| v.as_object().unwrap().clone();
        let d = c
            .check(
                &fields(
                    json!({"summary":"s","issuetype":{"name":"Bug"},"duedate":"2026-02-28",
                    "components":[{"name":"Agents"},{"id":"10310"}],"assignee":{"name":"alex"}}),
                ),
                None,
                None,
            )
            .unwrap();
        assert_eq!(d.due_date, Some(Some("2026-02-28".into())));
        assert_eq!(
            d.components,
            Some(vec!["Agents".to_string(), "Model Serving".to_string()])
        );
        assert_eq!(d.assignee, Some(Some("alex".into())));
        let err = c
            .check(
                &fields(
                    json!({"summary":"s","issuetype":{"name":"Bug"},"duedate":"28/Feb/26",
                    "components":[{"name":"Gateway"}],"assignee":{"name":"readonly"}}),
                ),
                None,
                None,
            )
            .unwrap_err();
        let errors = &err.body["errors"];
        assert_eq!(errors["duedate"], "Error parsing date string: 28/Feb/26");
        assert_eq!(
            errors["components"],
            "Component name 'Gateway' is not valid"
        );
        assert_eq!(
            errors["assignee"],
            "User 'readonly' cannot be assigned issues."
        );
    }

    #[test]
    fn summary_limit_is_exclusive() {
        let c = checker(
            ApiVersion::V2,
            Flavor::DataCenter,
            FrameworksFieldKind::Labels,
        );
        assert!(
            check(
                &c,
                json!({"issuetype":{"id":"10004"},"summary":"é".repeat(254)})
            )
            .is_ok()
        );
        assert!(check(&c, json!({"issuetype":{"id":"10004"}})).is_err());
    }

    #[test]
    fn content_limit_per_flavor() {
        let long = "x".repeat(TEXT_LIMIT + 1);
        let cloud = checker(ApiVersion::V2, Flavor::Cloud, FrameworksFieldKind::Labels);
        let err = check(
            &cloud,
            json!({"issuetype":{"name":"Bug"},"summary":"s","description":long}),
        )
        .unwrap_err();
        assert_eq!(
            err.body,
            json!({"errorMessages":["CONTENT_LIMIT_EXCEEDED"],"errors":{}})
        );
        let dc = checker(
            ApiVersion::V2,
            Flavor::DataCenter,
            FrameworksFieldKind::Labels,
        );
        let err = check(
            &dc,
            json!({"issuetype":{"name":"Bug"},"summary":"s","description":long}),
        )
        .unwrap_err();
        assert!(
            err.body["errors"]["description"]
                .as_str()
                .unwrap()
                .contains("32,767")
        );
        let ok = "x".repeat(TEXT_LIMIT);
        assert!(
            check(
                &dc,
                json!({"issuetype":{"name":"Bug"},"summary":"s","description":ok})
            )
            .is_ok()
        );
    }

    #[test]
    fn labels_kind_frameworks_and_update_ops() {
        let mut c = checker(
            ApiVersion::V2,
            Flavor::DataCenter,
            FrameworksFieldKind::Labels,
        );
        assert!(check(&c, json!({"issuetype":{"name":"Bug"},"summary":"s","customfield_10032":[{"value":"x"}]})).is_err());
        c.mode = Mode::Edit;
        let update =
            json!({"labels":[{"add":"new"},{"remove":"old"}],"customfield_10032":[{"add":"A"}]});
        let d = c.check(&Map::new(), update.as_object(), None).unwrap();
        assert_eq!(d.labels.unwrap(), ["new"]);
        assert_eq!(d.frameworks.unwrap(), ["A"]);
        let bad = json!({"summary":[{"add":"x"}],"watchers":[{"add":"x"}]});
        let err = c.check(&Map::new(), bad.as_object(), None).unwrap_err();
        assert!(err.body["errors"]["summary"].is_string());
        assert_eq!(err.body["errors"]["watchers"], cannot_set("watchers"));
        let err = c
            .check(
                json!({"project":{"key":"SEC"}}).as_object().unwrap(),
                None,
                None,
            )
            .unwrap_err();
        assert_eq!(err.body["errors"]["project"], cannot_set("project"));
    }
}
