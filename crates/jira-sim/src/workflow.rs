//! The workflow of the simulated project: statuses, transitions and
//! resolutions.

use crate::SimError;
use jira_model::StatusCategoryKey;

/// A status of the workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkflowStatus {
    /// Status id.
    pub id: String,
    /// Status name.
    pub name: String,
    /// Its category.
    pub category: StatusCategoryKey,
}

impl WorkflowStatus {
    /// A status from its parts.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        category: StatusCategoryKey,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            category,
        }
    }
}

/// A resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkflowResolution {
    /// Resolution id.
    pub id: String,
    /// Resolution name.
    pub name: String,
}

impl WorkflowResolution {
    /// A resolution from its parts.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
        }
    }
}

/// A transition of the workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkflowTransition {
    /// Transition id.
    pub id: String,
    /// Transition name.
    pub name: String,
    /// Ids of the statuses it starts from.
    pub from: Vec<String>,
    /// Id of the status it reaches.
    pub to: String,
    /// Whether its screen shows the resolution field.
    pub resolution_on_screen: bool,
    /// Whether the resolution must be given (only with the field on screen).
    pub resolution_required: bool,
}

impl WorkflowTransition {
    /// A transition without a screen.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        from: &[&str],
        to: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            from: from.iter().map(|s| s.to_string()).collect(),
            to: to.into(),
            resolution_on_screen: false,
            resolution_required: false,
        }
    }

    /// The same transition with a screen holding a required resolution field.
    pub fn with_resolution_screen(mut self) -> Self {
        self.resolution_on_screen = true;
        self.resolution_required = true;
        self
    }
}

/// Statuses, resolutions and transitions of the project `SEC`.
///
/// When a transition reaches a `done`-category status and its screen has no
/// resolution field, the simulator sets a resolution itself, as a
/// post-function does: the one named like the status, else the first one.
/// Reaching a status of another category clears the resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Workflow {
    /// Statuses; the first is where new issues start.
    pub statuses: Vec<WorkflowStatus>,
    /// Resolutions.
    pub resolutions: Vec<WorkflowResolution>,
    /// Transitions.
    pub transitions: Vec<WorkflowTransition>,
}

/// Status ids of the stock workflows.
const OPEN: &str = "1";
const IN_PROGRESS: &str = "3";
const DONE: &str = "10001";
const WONT_DO: &str = "10002";
const CANCELLED: &str = "10003";

impl Default for Workflow {
    /// `Open` → `In Progress` → `Done` / `Won't Do` / `Cancelled`, each done
    /// status reachable from `Open` and `In Progress` through a screen with a
    /// required resolution, `Stop Progress` back to `Open`, and `Reopen`.
    fn default() -> Self {
        Self::stock(&[OPEN, IN_PROGRESS], true)
    }
}

impl Workflow {
    fn stock(done_from: &[&str], screen: bool) -> Self {
        let statuses = vec![
            WorkflowStatus::new(OPEN, "Open", StatusCategoryKey::New),
            WorkflowStatus::new(IN_PROGRESS, "In Progress", StatusCategoryKey::Indeterminate),
            WorkflowStatus::new(DONE, "Done", StatusCategoryKey::Done),
            WorkflowStatus::new(WONT_DO, "Won't Do", StatusCategoryKey::Done),
            WorkflowStatus::new(CANCELLED, "Cancelled", StatusCategoryKey::Done),
        ];
        let resolutions = vec![
            WorkflowResolution::new("10000", "Done"),
            WorkflowResolution::new("10001", "Won't Do"),
            WorkflowResolution::new("10002", "Cancelled"),
        ];
        let done = |id: &str, name: &str, to: &str| {
            let t = WorkflowTransition::new(id, name, done_from, to);
            if screen {
                t.with_resolution_screen()
            } else {
                t
            }
        };
        let transitions = vec![
            WorkflowTransition::new("11", "Start Progress", &[OPEN], IN_PROGRESS),
            done("21", "Done", DONE),
            done("31", "Won't Do", WONT_DO),
            done("41", "Cancel", CANCELLED),
            WorkflowTransition::new("51", "Stop Progress", &[IN_PROGRESS], OPEN),
            WorkflowTransition::new("61", "Reopen", &[DONE, WONT_DO, CANCELLED], OPEN),
        ];
        Self {
            statuses,
            resolutions,
            transitions,
        }
    }

    /// Like the default, but the done statuses are reachable only from
    /// `In Progress`: from `Open`, `Done` is two transitions away.
    pub fn two_step() -> Self {
        Self::stock(&[IN_PROGRESS], true)
    }

    /// Like the default, but no transition has a screen: resolution cannot be
    /// sent on a transition, and the simulator sets it itself.
    pub fn without_resolution_screen() -> Self {
        Self::stock(&[OPEN, IN_PROGRESS], false)
    }

    /// Two-step and without resolution screens.
    pub fn two_step_without_resolution_screen() -> Self {
        Self::stock(&[IN_PROGRESS], false)
    }

    /// A workflow of your own. The first status is the initial one.
    ///
    /// # Errors
    /// [`SimError::Config`] when there is no status, an id repeats, or a
    /// transition names a status that does not exist.
    pub fn custom(
        statuses: Vec<WorkflowStatus>,
        resolutions: Vec<WorkflowResolution>,
        transitions: Vec<WorkflowTransition>,
    ) -> Result<Self, SimError> {
        let w = Self {
            statuses,
            resolutions,
            transitions,
        };
        w.validate()?;
        Ok(w)
    }

    /// Checks the workflow is consistent.
    ///
    /// # Errors
    /// [`SimError::Config`] naming the first inconsistency.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Config(m));
        if self.statuses.is_empty() {
            return bad("a workflow needs at least one status".into());
        }
        let mut ids = std::collections::BTreeSet::new();
        for s in &self.statuses {
            if !ids.insert(s.id.as_str()) {
                return bad(format!("status id {} repeats", s.id));
            }
        }
        let mut tids = std::collections::BTreeSet::new();
        for t in &self.transitions {
            if !tids.insert(t.id.as_str()) {
                return bad(format!("transition id {} repeats", t.id));
            }
            for s in t.from.iter().chain(std::iter::once(&t.to)) {
                if !ids.contains(s.as_str()) {
                    return bad(format!("transition {} names unknown status {s}", t.id));
                }
            }
            if t.resolution_on_screen && self.resolutions.is_empty() {
                return bad(format!(
                    "transition {} shows a resolution but there is none",
                    t.id
                ));
            }
        }
        let mut rids = std::collections::BTreeSet::new();
        for r in &self.resolutions {
            if !rids.insert(r.id.as_str()) {
                return bad(format!("resolution id {} repeats", r.id));
            }
        }
        Ok(())
    }

    /// The initial status.
    pub fn initial(&self) -> Option<&WorkflowStatus> {
        self.statuses.first()
    }

    /// The status with this id.
    pub fn status(&self, id: &str) -> Option<&WorkflowStatus> {
        self.statuses.iter().find(|s| s.id == id)
    }

    /// The status with this name (ignoring case) or id.
    pub fn status_by_name_or_id(&self, value: &str) -> Option<&WorkflowStatus> {
        self.statuses
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(value) || s.id == value)
    }

    /// The resolution with this name (ignoring case) or id.
    pub fn resolution(&self, value: &str) -> Option<&WorkflowResolution> {
        self.resolutions
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(value) || r.id == value)
    }

    /// The transitions available from status `status_id`, in order.
    pub fn available(&self, status_id: &str) -> impl Iterator<Item = &WorkflowTransition> {
        self.transitions
            .iter()
            .filter(move |t| t.from.iter().any(|f| f == status_id))
    }

    /// The resolution a done status gets when the transition screen has no
    /// resolution field: the one named like the status, else the first.
    pub fn default_resolution(&self, status: &WorkflowStatus) -> Option<&WorkflowResolution> {
        self.resolutions
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(&status.name))
            .or(self.resolutions.first())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_workflows_are_valid() {
        for w in [
            Workflow::default(),
            Workflow::two_step(),
            Workflow::without_resolution_screen(),
            Workflow::two_step_without_resolution_screen(),
        ] {
            w.validate().unwrap();
            assert_eq!(w.initial().unwrap().name, "Open");
        }
    }

    #[test]
    fn two_step_hides_done_from_open() {
        let names =
            |w: &Workflow, s: &str| w.available(s).map(|t| t.name.clone()).collect::<Vec<_>>();
        assert!(names(&Workflow::default(), OPEN).contains(&"Done".to_string()));
        assert_eq!(names(&Workflow::two_step(), OPEN), ["Start Progress"]);
        assert!(names(&Workflow::two_step(), IN_PROGRESS).contains(&"Done".to_string()));
        assert_eq!(names(&Workflow::default(), DONE), ["Reopen"]);
    }

    #[test]
    fn default_resolution_follows_status_name() {
        let w = Workflow::default();
        let wont = w.status(WONT_DO).unwrap();
        assert_eq!(w.default_resolution(wont).unwrap().name, "Won't Do");
    }

    #[test]
    fn custom_rejects_inconsistencies() {
        let s = || vec![WorkflowStatus::new("1", "Open", StatusCategoryKey::New)];
        assert!(Workflow::custom(vec![], vec![], vec![]).is_err());
        let t = vec![WorkflowTransition::new("5", "Go", &["1"], "9")];
        assert!(Workflow::custom(s(), vec![], t).is_err());
        let t = vec![WorkflowTransition::new("5", "Go", &["1"], "1").with_resolution_screen()];
        assert!(Workflow::custom(s(), vec![], t).is_err());
        assert!(Workflow::custom(s(), vec![], vec![]).is_ok());
    }
}
