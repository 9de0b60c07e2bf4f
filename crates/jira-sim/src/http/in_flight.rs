//! Transitions in flight: Jira Cloud runs one transition of an issue at a
//! time; a transition requested while another of the same issue is being
//! executed is refused with 409 Conflict (400 before May 2020).
//!
//! Source: <https://developer.atlassian.com/cloud/jira/platform/change-notice-update-in-simultaneous-transitions-issue-api/>.

use super::lock;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Issue ids with a transition being executed.
#[derive(Debug, Default, Clone)]
pub(crate) struct InFlight {
    ids: Arc<Mutex<HashSet<String>>>,
}

/// Held while a transition runs; releases the issue when dropped.
#[derive(Debug)]
pub(crate) struct Held {
    ids: Arc<Mutex<HashSet<String>>>,
    id: String,
}

impl InFlight {
    /// Marks issue `id` as transitioning, unless it already is.
    pub fn hold(&self, id: &str) -> Option<Held> {
        lock(&self.ids).insert(id.to_string()).then(|| Held {
            ids: self.ids.clone(),
            id: id.to_string(),
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        lock(&self.ids).remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_at_a_time_per_issue() {
        let f = InFlight::default();
        let a = f.hold("1").unwrap();
        assert!(f.hold("1").is_none());
        assert!(f.hold("2").is_some());
        drop(a);
        assert!(f.hold("1").is_some());
    }
}
