//! Postgres for the tests: the database named by `PENAXTRA_TEST_PG`, one
//! fresh schema per store so tests running at once never meet.
//!
//! Without the variable, a test that needs Postgres says on the terminal
//! that it was skipped (written past the test harness's capture, so it is
//! seen in a plain `cargo test`) and passes; with `CI=true` it fails.

use penaxtra_jira_sync::store::{PostgresConfig, PostgresStore};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The variable naming the test database.
pub const VAR: &str = "PENAXTRA_TEST_PG";

/// The test database's URL, or `None` after saying `test` was skipped.
///
/// # Panics
/// With `CI=true` and no URL: CI must run every test.
pub fn url(test: &str) -> Option<String> {
    match std::env::var(VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "{test}: {VAR} is not set and CI=true: CI runs the Postgres tests (see .ci/run)"
            );
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: needs Postgres; set {VAR}=postgres://postgres@127.0.0.1:5432/test"
            );
            None
        }
    }
}

/// A schema name no other test uses.
pub fn unique_schema(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "t_{tag}_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A store in `schema` (created and migrated by the store).
pub async fn store(url: &str, schema: &str) -> PostgresStore {
    PostgresStore::connect(
        PostgresConfig::new(url.to_string())
            .schema(schema)
            .pool_size(4),
    )
    .await
    .unwrap_or_else(|e| panic!("connecting to the test database in schema {schema}: {e}"))
}

/// A plain client of the test database, for what the tests do behind the
/// store's back.
pub async fn client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("the test database is reachable");
    tokio::spawn(conn);
    client
}

/// Drops the schemas a passing test made (a failing test leaves them, to
/// look at).
pub async fn drop_schemas(url: &str, schemas: &[String]) {
    let client = client(url).await;
    for s in schemas {
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{s}\" CASCADE"))
            .await
            .unwrap();
    }
}
