//! Rendering a batch of findings the way the `render` example prints them.

use crate::{Finding, FindingId, IssueTemplate, MappingError, Rule};
use jira_model::{CreateIssueRequest, Flavor};
use serde::Serialize;

/// One finding's outcome: whether the rule picks it, and the exact body of
/// `POST /rest/api/{3|2}/issue` the template makes for it (made whether or
/// not the rule matches, so a reviewer sees both).
///
/// Serialises as `{"finding_id":"...","matches_rule":true,"request":{...}}`.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RenderedIssue {
    /// The finding id.
    pub finding_id: FindingId,
    /// Whether the mapping rule matches the finding.
    pub matches_rule: bool,
    /// The create request.
    pub request: CreateIssueRequest,
}

/// Renders every finding, in order.
///
/// # Errors
/// The first error of [`IssueTemplate::render`].
pub fn render_all(
    findings: &[Finding],
    rule: &Rule,
    template: &IssueTemplate,
    flavor: Flavor,
) -> Result<Vec<RenderedIssue>, MappingError> {
    findings
        .iter()
        .map(|f| {
            Ok(RenderedIssue {
                finding_id: f.id.clone(),
                matches_rule: rule.matches(f),
                request: template.render(f, flavor)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_findings;
    use serde_json::json;

    #[test]
    fn one_element_per_finding_with_the_rule_outcome() {
        let findings = parse_findings(
            r#"[{"id":"a","title":"A","severity":"critical","state":"open"},
                {"id":"b","title":"B","severity":"low","state":"open"}]"#,
        )
        .unwrap();
        let out = render_all(
            &findings,
            &Rule::default(),
            &IssueTemplate::default(),
            Flavor::Cloud,
        )
        .unwrap();
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
        assert_eq!(v[0]["finding_id"], "a");
        assert_eq!(v[0]["matches_rule"], true);
        assert_eq!(v[1]["matches_rule"], false);
        assert_eq!(v[1]["request"]["fields"]["summary"], "[Penaxtra] B");
        assert_eq!(
            v[0]["request"]["fields"]["description"]["type"],
            json!("doc")
        );
    }
}
