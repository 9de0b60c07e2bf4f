//! Link targets the ADF and wiki-markup writers may emit.

use crate::ModelError;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// The longest link target accepted, in bytes after normalisation.
pub const HREF_MAX: usize = 2048;

/// A link target both writers may emit: an absolute `http` or `https` URL
/// without credentials, whose every character is safe inside a wiki-markup
/// link (`[text|url]`) and an ADF `link` mark.
///
/// [`Href::new`] lower-cases the scheme and percent-encodes every character
/// of the path, query and fragment outside a conservative set (so `[`, `]`,
/// `|`, `{`, `}`, `!`, `\`, quotes, angle brackets and non-ASCII are
/// encoded). It rejects other schemes (`javascript:`, `data:`, `file:`...),
/// user info (`https://user:pass@host`), whitespace and control characters,
/// and hosts that are not plain ASCII names or IPv4 addresses.
///
/// ```
/// use jira_model::Href;
/// let href = Href::new("HTTPS://penaxtra.com/app/findings/fnd_1?x=[1]").unwrap();
/// assert_eq!(href.as_str(), "https://penaxtra.com/app/findings/fnd_1?x=%5B1%5D");
/// assert!(Href::new("javascript:alert(1)").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Href(String);

impl Href {
    /// Validates and normalises a URL.
    ///
    /// # Errors
    /// [`ModelError::InvalidHref`] when the URL is not an absolute `http` or
    /// `https` URL, carries user info, contains whitespace or control
    /// characters, has an unsupported host, or is longer than [`HREF_MAX`].
    pub fn new(url: &str) -> Result<Self, ModelError> {
        let err = |reason| ModelError::InvalidHref { reason };
        let url = url.trim_matches(|c: char| c.is_ascii_whitespace());
        if url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || crate::text::is_invisible(c))
        {
            return Err(err("contains whitespace or control characters"));
        }
        let (scheme, rest) = match url.split_once("://") {
            Some((s, r)) if s.eq_ignore_ascii_case("https") => ("https", r),
            Some((s, r)) if s.eq_ignore_ascii_case("http") => ("http", r),
            _ => return Err(err("must start with http:// or https://")),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.contains('@') {
            return Err(err(
                "must not carry user info (credentials) before the host",
            ));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        if host.is_empty() {
            return Err(err("has no host"));
        }
        if !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            return Err(err(
                "host must be an ASCII name or IPv4 address (use the punycode form of a non-ASCII name)",
            ));
        }
        if let Some(port) = port
            && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(err("has a malformed port"));
        }
        let mut out = String::with_capacity(url.len() + 8);
        out.push_str(scheme);
        out.push_str("://");
        out.push_str(&authority.to_ascii_lowercase());
        let bytes = tail.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            let keep = b.is_ascii_alphanumeric()
                || b"-._~/?#=&+,;:@$()*'".contains(&b)
                || (b == b'%'
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit));
            if keep {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        if out.len() > HREF_MAX {
            return Err(err("longer than 2048 bytes"));
        }
        Ok(Self(out))
    }

    /// The normalised URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Href {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Href {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Href {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl<'de> Deserialize<'de> for Href {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        let h = Href::new("  https://Penaxtra.COM:8443/app/findings/fnd_2026_000123#top ").unwrap();
        assert_eq!(
            h.as_str(),
            "https://penaxtra.com:8443/app/findings/fnd_2026_000123#top"
        );
        assert_eq!(
            Href::new("http://127.0.0.1:9/a b").map(|h| h.0),
            Err(ModelError::InvalidHref {
                reason: "contains whitespace or control characters"
            })
        );
        assert_eq!(
            Href::new("https://x.io/ä|{}!\\\"<>^`%zz%4a")
                .unwrap()
                .as_str(),
            "https://x.io/%C3%A4%7C%7B%7D%21%5C%22%3C%3E%5E%60%25zz%4a"
        );
        assert_eq!(Href::new("https://x.io").unwrap().as_str(), "https://x.io");
    }

    #[test]
    fn rejects_unsafe_targets() {
        for bad in [
            "javascript:alert(1)",
            "JAVASCRIPT://%0aalert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "//evil.example/",
            "https://",
            "https://user:pass@evil.example/",
            "https://evil.example@penaxtra.com/",
            "https://[::1]/",
            "https://exa mple.com/",
            "https://xn--bcher-kva.example:/",
            "https://host:99999999/",
            "https://bücher.example/",
            "https://a.example/\u{202e}",
            "https://a.example/\u{0}",
        ] {
            assert!(Href::new(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("https://a.example/{}", "x".repeat(HREF_MAX));
        assert!(Href::new(&long).is_err());
    }

    #[test]
    fn error_does_not_echo_the_url() {
        let e = Href::new("https://user:secret-token@x.example/").unwrap_err();
        assert!(!e.to_string().contains("secret-token"));
    }

    #[test]
    fn serde_validates() {
        assert!(serde_json::from_str::<Href>("\"https://a.example/\"").is_ok());
        assert!(serde_json::from_str::<Href>("\"javascript:x\"").is_err());
    }
}
