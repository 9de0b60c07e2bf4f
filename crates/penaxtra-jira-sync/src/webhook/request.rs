//! The framework-neutral parts of an inbound webhook request.

use std::fmt;
use std::net::IpAddr;

/// What the gate needs of an HTTP request, borrowed from whatever server
/// framework received it.
///
/// Headers are `(name, raw value)` pairs, names matched case-insensitively.
/// From an `http::HeaderMap` (axum, hyper):
///
/// ```
/// use axum::http::{HeaderMap, HeaderValue};
/// use penaxtra_jira_sync::webhook::WebhookRequest;
///
/// let mut map = HeaderMap::new();
/// map.insert("x-hub-signature", HeaderValue::from_static("sha256=00"));
/// let headers: Vec<(&str, &[u8])> =
///     map.iter().map(|(n, v)| (n.as_str(), v.as_bytes())).collect();
/// let request = WebhookRequest::new("192.0.2.1".parse().unwrap(), b"{}").headers(&headers);
/// assert_eq!(
///     request.header_values("X-Hub-Signature").next(),
///     Some(b"sha256=00".as_slice())
/// );
/// ```
///
/// The `X-Forwarded-For` value goes in [`forwarded_for`](Self::forwarded_for)
/// rather than among the headers; when a request carries several such
/// headers, join their values with `,` in the order received.
///
/// `Debug` shows neither the URL secret nor the body.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct WebhookRequest<'a> {
    /// The address of the TCP peer.
    pub peer: IpAddr,
    /// The `X-Forwarded-For` value, trusted only from a configured proxy.
    pub forwarded_for: Option<&'a str>,
    /// The secret taken from the URL (see
    /// [`extract_url_secret`](super::extract_url_secret)).
    pub url_secret: Option<&'a str>,
    /// The request headers.
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The raw body, exactly as received.
    pub body: &'a [u8],
}

impl<'a> WebhookRequest<'a> {
    /// A request from `peer` with `body`, no secret, no headers.
    pub fn new(peer: IpAddr, body: &'a [u8]) -> Self {
        Self {
            peer,
            forwarded_for: None,
            url_secret: None,
            headers: &[],
            body,
        }
    }

    /// Sets the `X-Forwarded-For` value.
    #[must_use]
    pub fn forwarded_for(mut self, value: Option<&'a str>) -> Self {
        self.forwarded_for = value;
        self
    }

    /// Sets the secret found in the URL.
    #[must_use]
    pub fn url_secret(mut self, secret: Option<&'a str>) -> Self {
        self.url_secret = secret;
        self
    }

    /// Sets the headers.
    #[must_use]
    pub fn headers(mut self, headers: &'a [(&'a str, &'a [u8])]) -> Self {
        self.headers = headers;
        self
    }

    /// The values of header `name` (case-insensitive), in order.
    pub fn header_values<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
        let headers: &'a [(&'a str, &'a [u8])] = self.headers;
        headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

impl fmt::Debug for WebhookRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookRequest")
            .field("peer", &self.peer)
            .field("forwarded_for", &self.forwarded_for)
            .field(
                "url_secret",
                &self.url_secret.map(|_| "[redacted]").unwrap_or("none"),
            )
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lookup_is_case_insensitive_and_ordered() {
        let headers: [(&str, &[u8]); 3] = [
            ("x-hub-signature", b"a"),
            ("Content-Type", b"application/json"),
            ("X-Hub-Signature", b"b"),
        ];
        let req = WebhookRequest::new("127.0.0.1".parse().unwrap(), b"{}").headers(&headers);
        let values: Vec<&[u8]> = req.header_values("X-HUB-SIGNATURE").collect();
        assert_eq!(values, [b"a".as_slice(), b"b".as_slice()]);
        assert_eq!(req.header_values("x-missing").count(), 0);
    }

    #[test]
    fn debug_hides_secret_and_header_values() {
        let headers: [(&str, &[u8]); 1] = [("X-Hub-Signature", b"sha256=00ff")];
        let req = WebhookRequest::new("127.0.0.1".parse().unwrap(), b"{\"body\":1}")
            .url_secret(Some("hunter2-hunter2-hunter2"))
            .headers(&headers);
        let shown = format!("{req:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            !shown.contains("00ff") && !shown.contains("body\\\":1"),
            "{shown}"
        );
        assert!(shown.contains("[redacted]") && shown.contains("body_len: 10"));
    }
}
