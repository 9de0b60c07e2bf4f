//! `jira_client`: the only crate of the workspace that speaks HTTP to Jira.
//!
//! It authenticates (Cloud API token as Basic, Data Center personal access
//! token as Bearer, or any [`Auth`] the host writes), keeps tokens sealed at
//! rest ([`sealed`]), stays under Jira's rate limits (a local quota shared by
//! every clone, a [`RequestBudget`] shared with other processes when the host
//! gives one, plus the slow-down Jira's rate-limit headers ask for),
//! connects only where the operator's [`UrlPolicy`] allows (https to public
//! addresses by default, checked on the URL and on every resolved address),
//! retries what is safe to retry, and turns every failure into one typed
//! [`Error`] with a stable [`Error::code`] and a fix. The typed endpoints
//! take and return the payload types of `jira-model`.
//!
//! This layer depends on `jira-model` only. It must not depend on the
//! Penaxtra side (`penaxtra-mapping`), the sync facade, or the simulator:
//! it knows Jira, not findings.
//!
//! ```
//! use jira_client::{JiraClient, PatAuth, RateLimit, RetryPolicy, UrlPolicy};
//! use jira_client::sealed::{SealedToken, SealingKeyPair, TokenBinding};
//! use jira_model::Flavor;
//! use secrecy::SecretString;
//! use std::num::NonZeroU32;
//! use std::time::Duration;
//!
//! // The configuration holds a sealed token, bound to its connection and
//! // Jira origin; the secret key lives elsewhere.
//! let keys = SealingKeyPair::generate();
//! let binding = TokenBinding::for_base_url("default", "https://jira.corp.example/jira/")?;
//! let stored = SealedToken::seal(&keys.public_key(), &binding, &SecretString::from("my-pat"))?.to_string();
//! let token = stored.parse::<SealedToken>()?.open(keys.secret_key(), &binding)?;
//!
//! let client = JiraClient::builder("https://jira.corp.example/jira/", Flavor::DataCenter, PatAuth::new(token))
//!     .timeout(Duration::from_secs(20))
//!     .rate_limit(RateLimit::new(NonZeroU32::new(5).ok_or("zero")?, NonZeroU32::new(10).ok_or("zero")?))
//!     .retry_policy(RetryPolicy::default())
//!     .build()?;
//! assert_eq!(client.base_url().as_str(), "https://jira.corp.example/jira");
//! assert!(!format!("{client:?}").contains("my-pat"));
//!
//! // The operator's URL policy (strict by default) refuses http, and
//! // loopback, private and link-local addresses: a tenant's base URL
//! // cannot reach the service's own network.
//! let err = JiraClient::builder("http://jira.corp.example", Flavor::DataCenter, PatAuth::new("t".into()))
//!     .build()
//!     .unwrap_err();
//! assert_eq!(err.code(), "url_refused");
//! let err = JiraClient::builder("https://10.0.0.7/jira", Flavor::DataCenter, PatAuth::new("t".into()))
//!     .build()
//!     .unwrap_err();
//! assert_eq!(err.code(), "url_refused");
//! // The operator lists the private range where its Jira lives.
//! let policy = UrlPolicy::default().allow_cidr("10.0.0.0/8")?;
//! JiraClient::builder("https://10.0.0.7/jira", Flavor::DataCenter, PatAuth::new("t".into()))
//!     .url_policy(policy)
//!     .build()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Calling Jira (not run here: it needs a server):
//!
//! ```no_run
//! # async fn run(client: jira_client::JiraClient) -> Result<(), jira_client::Error> {
//! use jira_model::{CreateIssueRequest, Description};
//! let me = client.myself().await?;
//! let request = CreateIssueRequest::builder("SEC", "Bug", "[Penaxtra] Prompt injection")
//!     .description(Description::Wiki("*Severity:* high".into()))
//!     .build();
//! match client.create_issue(&request).await {
//!     Ok(created) => println!("{} created by {:?}", created.key, me.display_name),
//!     Err(e) if e.may_have_been_sent() => { /* search Jira before creating again */ }
//!     Err(e) => eprintln!("{e} ({})", e.fix().unwrap_or("")),
//! }
//! let mut pages = client.search("project = SEC AND labels = penaxtra", &["status", "resolution"]);
//! while let Some(issues) = pages.next_page().await? {
//!     println!("{} issues", issues.len());
//! }
//! # Ok(()) }
//! ```

mod auth;
mod base_url;
mod budget;
mod builder;
mod classify;
mod client;
mod endpoints;
mod error;
mod gateway;
pub mod metrics;
mod rate_limit;
mod redact;
mod retry;
pub mod sealed;
mod send_gate;
mod time;
mod transport;
mod url_policy;

pub use auth::{
    ApiTokenAuth, Auth, AuthContext, CredentialKind, DEFAULT_CLOUD_TOKEN_URL,
    OAuthClientCredentials, PatAuth, ScopedTokenAuth,
};
pub use budget::{BudgetError, RequestBudget};
pub use builder::{ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, DEFAULT_USER_AGENT};
pub use client::JiraClient;
pub use endpoints::{DEFAULT_PAGE_SIZE, MAX_RECONCILE_ISSUES, SearchPages};
pub use error::{Error, ErrorKind};
pub use gateway::DEFAULT_GATEWAY_URL;
pub use rate_limit::{NEAR_LIMIT_PAUSE, PointsQuota, RateLimit, RateLimitStatus};
pub use retry::RetryPolicy;
pub use send_gate::{GateClosed, SendGate};
pub use time::{Clock, Sleep, SystemClock, TokioSleep};
pub use url_policy::{Cidr, CidrError, UrlPolicy};
