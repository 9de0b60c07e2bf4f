//! A corpus of injection strings (wiki markup, ADF/JSON, HTML, bidi and
//! zero-width tricks, `{noformat}`/`{html}` breakouts, mentions, links,
//! images) in every untrusted place of a finding renders literally in both
//! flavors. The checkers here are written from Jira's rendering rules, not
//! from the library's escaping.

use jira_model::Flavor;
use jira_model::text::{neutralize_invisible, normalize_newlines};
use penaxtra_mapping::{Finding, FindingId, FindingState, IssueTemplate, Severity};
use std::path::PathBuf;

fn corpus() -> Vec<String> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/injection_corpus.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Bidi controls, zero-width and other invisible characters, control
/// characters but line breaks and tabs, and Unicode tag characters.
fn hidden(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{E0000}'..='\u{E007F}')
        || (c.is_control() && c != '\n' && c != '\t')
}

/// Characters that start or end wiki syntax somewhere (effects, lists,
/// tables, links, images, macros, emoticons, escapes, HTML).
const WIKI_SPECIAL: &str = "*_?-+^~#(){}[]|!\\<>";

/// `s` with each backslash escape and each character entity replaced by a
/// private-use character, which no wiki rule acts on.
fn inert_skeleton(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let rest = &s[i..];
        if c == '\\' && rest[1..].starts_with(|n: char| n.is_ascii_punctuation()) {
            it.next();
            out.push('\u{E000}');
        } else if c == '&'
            && let Some(end) = rest.find(';')
            && end > 1
            && end < 12
            && (rest[1..end].chars().all(|c| c.is_ascii_alphabetic())
                || (rest[1..].starts_with('#')
                    && end > 2
                    && rest[2..end].chars().all(|c| c.is_ascii_digit())))
        {
            for _ in 0..end {
                it.next();
            }
            out.push('\u{E000}');
        } else {
            out.push(c);
        }
    }
    out
}

/// The first thing in wiki text `s` Jira's renderer would act on.
fn wiki_live(s: &str) -> Option<String> {
    let sk = inert_skeleton(s);
    let chars: Vec<char> = sk.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        if WIKI_SPECIAL.contains(c) {
            return Some(format!("raw {c:?} at {i} in {sk:?}"));
        }
        if c == ':' && next.is_some_and(|n| !n.is_whitespace()) {
            return Some(format!("':' before {next:?} (scheme, emoticon) in {sk:?}"));
        }
        if c == '&' && next.is_some_and(|n| n == '#' || n.is_ascii_alphanumeric()) {
            return Some(format!("'&' starting an entity in {sk:?}"));
        }
        if hidden(c) {
            return Some(format!("hidden U+{:04X} in {sk:?}", u32::from(c)));
        }
    }
    for line in sk.lines() {
        let t = line.trim_start().to_ascii_lowercase();
        let b = t.as_bytes();
        if (b.len() >= 3 && b[0] == b'h' && (b'1'..=b'6').contains(&b[1]) && b[2] == b'.')
            || t.starts_with("bq.")
        {
            return Some(format!("block keyword at the start of {line:?}"));
        }
    }
    None
}

/// What a reader sees of escaped wiki text.
fn wiki_displayed(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '\\' && rest[1..].starts_with(|n: char| n.is_ascii_punctuation()) {
            out.push(rest[1..].chars().next().unwrap());
            rest = &rest[2..];
            continue;
        }
        if c == '&'
            && let Some(end) = rest.find(';')
        {
            let entity = &rest[1..end];
            let decoded = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                e => e
                    .strip_prefix('#')
                    .and_then(|n| n.parse::<u32>().ok())
                    .and_then(char::from_u32),
            };
            if let Some(d) = decoded {
                out.push(d);
                rest = &rest[end + 1..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The body of the description's `{quote}` block.
fn wiki_quote(w: &str) -> Option<&str> {
    let start = w.find("{quote}\n")? + "{quote}\n".len();
    let len = w[start..].find("\n{quote}")?;
    Some(&w[start..start + len])
}

/// The value after `label` on its line.
fn wiki_field<'a>(w: &'a str, label: &str) -> Option<&'a str> {
    w.lines().find_map(|l| l.strip_prefix(label))
}

/// Node and mark types of an ADF document, and its link targets.
fn adf_walk(v: &serde_json::Value, nodes: &mut Vec<String>, marks: &mut Vec<(String, String)>) {
    if let Some(t) = v["type"].as_str() {
        nodes.push(t.to_string());
    }
    for m in v["marks"].as_array().into_iter().flatten() {
        let href = m["attrs"]["href"].as_str().unwrap_or_default().to_string();
        marks.push((m["type"].as_str().unwrap_or_default().to_string(), href));
    }
    for c in v["content"].as_array().into_iter().flatten() {
        adf_walk(c, nodes, marks);
    }
}

/// The text of an ADF block: line breaks as `\n`, the paragraphs of a
/// quote separated by a blank line.
fn adf_text(v: &serde_json::Value) -> String {
    match v["type"].as_str() {
        Some("text") => v["text"].as_str().unwrap_or_default().to_string(),
        Some("hardBreak") => "\n".into(),
        _ => {
            let parts: Vec<String> = v["content"]
                .as_array()
                .into_iter()
                .flatten()
                .map(adf_text)
                .collect();
            if v["type"] == "blockquote" {
                parts.join("\n\n")
            } else {
                parts.concat()
            }
        }
    }
}

/// The finding with `s` in every untrusted place that accepts it.
fn poisoned(n: usize, s: &str) -> Finding {
    let one_line: String = s.chars().filter(|c| !c.is_control()).collect();
    let mut f = Finding::new(
        FindingId::new(format!("fnd_inj_{n:03}")).unwrap(),
        format!("Injected {s}"),
        Severity::Critical,
        FindingState::Open,
    )
    .unwrap()
    .with_excerpt(s);
    if !one_line.trim().is_empty() {
        f = f
            .with_frameworks([one_line.clone()])
            .with_probe(one_line.chars().take(200).collect::<String>());
    }
    f
}

#[test]
fn every_injection_string_renders_literally_in_both_flavors() {
    let template = IssueTemplate::default();
    let corpus = corpus();
    assert!(corpus.len() >= 30);
    for (n, s) in corpus.iter().enumerate() {
        let f = poisoned(n, s);
        let expected =
            normalize_newlines(&neutralize_invisible(&template.redactor().redact(s))).into_owned();
        let link = format!("https://penaxtra.com/app/findings/{}", f.id);

        // Data Center: wiki markup.
        let dc = template.render(&f, Flavor::DataCenter).unwrap();
        let json = serde_json::to_value(&dc).unwrap();
        let w = json["fields"]["description"].as_str().unwrap();
        assert_eq!(w.matches("{quote}").count(), 2, "{s:?}: {w}");
        let quote = wiki_quote(w).unwrap();
        assert_eq!(wiki_live(quote), None, "{s:?}: excerpt is live: {w}");
        assert_eq!(wiki_displayed(quote), expected, "{s:?}");
        if let Some(frameworks) = wiki_field(w, "*Frameworks:* ") {
            assert_eq!(wiki_live(frameworks), None, "{s:?}: frameworks live: {w}");
        }
        if let Some(probe) = wiki_field(w, "*Probe:* {{").and_then(|p| p.strip_suffix("}}")) {
            assert_eq!(wiki_live(probe), None, "{s:?}: probe live: {w}");
        }
        // The only link is the template's, on the last line.
        let skeleton = inert_skeleton(w);
        assert_eq!(skeleton.matches('[').count(), 1, "{s:?}: {w}");
        assert!(w.ends_with(&format!("[Open in Penaxtra|{link}]")), "{w}");
        assert!(!w.chars().any(hidden), "{s:?}: hidden character in {w:?}");

        // Cloud: ADF.
        let cloud = template.render(&f, Flavor::Cloud).unwrap();
        let json = serde_json::to_value(&cloud).unwrap();
        let doc = &json["fields"]["description"];
        let (mut nodes, mut marks) = (Vec::new(), Vec::new());
        adf_walk(doc, &mut nodes, &mut marks);
        for t in &nodes {
            assert!(
                ["doc", "paragraph", "text", "hardBreak", "blockquote"].contains(&t.as_str()),
                "{s:?}: node {t} in {doc}"
            );
        }
        for (m, href) in &marks {
            assert!(
                ["strong", "em", "code", "link"].contains(&m.as_str()),
                "{s:?}: mark {m}"
            );
            if m == "link" {
                assert_eq!(href, &link, "{s:?}");
            }
        }
        let quote = doc["content"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"] == "blockquote")
            .unwrap();
        assert_eq!(adf_text(quote), expected, "{s:?}");
        let all_text = adf_text(doc);
        assert!(
            !all_text.chars().any(hidden),
            "{s:?}: hidden character in {all_text:?}"
        );

        // Both: a one-line summary and labels without tricks.
        for request in [&dc, &cloud] {
            let summary = &request.fields.summary;
            assert!(summary.starts_with("[Penaxtra] Injected"), "{summary:?}");
            assert!(
                !summary.contains('\n') && !summary.chars().any(hidden),
                "{summary:?}"
            );
            for label in &request.fields.labels {
                assert!(
                    !label.is_empty() && !label.chars().any(|c| c.is_whitespace() || hidden(c)),
                    "{s:?}: label {label:?}"
                );
            }
        }
    }
}

#[test]
fn the_checkers_see_live_markup() {
    for live in [
        "{noformat}",
        "[~admin]",
        "*b*",
        "x\nh1. y",
        "https://x",
        ":)",
        "&#123",
        "a\\",
        "!i.png!",
        "<b>",
        "zero\u{200B}width",
        "\u{202E}",
    ] {
        assert!(wiki_live(live).is_some(), "{live:?} judged inert");
    }
    assert_eq!(wiki_live("plain: text &amp; \\* &#123; \\[\\~x\\]"), None);
    assert_eq!(wiki_displayed("\\*a\\* &#123;&amp;&lt;"), "*a* {&<");
    assert!(hidden('\u{E0041}') && hidden('\u{7}') && !hidden('\n'));
}
