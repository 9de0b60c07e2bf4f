//! Turning a Jira answer into success or a typed [`Error`]: status, the
//! `X-Seraph-LoginReason` header, Jira's error body in all its shapes, and
//! JSON decoding with the path that failed.

use crate::error::{Error, ErrorKind};
use crate::rate_limit::RateLimitStatus;
use crate::redact::Redactor;
use crate::retry::parse_retry_after;
use jira_model::ErrorBody;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use std::time::SystemTime;

/// What the classification needs to know about the request.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    /// HTTP method.
    pub(crate) method: reqwest::Method,
    /// URL path, never the query.
    pub(crate) path: String,
    /// Whether it creates issues (403 means `issue_create_forbidden`).
    pub(crate) create: bool,
    /// Whether repeating it is harmless after it may have taken effect.
    pub(crate) idempotent: bool,
}

impl Operation {
    pub(crate) fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

const SERAPH: &str = "x-seraph-loginreason";
const DENIED_REASON: &str = "x-authentication-denied-reason";

/// Classifies an answer. `None` is success.
pub(crate) fn classify(
    op: &Operation,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
    redactor: &Redactor,
) -> Option<Error> {
    let seraph = headers
        .get_all(SERAPH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let captcha = seraph.contains("AUTHENTICATION_DENIED")
        || headers
            .get_all(DENIED_REASON)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_uppercase().contains("CAPTCHA_CHALLENGE"));
    // Refused credentials, whatever the status: Jira Cloud serves an
    // expired token as an anonymous user, so a 200 search is empty and a
    // 404 hides an issue that exists. Neither may be read as an answer.
    let refused = seraph.contains("AUTHENTICATED_FAILED");
    if (200..300).contains(&status) && !refused && !captcha {
        return None;
    }
    if captcha {
        return Some(
            Error::new(
                ErrorKind::CaptchaRequired,
                "Jira requires a CAPTCHA for this account after repeated failed logins, and refuses every login until someone signs in to the web interface as it",
            )
            .with_request(op.label())
            .with_status(status),
        );
    }
    if (200..300).contains(&status) || (refused && status != 401) {
        return Some(
            Error::new(ErrorKind::Unauthorized, unauthorized_message(true))
                .with_request(op.label())
                .with_status(status),
        );
    }
    let body = redactor.parse_body(body);
    let limits = RateLimitStatus::from_headers(headers, now);
    let (kind, message) = if status == 401 {
        (ErrorKind::Unauthorized, unauthorized_message(false))
    } else {
        categorize(status, &body, op.create, limits.is_some())
    };
    let retry_after = match kind {
        ErrorKind::RateLimited => limits.as_ref().and_then(|l| l.refusal_delay(now)),
        ErrorKind::Server => headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now)),
        _ => None,
    };
    let reason = limits
        .and_then(|l| l.reason)
        .filter(|_| kind == ErrorKind::RateLimited);
    Some(
        Error::new(kind, message)
            .with_request(op.label())
            .with_status(status)
            .with_body(body)
            .with_retry_after(retry_after)
            .with_rate_limit_reason(reason)
            .sent(kind == ErrorKind::Server),
    )
}

/// The error of one failed element of a bulk create, classified like a
/// whole answer with that status and body.
pub(crate) fn element_error(op: &Operation, index: usize, status: u16, body: ErrorBody) -> Error {
    let status = if status == 0 { 400 } else { status };
    let (kind, message) = if status == 401 {
        (ErrorKind::Unauthorized, unauthorized_message(false))
    } else {
        categorize(status, &body, true, false)
    };
    Error::new(kind, format!("bulk element {index}: {message}"))
        .with_request(op.label())
        .with_status(status)
        .with_body(body)
}

fn unauthorized_message(seraph: bool) -> &'static str {
    if seraph {
        "Jira did not accept the credentials (X-Seraph-LoginReason: AUTHENTICATED_FAILED) and answered as for an anonymous user"
    } else {
        "Jira rejected the credentials"
    }
}

fn categorize(
    status: u16,
    body: &ErrorBody,
    create: bool,
    rate_limit_headers: bool,
) -> (ErrorKind, &'static str) {
    match status {
        400 => categorize_400(body),
        403 if create => (
            ErrorKind::IssueCreateForbidden,
            "the service account may not create issues in this project",
        ),
        403 => (
            ErrorKind::Forbidden,
            "the service account lacks the permission for this operation",
        ),
        404 if names_custom_field(body) => (
            ErrorKind::CustomFieldUnknown,
            "Jira does not know a configured custom field",
        ),
        404 => (
            ErrorKind::NotFound,
            "Jira has no such resource, or the account cannot see it",
        ),
        409 => (
            ErrorKind::Conflict,
            "Jira is executing another transition of this issue",
        ),
        410 => (ErrorKind::Gone, "Jira removed this endpoint"),
        413 => (
            ErrorKind::ContentLimitExceeded,
            "the request is larger than Jira accepts",
        ),
        429 => (
            ErrorKind::RateLimited,
            "Jira's rate limit refused the request",
        ),
        503 if rate_limit_headers => (
            ErrorKind::RateLimited,
            "Jira's rate limit refused the request (503)",
        ),
        500..=599 => (ErrorKind::Server, "Jira failed to handle the request"),
        300..=399 => (
            ErrorKind::Redirect,
            "Jira answered with a redirect the client does not follow",
        ),
        _ => (
            ErrorKind::UnexpectedStatus,
            "Jira answered with a status the client does not expect",
        ),
    }
}

fn categorize_400(body: &ErrorBody) -> (ErrorKind, &'static str) {
    let all = || {
        body.messages
            .iter()
            .chain(body.field_errors.values())
            .chain(body.warnings.iter())
    };
    let limit = all().any(|m| {
        let m = m.to_ascii_lowercase();
        m.contains("content_limit_exceeded")
            || m.contains("exceeds the allowed limit")
            || m.contains("must be less than 255 characters")
    });
    if limit {
        return (
            ErrorKind::ContentLimitExceeded,
            "a text is longer than Jira allows",
        );
    }
    if names_custom_field(body) {
        return (
            ErrorKind::CustomFieldUnknown,
            "Jira does not know a configured custom field, or it is not on the screen",
        );
    }
    (ErrorKind::InvalidRequest, "Jira refused the request")
}

/// Whether Jira says a `customfield_N` is unknown or off-screen (rather than
/// that its value is wrong, which stays `invalid_request`).
fn names_custom_field(body: &ErrorBody) -> bool {
    fn unknown(m: &str) -> bool {
        let m = m.to_ascii_lowercase();
        m.contains("cannot be set")
            || m.contains("not on the appropriate screen")
            || m.contains("unknown")
            || m.contains("does not exist")
            || m.contains("no field")
            || m.contains("not found")
    }
    body.field_errors
        .iter()
        .any(|(k, v)| k.starts_with("customfield_") && unknown(v))
        || body
            .messages
            .iter()
            .any(|m| m.contains("customfield_") && unknown(m))
}

/// Parses a success body as `T`, naming the JSON path that failed.
pub(crate) fn decode<T: DeserializeOwned>(
    op: &Operation,
    headers: &HeaderMap,
    body: &[u8],
    redactor: &Redactor,
) -> Result<T, Error> {
    let fail = |message: String| {
        Error::new(ErrorKind::Decode, message)
            .with_request(op.label())
            .sent(!op.idempotent)
    };
    let trimmed = body.trim_ascii_start();
    if trimmed.is_empty() {
        return Err(fail(
            "Jira's answer has an empty body where JSON was expected".into(),
        ));
    }
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if trimmed.starts_with(b"<") || content_type.contains("html") || content_type.contains("xml") {
        return Err(fail(
            "Jira answered with HTML or XML where JSON was expected: is the base URL Jira's own (not a login page or proxy)?"
                .into(),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let failure = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => match de.end() {
            Ok(()) => return Ok(value),
            Err(e) => (".".to_string(), e.to_string()),
        },
        Err(e) => (e.path().to_string(), e.inner().to_string()),
    };
    let (path, inner) = failure;
    let inner: String = redactor.scrub(&inner).chars().take(300).collect();
    Err(fail(format!(
        "Jira's answer does not have the expected shape at `{path}`: {inner}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use secrecy::SecretString;
    use std::time::Duration;

    fn op(create: bool) -> Operation {
        Operation {
            method: reqwest::Method::POST,
            path: "/rest/api/3/issue".into(),
            create,
            idempotent: !create,
        }
    }

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn run(
        create: bool,
        status: u16,
        headers: &[(&'static str, &str)],
        body: &str,
    ) -> Option<Error> {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        classify(
            &op(create),
            status,
            &h,
            body.as_bytes(),
            t0(),
            &Redactor::default(),
        )
    }

    fn code(create: bool, status: u16, body: &str) -> &'static str {
        run(create, status, &[], body).map_or("ok", |e| e.code())
    }

    #[test]
    fn statuses() {
        assert_eq!(code(false, 200, "{}"), "ok");
        assert_eq!(code(false, 204, ""), "ok");
        assert_eq!(
            code(
                false,
                401,
                r#"{"message":"Client must be authenticated to access this resource.","status-code":401}"#
            ),
            "unauthorized"
        );
        assert_eq!(
            code(
                true,
                403,
                r#"{"errorMessages":["You do not have permission to create issues in this project."],"errors":{}}"#
            ),
            "issue_create_forbidden"
        );
        assert_eq!(code(false, 403, "{}"), "forbidden");
        assert_eq!(
            code(
                false,
                404,
                r#"{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}"#
            ),
            "not_found"
        );
        assert_eq!(
            code(
                true,
                404,
                r#"{"errorMessages":["Field 'customfield_10031' does not exist"]}"#
            ),
            "customfield_unknown"
        );
        assert_eq!(code(false, 410, ""), "gone");
        assert_eq!(
            code(false, 413, "<html>too large</html>"),
            "content_limit_exceeded"
        );
        assert_eq!(code(false, 429, "<html>slow down</html>"), "rate_limited");
        assert_eq!(code(false, 503, ""), "server");
        assert_eq!(
            code(
                false,
                500,
                "<?xml version=\"1.0\"?><status><status-code>500</status-code></status>"
            ),
            "server"
        );
        assert_eq!(code(false, 409, "{}"), "conflict");
        assert_eq!(code(false, 405, "{}"), "unexpected_status");
        assert_eq!(code(false, 302, ""), "redirect");
    }

    #[test]
    fn bodies_of_400() {
        assert_eq!(
            code(
                true,
                400,
                r#"{"errorMessages":["CONTENT_LIMIT_EXCEEDED"],"errors":{}}"#
            ),
            "content_limit_exceeded"
        );
        assert_eq!(
            code(
                true,
                400,
                r#"{"errorMessages":[],"errors":{"description":"The entered text is too long. It exceeds the allowed limit of 32,767 characters."}}"#
            ),
            "content_limit_exceeded"
        );
        assert_eq!(
            code(
                true,
                400,
                r#"{"errorMessages":[],"errors":{"customfield_10031":"Field 'customfield_10031' cannot be set. It is not on the appropriate screen, or unknown."}}"#
            ),
            "customfield_unknown"
        );
        assert_eq!(
            code(
                true,
                400,
                r#"{"errorMessages":[],"errors":{"customfield_10032":"Option value 'X' is not valid"}}"#
            ),
            "invalid_request"
        );
        let e = run(
            true,
            400,
            &[],
            r#"{"errorMessages":["Field 'priority' is required"],"errors":{}}"#,
        )
        .unwrap();
        assert_eq!(e.code(), "invalid_request");
        assert_eq!(
            e.jira_messages().unwrap().messages,
            ["Field 'priority' is required"]
        );
        assert!(e.to_string().contains("Field 'priority' is required"));
        assert!(!e.may_have_been_sent());
    }

    #[test]
    fn seraph_header_on_200_is_unauthorized() {
        let e = run(
            false,
            200,
            &[("X-Seraph-LoginReason", "AUTHENTICATED_FAILED")],
            "{}",
        )
        .unwrap();
        assert_eq!(e.code(), "unauthorized");
        assert_eq!(e.status(), Some(200));
        // An anonymous 404 hides an issue that exists: not `not_found`.
        let e = run(
            false,
            404,
            &[("X-Seraph-LoginReason", "AUTHENTICATED_FAILED")],
            r#"{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}"#,
        )
        .unwrap();
        assert_eq!((e.code(), e.status()), ("unauthorized", Some(404)));
        assert!(!e.is_retryable());
        for status in [401, 403] {
            let e = run(
                false,
                status,
                &[("X-Seraph-LoginReason", "AUTHENTICATION_DENIED")],
                "",
            )
            .unwrap();
            assert_eq!(e.code(), "captcha_required");
            assert!(e.to_string().contains("CAPTCHA"));
            assert!(e.fix().unwrap().contains("browser"));
        }
        let e = run(
            false,
            403,
            &[(
                "X-Authentication-Denied-Reason",
                "CAPTCHA_CHALLENGE; login-url=https://jira.example/login.jsp",
            )],
            "<html></html>",
        )
        .unwrap();
        assert_eq!(e.code(), "captcha_required");
        assert!(!e.is_retryable());
        assert!(
            !e.to_string().contains("login.jsp"),
            "no header value shown"
        );
        assert!(run(false, 200, &[("X-Seraph-LoginReason", "OK")], "{}").is_none());
        assert!(
            run(false, 404, &[("X-Seraph-LoginReason", "OK")], "{}")
                .is_some_and(|e| e.code() == "not_found")
        );
    }

    #[test]
    fn rate_limit_delays() {
        let e = run(false, 429, &[("Retry-After", "0")], "").unwrap();
        assert_eq!(e.retry_after(), Some(Duration::ZERO));
        assert!(!e.is_per_issue_limit());
        let e = run(
            false,
            429,
            &[
                ("Retry-After", "2"),
                ("RateLimit-Reason", "jira-per-issue-on-write"),
            ],
            "<html>Oops</html>",
        )
        .unwrap();
        assert_eq!(e.code(), "rate_limited");
        assert_eq!(e.rate_limit_reason(), Some("jira-per-issue-on-write"));
        assert!(e.is_per_issue_limit());
        let e = run(
            false,
            429,
            &[("X-RateLimit-Reset", "2023-11-14T22:13:50Z")],
            "",
        )
        .unwrap();
        assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
        let e = run(
            false,
            503,
            &[
                ("Retry-After", "4"),
                ("RateLimit-Reason", "jira-burst-based"),
            ],
            "",
        )
        .unwrap();
        assert_eq!(e.code(), "rate_limited");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(4)));
        let e = run(true, 502, &[], "").unwrap();
        assert!(e.may_have_been_sent());
        assert!(e.is_retryable());
    }

    #[test]
    fn bulk_elements_classify_like_answers() {
        let body = ErrorBody::parse(br#"{"errors":{"customfield_1":"Field 'customfield_1' cannot be set. It is not on the appropriate screen, or unknown."}}"#);
        let e = element_error(&op(true), 3, 400, body);
        assert_eq!(e.code(), "customfield_unknown");
        assert!(e.to_string().contains("bulk element 3"));
        assert_eq!(
            element_error(&op(true), 0, 403, ErrorBody::default()).code(),
            "issue_create_forbidden"
        );
        assert_eq!(
            element_error(&op(true), 0, 0, ErrorBody::default()).status(),
            Some(400)
        );
    }

    #[test]
    fn decode_names_the_path_and_scrubs() {
        #[derive(serde::Deserialize, Debug)]
        struct Outer {
            #[allow(dead_code)]
            inner: Inner,
        }
        #[derive(serde::Deserialize, Debug)]
        struct Inner {
            #[allow(dead_code)]
            count: u32,
        }
        let r = Redactor::new(None, vec![SecretString::from("tok-123")]);
        let e = decode::<Outer>(
            &op(false),
            &HeaderMap::new(),
            br#"{"inner":{"count":"tok-123"}}"#,
            &r,
        )
        .unwrap_err();
        assert_eq!(e.code(), "decode");
        assert!(e.to_string().contains("`inner.count`"), "{e}");
        assert!(!e.to_string().contains("tok-123"));
        let e =
            decode::<Outer>(&op(false), &HeaderMap::new(), b"<html>login</html>", &r).unwrap_err();
        assert!(e.to_string().contains("HTML"));
        let e = decode::<Outer>(&op(false), &HeaderMap::new(), b"  ", &r).unwrap_err();
        assert!(e.to_string().contains("empty body"));
        let e = decode::<Outer>(
            &op(false),
            &HeaderMap::new(),
            br#"{"inner":{"count":1}} trailing"#,
            &r,
        )
        .unwrap_err();
        assert_eq!(e.code(), "decode");
        assert!(
            decode::<Outer>(
                &op(false),
                &HeaderMap::new(),
                br#"{"inner":{"count":1}}"#,
                &r
            )
            .is_ok()
        );
    }
}
