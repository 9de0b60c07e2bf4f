//! Outbound state: a finding's new state moves its issue through the
//! workflow, by the direct transition or the shortest path there.

use crate::clock::duration_ms;
use crate::decision::{Decision, decide};
use crate::engine_core::Core;
use crate::error::SyncError;
use crate::jira_time::jira_time_ms;
use crate::lease::OpLease;
use crate::store::{ExpectedStatus, Link, PendingOp};
use crate::workflow::{WorkflowMap, choose, same_status, visit};
use jira_model::{Issue, IssueKey, StatusName, TransitionRequest};
use penaxtra_mapping::{FindingId, FindingState, JiraTarget, StateTable};
use std::collections::HashSet;
use std::sync::Mutex;

/// Times a link's bookkeeping is read again after a concurrent change.
const NOTE_OUT_TRIES: usize = 5;

/// What happened to an issue when its finding's state changed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StateOutcome {
    /// The issue was moved.
    Transitioned {
        /// The issue.
        issue_key: IssueKey,
        /// Its status before.
        from: StatusName,
        /// Its status now.
        to: StatusName,
        /// The transitions taken, by name, in order.
        via: Vec<String>,
    },
    /// The issue was already in the target status: no call was made.
    AlreadyThere {
        /// The issue.
        issue_key: IssueKey,
    },
    /// The finding has no issue.
    NotLinked,
    /// Could not be done now; queued and retried by the worker.
    Queued {
        /// The error code.
        code: &'static str,
        /// When it will be tried again (epoch ms).
        retry_at_ms: i64,
    },
    /// A person must act; the operation is parked, not dropped.
    Failed {
        /// The error.
        error: SyncError,
    },
}

impl StateOutcome {
    /// A stable code: `transitioned`, `already_there`, `not_linked`,
    /// `queued`, `failed`.
    pub fn code(&self) -> &'static str {
        match self {
            StateOutcome::Transitioned { .. } => "transitioned",
            StateOutcome::AlreadyThere { .. } => "already_there",
            StateOutcome::NotLinked => "not_linked",
            StateOutcome::Queued { .. } => "queued",
            StateOutcome::Failed { .. } => "failed",
        }
    }
}

/// The state-out handle: what moving issues needs (the engine core, the
/// state table and the workflow learned so far), and nothing else.
pub(crate) struct StateOut<'s> {
    pub(crate) core: &'s Core,
    pub(crate) states: &'s StateTable,
    pub(crate) workflow: &'s Mutex<WorkflowMap>,
}

/// The finding state an issue's status (and resolution) maps to.
pub(crate) fn state_of_issue(states: &StateTable, issue: &Issue) -> Option<FindingState> {
    let status = issue.fields.status.as_ref()?;
    let resolution = issue.fields.resolution.as_ref().map(|r| r.name.as_str());
    states.from_jira(&status.name, resolution, &status.category_key())
}

impl StateOut<'_> {
    /// [`crate::JiraSync::set_state`].
    pub(crate) async fn set_state(
        &self,
        finding: &FindingId,
        state: FindingState,
    ) -> Result<StateOutcome, SyncError> {
        use tracing::Instrument;
        let span = tracing::info_span!("set_state", finding = %finding, state = %state);
        let outcome = self
            .set_state_in_span(finding, state)
            .instrument(span)
            .await;
        if let Ok(o) = &outcome {
            crate::metrics::state_out(o.code());
        }
        outcome
    }

    async fn set_state_in_span(
        &self,
        finding: &FindingId,
        state: FindingState,
    ) -> Result<StateOutcome, SyncError> {
        let store = &self.core.store;
        let op = PendingOp::SetState {
            finding: finding.clone(),
            state,
        };
        let lease = duration_ms(self.core.settings.claim_lease);
        // Intent before effect: queued, in flight for one lease.
        let queued = store
            .enqueue(&op, self.core.now_ms() + lease, Some("in flight"))
            .await?;
        let keeper = OpLease::hold(self.core, vec![queued]);
        let result = self.try_set_state(finding, state).await;
        drop(keeper);
        match result {
            // Not linked: its create (in flight or queued) links it and
            // queues the change then; the worker settles it either way.
            Ok(StateOutcome::NotLinked) => {
                store
                    .reschedule(queued, self.core.now_ms(), "not linked yet")
                    .await?;
                Ok(StateOutcome::NotLinked)
            }
            Ok(outcome) => {
                store.complete(queued).await?;
                Ok(outcome)
            }
            Err(error) => {
                let message = format!("{}: {error}", error.code());
                match decide(&error, 0) {
                    Decision::Retry { at_least } => {
                        let due =
                            self.core.now_ms() + duration_ms(self.core.retry_delay(0, at_least));
                        store.reschedule(queued, due, &message).await?;
                        tracing::info!(finding = %finding, code = error.code(), "queued for retry");
                        Ok(StateOutcome::Queued {
                            code: error.code(),
                            retry_at_ms: due,
                        })
                    }
                    Decision::Park => {
                        store.park(queued, &message).await?;
                        tracing::warn!(finding = %finding, code = error.code(), fix = error.fix(), "parked until a person acts");
                        Ok(StateOutcome::Failed { error })
                    }
                }
            }
        }
    }

    /// One attempt, without deferral.
    pub(crate) async fn try_set_state(
        &self,
        finding: &FindingId,
        state: FindingState,
    ) -> Result<StateOutcome, SyncError> {
        let store = &self.core.store;
        let Some(mut link) = store.link(finding).await? else {
            return Ok(StateOutcome::NotLinked);
        };
        let target = self.states.to_jira(state);
        let key = link.issue_key.clone();
        let now = self.core.now_ms();
        // One walk per issue at a time: a second change read mid-walk would
        // see an intermediate status, answer "already there" and finish
        // while the first walk lands elsewhere. It waits and runs after,
        // on the finding's state then (the newest wanted state wins).
        if link.moving_until_ms.is_some_and(|t| t > now) {
            return Err(SyncError::Busy {
                finding: finding.to_string(),
            });
        }
        // Jira events that arrive from now until the walk has recorded
        // Jira's time of its last move cannot be ordered against it yet.
        // Taken compare-and-set: of two walks starting at once, one wins.
        let until = now + duration_ms(self.core.settings.claim_lease);
        link.moving_until_ms = Some(until);
        link.updated_ms = now;
        match store.update_link(&link).await {
            Err(crate::store::StoreError::Stale { .. }) => {
                return Err(SyncError::Busy {
                    finding: finding.to_string(),
                });
            }
            other => other?,
        }
        let issue_id = link.issue_id.as_str();
        let result = self
            .move_issue(finding, issue_id, state, &key, &target)
            .await;
        if let Err(e) = self
            .note_out(finding, issue_id, |l| l.moving_until_ms = None)
            .await
        {
            tracing::warn!(finding = %finding, code = e.code(), "could not clear the in-flight mark; it expires with its lease");
        }
        result
    }

    async fn move_issue(
        &self,
        finding: &FindingId,
        issue_id: &str,
        state: FindingState,
        issue_key: &IssueKey,
        target: &JiraTarget,
    ) -> Result<StateOutcome, SyncError> {
        let key = issue_key.as_str().to_string();
        let issue = self
            .core
            .client
            .get_issue(&key, &["status", "resolution", "updated"])
            .await?;
        // Jira events from before this read are older than the change we are
        // about to make: a late delivery of one must not undo it.
        let seen = issue.fields.updated.as_deref().and_then(jira_time_ms);
        let start = issue
            .fields
            .status
            .as_ref()
            .map(|s| s.name.clone())
            .unwrap_or_default();
        if state_of_issue(self.states, &issue) == Some(state) {
            self.note_out(finding, issue_id, move |l| {
                l.state_out = Some(state);
                if let Some(t) = seen {
                    l.saw_jira_time(t);
                }
            })
            .await?;
            return Ok(StateOutcome::AlreadyThere {
                issue_key: issue_key.clone(),
            });
        }
        if let Some(t) = seen {
            self.note_out(finding, issue_id, move |l| l.saw_jira_time(t))
                .await?;
        }

        let (to, via) = self
            .walk_to(&key, &start, target, Some((finding, issue_id)))
            .await?;
        // Where the walk left the issue, by Jira's word: the status and
        // resolution that are now our echo, and the time of our last move.
        let after = self
            .core
            .client
            .get_issue(&key, &["status", "resolution", "updated"])
            .await?;
        let read = after.fields.status.as_ref().map(|s| s.name.clone());
        let ours = read.as_deref().is_none_or(|s| same_status(s, &to));
        let (expected, at) = if ours {
            let status = read.unwrap_or_else(|| to.clone());
            let resolution = after.fields.resolution.as_ref().map(|r| r.name.clone());
            (
                ExpectedStatus::arriving(status, resolution),
                after.fields.updated.as_deref().and_then(jira_time_ms),
            )
        } else {
            // Someone moved the issue between our last transition and this
            // read: that status is theirs, not our echo, and its time is
            // not ours to have seen (their event must still apply). Only
            // the status our walk arrived in is expected.
            tracing::info!(issue = %key, ours = %to, now = read.as_deref().unwrap_or(""), "a person moved the issue right after our walk; their move is left to apply");
            (ExpectedStatus::passing(to.clone()), None)
        };
        self.note_out(finding, issue_id, move |l| {
            l.state_out = Some(state);
            l.expected_statuses = vec![expected.clone()];
            if let Some(t) = at {
                l.saw_jira_time(t);
            }
        })
        .await?;
        tracing::info!(issue = %key, from = %start, to = %to, steps = via.len(), "issue moved");
        Ok(StateOutcome::Transitioned {
            issue_key: issue_key.clone(),
            from: start.into(),
            to: to.into(),
            via,
        })
    }

    /// Updates the outbound bookkeeping of a link on a fresh read, so that
    /// what inbound processing wrote meanwhile is kept; compare-and-set,
    /// so a link that moved under it (healing relinked it to another issue)
    /// is read again, never written back over. When the link now names
    /// another issue than `issue_id`, the bookkeeping of this walk does not
    /// apply to it and is dropped.
    async fn note_out(
        &self,
        finding: &FindingId,
        issue_id: &str,
        change: impl Fn(&mut Link),
    ) -> Result<(), SyncError> {
        let store = &self.core.store;
        for _ in 0..NOTE_OUT_TRIES {
            let mut link = store
                .link(finding)
                .await?
                .ok_or_else(|| SyncError::NotLinked {
                    finding: finding.to_string(),
                })?;
            if link.issue_id != issue_id {
                tracing::info!(finding = %finding, "the link moved to another issue during the walk; its bookkeeping is left to the new issue");
                return Ok(());
            }
            change(&mut link);
            link.updated_ms = self.core.now_ms();
            match store.update_link(&link).await {
                Err(crate::store::StoreError::Stale { .. }) => continue,
                other => return other.map_err(SyncError::from),
            }
        }
        Err(SyncError::Store(crate::store::StoreError::Stale {
            what: "link",
            key: finding.to_string(),
        }))
    }

    /// Moves issue `key` from status `start` to `target` by the direct
    /// transition or a shortest path, setting the resolution where the last
    /// transition's screen has it. With a linked finding, records before each
    /// move the status expected, so the webhook echo of the move is
    /// recognised, and the time, so older Jira events count as stale.
    /// Returns the final status and the transitions taken.
    pub(crate) async fn walk_to(
        &self,
        key: &str,
        start: &str,
        target: &JiraTarget,
        link: Option<(&FindingId, &str)>,
    ) -> Result<(String, Vec<String>), SyncError> {
        let client = &self.core.client;
        let max_steps = self.core.settings.max_transition_steps;
        let mut current = start.to_string();
        let mut visited = HashSet::new();
        visit(&mut visited, &current);
        let mut via = Vec::new();
        for _ in 0..max_steps {
            let available = client.transitions(key).await?;
            let chosen = {
                let mut map = self
                    .workflow
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                map.learn(&current, &available);
                choose(
                    &map,
                    &current,
                    &available,
                    &target.status,
                    &target.category,
                    &visited,
                )
                .cloned()
            };
            let Some(transition) = chosen else {
                // No way on from `current`, as far as these transitions say.
                // They may belong to another status if someone moved the
                // issue since we read it: check once before giving up.
                let issue = client.get_issue(key, &["status"]).await?;
                let now_at = issue.fields.status.map(|s| s.name).unwrap_or_default();
                if same_status(&now_at, &current) {
                    break;
                }
                self.workflow
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .forget(&current);
                if same_status(&now_at, &target.status) {
                    return Ok((now_at, via));
                }
                current = now_at;
                visited.clear();
                visit(&mut visited, &current);
                continue;
            };
            let arriving = same_status(&transition.to.name, &target.status);
            let mut request = TransitionRequest::new(transition.id.clone());
            if let Some(resolution) = pick_resolution(&transition, target, arriving) {
                request = request.with_resolution(resolution);
            }
            if let Some((finding, issue_id)) = link {
                // Before moving: the statuses we expect mark the webhooks
                // and the sweeps that see them as ours.
                let (from, to) = (current.clone(), transition.to.name.clone());
                self.note_out(finding, issue_id, move |l| {
                    for status in [StatusName::new(from.clone()), StatusName::new(to.clone())] {
                        if !l
                            .expected_statuses
                            .iter()
                            .any(|e| e.resolution.is_none() && e.matches(&status, None))
                        {
                            l.expected_statuses.push(ExpectedStatus::passing(status));
                        }
                    }
                })
                .await?;
            }
            match client.transition(key, &request).await {
                Ok(()) => {}
                Err(e) if moved_meanwhile(&e) => {
                    // Someone moved the issue between our read and our move
                    // (a 400 for a transition no longer valid), or is moving
                    // it right now (409: Jira runs one transition of an issue
                    // at a time). Read where it is and decide again from
                    // there; never repeat the refused transition blindly.
                    let conflict = e.kind() == jira_client::ErrorKind::Conflict;
                    let issue = client.get_issue(key, &["status"]).await?;
                    let now_at = issue.fields.status.map(|s| s.name).unwrap_or_default();
                    if conflict && same_status(&now_at, &current) {
                        // The other transition has not landed yet: try again
                        // later (the operation is queued), reading afresh.
                        tracing::info!(issue = %key, "another transition of the issue is running; trying again later");
                        return Err(e.into());
                    }
                    self.workflow
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .forget(&current);
                    current = now_at;
                    tracing::info!(issue = %key, now = %current, "the issue moved under us; walking on from where it is");
                    if same_status(&current, &target.status) {
                        return Ok((current, via));
                    }
                    visited.clear();
                    visit(&mut visited, &current);
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            via.push(transition.name.clone());
            current = transition.to.name.clone();
            visit(&mut visited, &current);
            if arriving {
                return Ok((current, via));
            }
        }
        Err(SyncError::NoTransitionPath {
            issue: key.to_string(),
            current,
            target: target.status.clone(),
            max_steps,
        })
    }
}

/// Whether Jira refused a transition because the issue is no longer in the
/// status the transition leaves from (someone else moved it).
fn moved_meanwhile(e: &jira_client::Error) -> bool {
    e.kind() == jira_client::ErrorKind::Conflict
        || (e.status() == Some(400)
            && e.jira_messages().is_some_and(|b| {
                b.mentions("is not valid") || b.mentions("not valid for this issue")
            }))
}

/// The resolution to send with `transition`: the target's when the screen
/// offers it; when the screen *requires* a resolution that does not offer
/// the target's (another workflow's resolution scheme), the allowed value
/// named like the target status, else the first allowed value, so the
/// transition is not refused. `None` when the screen has no resolution.
fn pick_resolution(
    transition: &jira_model::Transition,
    target: &JiraTarget,
    arriving: bool,
) -> Option<String> {
    let field = transition.fields.get("resolution")?;
    let wanted = target.resolution.as_deref().filter(|_| arriving);
    if let Some(wanted) = wanted
        && (field.allowed_values.is_empty()
            || field
                .allowed_names()
                .any(|n| n.eq_ignore_ascii_case(wanted)))
    {
        return Some(wanted.to_string());
    }
    if !field.required {
        return None;
    }
    let mut names = field.allowed_names();
    let by_status = field
        .allowed_names()
        .find(|n| same_status(n, &transition.to.name));
    let chosen = by_status.or_else(|| names.next())?.to_string();
    tracing::info!(
        transition = %transition.name,
        wanted = wanted.unwrap_or(""),
        chosen = %chosen,
        "the transition screen requires a resolution the state table does not name; using an allowed one"
    );
    Some(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jira_model::{Status, StatusCategory, StatusCategoryKey, Transition, TransitionField};
    use serde_json::json;

    fn transition(required: bool, allowed: &[&str]) -> Transition {
        let mut t = Transition::new(
            "41",
            "Cancel",
            Status::new(
                "3",
                "Cancelled",
                StatusCategory::stock(StatusCategoryKey::Done),
            ),
        );
        t.fields.insert(
            "resolution".into(),
            TransitionField::new(
                "Resolution",
                required,
                allowed.iter().map(|n| json!({"name": n})).collect(),
            ),
        );
        t
    }

    fn target(resolution: Option<&str>) -> JiraTarget {
        let mut t = StateTable::default().to_jira(FindingState::FalsePositive);
        t.resolution = resolution.map(str::to_string);
        t
    }

    #[test]
    fn resolution_choice() {
        let t = transition(true, &["Done", "Cancelled"]);
        assert_eq!(
            pick_resolution(&t, &target(Some("Done")), true).as_deref(),
            Some("Done")
        );
        assert_eq!(
            pick_resolution(&t, &target(Some("Cannot Reproduce")), true).as_deref(),
            Some("Cancelled"),
            "a required field gets the value named like the status"
        );
        let t = transition(true, &["Fixed", "Declined"]);
        assert_eq!(
            pick_resolution(&t, &target(Some("Cannot Reproduce")), true).as_deref(),
            Some("Fixed")
        );
        let t = transition(false, &["Fixed"]);
        assert_eq!(
            pick_resolution(&t, &target(Some("Cannot Reproduce")), true),
            None,
            "optional: left out"
        );
        let no_screen = Transition::new(
            "1",
            "Start",
            Status::new(
                "3",
                "In Progress",
                StatusCategory::stock(StatusCategoryKey::Indeterminate),
            ),
        );
        assert_eq!(
            pick_resolution(&no_screen, &target(Some("Done")), true),
            None
        );
    }
}
