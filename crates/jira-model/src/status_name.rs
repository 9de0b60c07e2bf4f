//! Status names compared the way Jira compares them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::hash::{Hash, Hasher};

/// The name of a workflow status, such as `Won't Do`. Jira matches status
/// names without regard to case, surrounding or repeated white space, or
/// the kind of apostrophe (`Won’t Do` is `Won't Do`); so does `==` here,
/// and [`Hash`] agrees with it. [`StatusName::as_str`] and `Display` keep
/// the name as Jira spelled it.
#[derive(Debug, Clone, Default)]
pub struct StatusName(String);

impl StatusName {
    /// A status name, as spelled.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The name as spelled.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form names are compared in: trimmed, single spaces, straight
    /// apostrophes, lower case.
    pub fn normalized(&self) -> String {
        normalize(&self.0)
    }

    /// Whether this is the status named `other`, as Jira compares names.
    pub fn is(&self, other: &str) -> bool {
        self.normalized() == normalize(other)
    }
}

fn normalize(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(['\u{2019}', '\u{2018}', '\u{02BC}'], "'")
        .to_lowercase()
}

impl PartialEq for StatusName {
    fn eq(&self, other: &Self) -> bool {
        self.normalized() == other.normalized()
    }
}

impl Eq for StatusName {}

impl Hash for StatusName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.normalized().hash(state);
    }
}

impl PartialEq<str> for StatusName {
    fn eq(&self, other: &str) -> bool {
        self.is(other)
    }
}

impl PartialEq<&str> for StatusName {
    fn eq(&self, other: &&str) -> bool {
        self.is(other)
    }
}

impl std::fmt::Display for StatusName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.0)
    }
}

impl From<&str> for StatusName {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for StatusName {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl AsRef<str> for StatusName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for StatusName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for StatusName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn compares_as_jira_does() {
        assert_eq!(
            StatusName::new("Won't Do"),
            StatusName::new(" won\u{2019}t   do ")
        );
        assert_ne!(StatusName::new("Done"), StatusName::new("Won't Do"));
        assert!(StatusName::new("In Progress").is("in progress"));
        let set: HashSet<StatusName> = [StatusName::new("Done"), StatusName::new("DONE")].into();
        assert_eq!(set.len(), 1, "Hash agrees with Eq");
        assert_eq!(
            StatusName::new(" Done ").to_string(),
            " Done ",
            "spelling kept"
        );
    }
}
