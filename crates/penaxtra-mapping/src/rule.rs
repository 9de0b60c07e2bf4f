//! Which findings become Jira issues.

use crate::{Finding, FindingState, MappingError, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// An include/exclude filter on ids such as probe ids or framework
/// references. Entries compare without regard to ASCII case; an entry
/// ending in `*` matches every value starting with the rest
/// (`OWASP_LLM*`). An empty `include` lets everything in; `exclude` wins
/// over `include`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Filter {
    /// Values let in (all when empty).
    pub include: Vec<String>,
    /// Values kept out.
    pub exclude: Vec<String>,
}

pub(crate) fn entry_matches(entry: &str, value: &str) -> bool {
    let entry = entry.trim();
    let value = value.trim();
    match entry.strip_suffix('*') {
        Some(prefix) => value
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix)),
        None => entry.eq_ignore_ascii_case(value),
    }
}

impl Filter {
    /// A filter from its lists.
    pub fn new<I, E, S, T>(include: I, exclude: E) -> Self
    where
        I: IntoIterator<Item = S>,
        E: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        Self {
            include: include.into_iter().map(Into::into).collect(),
            exclude: exclude.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether one value passes: included (or no include list) and not
    /// excluded.
    pub fn allows(&self, value: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|e| entry_matches(e, value)))
            && !self.exclude.iter().any(|e| entry_matches(e, value))
    }

    /// Whether a set of values passes: at least one included (or no
    /// include list) and none excluded.
    pub fn allows_set(&self, values: &[String]) -> bool {
        (self.include.is_empty()
            || values
                .iter()
                .any(|v| self.include.iter().any(|e| entry_matches(e, v))))
            && !values
                .iter()
                .any(|v| self.exclude.iter().any(|e| entry_matches(e, v)))
    }

    pub(crate) fn check(&self, field: &str) -> Result<(), MappingError> {
        for e in self.include.iter().chain(&self.exclude) {
            if e.trim().is_empty() || e.trim() == "*" && self.exclude.contains(e) {
                return Err(MappingError::config(
                    field,
                    format!("{e:?} is not a useful entry (empty, or an exclude of everything)"),
                ));
            }
        }
        Ok(())
    }
}

/// The mapping rule: which findings open a Jira issue. The default is the
/// product page's: severity at least `high` and state `open`, any probe, any
/// framework.
///
/// ```toml
/// min_severity = "high"
/// states = ["open"]
/// probes = { include = [], exclude = ["canary_*"] }
/// frameworks = { include = ["OWASP_LLM*"], exclude = [] }
/// ```
///
/// ```
/// use penaxtra_mapping::{Finding, FindingId, FindingState, Rule, Severity};
/// let f = Finding::new(FindingId::new("f1")?, "t", Severity::Critical, FindingState::Open)?;
/// assert!(Rule::default().matches(&f));
/// let mut medium = f.clone();
/// medium.severity = Severity::Medium;
/// assert!(!Rule::default().matches(&medium));
/// # Ok::<(), penaxtra_mapping::MappingError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Rule {
    /// The lowest severity that matches.
    pub min_severity: Severity,
    /// The states that match.
    pub states: BTreeSet<FindingState>,
    /// Filter on the probe id.
    pub probes: Filter,
    /// Filter on the framework references.
    pub frameworks: Filter,
}

impl Default for Rule {
    fn default() -> Self {
        Self {
            min_severity: Severity::High,
            states: BTreeSet::from([FindingState::Open]),
            probes: Filter::default(),
            frameworks: Filter::default(),
        }
    }
}

impl Rule {
    /// With this minimum severity (default high).
    pub fn with_min_severity(mut self, severity: Severity) -> Self {
        self.min_severity = severity;
        self
    }
    /// With these states (default: open only; an empty set is refused by
    /// [`Rule::check`]).
    pub fn with_states(mut self, states: impl IntoIterator<Item = FindingState>) -> Self {
        self.states = states.into_iter().collect();
        self
    }
    /// With this probe filter (default: every probe).
    pub fn with_probes(mut self, filter: Filter) -> Self {
        self.probes = filter;
        self
    }
    /// With this framework filter (default: every framework).
    pub fn with_frameworks(mut self, filter: Filter) -> Self {
        self.frameworks = filter;
        self
    }

    /// Whether the finding opens an issue.
    pub fn matches(&self, finding: &Finding) -> bool {
        finding.severity >= self.min_severity
            && self.states.contains(&finding.state)
            && self.probes.allows(&finding.probe_id)
            && self.frameworks.allows_set(&finding.frameworks)
    }

    /// Checks that the rule can match something.
    ///
    /// # Errors
    /// [`MappingError::Config`] when `states` is empty or a filter holds an
    /// empty entry or excludes everything.
    pub fn check(&self) -> Result<(), MappingError> {
        if self.states.is_empty() {
            return Err(MappingError::config(
                "rule.states",
                "is empty, so no finding would ever match; list at least one state",
            ));
        }
        self.probes.check("rule.probes")?;
        self.frameworks.check("rule.frameworks")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FindingId;

    fn finding(severity: Severity, state: FindingState) -> Finding {
        Finding::new(FindingId::new("f").unwrap(), "t", severity, state)
            .unwrap()
            .with_probe("rag_indirect_v2")
            .with_frameworks(["OWASP_LLM01", "EU_AI_ACT_Art15"])
    }

    #[test]
    fn default_is_high_or_worse_and_open() {
        let r = Rule::default();
        for s in Severity::ALL {
            for st in FindingState::ALL {
                let want = s >= Severity::High && st == FindingState::Open;
                assert_eq!(r.matches(&finding(s, st)), want, "{s} {st}");
            }
        }
        r.check().unwrap();
    }

    #[test]
    fn filters() {
        let f = finding(Severity::High, FindingState::Open);
        let r = |rule: Rule| rule.matches(&f);
        assert!(r(
            Rule::default().with_probes(Filter::new(["RAG_*"], Vec::<String>::new()))
        ));
        assert!(!r(Rule::default().with_probes(Filter::new(
            ["jailbreak_*"],
            Vec::<String>::new()
        ))));
        assert!(!r(
            Rule::default().with_probes(Filter::new(["rag_*"], ["rag_indirect_v2"]))
        ));
        assert!(r(Rule::default().with_frameworks(Filter::new(
            ["owasp_llm01"],
            Vec::<String>::new()
        ))));
        assert!(!r(Rule::default().with_frameworks(Filter::new(
            ["OWASP_LLM02"],
            Vec::<String>::new()
        ))));
        assert!(!r(
            Rule::default().with_frameworks(Filter::new(Vec::<String>::new(), ["EU_*"]))
        ));
        assert!(r(Rule::default()
            .with_min_severity(Severity::Info)
            .with_states([FindingState::Open])));
        let bare = Finding::new(
            FindingId::new("g").unwrap(),
            "t",
            Severity::High,
            FindingState::Open,
        )
        .unwrap();
        assert!(
            !Rule::default()
                .with_frameworks(Filter::new(["OWASP_*"], Vec::<String>::new()))
                .matches(&bare)
        );
        assert!(
            Rule::default()
                .with_frameworks(Filter::new(Vec::<String>::new(), ["OWASP_*"]))
                .matches(&bare)
        );
    }

    #[test]
    fn serde_and_checks() {
        let r: Rule = serde_json::from_str(
            r#"{"min_severity":"medium","states":["open","triaged"],"probes":{"exclude":["canary_*"]}}"#,
        )
        .unwrap();
        assert_eq!(r.min_severity, Severity::Medium);
        assert_eq!(r.states.len(), 2);
        assert!(serde_json::from_str::<Rule>(r#"{"min_severty":"low"}"#).is_err());
        let e = serde_json::from_str::<Rule>(r#"{"min_severity":"urgent"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown severity \"urgent\""), "{e}");
        assert_eq!(
            Rule::default().with_states([]).check().unwrap_err().code(),
            "invalid_config"
        );
        assert!(
            Rule::default()
                .with_probes(Filter::new([""], Vec::<String>::new()))
                .check()
                .is_err()
        );
        assert!(
            Rule::default()
                .with_probes(Filter::new(Vec::<String>::new(), ["*"]))
                .check()
                .is_err()
        );
        assert_eq!(
            serde_json::from_value::<Rule>(serde_json::to_value(Rule::default()).unwrap()).unwrap(),
            Rule::default()
        );
    }
}
