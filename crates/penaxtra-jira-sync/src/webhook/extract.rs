//! Finding the shared secret in a webhook URL: `/webhooks/jira/<secret>` or
//! `/webhooks/jira?secret=<secret>`.

use secrecy::SecretString;

/// The query parameter that may carry the secret.
pub const SECRET_QUERY_PARAMETER: &str = "secret";

/// The URL secret of a request to `path` (and `query`, without its `?`),
/// for a receiver mounted at `mount_prefix` (e.g. `/webhooks/jira`).
///
/// The secret is either the one path segment after the prefix
/// (`/webhooks/jira/<secret>`, one trailing `/` tolerated) or the `secret`
/// query parameter of a request to the prefix itself
/// (`/webhooks/jira?secret=<secret>`); either is percent-decoded. Anything
/// else gives `None`, which the gate answers like a wrong secret: a path
/// outside the prefix or deeper than one segment, an empty or undecodable
/// secret, a repeated `secret` parameter, or a secret in both the path and
/// the query (ambiguous, so neither is believed).
///
/// The secret is returned as a [`SecretString`]: pass it to the gate with
/// `secret.as_ref().map(ExposeSecret::expose_secret)`. A secret in the URL
/// also reaches access logs; keep request-path logging off for this route.
///
/// ```
/// use penaxtra_jira_sync::webhook::extract_url_secret;
/// use secrecy::ExposeSecret;
///
/// let s = extract_url_secret("/webhooks/jira/s3cr%2Ft", None, "/webhooks/jira").unwrap();
/// assert_eq!(s.expose_secret(), "s3cr/t");
/// let s = extract_url_secret("/webhooks/jira", Some("secret=a+b%21"), "/webhooks/jira").unwrap();
/// assert_eq!(s.expose_secret(), "a b!");
/// assert!(extract_url_secret("/other/s3cret", None, "/webhooks/jira").is_none());
/// ```
pub fn extract_url_secret(
    path: &str,
    query: Option<&str>,
    mount_prefix: &str,
) -> Option<SecretString> {
    let prefix = mount_prefix.trim_end_matches('/');
    let rest = path.strip_prefix(prefix)?;
    let from_query = query.map_or(Ok(None), query_secret).ok()?;
    let segment = match rest {
        "" | "/" => None,
        _ => {
            let segment = rest.strip_prefix('/')?;
            let segment = segment.strip_suffix('/').unwrap_or(segment);
            if segment.is_empty() || segment.contains('/') {
                return None;
            }
            Some(percent_decode(segment)?)
        }
    };
    match (segment, from_query) {
        (Some(s), None) | (None, Some(s)) if !s.is_empty() => Some(SecretString::from(s)),
        _ => None,
    }
}

/// The `secret` parameter of a query: `Ok(None)` when absent, `Err(())`
/// when repeated.
fn query_secret(query: &str) -> Result<Option<String>, ()> {
    let mut found = None;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name == SECRET_QUERY_PARAMETER {
            if found.is_some() {
                return Err(());
            }
            found = Some(value.into_owned());
        }
    }
    Ok(found)
}

/// Strict percent-decoding of a path segment (`+` stays `+`); `None` for a
/// truncated or non-hex escape or a result that is not UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let mut byte = [0u8; 1];
            hex::decode_to_slice(hex, &mut byte).ok()?;
            out.push(byte[0]);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn get(path: &str, query: Option<&str>) -> Option<String> {
        extract_url_secret(path, query, "/webhooks/jira/").map(|s| s.expose_secret().to_string())
    }

    #[test]
    fn path_forms() {
        assert_eq!(get("/webhooks/jira/abc", None).as_deref(), Some("abc"));
        assert_eq!(get("/webhooks/jira/abc/", None).as_deref(), Some("abc"));
        assert_eq!(
            get("/webhooks/jira/a+b%20c", None).as_deref(),
            Some("a+b c")
        );
        assert_eq!(get("/webhooks/jira/%C3%A9", None).as_deref(), Some("é"));
        for bad in [
            "/webhooks/jira/",
            "/webhooks/jira",
            "/webhooks/jira//",
            "/webhooks/jira/a/b",
            "/webhooks/jiraabc",
            "/webhooks/jir",
            "/webhooks/jira/%",
            "/webhooks/jira/%4",
            "/webhooks/jira/%zz",
            "/webhooks/jira/%FF",
        ] {
            assert_eq!(get(bad, None), None, "{bad:?}");
        }
    }

    #[test]
    fn query_forms() {
        assert_eq!(
            get("/webhooks/jira", Some("secret=abc")).as_deref(),
            Some("abc")
        );
        assert_eq!(
            get("/webhooks/jira/", Some("x=1&secret=a%26b&y=2")).as_deref(),
            Some("a&b")
        );
        assert_eq!(get("/webhooks/jira", Some("secret=")), None);
        assert_eq!(get("/webhooks/jira", Some("x=1")), None);
        assert_eq!(get("/webhooks/jira", Some("secret=a&secret=a")), None);
        assert_eq!(get("/webhooks/jira/abc", Some("secret=abc")), None);
        assert_eq!(
            get("/webhooks/jira/abc", Some("issue=SEC-1")).as_deref(),
            Some("abc")
        );
        assert_eq!(get("/elsewhere", Some("secret=abc")), None);
    }
}
