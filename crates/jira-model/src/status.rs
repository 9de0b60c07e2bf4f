use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A workflow status as Jira reports it on issues and transitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Status {
    /// Status id.
    #[serde(default)]
    pub id: String,
    /// Status name, e.g. `In Progress`.
    pub name: String,
    /// The category the status belongs to.
    #[serde(default)]
    pub status_category: Option<StatusCategory>,
}

impl Status {
    /// A status from its parts.
    pub fn new(id: impl Into<String>, name: impl Into<String>, category: StatusCategory) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            status_category: Some(category),
        }
    }
    /// The category key, `Undefined` when Jira sent none.
    pub fn category_key(&self) -> StatusCategoryKey {
        self.status_category
            .as_ref()
            .map_or(StatusCategoryKey::Undefined, |c| c.key.clone())
    }
}

/// A status category: `{"id":3,"key":"done","name":"Done"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StatusCategory {
    /// Category id (2 new, 4 indeterminate, 3 done on stock Jira).
    #[serde(default)]
    pub id: serde_json::Value,
    /// Category key.
    pub key: StatusCategoryKey,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

impl StatusCategory {
    /// The stock category for a key, with Jira's usual id and name.
    pub fn stock(key: StatusCategoryKey) -> Self {
        let (id, name) = match &key {
            StatusCategoryKey::New => (2, "To Do"),
            StatusCategoryKey::Indeterminate => (4, "In Progress"),
            StatusCategoryKey::Done => (3, "Done"),
            StatusCategoryKey::Undefined | StatusCategoryKey::Other(_) => (1, "No Category"),
        };
        Self {
            id: serde_json::Value::from(id),
            key,
            name: name.to_string(),
        }
    }
}

/// The key of a status category. Unknown keys are kept, never rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusCategoryKey {
    /// `new` (To Do).
    New,
    /// `indeterminate` (In Progress).
    Indeterminate,
    /// `done`.
    Done,
    /// `undefined`.
    Undefined,
    /// Any other key.
    Other(String),
}

impl StatusCategoryKey {
    /// The key as Jira spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::New => "new",
            Self::Indeterminate => "indeterminate",
            Self::Done => "done",
            Self::Undefined => "undefined",
            Self::Other(s) => s,
        }
    }
    /// Parses a key; never fails.
    pub fn parse(s: &str) -> Self {
        match s {
            "new" => Self::New,
            "indeterminate" => Self::Indeterminate,
            "done" => Self::Done,
            "undefined" => Self::Undefined,
            other => Self::Other(other.to_string()),
        }
    }
}

impl Serialize for StatusCategoryKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StatusCategoryKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::parse(&String::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_category_is_kept() {
        let s: Status = serde_json::from_str(
            r#"{"id":"1","name":"Triage","statusCategory":{"id":9,"key":"in-flight","name":"x"}}"#,
        )
        .unwrap();
        assert_eq!(
            s.category_key(),
            StatusCategoryKey::Other("in-flight".into())
        );
        let s: Status = serde_json::from_str(r#"{"name":"Open"}"#).unwrap();
        assert_eq!(s.category_key(), StatusCategoryKey::Undefined);
    }
}
