//! The gate: every check an inbound webhook must pass, in a fixed order.

use super::config::Redacted;
use super::forwarded::source_address;
use super::secret::UrlSecrets;
use super::signature::{self, SIGNATURE_HEADER};
use super::{
    GateConfigError, GateDecision, IpAllowlist, RejectReason, Rejection, VerifiedWebhook,
    WebhookGateConfig, WebhookRequest,
};
use ipnet::IpNet;
use jira_model::webhook::WebhookEvent;
use secrecy::SecretString;
use std::fmt;
use std::net::IpAddr;

/// The header that identifies a delivery across retries.
pub const DELIVERY_ID_HEADER: &str = "X-Atlassian-Webhook-Identifier";
/// The header carrying Jira's retry count.
pub const RETRY_HEADER: &str = "X-Atlassian-Webhook-Retry";
/// The longest delivery id kept.
const MAX_DELIVERY_ID_BYTES: usize = 256;

/// Verifies inbound Jira webhooks, independently of any HTTP framework.
///
/// [`check`](Self::check) runs, in this order, stopping at the first
/// failure: body size (413) → source IP in the allowlist (403; behind a
/// trusted proxy, `X-Forwarded-For` must name the client) → URL secret
/// (401, the same for missing and wrong) → `X-Hub-Signature` when signing
/// secrets are configured (401) → JSON (400) → Jira event (400). A
/// rejection is logged with its reason, never with a secret or the body,
/// and the caller answers its status and changes nothing.
///
/// ```
/// use penaxtra_jira_sync::webhook::{
///     IpAllowlist, WebhookGate, WebhookGateConfig, WebhookRequest, sign_body,
/// };
/// use secrecy::SecretString;
///
/// let config = WebhookGateConfig::builder(
///     IpAllowlist::from_cidrs(["192.0.2.0/24"]).unwrap(),
///     "a-long-random-url-secret".into(),
/// )
/// .hmac_secret("the-webhook-secret-in-jira".into())
/// .build()
/// .unwrap();
/// let gate = WebhookGate::new(config).unwrap();
///
/// let body = br#"{"webhookEvent":"jira:issue_updated","issue":{"id":"1","key":"SEC-1"}}"#;
/// let signature = format!(
///     "sha256={}",
///     sign_body(&SecretString::from("the-webhook-secret-in-jira"), body)
/// );
/// let headers = [("X-Hub-Signature", signature.as_bytes())];
/// let request = WebhookRequest::new("192.0.2.10".parse().unwrap(), body)
///     .url_secret(Some("a-long-random-url-secret"))
///     .headers(&headers);
/// let hook = gate.check(&request).expect("authentic");
/// assert_eq!(hook.event.issue.unwrap().key, "SEC-1");
///
/// // Unsigned, or with a guessed URL secret: 401.
/// let unsigned = WebhookRequest::new("192.0.2.10".parse().unwrap(), body)
///     .url_secret(Some("a-long-random-url-secret"));
/// assert_eq!(gate.check(&unsigned).as_ref().err().unwrap().status(), 401);
/// let forged = WebhookRequest::new("192.0.2.10".parse().unwrap(), body)
///     .url_secret(Some("guess"))
///     .headers(&headers);
/// assert_eq!(gate.check(&forged).as_ref().err().unwrap().status(), 401);
/// ```
pub struct WebhookGate {
    max_body_bytes: usize,
    allowlist: IpAllowlist,
    trusted_proxies: Vec<IpNet>,
    url_secrets: UrlSecrets,
    hmac_secrets: Vec<SecretString>,
}

impl WebhookGate {
    /// A gate for `config`, which is checked again here.
    ///
    /// # Errors
    /// As [`WebhookGateConfig::validate`], for a configuration whose public
    /// fields were changed after it was built.
    pub fn new(config: WebhookGateConfig) -> Result<Self, GateConfigError> {
        config.validate()?;
        Ok(Self {
            max_body_bytes: config.max_body_bytes,
            allowlist: config.allowlist,
            trusted_proxies: config.trusted_proxies,
            url_secrets: UrlSecrets::new(&config.url_secrets),
            hmac_secrets: config.hmac_secrets,
        })
    }

    /// The body size limit, to cap reading in the server framework too.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// Whether deliveries must carry a valid `X-Hub-Signature`.
    pub fn requires_signature(&self) -> bool {
        !self.hmac_secrets.is_empty()
    }

    /// Checks one request. Pure apart from logging: it touches no state, so
    /// a rejected request has changed nothing.
    pub fn check(&self, request: &WebhookRequest<'_>) -> GateDecision {
        match self.verify(request) {
            Ok(verified) => {
                tracing::debug!(
                    source_ip = %verified.source_ip,
                    delivery = verified.delivery_id.as_deref().unwrap_or("-"),
                    event = verified.event.webhook_event.as_str(),
                    url_secret_slot = verified.url_secret_slot,
                    hmac_secret_slot = ?verified.hmac_secret_slot,
                    "webhook accepted by the gate"
                );
                Ok(verified)
            }
            Err(failure) => Err(Self::rejected(request, &failure)),
        }
    }

    /// The checks that need no body, made before it is read: the declared
    /// length (`Content-Length`, when sent), the source address and the URL
    /// secret. A server calls it first and reads the body only when it
    /// passes, so a stranger without the URL secret costs no body read;
    /// [`WebhookGate::check`] repeats them with the body.
    ///
    /// # Errors
    /// The [`Rejection`] `check` would give for the same headers.
    pub fn check_before_body(&self, request: &WebhookRequest<'_>) -> Result<(), Rejection> {
        let declared = request
            .header_values("content-length")
            .next()
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.trim().parse::<usize>().ok());
        if declared.is_some_and(|n| n > self.max_body_bytes) {
            let failure = Failure::new(
                RejectReason::BodyTooLarge,
                None,
                "declared length larger than max_body_bytes",
            );
            return Err(Self::rejected(request, &failure));
        }
        self.admit(request)
            .map(|_| ())
            .map_err(|failure| Self::rejected(request, &failure))
    }

    /// Logs and counts a refusal.
    fn rejected(request: &WebhookRequest<'_>, failure: &Failure) -> Rejection {
        let rejection = Rejection::new(failure.reason, failure.source_ip);
        crate::metrics::webhook_rejected(rejection.code());
        tracing::warn!(
            status = rejection.status(),
            code = rejection.code(),
            peer = %request.peer,
            source_ip = ?failure.source_ip,
            body_len = request.body.len(),
            detail = failure.detail,
            "webhook rejected: {}",
            failure.reason
        );
        rejection
    }

    /// The source address and URL secret: who may send, before what.
    fn admit(&self, request: &WebhookRequest<'_>) -> Result<(IpAddr, usize), Failure> {
        let source_ip = source_address(request.peer, request.forwarded_for, &self.trusted_proxies)
            .map_err(|e| Failure::new(RejectReason::NoClientAddress, None, e.as_str()))?;
        if !self.allowlist.contains(source_ip) {
            return Err(Failure::new(
                RejectReason::IpNotAllowed,
                Some(source_ip),
                "source address outside the allowlist",
            ));
        }
        let at = Some(source_ip);
        let url_secret_slot = self
            .url_secrets
            .matching(request.url_secret)
            .ok_or_else(|| {
                let detail = if request.url_secret.is_some() {
                    "URL secret matches no configured secret"
                } else {
                    "no secret in the URL"
                };
                Failure::new(RejectReason::UrlSecretInvalid, at, detail)
            })?;
        Ok((source_ip, url_secret_slot))
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<VerifiedWebhook, Failure> {
        let body = request.body;
        if body.len() > self.max_body_bytes {
            return Err(Failure::new(
                RejectReason::BodyTooLarge,
                None,
                "body larger than max_body_bytes",
            ));
        }

        let (source_ip, url_secret_slot) = self.admit(request)?;
        let at = Some(source_ip);

        let hmac_secret_slot = if self.hmac_secrets.is_empty() {
            None
        } else {
            let values = request.header_values(SIGNATURE_HEADER);
            let slot = signature::verify(&self.hmac_secrets, values, body)
                .map_err(|e| Failure::new(RejectReason::SignatureInvalid, at, e.as_str()))?;
            Some(slot)
        };

        // The common case in one parse: straight into the typed event. Only a
        // body that does not parse that way is parsed again, to tell "not
        // JSON" from "not a Jira event".
        // JSON is UTF-8 throughout, ignored fields included (serde would
        // skip invalid bytes in a field the event does not keep).
        let parsed = std::str::from_utf8(body)
            .ok()
            .and_then(|text| serde_json::from_str::<WebhookEvent>(text).ok());
        let event = match parsed {
            Some(event) if !event.webhook_event.as_str().is_empty() => event,
            _ => return Err(Self::classify_unparsed(body, at)),
        };

        Ok(VerifiedWebhook {
            event,
            delivery_id: delivery_id(request),
            retry: retry_count(request),
            source_ip,
            url_secret_slot,
            hmac_secret_slot,
            body_len: body.len(),
        })
    }

    /// Why a body that does not parse into a [`WebhookEvent`] is refused.
    fn classify_unparsed(body: &[u8], at: Option<IpAddr>) -> Failure {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Failure::new(RejectReason::NotJson, at, "body does not parse as JSON");
        };
        let named = value
            .get("webhookEvent")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|name| !name.is_empty());
        if named {
            Failure::new(
                RejectReason::NotJiraEvent,
                at,
                "webhookEvent present but the event does not have Jira's shape",
            )
        } else {
            Failure::new(
                RejectReason::NotJiraEvent,
                at,
                "no non-empty string webhookEvent at the top level",
            )
        }
    }
}

impl fmt::Debug for WebhookGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookGate")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("allowlist", &self.allowlist)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("url_secrets", &self.url_secrets)
            .field("hmac_secrets", &Redacted(self.hmac_secrets.len()))
            .finish()
    }
}

/// A failed check, with what to log. `detail` is a fixed text: it never
/// holds request data.
struct Failure {
    reason: RejectReason,
    source_ip: Option<IpAddr>,
    detail: &'static str,
}

impl Failure {
    fn new(reason: RejectReason, source_ip: Option<IpAddr>, detail: &'static str) -> Self {
        Self {
            reason,
            source_ip,
            detail,
        }
    }
}

/// The first `X-Atlassian-Webhook-Identifier`, when it is a printable ASCII
/// token of reasonable size.
fn delivery_id(request: &WebhookRequest<'_>) -> Option<String> {
    let raw = request
        .header_values(DELIVERY_ID_HEADER)
        .next()?
        .trim_ascii();
    let printable = raw.iter().all(|b| b.is_ascii_graphic());
    if raw.is_empty() || raw.len() > MAX_DELIVERY_ID_BYTES || !printable {
        tracing::debug!("ignoring an empty, oversized or non-printable delivery id");
        return None;
    }
    std::str::from_utf8(raw).ok().map(str::to_string)
}

/// The first `X-Atlassian-Webhook-Retry`, when it is a number.
fn retry_count(request: &WebhookRequest<'_>) -> Option<u32> {
    let raw = request.header_values(RETRY_HEADER).next()?.trim_ascii();
    std::str::from_utf8(raw).ok()?.parse().ok()
}
