//! What the gate decided: a verified event, or a rejection with the HTTP
//! status to answer.

use jira_model::webhook::WebhookEvent;
use std::fmt;
use std::net::IpAddr;

/// The gate's answer to one request: a verified event to hand to
/// processing, or a rejection whose [`Rejection::status`] to answer (and
/// nothing changes).
pub type GateDecision = Result<VerifiedWebhook, Rejection>;

/// A delivery that passed every check.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedWebhook {
    /// The parsed event.
    pub event: WebhookEvent,
    /// `X-Atlassian-Webhook-Identifier`: the same for every retry of one
    /// delivery. `None` when absent or not a printable ASCII token of at most
    /// 256 bytes (older Data Center does not send it).
    pub delivery_id: Option<String>,
    /// `X-Atlassian-Webhook-Retry`: how many times Jira retried this
    /// delivery, when Jira says so.
    pub retry: Option<u32>,
    /// The source address the allowlist accepted (after proxy resolution).
    pub source_ip: IpAddr,
    /// Which configured URL secret matched (0 or 1): a delivery still on the
    /// old secret shows that a rotation is not finished in Jira.
    pub url_secret_slot: usize,
    /// Which configured signing secret verified `X-Hub-Signature`, `None`
    /// when no signing secret is configured.
    pub hmac_secret_slot: Option<usize>,
    /// The size of the raw body in bytes.
    pub body_len: usize,
}

/// A refused delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejection {
    reason: RejectReason,
    source_ip: Option<IpAddr>,
}

impl Rejection {
    pub(super) fn new(reason: RejectReason, source_ip: Option<IpAddr>) -> Self {
        Self { reason, source_ip }
    }
    /// The HTTP status to answer.
    pub fn status(&self) -> u16 {
        self.reason.status()
    }
    /// Why.
    pub fn reason(&self) -> RejectReason {
        self.reason
    }
    /// The stable code of the reason (`ip_not_allowed`, ...).
    pub fn code(&self) -> &'static str {
        self.reason.code()
    }
    /// The resolved source address, when it was determined (it is not when
    /// the size check failed first or a trusted proxy named no client).
    pub fn source_ip(&self) -> Option<IpAddr> {
        self.source_ip
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "webhook rejected with {} {}: {}",
            self.status(),
            self.code(),
            self.reason
        )
    }
}

/// Why a delivery was refused, in the order the gate checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// The body exceeds the size limit (413).
    BodyTooLarge,
    /// The source address is not in the allowlist (403).
    IpNotAllowed,
    /// The request came from a trusted proxy, but `X-Forwarded-For` names
    /// no client: it is absent or blank, holds an entry that is not an
    /// address, or lists only trusted proxies (403). The proxy's own address
    /// is never taken instead.
    NoClientAddress,
    /// The URL secret is missing or wrong (401; the same for both).
    UrlSecretInvalid,
    /// `X-Hub-Signature` is missing or wrong while a signing secret is
    /// configured (401).
    SignatureInvalid,
    /// The body is not JSON (400).
    NotJson,
    /// The body is JSON but not a Jira webhook event (400).
    NotJiraEvent,
}

impl RejectReason {
    /// The HTTP status to answer.
    pub fn status(self) -> u16 {
        match self {
            Self::BodyTooLarge => 413,
            Self::IpNotAllowed | Self::NoClientAddress => 403,
            Self::UrlSecretInvalid | Self::SignatureInvalid => 401,
            Self::NotJson | Self::NotJiraEvent => 400,
        }
    }

    /// A stable, machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::BodyTooLarge => "body_too_large",
            Self::IpNotAllowed => "ip_not_allowed",
            Self::NoClientAddress => "no_client_address",
            Self::UrlSecretInvalid => "url_secret_invalid",
            Self::SignatureInvalid => "signature_invalid",
            Self::NotJson => "not_json",
            Self::NotJiraEvent => "not_jira_event",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BodyTooLarge => {
                "the body exceeds max_body_bytes; raise the limit if Jira legitimately sends larger events"
            }
            Self::IpNotAllowed => {
                "the source address is not in the allowlist; load Atlassian's current ranges or add the sender's network, and configure trusted_proxies when behind a proxy"
            }
            Self::NoClientAddress => {
                "the request came through a trusted proxy, but X-Forwarded-For names no client address (absent, blank, not an address, or only trusted proxies); make the proxy append its client's address, and list only proxies in trusted_proxies"
            }
            Self::UrlSecretInvalid => {
                "the URL secret is missing or wrong; check the webhook URL registered in Jira"
            }
            Self::SignatureInvalid => {
                "X-Hub-Signature is missing or wrong; check that the webhook's secret in Jira is one of the configured signing secrets"
            }
            Self::NotJson => "the body is not JSON",
            Self::NotJiraEvent => "the body is JSON but not a Jira webhook event (no webhookEvent)",
        })
    }
}
