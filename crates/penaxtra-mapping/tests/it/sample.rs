//! The shared sample findings file, rendered for both flavors.

use crate::schema::assert_valid_adf;
use jira_model::limits::{TEXT_MAX, check_label, check_summary, utf16_len};
use jira_model::{Description, Flavor};
use penaxtra_mapping::{
    FindingState, IssueTemplate, MappingConfig, Rule, Severity, parse_findings, render_all,
};

const SAMPLE: &str = include_str!("../../../../examples/findings.sample.json");

#[test]
fn the_sample_parses() {
    let findings = parse_findings(SAMPLE).unwrap();
    assert!((8..=10).contains(&findings.len()));
    for s in [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ] {
        assert!(findings.iter().any(|f| f.severity == s), "no {s} finding");
    }
    for st in FindingState::ALL {
        assert!(findings.iter().any(|f| f.state == st), "no {st} finding");
    }
    let matching: Vec<&str> = findings
        .iter()
        .filter(|f| Rule::default().matches(f))
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(
        matching,
        [
            "fnd_2026_000123",
            "fnd_2026_000124",
            "fnd_2026_000126",
            "fnd_2026_000130"
        ]
    );
}

#[test]
fn every_sample_request_is_valid_for_jira() {
    let findings = parse_findings(SAMPLE).unwrap();
    let mapping = MappingConfig::default().build().unwrap();
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let out = render_all(&findings, &mapping.rule, &mapping.template, flavor).unwrap();
        assert_eq!(out.len(), findings.len());
        for (issue, finding) in out.iter().zip(&findings) {
            assert_eq!(issue.finding_id, finding.id);
            let fields = &issue.request.fields;
            check_summary(&fields.summary).unwrap();
            fields.labels.iter().for_each(|l| check_label(l).unwrap());
            let json = serde_json::to_value(&issue.request).unwrap();
            match (&fields.description, flavor) {
                (Some(Description::Adf(doc)), Flavor::Cloud) => {
                    doc.validate().unwrap();
                    assert_valid_adf(&json["fields"]["description"]);
                    assert!(utf16_len(&serde_json::to_string(doc).unwrap()) <= TEXT_MAX);
                }
                (Some(Description::Wiki(w)), Flavor::DataCenter) => {
                    assert!(utf16_len(w) <= TEXT_MAX)
                }
                other => panic!("{flavor}: wrong description {other:?}"),
            }
        }
    }
}

#[test]
fn secrets_in_the_sample_never_reach_jira() {
    let findings = parse_findings(SAMPLE).unwrap();
    let template = IssueTemplate::default();
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let body = serde_json::to_string(
            &render_all(&findings, &Rule::default(), &template, flavor).unwrap(),
        )
        .unwrap();
        for secret in [
            "sk-proj-Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2Rl",
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "c3ZjLWJvdDpQQHNzdzByZCE=",
            "hr-archive@exfil.example",
            "jane.doe@example.com",
            "4111 1111 1111 1111",
        ] {
            assert!(!body.contains(secret), "{flavor}: {secret} leaked");
        }
        // Hidden tag characters and the bidi override are shown, not hidden.
        assert!(
            !body.contains('\u{202E}') && !body.contains('\u{E0049}'),
            "{flavor}"
        );
        assert!(
            body.contains("202E]") || body.contains("202E&#93;"),
            "{flavor}"
        );
        assert!(
            body.contains("E0049]") || body.contains("E0049&#93;"),
            "{flavor}"
        );
    }
}

#[test]
fn markup_in_the_sample_stays_text_in_wiki() {
    let findings = parse_findings(SAMPLE).unwrap();
    let f = findings
        .iter()
        .find(|f| f.id.as_str() == "fnd_2026_000132")
        .unwrap();
    let r = IssueTemplate::default()
        .render(f, Flavor::DataCenter)
        .unwrap();
    let Some(Description::Wiki(w)) = &r.fields.description else {
        panic!()
    };
    // Only the template's own macro, link and effects are live.
    // {{probe}}, {{scan}}, {{finding}} and the two {quote} tags.
    assert_eq!(w.matches('{').count(), 2 + 2 + 2 + 2, "{w}");
    assert_eq!(w.matches("{quote}").count(), 2);
    assert_eq!(w.matches('[').count(), 1, "{w}");
    assert!(!w.contains("<script>") && !w.contains("{html}") && !w.contains("{noformat}"));
    assert!(!w.lines().any(|l| l.trim_start().starts_with("h1.")));
}
