//! Routes: which project, issue type, components, assignee and extra
//! labels a finding's issue gets, decided by the first route that matches.

use crate::rule::entry_matches;
use crate::{Filter, Finding, FindingState, MappingError, Severity};
use jira_model::limits::check_label;
use jira_model::{Flavor, ProjectKey, UserRef};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What a route matches. Every key is optional and every key given must
/// hold; an empty match matches every finding.
///
/// ```toml
/// min_severity = "high"             # at least
/// severities = ["critical"]         # exactly one of these
/// states = ["open", "triaged"]
/// probes = { include = ["rag_*"] }
/// scans = { include = ["scn_2026_*"] }
/// frameworks = { include = ["OWASP_LLM0*"], exclude = [] }
/// tags = { team = "ml-platform", asset = "support-*" }
/// ```
///
/// Filters and tag values compare without regard to ASCII case, and an
/// entry ending in `*` matches every value starting with the rest (as in
/// [`Filter`]). A tag listed here must be on the finding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RouteMatch {
    /// The lowest severity that matches (`None`: any).
    pub min_severity: Option<Severity>,
    /// The severities that match (empty: any).
    pub severities: BTreeSet<Severity>,
    /// The states that match (empty: any).
    pub states: BTreeSet<FindingState>,
    /// Filter on the probe id.
    pub probes: Filter,
    /// Filter on the scan id.
    pub scans: Filter,
    /// Filter on the framework references.
    pub frameworks: Filter,
    /// Tags the finding must carry, name → value pattern.
    pub tags: BTreeMap<String, String>,
}

impl RouteMatch {
    /// Whether the finding matches.
    pub fn matches(&self, finding: &Finding) -> bool {
        self.min_severity.is_none_or(|min| finding.severity >= min)
            && (self.severities.is_empty() || self.severities.contains(&finding.severity))
            && (self.states.is_empty() || self.states.contains(&finding.state))
            && self.probes.allows(&finding.probe_id)
            && self.scans.allows(&finding.scan_id)
            && self.frameworks.allows_set(&finding.frameworks)
            && self.tags.iter().all(|(name, pattern)| {
                finding
                    .tags
                    .get(name)
                    .is_some_and(|value| entry_matches(pattern, value))
            })
    }
}

/// One route as written in the mapping configuration (`[[routes]]`).
/// Unset targets keep the template's: a route that sets only `assignee`
/// sends the finding to the template's project and issue type.
///
/// ```toml
/// [[routes]]
/// name = "ml-platform"
/// match = { min_severity = "high", tags = { team = "ml-platform" } }
/// project_key = "OPS"
/// issue_type = "Security"
/// components = ["Model Serving"]
/// assignee = "5f5e1a0c0000000000000002"   # accountId on Cloud, user name on Data Center
/// labels = ["team-ml"]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RouteConfig {
    /// A name for logs and previews (required, unique).
    pub name: String,
    /// Which findings take this route.
    #[serde(rename = "match")]
    pub when: RouteMatch,
    /// The project's key (default: the template's).
    pub project_key: Option<String>,
    /// The issue type's name (default: the template's).
    pub issue_type: Option<String>,
    /// Components by name (default: none).
    pub components: Vec<String>,
    /// The assignee: an account id on Jira Cloud, a user name on Data
    /// Center (default: none, Jira's default assignee).
    pub assignee: Option<String>,
    /// Labels added to the template's (default: none).
    pub labels: Vec<String>,
}

impl RouteConfig {
    /// A route with this name that matches every finding and changes
    /// nothing yet.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
    /// Matching this.
    pub fn when(mut self, when: RouteMatch) -> Self {
        self.when = when;
        self
    }
    /// To this project.
    pub fn project(mut self, key: impl Into<String>) -> Self {
        self.project_key = Some(key.into());
        self
    }
    /// As this issue type.
    pub fn issue_type(mut self, name: impl Into<String>) -> Self {
        self.issue_type = Some(name.into());
        self
    }
    /// With these components.
    pub fn components<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.components = names.into_iter().map(Into::into).collect();
        self
    }
    /// Assigned to this account id (Cloud) or user name (Data Center).
    pub fn assignee(mut self, who: impl Into<String>) -> Self {
        self.assignee = Some(who.into());
        self
    }
    /// With these extra labels.
    pub fn labels<I: IntoIterator<Item = S>, S: Into<String>>(mut self, labels: I) -> Self {
        self.labels = labels.into_iter().map(Into::into).collect();
        self
    }
}

/// A checked route: what [`crate::IssueTemplate`] applies to the findings
/// it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    name: String,
    when: RouteMatch,
    project_key: Option<String>,
    issue_type: Option<String>,
    components: Vec<String>,
    assignee: Option<String>,
    labels: Vec<String>,
}

impl Route {
    /// The route's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// What it matches.
    pub fn when(&self) -> &RouteMatch {
        &self.when
    }
    /// Its project, when it sets one.
    pub fn project_key(&self) -> Option<&str> {
        self.project_key.as_deref()
    }
    /// Its issue type, when it sets one.
    pub fn issue_type(&self) -> Option<&str> {
        self.issue_type.as_deref()
    }
    /// Its components.
    pub fn components(&self) -> &[String] {
        &self.components
    }
    /// Its extra labels.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }
    /// Its assignee as the flavor's API takes it: `accountId` on Cloud,
    /// `name` on Data Center.
    pub fn assignee(&self, flavor: Flavor) -> Option<UserRef> {
        let who = self.assignee.clone()?;
        Some(match flavor {
            Flavor::Cloud => UserRef::AccountId(who),
            Flavor::DataCenter => UserRef::Name(who),
        })
    }
}

/// The ordered routes of a mapping: the first that matches a finding
/// decides; a finding no route matches takes the default route, which is
/// the template as configured.
///
/// A finding keeps its issue when its route changes later (its severity or
/// tags change): deduplication is per finding, across every route's
/// project, and the issue is not moved (moving issues between projects is
/// out of scope).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    routes: Vec<Route>,
}

fn one_line(field: &str, value: &str) -> Result<String, MappingError> {
    let v = value.trim();
    if v.is_empty() || v.chars().any(char::is_control) || v.chars().count() > 255 {
        return Err(MappingError::config(
            field,
            "must be one line of 1 to 255 characters",
        ));
    }
    Ok(v.to_string())
}

impl Routes {
    /// Checks routes, in order.
    ///
    /// # Errors
    /// [`MappingError::Config`] naming the setting (`routes[2].project_key`):
    /// an empty or repeated name, a project key Jira would not accept, an
    /// empty issue type, component or assignee, a label with whitespace or
    /// one that poses as a dedup label, a useless filter.
    pub fn new(configs: Vec<RouteConfig>) -> Result<Self, MappingError> {
        let mut routes: Vec<Route> = Vec::with_capacity(configs.len());
        for (i, c) in configs.into_iter().enumerate() {
            let at = |key: &str| format!("routes[{i}].{key}");
            let name = one_line(&at("name"), &c.name)?;
            if routes.iter().any(|r| r.name.eq_ignore_ascii_case(&name)) {
                return Err(MappingError::config(
                    at("name"),
                    format!("{name:?} names an earlier route too"),
                ));
            }
            c.when.probes.check(&at("match.probes"))?;
            c.when.scans.check(&at("match.scans"))?;
            c.when.frameworks.check(&at("match.frameworks"))?;
            for (tag, pattern) in &c.when.tags {
                one_line(&at("match.tags"), tag)?;
                one_line(&at(&format!("match.tags.{tag}")), pattern)?;
            }
            let project_key = c
                .project_key
                .as_deref()
                .map(|k| {
                    ProjectKey::new(k.trim())
                        .map(|k| k.to_string())
                        .map_err(|e| MappingError::config(at("project_key"), e.to_string()))
                })
                .transpose()?;
            let issue_type = c
                .issue_type
                .as_deref()
                .map(|t| one_line(&at("issue_type"), t))
                .transpose()?;
            let components = c
                .components
                .iter()
                .map(|n| one_line(&at("components"), n))
                .collect::<Result<Vec<_>, _>>()?;
            let assignee = c
                .assignee
                .as_deref()
                .map(|a| one_line(&at("assignee"), a))
                .transpose()?;
            for l in &c.labels {
                crate::template::check_extra_label(&at("labels"), l)?;
                check_label(l).map_err(|e| MappingError::config(at("labels"), e.to_string()))?;
            }
            routes.push(Route {
                name,
                when: c.when,
                project_key,
                issue_type,
                components,
                assignee,
                labels: c.labels,
            });
        }
        Ok(Self { routes })
    }

    /// The routes, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }

    /// Whether there is no route (every finding takes the default).
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The first route that matches the finding; `None` for the default
    /// route.
    pub fn pick(&self, finding: &Finding) -> Option<&Route> {
        self.routes.iter().find(|r| r.when.matches(finding))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FindingId;

    fn finding(severity: Severity) -> Finding {
        Finding::new(
            FindingId::new("f").unwrap(),
            "t",
            severity,
            FindingState::Open,
        )
        .unwrap()
        .with_probe("rag_indirect_v2")
        .with_scan("scn_1")
        .with_frameworks(["OWASP_LLM01"])
        .with_tag("team", "ML-Platform")
    }

    #[test]
    fn every_key_of_a_match_must_hold() {
        let f = finding(Severity::High);
        assert!(RouteMatch::default().matches(&f));
        let m = |json: &str| {
            serde_json::from_str::<RouteMatch>(json)
                .unwrap()
                .matches(&f)
        };
        assert!(m(r#"{"min_severity":"high"}"#));
        assert!(!m(r#"{"min_severity":"critical"}"#));
        assert!(m(r#"{"severities":["high","low"]}"#));
        assert!(!m(r#"{"severities":["critical"]}"#));
        assert!(m(r#"{"states":["open"]}"#));
        assert!(!m(r#"{"states":["triaged"]}"#));
        assert!(m(r#"{"probes":{"include":["rag_*"]}}"#));
        assert!(!m(r#"{"probes":{"include":["jail*"]}}"#));
        assert!(m(r#"{"scans":{"include":["SCN_1"]}}"#));
        assert!(!m(r#"{"scans":{"exclude":["scn_*"]}}"#));
        assert!(m(r#"{"frameworks":{"include":["owasp_llm01"]}}"#));
        assert!(!m(r#"{"frameworks":{"include":["OWASP_LLM02"]}}"#));
        assert!(m(r#"{"tags":{"team":"ml-platform"}}"#));
        assert!(m(r#"{"tags":{"team":"ml-*"}}"#));
        assert!(!m(r#"{"tags":{"team":"web"}}"#));
        assert!(
            !m(r#"{"tags":{"asset":"*"}}"#),
            "a listed tag must be present"
        );
        assert!(!m(r#"{"min_severity":"high","tags":{"team":"web"}}"#));
        assert!(serde_json::from_str::<RouteMatch>(r#"{"severity":"high"}"#).is_err());
    }

    #[test]
    fn first_match_wins_and_no_match_is_the_default() {
        let routes = Routes::new(vec![
            RouteConfig::new("critical")
                .when(RouteMatch {
                    severities: BTreeSet::from([Severity::Critical]),
                    ..RouteMatch::default()
                })
                .project("OPS"),
            RouteConfig::new("ml").when(RouteMatch {
                tags: BTreeMap::from([("team".into(), "ml-*".into())]),
                ..RouteMatch::default()
            }),
        ])
        .unwrap();
        assert_eq!(
            routes.pick(&finding(Severity::Critical)).map(Route::name),
            Some("critical")
        );
        assert_eq!(
            routes.pick(&finding(Severity::High)).map(Route::name),
            Some("ml")
        );
        let mut other = finding(Severity::High);
        other.tags.clear();
        assert!(routes.pick(&other).is_none());
    }

    #[test]
    fn assignee_follows_the_flavor() {
        let r = Routes::new(vec![RouteConfig::new("a").assignee(" alex ")]).unwrap();
        let route = r.iter().next().unwrap();
        assert_eq!(
            route.assignee(Flavor::Cloud),
            Some(UserRef::AccountId("alex".into()))
        );
        assert_eq!(
            route.assignee(Flavor::DataCenter),
            Some(UserRef::Name("alex".into()))
        );
    }

    #[test]
    fn bad_routes_name_the_setting() {
        let cases: Vec<(RouteConfig, &str)> = vec![
            (RouteConfig::new(" "), "routes[0].name"),
            (
                RouteConfig::new("a").project("sec"),
                "routes[0].project_key",
            ),
            (
                RouteConfig::new("a").issue_type("\n"),
                "routes[0].issue_type",
            ),
            (
                RouteConfig::new("a").components([""]),
                "routes[0].components",
            ),
            (RouteConfig::new("a").assignee(""), "routes[0].assignee"),
            (RouteConfig::new("a").labels(["a b"]), "routes[0].labels"),
            (
                RouteConfig::new("a").labels(["penaxtra-id-x"]),
                "routes[0].labels",
            ),
            (
                RouteConfig::new("a").when(RouteMatch {
                    probes: Filter::new(Vec::<String>::new(), ["*"]),
                    ..RouteMatch::default()
                }),
                "routes[0].match.probes",
            ),
        ];
        for (route, field) in cases {
            match Routes::new(vec![route]) {
                Err(MappingError::Config { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        match Routes::new(vec![RouteConfig::new("a"), RouteConfig::new("A")]) {
            Err(MappingError::Config { field, .. }) => assert_eq!(field, "routes[1].name"),
            other => panic!("{other:?}"),
        }
    }
}
