//! A webhook request taken from `http` types (axum, hyper, tower, ...).

use super::{WebhookRequest, extract_url_secret};
use secrecy::{ExposeSecret, SecretString};
use std::net::IpAddr;

/// What the gate needs of a request received by an `http`-based server:
/// the URL secret found under the mount path, the `X-Forwarded-For` values
/// joined in order, and the headers, borrowed. Hand
/// [`HttpWebhookRequest::request`] to the [gate](super::WebhookGate).
///
/// ```
/// use axum::http::{HeaderMap, HeaderValue, Uri};
/// use penaxtra_jira_sync::webhook::HttpWebhookRequest;
///
/// let uri: Uri = "/webhooks/jira/a-long-random-url-secret".parse().unwrap();
/// let mut headers = HeaderMap::new();
/// headers.insert("x-forwarded-for", HeaderValue::from_static("192.0.2.7"));
/// let parts = HttpWebhookRequest::new("10.0.0.2".parse().unwrap(), &uri, &headers, b"{}", "/webhooks/jira");
/// let request = parts.request();
/// assert_eq!(request.url_secret, Some("a-long-random-url-secret"));
/// assert_eq!(request.forwarded_for, Some("192.0.2.7"));
/// ```
///
/// `Debug` shows neither the secret nor the body.
pub struct HttpWebhookRequest<'a> {
    peer: IpAddr,
    url_secret: Option<SecretString>,
    forwarded_for: Option<String>,
    headers: Vec<(&'a str, &'a [u8])>,
    body: &'a [u8],
}

impl<'a> HttpWebhookRequest<'a> {
    /// The parts of a request from `peer` to `uri`, mounted at `mount`
    /// (the secret is the path segment after it, or the `secret` query
    /// parameter; see [`extract_url_secret`]).
    pub fn new(
        peer: IpAddr,
        uri: &http::Uri,
        headers: &'a http::HeaderMap,
        body: &'a [u8],
        mount: &str,
    ) -> Self {
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Self {
            peer,
            url_secret: extract_url_secret(uri.path(), uri.query(), mount),
            forwarded_for: (!forwarded.is_empty()).then(|| forwarded.join(",")),
            headers: headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_bytes()))
                .collect(),
            body,
        }
    }

    /// The request for [`super::WebhookGate::check`].
    pub fn request(&self) -> WebhookRequest<'_> {
        WebhookRequest::new(self.peer, self.body)
            .forwarded_for(self.forwarded_for.as_deref())
            .url_secret(self.url_secret.as_ref().map(ExposeSecret::expose_secret))
            .headers(&self.headers)
    }
}

impl std::fmt::Debug for HttpWebhookRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.request(), f)
    }
}
