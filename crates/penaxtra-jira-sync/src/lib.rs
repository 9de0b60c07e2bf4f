//! The facade a Penaxtra service embeds to keep its findings and Jira in
//! step.
//!
//! - **Push** ([`JiraSync::push`], [`JiraSync::push_many`]): a finding that
//!   matches the [rule](penaxtra_mapping::Rule) gets exactly one Jira issue,
//!   whatever retries, timeouts, restarts or replicas do.
//! - **State out** ([`JiraSync::set_state`]): a finding's new state moves
//!   its issue through the workflow, directly or by the shortest path.
//! - **Nothing lost** ([`JiraSync::run_due`], [`JiraSync::spawn_worker`]):
//!   what could not reach Jira waits in the [store](store::SyncStore)'s
//!   queue and is retried with backoff; what needs a person is parked with
//!   the fix.
//! - **Inbound** ([`webhook::WebhookGate`], [`JiraSync::handle_webhook`],
//!   [`JiraSync::reconcile`]): verified webhooks and reconciliation sweeps
//!   bring Jira's decisions back, once, in order, without echoes.
//! - **Test connection** ([`JiraSync::test_connection`]).
//! - **Replicas**: several processes or hosts share one
//!   [store](store::SyncStore) (`store::PostgresStore` with the feature
//!   `postgres`, or [`store::SqliteStore`] on one host) and one Jira rate
//!   ([`SharedRateBudget`]); the feature `test-kit` proves a host's own
//!   store (`store::conformance`).
//!
//! Principal types: [`JiraSync`] (built by [`JiraSync::from_config`] from a
//! [`config::SyncConfig`], or by [`JiraSync::builder`]; tuned by
//! [`SyncSettings`]); the host's [`Findings`]; the [`store::SyncStore`]
//! ([`store::SqliteStore`], [`store::MemoryStore`]); [`webhook::WebhookGate`]
//! and [`webhook::WebhookRoute`]; [`Inbound`]; outcomes [`PushOutcome`],
//! [`StateOutcome`], [`InboundOutcome`], [`ReconcileReport`],
//! [`SettleReport`]; [`SyncError`] with `code()` and `fix()`.
//!
//! This is the only crate that knows both Penaxtra and Jira I/O. It sits on
//! `jira-client` (HTTP), `penaxtra-mapping` (pure rules) and `jira-model`
//! (payloads); nothing in it depends on `jira-sim`, which only its tests and
//! examples use.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use penaxtra_jira_sync::{JiraSync, MemoryFindings, store::MemoryStore};
//! use jira_client::{ApiTokenAuth, JiraClient, UrlPolicy};
//! use std::sync::Arc;
//!
//! // An embedded Jira simulator stands in for Jira Cloud.
//! let sim = jira_sim::JiraSim::start(jira_sim::SimConfig::new(jira_model::Flavor::Cloud)).await?;
//! let auth = ApiTokenAuth::new(jira_sim::accounts::SERVICE_EMAIL, jira_sim::accounts::SERVICE_API_TOKEN.to_string().into());
//! // The simulator listens on 127.0.0.1: the operator opts in to loopback.
//! let client = JiraClient::builder(&sim.base_url(), jira_model::Flavor::Cloud, auth)
//!     .url_policy(UrlPolicy::default().allow_loopback())
//!     .build()?;
//!
//! let finding: penaxtra_mapping::Finding = serde_json::from_str(r#"{
//!   "id":"fnd_2026_000123","title":"Indirect prompt injection via RAG corpus","severity":"high",
//!   "state":"open","probe_id":"rag_indirect_v2","scan_id":"scn_2026_000045",
//!   "frameworks":["OWASP_LLM01"],"excerpt":"ignore previous instructions",
//!   "url":"https://penaxtra.com/app/findings/fnd_2026_000123"}"#)?;
//! let findings = Arc::new(MemoryFindings::with([finding.clone()]));
//! let sync = JiraSync::builder(client, Arc::new(MemoryStore::new()), findings).build()?;
//!
//! let first = sync.push(&finding).await?;
//! let again = sync.push(&finding).await?;
//! assert_eq!(first.kind(), "created");
//! assert_eq!(again.kind(), "already_linked");
//! assert_eq!(sim.issues().len(), 1);
//! # Ok(()) }
//! ```

/// The Jira REST client layer (`jira-client`), re-exported so a host depends
/// on this crate alone.
pub use jira_client as client;
/// Jira's payload types (`jira-model`).
pub use jira_model as model;
/// Penaxtra's findings, rule, template and state table (`penaxtra-mapping`).
pub use penaxtra_mapping as mapping;

mod backfill;
mod background;
mod clock;
pub mod config;
mod connection_id;
pub mod connections;
mod decision;
mod deliveries;
mod engine;
mod engine_core;
mod error;
mod heal;
mod host;
mod inbound;
mod inbound_reason;
mod jira_time;
mod jql;
mod lease;
mod marks;
pub mod metrics;
mod options;
pub mod parked;
mod push;
mod rate_budget;
mod reconcile;
mod screens;
mod settings;
mod settle;
mod state_out;
pub mod store;
mod test_connection;
pub mod webhook;
mod worker;
mod workflow;

pub use backfill::BackfillReport;
pub use background::WorkerHandle;
pub use clock::{Clock, OffsetClock, SystemClock, TokioClock};
pub use connection_id::{ConnectionId, ConnectionIdError, MAX_CONNECTION_ID_LEN};
pub use deliveries::DEFAULT_DELIVERY_RETENTION;
pub use engine::{JiraSync, JiraSyncBuilder};
pub use error::SyncError;
pub use heal::DUPLICATE_LABEL;
pub use host::{Findings, HostError, MemoryFindings, StateCause};
pub use inbound::{Disposition, Inbound, InboundOutcome, MAX_EVENT_AHEAD};
pub use inbound_reason::InboundReason;
pub use marks::{CONNECTION_TEST_LABEL, CONNECTION_TEST_SUMMARY};
pub use push::{Progress, PushKind, PushOutcome};
pub use rate_budget::SharedRateBudget;
pub use reconcile::{INTEGRATION_LABEL, ReconcileReport};
pub use settings::{DeletedIssue, ReceiverUrl, SyncSettings};
pub use settle::{SettleReport, WorkLeft};
pub use state_out::StateOutcome;
pub use test_connection::{ConnectionReport, TestStep};
pub use worker::WorkerReport;
