//! All mapping settings in one value, as a host reads them from a file.

use crate::{
    InboundPolicy, IssueTemplate, MappingError, RouteConfig, Routes, Rule, StateTable,
    TemplateConfig,
};
use serde::{Deserialize, Serialize};

/// Every mapping setting; each section defaults to the product page's
/// behaviour, so an empty file is the default integration.
///
/// ```toml
/// inbound = "terminal_only"   # or "all"
///
/// [rule]
/// min_severity = "high"
/// states = ["open"]
///
/// [template]
/// project_key = "SEC"
/// issue_type = "Bug"
///
/// [[routes]]                    # first match wins; none: the template's
/// name = "ml-platform"
/// match = { min_severity = "high", tags = { team = "ml-platform" } }
/// project_key = "OPS"
/// components = ["Model Serving"]
///
/// [states.accepted]
/// status = "Won't Do"
/// resolution = "Won't Do"
/// category = "done"
/// ```
///
/// See [`Rule`], [`TemplateConfig`], [`RouteConfig`] and [`StateTable`]
/// for their keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MappingConfig {
    /// Which findings open issues.
    pub rule: Rule,
    /// How issues look.
    pub template: TemplateConfig,
    /// Where issues go, first match wins (`[[routes]]`).
    pub routes: Vec<RouteConfig>,
    /// Finding states ↔ Jira statuses.
    pub states: StateTable,
    /// Which Jira changes flow back.
    pub inbound: InboundPolicy,
}

/// Checked settings, ready to use.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Mapping {
    /// Which findings open issues.
    pub rule: Rule,
    /// How issues look, and where they go (its [`IssueTemplate::routes`]).
    pub template: IssueTemplate,
    /// Finding states ↔ Jira statuses.
    pub states: StateTable,
    /// Which Jira changes flow back.
    pub inbound: InboundPolicy,
}

impl MappingConfig {
    /// Checks the settings and builds the template.
    ///
    /// # Errors
    /// [`MappingError::Config`] naming the first bad setting (see
    /// [`Rule::check`], [`IssueTemplate::new`] and [`Routes::new`]).
    pub fn build(self) -> Result<Mapping, MappingError> {
        self.rule.check()?;
        Ok(Mapping {
            template: IssueTemplate::new(self.template)?.with_routes(Routes::new(self.routes)?),
            rule: self.rule,
            states: self.states,
            inbound: self.inbound,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_settings_are_the_default() {
        let c: MappingConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, MappingConfig::default());
        let m = c.build().unwrap();
        assert_eq!(m.template.project_key(), "SEC");
        assert_eq!(m.inbound, InboundPolicy::TerminalOnly);
        assert_eq!(m.rule, Rule::default());
    }

    #[test]
    fn routes_are_read_in_order_and_checked() {
        let c: MappingConfig = serde_json::from_str(
            r#"{"routes":[{"name":"a","match":{"severities":["critical"]},"project_key":"OPS"},
                          {"name":"b","components":["Gateway"]}]}"#,
        )
        .unwrap();
        let m = c.build().unwrap();
        let names: Vec<&str> = m.template.routes().iter().map(|r| r.name()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(m.template.project_keys(), ["SEC", "OPS"]);
        let c: MappingConfig =
            serde_json::from_str(r#"{"routes":[{"name":"a","project_key":"ops"}]}"#).unwrap();
        assert!(
            c.build()
                .unwrap_err()
                .to_string()
                .contains("routes[0].project_key")
        );
        assert!(serde_json::from_str::<MappingConfig>(r#"{"routes":[{"nme":"a"}]}"#).is_err());
    }

    #[test]
    fn bad_settings_are_named() {
        assert!(serde_json::from_str::<MappingConfig>(r#"{"rules":{}}"#).is_err());
        let c: MappingConfig = serde_json::from_str(r#"{"rule":{"states":[]}}"#).unwrap();
        assert!(c.build().unwrap_err().to_string().contains("rule.states"));
        let c: MappingConfig = serde_json::from_str(r#"{"template":{"project_key":"x"}}"#).unwrap();
        assert!(
            c.build()
                .unwrap_err()
                .to_string()
                .contains("template.project_key")
        );
    }
}
