//! [`ConnectionId`]: which customer's Jira connection a row, an operation
//! or a webhook belongs to.
//!
//! Penaxtra serves many customer organisations from one service; each
//! connects its own Jira. Every store key carries the connection, every
//! store handle is scoped to one (see [`crate::store`]), and the webhook
//! route names it in its path, so nothing one connection does can reach
//! another connection's data.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Longest connection id, in bytes.
pub const MAX_CONNECTION_ID_LEN: usize = 64;

/// The id of one Jira connection: 1 to [`MAX_CONNECTION_ID_LEN`] ASCII
/// letters, digits, `-`, `_` or `.`, not starting with `.` (it appears in
/// webhook URL paths and in store keys as it is). Case matters: `Acme` and
/// `acme` are two connections.
///
/// A store opened without naming one serves [`ConnectionId::DEFAULT_TEXT`],
/// which is also where a store of an earlier, single-connection release
/// finds its rows after migration.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(Arc<str>);

/// Why a text is not a [`ConnectionId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a valid connection id: {reason} (use 1 to 64 of A-Z a-z 0-9 - _ ., not starting with '.')"
)]
pub struct ConnectionIdError {
    reason: &'static str,
}

impl ConnectionId {
    /// The text of the default connection.
    pub const DEFAULT_TEXT: &'static str = "default";

    /// The connection of a single-connection deployment, and of every row
    /// a store of an earlier release held.
    pub fn default_connection() -> Self {
        Self(Arc::from(Self::DEFAULT_TEXT))
    }

    /// Checks `text` and makes the id.
    ///
    /// # Errors
    /// [`ConnectionIdError`] when `text` is empty, too long, starts with
    /// `.` or holds another character.
    pub fn new(text: &str) -> Result<Self, ConnectionIdError> {
        if text.is_empty() {
            return Err(ConnectionIdError { reason: "empty" });
        }
        if text.len() > MAX_CONNECTION_ID_LEN {
            return Err(ConnectionIdError {
                reason: "longer than 64 bytes",
            });
        }
        if text.starts_with('.') {
            return Err(ConnectionIdError {
                reason: "starts with '.'",
            });
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(ConnectionIdError {
                reason: "holds a character other than A-Z a-z 0-9 - _ .",
            });
        }
        Ok(Self(Arc::from(text)))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ConnectionId {
    fn default() -> Self {
        Self::default_connection()
    }
}

impl FromStr for ConnectionId {
    type Err = ConnectionIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnectionId({:?})", &*self.0)
    }
}

impl AsRef<str> for ConnectionId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        for good in ["default", "acme", "Acme-01", "a.b_c", &"x".repeat(64)] {
            assert_eq!(ConnectionId::new(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            ".hidden",
            "a/b",
            "a b",
            "é",
            "a%2F",
            "..",
            &"x".repeat(65),
        ] {
            assert!(ConnectionId::new(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(ConnectionId::default().as_str(), "default");
    }
}
