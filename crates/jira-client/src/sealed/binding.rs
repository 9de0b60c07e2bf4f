//! What a v2 sealed token is bound to ([`TokenBinding`]: a connection and a
//! Jira origin), and the plaintext the sealed box holds.
//!
//! The plaintext is length-prefixed binary, so that the token is copied
//! exactly once into a buffer that is zeroized when dropped (a JSON parser
//! keeps scratch copies of escaped strings that nobody zeroizes):
//!
//! | bytes | field |
//! |---|---|
//! | 1 | format version, `2` |
//! | 9 | key id of the public key it was sealed for |
//! | 2 + n | connection id: length (u16, big-endian), UTF-8 |
//! | 2 + n | origin: length (u16, big-endian), ASCII serialisation |
//! | 4 + n | token: length (u32, big-endian), UTF-8; nothing follows |

use super::error::SealError;
use super::keys::{KEY_ID_LEN, KeyId};
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::str::FromStr;

/// The format version byte that opens a v2 plaintext.
const PLAINTEXT_V2: u8 = 2;

/// The id of one connection (one customer's Jira) in a multi-tenant
/// service: the key of its configuration row. A sealed token opens only for
/// the connection it was sealed for.
///
/// 1 to [`ConnectionId::MAX_LEN`] bytes of UTF-8 without whitespace or
/// control characters, compared exactly (case matters).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(String);

impl ConnectionId {
    /// The longest connection id, in bytes.
    pub const MAX_LEN: usize = 128;

    /// Checks and wraps a connection id.
    ///
    /// # Errors
    /// [`SealError::InvalidConnectionId`] when it is empty, longer than
    /// [`ConnectionId::MAX_LEN`] bytes, or holds whitespace or a control
    /// character.
    pub fn new(id: impl Into<String>) -> Result<Self, SealError> {
        let id = id.into();
        let reason = if id.is_empty() {
            "it is empty"
        } else if id.len() > Self::MAX_LEN {
            "it is longer than 128 bytes"
        } else if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
            "it holds whitespace or a control character"
        } else {
            return Ok(Self(id));
        };
        Err(SealError::InvalidConnectionId { reason })
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl FromStr for ConnectionId {
    type Err = SealError;
    fn from_str(s: &str) -> Result<Self, SealError> {
        Self::new(s)
    }
}

/// The origin of a Jira base URL: `scheme://host[:port]`, the host
/// lowercased (internationalised names in their ASCII form), the port left
/// out when it is the scheme's default. Paths do not count:
/// `https://jira.example:443/jira/` and `https://JIRA.example` have the
/// same origin; `http://` and `https://`, or two ports, do not.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct JiraOrigin(String);

impl JiraOrigin {
    /// The origin of a Jira base URL (read as the client reads it).
    ///
    /// # Errors
    /// [`SealError::InvalidOrigin`] when it is not an `http` or `https`
    /// URL with a host.
    pub fn from_base_url(base_url: &str) -> Result<Self, SealError> {
        let invalid = |reason| SealError::InvalidOrigin { reason };
        let url =
            url::Url::parse(base_url.trim()).map_err(|_| invalid("it is not an absolute URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("the scheme is not http or https"));
        }
        if url.host().is_none() {
            return Err(invalid("it has no host"));
        }
        Ok(Self(url.origin().ascii_serialization()))
    }

    /// `scheme://host[:port]`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JiraOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for JiraOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JiraOrigin({})", self.0)
    }
}

/// What a v2 sealed token is bound to: the connection whose configuration
/// holds it and the origin of the Jira it may be sent to.
/// [`super::SealedToken::open`] refuses it for any other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenBinding {
    connection: ConnectionId,
    origin: JiraOrigin,
}

impl TokenBinding {
    /// The binding of `connection` to `origin`.
    pub fn new(connection: ConnectionId, origin: JiraOrigin) -> Self {
        Self { connection, origin }
    }

    /// The binding of `connection` to the origin of `base_url`.
    ///
    /// # Errors
    /// [`SealError::InvalidConnectionId`] or [`SealError::InvalidOrigin`].
    pub fn for_base_url(connection: &str, base_url: &str) -> Result<Self, SealError> {
        Ok(Self::new(
            ConnectionId::new(connection)?,
            JiraOrigin::from_base_url(base_url)?,
        ))
    }

    /// The connection.
    pub fn connection(&self) -> &ConnectionId {
        &self.connection
    }

    /// The Jira origin.
    pub fn origin(&self) -> &JiraOrigin {
        &self.origin
    }

    /// Refuses `sealed_for` unless it is this binding, naming the
    /// connection first when both differ.
    pub(super) fn check(&self, sealed_for: TokenBinding) -> Result<(), SealError> {
        if sealed_for.connection != self.connection {
            return Err(SealError::ConnectionMismatch {
                expected: self.connection.clone(),
                sealed_for: sealed_for.connection,
            });
        }
        if sealed_for.origin != self.origin {
            return Err(SealError::OriginMismatch {
                expected: self.origin.clone(),
                sealed_for: sealed_for.origin,
            });
        }
        Ok(())
    }
}

/// The content of a v2 sealed box, read.
pub(super) struct Plaintext {
    pub(super) key_id: KeyId,
    pub(super) binding: TokenBinding,
    pub(super) token: SecretString,
}

/// Writes the v2 plaintext into one buffer, sized up front so it never
/// reallocates (a reallocation would leave a copy of the token behind).
pub(super) fn encode(
    key_id: &KeyId,
    binding: &TokenBinding,
    token: &SecretString,
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let connection = binding.connection.as_str().as_bytes();
    let origin = binding.origin.as_str().as_bytes();
    let token = token.expose_secret().as_bytes();
    let origin_len = u16::try_from(origin.len()).map_err(|_| SealError::InvalidOrigin {
        reason: "the origin is longer than 65535 bytes",
    })?;
    // ConnectionId::MAX_LEN and MAX_TOKEN_LEN keep these in range.
    let connection_len =
        u16::try_from(connection.len()).map_err(|_| SealError::InvalidConnectionId {
            reason: "it is longer than 128 bytes",
        })?;
    let token_len = u32::try_from(token.len()).map_err(|_| SealError::TooLong)?;
    let mut out = Zeroizing::new(Vec::with_capacity(
        1 + KEY_ID_LEN + 2 + connection.len() + 2 + origin.len() + 4 + token.len(),
    ));
    out.push(PLAINTEXT_V2);
    out.extend_from_slice(key_id.as_bytes());
    out.extend_from_slice(&connection_len.to_be_bytes());
    out.extend_from_slice(connection);
    out.extend_from_slice(&origin_len.to_be_bytes());
    out.extend_from_slice(origin);
    out.extend_from_slice(&token_len.to_be_bytes());
    out.extend_from_slice(token);
    Ok(out)
}

/// Reads a v2 plaintext. Only an opened box is read, so a failure here
/// means a box sealed by something other than this library.
pub(super) fn decode(plain: &[u8]) -> Result<Plaintext, SealError> {
    let malformed = |reason| SealError::Malformed {
        what: "opened v2 sealed token",
        reason,
    };
    let mut rest = plain;
    if cut(&mut rest, 1)? != [PLAINTEXT_V2] {
        return Err(malformed("its format version is not 2"));
    }
    let key_id = KeyId::from_bytes(cut(&mut rest, KEY_ID_LEN)?)?;
    let len = |b: &[u8]| {
        b.iter()
            .fold(0usize, |n, &byte| (n << 8) | usize::from(byte))
    };
    let connection_len = len(cut(&mut rest, 2)?);
    let connection = std::str::from_utf8(cut(&mut rest, connection_len)?)
        .map_err(|_| malformed("the connection id is not UTF-8"))?;
    let connection = ConnectionId::new(connection)?;
    let origin_len = len(cut(&mut rest, 2)?);
    let origin = std::str::from_utf8(cut(&mut rest, origin_len)?)
        .map_err(|_| malformed("the origin is not UTF-8"))?;
    let parsed = JiraOrigin::from_base_url(origin)?;
    if parsed.as_str() != origin {
        return Err(malformed("the origin is not in its normal form"));
    }
    let token_len = len(cut(&mut rest, 4)?);
    let token = cut(&mut rest, token_len)?;
    if !rest.is_empty() {
        return Err(malformed("bytes follow the token"));
    }
    let token = std::str::from_utf8(token).map_err(|_| SealError::NotUtf8)?;
    Ok(Plaintext {
        key_id,
        binding: TokenBinding::new(connection, parsed),
        token: SecretString::from(token.to_string()),
    })
}

/// Takes `n` bytes off the front of `rest`.
fn cut<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], SealError> {
    if rest.len() < n {
        return Err(SealError::Malformed {
            what: "opened v2 sealed token",
            reason: "it is cut short",
        });
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised() {
        for (url, origin) in [
            ("https://Acme.Atlassian.NET/", "https://acme.atlassian.net"),
            ("https://jira.example:443/jira/", "https://jira.example"),
            ("http://jira.example:80", "http://jira.example"),
            ("https://jira.example:8443/x", "https://jira.example:8443"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://[::1]:1/", "http://[::1]:1"),
            (
                "  https://user:pw@jira.example/?q=1  ",
                "https://jira.example",
            ),
            ("https://bücher.example", "https://xn--bcher-kva.example"),
        ] {
            assert_eq!(JiraOrigin::from_base_url(url).unwrap().as_str(), origin);
        }
        for bad in [
            "",
            "jira.example",
            "ftp://jira.example",
            "mailto:a@b",
            "file:///x",
        ] {
            assert!(
                matches!(
                    JiraOrigin::from_base_url(bad),
                    Err(SealError::InvalidOrigin { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn connection_ids_are_checked() {
        for good in ["default", "tenant-42", "ACME_prod.eu", "ünïcode", "a"] {
            assert_eq!(ConnectionId::new(good).unwrap().as_str(), good);
        }
        let long = "x".repeat(ConnectionId::MAX_LEN + 1);
        for bad in ["", " a", "a b", "a\n", "a\u{7}", long.as_str()] {
            assert!(
                matches!(
                    ConnectionId::new(bad),
                    Err(SealError::InvalidConnectionId { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn plaintext_round_trips_and_every_cut_is_refused() {
        let binding = TokenBinding::for_base_url("tenant-a", "https://a.example").unwrap();
        let id = KeyId::from_bytes(&[7; KEY_ID_LEN]).unwrap();
        let plain = encode(&id, &binding, &SecretString::from("tok€n")).unwrap();
        let back = decode(&plain).unwrap();
        assert_eq!(back.key_id, id);
        assert_eq!(back.binding, binding);
        assert_eq!(back.token.expose_secret(), "tok€n");
        for n in 0..plain.len() {
            assert!(decode(&plain[..n]).is_err(), "cut at {n}");
        }
        let mut longer = plain.to_vec();
        longer.push(0);
        assert!(decode(&longer).is_err());
        let mut v3 = plain.to_vec();
        v3[0] = 3;
        assert!(decode(&v3).is_err());
    }
}
