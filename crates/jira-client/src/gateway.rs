//! Atlassian's API gateway: scoped tokens and Cloud OAuth reach a site only
//! as `{gateway}/ex/jira/{cloudId}/rest/...`. The site's `cloudId` is public
//! at `{site}/_edge/tenant_info`; it is read once per client and kept.

use crate::error::{Error, ErrorKind};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use url::Url;

/// Atlassian's API gateway.
pub const DEFAULT_GATEWAY_URL: &str = "https://api.atlassian.com";

/// Largest `tenant_info` answer read.
const MAX_TENANT_INFO: usize = 16 * 1024;

/// Where a client's requests go, and what it learnt about the gateway.
#[derive(Debug)]
pub(crate) struct Routing {
    /// The gateway's root (no trailing slash).
    pub(crate) gateway: Url,
    /// Whether requests go through the gateway (from the start for scoped
    /// tokens and Cloud OAuth; after a successful probe for a classic token
    /// that turned out to be scoped).
    via_gateway: AtomicBool,
    /// Whether a classic token's 401 was already tried through the gateway.
    probed: AtomicBool,
    cloud_id: OnceLock<String>,
}

impl Routing {
    pub(crate) fn new(gateway: Url, via_gateway: bool, cloud_id: Option<String>) -> Self {
        let known = OnceLock::new();
        if let Some(id) = cloud_id {
            let _ = known.set(id);
        }
        Self {
            gateway,
            via_gateway: AtomicBool::new(via_gateway),
            probed: AtomicBool::new(false),
            cloud_id: known,
        }
    }

    pub(crate) fn via_gateway(&self) -> bool {
        self.via_gateway.load(Ordering::SeqCst)
    }

    pub(crate) fn switch_to_gateway(&self) {
        self.via_gateway.store(true, Ordering::SeqCst);
    }

    /// True the first time only: whether this caller may probe the gateway.
    pub(crate) fn start_probe(&self) -> bool {
        !self.probed.swap(true, Ordering::SeqCst)
    }

    pub(crate) fn cloud_id(&self) -> Option<&str> {
        self.cloud_id.get().map(String::as_str)
    }

    pub(crate) fn remember(&self, id: String) -> &str {
        let _ = self.cloud_id.set(id);
        self.cloud_id.get().map_or("", String::as_str)
    }

    /// The gateway URL of a site request: `{gateway}/ex/jira/{id}` followed
    /// by the request's path after the site's base path, and its query.
    pub(crate) fn rebase(&self, site_base: &Url, url: &Url, cloud_id: &str) -> Url {
        let base_path = site_base.path().trim_end_matches('/');
        let tail = url.path().strip_prefix(base_path).unwrap_or(url.path());
        // The cloudId is letters, digits and '-'; the tail is already
        // percent-encoded, and `set_path` leaves `%` as it is.
        let prefix = format!(
            "{}/ex/jira/{cloud_id}",
            self.gateway.path().trim_end_matches('/')
        );
        let mut out = self.gateway.clone();
        out.set_path(&format!("{prefix}{tail}"));
        out.set_query(url.query());
        out
    }
}

/// Whether `id` looks like a cloudId (a UUID, or letters, digits and `-`).
fn valid_cloud_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Checks a cloudId given in configuration.
pub(crate) fn check_cloud_id(id: &str) -> Result<String, Error> {
    let id = id.trim();
    if valid_cloud_id(id) {
        Ok(id.to_string())
    } else {
        Err(Error::config(
            "the cloudId is not a Jira Cloud site id (letters, digits and '-')",
        ))
    }
}

/// Reads the site's cloudId from `{site origin}/_edge/tenant_info`,
/// without credentials.
pub(crate) async fn discover(http: &reqwest::Client, site: &Url) -> Result<String, Error> {
    let mut url = site.clone();
    url.set_path("/_edge/tenant_info");
    url.set_query(None);
    let label = "GET /_edge/tenant_info";
    let not_cloud = |why: &str| {
        Error::new(
            ErrorKind::NotCloud,
            format!(
                "{} is not a Jira Cloud site: {why}",
                site.host_str().unwrap_or("the site")
            ),
        )
        .with_request(label)
    };
    let mut response = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| {
            if let Some(refusal) = crate::url_policy::Refusal::find(&e) {
                return refusal.clone().into_error().with_request(label);
            }
            let kind = if e.is_timeout() {
                ErrorKind::Timeout
            } else {
                ErrorKind::Transport
            };
            Error::new(kind, "could not read the site's cloudId")
                .with_request(label)
                .with_source(e.without_url())
        })?;
    let status = response.status().as_u16();
    if status >= 500 {
        return Err(
            Error::new(ErrorKind::Server, "the site failed to tell its cloudId")
                .with_request(label)
                .with_status(status),
        );
    }
    if status != 200 {
        return Err(not_cloud("it has no /_edge/tenant_info").with_status(status));
    }
    let mut bytes = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        if bytes.len() + chunk.len() > MAX_TENANT_INFO {
            return Err(not_cloud("its /_edge/tenant_info is not Atlassian's"));
        }
        bytes.extend_from_slice(&chunk);
    }
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| not_cloud("its /_edge/tenant_info is not JSON"))?;
    let id = value
        .get("cloudId")
        .and_then(|v| v.as_str())
        .filter(|id| valid_cloud_id(id))
        .ok_or_else(|| not_cloud("its /_edge/tenant_info has no cloudId"))?;
    tracing::debug!(cloud_id = id, "discovered the site's cloudId");
    Ok(id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebases_site_paths_onto_the_gateway() {
        let r = Routing::new(Url::parse("https://api.atlassian.com").unwrap(), true, None);
        let site = Url::parse("https://acme.atlassian.net").unwrap();
        let url =
            Url::parse("https://acme.atlassian.net/rest/api/3/project/A%20B?expand=x").unwrap();
        assert_eq!(
            r.rebase(&site, &url, "abc-123").as_str(),
            "https://api.atlassian.com/ex/jira/abc-123/rest/api/3/project/A%20B?expand=x"
        );
        let r = Routing::new(Url::parse("http://127.0.0.1:9/gw/").unwrap(), true, None);
        let url = Url::parse("https://acme.atlassian.net/rest/api/3/myself").unwrap();
        assert_eq!(
            r.rebase(&site, &url, "id").as_str(),
            "http://127.0.0.1:9/gw/ex/jira/id/rest/api/3/myself"
        );
    }

    #[test]
    fn cloud_ids_are_checked() {
        assert!(check_cloud_id("5f3c-aa").is_ok());
        assert_eq!(check_cloud_id("a/b").unwrap_err().code(), "config");
        assert_eq!(check_cloud_id("").unwrap_err().code(), "config");
    }
}
