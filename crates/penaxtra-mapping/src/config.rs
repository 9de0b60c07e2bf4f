//! All mapping settings in one value, as a host reads them from a file.

use crate::{InboundPolicy, IssueTemplate, MappingError, Rule, StateTable, TemplateConfig};
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
/// [states.accepted]
/// status = "Won't Do"
/// resolution = "Won't Do"
/// category = "done"
/// ```
///
/// See [`Rule`], [`TemplateConfig`] and [`StateTable`] for their keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MappingConfig {
    /// Which findings open issues.
    pub rule: Rule,
    /// How issues look.
    pub template: TemplateConfig,
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
    /// How issues look.
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
    /// [`Rule::check`] and [`IssueTemplate::new`]).
    pub fn build(self) -> Result<Mapping, MappingError> {
        self.rule.check()?;
        Ok(Mapping {
            template: IssueTemplate::new(self.template)?,
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
