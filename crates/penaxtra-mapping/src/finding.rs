use crate::{FindingId, FindingState, MappingError, Severity};
use jira_model::Href;
use jira_model::limits::utf16_len;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

/// The longest probe or scan id accepted.
pub const REF_ID_MAX: usize = 200;
/// The longest framework reference accepted.
pub const FRAMEWORK_MAX: usize = 255;
/// The longest tag name or tag value accepted.
pub const TAG_MAX: usize = 255;
/// The most tags a finding may carry.
pub const TAGS_MAX: usize = 100;

/// A security weakness Penaxtra recorded.
///
/// Its JSON form (unknown keys are ignored; `probe_id`, `scan_id`,
/// `frameworks`, `excerpt`, `url` and `tags` may be left out or `null`):
///
/// ```json
/// {"id":"fnd_2026_000123","title":"Indirect prompt injection via RAG corpus",
///  "severity":"high","state":"open","probe_id":"rag_indirect_v2",
///  "scan_id":"scn_2026_000045",
///  "frameworks":["OWASP_LLM01","MITRE_ATLAS_AML_T0051","EU_AI_ACT_Art15"],
///  "excerpt":"...","url":"https://penaxtra.com/app/findings/fnd_2026_000123",
///  "tags":{"team":"ml-platform","asset":"support-bot"}}
/// ```
///
/// `tags` are free-form host tags (team, asset, product…) that routes match
/// on; they are not shown in the issue.
///
/// Reading it checks every rule of [`Finding::validate`].
///
/// `Debug` shows the excerpt's length, not its text: an excerpt may hold
/// secrets of the system under test, and `Debug` output ends up in logs.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// The finding id.
    pub id: FindingId,
    /// A one-line title (never empty).
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// State.
    pub state: FindingState,
    /// The probe that found it (may be empty).
    pub probe_id: String,
    /// The scan that found it (may be empty).
    pub scan_id: String,
    /// Framework references such as `OWASP_LLM01`.
    pub frameworks: Vec<String>,
    /// The evidence: untrusted text from the system under test. It may hold
    /// secrets; the issue template redacts it.
    pub excerpt: String,
    /// The finding in Penaxtra.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<Href>,
    /// Free-form tags of the host (`team`, `asset`, …), matched by routes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl Finding {
    /// A finding with no probe, scan, frameworks, excerpt or link yet.
    ///
    /// # Errors
    /// [`MappingError::InvalidFinding`] when the title is empty.
    pub fn new(
        id: FindingId,
        title: impl Into<String>,
        severity: Severity,
        state: FindingState,
    ) -> Result<Self, MappingError> {
        let finding = Self {
            id,
            title: title.into(),
            severity,
            state,
            probe_id: String::new(),
            scan_id: String::new(),
            frameworks: Vec::new(),
            excerpt: String::new(),
            url: None,
            tags: BTreeMap::new(),
        };
        finding.validate()?;
        Ok(finding)
    }

    /// With this probe id (default: none).
    pub fn with_probe(mut self, probe_id: impl Into<String>) -> Self {
        self.probe_id = probe_id.into();
        self
    }
    /// With this scan id (default: none).
    pub fn with_scan(mut self, scan_id: impl Into<String>) -> Self {
        self.scan_id = scan_id.into();
        self
    }
    /// With these framework references.
    pub fn with_frameworks<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        frameworks: I,
    ) -> Self {
        self.frameworks = frameworks.into_iter().map(Into::into).collect();
        self
    }
    /// With this excerpt (default: none).
    pub fn with_excerpt(mut self, excerpt: impl Into<String>) -> Self {
        self.excerpt = excerpt.into();
        self
    }
    /// With this tag (default: no tags); a tag of the same name is replaced.
    pub fn with_tag(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(name.into(), value.into());
        self
    }
    /// With this link to the finding in Penaxtra (default: none; the
    /// template's `link_base` then builds one).
    pub fn with_url(mut self, url: Href) -> Self {
        self.url = Some(url);
        self
    }

    /// Checks the rules of the JSON form: a title that is not blank; probe
    /// and scan ids of at most [`REF_ID_MAX`] characters without control
    /// characters; framework references that are not blank, at most
    /// [`FRAMEWORK_MAX`] characters, without control characters.
    ///
    /// # Errors
    /// [`MappingError::InvalidFinding`] naming the first bad field.
    pub fn validate(&self) -> Result<(), MappingError> {
        let bad = |field, reason: &str| {
            Err(MappingError::InvalidFinding {
                field,
                reason: reason.to_string(),
            })
        };
        if self.title.trim().is_empty() {
            return bad("title", "must not be empty");
        }
        for (field, value) in [("probe_id", &self.probe_id), ("scan_id", &self.scan_id)] {
            if utf16_len(value) > REF_ID_MAX {
                return bad(field, "longer than 200 characters");
            }
            if value.chars().any(char::is_control) {
                return bad(field, "holds a control character or line break");
            }
        }
        for f in &self.frameworks {
            if f.trim().is_empty() {
                return bad("frameworks", "holds an empty reference");
            }
            if utf16_len(f) > FRAMEWORK_MAX {
                return bad("frameworks", "holds a reference longer than 255 characters");
            }
            if f.chars().any(char::is_control) {
                return bad(
                    "frameworks",
                    "holds a reference with a control character or line break",
                );
            }
        }
        if self.tags.len() > TAGS_MAX {
            return bad("tags", "holds more than 100 tags");
        }
        for (name, value) in &self.tags {
            if name.trim().is_empty() {
                return bad("tags", "holds a tag with an empty name");
            }
            if utf16_len(name) > TAG_MAX || utf16_len(value) > TAG_MAX {
                return bad("tags", "holds a name or value longer than 255 characters");
            }
            if name.chars().chain(value.chars()).any(char::is_control) {
                return bad(
                    "tags",
                    "holds a name or value with a control character or line break",
                );
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Finding")
            .field("id", &self.id)
            .field("title", &self.title)
            .field("severity", &self.severity)
            .field("state", &self.state)
            .field("probe_id", &self.probe_id)
            .field("scan_id", &self.scan_id)
            .field("frameworks", &self.frameworks)
            .field(
                "excerpt",
                &format_args!("[{} characters, not shown]", self.excerpt.chars().count()),
            )
            .field("url", &self.url)
            .field("tags", &self.tags)
            .finish()
    }
}

/// Which finding and field a parse was in, for error messages.
#[derive(Debug, Default)]
struct Place {
    index: Option<usize>,
    id: Option<String>,
    field: Option<&'static str>,
}

impl Place {
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(i) = self.index {
            let mut s = format!("finding #{}", i + 1);
            if let Some(id) = &self.id {
                s.push_str(&format!(" {id:?}"));
            }
            parts.push(s);
        }
        if let Some(f) = self.field {
            parts.push(format!("field {f:?}"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        }
    }
}

const FIELDS: &[&str] = &[
    "id",
    "title",
    "severity",
    "state",
    "probe_id",
    "scan_id",
    "frameworks",
    "excerpt",
    "url",
    "tags",
];

/// Deserialises one finding, recording where it is in `place`.
struct FindingSeed<'a> {
    place: Option<&'a RefCell<Place>>,
}

impl FindingSeed<'_> {
    fn at(&self, f: impl FnOnce(&mut Place)) {
        if let Some(p) = self.place {
            f(&mut p.borrow_mut());
        }
    }
}

impl<'de> DeserializeSeed<'de> for FindingSeed<'_> {
    type Value = Finding;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Finding, D::Error> {
        d.deserialize_map(self)
    }
}

fn set_once<T, E: de::Error>(slot: &mut Option<T>, field: &'static str, value: T) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(field));
    }
    *slot = Some(value);
    Ok(())
}

impl<'de> Visitor<'de> for FindingSeed<'_> {
    type Value = Finding;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a finding object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Finding, A::Error> {
        let mut id = None;
        let mut title = None;
        let mut severity = None;
        let mut state = None;
        let mut probe_id: Option<Option<String>> = None;
        let mut scan_id: Option<Option<String>> = None;
        let mut frameworks: Option<Option<Vec<String>>> = None;
        let mut excerpt: Option<Option<String>> = None;
        let mut url: Option<Option<String>> = None;
        let mut tags: Option<Option<BTreeMap<String, String>>> = None;
        while let Some(key) = map.next_key::<String>()? {
            let Some(&field) = FIELDS.iter().find(|f| **f == key) else {
                self.at(|p| p.field = None);
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            self.at(|p| p.field = Some(field));
            match field {
                "id" => {
                    let v: FindingId = map.next_value()?;
                    self.at(|p| p.id = Some(v.to_string()));
                    set_once(&mut id, field, v)?;
                }
                "title" => set_once(&mut title, field, map.next_value::<String>()?)?,
                "severity" => set_once(&mut severity, field, map.next_value::<Severity>()?)?,
                "state" => set_once(&mut state, field, map.next_value::<FindingState>()?)?,
                "probe_id" => set_once(&mut probe_id, field, map.next_value()?)?,
                "scan_id" => set_once(&mut scan_id, field, map.next_value()?)?,
                "frameworks" => set_once(&mut frameworks, field, map.next_value()?)?,
                "excerpt" => set_once(&mut excerpt, field, map.next_value()?)?,
                "tags" => set_once(&mut tags, field, map.next_value()?)?,
                _ => set_once(&mut url, field, map.next_value()?)?,
            }
            self.at(|p| p.field = None);
        }
        let missing = |field: &'static str| {
            self.at(|p| p.field = Some(field));
            de::Error::missing_field(field)
        };
        let id = id.ok_or_else(|| missing("id"))?;
        let url = match url.flatten() {
            None => None,
            Some(u) => Some(Href::new(&u).map_err(|e| {
                self.at(|p| p.field = Some("url"));
                de::Error::custom(MappingError::InvalidFinding {
                    field: "url",
                    reason: e.to_string(),
                })
            })?),
        };
        let finding = Finding {
            id,
            title: title.ok_or_else(|| missing("title"))?,
            severity: severity.ok_or_else(|| missing("severity"))?,
            state: state.ok_or_else(|| missing("state"))?,
            probe_id: probe_id.flatten().unwrap_or_default(),
            scan_id: scan_id.flatten().unwrap_or_default(),
            frameworks: frameworks.flatten().unwrap_or_default(),
            excerpt: excerpt.flatten().unwrap_or_default(),
            url,
            tags: tags.flatten().unwrap_or_default(),
        };
        finding.validate().map_err(|e| {
            if let MappingError::InvalidFinding { field, .. } = &e {
                let field = *field;
                self.at(|p| p.field = Some(field));
            }
            de::Error::custom(e)
        })?;
        self.at(|p| p.field = None);
        Ok(finding)
    }
}

impl<'de> Deserialize<'de> for Finding {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        FindingSeed { place: None }.deserialize(d)
    }
}

/// Deserialises a JSON array of findings, recording the index.
struct FindingsSeed<'a> {
    place: &'a RefCell<Place>,
}

impl<'de> DeserializeSeed<'de> for FindingsSeed<'_> {
    type Value = Vec<Finding>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Finding>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FindingsSeed<'_> {
    type Value = Vec<Finding>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of findings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Finding>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        loop {
            *self.place.borrow_mut() = Place {
                index: Some(out.len()),
                ..Place::default()
            };
            match seq.next_element_seed(FindingSeed {
                place: Some(self.place),
            })? {
                Some(f) => out.push(f),
                None => break,
            }
        }
        *self.place.borrow_mut() = Place::default();
        Ok(out)
    }
}

/// Reads a JSON array of findings.
///
/// ```
/// let findings = penaxtra_mapping::parse_findings(
///     r#"[{"id":"fnd_1","title":"Prompt injection","severity":"high","state":"open"}]"#,
/// ).unwrap();
/// assert_eq!(findings[0].id.as_str(), "fnd_1");
///
/// let err = penaxtra_mapping::parse_findings(
///     r#"[{"id":"fnd_1","title":"t","severity":"urgent","state":"open"}]"#,
/// ).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "findings JSON at line 1 column 46 (finding #1 \"fnd_1\", field \"severity\"): \
///      unknown severity \"urgent\": expected one of info, low, medium, high, critical"
/// );
/// ```
///
/// # Errors
/// [`MappingError::Json`] with the line, column, finding and field of the
/// first problem: malformed JSON, a missing or mistyped field, an unknown
/// severity or state, or a value [`Finding::validate`] rejects.
pub fn parse_findings(json: &str) -> Result<Vec<Finding>, MappingError> {
    let place = RefCell::new(Place::default());
    let mut de = serde_json::Deserializer::from_str(json);
    let result = FindingsSeed { place: &place }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    result.map_err(|e| {
        let position = format!(" at line {} column {}", e.line(), e.column());
        let full = e.to_string();
        let message = full.strip_suffix(&position).unwrap_or(&full).to_string();
        MappingError::Json {
            line: e.line(),
            column: e.column(),
            location: place.borrow().describe(),
            message,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"id":"fnd_2026_000123","title":"Indirect prompt injection via RAG corpus",
        "severity":"high","state":"open","probe_id":"rag_indirect_v2","scan_id":"scn_2026_000045",
        "frameworks":["OWASP_LLM01","MITRE_ATLAS_AML_T0051","EU_AI_ACT_Art15"],
        "excerpt":"...","url":"https://penaxtra.com/app/findings/fnd_2026_000123","new_field":{"x":1}}"#;

    #[test]
    fn reads_the_documented_form() {
        let f: Finding = serde_json::from_str(GOOD).unwrap();
        assert_eq!(f.id.as_str(), "fnd_2026_000123");
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.state, FindingState::Open);
        assert_eq!(f.frameworks.len(), 3);
        assert_eq!(
            f.url.as_ref().map(Href::as_str),
            Some("https://penaxtra.com/app/findings/fnd_2026_000123")
        );
        let back: Finding = serde_json::from_value(serde_json::to_value(&f).unwrap()).unwrap();
        assert_eq!(back, f);
    }

    #[test]
    fn optional_fields_may_be_absent_or_null() {
        let f: Finding = serde_json::from_str(
            r#"{"id":"f","title":"t","severity":"low","state":"triaged","excerpt":null,"url":null,"frameworks":null}"#,
        )
        .unwrap();
        assert_eq!(
            f,
            Finding::new(
                FindingId::new("f").unwrap(),
                "t",
                Severity::Low,
                FindingState::Triaged
            )
            .unwrap()
        );
    }

    fn err(json: &str) -> MappingError {
        parse_findings(json).unwrap_err()
    }

    #[test]
    fn errors_name_the_place() {
        let e = err(
            "[\n{\"id\":\"a\",\"title\":\"t\",\"severity\":\"high\",\"state\":\"open\"},\n{\"id\":\"b\",\"title\":\"t\",\n\"severity\":5}]",
        );
        assert_eq!(
            e.to_string(),
            "findings JSON at line 4 column 12 (finding #2 \"b\", field \"severity\"): invalid type: integer `5`, expected a string"
        );
        let e = err(r#"[{"id":"a","title":"t","severity":"high"}]"#);
        assert_eq!(
            e.to_string(),
            "findings JSON at line 1 column 41 (finding #1 \"a\", field \"state\"): missing field `state`"
        );
        let e = err(r#"[{"id":"a","title":"  ","severity":"high","state":"open"}]"#);
        assert!(
            e.to_string().ends_with(
                "(finding #1 \"a\", field \"title\"): invalid finding title: must not be empty"
            ),
            "{e}"
        );
        let e = err(r#"[{"id":"a b"}]"#);
        assert!(e.to_string().contains("(finding #1, field \"id\")"), "{e}");
        let e = err(r#"[{"id":"a","id":"b"}]"#);
        assert!(e.to_string().contains("duplicate field `id`"), "{e}");
        let e = err(r#"[{"id":"a","title":"t","severity":"high","state":"closed"}]"#);
        assert!(
            e.to_string().contains("unknown finding state \"closed\""),
            "{e}"
        );
        let e = err(
            r#"[{"id":"a","title":"t","severity":"high","state":"open","url":"javascript:alert(1)"}]"#,
        );
        assert!(
            e.to_string()
                .contains("field \"url\"): invalid finding url: invalid link URL"),
            "{e}"
        );
        let e = err(r#"{"id":"a"}"#);
        assert_eq!(
            e.to_string(),
            "findings JSON at line 1 column 0: invalid type: map, expected a JSON array of findings"
        );
        let e = err("[] x");
        assert!(
            e.to_string()
                .starts_with("findings JSON at line 1 column 4: trailing characters"),
            "{e}"
        );
        let e = err("[{\"id\":\"a\",");
        assert_eq!(e.code(), "findings_json");
        assert_eq!(
            e.to_string(),
            "findings JSON at line 1 column 11 (finding #1 \"a\"): EOF while parsing a value"
        );
        assert!(matches!(e, MappingError::Json { line: 1, .. }));
    }

    #[test]
    fn debug_does_not_show_the_excerpt() {
        let f = Finding::new(
            FindingId::new("f").unwrap(),
            "t",
            Severity::Low,
            FindingState::Open,
        )
        .unwrap()
        .with_excerpt("AKIAIOSFODNN7EXAMPLE");
        let debug = format!("{f:?}");
        assert!(!debug.contains("AKIA"), "{debug}");
        assert!(
            debug.contains("excerpt: [20 characters, not shown]"),
            "{debug}"
        );
    }

    #[test]
    fn tags_are_read_checked_and_optional() {
        let f = &parse_findings(
            r#"[{"id":"a","title":"t","severity":"high","state":"open","tags":{"team":"ml","asset":"bot"}},
                {"id":"b","title":"t","severity":"high","state":"open","tags":null}]"#,
        )
        .unwrap();
        assert_eq!(f[0].tags.get("team").map(String::as_str), Some("ml"));
        assert!(f[1].tags.is_empty());
        let v = serde_json::to_value(&f[0]).unwrap();
        assert_eq!(v["tags"]["asset"], "bot");
        assert!(serde_json::to_value(&f[1]).unwrap().get("tags").is_none());
        let e = err(r#"[{"id":"a","title":"t","severity":"high","state":"open","tags":{"":"x"}}]"#);
        assert!(e.to_string().contains("field \"tags\""), "{e}");
        let e =
            err(r#"[{"id":"a","title":"t","severity":"high","state":"open","tags":{"t":"a\nb"}}]"#);
        assert!(e.to_string().contains("control character"), "{e}");
        let e = err(r#"[{"id":"a","title":"t","severity":"high","state":"open","tags":{"t":1}}]"#);
        assert!(e.to_string().contains("field \"tags\""), "{e}");
    }

    #[test]
    fn validation_rules() {
        let base = Finding::new(
            FindingId::new("f").unwrap(),
            "t",
            Severity::Low,
            FindingState::Open,
        )
        .unwrap();
        assert!(
            Finding::new(
                FindingId::new("f").unwrap(),
                " \n",
                Severity::Low,
                FindingState::Open
            )
            .is_err()
        );
        assert!(base.clone().with_probe("p\nq").validate().is_err());
        assert!(base.clone().with_scan("s".repeat(201)).validate().is_err());
        assert!(base.clone().with_frameworks([" "]).validate().is_err());
        assert!(
            base.clone()
                .with_frameworks(["x".repeat(256)])
                .validate()
                .is_err()
        );
        assert!(
            base.clone()
                .with_frameworks(["OWASP LLM01"])
                .with_excerpt("\u{0}anything\u{202E}")
                .validate()
                .is_ok()
        );
    }
}
