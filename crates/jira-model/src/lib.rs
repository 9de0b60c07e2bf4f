//! Serde types of the Jira REST payloads and webhook events the Penaxtra
//! integration exchanges, plus writers for Jira's two rich-text formats and
//! Jira's field limits.
//!
//! This is the bottom layer of the workspace. It must not depend on any other
//! crate of the workspace, and it performs no I/O: no network, no clock, no
//! file system. Everything here is a value that serialises to, or parses from,
//! the exact JSON shapes real Jira Cloud (REST v3) and Jira Data Center
//! (REST v2) use.
//!
//! Principal types:
//! - [`CreateIssueRequest`] (with [`Description`] and [`FieldValue`]),
//!   [`BulkCreateRequest`] / [`BulkCreateResponse`], [`CreatedIssue`];
//! - [`Issue`] and [`IssueFields`], [`Status`] / [`StatusCategoryKey`],
//!   [`Transition`] / [`TransitionRequest`];
//! - [`CloudSearchRequest`] / [`CloudSearchPage`] and the Data Center pair;
//! - ids compared the way Jira compares them: [`IssueKey`] (upper case),
//!   [`StatusName`] (case, spaces and apostrophes folded), [`FieldId`];
//! - [`webhook::WebhookEvent`]; [`ErrorBody`] for Jira's error shapes;
//! - writers: [`adf`] (Cloud's document format) and [`wiki`] (escaped
//!   wiki markup); [`limits`] for Jira's field limits.
//!
//! ```
//! use jira_model::{CreateIssueRequest, Description, FieldValue, FieldId};
//!
//! let request = CreateIssueRequest::builder("SEC", "Bug", "[Penaxtra] Prompt injection")
//!     .description(Description::Wiki("*Severity:* high".into()))
//!     .label("penaxtra")
//!     .custom_field(FieldId::new("customfield_10031").unwrap(), FieldValue::Text("fnd_1".into()))
//!     .build();
//! let json = serde_json::to_value(&request).unwrap();
//! assert_eq!(json["fields"]["project"]["key"], "SEC");
//! assert_eq!(json["fields"]["customfield_10031"], "fnd_1");
//! ```

pub mod adf;
mod bulk;
mod create;
mod date;
mod error;
mod error_body;
mod field;
mod flavor;
mod href;
mod ids;
mod issue;
pub mod limits;
mod project;
mod search;
mod status;
mod status_name;
pub mod text;
mod transition;
mod user;
pub mod webhook;
pub mod wiki;

pub use bulk::{BulkCreateRequest, BulkCreateResponse, BulkElementError, MAX_BULK_CREATE};
pub use create::{
    AddCommentRequest, CommentVisibility, CreateIssueRequest, CreateIssueRequestBuilder,
    CreatedIssue, Description, EditIssueRequest, FieldValue, IssueTypeRef, PriorityRef, ProjectRef,
    UserRef,
};
pub use date::Date;
pub use error::ModelError;
pub use error_body::ErrorBody;
pub use field::{FieldDefinition, FieldSchema};
pub use flavor::Flavor;
pub use href::{HREF_MAX, Href};
pub use ids::{FieldId, IssueKey, ProjectKey};
pub use issue::{Issue, IssueFields, Resolution};
pub use project::{
    CreateMetaField, CreateMetaPage, IssueType, IssueTypesPage, Project, ServerInfo,
};
pub use search::{
    CloudSearchPage, CloudSearchRequest, DataCenterSearchPage, DataCenterSearchRequest,
};
pub use status::{Status, StatusCategory, StatusCategoryKey};
pub use status_name::StatusName;
pub use transition::{Transition, TransitionField, TransitionRef, TransitionRequest, Transitions};
pub use user::User;
