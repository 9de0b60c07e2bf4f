//! Atlassian Document Format (ADF) v1: the rich-text format Jira Cloud REST v3
//! takes for descriptions and comments.
//!
//! The types here can only express the subset of ADF the integration writes.
//! Build documents with the functions of this module ([`doc`],
//! [`paragraph`], [`text`], [`strong`], [`paragraphs`], [`quote`]...): what
//! they build always passes [`Document::validate`], and what passes it
//! validates against Atlassian's published schema (`doc_node`) and keeps
//! the rules Jira adds (no newline inside a text node, no empty text node).
//!
//! ```
//! use jira_model::adf::{self, HeadingLevel};
//! use jira_model::Href;
//!
//! let href = Href::new("https://penaxtra.com/app/findings/fnd_1").unwrap();
//! let document = adf::doc([
//!     adf::heading(HeadingLevel::H2, adf::text("Finding")),
//!     adf::paragraph(adf::strong("Severity:").into_iter().chain(adf::text(" high"))),
//!     adf::quote("untrusted\nexcerpt"),
//!     adf::paragraph(adf::link("Open in Penaxtra", &href)),
//! ]);
//! document.validate().unwrap();
//! assert_eq!(document.plain_text(), "Finding\n\nSeverity: high\n\nuntrusted\nexcerpt\n\nOpen in Penaxtra");
//! ```

use crate::text::normalize_newlines;
use crate::{Href, ModelError};
use serde::{Deserialize, Serialize};

/// An ADF document: `{"type":"doc","version":1,"content":[...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Document {
    /// Always `"doc"`.
    #[serde(rename = "type")]
    pub kind: DocKind,
    /// Always `1`.
    pub version: u8,
    /// Block nodes.
    pub content: Vec<Block>,
}

/// The `type` of a document: always `doc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocKind {
    /// `"doc"`
    Doc,
}

impl Document {
    /// A document of these blocks.
    pub fn new(content: Vec<Block>) -> Self {
        Self {
            kind: DocKind::Doc,
            version: 1,
            content,
        }
    }
}

impl Default for Document {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

/// A block node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Block {
    /// A paragraph of inline nodes.
    Paragraph {
        /// Inline content.
        #[serde(default)]
        content: Vec<Inline>,
    },
    /// A heading, level 1 to 6.
    Heading {
        /// `{"level": n}`
        attrs: HeadingAttrs,
        /// Inline content.
        #[serde(default)]
        content: Vec<Inline>,
    },
    /// A block quote of paragraphs.
    Blockquote {
        /// Paragraphs (ADF allows paragraphs, lists and code blocks here).
        content: Vec<Block>,
    },
    /// A code block: its text nodes carry no marks.
    CodeBlock {
        /// Optional language.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attrs: Option<CodeBlockAttrs>,
        /// Text nodes without marks.
        #[serde(default)]
        content: Vec<Inline>,
    },
    /// A bullet list.
    BulletList {
        /// List items.
        content: Vec<ListItem>,
    },
    /// A horizontal rule.
    Rule,
}

/// `attrs` of a heading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadingAttrs {
    /// 1 to 6.
    pub level: u8,
}

/// `attrs` of a code block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeBlockAttrs {
    /// The language, e.g. `"text"`.
    pub language: String,
}

/// A list item: `{"type":"listItem","content":[paragraph...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "listItem")]
pub struct ListItem {
    /// Blocks of the item (paragraphs).
    pub content: Vec<Block>,
}

/// An inline node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Inline {
    /// A run of text. Its text is never empty, and outside a code block
    /// never holds a newline (a code block keeps its lines in one text node).
    Text {
        /// The text.
        text: String,
        /// Marks (bold, code, link...).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        marks: Vec<Mark>,
    },
    /// A line break inside a paragraph.
    HardBreak,
}

/// A text mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Mark {
    /// Bold.
    Strong,
    /// Italic.
    Em,
    /// Inline code.
    Code,
    /// A hyperlink.
    Link {
        /// `{"href": "..."}`
        attrs: LinkAttrs,
    },
}

/// `attrs` of a link mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkAttrs {
    /// The target URL.
    pub href: String,
}

/// The level of a heading: `h1` to `h6`, nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HeadingLevel {
    /// Level 1.
    H1,
    /// Level 2.
    H2,
    /// Level 3.
    H3,
    /// Level 4.
    H4,
    /// Level 5.
    H5,
    /// Level 6.
    H6,
}

impl HeadingLevel {
    /// The level as a number, 1 to 6.
    pub fn get(self) -> u8 {
        match self {
            Self::H1 => 1,
            Self::H2 => 2,
            Self::H3 => 3,
            Self::H4 => 4,
            Self::H5 => 5,
            Self::H6 => 6,
        }
    }
}

/// How a run of text is formatted: any mix of bold, italic and a link.
/// Inline code is [`code`]: ADF allows no other mark beside `code` but a
/// link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Style {
    strong: bool,
    em: bool,
    link: Option<Href>,
}

impl Style {
    /// Plain text.
    pub fn new() -> Self {
        Self::default()
    }
    /// Bold.
    pub fn strong(mut self) -> Self {
        self.strong = true;
        self
    }
    /// Italic.
    pub fn em(mut self) -> Self {
        self.em = true;
        self
    }
    /// A link to `href`.
    pub fn link(mut self, href: &Href) -> Self {
        self.link = Some(href.clone());
        self
    }
    /// The marks, in the order of Atlassian's schema (link, em, strong).
    fn marks(&self) -> Vec<Mark> {
        let mut marks = Vec::new();
        if let Some(href) = &self.link {
            marks.push(Mark::Link {
                attrs: LinkAttrs {
                    href: href.as_str().to_string(),
                },
            });
        }
        if self.em {
            marks.push(Mark::Em);
        }
        if self.strong {
            marks.push(Mark::Strong);
        }
        marks
    }
}

/// A document of these blocks.
pub fn doc(blocks: impl IntoIterator<Item = Block>) -> Document {
    Document::new(blocks.into_iter().collect())
}

/// A paragraph of these inline nodes.
pub fn paragraph(inlines: impl IntoIterator<Item = Inline>) -> Block {
    Block::Paragraph {
        content: inlines.into_iter().collect(),
    }
}

/// A heading of these inline nodes.
pub fn heading(level: HeadingLevel, inlines: impl IntoIterator<Item = Inline>) -> Block {
    Block::Heading {
        attrs: HeadingAttrs { level: level.get() },
        content: inlines.into_iter().collect(),
    }
}

/// Any text as inline nodes with `marks`: every line break (see
/// [`normalize_newlines`]) becomes a `hardBreak`, and no text node is empty
/// or holds a newline. Empty text gives no nodes.
fn runs(s: &str, marks: &[Mark]) -> Vec<Inline> {
    let s = normalize_newlines(s);
    let mut out = Vec::new();
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push(Inline::HardBreak);
        }
        if !line.is_empty() {
            out.push(Inline::Text {
                text: line.to_string(),
                marks: marks.to_vec(),
            });
        }
    }
    out
}

/// Plain text as inline nodes; line breaks become `hardBreak` nodes.
///
/// ```
/// use jira_model::adf::{self, Inline};
/// assert_eq!(adf::text("a\r\nb").len(), 3);
/// assert!(adf::text("").is_empty());
/// ```
pub fn text(s: &str) -> Vec<Inline> {
    runs(s, &[])
}

/// Formatted text as inline nodes; line breaks become `hardBreak` nodes.
pub fn styled(s: &str, style: &Style) -> Vec<Inline> {
    runs(s, &style.marks())
}

/// Bold text.
pub fn strong(s: &str) -> Vec<Inline> {
    styled(s, &Style::new().strong())
}

/// Italic text.
pub fn em(s: &str) -> Vec<Inline> {
    styled(s, &Style::new().em())
}

/// Inline code.
pub fn code(s: &str) -> Vec<Inline> {
    runs(s, &[Mark::Code])
}

/// Text linking to `href`.
pub fn link(s: &str, href: &Href) -> Vec<Inline> {
    styled(s, &Style::new().link(href))
}

/// A line break inside a paragraph.
pub fn hard_break() -> Inline {
    Inline::HardBreak
}

/// Multi-line, untrusted text as paragraphs, without losing a character:
/// each blank line (`\n\n`) separates two paragraphs, any other line break
/// is a `hardBreak`, and [`Block::plain_text`] of the result joined with
/// `\n\n` gives back the text (line breaks normalised). Empty text gives no
/// paragraphs.
///
/// ```
/// use jira_model::adf;
/// let blocks = adf::paragraphs("one\ntwo\n\nthree");
/// assert_eq!(blocks.len(), 2);
/// ```
pub fn paragraphs(s: &str) -> Vec<Block> {
    let s = normalize_newlines(s);
    if s.is_empty() {
        return Vec::new();
    }
    s.split("\n\n").map(|part| paragraph(text(part))).collect()
}

/// Untrusted text as a literal block quote of [`paragraphs`]. Empty text
/// gives a quote of one empty paragraph (a quote may not be empty).
pub fn quote(s: &str) -> Block {
    let mut content = paragraphs(s);
    if content.is_empty() {
        content.push(paragraph([]));
    }
    Block::Blockquote { content }
}

/// A block quote of these blocks.
///
/// # Errors
/// [`ModelError::InvalidAdf`] when `children` is empty or holds a block a
/// quote may not (a heading, a quote, a rule).
pub fn blockquote(children: Vec<Block>) -> Result<Block, ModelError> {
    let block = Block::Blockquote { content: children };
    block.validate_at("blockquote", Parent::Doc)?;
    Ok(block)
}

/// A code block holding `s` verbatim (its lines stay in one text node, as
/// ADF wants), with an optional language such as `"text"`.
pub fn code_block(s: &str, language: Option<&str>) -> Block {
    let s = normalize_newlines(s);
    Block::CodeBlock {
        attrs: language.map(|l| CodeBlockAttrs {
            language: l.to_string(),
        }),
        content: if s.is_empty() {
            Vec::new()
        } else {
            vec![Inline::Text {
                text: s.into_owned(),
                marks: Vec::new(),
            }]
        },
    }
}

/// A list item holding one paragraph of these inline nodes.
pub fn list_item(inlines: impl IntoIterator<Item = Inline>) -> ListItem {
    ListItem {
        content: vec![paragraph(inlines)],
    }
}

/// A bullet list of these items.
///
/// # Errors
/// [`ModelError::InvalidAdf`] when `items` is empty or an item is invalid
/// (empty, or not starting with a paragraph or code block).
pub fn bullet_list(items: Vec<ListItem>) -> Result<Block, ModelError> {
    let block = Block::BulletList { content: items };
    block.validate_at("bulletList", Parent::Doc)?;
    Ok(block)
}

/// A horizontal rule.
pub fn rule() -> Block {
    Block::Rule
}

/// Where a block sits, which decides what it may be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parent {
    Doc,
    Blockquote,
    ListItem { first: bool },
}

fn invalid(path: &str, reason: &'static str) -> ModelError {
    ModelError::InvalidAdf {
        path: path.to_string(),
        reason,
    }
}

impl Document {
    /// Checks the document against the rules of Atlassian's schema that the
    /// types here cannot express themselves, and the rules Jira adds: block
    /// nesting (a quote holds paragraphs, lists and code blocks; a list item
    /// starts with a paragraph or code block), non-empty quotes, lists and
    /// items, heading levels 1 to 6, non-empty text nodes, no newline in a
    /// text node outside a code block, no marks in a code block, no
    /// repeated mark, nothing but a link beside `code`, and link targets
    /// that [`Href::new`] accepts.
    ///
    /// # Errors
    /// [`ModelError::InvalidAdf`] naming the first offending node.
    pub fn validate(&self) -> Result<(), ModelError> {
        for (i, block) in self.content.iter().enumerate() {
            block.validate_at(&format!("content[{i}]"), Parent::Doc)?;
        }
        Ok(())
    }

    /// The text of the document: blocks separated by a blank line,
    /// `hardBreak` as `\n`, list items on their own lines, a rule as `---`.
    pub fn plain_text(&self) -> String {
        join_blocks(&self.content)
    }
}

fn join_blocks(blocks: &[Block]) -> String {
    blocks
        .iter()
        .map(Block::plain_text)
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn join_inlines(inlines: &[Inline]) -> String {
    inlines
        .iter()
        .map(|i| match i {
            Inline::Text { text, .. } => text.as_str(),
            Inline::HardBreak => "\n",
        })
        .collect()
}

impl Block {
    /// The text of the block (see [`Document::plain_text`]).
    pub fn plain_text(&self) -> String {
        match self {
            Block::Paragraph { content }
            | Block::Heading { content, .. }
            | Block::CodeBlock { content, .. } => join_inlines(content),
            Block::Blockquote { content } => join_blocks(content),
            Block::BulletList { content } => content
                .iter()
                .map(|item| join_blocks(&item.content))
                .collect::<Vec<_>>()
                .join("\n"),
            Block::Rule => "---".to_string(),
        }
    }

    fn validate_at(&self, path: &str, parent: Parent) -> Result<(), ModelError> {
        let allowed = match (parent, self) {
            (Parent::Doc, _) => true,
            (Parent::Blockquote, b) => matches!(
                b,
                Block::Paragraph { .. } | Block::BulletList { .. } | Block::CodeBlock { .. }
            ),
            (Parent::ListItem { first: true }, b) => {
                matches!(b, Block::Paragraph { .. } | Block::CodeBlock { .. })
            }
            (Parent::ListItem { first: false }, b) => matches!(
                b,
                Block::Paragraph { .. } | Block::BulletList { .. } | Block::CodeBlock { .. }
            ),
        };
        if !allowed {
            return Err(invalid(
                path,
                "a block quote holds only paragraphs, lists and code blocks; a list item starts with a paragraph or code block and holds no heading, quote or rule",
            ));
        }
        match self {
            Block::Paragraph { content } => validate_inlines(path, content),
            Block::Heading { attrs, content } => {
                if !(1..=6).contains(&attrs.level) {
                    return Err(invalid(path, "heading level must be 1 to 6"));
                }
                validate_inlines(path, content)
            }
            Block::Blockquote { content } => {
                if content.is_empty() {
                    return Err(invalid(path, "a block quote must hold at least one block"));
                }
                for (i, b) in content.iter().enumerate() {
                    b.validate_at(&format!("{path}.content[{i}]"), Parent::Blockquote)?;
                }
                Ok(())
            }
            Block::CodeBlock { content, .. } => {
                for (i, inline) in content.iter().enumerate() {
                    let at = format!("{path}.content[{i}]");
                    match inline {
                        Inline::Text { text, marks } => {
                            if text.is_empty() {
                                return Err(invalid(&at, "a text node must not be empty"));
                            }
                            if !marks.is_empty() {
                                return Err(invalid(&at, "text in a code block carries no marks"));
                            }
                        }
                        Inline::HardBreak => {
                            return Err(invalid(&at, "a code block holds text only"));
                        }
                    }
                }
                Ok(())
            }
            Block::BulletList { content } => {
                if content.is_empty() {
                    return Err(invalid(path, "a list must hold at least one item"));
                }
                for (i, item) in content.iter().enumerate() {
                    let at = format!("{path}.content[{i}]");
                    if item.content.is_empty() {
                        return Err(invalid(&at, "a list item must hold at least one block"));
                    }
                    for (j, b) in item.content.iter().enumerate() {
                        b.validate_at(
                            &format!("{at}.content[{j}]"),
                            Parent::ListItem { first: j == 0 },
                        )?;
                    }
                }
                Ok(())
            }
            Block::Rule => Ok(()),
        }
    }
}

fn validate_inlines(path: &str, inlines: &[Inline]) -> Result<(), ModelError> {
    for (i, inline) in inlines.iter().enumerate() {
        let Inline::Text { text, marks } = inline else {
            continue;
        };
        let at = format!("{path}.content[{i}]");
        if text.is_empty() {
            return Err(invalid(&at, "a text node must not be empty"));
        }
        if text.contains(['\n', '\r']) {
            return Err(invalid(
                &at,
                "a text node must not hold a line break: use hardBreak",
            ));
        }
        for (j, mark) in marks.iter().enumerate() {
            let kind = std::mem::discriminant(mark);
            if marks[..j].iter().any(|m| std::mem::discriminant(m) == kind) {
                return Err(invalid(&at, "a mark appears twice"));
            }
            if let Mark::Link { attrs } = mark
                && Href::new(&attrs.href).is_err()
            {
                return Err(invalid(
                    &at,
                    "a link target must be an http(s) URL without credentials",
                ));
            }
        }
        if marks.contains(&Mark::Code)
            && marks
                .iter()
                .any(|m| !matches!(m, Mark::Code | Mark::Link { .. }))
        {
            return Err(invalid(&at, "code text may carry only a link beside it"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn href() -> Href {
        Href::new("https://penaxtra.com/app/findings/fnd_1").unwrap()
    }

    #[test]
    fn text_splits_lines_and_drops_empty_runs() {
        assert_eq!(
            serde_json::to_value(text("a\n\nb\r")).unwrap(),
            json!([{"type":"text","text":"a"},{"type":"hardBreak"},{"type":"hardBreak"},
                   {"type":"text","text":"b"},{"type":"hardBreak"}])
        );
    }

    #[test]
    fn marks_serialise_in_schema_order() {
        let v =
            serde_json::to_value(styled("x", &Style::new().strong().em().link(&href()))).unwrap();
        assert_eq!(
            v,
            json!([{"type":"text","text":"x","marks":[
                {"type":"link","attrs":{"href":"https://penaxtra.com/app/findings/fnd_1"}},
                {"type":"em"},{"type":"strong"}]}])
        );
        assert_eq!(
            serde_json::to_value(code("c")).unwrap(),
            json!([{"type":"text","text":"c","marks":[{"type":"code"}]}])
        );
    }

    #[test]
    fn paragraphs_are_lossless() {
        for s in [
            "", "a", "a\n", "\n", "a\n\nb", "a\n\n\nb", "a\n\n", "\n\n\n\n", " x \n y",
        ] {
            let blocks = paragraphs(s);
            assert_eq!(join_blocks(&blocks), s, "{s:?}");
            doc(blocks).validate().unwrap();
        }
        assert_eq!(quote("").plain_text(), "");
        doc([quote("")]).validate().unwrap();
    }

    #[test]
    fn builders_reject_what_the_schema_rejects() {
        assert!(blockquote(vec![]).is_err());
        assert!(blockquote(vec![heading(HeadingLevel::H1, text("h"))]).is_err());
        assert!(blockquote(vec![rule()]).is_err());
        assert!(blockquote(vec![paragraph(text("p")), code_block("x", None)]).is_ok());
        assert!(bullet_list(vec![]).is_err());
        assert!(bullet_list(vec![ListItem { content: vec![] }]).is_err());
        assert!(
            bullet_list(vec![ListItem {
                content: vec![rule()]
            }])
            .is_err()
        );
        let nested = bullet_list(vec![list_item(text("a"))]).unwrap();
        assert!(
            bullet_list(vec![ListItem {
                content: vec![paragraph(text("p")), nested.clone()]
            }])
            .is_ok()
        );
        assert!(
            bullet_list(vec![ListItem {
                content: vec![nested]
            }])
            .is_err()
        );
    }

    #[test]
    fn validate_names_the_node() {
        let bad = doc([paragraph(vec![Inline::Text {
            text: "a\nb".into(),
            marks: vec![],
        }])]);
        assert_eq!(
            bad.validate(),
            Err(ModelError::InvalidAdf {
                path: "content[0].content[0]".into(),
                reason: "a text node must not hold a line break: use hardBreak"
            })
        );
        let cases = [
            paragraph(vec![Inline::Text {
                text: String::new(),
                marks: vec![],
            }]),
            paragraph(vec![Inline::Text {
                text: "x".into(),
                marks: vec![Mark::Strong, Mark::Strong],
            }]),
            paragraph(vec![Inline::Text {
                text: "x".into(),
                marks: vec![Mark::Code, Mark::Strong],
            }]),
            paragraph(vec![Inline::Text {
                text: "x".into(),
                marks: vec![Mark::Link {
                    attrs: LinkAttrs {
                        href: "javascript:alert(1)".into(),
                    },
                }],
            }]),
            Block::Heading {
                attrs: HeadingAttrs { level: 7 },
                content: vec![],
            },
            Block::CodeBlock {
                attrs: None,
                content: vec![Inline::HardBreak],
            },
            Block::CodeBlock {
                attrs: None,
                content: vec![Inline::Text {
                    text: "x".into(),
                    marks: vec![Mark::Em],
                }],
            },
        ];
        for block in cases {
            assert!(doc([block.clone()]).validate().is_err(), "{block:?}");
        }
        let ok = paragraph(vec![Inline::Text {
            text: "x".into(),
            marks: vec![
                Mark::Link {
                    attrs: LinkAttrs {
                        href: href().to_string(),
                    },
                },
                Mark::Code,
            ],
        }]);
        doc([ok]).validate().unwrap();
    }

    #[test]
    fn code_block_keeps_lines() {
        let b = code_block("a\r\nb", Some("text"));
        assert_eq!(
            serde_json::to_value(&b).unwrap(),
            json!({"type":"codeBlock","attrs":{"language":"text"},"content":[{"type":"text","text":"a\nb"}]})
        );
        assert_eq!(
            serde_json::to_value(code_block("", None)).unwrap(),
            json!({"type":"codeBlock","content":[]})
        );
    }

    #[test]
    fn heading_levels() {
        let levels = [
            HeadingLevel::H1,
            HeadingLevel::H2,
            HeadingLevel::H3,
            HeadingLevel::H4,
            HeadingLevel::H5,
            HeadingLevel::H6,
        ];
        for (i, l) in levels.into_iter().enumerate() {
            assert_eq!(usize::from(l.get()), i + 1);
        }
    }
}
