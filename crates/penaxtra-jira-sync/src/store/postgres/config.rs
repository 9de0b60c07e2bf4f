//! Where a [`super::PostgresStore`] lives: the connection string (a secret:
//! it may hold a password), the schema, the pool.

use crate::store::StoreError;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::time::Duration;

/// The schema the store uses when none is chosen.
pub const DEFAULT_SCHEMA: &str = "penaxtra_jira";

/// How to reach a [`super::PostgresStore`].
///
/// | setting | default |
/// |---|---|
/// | connection string (`postgres://user[:password]@host[:port]/db[?…]` or `key=value` pairs) | required |
/// | [`schema`](Self::schema) | [`DEFAULT_SCHEMA`] (created when missing) |
/// | [`pool_size`](Self::pool_size) | 8 connections |
/// | [`timeout`](Self::timeout) | 10 s to connect or to wait for a free connection |
///
/// The connection string is kept as a secret: `Debug` shows the host,
/// port, database and user, never the password. Connections are made
/// without TLS (loopback, a Unix socket or a trusted network). The schema
/// is set as each connection's `search_path` (an `options` setting in the
/// connection string is replaced). PostgreSQL 11 or later.
#[derive(Clone)]
pub struct PostgresConfig {
    pub(super) url: SecretString,
    pub(super) schema: String,
    pub(super) pool_size: usize,
    pub(super) timeout: Duration,
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("target", &self.target())
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl PostgresConfig {
    /// A store at the database of this connection string.
    pub fn new(url: impl Into<SecretString>) -> Self {
        Self {
            url: url.into(),
            schema: DEFAULT_SCHEMA.to_string(),
            pool_size: 8,
            timeout: Duration::from_secs(10),
        }
    }

    /// The schema holding the store's tables: lower-case ASCII letters,
    /// digits and `_`, not starting with a digit, at most 63 characters
    /// (checked on connect). Replicas sharing a store use the same one;
    /// tests use one each. Default: `penaxtra_jira`.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// Most connections kept open (at least 1; default 8).
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size;
        self
    }

    /// How long to wait to connect or for a free connection (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The parsed connection settings, with the schema as `search_path`.
    pub(super) fn pg_config(&self) -> Result<tokio_postgres::Config, StoreError> {
        check_schema(&self.schema)?;
        if self.pool_size == 0 {
            return Err(invalid("the pool size must be at least 1"));
        }
        if self.timeout.is_zero() {
            return Err(invalid("the timeout must be longer than zero"));
        }
        let mut config: tokio_postgres::Config = self
            .url
            .expose_secret()
            .parse()
            .map_err(|e| StoreError::backend("reading the Postgres connection string", e))?;
        config
            // The isolation level every statement and transaction of the
            // store is written for, pinned against a server whose default
            // differs (the claims lock rows; they do not rely on snapshots).
            .options(format!(
                "-c search_path={} -c default_transaction_isolation=read\\ committed",
                self.schema
            ))
            .application_name("penaxtra-jira-sync")
            .connect_timeout(self.timeout);
        Ok(config)
    }

    /// `user@host:port/db`, for messages: no password.
    pub(super) fn target(&self) -> String {
        match self.url.expose_secret().parse::<tokio_postgres::Config>() {
            Ok(c) => describe(&c),
            Err(_) => "(unreadable connection string)".to_string(),
        }
    }
}

/// `user@host:port/db` of parsed settings.
pub(super) fn describe(c: &tokio_postgres::Config) -> String {
    let host = c
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = c.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        c.get_user().unwrap_or("?"),
        c.get_dbname().unwrap_or("?")
    )
}

fn invalid(message: &str) -> StoreError {
    StoreError::Corrupt {
        what: "Postgres store configuration",
        message: message.to_string(),
    }
}

fn check_schema(schema: &str) -> Result<(), StoreError> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && !schema.starts_with(|c: char| c.is_ascii_digit())
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "the schema name must be 1-63 lower-case ASCII letters, digits or '_', not starting with a digit",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        let c =
            PostgresConfig::new("postgres://px:hunter2-secret@db.internal:6543/sync".to_string());
        let shown = format!("{c:?}");
        assert!(shown.contains("px@db.internal:6543/sync"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let c =
            PostgresConfig::new("host=db user=px password=hunter2-secret dbname=sync".to_string());
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn bad_settings_are_refused_before_connecting() {
        let url = || "postgres://postgres@127.0.0.1/test".to_string();
        for schema in ["", "Upper", "1abc", "a-b", "a;drop", &"x".repeat(64)] {
            let e = PostgresConfig::new(url())
                .schema(schema)
                .pg_config()
                .unwrap_err();
            assert_eq!(e.code(), "store_corrupt", "{schema}");
        }
        assert!(PostgresConfig::new(url()).pool_size(0).pg_config().is_err());
        assert!(PostgresConfig::new(url()).schema("t_1").pg_config().is_ok());
        let e = PostgresConfig::new("postgres://u:hunter2@h/db?nonsense=1".to_string())
            .pg_config()
            .unwrap_err();
        assert!(!format!("{e} {e:?}").contains("hunter2"));
    }
}
