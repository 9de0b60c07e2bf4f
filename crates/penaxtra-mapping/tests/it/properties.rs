//! Property tests of the mapping's invariants.

use crate::schema::adf_errors;
use jira_model::adf::Block;
use jira_model::limits::{TEXT_MAX, check_label, check_summary, utf16_len};
use jira_model::text::{neutralize_invisible, normalize_newlines};
use jira_model::{Description, Flavor, Href, StatusCategoryKey, wiki};
use penaxtra_mapping::{
    Finding, FindingId, FindingState, IssueTemplate, Redactor, Severity, StateRow, StateTable,
    dedup_label, parse_findings,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn untrusted(max: usize) -> impl Strategy<Value = String> {
    let fragments = vec![
        "{noformat}",
        "{html}",
        "{quote}",
        "[~admin]",
        "!x.png!",
        "h1. ",
        "\nbq. ",
        "----",
        "||",
        "https://evil.example/",
        ":)",
        "\\\\",
        "&amp;",
        "*b*",
        "\u{202E}",
        "\u{200B}",
        "\u{E0041}",
        "\u{0}",
        "\r\n",
        "\n\n",
        "AKIAIOSFODNN7EXAMPLE",
        "ops@example.com",
        "Authorization: Basic abc",
        "[REDACTED:email]",
        "[REDACTED:",
        "[U+200B]",
        "😀",
        "\"",
        "<script>",
    ];
    prop::collection::vec(
        prop_oneof![
            3 => any::<char>().prop_map(String::from),
            2 => prop::sample::select(fragments).prop_map(String::from),
            2 => "[a-z ]{1,8}",
        ],
        0..max,
    )
    .prop_map(|p| p.concat())
}

fn finding() -> impl Strategy<Value = Finding> {
    (
        "[A-Za-z0-9_.:-]{1,40}",
        untrusted(12),
        0..5usize,
        0..5usize,
        "[a-z0-9_]{0,30}",
        "[a-z0-9_]{0,30}",
        prop::collection::vec("[A-Za-z0-9_ \u{200B}-]{0,20}[A-Za-z0-9]", 0..6),
        untrusted(60),
        prop::option::of("[a-z0-9_/]{0,20}"),
    )
        .prop_map(
            |(id, title, sev, st, probe, scan, frameworks, excerpt, url)| {
                let mut f = Finding::new(
                    FindingId::new(id).unwrap(),
                    format!("T{title}"),
                    Severity::ALL[sev],
                    FindingState::ALL[st],
                )
                .unwrap()
                .with_probe(probe)
                .with_scan(scan)
                .with_frameworks(frameworks)
                .with_excerpt(excerpt);
                if let Some(u) = url {
                    f = f.with_url(Href::new(&format!("https://penaxtra.com/app/{u}")).unwrap());
                }
                f
            },
        )
}

/// The text of the block quote in an ADF description.
fn adf_quote(d: &Description) -> Option<String> {
    let Description::Adf(doc) = d else {
        return None;
    };
    doc.content.iter().find_map(|b| match b {
        Block::Blockquote { .. } => Some(b.plain_text()),
        _ => None,
    })
}

/// The body of the `{quote}` block in a wiki description.
fn wiki_quote(d: &Description) -> Option<String> {
    let Description::Wiki(w) = d else { return None };
    let start = w.find("{quote}\n")? + "{quote}\n".len();
    let len = w[start..].find("\n{quote}")?;
    Some(w[start..start + len].to_string())
}

/// A valid table: each state gets distinct status and resolution names.
fn table() -> impl Strategy<Value = StateTable> {
    (
        prop::collection::vec("[A-Za-z][A-Za-z' ]{0,12}", 5),
        prop::collection::vec(prop::option::of("[A-Za-z][A-Za-z' ]{0,12}"), 3),
        any::<bool>(),
        prop::sample::select(vec![
            StatusCategoryKey::New,
            StatusCategoryKey::Indeterminate,
        ]),
    )
        .prop_filter_map(
            "names must be distinct",
            |(statuses, resolutions, refine, cat)| {
                let mut rows = BTreeMap::new();
                let mut res = resolutions.into_iter();
                for (state, status) in FindingState::ALL.into_iter().zip(statuses) {
                    let row = if state.is_terminal() {
                        let mut r = StateRow::new(status, StatusCategoryKey::Done);
                        if let Some(Some(name)) = res.next() {
                            r = r.with_resolution(name);
                        }
                        if refine && state == FindingState::Resolved {
                            r = r.refined_by_resolution();
                        }
                        r
                    } else {
                        StateRow::new(status, cat.clone())
                    };
                    rows.insert(state, row);
                }
                StateTable::new(rows).ok()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn the_state_table_round_trips_every_state(t in table()) {
        for state in FindingState::ALL {
            let target = t.to_jira(state);
            prop_assert_eq!(t.from_jira(&target.status, target.resolution.as_deref(), &target.category), Some(state));
            prop_assert_eq!(t.is_terminal(state), state.is_terminal());
        }
    }

    #[test]
    fn the_default_table_reads_any_status_without_panicking(
        status in ".{0,20}", resolution in prop::option::of(".{0,20}"),
        category in prop::sample::select(vec!["new", "indeterminate", "done", "undefined", "odd"]),
    ) {
        let t = StateTable::default();
        let got = t.from_jira(&status, resolution.as_deref(), &StatusCategoryKey::parse(category));
        if category == "done" {
            prop_assert!(got.is_some_and(FindingState::is_terminal), "{:?}", got);
        }
    }

    #[test]
    fn parsing_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), cut in 0usize..400) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_findings(&text);
        // Cut-off and spliced versions of a valid document.
        let good = r#"[{"id":"fnd_1","title":"t","severity":"high","state":"open","frameworks":["a"],"excerpt":"x"}]"#;
        let head = &good[..cut.min(good.len())];
        match parse_findings(&format!("{head}{text}")) {
            Ok(v) => prop_assert!(v.len() <= 1 || head.is_empty()),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn rendering_never_panics_and_cloud_output_is_valid_adf(f in finding()) {
        let t = IssueTemplate::default();
        for flavor in [Flavor::Cloud, Flavor::DataCenter] {
            let r = t.render(&f, flavor).unwrap();
            prop_assert!(check_summary(&r.fields.summary).is_ok());
            for l in &r.fields.labels {
                prop_assert!(check_label(l).is_ok(), "{:?}", l);
            }
            prop_assert_eq!(r.fields.labels.last(), Some(&dedup_label(&f.id)));
            let json = serde_json::to_value(&r).unwrap();
            match r.fields.description.as_ref().unwrap() {
                Description::Adf(doc) => {
                    prop_assert!(doc.validate().is_ok(), "{:?}", doc.validate());
                    let errors = adf_errors(&json["fields"]["description"]);
                    prop_assert!(errors.is_empty(), "{:#?}", errors);
                    prop_assert!(utf16_len(&serde_json::to_string(doc).unwrap()) <= TEXT_MAX);
                    prop_assert!(!doc.plain_text().chars().any(jira_model::text::is_invisible));
                }
                Description::Wiki(w) => {
                    prop_assert!(utf16_len(w) <= TEXT_MAX);
                    prop_assert!(!w.chars().any(jira_model::text::is_invisible));
                }
            }
        }
    }

    #[test]
    fn any_excerpt_renders_literally_in_both_flavors(f in finding()) {
        let t = IssueTemplate::default();
        let expected = normalize_newlines(&neutralize_invisible(&t.redactor().redact(&f.excerpt))).into_owned();
        for flavor in [Flavor::Cloud, Flavor::DataCenter] {
            let r = t.render(&f, flavor).unwrap();
            let d = r.fields.description.as_ref().unwrap();
            if expected.is_empty() {
                prop_assert!(adf_quote(d).is_none() && wiki_quote(d).is_none());
                continue;
            }
            match flavor {
                Flavor::Cloud => prop_assert_eq!(adf_quote(d), Some(expected.clone())),
                Flavor::DataCenter => {
                    prop_assert_eq!(wiki_quote(d), Some(wiki::escape(&expected).into_string()));
                }
            }
        }
    }

    #[test]
    fn redaction_is_idempotent(s in untrusted(80)) {
        let r = Redactor::default();
        let once = r.redact(&s).into_owned();
        prop_assert_eq!(r.redact(&once).into_owned(), once.clone());
        prop_assert!(!once.contains("AKIAIOSFODNN7EXAMPLE"));
        prop_assert!(!once.contains("ops@example.com"));
    }

    #[test]
    fn dedup_labels_tell_findings_apart(a in "[A-Za-z0-9_.:-]{1,30}", b in "[A-Za-z0-9_.:-]{1,30}") {
        let (la, lb) = (dedup_label(&FindingId::new(a.clone()).unwrap()), dedup_label(&FindingId::new(b.clone()).unwrap()));
        prop_assert!(check_label(&la).is_ok());
        prop_assert_eq!(la.eq_ignore_ascii_case(&lb), a == b);
    }
}
