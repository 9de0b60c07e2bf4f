//! Jira's field limits and deterministic ways to fit values into them.
//!
//! Jira counts characters the way Java does: UTF-16 code units. An emoji
//! outside the Basic Multilingual Plane counts two. Every function here
//! counts the same way and cuts only on `char` boundaries, so a cut never
//! splits a character and the same input always gives the same output.

use crate::ModelError;
use crate::text::{normalize_newlines, strip_invisible};
use std::borrow::Cow;

/// The longest summary Jira accepts: it must be *under* 255 characters.
pub const SUMMARY_MAX: usize = 254;
/// The longest description or other text field value (Cloud answers
/// `CONTENT_LIMIT_EXCEEDED` beyond it). For an ADF value Cloud counts the
/// JSON of the document.
pub const TEXT_MAX: usize = 32_767;
/// The longest label.
pub const LABEL_MAX: usize = 255;
/// What a shortened value ends with.
pub const ELLIPSIS: char = '…';

/// The length of `s` as Jira counts it: UTF-16 code units.
///
/// ```
/// assert_eq!(jira_model::limits::utf16_len("a😀"), 3);
/// ```
pub fn utf16_len(s: &str) -> usize {
    // ASCII (the usual case) is checked a word at a time: one unit a byte.
    if s.is_ascii() {
        return s.len();
    }
    // Else by byte: one unit per character (every byte but continuation bytes),
    // one more for each four-byte character (a surrogate pair).
    s.bytes()
        .map(|b| usize::from((b & 0xC0) != 0x80) + usize::from(b >= 0xF0))
        .sum()
}

/// The longest prefix of `s` at most `max` UTF-16 units long, cut on a
/// character boundary.
///
/// ```
/// assert_eq!(jira_model::limits::truncate_utf16("ab😀c", 3), "ab");
/// ```
pub fn truncate_utf16(s: &str, max: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += c.len_utf16();
        if used > max {
            return &s[..i];
        }
    }
    s
}

/// `s` unchanged when it fits in `max` UTF-16 units; otherwise its longest
/// prefix that fits together with a trailing [`ELLIPSIS`] (trailing
/// whitespace of the prefix dropped).
///
/// ```
/// use jira_model::limits::truncate_with_ellipsis;
/// assert_eq!(truncate_with_ellipsis("hello world", 7), "hello…");
/// assert_eq!(truncate_with_ellipsis("hello", 8), "hello");
/// ```
pub fn truncate_with_ellipsis(s: &str, max: usize) -> Cow<'_, str> {
    if utf16_len(s) <= max {
        return Cow::Borrowed(s);
    }
    if max == 0 {
        return Cow::Borrowed("");
    }
    let head = truncate_utf16(s, max - 1).trim_end();
    let mut out = String::with_capacity(head.len() + 3);
    out.push_str(head);
    out.push(ELLIPSIS);
    Cow::Owned(out)
}

/// Turns any text into a valid summary: line breaks and tabs become spaces,
/// invisible characters ([`crate::text::is_invisible`]) are removed, runs of
/// whitespace collapse into one space, the ends are trimmed, and the result
/// is shortened with an [`ELLIPSIS`] to [`SUMMARY_MAX`] UTF-16 units. May be
/// empty: an empty summary is the caller's error to report.
///
/// ```
/// use jira_model::limits::fit_summary;
/// assert_eq!(fit_summary("  [Penaxtra]\r\nPrompt\u{202E}  injection "), "[Penaxtra] Prompt injection");
/// assert_eq!(fit_summary(&"x".repeat(300)).chars().count(), 254);
/// ```
pub fn fit_summary(s: &str) -> String {
    let visible = strip_invisible(&normalize_newlines(s));
    let mut collapsed = String::with_capacity(visible.len());
    for word in visible.split(char::is_whitespace).filter(|w| !w.is_empty()) {
        if !collapsed.is_empty() {
            collapsed.push(' ');
        }
        collapsed.push_str(word);
    }
    truncate_with_ellipsis(&collapsed, SUMMARY_MAX).into_owned()
}

/// Checks a summary against Jira's rules.
///
/// # Errors
/// [`ModelError::Limit`] when it is empty, holds a line break or is
/// [`SUMMARY_MAX`] + 1 UTF-16 units or longer.
pub fn check_summary(s: &str) -> Result<(), ModelError> {
    let limit = |reason: String| ModelError::Limit {
        what: "summary",
        reason,
    };
    if s.trim().is_empty() {
        return Err(limit("must not be empty".into()));
    }
    if s.contains([
        '\n', '\r', '\u{0B}', '\u{0C}', '\u{85}', '\u{2028}', '\u{2029}',
    ]) {
        return Err(limit("must be one line".into()));
    }
    let len = utf16_len(s);
    if len > SUMMARY_MAX {
        return Err(limit(format!("{len} characters; must be under 255")));
    }
    Ok(())
}

/// Checks the length of a description or other text field value.
///
/// # Errors
/// [`ModelError::Limit`] naming `what` when `s` is longer than
/// [`TEXT_MAX`] UTF-16 units.
pub fn check_text(what: &'static str, s: &str) -> Result<(), ModelError> {
    let len = utf16_len(s);
    if len > TEXT_MAX {
        return Err(ModelError::Limit {
            what,
            reason: format!("{len} characters; at most {TEXT_MAX}"),
        });
    }
    Ok(())
}

/// Turns any text into a label: invisible characters are removed, the ends
/// trimmed, each run of whitespace becomes one `_`, and the result is cut to
/// [`LABEL_MAX`] UTF-16 units. `None` when nothing is left.
///
/// ```
/// use jira_model::limits::to_label;
/// assert_eq!(to_label(" EU AI Act\tArt 15 ").as_deref(), Some("EU_AI_Act_Art_15"));
/// assert_eq!(to_label(" \u{200B} "), None);
/// ```
pub fn to_label(s: &str) -> Option<String> {
    // Printable ASCII has no whitespace, line break or invisible character:
    // it only needs the length limit.
    if s.bytes().all(|b| b.is_ascii_graphic()) {
        let cut = truncate_utf16(s, LABEL_MAX);
        return (!cut.is_empty()).then(|| cut.to_string());
    }
    let visible = strip_invisible(&normalize_newlines(s));
    let joined = visible
        .split(char::is_whitespace)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    let cut = truncate_utf16(&joined, LABEL_MAX);
    (!cut.is_empty()).then(|| cut.to_string())
}

/// Checks a label against Jira's rules.
///
/// # Errors
/// [`ModelError::Limit`] when the label is empty, holds whitespace or an
/// invisible character, or is longer than [`LABEL_MAX`] UTF-16 units.
pub fn check_label(s: &str) -> Result<(), ModelError> {
    let limit = |reason: String| ModelError::Limit {
        what: "label",
        reason,
    };
    if s.is_empty() {
        return Err(limit("must not be empty".into()));
    }
    if s.chars().any(char::is_whitespace) {
        return Err(limit(format!("{s:?} contains whitespace")));
    }
    // In context, as `to_label` strips them: a variation selector after a
    // visible character is part of it.
    if crate::text::has_invisible(s) {
        return Err(limit(format!("{s:?} contains an invisible character")));
    }
    let len = utf16_len(s);
    if len > LABEL_MAX {
        return Err(limit(format!("{len} characters; at most {LABEL_MAX}")));
    }
    Ok(())
}

/// The longest prefix of `s`, cut on a character boundary, for which `fits`
/// holds; `fits` must be monotone (if a prefix fits, every shorter one
/// does). Found by binary search, so `fits` runs O(log n) times. Returns
/// `""` when not even the empty prefix fits; the caller decides what that
/// means.
///
/// ```
/// use jira_model::limits::longest_prefix_that_fits;
/// assert_eq!(longest_prefix_that_fits("héllo", |p| p.len() <= 3), "hé");
/// ```
pub fn longest_prefix_that_fits(s: &str, mut fits: impl FnMut(&str) -> bool) -> &str {
    if fits(s) {
        return s;
    }
    let mut ends: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
    ends.push(s.len());
    // ends[lo] fits (or lo == 0), ends[hi] does not.
    let (mut lo, mut hi) = (0, ends.len() - 1);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(&s[..ends[mid]]) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    &s[..ends[lo]]
}

/// Fits `body` followed by `tail` into `max` UTF-16 units, keeping `tail`
/// whole (the link back, say): when both do not fit, `body` is cut on a
/// character boundary and ends with an [`ELLIPSIS`].
///
/// ```
/// use jira_model::limits::fit_keeping_tail;
/// assert_eq!(fit_keeping_tail("abcdef", "\n<link>", 11).unwrap(), "abc…\n<link>");
/// ```
///
/// # Errors
/// [`ModelError::Limit`] when `tail` alone (with the ellipsis) is longer
/// than `max`.
pub fn fit_keeping_tail(body: &str, tail: &str, max: usize) -> Result<String, ModelError> {
    let tail_len = utf16_len(tail);
    if utf16_len(body) + tail_len <= max {
        return Ok(format!("{body}{tail}"));
    }
    if tail_len + ELLIPSIS.len_utf16() > max {
        return Err(ModelError::Limit {
            what: "text",
            reason: format!("the part that must stay is {tail_len} characters; at most {max} fit"),
        });
    }
    let head = truncate_utf16(body, max - tail_len - ELLIPSIS.len_utf16());
    Ok(format!("{head}{ELLIPSIS}{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_utf16_units() {
        assert_eq!(utf16_len(""), 0);
        assert_eq!(utf16_len("é"), 1);
        assert_eq!(utf16_len("𝄞"), 2);
        assert_eq!(truncate_utf16("𝄞𝄞", 3), "𝄞");
        assert_eq!(truncate_utf16("𝄞𝄞", 4), "𝄞𝄞");
        assert_eq!(truncate_utf16("abc", 0), "");
    }

    proptest::proptest! {
        #[test]
        fn utf16_len_counts_as_encode_utf16_does(s in "\\PC{0,40}") {
            proptest::prop_assert_eq!(utf16_len(&s), s.encode_utf16().count());
        }
    }

    #[test]
    fn summary_limit_is_under_255_utf16_units() {
        let s = "😀".repeat(200);
        let fitted = fit_summary(&s);
        assert_eq!(utf16_len(&fitted), 253, "126 emoji (252) + ellipsis");
        assert!(fitted.ends_with(ELLIPSIS));
        check_summary(&fitted).unwrap();
        assert!(check_summary(&"a".repeat(254)).is_ok());
        assert!(check_summary(&"a".repeat(255)).is_err());
        assert!(check_summary("a\nb").is_err());
        assert!(check_summary("  ").is_err());
        assert_eq!(fit_summary("\u{200B}\n"), "");
    }

    #[test]
    fn text_limit() {
        assert!(check_text("description", &"a".repeat(TEXT_MAX)).is_ok());
        let err = check_text("description", &"a".repeat(TEXT_MAX + 1)).unwrap_err();
        assert!(err.to_string().contains("description"));
    }

    #[test]
    fn labels() {
        assert_eq!(to_label("OWASP_LLM01").as_deref(), Some("OWASP_LLM01"));
        assert_eq!(to_label("a\u{2028}b").as_deref(), Some("a_b"));
        assert_eq!(to_label(&"x".repeat(300)).map(|l| l.len()), Some(255));
        check_label("ai-security").unwrap();
        // A presentation selector after a visible character is kept by
        // to_label, so check_label accepts it (proptest found the mismatch).
        assert_eq!(to_label("¡\u{fe0e}").as_deref(), Some("¡\u{fe0e}"));
        check_label("¡\u{fe0e}").unwrap();
        assert!(check_label("\u{fe0e}").is_err());
        for bad in ["", "a b", "a\u{A0}b", "a\u{200B}", &"x".repeat(256)] {
            assert!(check_label(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn prefix_search() {
        assert_eq!(longest_prefix_that_fits("abc", |_| true), "abc");
        assert_eq!(longest_prefix_that_fits("abc", |_| false), "");
        assert_eq!(longest_prefix_that_fits("a😀b", |p| utf16_len(p) <= 2), "a");
        assert_eq!(longest_prefix_that_fits("", |p| p.is_empty()), "");
    }

    #[test]
    fn tail_is_kept() {
        let out = fit_keeping_tail(&"x".repeat(100), "[link]", 20).unwrap();
        assert_eq!(out, format!("{}…[link]", "x".repeat(13)));
        assert_eq!(utf16_len(&out), 20);
        assert_eq!(fit_keeping_tail("ab", "[link]", 20).unwrap(), "ab[link]");
        assert!(fit_keeping_tail("ab", "[link]", 6).is_err());
    }
}
