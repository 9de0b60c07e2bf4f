//! Penaxtra's side of the Jira integration: findings and their JSON form,
//! the mapping rule that decides which findings open issues, redaction of
//! excerpts, the issue template that turns a finding into a Jira create
//! request (ADF for Jira Cloud, wiki markup for Jira Data Center), and the
//! two-way table between finding states and Jira statuses.
//!
//! This layer is pure and synchronous. It depends only on `jira-model` for
//! Jira's payload shapes and must not depend on `jira-client`,
//! `penaxtra-jira-sync` or `jira-sim`; it does no I/O: no network, no
//! clock, no file system.
//!
//! Principal types: [`Finding`] (with [`FindingId`], [`Severity`],
//! [`FindingState`]) and [`parse_findings`]; [`Rule`]; [`IssueTemplate`]
//! (from [`TemplateConfig`]) with its [`Routes`] and its [`Redactor`]; [`dedup_label`];
//! [`StateTable`] and [`InboundPolicy`]; [`MappingConfig`], every setting in
//! one value.
//!
//! ```
//! use penaxtra_mapping::{parse_findings, IssueTemplate, Rule, StateTable, FindingState};
//! use jira_model::{Flavor, StatusCategoryKey};
//!
//! let findings = parse_findings(r#"[{
//!     "id": "fnd_2026_000123", "title": "Indirect prompt injection via RAG corpus",
//!     "severity": "high", "state": "open", "probe_id": "rag_indirect_v2",
//!     "scan_id": "scn_2026_000045", "frameworks": ["OWASP_LLM01"],
//!     "excerpt": "Authorization: Bearer abcdefghijklmnopqrstuvwxyz",
//!     "url": "https://penaxtra.com/app/findings/fnd_2026_000123"
//! }]"#)?;
//! let finding = &findings[0];
//! assert!(Rule::default().matches(finding));
//!
//! let request = IssueTemplate::default().render(finding, Flavor::Cloud)?;
//! let body = serde_json::to_string(&request).unwrap();
//! assert!(body.contains("[REDACTED:authorization-header]"));
//! assert!(!body.contains("abcdefghijklmnopqrstuvwxyz"));
//!
//! let table = StateTable::default();
//! assert_eq!(table.to_jira(FindingState::Triaged).status, "In Progress");
//! assert_eq!(
//!     table.from_jira("Done", Some("Won't Do"), &StatusCategoryKey::Done),
//!     Some(FindingState::Accepted)
//! );
//! # Ok::<(), penaxtra_mapping::MappingError>(())
//! ```

mod config;
mod description;
mod error;
mod finding;
mod id;
mod named;
mod preview;
mod redact;
mod route;
mod rule;
mod severity;
mod state;
mod state_table;
mod template;

pub use config::{Mapping, MappingConfig};
pub use error::MappingError;
pub use finding::{FRAMEWORK_MAX, Finding, REF_ID_MAX, TAG_MAX, TAGS_MAX, parse_findings};
pub use id::{DEDUP_LABEL_PREFIX, FINDING_ID_MAX, FindingId, dedup_label};
pub use preview::{RenderedIssue, render_all};
pub use redact::{MARKER_PREFIX, PatternConfig, RedactionConfig, Redactor};
pub use route::{Route, RouteConfig, RouteMatch, Routes};
pub use rule::{Filter, Rule};
pub use severity::Severity;
pub use state::FindingState;
pub use state_table::{InboundPolicy, JiraTarget, StateRow, StateTable};
pub use template::{
    DEFAULT_LINK_BASE, EXCERPT_SCAN_MAX, FrameworksField, FrameworksFieldKind, INTEGRATION_LABEL,
    IssueTemplate, MAX_FRAMEWORKS, RenderContext, SLA_DAYS_MAX, TemplateConfig,
};
