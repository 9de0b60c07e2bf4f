//! The Jira base URL: validated once, then the root of every request URL.

use crate::Error;
use url::Url;

/// A validated Jira base URL: `https` or `http` (which of them, and which
/// hosts, the [`UrlPolicy`](crate::UrlPolicy) decides), no user info, query
/// or fragment, an optional context path, no trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaseUrl {
    url: Url,
}

impl BaseUrl {
    pub(crate) fn parse(input: &str) -> Result<Self, Error> {
        let mut url = Url::parse(input.trim())
            .map_err(|e| Error::config(format!("the Jira base URL is not a valid URL ({e})")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::config(
                "the Jira base URL must not contain a user name or password: configure credentials through the auth",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::config(
                "the Jira base URL must not have a query or fragment",
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Error::config("the Jira base URL has no host"));
        }
        // Which scheme and host are allowed is the URL policy's to say
        // (`crate::UrlPolicy`); here only what can be a Jira at all.
        if !matches!(url.scheme(), "https" | "http") {
            return Err(Error::config(format!(
                "the Jira base URL must use https, not {}",
                url.scheme()
            )));
        }
        let path = url.path().trim_end_matches('/').to_string();
        url.set_path(&path);
        Ok(Self { url })
    }

    pub(crate) fn as_url(&self) -> &Url {
        &self.url
    }

    /// `{base}/rest/api/{version}/{segments...}`, each segment
    /// percent-encoded.
    pub(crate) fn endpoint(&self, version: &str, segments: &[&str]) -> Url {
        let mut url = self.url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["rest", "api", version])
                .extend(segments);
        }
        url
    }

    /// Whether `other` has the same scheme, host and port.
    pub(crate) fn same_origin(&self, other: &Url) -> bool {
        self.url.origin() == other.origin()
    }
}

/// Checks a caller-supplied identifier that goes into a URL path (issue
/// key or id, project key or id, issue type id).
pub(crate) fn path_id<'a>(what: &str, value: &'a str) -> Result<&'a str, Error> {
    let ok = !value.is_empty()
        && value.len() <= 255
        && value != "."
        && value != ".."
        && value
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"/?#%\\".contains(c));
    if ok {
        Ok(value)
    } else {
        Err(Error::invalid_input(format!(
            "{what} {value:?} is not a valid Jira identifier"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_builds_endpoints() {
        let b = BaseUrl::parse("https://jira.corp.example/jira//").unwrap();
        assert_eq!(b.as_url().as_str(), "https://jira.corp.example/jira");
        assert_eq!(
            b.endpoint("2", &["issue", "SEC-1"]).as_str(),
            "https://jira.corp.example/jira/rest/api/2/issue/SEC-1"
        );
        let b = BaseUrl::parse("https://acme.atlassian.net/").unwrap();
        assert_eq!(
            b.endpoint("3", &["myself"]).as_str(),
            "https://acme.atlassian.net/rest/api/3/myself"
        );
        let b = BaseUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            b.endpoint("2", &["project", "A B"]).as_str(),
            "http://127.0.0.1:8080/rest/api/2/project/A%20B"
        );
        assert!(BaseUrl::parse("http://localhost:1/").is_ok());
        assert!(BaseUrl::parse("http://[::1]:1/").is_ok());
    }

    #[test]
    fn rejects_unsafe_urls_without_echoing_secrets() {
        for bad in [
            "ftp://jira.corp.example",
            "file:///etc/passwd",
            "https://user:hunter2@jira.corp.example",
            "https://jira.corp.example/?token=hunter2",
            "https://jira.corp.example/#hunter2",
            "not a url",
        ] {
            let e = BaseUrl::parse(bad).unwrap_err();
            assert_eq!(e.code(), "config", "{bad}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn origin_check() {
        let b = BaseUrl::parse("https://jira.example/jira").unwrap();
        assert!(b.same_origin(&Url::parse("https://jira.example/other").unwrap()));
        assert!(!b.same_origin(&Url::parse("https://evil.example/jira").unwrap()));
        assert!(!b.same_origin(&Url::parse("http://jira.example/jira").unwrap()));
        assert!(!b.same_origin(&Url::parse("https://jira.example:8443/jira").unwrap()));
    }

    #[test]
    fn path_ids() {
        assert!(path_id("issue", "SEC-1").is_ok());
        assert!(path_id("issue", "10001").is_ok());
        for bad in ["", ".", "..", "a/b", "a?b", "a b", "a#", "a%2F", "x\n"] {
            assert_eq!(path_id("issue", bad).unwrap_err().code(), "invalid_input");
        }
    }
}
