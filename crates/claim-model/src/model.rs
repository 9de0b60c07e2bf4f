//! The stateright model: its configuration, state, actions, properties,
//! and the helpers the tests use to run it and print a counterexample.

use crate::jira::{IssueState, Jira};
use crate::replica::{self, Replica};
use crate::store::{LinkHow, Store};
use crate::{Fixes, ReplicaId, Time};
use stateright::{Checker, Expectation, HasDiscoveries, Model, Property};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// The parameters of one model: replicas and their clock skews, the
/// protocol's durations (all in one time unit), the horizon, and the fixes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// One entry per replica: how far its wall clock runs ahead of global
    /// time. Only matters without the fix `db_clock`.
    pub skews: Vec<Time>,
    /// The claim lease `L`.
    pub lease: Time,
    /// The request timeout `RT`: Jira commits a create within `RT` of its
    /// sending, and the replica gives up on the answer then.
    pub rt: Time,
    /// Jira's search lag `G`: an issue shows in a search `G` after it was
    /// created.
    pub lag: Time,
    /// The consistency window `W` the engine waits after a doubt before it
    /// trusts "absent".
    pub window: Time,
    /// Time runs from 0 to this.
    pub t_max: Time,
    /// State-outs write the link only while its version is below this
    /// (bounds the state space; the person and healing are not bounded).
    pub version_cap: u8,
    /// States with more issues than this are not explored (a bound: enough
    /// to show a duplicate and its healing).
    pub max_issues: u8,
    /// Which fixes are on.
    pub fixes: Fixes,
}

impl Config {
    /// The main configuration: two replicas, one of them 5 ahead; `L=3`,
    /// `RT=1`, `G=2`, `W=2` (so `G <= W`), time `0..=7`, at most two
    /// state-out writes, every fix on.
    pub fn default_check() -> Self {
        Self {
            skews: vec![0, 5],
            lease: 3,
            rt: 1,
            lag: 2,
            window: 2,
            t_max: 7,
            version_cap: 2,
            max_issues: 2,
            fixes: Fixes::all(),
        }
    }

    /// Search lag beyond the window (`G=2 > W=1`): duplicates can be made,
    /// and healing must leave one live issue. Time `0..=4` and one
    /// state-out write keep it small (a duplicate needs one unit of time,
    /// its healing two more).
    pub fn lag_beyond_window() -> Self {
        Self {
            lag: 2,
            window: 1,
            t_max: 4,
            version_cap: 1,
            ..Self::default_check()
        }
    }

    /// The same with other fixes.
    pub fn with_fixes(mut self, fixes: Fixes) -> Self {
        self.fixes = fixes;
        self
    }

    /// The store's `now` for a request of replica `r` at global time `t`:
    /// its own clock with the fix `db_clock`, the caller's wall clock
    /// without.
    pub fn store_now(&self, t: Time, r: ReplicaId) -> Time {
        if self.fixes.db_clock {
            t
        } else {
            t + self.skews[usize::from(r)]
        }
    }
}

/// Things that happened, kept in [`State::seen`] for the `sometimes`
/// properties.
#[derive(Clone, Copy, Debug)]
#[repr(u8)]
pub enum Milestone {
    /// A claim was taken over from a holder that had crashed.
    CrashTakeover = 1,
}

/// The whole system at one moment.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    /// Global time.
    pub t: Time,
    /// The shared store.
    pub store: Store,
    /// Jira.
    pub jira: Jira,
    /// The replicas' local states.
    pub replicas: Vec<Replica>,
    /// A heal completed whose search showed every issue that existed (this
    /// many) while no create could still commit.
    pub healed: Option<u8>,
    /// [`Milestone`]s seen, as bits.
    pub seen: u8,
}

/// One atomic step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Time passes by one unit.
    Tick,
    /// `store.claim`.
    Claim(ReplicaId),
    /// The lease keeper's `store.renew`.
    Renew(ReplicaId),
    /// In doubt: search the label (and decide: link, trust absent, wait).
    Search(ReplicaId),
    /// Check the lease and send the create (atomic).
    Send(ReplicaId),
    /// Jira commits this replica's create.
    JiraCommit(ReplicaId),
    /// The create's answer arrives.
    Answer(ReplicaId),
    /// The committed create's answer is lost; release in doubt.
    Drop(ReplicaId),
    /// The create timed out; release in doubt.
    Timeout(ReplicaId),
    /// Record the created id on the claim row (fenced).
    RecordCreated(ReplicaId),
    /// `insert_link` (fenced).
    Link(ReplicaId),
    /// The process dies.
    Crash(ReplicaId),
    /// Healing reads (search + link).
    HealRead(ReplicaId),
    /// Healing writes (relink, close duplicates).
    HealWrite(ReplicaId),
    /// A state-out reads the link.
    SyncOutRead(ReplicaId),
    /// A state-out writes the link back.
    SyncOutWrite(ReplicaId),
    /// A person decides the linked issue.
    Person,
}

/// The model checked: a [`Config`].
#[derive(Clone, Debug)]
pub struct ClaimModel {
    /// Its parameters.
    pub cfg: Config,
}

impl ClaimModel {
    /// A model of this configuration.
    pub fn new(cfg: Config) -> Self {
        Self { cfg }
    }

    /// The names of its properties.
    pub fn properties_names(&self) -> Vec<&'static str> {
        self.properties().iter().map(|p| p.name).collect()
    }

    fn replica_ids(&self) -> impl Iterator<Item = ReplicaId> {
        (0..self.cfg.skews.len()).filter_map(|i| ReplicaId::try_from(i).ok())
    }
}

/// Names of the properties, for [`Checker::discovery`].
pub mod names {
    /// `always`: never two issues with the finding's label.
    pub const NO_DUPLICATE_CREATED: &str = "no_duplicate_created";
    /// `always`: once a heal saw every issue, at most one stays live.
    pub const AT_MOST_ONE_LIVE_AFTER_HEAL: &str = "at_most_one_live_after_heal";
    /// `always`: the link never points to a closed duplicate while a live
    /// issue exists.
    pub const LINKED_ISSUE_IS_LIVE: &str = "linked_issue_is_live";
    /// `always`: a person's decision on the linked issue stays recorded.
    pub const DECISION_KEPT: &str = "decision_kept";
    /// `sometimes`: an issue is created and linked.
    pub const CREATED_AND_LINKED: &str = "created_and_linked";
    /// `sometimes`: a crashed holder's claim is taken over.
    pub const CRASH_TAKEOVER: &str = "crash_takeover";
    /// `sometimes`: an issue whose answer was lost is found and linked.
    pub const RECOVERED_AFTER_DROP: &str = "recovered_after_drop";
    /// `sometimes`: an issue is linked by its kept id before a search
    /// could show it.
    pub const RECOVERED_BY_ID_EARLY: &str = "recovered_by_id_early";
    /// `sometimes`: a person decides.
    pub const PERSON_DECIDED: &str = "person_decided";
    /// `sometimes`: a heal saw every issue and completed.
    pub const HEALED: &str = "healed";
    /// `sometimes`: two issues were created (expected only when the search
    /// lag exceeds the window, or with a fix off).
    pub const DUPLICATE_MADE: &str = "duplicate_made";
}

fn linked_how(s: &State) -> Option<LinkHow> {
    s.store.link.as_ref().map(|l| l.how)
}

impl Model for ClaimModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        vec![State {
            t: 0,
            store: Store::default(),
            jira: Jira::new(self.cfg.skews.len()),
            replicas: vec![Replica::new(); self.cfg.skews.len()],
            healed: None,
            seen: 0,
        }]
    }

    fn actions(&self, _state: &State, actions: &mut Vec<Action>) {
        actions.push(Action::Tick);
        actions.push(Action::Person);
        for r in self.replica_ids() {
            actions.extend([
                Action::Claim(r),
                Action::Renew(r),
                Action::Search(r),
                Action::Send(r),
                Action::JiraCommit(r),
                Action::Answer(r),
                Action::Drop(r),
                Action::Timeout(r),
                Action::RecordCreated(r),
                Action::Link(r),
                Action::Crash(r),
                Action::HealRead(r),
                Action::HealWrite(r),
                Action::SyncOutRead(r),
                Action::SyncOutWrite(r),
            ]);
        }
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let cfg = &self.cfg;
        let mut s = last.clone();
        let changed = match action {
            Action::Tick => tick(cfg, &mut s),
            Action::Person => replica::person(&mut s),
            Action::Claim(r) => replica::claim(cfg, &mut s, r),
            Action::Renew(r) => replica::renew(cfg, &mut s, r),
            Action::Search(r) => replica::search(cfg, &mut s, r),
            Action::Send(r) => replica::send(cfg, &mut s, r),
            Action::JiraCommit(r) => replica::jira_commit(cfg, &mut s, r),
            Action::Answer(r) => replica::answer(cfg, &mut s, r),
            Action::Drop(r) => replica::fail_create(cfg, &mut s, r, false),
            Action::Timeout(r) => replica::fail_create(cfg, &mut s, r, true),
            Action::RecordCreated(r) => replica::record_created(cfg, &mut s, r),
            Action::Link(r) => replica::link(cfg, &mut s, r),
            Action::Crash(r) => replica::crash(&mut s, r),
            Action::HealRead(r) => replica::heal_read(cfg, &mut s, r),
            Action::HealWrite(r) => replica::heal_write(cfg, &mut s, r),
            Action::SyncOutRead(r) => replica::sync_out_read(cfg, &mut s, r),
            Action::SyncOutWrite(r) => replica::sync_out_write(cfg, &mut s, r),
        };
        (changed && s != *last).then_some(s)
    }

    fn within_boundary(&self, s: &State) -> bool {
        s.jira.issues.len() <= usize::from(self.cfg.max_issues)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(names::NO_DUPLICATE_CREATED, |_, s: &State| {
                s.jira.issues.len() <= 1
            }),
            Property::always(names::AT_MOST_ONE_LIVE_AFTER_HEAL, |_, s: &State| {
                match s.healed {
                    Some(n) if usize::from(n) == s.jira.issues.len() => s.jira.live() <= 1,
                    _ => true,
                }
            }),
            Property::always(names::LINKED_ISSUE_IS_LIVE, |_, s: &State| {
                match &s.store.link {
                    Some(l) => {
                        let closed = s
                            .jira
                            .get(l.issue)
                            .is_some_and(|i| i.state == IssueState::Duplicate);
                        !(closed && s.jira.live() > 0)
                    }
                    None => true,
                }
            }),
            Property::always(names::DECISION_KEPT, |_, s: &State| match &s.store.link {
                Some(l) => {
                    l.decided
                        || s.jira
                            .get(l.issue)
                            .is_none_or(|i| i.state != IssueState::Decided)
                }
                None => true,
            }),
            Property::sometimes(names::CREATED_AND_LINKED, |_, s: &State| {
                linked_how(s) == Some(LinkHow::Created)
            }),
            Property::sometimes(names::CRASH_TAKEOVER, |_, s: &State| {
                s.seen & Milestone::CrashTakeover as u8 != 0
            }),
            Property::sometimes(names::RECOVERED_AFTER_DROP, |_, s: &State| {
                match &s.store.link {
                    Some(l) if l.how == LinkHow::Search => {
                        s.jira.get(l.issue).is_some_and(|i| i.dropped)
                    }
                    _ => false,
                }
            }),
            Property::sometimes(names::RECOVERED_BY_ID_EARLY, |_, s: &State| {
                linked_how(s) == Some(LinkHow::ById { early: true })
            }),
            Property::sometimes(names::PERSON_DECIDED, |_, s: &State| {
                s.jira.issues.iter().any(|i| i.state == IssueState::Decided)
            }),
            Property::sometimes(names::HEALED, |_, s: &State| s.healed.is_some()),
            Property::sometimes(names::DUPLICATE_MADE, |_, s: &State| {
                s.jira.issues.len() > 1
            }),
        ]
    }
}

/// Time passes. A create that can no longer commit leaves Jira; the answer
/// of a committed one that nobody waits for is lost.
fn tick(cfg: &Config, s: &mut State) -> bool {
    if s.t >= cfg.t_max {
        return false;
    }
    s.t += 1;
    for (i, slot) in s.jira.inflight.iter_mut().enumerate() {
        let Some(f) = slot else { continue };
        let waiting = matches!(s.replicas[i].phase,
            replica::Phase::Creating { sent_at, .. } if sent_at == f.sent_at);
        match f.committed {
            Some(id) if !waiting => {
                s.jira.issues[usize::from(id)].dropped = true;
                *slot = None;
            }
            None if s.t > f.sent_at + cfg.rt => *slot = None,
            _ => {}
        }
    }
    true
}

/// What one exhaustive run found.
pub struct Outcome {
    /// Unique states visited.
    pub states: usize,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// For each property: its name and the path that discovered it
    /// (a counterexample for `always`, an example for `sometimes`), as
    /// printable lines.
    pub discoveries: Vec<(&'static str, Vec<String>)>,
}

impl Outcome {
    /// The discovery of property `name`, if any.
    pub fn discovery(&self, name: &str) -> Option<&[String]> {
        self.discoveries
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| p.as_slice())
    }
}

/// Breadth-first, exhaustive, on `threads` threads. With `stop_at` the run
/// ends as soon as that property has a discovery (the shortest path, since
/// the search is breadth-first).
pub fn check(cfg: Config, threads: usize, stop_at: Option<&'static str>) -> Outcome {
    let model = ClaimModel::new(cfg);
    let start = Instant::now();
    let mut builder = model.clone().checker().threads(threads);
    if let Some(name) = stop_at {
        builder = builder.finish_when(HasDiscoveries::AnyOf([name].into_iter().collect()));
    }
    let checker = builder.spawn_bfs().join();
    let elapsed = start.elapsed();
    let mut discoveries: Vec<(&'static str, Vec<String>)> = checker
        .discoveries()
        .into_iter()
        .map(|(name, path)| {
            let actions = shrink(&model, name, path.into_actions());
            (name, describe(&model, &actions))
        })
        .collect();
    discoveries.sort_by_key(|(n, _)| *n);
    Outcome {
        states: checker.unique_state_count(),
        elapsed,
        discoveries,
    }
}

/// Replays `actions` from the initial state, skipping those not enabled
/// where they come, up to the first state where property `name` is
/// discovered (fails, for `always`; holds, for `sometimes`): the actions
/// that ran, or `None` when the property is never discovered.
fn replay_to_discovery(model: &ClaimModel, name: &str, actions: &[Action]) -> Option<Vec<Action>> {
    let property = model.properties().into_iter().find(|p| p.name == name)?;
    let hit = |s: &State| match property.expectation {
        Expectation::Always => !(property.condition)(model, s),
        Expectation::Sometimes | Expectation::Eventually => (property.condition)(model, s),
    };
    let mut state = model.init_states().into_iter().next()?;
    let mut ran = Vec::new();
    if hit(&state) {
        return Some(ran);
    }
    for action in actions {
        let Some(next) = model.next_state(&state, *action) else {
            continue;
        };
        state = next;
        ran.push(*action);
        if hit(&state) {
            return Some(ran);
        }
    }
    None
}

/// Makes a discovered path short enough to read: the breadth-first checker
/// reports *a* path, not the shortest, so this drops every block of
/// consecutive actions (halving the block size down to one action) whose
/// removal still replays to a discovery; actions that the removal disables
/// are dropped with it. The result is replayed through the model, so it is
/// a real run.
pub fn shrink(model: &ClaimModel, name: &str, actions: Vec<Action>) -> Vec<Action> {
    let Some(mut best) = replay_to_discovery(model, name, &actions) else {
        return actions;
    };
    loop {
        let before = best.len();
        let mut size = best.len().max(1);
        while size > 0 {
            let mut start = 0;
            while start + size <= best.len() {
                let mut candidate = best.clone();
                candidate.drain(start..start + size);
                match replay_to_discovery(model, name, &candidate) {
                    Some(ran) if ran.len() < best.len() => best = ran,
                    _ => start += 1,
                }
            }
            size /= 2;
        }
        if best.len() == before {
            return best;
        }
    }
}

/// A run as lines: each action with the time it was taken at, then what
/// the store and Jira look like after it. Ticks are not shown: the time
/// column tells them.
pub fn describe(model: &ClaimModel, actions: &[Action]) -> Vec<String> {
    let mut lines = Vec::new();
    let Some(mut state) = model.init_states().into_iter().next() else {
        return lines;
    };
    for action in actions {
        let Some(next) = model.next_state(&state, *action) else {
            lines.push(format!("(not enabled: {action:?})"));
            return lines;
        };
        if *action != Action::Tick {
            let mut line = format!("t={:<2} {:<16}", state.t, format!("{action:?}"));
            let _ = write!(line, " | {}", summary(&next));
            lines.push(line);
        }
        state = next;
    }
    lines
}

fn summary(s: &State) -> String {
    let mut out = String::new();
    match &s.store.claim {
        Some(c) => {
            let _ = write!(
                out,
                "claim{{owner={:?} fence={} until={} doubt={:?}",
                c.owner, c.fence, c.until, c.doubt_since
            );
            if let Some(id) = c.created_issue {
                let _ = write!(out, " created=#{id}");
            }
            out.push('}');
        }
        None => out.push_str("claim{}"),
    }
    if let Some(l) = &s.store.link {
        let _ = write!(out, " link{{#{} v{} {:?}", l.issue, l.version, l.how);
        if l.decided {
            out.push_str(" decided");
        }
        out.push('}');
    }
    out.push_str(" jira[");
    for (id, i) in s.jira.issues.iter().enumerate() {
        let _ = write!(out, " #{id}@{} {:?}", i.created_at, i.state);
    }
    out.push_str(" ]");
    out
}
