//! A stateful Jira Cloud / Data Center simulator on loopback: the embedded
//! default for examples, tests and benchmarks.
//!
//! `jira-sim` serves the REST calls the Penaxtra integration makes (who am
//! I, server info, project, create metadata, fields, create, bulk create,
//! get, edit, transitions, search, comments, delete) with Jira's real
//! shapes and strictness per flavor, sends webhooks for every change, rate
//! limits per account, injects seedable faults, and can make JQL search
//! lag behind writes as Jira Cloud's eventually consistent search does
//! ([`SimConfig::search_lag`]). An admin API under
//! `/_sim/` (a prefix real Jira never uses) shows its full state.
//!
//! It depends on `jira-model` only, and nothing in the library depends on
//! it: tests, examples and benches use it. It binds loopback addresses
//! only and never reaches beyond them (webhooks go where you register them).
//!
//! ```
//! use jira_sim::{JiraSim, SimConfig, accounts};
//! use jira_model::Flavor;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sim = JiraSim::start(SimConfig::new(Flavor::DataCenter)).await?;
//! let client = reqwest::Client::builder().no_proxy().build()?;
//! let created: serde_json::Value = client
//!     .post(format!("{}/rest/api/2/issue", sim.base_url()))
//!     .bearer_auth(accounts::SERVICE_PAT)
//!     .json(&serde_json::json!({"fields": {
//!         "project": {"key": "SEC"}, "issuetype": {"name": "Bug"},
//!         "summary": "[Penaxtra] Prompt injection", "customfield_10031": "fnd_1"}}))
//!     .send()
//!     .await?
//!     .error_for_status()?
//!     .json()
//!     .await?;
//! assert_eq!(created["key"], "SEC-1");
//! assert_eq!(sim.issues()[0].finding_id(), Some("fnd_1"));
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod accounts;
mod captcha;
mod clock;
mod config;
mod error;
mod faults;
mod http;
mod jql;
mod rate_limit;
mod sim;
mod tokens;
pub mod webhook;
mod workflow;
mod world;

pub use captcha::DEFAULT_CAPTCHA_AFTER;
pub use clock::SimClock;
pub use config::{
    DEFAULT_FRAMEWORK_OPTIONS, FrameworksFieldKind, SimConfig, WebhookRetry, WebhookTarget,
    WebhookTiming,
};
pub use error::SimError;
pub use faults::{DropMode, FaultConfig, LatencyFault, StormConfig};
pub use rate_limit::cloud::CloudLimits;
pub use rate_limit::{LimiterCount, SimRateLimit};
pub use sim::JiraSim;
pub use tokens::CLOUD_ID;
pub use webhook::{DroppedWebhook, WebhookDelivery};
pub use workflow::{Workflow, WorkflowResolution, WorkflowStatus, WorkflowTransition};
pub use world::{SimComment, SimIssue};
