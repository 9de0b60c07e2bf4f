//! What the engine has learned of the project's workflow, and the choice of
//! the next transition towards a target status.
//!
//! Jira only lists the transitions available from an issue's *current*
//! status, so the graph is learned as issues move. With the graph known, the
//! next hop is the first step of a shortest path (breadth-first); where the
//! graph is not known yet, the engine explores, preferring statuses whose
//! category lies on the way to the target (new → indeterminate → done).

use jira_model::{StatusCategoryKey, Transition};
use std::collections::{HashMap, HashSet, VecDeque};

/// Transitions seen from each status, by lower-cased status name.
#[derive(Debug, Default, Clone)]
pub(crate) struct WorkflowMap {
    edges: HashMap<String, Vec<Edge>>,
}

#[derive(Debug, Clone)]
struct Edge {
    to: String,
}

fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

impl WorkflowMap {
    /// Records the transitions available from `status`.
    pub(crate) fn learn(&mut self, status: &str, transitions: &[Transition]) {
        let edges = transitions
            .iter()
            .map(|t| Edge {
                to: norm(&t.to.name),
            })
            .collect();
        self.edges.insert(norm(status), edges);
    }

    /// Forgets what was learned of `status` (it may have been another
    /// status's transitions, read while the issue moved).
    pub(crate) fn forget(&mut self, status: &str) {
        self.edges.remove(&norm(status));
    }

    /// The status to go to next on a shortest known path from `from` to
    /// `target`, if the known graph has one.
    fn next_on_path(&self, from: &str, target: &str) -> Option<String> {
        let (from, target) = (norm(from), norm(target));
        let mut prev: HashMap<String, String> = HashMap::new();
        let mut queue = VecDeque::from([from.clone()]);
        let mut seen = HashSet::from([from.clone()]);
        while let Some(node) = queue.pop_front() {
            if node == target {
                let mut hop = node;
                while let Some(p) = prev.get(&hop) {
                    if *p == from {
                        return Some(hop);
                    }
                    hop = p.clone();
                }
                return None;
            }
            for e in self.edges.get(&node).into_iter().flatten() {
                if seen.insert(e.to.clone()) {
                    prev.insert(e.to.clone(), node.clone());
                    queue.push_back(e.to.clone());
                }
            }
        }
        None
    }
}

/// Picks the transition to take now from `available` (the transitions of
/// the current status `current`) towards `target`.
/// `visited` holds the statuses this walk has been through, never re-entered.
pub(crate) fn choose<'a>(
    map: &WorkflowMap,
    current: &str,
    available: &'a [Transition],
    target: &str,
    target_category: &StatusCategoryKey,
    visited: &HashSet<String>,
) -> Option<&'a Transition> {
    let target_n = norm(target);
    if let Some(direct) = available.iter().find(|t| norm(&t.to.name) == target_n) {
        return Some(direct);
    }
    if let Some(hop) = map.next_on_path(current, target)
        && !visited.contains(&hop)
        && let Some(t) = available.iter().find(|t| norm(&t.to.name) == hop)
    {
        return Some(t);
    }
    // Explore: unvisited statuses, closest category first.
    let rank = |t: &Transition| -> u8 {
        let c = t.to.category_key();
        match (target_category, &c) {
            (_, c) if c == target_category && *c != StatusCategoryKey::Done => 0,
            (StatusCategoryKey::Done, StatusCategoryKey::Indeterminate) => 1,
            (StatusCategoryKey::Done, StatusCategoryKey::New) => 2,
            (StatusCategoryKey::Indeterminate, StatusCategoryKey::New) => 1,
            (StatusCategoryKey::New, StatusCategoryKey::Indeterminate) => 1,
            (_, StatusCategoryKey::Done) => 4,
            _ => 3,
        }
    };
    available
        .iter()
        .filter(|t| !visited.contains(&norm(&t.to.name)) && norm(&t.to.name) != norm(current))
        .min_by_key(|t| rank(t))
}

/// Normalises a status name for comparison.
pub(crate) fn same_status(a: &str, b: &str) -> bool {
    norm(a) == norm(b)
}

/// Marks a status visited.
pub(crate) fn visit(visited: &mut HashSet<String>, status: &str) {
    visited.insert(norm(status));
}

#[cfg(test)]
mod tests {
    use super::*;
    use jira_model::{Status, StatusCategory};

    fn t(id: &str, to: &str, cat: StatusCategoryKey) -> Transition {
        Transition::new(id, to, Status::new(id, to, StatusCategory::stock(cat)))
    }

    #[test]
    fn direct_transition_wins() {
        let avail = [
            t("1", "In Progress", StatusCategoryKey::Indeterminate),
            t("2", "Done", StatusCategoryKey::Done),
        ];
        let got = choose(
            &WorkflowMap::default(),
            "Open",
            &avail,
            "done",
            &StatusCategoryKey::Done,
            &HashSet::new(),
        );
        assert_eq!(got.unwrap().id, "2");
    }

    #[test]
    fn explores_towards_the_target_category() {
        let avail = [
            t("9", "Cancelled", StatusCategoryKey::Done),
            t("1", "In Progress", StatusCategoryKey::Indeterminate),
        ];
        let got = choose(
            &WorkflowMap::default(),
            "Open",
            &avail,
            "Done",
            &StatusCategoryKey::Done,
            &HashSet::new(),
        );
        assert_eq!(
            got.unwrap().id,
            "1",
            "a detour through another done status is the last resort"
        );
    }

    #[test]
    fn uses_a_learned_shortest_path() {
        let mut map = WorkflowMap::default();
        map.learn(
            "Open",
            &[
                t("1", "Review", StatusCategoryKey::Indeterminate),
                t("2", "In Progress", StatusCategoryKey::Indeterminate),
            ],
        );
        map.learn("Review", &[t("3", "Open", StatusCategoryKey::New)]);
        map.learn("In Progress", &[t("4", "Done", StatusCategoryKey::Done)]);
        let avail = [
            t("1", "Review", StatusCategoryKey::Indeterminate),
            t("2", "In Progress", StatusCategoryKey::Indeterminate),
        ];
        let got = choose(
            &map,
            "Open",
            &avail,
            "Done",
            &StatusCategoryKey::Done,
            &HashSet::new(),
        );
        assert_eq!(got.unwrap().id, "2");
    }

    #[test]
    fn never_reenters_a_visited_status() {
        let avail = [t("3", "Open", StatusCategoryKey::New)];
        let mut visited = HashSet::new();
        visit(&mut visited, "Open");
        assert!(
            choose(
                &WorkflowMap::default(),
                "Review",
                &avail,
                "Done",
                &StatusCategoryKey::Done,
                &visited
            )
            .is_none()
        );
    }
}
