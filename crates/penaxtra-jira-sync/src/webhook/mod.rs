//! Inbound Jira webhooks: the gate that verifies them, and their processing.
//!
//! The gate ([`WebhookGate`]) is framework-neutral: the server hands it the
//! peer address, the `X-Forwarded-For` value, the secret found in the URL
//! ([`extract_url_secret`]), the headers and the raw body as a
//! [`WebhookRequest`] ([`HttpWebhookRequest`] builds one from `http`
//! types), and answers a [`GateDecision`], a `Result`: either a
//! [`VerifiedWebhook`] carrying the parsed
//! [`WebhookEvent`](jira_model::webhook::WebhookEvent), or a [`Rejection`]
//! with the HTTP status to answer. The checks and their order are
//! documented on [`WebhookGate`]. With the `axum` feature (on by default),
//! [`WebhookRoute`] is the whole receiver as an axum router: gate, inbound
//! processing, and the status Jira must get.

mod allowlist;
mod config;
#[cfg(feature = "axum")]
mod connections_route;
mod decision;
mod error;
mod extract;
mod forwarded;
mod gate;
mod http_request;
mod request;
#[cfg(feature = "axum")]
mod route;
mod secret;
mod signature;

pub use allowlist::IpAllowlist;
pub use config::{WebhookGateConfig, WebhookGateConfigBuilder};
#[cfg(feature = "axum")]
pub use connections_route::{ConnectionsRoute, MAX_ROUTE_BODY_BYTES};
pub use decision::{GateDecision, RejectReason, Rejection, VerifiedWebhook};
pub use error::{GateConfigError, SecretKind};
pub use extract::{SECRET_QUERY_PARAMETER, extract_url_secret};
pub use gate::{DELIVERY_ID_HEADER, RETRY_HEADER, WebhookGate};
pub use http_request::HttpWebhookRequest;
pub use request::WebhookRequest;
#[cfg(feature = "axum")]
pub use route::{
    DEFAULT_BODY_DEADLINE, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MOUNT, WebhookLog, WebhookRoute,
};
pub use secret::{MAX_SECRET_BYTES, MAX_SECRETS_PER_KIND, MIN_SECRET_BYTES};
pub use signature::{SIGNATURE_HEADER, sign_body};
