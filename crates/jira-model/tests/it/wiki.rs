//! Any untrusted text put through the wiki writer renders literally.
//!
//! `live_syntax` is a model of what Jira's wiki renderer acts on (macros,
//! block starts, links, bare URLs, backslash escapes, entities, emoticons,
//! images, text effects, forced line breaks). It is written from the
//! renderer's rules, not from the writer, and the properties check the
//! writer against it.

use jira_model::Href;
use jira_model::text::normalize_newlines;
use jira_model::wiki::{self, WikiWriter};
use proptest::prelude::*;

const BACKSLASHED: &str = "-#*_+?^~%()@";
const NEVER_RAW: &str = "{}[]|!<>";

/// Stands for an escape or entity in the skeleton: inert, and unlike any
/// character the rules look at.
const INERT: char = '\u{E000}';

/// `markup` with each backslash escape of a character in [`BACKSLASHED`] and
/// each entity (`&#N;`, `&amp;`, `&lt;`, `&gt;`) replaced by [`INERT`].
fn skeleton(markup: &str) -> String {
    let mut out = String::new();
    let mut rest = markup;
    while let Some(c) = rest.chars().next() {
        let entity_len = ["&amp;", "&lt;", "&gt;"]
            .iter()
            .find(|e| rest.starts_with(**e))
            .map(|e| e.len())
            .or_else(|| {
                let digits = rest.strip_prefix("&#")?;
                let end = digits.find(';')?;
                (end > 0 && digits[..end].bytes().all(|b| b.is_ascii_digit())).then_some(end + 3)
            });
        if let Some(n) = entity_len {
            out.push(INERT);
            rest = &rest[n..];
        } else if c == '\\' && rest[1..].starts_with(|n: char| BACKSLASHED.contains(n)) {
            out.push(INERT);
            rest = &rest[2..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// The first construct in `markup` Jira would act on, if any.
fn live_syntax(markup: &str) -> Option<String> {
    let sk = skeleton(markup);
    let chars: Vec<char> = sk.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        if NEVER_RAW.contains(c) {
            return Some(format!("raw {c:?} at {i}"));
        }
        if c == '\\' {
            return Some(format!("backslash not starting an escape at {i}"));
        }
        if BACKSLASHED.contains(c) {
            return Some(format!("unescaped {c:?} at {i}"));
        }
        if c == ':' && next.is_some_and(|n| !n.is_whitespace()) {
            return Some(format!("':' followed by {next:?} at {i}"));
        }
        if c == '&' && next.is_some_and(|n| n == '#' || n.is_ascii_alphanumeric()) {
            return Some(format!("'&' that starts an entity at {i}"));
        }
    }
    for line in sk.split('\n') {
        let t = line.trim_start().to_ascii_lowercase();
        let b = t.as_bytes();
        let block = (b.len() >= 3 && b[0] == b'h' && (b'1'..=b'6').contains(&b[1]) && b[2] == b'.')
            || t.starts_with("bq.");
        if block {
            return Some(format!("block start in line {line:?}"));
        }
    }
    if sk.contains("://") {
        return Some("URL scheme".into());
    }
    None
}

/// What the reader sees: escapes and entities resolved.
fn displayed(markup: &str) -> String {
    let mut out = String::new();
    let mut rest = markup;
    while let Some(c) = rest.chars().next() {
        if c == '\\' {
            let n = rest[1..].chars().next().unwrap();
            out.push(n);
            rest = &rest[1 + n.len_utf8()..];
        } else if let Some(r) = rest.strip_prefix("&amp;") {
            out.push('&');
            rest = r;
        } else if let Some(r) = rest.strip_prefix("&lt;") {
            out.push('<');
            rest = r;
        } else if let Some(r) = rest.strip_prefix("&gt;") {
            out.push('>');
            rest = r;
        } else if let Some(r) = rest.strip_prefix("&#") {
            let end = r.find(';').unwrap();
            out.push(char::from_u32(r[..end].parse().unwrap()).unwrap());
            rest = &r[end + 1..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn untrusted() -> impl Strategy<Value = String> {
    let specials: Vec<char> = "{}[]|!<>\\-#*_+?^~%()@:;.&/hbqH1236 \n\r\t"
        .chars()
        .collect();
    let words = vec![
        "{noformat}",
        "{html}",
        "{code}",
        "{quote}",
        "[~admin]",
        "[^a.png]",
        "!x.png!",
        "h1. ",
        "bq. ",
        "----",
        "||",
        "https://evil.example/",
        "mailto:x@y.z",
        ":)",
        ":P",
        "(y)",
        "\\\\",
        "&amp;",
        "&#123;",
        "*bold*",
        "_em_",
        "{{mono}}",
        "SEC-1",
        "\u{2028}",
        "\u{2029}",
    ];
    prop::collection::vec(
        prop_oneof![
            3 => any::<char>().prop_map(String::from),
            4 => prop::sample::select(specials).prop_map(String::from),
            2 => prop::sample::select(words).prop_map(String::from),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

#[test]
fn the_model_sees_live_syntax() {
    for live in [
        "{noformat}",
        "[~a]",
        "*b*",
        "h1. x",
        " bq. y",
        "a:b",
        "http://x",
        "&#123",
        "\\\\",
        "x\\y",
        "!i!",
    ] {
        assert!(live_syntax(live).is_some(), "{live:?} judged inert");
    }
    assert_eq!(live_syntax("plain text: fine &amp; \\* &#123;"), None);
}

proptest! {
    #[test]
    fn escaped_text_renders_literally(s in untrusted()) {
        let markup = wiki::escape(&s);
        prop_assert_eq!(live_syntax(markup.as_str()), None, "{:?} -> {:?}", s, markup.as_str());
        prop_assert_eq!(displayed(markup.as_str()), normalize_newlines(&s).into_owned());
    }

    #[test]
    fn one_line_text_has_no_line_break(s in untrusted()) {
        let markup = wiki::escape_line(&s);
        prop_assert!(!markup.as_str().contains('\n'));
        prop_assert_eq!(live_syntax(markup.as_str()), None);
    }

    #[test]
    fn a_quote_cannot_be_closed_from_inside(s in untrusted()) {
        let mut w = WikiWriter::new();
        w.quote(&s);
        let doc = w.finish();
        let body = doc.strip_prefix("{quote}\n").and_then(|d| d.strip_suffix("\n{quote}")).unwrap();
        prop_assert_eq!(live_syntax(body), None);
        prop_assert_eq!(doc.matches('{').count(), 2);
    }

    #[test]
    fn effects_hold_only_escaped_text(s in untrusted()) {
        for (m, open, close) in [(wiki::strong(&s), "*", "*"), (wiki::em(&s), "_", "_"), (wiki::code(&s), "{{", "}}")] {
            if m.is_empty() {
                prop_assert!(s.trim().is_empty() || wiki::escape_line(s.trim()).as_str().trim().is_empty());
                continue;
            }
            let inner = m.as_str().strip_prefix(open).and_then(|x| x.strip_suffix(close)).unwrap();
            prop_assert_eq!(live_syntax(inner), None);
            prop_assert!(!inner.starts_with(char::is_whitespace) && !inner.ends_with(char::is_whitespace));
        }
        let href = Href::new("https://penaxtra.com/app/findings/fnd_1").unwrap();
        let l = wiki::link(&s, &href);
        let body = l.as_str().strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap();
        match body.rsplit_once('|') {
            Some((label, url)) => {
                prop_assert_eq!(live_syntax(label), None);
                prop_assert_eq!(url, href.as_str());
            }
            None => prop_assert_eq!(body, href.as_str()),
        }
    }
}
