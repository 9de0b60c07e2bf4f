//! An exhaustive model check, with [`stateright`], of the protocol that
//! keeps one Jira issue per finding across replicas: the fenced claim, the
//! doubt it carries, the search consistency window, the lease guard before
//! a create, the created id kept on the claim, healing of duplicates, and
//! the versioned link a person's decision is recorded on.
//!
//! It models the **target design** (the one being built in
//! `crates/penaxtra-jira-sync`), not a particular commit; every fix of that
//! design is a switch in [`Fixes`] so that a test can turn one off and show
//! the counterexample the checker finds without it.
//!
//! # What each action stands for
//!
//! | action | real code |
//! |---|---|
//! | `Claim` | `SyncStore::claim` (`store/mod.rs`; `store/memory.rs`, `store/sqlite/`, `store/postgres/`), called by `Pusher::try_push` (`push.rs`) and per chunk in `backfill.rs` |
//! | `Renew` | the `ClaimLease` keeper (`lease.rs`) calling `SyncStore::renew` |
//! | `Search` | `Pusher::find_existing` and `search_not_yet_trusted` (`push.rs`); on "wait", `SyncStore::release` with the doubt kept (`SyncError::AwaitingConsistency`) |
//! | `Send` | the lease check and `create_issue…` in `create_claimed` (`push.rs`), the bulk create in `backfill.rs` |
//! | `JiraCommit`, `Answer`, `Drop`, `Timeout` | Jira acting on the create; the answer, a lost answer, the request timeout (`may_have_been_sent` → release in doubt, `push.rs`) |
//! | `RecordCreated` | the fenced write of the created id on the claim row (fix `keep_created_ids`) |
//! | `Link` | `Pusher::record_link` → `SyncStore::insert_link` with the fence |
//! | `Crash` | a process killed: local state gone, the claim row left to expire |
//! | `HealRead`, `HealWrite` | `reconcile.rs` finding an unlinked issue with the label → `heal_duplicate` / `relink` (`heal.rs`) |
//! | `SyncOutRead`, `SyncOutWrite` | `state_out.rs` reading the link and writing its bookkeeping back (`SyncStore::update_link`) |
//! | `Person` | a person moving the linked issue to a decided state, recorded by `inbound.rs` |
//! | `Tick` | time passing |
//!
//! # What is abstracted away
//!
//! - One finding; its dedup label is the only thing Jira searches by.
//!   Findings are independent in the protocol (claims and links are per
//!   finding), so one is enough for duplicate prevention.
//! - Time is a small integer shared by all; every replica's monotonic clock
//!   runs at its rate; a replica's wall clock is global time plus a fixed
//!   skew. Store calls are atomic and take no time, so the time a claim or
//!   renew is *sent* equals the time the store handles it: the real code
//!   must start its local lease at the sending (it does, in the design).
//!   Likewise a search is evaluated at one instant.
//! - The queue, parking, recovery of orphans, rate limits, bulk creates,
//!   the rule (`matches`), webhooks other than a person's decision, deleted
//!   issues: not modelled. A replica retries a push whenever it likes
//!   (which covers the queue and the recovery pass), except that a replica
//!   told to wait for the window comes back when the window has passed.
//! - At most one create in flight per replica.
//! - Link bookkeeping (states, echo expectations) is one flag: whether the
//!   person's decision is recorded. State-outs write the link a bounded
//!   number of times ([`model::Config::version_cap`]).
//!
//! # Failure model
//!
//! - **Crash**: a replica loses its local state at any step; its claim row
//!   stays until it expires; a create it sent may still commit.
//! - **Pause**: a replica takes no step while others do and time passes;
//!   any interleaving is explored. The lease check and the sending of a
//!   create are one atomic step: a pause between the last check and the
//!   bytes leaving the socket is the residual window the real code cannot
//!   close, since Jira takes no fence. The guard's margin makes that window
//!   as small as a thread's scheduling, not a lease.
//! - **Jira**: a create commits at some time in `[sent, sent + RT]`, also
//!   after its sender crashed or gave up; its answer may be lost after the
//!   commit (commit-then-drop); the request may time out. Search shows an
//!   issue only `G` after its creation; a GET by id is consistent.
//! - **Clocks**: a replica's wall clock may run ahead (skew); without the
//!   fix `db_clock` the store trusts it.
//!
//! See `README.md` of this crate for the measured state counts and the
//! counterexamples found with each fix off.

pub mod fixes;
pub mod jira;
pub mod model;
pub mod replica;
pub mod store;

pub use fixes::{Fixes, LeaseGuard};
pub use model::{Action, ClaimModel, Config, Outcome, State, check, names};

/// Global time, in abstract units.
pub type Time = i16;
/// A replica's index.
pub type ReplicaId = u8;
/// An issue's index in Jira (commit order).
pub type IssueId = u8;
