//! The two-way table between finding states and Jira statuses.

use crate::{FindingState, MappingError};
use jira_model::StatusCategoryKey;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The Jira side of one finding state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StateRow {
    /// The status an issue is moved to for this state, e.g. `Done`.
    pub status: String,
    /// Other status names that mean this state when read from Jira.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status_aliases: Vec<String>,
    /// The resolution set on the way there (terminal states only), e.g.
    /// `Won't Do`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Other resolution names that mean this state when read from Jira.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolution_aliases: Vec<String>,
    /// The category of the status: `new`, `indeterminate` or `done`.
    pub category: StatusCategoryKey,
    /// Whether this status is generic, so the resolution decides between
    /// the terminal states (`Done` + `Won't Do` is accepted).
    #[serde(default)]
    pub refine_by_resolution: bool,
}

impl StateRow {
    /// A row for this status and category.
    pub fn new(status: impl Into<String>, category: StatusCategoryKey) -> Self {
        Self {
            status: status.into(),
            status_aliases: Vec::new(),
            resolution: None,
            resolution_aliases: Vec::new(),
            category,
            refine_by_resolution: false,
        }
    }
    /// With this resolution (default: none).
    pub fn with_resolution(mut self, resolution: impl Into<String>) -> Self {
        self.resolution = Some(resolution.into());
        self
    }
    /// With these other status names.
    pub fn with_status_aliases<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        names: I,
    ) -> Self {
        self.status_aliases = names.into_iter().map(Into::into).collect();
        self
    }
    /// With these other resolution names.
    pub fn with_resolution_aliases<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        names: I,
    ) -> Self {
        self.resolution_aliases = names.into_iter().map(Into::into).collect();
        self
    }
    /// Marks the status generic: the resolution refines it (default: not
    /// generic).
    pub fn refined_by_resolution(mut self) -> Self {
        self.refine_by_resolution = true;
        self
    }
}

/// Where an issue should go for a finding state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JiraTarget {
    /// The status name.
    pub status: String,
    /// The resolution to set when the transition's screen has the field.
    pub resolution: Option<String>,
    /// The status category, to steer through unknown workflows.
    pub category: StatusCategoryKey,
}

/// Which Jira changes flow back into Penaxtra.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InboundPolicy {
    /// Only moves into a terminal state (the product page's default: "when
    /// the Jira issue transitions to a terminal state, Penaxtra updates the
    /// finding").
    #[default]
    TerminalOnly,
    /// Every mapped status change.
    All,
}

impl InboundPolicy {
    /// Whether a change to `state` flows back under this policy.
    pub fn allows(self, table: &StateTable, state: FindingState) -> bool {
        match self {
            InboundPolicy::TerminalOnly => table.is_terminal(state),
            InboundPolicy::All => true,
        }
    }
}

/// The bidirectional table between finding states and Jira statuses. The
/// default is the product page's:
///
/// | finding state    | status        | resolution         | category        |
/// |------------------|---------------|--------------------|-----------------|
/// | `open`           | Open          |                    | `new`           |
/// | `triaged`        | In Progress   |                    | `indeterminate` |
/// | `resolved`       | Done          | Done               | `done`          |
/// | `accepted`       | Won't Do      | Won't Do           | `done`          |
/// | `false_positive` | Cancelled     | Cannot Reproduce   | `done`          |
///
/// with the status aliases `To Do`, `Reopened` (open); `Closed`,
/// `Resolved` (resolved, whose status is generic: its resolution refines
/// it); `Canceled` (false positive); and the resolution aliases `Won't Fix`
/// (accepted) and `Not a Bug` (false positive).
///
/// Reading from Jira ([`StateTable::from_jira`]) looks at the status name,
/// then the resolution, then the status category, so `Done` + `Won't Do` is
/// accepted and a status of a custom workflow still maps by its category.
/// Names compare without regard to case, surrounding or repeated
/// whitespace, or the kind of apostrophe.
///
/// In configuration, a map from state to row replaces those rows of the
/// default and keeps the others:
///
/// ```toml
/// [states.accepted]
/// status = "Risk Accepted"
/// resolution = "Won't Do"
/// category = "done"
/// ```
///
/// ```
/// use penaxtra_mapping::{FindingState, StateTable};
/// use jira_model::StatusCategoryKey;
/// let t = StateTable::default();
/// assert_eq!(t.to_jira(FindingState::Accepted).status, "Won't Do");
/// assert_eq!(t.from_jira("Done", Some("Won't Do"), &StatusCategoryKey::Done), Some(FindingState::Accepted));
/// assert_eq!(t.from_jira("QA Review", None, &StatusCategoryKey::Indeterminate), Some(FindingState::Triaged));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "BTreeMap<FindingState, StateRow>",
    into = "BTreeMap<FindingState, StateRow>"
)]
pub struct StateTable {
    rows: BTreeMap<FindingState, StateRow>,
}

impl Default for StateTable {
    fn default() -> Self {
        use StatusCategoryKey::{Done, Indeterminate, New};
        let rows = BTreeMap::from([
            (
                FindingState::Open,
                StateRow::new("Open", New).with_status_aliases(["To Do", "Reopened"]),
            ),
            (
                FindingState::Triaged,
                StateRow::new("In Progress", Indeterminate),
            ),
            (
                FindingState::Resolved,
                StateRow::new("Done", Done)
                    .with_resolution("Done")
                    .with_status_aliases(["Closed", "Resolved"])
                    .refined_by_resolution(),
            ),
            (
                FindingState::Accepted,
                StateRow::new("Won't Do", Done)
                    .with_resolution("Won't Do")
                    .with_resolution_aliases(["Won't Fix"]),
            ),
            (
                FindingState::FalsePositive,
                StateRow::new("Cancelled", Done)
                    .with_status_aliases(["Canceled"])
                    .with_resolution("Cannot Reproduce")
                    .with_resolution_aliases(["Not a Bug"]),
            ),
        ]);
        Self { rows }
    }
}

impl TryFrom<BTreeMap<FindingState, StateRow>> for StateTable {
    type Error = MappingError;
    /// The default table with these rows replaced.
    fn try_from(overrides: BTreeMap<FindingState, StateRow>) -> Result<Self, MappingError> {
        let mut rows = StateTable::default().rows;
        rows.extend(overrides);
        StateTable::new(rows)
    }
}

impl From<StateTable> for BTreeMap<FindingState, StateRow> {
    fn from(t: StateTable) -> Self {
        t.rows
    }
}

/// A name as compared: trimmed, lower case, single spaces, straight
/// apostrophes.
fn norm(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(['\u{2019}', '\u{2018}', '\u{02BC}'], "'")
        .to_lowercase()
}

impl StateTable {
    /// A table of these rows.
    ///
    /// # Errors
    /// [`MappingError::Config`] when a state has no row, a name is empty
    /// or used by two states (statuses and resolutions each), a terminal
    /// state's category is not `done` or a non-terminal state's is not
    /// `new` or `indeterminate`, or a non-terminal state has a resolution.
    pub fn new(rows: BTreeMap<FindingState, StateRow>) -> Result<Self, MappingError> {
        let mut statuses: HashMap<String, FindingState> = HashMap::new();
        let mut resolutions: HashMap<String, FindingState> = HashMap::new();
        for state in FindingState::ALL {
            let field = format!("states.{state}");
            let Some(row) = rows.get(&state) else {
                return Err(MappingError::config(field, "has no row"));
            };
            let terminal = state.is_terminal();
            let category_ok = match row.category {
                StatusCategoryKey::Done => terminal,
                StatusCategoryKey::New | StatusCategoryKey::Indeterminate => !terminal,
                _ => false,
            };
            if !category_ok {
                return Err(MappingError::config(
                    format!("{field}.category"),
                    if terminal {
                        "a terminal state needs category \"done\"".to_string()
                    } else {
                        "a state that is not terminal needs category \"new\" or \"indeterminate\""
                            .to_string()
                    },
                ));
            }
            if row.resolution.is_some() && !terminal {
                return Err(MappingError::config(
                    format!("{field}.resolution"),
                    "only terminal states have a resolution",
                ));
            }
            let names = [(&row.status, "status")]
                .into_iter()
                .chain(row.status_aliases.iter().map(|a| (a, "status_aliases")));
            for (name, key) in names {
                claim(&mut statuses, name, state, &format!("{field}.{key}"))?;
            }
            let res = row.resolution.iter().map(|r| (r, "resolution")).chain(
                row.resolution_aliases
                    .iter()
                    .map(|a| (a, "resolution_aliases")),
            );
            for (name, key) in res {
                claim(&mut resolutions, name, state, &format!("{field}.{key}"))?;
            }
        }
        Ok(Self { rows })
    }

    /// The rows, by state.
    pub fn rows(&self) -> &BTreeMap<FindingState, StateRow> {
        &self.rows
    }

    fn row(&self, state: FindingState) -> Option<&StateRow> {
        self.rows.get(&state)
    }

    /// Where an issue goes for `state`.
    pub fn to_jira(&self, state: FindingState) -> JiraTarget {
        match self.row(state) {
            Some(row) => JiraTarget {
                status: row.status.clone(),
                resolution: row.resolution.clone(),
                category: row.category.clone(),
            },
            // Unreachable: `new` guarantees a row per state.
            None => JiraTarget {
                status: String::new(),
                resolution: None,
                category: StatusCategoryKey::Undefined,
            },
        }
    }

    /// Whether `state` is terminal in this table (its status is `done`).
    pub fn is_terminal(&self, state: FindingState) -> bool {
        self.row(state)
            .is_some_and(|r| r.category == StatusCategoryKey::Done)
    }

    /// The finding state an issue's status means: by status name (refined
    /// by the resolution when the status is generic), else by resolution
    /// name, else by category (`done` → resolved, `new` → open,
    /// `indeterminate` → triaged). `None` for an unknown status of an
    /// unknown category.
    pub fn from_jira(
        &self,
        status_name: &str,
        resolution_name: Option<&str>,
        category: &StatusCategoryKey,
    ) -> Option<FindingState> {
        let status = norm(status_name);
        let by_status = self.rows.iter().find(|(_, r)| {
            norm(&r.status) == status || r.status_aliases.iter().any(|a| norm(a) == status)
        });
        let by_resolution = resolution_name
            .map(norm)
            .filter(|r| !r.is_empty())
            .and_then(|res| {
                self.rows
                    .iter()
                    .find(|(_, r)| {
                        r.resolution.as_deref().is_some_and(|x| norm(x) == res)
                            || r.resolution_aliases.iter().any(|a| norm(a) == res)
                    })
                    .map(|(s, _)| *s)
            });
        match by_status {
            Some((state, row)) if row.refine_by_resolution => Some(by_resolution.unwrap_or(*state)),
            Some((state, _)) => Some(*state),
            None => by_resolution.or(match category {
                StatusCategoryKey::Done => Some(FindingState::Resolved),
                StatusCategoryKey::New => Some(FindingState::Open),
                StatusCategoryKey::Indeterminate => Some(FindingState::Triaged),
                _ => None,
            }),
        }
    }
}

fn claim(
    seen: &mut HashMap<String, FindingState>,
    name: &str,
    state: FindingState,
    field: &str,
) -> Result<(), MappingError> {
    let n = norm(name);
    if n.is_empty() {
        return Err(MappingError::config(field, "a name must not be empty"));
    }
    match seen.insert(n, state) {
        Some(other) if other != state => Err(MappingError::config(
            field,
            format!("{name:?} already means {other}; a name can mean only one state"),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StatusCategoryKey::{Done, Indeterminate, New};

    #[test]
    fn product_page_table() {
        let t = StateTable::default();
        let want = [
            (FindingState::Open, "Open"),
            (FindingState::Triaged, "In Progress"),
            (FindingState::Resolved, "Done"),
            (FindingState::Accepted, "Won't Do"),
            (FindingState::FalsePositive, "Cancelled"),
        ];
        for (state, status) in want {
            let target = t.to_jira(state);
            assert_eq!(target.status, status);
            assert_eq!(
                t.from_jira(status, target.resolution.as_deref(), &target.category),
                Some(state)
            );
            assert_eq!(t.is_terminal(state), state.is_terminal());
        }
    }

    #[test]
    fn status_then_resolution_then_category() {
        let t = StateTable::default();
        let cases = [
            ("Done", Some("Won't Do"), Done, Some(FindingState::Accepted)),
            (
                "done",
                Some("won’t  do"),
                Done,
                Some(FindingState::Accepted),
            ),
            (
                "Done",
                Some("Cannot Reproduce"),
                Done,
                Some(FindingState::FalsePositive),
            ),
            (
                "Done",
                Some("Duplicate"),
                Done,
                Some(FindingState::Resolved),
            ),
            ("Done", None, Done, Some(FindingState::Resolved)),
            (
                "Closed",
                Some("Won't Fix"),
                Done,
                Some(FindingState::Accepted),
            ),
            // A specific status keeps its meaning whatever resolution a post-function set.
            (
                "Cancelled",
                Some("Done"),
                Done,
                Some(FindingState::FalsePositive),
            ),
            ("Won't Do", Some("Done"), Done, Some(FindingState::Accepted)),
            ("Open", Some("Done"), New, Some(FindingState::Open)),
            // Unknown statuses: resolution, then category.
            (
                "Shipped",
                Some("Not a Bug"),
                Done,
                Some(FindingState::FalsePositive),
            ),
            ("Shipped", None, Done, Some(FindingState::Resolved)),
            ("Backlog", None, New, Some(FindingState::Open)),
            (
                "QA Review",
                None,
                Indeterminate,
                Some(FindingState::Triaged),
            ),
            ("Limbo", None, StatusCategoryKey::Undefined, None),
            (
                "Limbo",
                Some(""),
                StatusCategoryKey::Other("x".into()),
                None,
            ),
        ];
        for (status, res, cat, want) in cases {
            assert_eq!(
                t.from_jira(status, res, &cat),
                want,
                "{status} {res:?} {cat:?}"
            );
        }
    }

    #[test]
    fn inbound_policy() {
        let t = StateTable::default();
        assert_eq!(InboundPolicy::default(), InboundPolicy::TerminalOnly);
        assert!(!InboundPolicy::TerminalOnly.allows(&t, FindingState::Triaged));
        assert!(InboundPolicy::TerminalOnly.allows(&t, FindingState::Accepted));
        assert!(InboundPolicy::All.allows(&t, FindingState::Open));
        assert_eq!(
            serde_json::to_string(&InboundPolicy::TerminalOnly).unwrap(),
            "\"terminal_only\""
        );
        assert_eq!(
            serde_json::from_str::<InboundPolicy>("\"all\"").unwrap(),
            InboundPolicy::All
        );
    }

    #[test]
    fn configuration_overrides_rows() {
        let t: StateTable = serde_json::from_str(
            r#"{"accepted":{"status":"Risk Accepted","resolution":"Won't Do","category":"done"}}"#,
        )
        .unwrap();
        assert_eq!(t.to_jira(FindingState::Accepted).status, "Risk Accepted");
        assert_eq!(t.to_jira(FindingState::Open).status, "Open");
        assert_eq!(
            t.from_jira("Risk Accepted", None, &Done),
            Some(FindingState::Accepted)
        );
        let back: StateTable = serde_json::from_value(serde_json::to_value(&t).unwrap()).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn bad_tables_are_errors() {
        let bad = |json: &str| {
            serde_json::from_str::<StateTable>(json)
                .unwrap_err()
                .to_string()
        };
        assert!(
            bad(r#"{"triaged":{"status":"Done","category":"indeterminate"}}"#)
                .contains("\"Done\" already means")
        );
        assert!(
            bad(r#"{"accepted":{"status":"X","category":"indeterminate"}}"#)
                .contains("states.accepted.category")
        );
        assert!(
            bad(r#"{"open":{"status":"Open","category":"done"}}"#).contains("states.open.category")
        );
        assert!(
            bad(r#"{"open":{"status":"Open","resolution":"Done","category":"new"}}"#)
                .contains("only terminal")
        );
        assert!(bad(r#"{"open":{"status":" ","category":"new"}}"#).contains("must not be empty"));
        assert!(
            bad(r#"{"accepted":{"status":"X","resolution":"Done","category":"done"}}"#)
                .contains("already means")
        );
        assert!(
            bad(r#"{"open":{"status":"Open","category":"new","colour":"red"}}"#)
                .contains("unknown field")
        );
        let mut rows = StateTable::default().rows().clone();
        rows.remove(&FindingState::Triaged);
        assert!(StateTable::new(rows).is_err());
    }
}
