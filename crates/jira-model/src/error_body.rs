use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Jira's error body, parsed tolerantly.
///
/// Usually `{"errorMessages":[...],"errors":{"field":"msg"}}`, but Jira also
/// sends bodies without `errors`, with `warningMessages`, the shape
/// `{"message":"...","status-code":401}`, and XML, HTML or empty bodies
/// (a 429 body can be HTML). [`ErrorBody::parse`] never fails.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ErrorBody {
    /// General messages (`errorMessages`, or `message`).
    #[serde(default, rename = "errorMessages")]
    pub messages: Vec<String>,
    /// Messages by field id (`errors`).
    #[serde(default, rename = "errors")]
    pub field_errors: BTreeMap<String, String>,
    /// `warningMessages`.
    #[serde(
        default,
        rename = "warningMessages",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub warnings: Vec<String>,
    /// A body that was not JSON, kept as (bounded) text: HTML, XML, plain text.
    #[serde(default, skip)]
    pub text: Option<String>,
    /// Whether the body had Jira's error shape (see
    /// [`ErrorBody::is_jira_shape`]).
    #[serde(skip, default = "jira_shape")]
    jira_shape: bool,
}

/// A body read by serde is read as Jira's shape (a bulk answer's element
/// errors).
fn jira_shape() -> bool {
    true
}

/// Longest non-JSON body kept, in bytes.
const MAX_TEXT: usize = 2048;

impl ErrorBody {
    /// An error body with these messages and field errors.
    pub fn new(messages: Vec<String>, field_errors: BTreeMap<String, String>) -> Self {
        Self {
            messages,
            field_errors,
            warnings: Vec::new(),
            text: None,
            jira_shape: true,
        }
    }

    /// Parses any body Jira may send with an error status. Never fails.
    pub fn parse(body: &[u8]) -> Self {
        Self::parse_scrubbed(body, str::to_string)
    }

    /// Parses like [`ErrorBody::parse`], passing every text it keeps
    /// (messages, field ids and their errors, warnings, a non-JSON body)
    /// through `scrub` first, e.g. to mask secrets that Jira or a proxy
    /// echoed.
    ///
    /// A non-JSON body is scrubbed whole and only then cut to its bound: a
    /// secret that straddles the cut is masked whole instead of surviving
    /// in part, as it would if the text were cut first.
    pub fn parse_scrubbed(body: &[u8], scrub: impl Fn(&str) -> String) -> Self {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Self::from_text(body, &scrub);
        };
        let serde_json::Value::Object(map) = value else {
            return Self::from_text(body, &scrub);
        };
        let text = |v: &serde_json::Value| scrub(&value_text(v));
        let mut out = Self {
            jira_shape: matches!(map.get("errorMessages"), Some(serde_json::Value::Array(_)))
                || matches!(map.get("errors"), Some(serde_json::Value::Object(_))),
            ..Self::default()
        };
        if let Some(serde_json::Value::Array(items)) = map.get("errorMessages") {
            out.messages.extend(items.iter().map(text));
        }
        if let Some(serde_json::Value::Object(errs)) = map.get("errors") {
            out.field_errors
                .extend(errs.iter().map(|(k, v)| (scrub(k), text(v))));
        }
        if let Some(serde_json::Value::Array(items)) = map.get("warningMessages") {
            out.warnings.extend(items.iter().map(text));
        }
        for key in ["message", "errorMessage"] {
            if let Some(m) = map.get(key) {
                out.messages.push(text(m));
            }
        }
        out
    }

    fn from_text(body: &[u8], scrub: &impl Fn(&str) -> String) -> Self {
        let text = String::from_utf8_lossy(body);
        let text = scrub(text.trim());
        let text = text.trim();
        if text.is_empty() {
            return Self::default();
        }
        let mut end = text.len().min(MAX_TEXT);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        Self {
            text: Some(text[..end].to_string()),
            ..Self::default()
        }
    }

    /// Whether any message (general, field or warning) contains `needle`.
    pub fn mentions(&self, needle: &str) -> bool {
        self.messages.iter().any(|m| m.contains(needle))
            || self
                .field_errors
                .iter()
                .any(|(k, v)| k.contains(needle) || v.contains(needle))
            || self.warnings.iter().any(|m| m.contains(needle))
    }

    /// Custom field ids that Jira complained about (`errors` keys of the form
    /// `customfield_N`).
    pub fn custom_fields(&self) -> impl Iterator<Item = &str> {
        self.field_errors
            .keys()
            .map(String::as_str)
            .filter(|k| k.starts_with("customfield_"))
    }

    /// Whether the body had Jira's error shape: a JSON object with an
    /// `errorMessages` array or an `errors` object (or was built with
    /// [`ErrorBody::new`], or read by serde). Anything else (HTML, plain
    /// text, another JSON shape) may come from whatever answered at the
    /// base URL: a proxy, a login page, or a server that is not Jira at
    /// all, whose words a tenant must not read through this integration.
    /// The messages are kept for classification either way.
    pub fn is_jira_shape(&self) -> bool {
        self.jira_shape
    }

    /// Whether the body carries no information at all.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
            && self.field_errors.is_empty()
            && self.warnings.is_empty()
            && self.text.is_none()
    }

    /// A one-line summary of Jira's messages for an error message.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self.messages.clone();
        parts.extend(self.field_errors.iter().map(|(k, v)| format!("{k}: {v}")));
        if let (true, Some(t)) = (parts.is_empty(), &self.text) {
            // Control characters become spaces, not nothing: removing them
            // would join the pieces of a secret that the scrubber, which
            // ran on the text with them, could not recognise.
            let first: String = t
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(200)
                .collect();
            parts.push(format!("non-JSON body: {first}"));
        }
        parts.join("; ")
    }
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_join_what_they_separate() {
        let b = ErrorBody::parse(b"tok\x07en-sec\nret");
        let s = b.summary();
        assert!(!s.contains("token-secret"), "{s}");
        assert!(s.contains("tok en-sec ret"), "{s}");
    }

    #[test]
    fn only_jiras_own_shape_is_marked_as_such() {
        for jira in [
            br#"{"errorMessages":["x"],"errors":{}}"#.as_slice(),
            br#"{"errorMessages":[]}"#,
            br#"{"errors":{"summary":"required"}}"#,
        ] {
            assert!(ErrorBody::parse(jira).is_jira_shape());
        }
        for other in [
            br#"{"message":"internal admin console","status":500}"#.as_slice(),
            br#"{"errorMessages":"not a list"}"#,
            br#"{"errors":["not an object"]}"#,
            b"<html>sidecar</html>",
            b"[1,2]",
            b"",
        ] {
            assert!(!ErrorBody::parse(other).is_jira_shape());
        }
        assert!(ErrorBody::new(vec!["m".into()], BTreeMap::new()).is_jira_shape());
        let b: ErrorBody = serde_json::from_str(r#"{"errors":{}}"#).unwrap();
        assert!(b.is_jira_shape());
    }

    #[test]
    fn every_shape() {
        let b = ErrorBody::parse(br#"{"errorMessages":["CONTENT_LIMIT_EXCEEDED"],"errors":{}}"#);
        assert_eq!(b.messages, ["CONTENT_LIMIT_EXCEEDED"]);
        let b = ErrorBody::parse(br#"{"errorMessages":[]}"#);
        assert!(b.is_empty());
        let b = ErrorBody::parse(
            br#"{"errors":{"customfield_10031":"Field 'customfield_10031' cannot be set. It is not on the appropriate screen, or unknown."}}"#,
        );
        assert_eq!(b.custom_fields().collect::<Vec<_>>(), ["customfield_10031"]);
        let b =
            ErrorBody::parse(br#"{"message":"Client must be authenticated","status-code":401}"#);
        assert_eq!(b.messages, ["Client must be authenticated"]);
        let b = ErrorBody::parse(br#"{"errorMessages":[],"errors":{},"warningMessages":["w"]}"#);
        assert_eq!(b.warnings, ["w"]);
        let b = ErrorBody::parse(b"<html><body>Rate limited</body></html>");
        assert!(b.text.as_deref().unwrap().contains("Rate limited"));
        assert!(b.summary().contains("non-JSON"));
        let b = ErrorBody::parse(b"<?xml version=\"1.0\"?><status><message>x</message></status>");
        assert!(b.text.is_some());
        assert!(ErrorBody::parse(b"").is_empty());
        assert!(ErrorBody::parse(b"[1,2]").text.is_some());
        let b = ErrorBody::parse(br#"{"errors":{"summary":7}}"#);
        assert_eq!(b.field_errors["summary"], "7");
    }

    #[test]
    fn text_is_scrubbed_before_it_is_cut() {
        let secret = "S3CRET-token-0123456789";
        for start in MAX_TEXT - secret.len()..=MAX_TEXT {
            let body = format!("{}{secret} and more", "x".repeat(start));
            let b = ErrorBody::parse_scrubbed(body.as_bytes(), |t| t.replace(secret, "[redacted]"));
            let text = b.text.unwrap();
            assert!(text.len() <= MAX_TEXT);
            assert!(!text.contains(&secret[..4]), "cut at {start}");
        }
        let b = ErrorBody::parse_scrubbed(
            format!(r#"{{"errorMessages":["{secret}"],"errors":{{"{secret}":"{secret}"}}}}"#)
                .as_bytes(),
            |t| t.replace(secret, "*"),
        );
        assert_eq!(b.messages, ["*"]);
        assert_eq!(b.field_errors["*"], "*");
    }

    #[test]
    fn long_text_is_bounded_on_char_boundary() {
        let body = "é".repeat(5000);
        let b = ErrorBody::parse(body.as_bytes());
        assert!(b.text.unwrap().len() <= MAX_TEXT);
    }
}
