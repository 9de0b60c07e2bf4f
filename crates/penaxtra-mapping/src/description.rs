//! The description of a finding's issue in both of Jira's rich-text
//! formats, fitted into Jira's limit by shortening only the excerpt.

use crate::Severity;
use crate::redact::marker_len;
use jira_model::limits::{TEXT_MAX, longest_prefix_that_fits, truncate_utf16, utf16_len};
use jira_model::text::normalize_newlines;
use jira_model::wiki::{self, Markup, WikiWriter};
use jira_model::{Description, Flavor, Href, adf};

/// What the description says besides the excerpt. Every text here is
/// already neutralised (no invisible characters) and bounded in length.
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    pub severity: Severity,
    pub probe: String,
    pub scan: String,
    pub frameworks: String,
    pub finding_id: String,
    /// The full title, when the summary had to shorten it.
    pub title: Option<String>,
    pub link: Option<(String, Href)>,
}

const EXCERPT_LABEL: &str = "Redacted excerpt:";
const NO_EXCERPT: &str = "No excerpt.";

fn shortened_note(shown: usize) -> String {
    format!("Excerpt shortened to fit Jira's size limit: the first {shown} characters are shown.")
}

/// The description of `facts` and `excerpt` in the format of `flavor`,
/// within [`TEXT_MAX`] UTF-16 units (for ADF, its JSON). The excerpt is
/// shortened, on a character boundary and never inside a marker such as
/// `[REDACTED:email]`, when the whole does not fit; a note then says so.
/// `None` when not even an empty excerpt fits.
pub(crate) fn render(facts: &Facts, excerpt: &str, flavor: Flavor) -> Option<Description> {
    let full = normalize_newlines(excerpt);
    let note = |p: &str| (p.len() < full.len()).then(|| shortened_note(p.chars().count()));
    let build = |p: &str| match flavor {
        Flavor::Cloud => Description::Adf(adf_document(facts, &full, p, note(p).as_deref())),
        Flavor::DataCenter => Description::Wiki(wiki_text(facts, &full, p, note(p).as_deref())),
    };
    let within = |d: &Description| size(d).is_some_and(|n| n <= TEXT_MAX);
    // The usual case: the whole excerpt fits, built and measured once.
    let whole = build(&full);
    if within(&whole) {
        return Some(whole);
    }
    let fits = |p: &str| within(&build(p));
    // No more than TEXT_MAX characters of excerpt can ever fit.
    let capped = truncate_utf16(&full, TEXT_MAX);
    let prefix = longest_prefix_that_fits(capped, fits);
    let cut = outside_markers(&full, prefix.len());
    let description = build(&full[..cut]);
    within(&description).then_some(description)
}

/// The size Jira counts: the text of wiki markup, the JSON of ADF (counted
/// as it is written, not kept).
fn size(d: &Description) -> Option<usize> {
    match d {
        Description::Wiki(s) => Some(utf16_len(s)),
        Description::Adf(doc) => {
            let mut count = Utf16Count(0);
            serde_json::to_writer(&mut count, doc).ok()?;
            Some(count.0)
        }
    }
}

/// Counts the UTF-16 units of the UTF-8 written to it: one per character
/// (every byte but continuation bytes), two for those beyond the BMP (their
/// four-byte lead counts once more). Writers write whole characters only
/// when taken together, which is all a sum needs.
struct Utf16Count(usize);

impl std::io::Write for Utf16Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf
            .iter()
            .map(|&b| match b {
                0x80..=0xBF => 0,
                0xF0..=0xFF => 2,
                _ => 1,
            })
            .sum::<usize>();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `cut`, moved back to the start of a marker (`[REDACTED:x]`, `[U+200B]`)
/// it would split.
fn outside_markers(text: &str, cut: usize) -> usize {
    if cut >= text.len() {
        return cut;
    }
    let Some(open) = text[..cut].rfind('[') else {
        return cut;
    };
    let rest = &text[open..];
    let len = marker_len(rest).or_else(|| {
        let hex = rest.strip_prefix("[U+")?;
        let n = hex.bytes().take_while(u8::is_ascii_hexdigit).count();
        ((4..=6).contains(&n) && hex.as_bytes().get(n) == Some(&b']')).then_some(3 + n + 1)
    });
    match len {
        Some(len) if open + len > cut => open,
        _ => cut,
    }
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

fn adf_document(facts: &Facts, full: &str, excerpt: &str, note: Option<&str>) -> adf::Document {
    let mut lines: Vec<Vec<adf::Inline>> = Vec::new();
    // A line is a bold label, a space and the value; a plain value shares
    // one text node with the space.
    let field = |label: &str, value: Vec<adf::Inline>| {
        let mut line = adf::strong(label);
        match value.first() {
            Some(adf::Inline::Text { marks, .. }) if marks.is_empty() => {}
            _ => line.extend(adf::text(" ")),
        }
        line.extend(value);
        line
    };
    let plain = |s: &str| adf::text(&format!(" {}", one_line(s)));
    let id_or_unknown = |s: &str| {
        if s.is_empty() {
            plain("unknown")
        } else {
            adf::code(s)
        }
    };
    if let Some(title) = &facts.title {
        lines.push(field("Title:", plain(title)));
    }
    lines.push(field("Severity:", plain(facts.severity.as_str())));
    lines.push(field("Probe:", id_or_unknown(&facts.probe)));
    lines.push(field("Scan:", id_or_unknown(&facts.scan)));
    let frameworks = if facts.frameworks.is_empty() {
        "none"
    } else {
        &facts.frameworks
    };
    lines.push(field("Frameworks:", plain(frameworks)));
    lines.push(field("Finding:", adf::code(&facts.finding_id)));
    let mut first = Vec::new();
    for (i, line) in lines.into_iter().enumerate() {
        if i > 0 {
            first.push(adf::hard_break());
        }
        first.extend(line);
    }
    let mut blocks = vec![
        adf::paragraph(first),
        adf::paragraph(adf::strong(EXCERPT_LABEL)),
    ];
    if full.is_empty() {
        blocks.push(adf::paragraph(adf::em(NO_EXCERPT)));
    } else {
        blocks.push(adf::quote(excerpt));
    }
    if let Some(note) = note {
        blocks.push(adf::paragraph(adf::em(note)));
    }
    if let Some((text, href)) = &facts.link {
        blocks.push(adf::paragraph(adf::link(text, href)));
    }
    adf::doc(blocks)
}

fn wiki_text(facts: &Facts, full: &str, excerpt: &str, note: Option<&str>) -> String {
    let field =
        |label: &str, value: Markup| Markup::concat([wiki::strong(label), wiki::text(" "), value]);
    let id_or_unknown = |s: &str| {
        if s.is_empty() {
            wiki::text("unknown")
        } else {
            wiki::code(s)
        }
    };
    let mut lines = Vec::new();
    if let Some(title) = &facts.title {
        lines.push(field("Title:", wiki::escape_line(title)));
    }
    lines.push(field("Severity:", wiki::text(facts.severity.as_str())));
    lines.push(field("Probe:", id_or_unknown(&facts.probe)));
    lines.push(field("Scan:", id_or_unknown(&facts.scan)));
    let frameworks = if facts.frameworks.is_empty() {
        "none"
    } else {
        &facts.frameworks
    };
    lines.push(field("Frameworks:", wiki::escape_line(frameworks)));
    lines.push(field("Finding:", wiki::code(&facts.finding_id)));
    let mut w = WikiWriter::new();
    w.lines(lines);
    w.paragraph(wiki::strong(EXCERPT_LABEL));
    if full.is_empty() {
        w.paragraph(wiki::em(NO_EXCERPT));
    } else {
        w.quote(excerpt);
    }
    if let Some(note) = note {
        w.paragraph(wiki::em(note));
    }
    if let Some((text, href)) = &facts.link {
        w.paragraph(wiki::link(text, href));
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adf_size_is_counted_as_written() {
        let doc = adf_document(
            &facts(),
            "x",
            "héllo 😀 \u{202E} \"quoted\" \n second line € \u{1F600}",
            Some("note"),
        );
        let json = serde_json::to_string(&doc).unwrap();
        assert_eq!(size(&Description::Adf(doc)), Some(utf16_len(&json)));
    }

    fn facts() -> Facts {
        Facts {
            severity: Severity::High,
            probe: "rag_indirect_v2".into(),
            scan: String::new(),
            frameworks: "OWASP_LLM01, EU_AI_ACT_Art15".into(),
            finding_id: "fnd_1".into(),
            title: None,
            link: Some((
                "Open in Penaxtra".into(),
                Href::new("https://penaxtra.com/app/findings/fnd_1").unwrap(),
            )),
        }
    }

    #[test]
    fn wiki_layout() {
        let Some(Description::Wiki(w)) =
            render(&facts(), "line *one*\nline two", Flavor::DataCenter)
        else {
            panic!("no wiki")
        };
        assert_eq!(
            w,
            "*Severity:* high\n*Probe:* {{rag\\_indirect\\_v2}}\n*Scan:* unknown\n\
             *Frameworks:* OWASP\\_LLM01, EU\\_AI\\_ACT\\_Art15\n*Finding:* {{fnd\\_1}}\n\n\
             *Redacted excerpt:*\n\n{quote}\nline \\*one\\*\nline two\n{quote}\n\n\
             [Open in Penaxtra|https://penaxtra.com/app/findings/fnd_1]"
        );
    }

    #[test]
    fn adf_layout() {
        let Some(Description::Adf(doc)) = render(&facts(), "", Flavor::Cloud) else {
            panic!("no adf")
        };
        doc.validate().unwrap();
        assert_eq!(
            doc.plain_text(),
            "Severity: high\nProbe: rag_indirect_v2\nScan: unknown\nFrameworks: OWASP_LLM01, EU_AI_ACT_Art15\n\
             Finding: fnd_1\n\nRedacted excerpt:\n\nNo excerpt.\n\nOpen in Penaxtra"
        );
    }

    #[test]
    fn long_excerpts_are_shortened_and_the_link_stays() {
        let excerpt = "{x}\n".repeat(20_000); // 80,000 characters, each brace 6 in wiki
        for flavor in [Flavor::Cloud, Flavor::DataCenter] {
            let d = render(&facts(), &excerpt, flavor).unwrap();
            let (n, text) = match &d {
                Description::Wiki(s) => (utf16_len(s), s.clone()),
                Description::Adf(doc) => (
                    utf16_len(&serde_json::to_string(doc).unwrap()),
                    doc.plain_text(),
                ),
            };
            assert!(n <= TEXT_MAX, "{flavor}: {n}");
            assert!(n > TEXT_MAX - 200, "{flavor}: wasted room, {n}");
            assert!(
                text.contains("Excerpt shortened to fit Jira's size limit: the first"),
                "{flavor}"
            );
            assert!(text.contains(" characters are shown."), "{flavor}");
            assert!(
                text.trim_end().ends_with("]") || text.ends_with("Open in Penaxtra"),
                "{flavor}"
            );
        }
    }

    #[test]
    fn cuts_never_split_a_marker() {
        let t = "ab[REDACTED:email]cd[U+200B]e";
        assert_eq!(outside_markers(t, 5), 2);
        assert_eq!(outside_markers(t, 18), 18);
        assert_eq!(outside_markers(t, 22), 20);
        assert_eq!(outside_markers(t, 1), 1);
        assert_eq!(outside_markers("a[b", 2), 2);
    }
}
