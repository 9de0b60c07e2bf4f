//! Scrubbing secrets out of text that came back from the network before it
//! goes into an error: a misconfigured proxy or a debug page may echo the
//! `Authorization` header or the token.

use jira_model::ErrorBody;
use secrecy::{ExposeSecret, SecretString};

const MASK: &str = "[redacted]";

/// The secrets of one request.
#[derive(Default)]
pub(crate) struct Redactor {
    secrets: Vec<SecretString>,
}

impl Redactor {
    /// Scrubs the header value, its credentials part (after the scheme) and
    /// the auth's extra secrets.
    pub(crate) fn new(header: Option<&SecretString>, extra: Vec<SecretString>) -> Self {
        let mut secrets = extra;
        if let Some(h) = header {
            let value = h.expose_secret();
            secrets.push(h.clone());
            if let Some((_, credentials)) = value.split_once(' ') {
                secrets.push(SecretString::from(credentials.trim()));
            }
        }
        secrets.retain(|s| !s.expose_secret().is_empty());
        // Longest first, so a secret that contains another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.expose_secret().len()));
        Self { secrets }
    }

    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            let s = s.expose_secret();
            if out.contains(s) {
                out = out.replace(s, MASK);
            }
        }
        out
    }

    /// Parses an error body, scrubbing every text before it is kept (and a
    /// non-JSON body before it is cut to its bound, so that a secret across
    /// the cut is masked whole).
    pub(crate) fn parse_body(&self, body: &[u8]) -> ErrorBody {
        if self.secrets.is_empty() {
            return ErrorBody::parse(body);
        }
        ErrorBody::parse_scrubbed(body, |text| self.scrub(text))
    }

    /// Scrubs a body that was parsed elsewhere (a bulk answer's element
    /// errors: JSON, never cut).
    pub(crate) fn scrub_body(&self, mut body: ErrorBody) -> ErrorBody {
        if self.secrets.is_empty() {
            return body;
        }
        for m in body.messages.iter_mut().chain(body.warnings.iter_mut()) {
            *m = self.scrub(m);
        }
        body.field_errors = std::mem::take(&mut body.field_errors)
            .into_iter()
            .map(|(k, v)| (self.scrub(&k), self.scrub(&v)))
            .collect();
        if let Some(t) = body.text.take() {
            body.text = Some(self.scrub(&t));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_header_credentials_and_extra_secrets() {
        let header = SecretString::from("Basic Ym90OnMzY3IzdA==");
        let r = Redactor::new(Some(&header), vec![SecretString::from("s3cr3t")]);
        assert_eq!(
            r.scrub("echo: Basic Ym90OnMzY3IzdA== and s3cr3t"),
            "echo: [redacted] and [redacted]"
        );
        assert_eq!(r.scrub("only Ym90OnMzY3IzdA=="), "only [redacted]");
        let body = ErrorBody::parse(
            br#"{"errorMessages":["bad s3cr3t"],"errors":{"s3cr3t":"x s3cr3t"},"warningMessages":["s3cr3t"]}"#,
        );
        let body = r.scrub_body(body);
        assert!(!format!("{body:?}").contains("s3cr3t"));
        let html = r.scrub_body(ErrorBody::parse(
            b"<html>Authorization: Bearer s3cr3t</html>",
        ));
        assert!(!html.text.unwrap().contains("s3cr3t"));
    }

    #[test]
    fn empty_secrets_are_ignored() {
        let r = Redactor::new(None, vec![SecretString::from("")]);
        assert_eq!(r.scrub("abc"), "abc");
    }
}
