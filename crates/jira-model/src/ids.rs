use crate::ModelError;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $check:expr) => {
        string_id!($(#[$doc])* $name, $kind, $check, |s: String| s);
    };
    ($(#[$doc:meta])* $name:ident, $kind:literal, $check:expr, $normalize:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps the value.
            ///
            /// # Errors
            /// [`ModelError::InvalidId`] when the value is malformed.
            pub fn new(value: impl Into<String>) -> Result<Self, ModelError> {
                let normalize: fn(String) -> String = $normalize;
                let value = normalize(value.into());
                let check: fn(&str) -> Result<(), &'static str> = $check;
                match check(&value) {
                    Ok(()) => Ok(Self(value)),
                    Err(reason) => Err(ModelError::InvalidId { kind: $kind, value, reason }),
                }
            }
            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = ModelError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

fn check_project_key(s: &str) -> Result<(), &'static str> {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_uppercase() => {}
        _ => return Err("must start with an upper-case ASCII letter"),
    }
    if s.len() > 255 {
        return Err("longer than 255 characters");
    }
    if chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
        Ok(())
    } else {
        Err("may contain only A-Z, 0-9 and _")
    }
}

fn check_issue_key(s: &str) -> Result<(), &'static str> {
    let Some((project, number)) = s.rsplit_once('-') else {
        return Err("must look like PROJECT-123");
    };
    check_project_key(project).map_err(|_| "must look like PROJECT-123")?;
    if number.is_empty() || number.len() > 18 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must look like PROJECT-123");
    }
    Ok(())
}

fn check_field_id(s: &str) -> Result<(), &'static str> {
    if s.is_empty() || s.len() > 255 {
        return Err("must be 1 to 255 characters");
    }
    if let Some(n) = s.strip_prefix("customfield_") {
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err("a custom field id must look like customfield_10031");
        }
        return Ok(());
    }
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Ok(())
    } else {
        Err("may contain only ASCII letters, digits, _ and -")
    }
}

string_id!(
    /// A Jira project key such as `SEC`.
    ProjectKey,
    "project key",
    check_project_key
);
string_id!(
    /// A Jira issue key such as `SEC-42`. Jira compares keys ignoring case
    /// (`sec-42` finds `SEC-42`), so a key is kept in upper case and two
    /// keys are equal exactly when Jira would take them for one issue.
    IssueKey,
    "issue key",
    check_issue_key,
    |s: String| s.to_ascii_uppercase()
);
string_id!(
    /// A Jira field id: a system field (`summary`, `labels`) or a custom field
    /// (`customfield_10031`).
    FieldId,
    "field id",
    check_field_id
);

/// A key equals a string that Jira would take for the same issue (`SEC-1`,
/// `sec-1`).
impl PartialEq<str> for IssueKey {
    fn eq(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl PartialEq<&str> for IssueKey {
    fn eq(&self, other: &&str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl PartialEq<String> for IssueKey {
    fn eq(&self, other: &String) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl IssueKey {
    /// The project part of the key: `SEC` of `SEC-42`.
    pub fn project(&self) -> &str {
        self.0.rsplit_once('-').map_or(self.0.as_str(), |(p, _)| p)
    }
}

impl FieldId {
    /// The id of custom field number `n`: `customfield_<n>`. Always valid.
    ///
    /// ```
    /// assert_eq!(jira_model::FieldId::custom(10031).as_str(), "customfield_10031");
    /// ```
    pub fn custom(n: u64) -> Self {
        Self(format!("customfield_{n}"))
    }

    /// The numeric id of a custom field (`10031` of `customfield_10031`), as
    /// JQL's `cf[10031]` wants it; `None` for system fields.
    pub fn custom_number(&self) -> Option<u64> {
        self.0.strip_prefix("customfield_")?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_keys() {
        assert_eq!(IssueKey::new("SEC-42").unwrap().project(), "SEC");
        assert!(IssueKey::new("A_B2-1").is_ok());
        for bad in ["", "SEC", "SEC-", "SEC-1a", "-1", "SEC 1", "SEC-1 "] {
            assert!(IssueKey::new(bad).is_err(), "{bad:?} accepted");
        }
        // Jira takes `sec-1` for `SEC-1`; so does equality.
        assert_eq!(
            IssueKey::new("sec-1").unwrap(),
            IssueKey::new("SEC-1").unwrap()
        );
        assert_eq!(IssueKey::new("sec-1").unwrap().as_str(), "SEC-1");
    }

    #[test]
    fn field_ids() {
        assert_eq!(
            FieldId::new("customfield_10031").unwrap().custom_number(),
            Some(10031)
        );
        assert_eq!(FieldId::new("labels").unwrap().custom_number(), None);
        assert_eq!(FieldId::custom(7), FieldId::new("customfield_7").unwrap());
        for bad in ["", "customfield_", "customfield_x", "a b", "x\"y"] {
            assert!(FieldId::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn deserialize_validates() {
        assert!(serde_json::from_str::<ProjectKey>("\"SEC\"").is_ok());
        assert!(serde_json::from_str::<ProjectKey>("\"s e c\"").is_err());
    }
}
