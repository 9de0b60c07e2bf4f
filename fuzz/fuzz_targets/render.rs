//! Rendering arbitrary findings in both flavors: never panics, and what
//! comes out is within Jira's limits with the excerpt quoted literally.

#![no_main]

use jira_model::limits::{TEXT_MAX, utf16_len};
use jira_model::{Description, Flavor};
use libfuzzer_sys::fuzz_target;
use penaxtra_mapping::{Finding, FindingId, FindingState, IssueTemplate, Severity};
use std::sync::OnceLock;

fn template() -> &'static IssueTemplate {
    static T: OnceLock<IssueTemplate> = OnceLock::new();
    T.get_or_init(IssueTemplate::default)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\u{1F}');
    let title = parts.next().unwrap_or_default();
    let excerpt = parts.next().unwrap_or_default();
    let framework = parts.next().unwrap_or_default();
    let probe = parts.next().unwrap_or_default();
    let Ok(finding) = Finding::new(
        FindingId::new("fnd_fuzz_1").expect("valid id"),
        title,
        Severity::Critical,
        FindingState::Open,
    ) else {
        return; // a blank title is refused with a typed error
    };
    let finding = finding
        .with_excerpt(excerpt)
        .with_frameworks([framework])
        .with_probe(probe);
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let Ok(request) = template().render(&finding, flavor) else {
            continue; // invalid frameworks or probe: a typed error
        };
        assert!(utf16_len(&request.fields.summary) < 255);
        assert!(!request.fields.summary.contains('\n'));
        match request.fields.description.as_ref().expect("a description") {
            Description::Adf(doc) => {
                assert!(doc.validate().is_ok());
                let json = serde_json::to_string(doc).expect("serialises");
                assert!(utf16_len(&json) <= TEXT_MAX);
            }
            Description::Wiki(w) => {
                assert!(utf16_len(w) <= TEXT_MAX);
                assert_eq!(w.matches("{quote}").count() % 2, 0);
            }
        }
        serde_json::to_vec(&request).expect("serialises");
    }
});
