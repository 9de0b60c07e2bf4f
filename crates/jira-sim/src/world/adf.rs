//! Atlassian Document Format on the simulator side: validate what Cloud v3
//! receives, and convert between ADF and the plain/wiki text REST v2 uses.

use serde_json::{Value, json};

/// Node types of ADF v1 that the simulator accepts.
const NODE_TYPES: &[&str] = &[
    "blockCard",
    "blockquote",
    "bodiedExtension",
    "bulletList",
    "codeBlock",
    "date",
    "decisionItem",
    "decisionList",
    "embedCard",
    "emoji",
    "expand",
    "extension",
    "hardBreak",
    "heading",
    "inlineCard",
    "inlineExtension",
    "layoutColumn",
    "layoutSection",
    "listItem",
    "media",
    "mediaGroup",
    "mediaInline",
    "mediaSingle",
    "mention",
    "nestedExpand",
    "orderedList",
    "panel",
    "paragraph",
    "placeholder",
    "rule",
    "status",
    "table",
    "tableCell",
    "tableHeader",
    "tableRow",
    "taskItem",
    "taskList",
    "text",
];

/// Whether `v` is an ADF document Jira Cloud would accept: a `doc` of
/// version 1 whose nodes have known types, whose text nodes hold non-empty
/// text without newlines, and whose marks have a type.
pub(crate) fn is_valid_document(v: &Value) -> bool {
    let Some(o) = v.as_object() else { return false };
    o.get("type").and_then(Value::as_str) == Some("doc")
        && o.get("version").and_then(Value::as_u64) == Some(1)
        && o.get("content")
            .and_then(Value::as_array)
            .is_some_and(|c| c.iter().all(|n| is_valid_node(n, 1)))
}

fn is_valid_node(v: &Value, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    let Some(o) = v.as_object() else { return false };
    let Some(kind) = o.get("type").and_then(Value::as_str) else {
        return false;
    };
    if !NODE_TYPES.contains(&kind) {
        return false;
    }
    if kind == "text" {
        match o.get("text").and_then(Value::as_str) {
            Some(t) if !t.is_empty() && !t.contains('\n') => {}
            _ => return false,
        }
    }
    if let Some(marks) = o.get("marks") {
        let ok = marks.as_array().is_some_and(|m| {
            m.iter()
                .all(|mark| mark.get("type").and_then(Value::as_str).is_some())
        });
        if !ok {
            return false;
        }
    }
    match o.get("content") {
        None => true,
        Some(Value::Array(c)) => c.iter().all(|n| is_valid_node(n, depth + 1)),
        Some(_) => false,
    }
}

/// An ADF document of plain text: a paragraph per blank-line separated
/// block, a `hardBreak` per single newline.
pub(crate) fn from_text(text: &str) -> Value {
    let normalized = text.replace("\r\n", "\n");
    let mut paragraphs = Vec::new();
    for block in normalized.split("\n\n") {
        if block.trim().is_empty() {
            continue;
        }
        let mut content = Vec::new();
        for (i, line) in block.split('\n').enumerate() {
            if i > 0 {
                content.push(json!({"type":"hardBreak"}));
            }
            if !line.is_empty() {
                content.push(json!({"type":"text","text":line}));
            }
        }
        paragraphs.push(json!({"type":"paragraph","content":content}));
    }
    json!({"type":"doc","version":1,"content":paragraphs})
}

/// Wiki markup for an ADF document, as Jira renders v3 content on v2.
pub(crate) fn to_wiki(doc: &Value) -> String {
    let blocks = doc.get("content").and_then(Value::as_array);
    let parts: Vec<String> = blocks
        .map(|b| b.iter().map(block_to_wiki).collect())
        .unwrap_or_default();
    parts.join("\n\n")
}

fn children(v: &Value) -> &[Value] {
    v.get("content")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn block_to_wiki(v: &Value) -> String {
    let kind = v.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "heading" => {
            let level = v
                .pointer("/attrs/level")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            format!("h{level}. {}", inline_to_wiki(children(v)))
        }
        "bulletList" | "orderedList" => {
            let bullet = if kind == "bulletList" { "*" } else { "#" };
            children(v)
                .iter()
                .map(|item| {
                    let text: Vec<String> = children(item).iter().map(block_to_wiki).collect();
                    format!("{bullet} {}", text.join(" "))
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        "codeBlock" => format!("{{code}}\n{}\n{{code}}", plain_text(children(v))),
        "blockquote" => {
            let inner: Vec<String> = children(v).iter().map(block_to_wiki).collect();
            format!("{{quote}}{}{{quote}}", inner.join("\n\n"))
        }
        "rule" => "----".into(),
        "paragraph" => inline_to_wiki(children(v)),
        _ => {
            let inner: Vec<String> = children(v).iter().map(block_to_wiki).collect();
            if inner.is_empty() {
                inline_to_wiki(std::slice::from_ref(v))
            } else {
                inner.join("\n")
            }
        }
    }
}

fn plain_text(nodes: &[Value]) -> String {
    nodes
        .iter()
        .map(|n| match n.get("type").and_then(Value::as_str) {
            Some("text") => n
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            Some("hardBreak") => "\n".into(),
            _ => plain_text(children(n)),
        })
        .collect()
}

fn inline_to_wiki(nodes: &[Value]) -> String {
    let mut out = String::new();
    for n in nodes {
        match n.get("type").and_then(Value::as_str) {
            Some("text") => {
                let mut t = n
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                for mark in n
                    .get("marks")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    t = match mark.get("type").and_then(Value::as_str) {
                        Some("strong") => format!("*{t}*"),
                        Some("em") => format!("_{t}_"),
                        Some("code") => format!("{{{{{t}}}}}"),
                        Some("link") => match mark.pointer("/attrs/href").and_then(Value::as_str) {
                            Some(href) => format!("[{t}|{href}]"),
                            None => t,
                        },
                        _ => t,
                    };
                }
                out.push_str(&t);
            }
            Some("hardBreak") => out.push('\n'),
            _ => out.push_str(&inline_to_wiki(children(n))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_documents() {
        assert!(is_valid_document(&from_text("a\nb\n\nc")));
        assert!(is_valid_document(
            &json!({"type":"doc","version":1,"content":[]})
        ));
        for bad in [
            json!("text"),
            json!({"type":"doc","version":2,"content":[]}),
            json!({"type":"doc","version":1}),
            json!({"type":"doc","version":1,"content":[{"type":"blink"}]}),
            json!({"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":""}]}]}),
            json!({"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"a\nb"}]}]}),
            json!({"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"a","marks":[{}]}]}]}),
        ] {
            assert!(!is_valid_document(&bad), "{bad}");
        }
    }

    #[test]
    fn wiki_round_trip_of_plain_text() {
        assert_eq!(
            to_wiki(&from_text("one\ntwo\n\nthree")),
            "one\ntwo\n\nthree"
        );
        let doc = json!({"type":"doc","version":1,"content":[
            {"type":"heading","attrs":{"level":2},"content":[{"type":"text","text":"T"}]},
            {"type":"paragraph","content":[
                {"type":"text","text":"bold","marks":[{"type":"strong"}]},
                {"type":"text","text":" "},
                {"type":"text","text":"x","marks":[{"type":"code"}]},
                {"type":"text","text":"site","marks":[{"type":"link","attrs":{"href":"https://e.x"}}]}]},
            {"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"i"}]}]}]},
            {"type":"codeBlock","content":[{"type":"text","text":"c"}]},
            {"type":"rule"}]});
        assert_eq!(
            to_wiki(&doc),
            "h2. T\n\n*bold* {{x}}[site|https://e.x]\n\n* i\n\n{code}\nc\n{code}\n\n----"
        );
    }
}
