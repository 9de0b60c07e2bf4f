//! [`SealError`]: every way reading, sealing or opening can fail.

use super::binding::{ConnectionId, JiraOrigin};
use super::keys::KeyId;
use std::fmt;

/// Why a key or sealed token could not be read, or a token not sealed or
/// opened. Never contains key material or token text; it may name key ids,
/// connection ids and Jira origins, which are not secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The text is not of the expected form.
    #[error("not a valid {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The text has the right prefix but a version this build cannot read.
    #[error(
        "unknown {what} version {version:?}: this build reads sealed tokens v1 (to migrate) \
         and v2, keys v1"
    )]
    UnknownVersion {
        /// What was being read.
        what: &'static str,
        /// The version found (at most 16 characters, sanitised).
        version: String,
    },
    /// The sealed box is shorter than the smallest possible one.
    #[error("the sealed token is truncated: {len} bytes, a sealed token has more than {min}")]
    Truncated {
        /// Its length.
        len: usize,
        /// The overhead of a sealed box.
        min: usize,
    },
    /// Authentication failed: the key is not the one the token was sealed
    /// for, or the sealed token was altered. (A sealed box cannot tell the
    /// two apart.)
    #[error("the sealed token cannot be opened: wrong secret key, or the token was altered")]
    WrongKeyOrTampered,
    /// The opened token is not UTF-8 text.
    #[error("the opened token is not UTF-8 text")]
    NotUtf8,
    /// An empty token cannot be sealed.
    #[error("an empty token cannot be sealed")]
    EmptyToken,
    /// The token is longer than [`super::MAX_TOKEN_LEN`].
    #[error("the token is longer than {} bytes", super::MAX_TOKEN_LEN)]
    TooLong,
    /// The sealed token names a key id that none of the secret keys given
    /// has.
    #[error(
        "the sealed token was sealed for key id {key_id}, and no secret key given has that id \
         (given: {}); add that secret key to the key list, or reseal the token with a current \
         public key",
        KeyIds(held)
    )]
    UnknownKeyId {
        /// The key id the sealed token names.
        key_id: KeyId,
        /// The key ids of the secret keys given, in order.
        held: Vec<KeyId>,
    },
    /// The token was sealed for another connection.
    #[error(
        "the sealed token belongs to connection {sealed_for:?}, not to {expected:?}: a token \
         is only ever used for the connection it was sealed for; seal this connection's own \
         token with `seal_token --connection {expected} --base-url …`"
    )]
    ConnectionMismatch {
        /// The connection that asked for the token.
        expected: ConnectionId,
        /// The connection the token was sealed for.
        sealed_for: ConnectionId,
    },
    /// The token was sealed for another Jira origin (scheme, host or port).
    #[error(
        "the sealed token is for the Jira at {sealed_for}, not {expected}: it is never sent to \
         another origin; if this connection's Jira moved, reseal its token with \
         `seal_token --connection … --base-url {expected}`"
    )]
    OriginMismatch {
        /// The origin of the base URL the token would be sent to.
        expected: JiraOrigin,
        /// The origin the token was sealed for.
        sealed_for: JiraOrigin,
    },
    /// A v1 sealed token, bound to no connection and no Jira origin, given
    /// to [`super::SealedToken::open`].
    #[error(
        "this is a v1 sealed token, bound to no connection or Jira origin, and it is no longer \
         opened: reseal the token with `seal_token --connection <id> --base-url <jira url>` \
         (a host migrating stored tokens opens it once with `SealedToken::open_unbound_v1`)"
    )]
    UnboundV1,
    /// A connection id that cannot be used.
    #[error("not a valid connection id: {reason}")]
    InvalidConnectionId {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A Jira base URL whose origin cannot be used. (The URL is not shown:
    /// it may carry credentials or a query.)
    #[error("not a usable Jira base URL: {reason}")]
    InvalidOrigin {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// One entry of a key list (see [`super::SealingKeyring`]'s `FromStr`)
    /// is not a secret key.
    #[error("key {index} of the key list (counting from 1): {error}")]
    KeyListEntry {
        /// Its position, from 1.
        index: usize,
        /// What is wrong with it.
        error: Box<SealError>,
    },
}

impl SealError {
    /// A stable code for the error, for metrics and alerts:
    /// `sealed_malformed`, `sealed_unknown_version`, `sealed_truncated`,
    /// `sealed_wrong_key_or_tampered`, `sealed_not_utf8`,
    /// `sealed_empty_token`, `sealed_too_long`, `sealed_unknown_key_id`,
    /// `sealed_connection_mismatch`, `sealed_origin_mismatch`,
    /// `sealed_unbound_v1`, `sealed_invalid_connection_id`,
    /// `sealed_invalid_origin`, `sealed_key_list_entry`.
    pub fn code(&self) -> &'static str {
        match self {
            SealError::Malformed { .. } => "sealed_malformed",
            SealError::UnknownVersion { .. } => "sealed_unknown_version",
            SealError::Truncated { .. } => "sealed_truncated",
            SealError::WrongKeyOrTampered => "sealed_wrong_key_or_tampered",
            SealError::NotUtf8 => "sealed_not_utf8",
            SealError::EmptyToken => "sealed_empty_token",
            SealError::TooLong => "sealed_too_long",
            SealError::UnknownKeyId { .. } => "sealed_unknown_key_id",
            SealError::ConnectionMismatch { .. } => "sealed_connection_mismatch",
            SealError::OriginMismatch { .. } => "sealed_origin_mismatch",
            SealError::UnboundV1 => "sealed_unbound_v1",
            SealError::InvalidConnectionId { .. } => "sealed_invalid_connection_id",
            SealError::InvalidOrigin { .. } => "sealed_invalid_origin",
            SealError::KeyListEntry { .. } => "sealed_key_list_entry",
        }
    }
}

/// A list of key ids for a message: `a, b`, or `none`.
struct KeyIds<'a>(&'a [KeyId]);

impl fmt::Display for KeyIds<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        for (i, id) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{id}")?;
        }
        Ok(())
    }
}
