//! The house: the crate's files stand on floors (`ARCHITECTURE.md`, "The
//! floors of the facade crate"), every file imports only from its own
//! floor or below, and no files import each other in a circle. Read from
//! the sources: every `crate::…` and `super::…` path outside comments,
//! tests and re-exports (`pub use`) is resolved to the file that defines
//! its last name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each file's floor, bottom up. A new file must be placed here.
const FLOORS: &[(u8, &[&str])] = &[
    // Foundations: ids, time, JQL, traces, metrics, host traits, the
    // background task, errors, settings, configuration, the webhook gate
    // and the stores.
    (
        0,
        &[
            "background.rs",
            "clock.rs",
            "config/error.rs",
            "config/mod.rs",
            "config/service.rs",
            "connection_id.rs",
            "decision.rs",
            "deliveries.rs",
            "error.rs",
            "host.rs",
            "inbound_reason.rs",
            "jira_time.rs",
            "jql.rs",
            "marks.rs",
            "metrics.rs",
            "rate_budget.rs",
            "screens.rs",
            "settings.rs",
            "workflow.rs",
        ],
    ),
    // The engine's core: client, store, clock, settings, owner.
    (1, &["engine_core.rs"]),
    // The handles, each borrowing the core.
    (
        2,
        &[
            "heal.rs",
            "inbound.rs",
            "lease.rs",
            "options.rs",
            "push.rs",
            "reconcile.rs",
            "state_out.rs",
            "webhook/route.rs",
        ],
    ),
    // The engine a host holds: the handles assembled, built and configured.
    (3, &["engine.rs"]),
    // Orchestration: operations of several steps on one engine.
    (
        4,
        &[
            "backfill.rs",
            "parked.rs",
            "settle.rs",
            "test_connection.rs",
            "worker.rs",
        ],
    ),
    // Many connections: the registry, its pool and its route.
    (5, &["connections.rs", "webhook/connections_route.rs"]),
];

/// Folders whose every file is a foundation (floor 0) unless listed above.
const FOUNDATION_DIRS: &[&str] = &["store/", "webhook/"];

fn floor_of(file: &str) -> Option<u8> {
    for (floor, files) in FLOORS {
        if files.contains(&file) {
            return Some(*floor);
        }
    }
    FOUNDATION_DIRS
        .iter()
        .any(|d| file.starts_with(d))
        .then_some(0)
}

fn sources(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(rel, std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The code that counts: no comments, no unit tests, no re-exports, and
/// `super::` spelled from the crate root.
fn code_of(file: &str, text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut module: Vec<&str> = file.trim_end_matches(".rs").split('/').collect();
    if module.last() == Some(&"mod") {
        module.pop();
    }
    module.pop();
    let parent: String = module.iter().map(|m| format!("{m}::")).collect();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("//"))
        .filter(|l| !(l.starts_with("pub use ") || l.starts_with("pub(crate) use ")))
        .map(|l| replace_super(l, &parent))
        .collect::<Vec<_>>()
        .join("\n")
}

fn replace_super(line: &str, parent: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("super::") {
        let before = rest[..i].chars().last();
        out.push_str(&rest[..i]);
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            out.push_str("super::");
        } else {
            out.push_str("crate::");
            out.push_str(parent);
        }
        rest = &rest[i + "super::".len()..];
    }
    out.push_str(rest);
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every path named after `crate::` in `code`, braces expanded one level.
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let preceded = rest[..i]
            .chars()
            .last()
            .is_some_and(|c| is_ident(c) || c == ':');
        rest = &rest[i + "crate::".len()..];
        if preceded {
            continue;
        }
        let mut prefix = Vec::new();
        loop {
            let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
            if end == 0 {
                if let Some(inner) = rest.strip_prefix('{') {
                    let close = inner.find('}').unwrap_or(inner.len());
                    for part in inner[..close].split(',') {
                        let part = part.split(" as ").next().unwrap_or("").trim();
                        if part.is_empty() {
                            continue;
                        }
                        let mut p = prefix.clone();
                        if part != "self" {
                            p.extend(part.split("::").map(|s| s.trim().to_string()));
                        }
                        out.push(p);
                    }
                }
                break;
            }
            prefix.push(rest[..end].to_string());
            rest = &rest[end..];
            match rest.strip_prefix("::") {
                Some(r) => rest = r,
                None => {
                    out.push(prefix);
                    break;
                }
            }
        }
    }
    out
}

/// Names each file defines.
fn definitions(files: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    const KINDS: &[&str] = &[
        "struct ", "enum ", "fn ", "trait ", "const ", "type ", "static ",
    ];
    let mut defs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, text) in files {
        for line in code_of(file, text).lines() {
            let mut l = line;
            for p in ["pub(crate) ", "pub(super) ", "pub ", "async "] {
                l = l.strip_prefix(p).unwrap_or(l);
            }
            l = l.strip_prefix("async ").unwrap_or(l);
            for k in KINDS {
                if let Some(r) = l.strip_prefix(k) {
                    let name: String = r.chars().take_while(|c| is_ident(*c)).collect();
                    if !name.is_empty() {
                        defs.entry(name).or_default().insert(file.clone());
                    }
                }
            }
        }
    }
    defs
}

fn edges(files: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let defs = definitions(files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, text) in files {
        if file == "lib.rs" {
            continue;
        }
        for path in paths(&code_of(file, text)) {
            // Walk the modules the path names; the first other segment is
            // the item, looked up in the files of the last module.
            let is_module = |m: &[String]| {
                let base = m.join("/");
                files.contains_key(&format!("{base}.rs"))
                    || files.contains_key(&format!("{base}/mod.rs"))
            };
            let mut depth = 0;
            while depth < path.len() && is_module(&path[..=depth]) {
                depth += 1;
            }
            let module = path[..depth].join("/");
            let module_files: Vec<String> = [format!("{module}.rs"), format!("{module}/mod.rs")]
                .into_iter()
                .filter(|f| files.contains_key(f))
                .collect();
            let targets: Vec<String> = match path.get(depth) {
                None => module_files,
                Some(name) => {
                    let found = defs.get(name).cloned().unwrap_or_default();
                    let under: Vec<String> = found
                        .iter()
                        .filter(|f| {
                            module.is_empty()
                                || f.starts_with(&format!("{module}/"))
                                || **f == format!("{module}.rs")
                        })
                        .cloned()
                        .collect();
                    if under.is_empty() {
                        module_files
                    } else {
                        under
                    }
                }
            };
            for t in targets {
                if &t != file && t != "lib.rs" {
                    edges.entry(file.clone()).or_default().insert(t);
                }
            }
        }
    }
    edges
}

fn crate_files() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    sources(&root, &root, &mut files);
    files
}

#[test]
fn every_file_imports_from_its_floor_or_below() {
    let files = crate_files();
    let edges = edges(&files);
    let mut wrong = Vec::new();
    for file in files.keys().filter(|f| f.as_str() != "lib.rs") {
        let Some(floor) = floor_of(file) else {
            wrong.push(format!("{file} stands on no floor: place it in FLOORS"));
            continue;
        };
        for t in edges.get(file).into_iter().flatten() {
            let target = floor_of(t).unwrap_or(u8::MAX);
            if target > floor {
                wrong.push(format!(
                    "{file} (floor {floor}) imports {t} (floor {target})"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "upward imports:\n{}", wrong.join("\n"));
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let edges = edges(&crate_files());
    // Depth-first search for a back edge; report the circle it closes.
    fn visit(
        v: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(v.to_string(), 1);
        stack.push(v.to_string());
        for w in edges.get(v).into_iter().flatten() {
            match state.get(w.as_str()) {
                Some(1) => {
                    let at = stack.iter().position(|s| s == w).unwrap_or(0);
                    let mut circle = stack[at..].to_vec();
                    circle.push(w.clone());
                    return Some(circle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(w, edges, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(v.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for v in edges.keys() {
        if !state.contains_key(v.as_str())
            && let Some(circle) = visit(v, &edges, &mut state, &mut Vec::new())
        {
            panic!(
                "files import each other in a circle: {}",
                circle.join(" -> ")
            );
        }
    }
}

/// The reader itself: a planted upward import and a planted circle are
/// seen, so the two tests above can fail.
#[test]
fn the_reader_sees_an_upward_import_and_a_circle() {
    let mut files = crate_files();
    let settings = files.get("settings.rs").cloned().unwrap();
    files.insert(
        "settings.rs".into(),
        format!("{settings}\nuse crate::engine::JiraSync;\n"),
    );
    let e = edges(&files);
    assert!(
        e["settings.rs"].contains("engine.rs"),
        "{:?}",
        e["settings.rs"]
    );
    assert!(
        e["engine.rs"].iter().any(|t| t == "settings.rs"),
        "engine.rs reads settings.rs: the planted import closes a circle"
    );
    let super_path = replace_super("use super::claim_rule::ClaimRow;", "store::");
    assert_eq!(super_path, "use crate::store::claim_rule::ClaimRow;");
    assert_eq!(
        paths("use crate::store::{Claim, types::Link as L, self};"),
        [
            vec!["store".to_string(), "Claim".to_string()],
            vec!["store".to_string(), "types".to_string(), "Link".to_string()],
            vec!["store".to_string()],
        ]
    );
}
