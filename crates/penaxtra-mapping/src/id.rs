use crate::MappingError;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// The longest finding id accepted.
pub const FINDING_ID_MAX: usize = 200;

/// What every dedup label starts with; no other label the template writes
/// starts with it.
pub const DEDUP_LABEL_PREFIX: &str = "penaxtra-id-";

/// The id of a Penaxtra finding, such as `fnd_2026_000123`: 1 to 200 ASCII
/// letters, digits and `_ - . :`. Such an id is safe in a Jira label, a JQL
/// string and a URL path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct FindingId(String);

impl FindingId {
    /// Validates and wraps an id.
    ///
    /// # Errors
    /// [`MappingError::InvalidFinding`] (field `id`) when the id is empty,
    /// longer than [`FINDING_ID_MAX`] or holds another character.
    pub fn new(value: impl Into<String>) -> Result<Self, MappingError> {
        let value = value.into();
        let fail = |reason: String| {
            Err(MappingError::InvalidFinding {
                field: "id",
                reason,
            })
        };
        if value.is_empty() {
            return fail("must not be empty".into());
        }
        if value.len() > FINDING_ID_MAX {
            return fail(format!("longer than {FINDING_ID_MAX} characters"));
        }
        if let Some(c) = value
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
        {
            return fail(format!(
                "{:?} holds {c:?}; an id may hold only ASCII letters, digits and _ - . :",
                crate::error::excerpt_of(&value)
            ));
        }
        Ok(Self(value))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FindingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for FindingId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for FindingId {
    type Err = MappingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl<'de> Deserialize<'de> for FindingId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

/// The label that marks the one Jira issue of a finding, so a duplicate
/// check (`labels = "..."` in JQL) finds an issue an earlier attempt created.
///
/// It is [`DEDUP_LABEL_PREFIX`] followed by the id in lower case (JQL
/// compares labels without regard to case). An id holding upper-case
/// letters also gets a short hash of its exact spelling, so `fnd_A` and
/// `fnd_a` never share a label. Deterministic across runs and releases.
///
/// ```
/// use penaxtra_mapping::{dedup_label, FindingId};
/// let id = FindingId::new("fnd_2026_000123").unwrap();
/// assert_eq!(dedup_label(&id), "penaxtra-id-fnd_2026_000123");
/// let upper = FindingId::new("FND_1").unwrap();
/// assert_eq!(dedup_label(&upper), "penaxtra-id-fnd_1-d6ff6abf");
/// ```
pub fn dedup_label(id: &FindingId) -> String {
    let lower = id.0.to_ascii_lowercase();
    if lower == id.0 {
        format!("{DEDUP_LABEL_PREFIX}{lower}")
    } else {
        format!(
            "{DEDUP_LABEL_PREFIX}{lower}-{:08x}",
            fnv1a32(id.0.as_bytes())
        )
    }
}

/// FNV-1a, 32 bits: a fixed, dependency-free hash whose value never
/// changes between releases (unlike `std`'s hashers).
fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for ok in [
            "fnd_2026_000123",
            "a",
            "x.y-z:1",
            &"a".repeat(FINDING_ID_MAX),
        ] {
            assert!(FindingId::new(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "",
            "a b",
            "fnd/1",
            "fnd\"1",
            "é",
            "a\n",
            &"a".repeat(FINDING_ID_MAX + 1),
        ] {
            let e = FindingId::new(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_finding", "{bad:?}");
        }
        assert!(serde_json::from_str::<FindingId>("\"a b\"").is_err());
    }

    #[test]
    fn dedup_labels_are_valid_distinct_and_stable() {
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        let ids = ["fnd_1", "FND_1", "Fnd_1", "fnd_10", "fnd-1"];
        let labels: std::collections::BTreeSet<String> = ids
            .iter()
            .map(|i| dedup_label(&FindingId::new(*i).unwrap()).to_ascii_lowercase())
            .collect();
        assert_eq!(labels.len(), ids.len(), "{labels:?}");
        for l in &labels {
            jira_model::limits::check_label(l).unwrap();
            assert!(l.starts_with(DEDUP_LABEL_PREFIX));
        }
        let longest = FindingId::new("A".repeat(FINDING_ID_MAX)).unwrap();
        jira_model::limits::check_label(&dedup_label(&longest)).unwrap();
    }
}
