//! Atlassian Document Format (ADF) v1: the rich-text format Jira Cloud REST v3
//! takes for descriptions and comments.
//!
//! The types here can only express the subset of ADF the integration writes,
//! and each of them serialises to JSON that validates against Atlassian's
//! published schema (`doc_node`).

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
    /// A run of text. Its text is never empty and never holds a newline.
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
