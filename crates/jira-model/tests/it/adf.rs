use crate::schema::{adf_errors, assert_valid_adf};
use jira_model::Href;
use jira_model::adf::{
    self, Block, CodeBlockAttrs, HeadingAttrs, HeadingLevel, Inline, LinkAttrs, ListItem, Mark,
    Style,
};
use proptest::prelude::*;
use serde_json::{Value, json};

fn href() -> Href {
    Href::new("https://penaxtra.com/app/findings/fnd_2026_000123").unwrap()
}

/// Walks every text node of a serialised document: none is empty, and none
/// outside a code block holds a line break.
fn assert_text_nodes_clean(v: &Value, in_code: bool) {
    match v {
        Value::Object(o) => {
            if o.get("type") == Some(&json!("text")) {
                let text = o["text"].as_str().unwrap();
                assert!(!text.is_empty(), "empty text node");
                if !in_code {
                    assert!(
                        !text.contains(['\n', '\r']),
                        "line break in text node {text:?}"
                    );
                }
            }
            let code = in_code || o.get("type") == Some(&json!("codeBlock"));
            for child in o.values() {
                assert_text_nodes_clean(child, code);
            }
        }
        Value::Array(a) => a.iter().for_each(|c| assert_text_nodes_clean(c, in_code)),
        _ => {}
    }
}

#[test]
fn every_builder_output_is_valid_adf() {
    let h = href();
    let list = adf::bullet_list(vec![
        adf::list_item(adf::text("one\ntwo")),
        ListItem {
            content: vec![
                adf::paragraph(adf::strong("nested")),
                adf::bullet_list(vec![adf::list_item(adf::code("x"))]).unwrap(),
            ],
        },
    ])
    .unwrap();
    let document = adf::doc([
        adf::heading(HeadingLevel::H1, adf::text("Heading\nwith break")),
        adf::heading(HeadingLevel::H6, adf::em("six")),
        adf::paragraph(
            adf::strong("Severity:")
                .into_iter()
                .chain(adf::text(" high"))
                .chain([adf::hard_break()])
                .chain(adf::code("rag_indirect_v2"))
                .chain(adf::styled("all", &Style::new().strong().em().link(&h))),
        ),
        adf::paragraph([]),
        adf::quote("line one\r\nline two\n\nsecond paragraph\u{2028}sep"),
        adf::quote(""),
        adf::blockquote(vec![
            adf::paragraph(adf::text("q")),
            adf::code_block("c", None),
        ])
        .unwrap(),
        adf::code_block("fn main() {\n}\n", Some("rust")),
        adf::code_block("", None),
        list,
        adf::rule(),
        adf::paragraph(adf::link("Open in Penaxtra", &h)),
    ]);
    document.validate().unwrap();
    let v = serde_json::to_value(&document).unwrap();
    assert_valid_adf(&v);
    assert_text_nodes_clean(&v, false);
    assert_eq!(v["type"], "doc");
    assert_eq!(v["version"], 1);
}

/// The schema check is not vacuous: what it must reject, it rejects.
#[test]
fn schema_rejects_invalid_documents() {
    let bad = [
        json!({"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":""}]}]}),
        json!({"type":"doc","version":1,"content":[{"type":"heading","attrs":{"level":7},"content":[]}]}),
        json!({"type":"doc","version":1,"content":[{"type":"blockquote","content":[]}]}),
        json!({"type":"doc","version":1,"content":[{"type":"blockquote","content":[{"type":"rule"}]}]}),
        json!({"type":"doc","version":1,"content":[{"type":"paragraph","content":[
            {"type":"text","text":"x","marks":[{"type":"code"},{"type":"strong"}]}]}]}),
        json!({"type":"doc","version":1,"content":[{"type":"codeBlock","content":[{"type":"hardBreak"}]}]}),
        json!({"type":"doc","version":2,"content":[]}),
        json!("plain string description"),
    ];
    for doc in bad {
        assert!(!adf_errors(&doc).is_empty(), "schema accepted {doc}");
    }
}

/// A recipe for a document, built only through the module's builders.
#[derive(Debug, Clone)]
enum InlineSpec {
    Text(String),
    Strong(String),
    Em(String),
    Code(String),
    Link(String),
    All(String),
    Break,
}

#[derive(Debug, Clone)]
enum BlockSpec {
    Paragraph(Vec<InlineSpec>),
    Heading(usize, Vec<InlineSpec>),
    Paragraphs(String),
    Quote(String),
    Code(String, Option<String>),
    List(Vec<Vec<InlineSpec>>),
    Blockquote(Vec<BlockSpec>),
    Rule,
}

fn untrusted() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => any::<char>(),
            2 => prop::sample::select(vec!['\n', '\r', '\u{2028}', '\u{2029}', '\u{85}', ' ', '\t']),
            1 => prop::sample::select(vec!['{', '}', '[', ']', '*', '\\', '"', '<', '\u{0}', '\u{202E}']),
        ],
        0..24,
    )
    .prop_map(String::from_iter)
}

fn inline_spec() -> impl Strategy<Value = InlineSpec> {
    prop_oneof![
        untrusted().prop_map(InlineSpec::Text),
        untrusted().prop_map(InlineSpec::Strong),
        untrusted().prop_map(InlineSpec::Em),
        untrusted().prop_map(InlineSpec::Code),
        untrusted().prop_map(InlineSpec::Link),
        untrusted().prop_map(InlineSpec::All),
        Just(InlineSpec::Break),
    ]
}

fn leaf_block() -> impl Strategy<Value = BlockSpec> {
    prop_oneof![
        prop::collection::vec(inline_spec(), 0..5).prop_map(BlockSpec::Paragraph),
        (0..6usize, prop::collection::vec(inline_spec(), 0..4))
            .prop_map(|(l, c)| BlockSpec::Heading(l, c)),
        untrusted().prop_map(BlockSpec::Paragraphs),
        untrusted().prop_map(BlockSpec::Quote),
        (untrusted(), prop::option::of("[a-z]{1,8}")).prop_map(|(s, l)| BlockSpec::Code(s, l)),
        prop::collection::vec(prop::collection::vec(inline_spec(), 0..3), 1..4)
            .prop_map(BlockSpec::List),
        Just(BlockSpec::Rule),
    ]
}

fn block_spec() -> impl Strategy<Value = BlockSpec> {
    prop_oneof![
        4 => leaf_block(),
        1 => prop::collection::vec(
            prop_oneof![
                prop::collection::vec(inline_spec(), 0..4).prop_map(BlockSpec::Paragraph),
                (untrusted(), Just(None)).prop_map(|(s, l)| BlockSpec::Code(s, l)),
                prop::collection::vec(prop::collection::vec(inline_spec(), 0..3), 1..3).prop_map(BlockSpec::List),
            ],
            1..4
        )
        .prop_map(BlockSpec::Blockquote),
    ]
}

fn build_inlines(specs: &[InlineSpec]) -> Vec<Inline> {
    let h = href();
    specs
        .iter()
        .flat_map(|s| match s {
            InlineSpec::Text(t) => adf::text(t),
            InlineSpec::Strong(t) => adf::strong(t),
            InlineSpec::Em(t) => adf::em(t),
            InlineSpec::Code(t) => adf::code(t),
            InlineSpec::Link(t) => adf::link(t, &h),
            InlineSpec::All(t) => adf::styled(t, &Style::new().em().strong().link(&h)),
            InlineSpec::Break => vec![adf::hard_break()],
        })
        .collect()
}

fn build_blocks(spec: &BlockSpec) -> Vec<Block> {
    const LEVELS: [HeadingLevel; 6] = [
        HeadingLevel::H1,
        HeadingLevel::H2,
        HeadingLevel::H3,
        HeadingLevel::H4,
        HeadingLevel::H5,
        HeadingLevel::H6,
    ];
    match spec {
        BlockSpec::Paragraph(i) => vec![adf::paragraph(build_inlines(i))],
        BlockSpec::Heading(l, i) => vec![adf::heading(LEVELS[*l], build_inlines(i))],
        BlockSpec::Paragraphs(s) => adf::paragraphs(s),
        BlockSpec::Quote(s) => vec![adf::quote(s)],
        BlockSpec::Code(s, l) => vec![adf::code_block(s, l.as_deref())],
        BlockSpec::List(items) => vec![
            adf::bullet_list(
                items
                    .iter()
                    .map(|i| adf::list_item(build_inlines(i)))
                    .collect(),
            )
            .unwrap(),
        ],
        BlockSpec::Blockquote(children) => {
            vec![adf::blockquote(children.iter().flat_map(build_blocks).collect()).unwrap()]
        }
        BlockSpec::Rule => vec![adf::rule()],
    }
}

/// Any node, valid or not, for checking that `validate` never lets an
/// invalid document through.
fn raw_inline() -> impl Strategy<Value = Inline> {
    let mark = prop_oneof![
        Just(Mark::Strong),
        Just(Mark::Em),
        Just(Mark::Code),
        prop::sample::select(vec![
            "https://a.example/x",
            "javascript:alert(1)",
            "",
            "https://u:p@a.example/"
        ])
        .prop_map(|h| Mark::Link {
            attrs: LinkAttrs {
                href: h.to_string()
            }
        }),
    ];
    prop_oneof![
        4 => (prop::sample::select(vec!["", "x", "a\nb", "\r", " ", "{}"]), prop::collection::vec(mark, 0..3))
            .prop_map(|(t, marks)| Inline::Text { text: t.to_string(), marks }),
        1 => Just(Inline::HardBreak),
    ]
}

fn raw_block() -> impl Strategy<Value = Block> {
    let leaf = prop_oneof![
        prop::collection::vec(raw_inline(), 0..3).prop_map(|content| Block::Paragraph { content }),
        (0u8..9, prop::collection::vec(raw_inline(), 0..3)).prop_map(|(level, content)| {
            Block::Heading {
                attrs: HeadingAttrs { level },
                content,
            }
        }),
        (
            prop::option::of(Just(CodeBlockAttrs {
                language: "text".into()
            })),
            prop::collection::vec(raw_inline(), 0..2)
        )
            .prop_map(|(attrs, content)| Block::CodeBlock { attrs, content }),
        Just(Block::Rule),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3)
                .prop_map(|content| Block::Blockquote { content }),
            prop::collection::vec(
                prop::collection::vec(inner, 0..3).prop_map(|content| ListItem { content }),
                0..3
            )
            .prop_map(|content| Block::BulletList { content }),
        ]
    })
}

proptest! {
    #[test]
    fn builder_documents_validate_against_the_schema(specs in prop::collection::vec(block_spec(), 0..6)) {
        let document = adf::doc(specs.iter().flat_map(build_blocks));
        prop_assert!(document.validate().is_ok(), "{:?}", document.validate());
        let v = serde_json::to_value(&document).unwrap();
        let errors = adf_errors(&v);
        prop_assert!(errors.is_empty(), "{errors:#?}\n{v:#}");
        assert_text_nodes_clean(&v, false);
        // What we build parses back into the same document.
        let back: adf::Document = serde_json::from_value(v).unwrap();
        prop_assert_eq!(back, document);
    }

    #[test]
    fn whatever_validate_accepts_the_schema_accepts(blocks in prop::collection::vec(raw_block(), 0..4)) {
        let document = adf::doc(blocks);
        if document.validate().is_ok() {
            let v = serde_json::to_value(&document).unwrap();
            let errors = adf_errors(&v);
            prop_assert!(errors.is_empty(), "{errors:#?}\n{v:#}");
            assert_text_nodes_clean(&v, false);
        }
    }

    #[test]
    fn quoted_text_is_kept_character_for_character(s in untrusted()) {
        let block = adf::quote(&s);
        let normalized = jira_model::text::normalize_newlines(&s).into_owned();
        prop_assert_eq!(block.plain_text(), normalized);
        let v = serde_json::to_value(adf::doc([block])).unwrap();
        prop_assert!(adf_errors(&v).is_empty());
        assert_text_nodes_clean(&v, false);
    }
}
