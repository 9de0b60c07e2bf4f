//! The one error type of the crate, with the questions a caller asks of it.

use jira_model::ErrorBody;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What went wrong, as a closed set of stable categories.
///
/// [`ErrorKind::code`] is the stable string form used in logs, metrics and
/// the host's user interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Jira rejected the credentials: 401, or any answer with
    /// `X-Seraph-LoginReason: AUTHENTICATED_FAILED` (Jira Cloud serves an
    /// expired API token as an anonymous user: a 200 with an empty search,
    /// a 404 for an issue that exists).
    Unauthorized,
    /// Jira rejected credentials that it accepted earlier from this client:
    /// the token expired or was revoked. API tokens expire (at most a year
    /// after they were created since December 2024; older ones were set to
    /// expire between March and May 2026), and Jira answers an expired token
    /// like a wrong one.
    TokenExpired,
    /// The OAuth token endpoint refused the client id and secret (revoked,
    /// wrong, or lacking the scope asked for).
    OAuthRejected,
    /// The site is not a Jira Cloud site (no `cloudId` at
    /// `/_edge/tenant_info`), so the API gateway that scoped tokens and
    /// OAuth need cannot reach it.
    NotCloud,
    /// Jira Data Center locked the account behind a CAPTCHA after repeated
    /// failed logins (`X-Authentication-Denied-Reason: CAPTCHA_CHALLENGE`,
    /// or `X-Seraph-LoginReason: AUTHENTICATION_DENIED`): every login is
    /// refused until someone signs in as the account in a browser.
    CaptchaRequired,
    /// 403 on a create: the account lacks the Create Issues permission.
    IssueCreateForbidden,
    /// 403 on anything else.
    Forbidden,
    /// A custom field is unknown or not on the create/edit screen (404, or
    /// 400 with an `errors` entry naming `customfield_N` as unknown).
    CustomFieldUnknown,
    /// 404: the project, issue or resource does not exist (or is invisible
    /// to the account).
    NotFound,
    /// 410: Jira removed the endpoint.
    Gone,
    /// 400: Jira refused the request; its messages are kept.
    InvalidRequest,
    /// A text is longer than Jira allows (`CONTENT_LIMIT_EXCEEDED`, 413).
    ContentLimitExceeded,
    /// 429 (or a rate-limiting 503) after the retries were spent.
    RateLimited,
    /// 5xx.
    Server,
    /// The connection failed (refused, reset, TLS, DNS).
    Transport,
    /// Jira did not answer in time.
    Timeout,
    /// Jira's answer could not be read as the expected JSON.
    Decode,
    /// Jira redirected to another origin (never followed with credentials)
    /// or in a way the client does not follow.
    Redirect,
    /// 409: Jira is executing another transition of the same issue. Read
    /// the issue again and decide anew (it may have moved); the client does
    /// not repeat the request by itself.
    Conflict,
    /// A status the client has no category for (405, ...).
    UnexpectedStatus,
    /// The client configuration is invalid (base URL, timeouts, retry policy).
    Config,
    /// An argument of the call is invalid; nothing was sent.
    InvalidInput,
    /// The credentials could not be produced or are not usable in a header.
    Credentials,
    /// Jira said nothing about one element of a bulk create: it may or may
    /// not exist. Check Jira before creating it again.
    BulkOutcomeUnknown,
    /// Not sent, because an earlier part of the same batch failed in a way
    /// that would fail this part too.
    NotAttempted,
    /// Not sent, because the caller's [`crate::SendGate`] refused the
    /// attempt (for the sync engine: the claim the write was made under may
    /// be lost). Nothing reached Jira; the caller decides what comes next.
    Withheld,
    /// The operator's [`UrlPolicy`](crate::UrlPolicy) refused the base URL
    /// or an address its host resolved to (http, a Cloud host outside
    /// Atlassian's domains, a loopback, private or link-local address).
    /// Nothing was sent, and repeating it changes nothing.
    UrlRefused,
}

impl ErrorKind {
    /// The stable code: `unauthorized`, `issue_create_forbidden`,
    /// `customfield_unknown`, `rate_limited`, ...
    pub fn code(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::TokenExpired => "token_expired",
            Self::OAuthRejected => "oauth_client_rejected",
            Self::NotCloud => "not_cloud",
            Self::CaptchaRequired => "captcha_required",
            Self::IssueCreateForbidden => "issue_create_forbidden",
            Self::Forbidden => "forbidden",
            Self::CustomFieldUnknown => "customfield_unknown",
            Self::NotFound => "not_found",
            Self::Gone => "gone",
            Self::InvalidRequest => "invalid_request",
            Self::ContentLimitExceeded => "content_limit_exceeded",
            Self::RateLimited => "rate_limited",
            Self::Server => "server",
            Self::Transport => "transport",
            Self::Timeout => "timeout",
            Self::Decode => "decode",
            Self::Redirect => "redirect",
            Self::Conflict => "conflict",
            Self::UnexpectedStatus => "unexpected_status",
            Self::Config => "config",
            Self::InvalidInput => "invalid_input",
            Self::Credentials => "credentials",
            Self::BulkOutcomeUnknown => "bulk_outcome_unknown",
            Self::NotAttempted => "not_attempted",
            Self::Withheld => "withheld",
            Self::UrlRefused => "url_refused",
        }
    }

    /// What to do about it. The first four are the product page's error
    /// table; the others are this client's advice.
    pub fn fix(self) -> Option<&'static str> {
        Some(match self {
            Self::Unauthorized => "Re-mint the token; verify the service-account e-mail",
            Self::TokenExpired => {
                "The token expired or was revoked (API tokens live at most a year since December 2024): create a new one for the service account and seal it into the configuration"
            }
            Self::OAuthRejected => {
                "Check the OAuth client id and secret of the service account (they may have been revoked or rotated) and the scopes they grant; seal the current secret into the configuration"
            }
            Self::NotCloud => {
                "Scoped tokens and OAuth through the API gateway work with Jira Cloud sites only: check the site URL, or choose Data Center with a personal access token or OAuth"
            }
            Self::CaptchaRequired => {
                "Sign in once in the browser as the service account (Jira asks for a CAPTCHA after repeated failed logins), then check the configured credentials"
            }
            Self::IssueCreateForbidden => {
                "Adjust the permission scheme: the service account needs Create Issues on the project"
            }
            Self::CustomFieldUnknown => "Re-pick the field in the integration settings",
            Self::RateLimited => {
                "Penaxtra retries with backoff; persistent issues require Atlassian Premier support"
            }
            Self::Forbidden => {
                "Grant the service account the project permission this operation needs"
            }
            Self::Gone => {
                "Jira removed this endpoint: check the configured flavor (Cloud or Data Center)"
            }
            Self::ContentLimitExceeded => {
                "Shorten the text: summaries under 255 characters, other text at most 32,767"
            }
            Self::Redirect => "Set the base URL to the address Jira itself answers on",
            Self::Config => "Fix the client configuration",
            Self::Credentials => "Check the configured token",
            Self::BulkOutcomeUnknown => "Search Jira for the issue before creating it again",
            Self::UrlRefused => {
                "Use the https address Jira itself answers on; if it is on a private network, ask your operator to list its range in the URL policy"
            }
            _ => return None,
        })
    }

    /// Whether the condition is transient by nature.
    fn transient(self) -> bool {
        matches!(
            self,
            Self::RateLimited
                | Self::Server
                | Self::Transport
                | Self::Timeout
                | Self::NotAttempted
                | Self::Conflict
                | Self::Withheld
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// `RateLimit-Reason` of Jira Cloud's per-issue write limit.
pub(crate) const PER_ISSUE_REASON: &str = "jira-per-issue-on-write";

/// An error of the Jira client.
///
/// Cheap to clone (the parts live behind an [`Arc`]). Its messages never
/// contain a token, an auth header or a URL query string: requests are named
/// by method and path only, and secrets the auth knows of are scrubbed from
/// anything Jira sent back.
#[derive(Clone)]
#[non_exhaustive]
pub struct Error {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    message: String,
    request: Option<String>,
    status: Option<u16>,
    body: Option<ErrorBody>,
    retry_after: Option<Duration>,
    rate_limit_reason: Option<String>,
    may_have_been_sent: bool,
    attempts: u32,
    source: Option<Source>,
}

impl Error {
    /// A new error of this kind with a message. Hosts implementing
    /// [`Auth`](crate::Auth) use [`Error::credentials`] instead.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                kind,
                message: message.into(),
                request: None,
                status: None,
                body: None,
                retry_after: None,
                rate_limit_reason: None,
                may_have_been_sent: false,
                attempts: 0,
                source: None,
            }),
        }
    }

    /// An error for an [`Auth`](crate::Auth) implementation that cannot
    /// produce credentials (for example an OAuth refresh that failed). The
    /// message must not contain the secret.
    pub fn credentials(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Credentials, message)
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    fn edit(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
    }

    /// The same error (request, status, body kept) of another kind.
    pub(crate) fn rekind(self, kind: ErrorKind, message: impl Into<String>) -> Self {
        let message = message.into();
        self.edit(|i| {
            i.kind = kind;
            i.message = message;
        })
    }

    pub(crate) fn with_request(self, request: impl Into<String>) -> Self {
        let request = request.into();
        self.edit(|i| i.request = Some(request))
    }

    pub(crate) fn with_status(self, status: u16) -> Self {
        self.edit(|i| i.status = Some(status))
    }

    pub(crate) fn with_body(self, body: ErrorBody) -> Self {
        self.edit(|i| i.body = if body.is_empty() { None } else { Some(body) })
    }

    pub(crate) fn with_retry_after(self, retry_after: Option<Duration>) -> Self {
        self.edit(|i| i.retry_after = retry_after)
    }

    pub(crate) fn with_rate_limit_reason(self, reason: Option<String>) -> Self {
        self.edit(|i| i.rate_limit_reason = reason)
    }

    pub(crate) fn sent(self, may_have_been_sent: bool) -> Self {
        self.edit(|i| i.may_have_been_sent = may_have_been_sent)
    }

    pub(crate) fn with_attempts(self, attempts: u32) -> Self {
        self.edit(|i| i.attempts = attempts)
    }

    pub(crate) fn with_source(
        self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        let source: Source = Arc::new(source);
        self.edit(|i| i.source = Some(source))
    }

    /// The category.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The stable code, e.g. `customfield_unknown`.
    pub fn code(&self) -> &'static str {
        self.inner.kind.code()
    }

    /// Whether the condition is transient (rate limit, 5xx, timeout,
    /// connection failure). When [`Error::may_have_been_sent`] is also true,
    /// check Jira before repeating a create.
    pub fn is_retryable(&self) -> bool {
        self.inner.kind.transient()
    }

    /// How long Jira asked to wait (`Retry-After` or `X-RateLimit-Reset`),
    /// from the last answer.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// Jira's `RateLimit-Reason` of a rate-limited answer:
    /// `jira-burst-based`, `jira-per-issue-on-write`,
    /// `jira-quota-tenant-based`, ...
    pub fn rate_limit_reason(&self) -> Option<&str> {
        self.inner.rate_limit_reason.as_deref()
    }

    /// Whether the refusal concerns one issue only (Jira Cloud's per-issue
    /// write limit: 20 writes per 2 s and 100 per 30 s to one issue):
    /// requests for other issues need not wait.
    pub fn is_per_issue_limit(&self) -> bool {
        self.rate_limit_reason() == Some(PER_ISSUE_REASON)
    }

    /// Whether the request may have reached Jira and taken effect although
    /// no success was seen (a timeout, a reset connection or a 5xx after
    /// the request was written). A create that fails this way may have
    /// created the issue.
    pub fn may_have_been_sent(&self) -> bool {
        self.inner.may_have_been_sent
    }

    /// What to do about it (see [`ErrorKind::fix`]).
    pub fn fix(&self) -> Option<&'static str> {
        self.inner.kind.fix()
    }

    /// The HTTP status Jira answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// Jira's messages, when it sent any: the error answer's body, parsed.
    /// The error's message quotes it only when it has Jira's shape
    /// ([`ErrorBody::is_jira_shape`]); a host that shows the body to a
    /// tenant should check that too.
    pub fn jira_messages(&self) -> Option<&ErrorBody> {
        self.inner.body.as_ref()
    }

    /// The request, as `METHOD /path` without the query string.
    pub fn request(&self) -> Option<&str> {
        self.inner.request.as_deref()
    }

    /// How many attempts were made (0 when nothing was sent).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// The custom fields Jira complained about (for `customfield_unknown`).
    pub fn custom_fields(&self) -> Vec<&str> {
        self.inner
            .body
            .as_ref()
            .map(|b| b.custom_fields().collect())
            .unwrap_or_default()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &*self.inner;
        write!(f, "{}: {}", i.kind.code(), i.message)?;
        match (&i.request, i.status) {
            (Some(r), Some(s)) => write!(f, " ({r} answered {s})")?,
            (Some(r), None) => write!(f, " ({r})")?,
            (None, Some(s)) => write!(f, " (status {s})")?,
            (None, None) => {}
        }
        if i.attempts > 1 {
            write!(f, " after {} attempts", i.attempts)?;
        }
        // Only Jira's own error shape is quoted: whatever else answered at
        // the base URL (a proxy, a login page, a server that is not Jira)
        // is not shown to whoever reads the message.
        if let Some(body) = &i.body {
            if body.is_jira_shape() {
                let summary = body.summary();
                if !summary.is_empty() {
                    write!(f, "; Jira said: {summary}")?;
                }
            } else {
                f.write_str("; the server's answer is not shown")?;
            }
        }
        if let Some(d) = i.retry_after {
            write!(f, "; retry after {}s", d.as_secs_f64())?;
        }
        if i.may_have_been_sent {
            f.write_str("; the request may have taken effect")?;
        }
        if let Some(fix) = i.kind.fix() {
            write!(f, ". Fix: {fix}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &*self.inner;
        let mut d = f.debug_struct("Error");
        d.field("code", &i.kind.code())
            .field("message", &i.message)
            .field("request", &i.request)
            .field("status", &i.status)
            .field("body", &i.body)
            .field("retry_after", &i.retry_after)
            .field("rate_limit_reason", &i.rate_limit_reason)
            .field("may_have_been_sent", &i.may_have_been_sent)
            .field("attempts", &i.attempts);
        if let Some(s) = &i.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_distinct() {
        let all = [
            ErrorKind::Unauthorized,
            ErrorKind::CaptchaRequired,
            ErrorKind::TokenExpired,
            ErrorKind::OAuthRejected,
            ErrorKind::NotCloud,
            ErrorKind::Conflict,
            ErrorKind::IssueCreateForbidden,
            ErrorKind::Forbidden,
            ErrorKind::CustomFieldUnknown,
            ErrorKind::NotFound,
            ErrorKind::Gone,
            ErrorKind::InvalidRequest,
            ErrorKind::ContentLimitExceeded,
            ErrorKind::RateLimited,
            ErrorKind::Server,
            ErrorKind::Transport,
            ErrorKind::Timeout,
            ErrorKind::Decode,
            ErrorKind::Redirect,
            ErrorKind::UnexpectedStatus,
            ErrorKind::Config,
            ErrorKind::InvalidInput,
            ErrorKind::Credentials,
            ErrorKind::BulkOutcomeUnknown,
            ErrorKind::NotAttempted,
            ErrorKind::Withheld,
            ErrorKind::UrlRefused,
        ];
        let codes: std::collections::BTreeSet<_> = all.iter().map(|k| k.code()).collect();
        assert_eq!(codes.len(), all.len());
        assert_eq!(ErrorKind::CustomFieldUnknown.code(), "customfield_unknown");
        assert_eq!(
            ErrorKind::Unauthorized.fix(),
            Some("Re-mint the token; verify the service-account e-mail")
        );
        assert!(ErrorKind::NotFound.fix().is_none());
        assert_eq!(ErrorKind::UrlRefused.code(), "url_refused");
        assert!(!ErrorKind::UrlRefused.transient());
        assert!(ErrorKind::UrlRefused.fix().unwrap().contains("operator"));
    }

    #[test]
    fn display_names_request_status_body_and_fix() {
        let e = Error::new(ErrorKind::CustomFieldUnknown, "Jira does not know a field")
            .with_request("POST /rest/api/3/issue")
            .with_status(400)
            .with_body(ErrorBody::parse(
                br#"{"errors":{"customfield_10031":"Field 'customfield_10031' cannot be set."}}"#,
            ))
            .with_attempts(1);
        let s = e.to_string();
        assert!(s.starts_with("customfield_unknown: Jira does not know a field"));
        assert!(s.contains("POST /rest/api/3/issue answered 400"));
        assert!(s.contains("customfield_10031: Field"));
        assert!(s.contains("Fix: Re-pick the field"));
        assert_eq!(e.custom_fields(), ["customfield_10031"]);
        assert!(!e.is_retryable());
    }

    #[test]
    fn clones_share_and_edits_do_not_leak() {
        let a = Error::new(ErrorKind::Server, "boom");
        let b = a.clone().with_status(502);
        assert_eq!(a.status(), None);
        assert_eq!(b.status(), Some(502));
        assert!(b.is_retryable());
    }
}
