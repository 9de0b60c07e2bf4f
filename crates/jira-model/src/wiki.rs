//! A writer of Jira wiki markup (REST v2 descriptions and comments, Jira
//! Data Center) whose escaping makes any untrusted text render literally.
//!
//! # How Jira renders wiki markup, and how the escaping answers it
//!
//! Jira's renderer runs, in order: macros (`{name}` … `{name}`, found
//! before anything else, so `{noformat}` or `{html}` in a value could close
//! or open a block), block rules on each line (`h1.`–`h6.` headings,
//! `bq.` quotes, `*`/`#`/`-` lists, `||`/`|` tables, `----` rules), links
//! (`[...]`, `[~user]` mentions, `[^attachment]`), bare URLs (`http://`,
//! `mailto:`, ...), backslash escapes, HTML escaping that keeps existing
//! entities, dashes, emoticons (`:)`, `:P`, `(y)`...), images (`!x.png!`)
//! and the text effects (`*strong*`, `_em_`, `??cite??`, `-del-`, `+ins+`,
//! `^sup^`, `~sub~`, `{{mono}}`), and `\\` forces a line break.
//!
//! [`escape`] therefore writes:
//! - `\ { } [ ] | ! < >` as numeric or named entities (`&#92;`,
//!   `&#123;`...), so no macro, link, table cell, image or forced line break
//!   can start, whatever order the renderer runs in;
//! - `- # * _ + ? ^ ~ % ( ) @` with a backslash (`\*`), Jira's documented
//!   escape for them: no list, text effect, emoticon, dash or issue-key
//!   link (`SEC-1`) comes out;
//! - `:` followed by anything but whitespace as `&#58;`, so no URL scheme
//!   (`https://`, `mailto:`) is auto-linked and no `:P`/`:D` emoticon appears;
//! - `.` right after `h1`–`h6` or `bq` at the start of a line as `&#46;`, so
//!   no heading or quote starts;
//! - `&` as `&amp;` when it could start an entity.
//!
//! Each escaped value is safe on its own and next to markup of this module.
//! Do not split one untrusted value across several calls. Control, bidi and
//! zero-width characters pass through unchanged: neutralise them first with
//! [`crate::text::neutralize_invisible`].
//!
//! ```
//! use jira_model::{wiki, Href};
//!
//! let mut w = wiki::WikiWriter::new();
//! w.lines([
//!     wiki::Markup::concat([wiki::strong("Severity:"), wiki::text(" high")]),
//!     wiki::Markup::concat([wiki::strong("Probe:"), wiki::text(" "), wiki::code("rag_v2")]),
//! ]);
//! w.quote("{noformat} [~admin] h1. *boom*");
//! w.paragraph(wiki::link("Open in Penaxtra", &Href::new("https://penaxtra.com/f/1").unwrap()));
//! assert_eq!(
//!     w.finish(),
//!     "*Severity:* high\n*Probe:* {{rag\\_v2}}\n\n\
//!      {quote}\n&#123;noformat&#125; &#91;\\~admin&#93; h1. \\*boom\\*\n{quote}\n\n\
//!      [Open in Penaxtra|https://penaxtra.com/f/1]"
//! );
//! ```

use crate::Href;
use crate::adf::HeadingLevel;
use crate::text::normalize_newlines;
use std::fmt;

/// A piece of wiki markup that renders as this module intends: escaped
/// text, or formatting of escaped text. Only this module makes one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Markup(String);

impl Markup {
    /// The markup.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The markup as a `String`.
    pub fn into_string(self) -> String {
        self.0
    }
    /// Whether there is no markup.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// These pieces one after the other.
    pub fn concat(parts: impl IntoIterator<Item = Markup>) -> Markup {
        Markup(parts.into_iter().map(|m| m.0).collect())
    }
    /// The markup on one line: each line break becomes a space.
    fn one_line(self) -> Markup {
        if self.0.contains('\n') {
            Markup(self.0.replace('\n', " "))
        } else {
            self
        }
    }
}

impl fmt::Display for Markup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The characters Jira's backslash escape applies to.
#[cfg(test)]
const BACKSLASHED: &[char] = &['-', '#', '*', '_', '+', '?', '^', '~', '%', '(', ')', '@'];

/// Whether the two characters `pair` are `h1`–`h6` or `bq` (any case): a
/// `.` after them at the start of a line would start a block.
fn is_block_keyword(pair: &str) -> bool {
    match pair.as_bytes() {
        [h, d] if h.eq_ignore_ascii_case(&b'h') && (b'1'..=b'6').contains(d) => true,
        [b, q] => b.eq_ignore_ascii_case(&b'b') && q.eq_ignore_ascii_case(&b'q'),
        _ => false,
    }
}

/// Escapes untrusted text so it renders literally, line breaks kept (see
/// the module documentation for the rules).
///
/// ```
/// use jira_model::wiki::escape;
/// assert_eq!(escape("see https://x.io :)").as_str(), "see https&#58;//x.io &#58;\\)");
/// ```
pub fn escape(s: &str) -> Markup {
    let s = normalize_newlines(s);
    let s = s.as_ref();
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    // Where the first character of the line that is not whitespace is.
    let mut first_visible: Option<usize> = None;
    // Text from `copied` to `i` goes out as it is, in one copy: every
    // character that needs escaping is ASCII, so the scan is by byte and
    // only other characters are decoded (to tell whitespace).
    let mut copied = 0;
    let mut i = 0;
    let next = |at: usize| s.get(at..).and_then(|rest| rest.chars().next());
    while i < bytes.len() {
        // Past the line's first visible character, bytes that need no
        // escaping (most of them) are skipped without a look at each rule.
        if first_visible.is_some() {
            while i < bytes.len() && !ATTENTION[usize::from(bytes[i])] {
                i += 1;
            }
            if i == bytes.len() {
                break;
            }
        }
        let b = bytes[i];
        if !b.is_ascii() {
            let Some(c) = next(i) else { break };
            if first_visible.is_none() && !c.is_whitespace() {
                first_visible = Some(i);
            }
            i += c.len_utf8();
            continue;
        }
        let c = char::from(b);
        if first_visible.is_none() && !c.is_whitespace() {
            first_visible = Some(i);
        }
        let entity = match c {
            '\n' => {
                first_visible = None;
                None
            }
            '\\' => Some("&#92;"),
            '{' => Some("&#123;"),
            '}' => Some("&#125;"),
            '[' => Some("&#91;"),
            ']' => Some("&#93;"),
            '|' => Some("&#124;"),
            '!' => Some("&#33;"),
            '<' => Some("&lt;"),
            '>' => Some("&gt;"),
            '&' if next(i + 1).is_some_and(|n| n == '#' || n.is_ascii_alphanumeric()) => {
                Some("&amp;")
            }
            ':' if next(i + 1).is_some_and(|n| !n.is_whitespace()) => Some("&#58;"),
            '.' if first_visible.is_some_and(|f| f + 2 == i && is_block_keyword(&s[f..i])) => {
                Some("&#46;")
            }
            c if is_backslashed(c) => {
                // The character itself goes out with the next run.
                out.push_str(&s[copied..i]);
                out.push('\\');
                copied = i;
                None
            }
            _ => None,
        };
        if let Some(entity) = entity {
            out.push_str(&s[copied..i]);
            out.push_str(entity);
            copied = i + 1;
        }
        i += 1;
    }
    out.push_str(&s[copied..]);
    Markup(out)
}

/// The pieces one after the other, in one allocation (`format!` goes
/// through the formatting machinery; these are hot).
fn join<const N: usize>(parts: [&str; N]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.push_str(p);
    }
    out
}

/// The bytes [`escape`] must look at once the line's first visible
/// character is known: line breaks and every ASCII character it escapes.
const ATTENTION: [bool; 256] = {
    let mut t = [false; 256];
    let special = b"\n\\{}[]|!<>&:.-#*_+?^~%()@";
    let mut i = 0;
    while i < special.len() {
        t[special[i] as usize] = true;
        i += 1;
    }
    t
};

/// Whether `c` is one of the characters Jira's backslash escape applies to.
fn is_backslashed(c: char) -> bool {
    matches!(
        c,
        '-' | '#' | '*' | '_' | '+' | '?' | '^' | '~' | '%' | '(' | ')' | '@'
    )
}

/// Escapes untrusted text for a one-line place (a list item, a heading, a
/// text effect): line breaks become spaces.
pub fn escape_line(s: &str) -> Markup {
    escape(s).one_line()
}

/// Plain text: [`escape`].
pub fn text(s: &str) -> Markup {
    escape(s)
}

/// Wraps the one-line escaped, trimmed text in `open`/`close`; nothing when
/// no text is left (an empty effect would print its delimiters).
fn effect(s: &str, open: &str, close: &str) -> Markup {
    let inner = escape_line(s.trim());
    let inner = inner.as_str().trim();
    if inner.is_empty() {
        return Markup::default();
    }
    Markup(join([open, inner, close]))
}

/// Bold text: `*text*`. Put it after whitespace, punctuation or a line
/// start (Jira ignores `*` right after a letter).
pub fn strong(s: &str) -> Markup {
    effect(s, "*", "*")
}

/// Italic text: `_text_` (same placement rule as [`strong`]).
pub fn em(s: &str) -> Markup {
    effect(s, "_", "_")
}

/// Monospaced text: `{{text}}`.
pub fn code(s: &str) -> Markup {
    effect(s, "{{", "}}")
}

/// A link: `[text|url]`, or `[url]` when `text` is empty. Keep `text`
/// plain: Jira renders a link's text with fewer rules than the body.
pub fn link(s: &str, href: &Href) -> Markup {
    let label = escape_line(s.trim());
    if label.is_empty() {
        Markup(format!("[{href}]"))
    } else {
        Markup(format!("[{label}|{href}]"))
    }
}

/// Builds a wiki-markup document block by block; blocks are separated by
/// a blank line.
#[derive(Debug, Clone, Default)]
pub struct WikiWriter {
    blocks: Vec<String>,
}

impl WikiWriter {
    /// An empty document.
    pub fn new() -> Self {
        Self::default()
    }

    /// A heading (`h2. ...`) on one line.
    pub fn heading(&mut self, level: HeadingLevel, content: Markup) -> &mut Self {
        self.blocks
            .push(format!("h{}. {}", level.get(), content.one_line()));
        self
    }

    /// A paragraph.
    pub fn paragraph(&mut self, content: Markup) -> &mut Self {
        if !content.is_empty() {
            self.blocks.push(content.0);
        }
        self
    }

    /// A paragraph of lines, each ended by a line break.
    pub fn lines(&mut self, lines: impl IntoIterator<Item = Markup>) -> &mut Self {
        let lines: Vec<String> = lines.into_iter().map(|m| m.0).collect();
        if !lines.is_empty() {
            self.blocks.push(lines.join("\n"));
        }
        self
    }

    /// Untrusted text as a literal quoted block: `{quote}` … `{quote}` around
    /// the [`escape`]d text, line breaks kept. The text cannot close the
    /// block: its braces are entities.
    pub fn quote(&mut self, s: &str) -> &mut Self {
        let body = escape(s);
        self.blocks
            .push(join(["{quote}\n", body.as_str(), "\n{quote}"]));
        self
    }

    /// A bullet list, one item a line (`* item`).
    pub fn bullet_list(&mut self, items: impl IntoIterator<Item = Markup>) -> &mut Self {
        let items: Vec<String> = items
            .into_iter()
            .map(|m| format!("* {}", m.one_line()))
            .collect();
        if !items.is_empty() {
            self.blocks.push(items.join("\n"));
        }
        self
    }

    /// A horizontal rule.
    pub fn rule(&mut self) -> &mut Self {
        self.blocks.push("----".to_string());
        self
    }

    /// The markup so far (what [`WikiWriter::finish`] would return).
    pub fn as_string(&self) -> String {
        self.blocks.join("\n\n")
    }

    /// The document.
    pub fn finish(self) -> String {
        self.as_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The escaping rules one character at a time, as first written: the
    /// byte-scanning [`escape`] must give the same.
    fn escape_reference(s: &str) -> Markup {
        let s = normalize_newlines(s);
        let mut out = String::with_capacity(s.len() + s.len() / 4);
        // Where the first character of the line that is not whitespace is.
        let mut first_visible: Option<usize> = None;
        let mut chars = s.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let next = chars.peek().map(|&(_, n)| n);
            if first_visible.is_none() && !c.is_whitespace() {
                first_visible = Some(i);
            }
            match c {
                '\n' => {
                    out.push('\n');
                    first_visible = None;
                }
                '\\' => out.push_str("&#92;"),
                '{' => out.push_str("&#123;"),
                '}' => out.push_str("&#125;"),
                '[' => out.push_str("&#91;"),
                ']' => out.push_str("&#93;"),
                '|' => out.push_str("&#124;"),
                '!' => out.push_str("&#33;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '&' if next.is_some_and(|n| n == '#' || n.is_ascii_alphanumeric()) => {
                    out.push_str("&amp;");
                }
                ':' if next.is_some_and(|n| !n.is_whitespace()) => out.push_str("&#58;"),
                '.' if first_visible.is_some_and(|f| f + 2 == i && is_block_keyword(&s[f..i])) => {
                    out.push_str("&#46;");
                }
                c if BACKSLASHED.contains(&c) => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
        }
        Markup(out)
    }

    #[test]
    fn backslashed_list_and_match_agree() {
        for b in 0_u8..0x80 {
            let c = char::from(b);
            assert_eq!(is_backslashed(c), BACKSLASHED.contains(&c), "{c:?}");
            // Every character escape() changes is one it looks at (line
            // breaks other than `\n` are rewritten before it looks).
            let plain = format!("x{c}y");
            if escape(&plain).as_str() != normalize_newlines(&plain) {
                assert!(ATTENTION[usize::from(b)], "{c:?}");
            }
        }
    }

    #[test]
    fn escape_matches_the_reference() {
        let cases = [
            "",
            "plain text",
            "h1. title\n  bq. quote\nH6.x\n\u{A0}h2. nbsp-led\n\u{3000}bq.wide",
            "é. h1. \u{2003}h3. x",
            "a & b &#1; &x &\u{e9} & ",
            "a: b :c :\u{A0}x :\u{e9} end:",
            "{code}[x|y]!img! <b> \\ \\\\",
            "-#*_+?^~%()@ mixed ünïcödé 😀 -😀- (😀)",
            "line\r\nbreaks\u{2028}and\u{85}more\u{2029}x",
            "trailing &",
            "trailing :",
            "h1.",
            "\t\th1. tabbed",
        ];
        for case in cases {
            assert_eq!(escape(case), escape_reference(case), "{case:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn escape_matches_the_reference_on_any_text(s in "(?s)[ -~\\n\\t\u{A0}\u{85}\u{2003}\u{2028}é😀]{0,64}") {
            proptest::prop_assert_eq!(escape(&s), escape_reference(&s));
        }
    }

    #[test]
    fn macros_cannot_open_or_close() {
        for evil in [
            "{noformat}",
            "{html}<script>",
            "{code}",
            "{quote}",
            "{panel:title=x}",
        ] {
            let out = escape(evil);
            assert!(!out.as_str().contains(['{', '}', '<', '>']), "{out}");
        }
        let mut w = WikiWriter::new();
        w.quote("end\n{quote}\nh1. escaped");
        let doc = w.finish();
        assert_eq!(doc.matches("{quote}").count(), 2, "{doc}");
        assert!(doc.contains("h1&#46; escaped"));
    }

    #[test]
    fn links_images_mentions_urls() {
        assert_eq!(escape("[~admin]").as_str(), "&#91;\\~admin&#93;");
        assert_eq!(
            escape("[x|javascript:alert(1)]").as_str(),
            "&#91;x&#124;javascript&#58;alert\\(1\\)&#93;"
        );
        assert_eq!(
            escape("!http://e.vil/p.png!").as_str(),
            "&#33;http&#58;//e.vil/p.png&#33;"
        );
        assert_eq!(escape("mailto:a@b.c").as_str(), "mailto&#58;a\\@b.c");
        assert_eq!(escape("Note: fine").as_str(), "Note: fine");
    }

    #[test]
    fn block_starts() {
        assert_eq!(
            escape("h3. x\n  BQ. y\nh7. z\nsh1. w").as_str(),
            "h3&#46; x\n  BQ&#46; y\nh7. z\nsh1. w"
        );
        assert_eq!(
            escape("* a\n# b\n- c\n----\n|| t ||").as_str(),
            "\\* a\n\\# b\n\\- c\n\\-\\-\\-\\-\n&#124;&#124; t &#124;&#124;"
        );
    }

    #[test]
    fn effects_emoticons_and_breaks() {
        assert_eq!(
            escape("*b* _i_ ??c?? +u+ ^s^ ~t~ {{m}}").as_str(),
            "\\*b\\* \\_i\\_ \\?\\?c\\?\\? \\+u\\+ \\^s\\^ \\~t\\~ &#123;&#123;m&#125;&#125;"
        );
        assert_eq!(
            escape(":) :P ;) (y) (/)").as_str(),
            "&#58;\\) &#58;P ;\\) \\(y\\) \\(/\\)"
        );
        assert_eq!(escape("a\\\\b \\*").as_str(), "a&#92;&#92;b &#92;\\*");
        assert_eq!(
            escape("&amp; & &#1; AT&T").as_str(),
            "&amp;amp; & &amp;\\#1; AT&amp;T"
        );
        assert_eq!(escape("a\r\nb").as_str(), "a\nb");
    }

    #[test]
    fn effects_wrap_trimmed_text() {
        assert_eq!(strong(" Severity: ").as_str(), "*Severity:*");
        assert_eq!(strong("  ").as_str(), "");
        assert_eq!(em("a\nb").as_str(), "_a b_");
        assert_eq!(code("x}}y").as_str(), "{{x&#125;&#125;y}}");
        let href = Href::new("https://x.io/a").unwrap();
        assert_eq!(link("", &href).as_str(), "[https://x.io/a]");
        assert_eq!(link("a|b", &href).as_str(), "[a&#124;b|https://x.io/a]");
    }

    #[test]
    fn long_lines_escape_in_linear_time() {
        // A quadratic scan of the line would take minutes here.
        let s = format!("{}{}", " ".repeat(200_000), ".".repeat(200_000));
        assert_eq!(escape(&s).as_str().len(), s.len());
        assert_eq!(escape(" \u{A0}h1.x").as_str(), " \u{A0}h1&#46;x");
        assert_eq!(escape("h1h1.").as_str(), "h1h1.");
    }

    #[test]
    fn writer_blocks() {
        let mut w = WikiWriter::new();
        w.heading(HeadingLevel::H2, escape("Title\nsecond"))
            .paragraph(Markup::default())
            .bullet_list([text("a"), text("b\nc")])
            .rule()
            .lines(Vec::new());
        assert_eq!(w.finish(), "h2. Title second\n\n* a\n* b c\n\n----");
    }
}
