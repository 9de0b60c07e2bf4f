//! The Postgres schema, one migration per version, applied at open: in one
//! transaction holding an advisory lock named after the schema, so replicas
//! starting at once migrate it once, and the others wait and find it done.

use crate::store::StoreError;
use deadpool_postgres::Client;

/// The schema, one entry per version.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE links (
    finding_id        TEXT PRIMARY KEY,
    issue_key         TEXT NOT NULL,
    issue_key_norm    TEXT NOT NULL,
    issue_id          TEXT NOT NULL,
    state_out         TEXT,
    state_in          TEXT,
    expected_statuses TEXT,
    last_event_ms     BIGINT,
    moving_until_ms   BIGINT,
    created_ms        BIGINT NOT NULL,
    updated_ms        BIGINT NOT NULL
);
CREATE INDEX links_issue_key_norm ON links (issue_key_norm);
CREATE SEQUENCE fences;
CREATE TABLE claims (
    finding_id     TEXT PRIMARY KEY,
    owner          TEXT,
    until_ms       BIGINT NOT NULL,
    fence          BIGINT NOT NULL,
    doubt_since_ms BIGINT
);
CREATE SEQUENCE op_versions;
CREATE TABLE ops (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    op_key     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    op         TEXT NOT NULL,
    version    BIGINT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    due_ms     BIGINT NOT NULL,
    last_error TEXT,
    parked     BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX ops_due ON ops (due_ms, id) WHERE NOT parked;
CREATE INDEX ops_key ON ops (op_key);
CREATE TABLE deliveries (
    id      TEXT PRIMARY KEY,
    seen_ms BIGINT NOT NULL
);
CREATE INDEX deliveries_seen ON deliveries (seen_ms);
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE rate_budgets (
    name   TEXT PRIMARY KEY,
    tat_us BIGINT NOT NULL
);
"#,
    // 2: the claim protocol under pauses, skew and races. Links carry a
    // compare-and-set version; a claim remembers whether its doubt comes
    // from an expired holder, and the ids of issues its creates made.
    r#"
ALTER TABLE links ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE claims ADD COLUMN doubt_expired BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE claims ADD COLUMN issue_ids TEXT;
"#,
    // 3: many connections in one store. Every row belongs to a connection
    // (the rows of a single-connection store to 'default'), and every key
    // and index leads with it.
    r#"
ALTER TABLE links ADD COLUMN connection TEXT NOT NULL DEFAULT 'default';
ALTER TABLE links DROP CONSTRAINT links_pkey, ADD PRIMARY KEY (connection, finding_id);
DROP INDEX links_issue_key_norm;
CREATE INDEX links_issue_key_norm ON links (connection, issue_key_norm);
CREATE INDEX links_issue_id ON links (connection, issue_id);
ALTER TABLE claims ADD COLUMN connection TEXT NOT NULL DEFAULT 'default';
ALTER TABLE claims DROP CONSTRAINT claims_pkey, ADD PRIMARY KEY (connection, finding_id);
ALTER TABLE ops ADD COLUMN connection TEXT NOT NULL DEFAULT 'default';
DROP INDEX ops_due;
DROP INDEX ops_key;
CREATE INDEX ops_due ON ops (connection, due_ms, id) WHERE NOT parked;
CREATE INDEX ops_key ON ops (connection, op_key);
ALTER TABLE deliveries ADD COLUMN connection TEXT NOT NULL DEFAULT 'default';
ALTER TABLE deliveries DROP CONSTRAINT deliveries_pkey, ADD PRIMARY KEY (connection, id);
DROP INDEX deliveries_seen;
CREATE INDEX deliveries_seen ON deliveries (connection, seen_ms);
CREATE TABLE cursors (
    connection TEXT PRIMARY KEY,
    value      TEXT NOT NULL
);
INSERT INTO cursors (connection, value) SELECT 'default', value FROM meta WHERE key = 'sweep_cursor';
DELETE FROM meta WHERE key = 'sweep_cursor';
ALTER TABLE rate_budgets ADD COLUMN connection TEXT NOT NULL DEFAULT 'default';
ALTER TABLE rate_budgets DROP CONSTRAINT rate_budgets_pkey, ADD PRIMARY KEY (connection, name);
"#,
];

/// Brings `schema` to the newest version. `schema` has been checked to be
/// a plain lower-case identifier.
pub(super) async fn migrate(client: &mut Client, schema: &str) -> Result<(), StoreError> {
    const CTX: &str = "migrating the Postgres schema";
    let sql = |e| StoreError::backend(CTX, e);
    let tx = client.transaction().await.map_err(sql)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('penaxtra-jira-sync:migrate:' || $1, 0))",
        &[&schema],
    )
    .await
    .map_err(sql)?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS \"{schema}\";
         SET LOCAL search_path TO \"{schema}\";
         CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         );"
    ))
    .await
    .map_err(sql)?;
    let version: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .map_err(sql)?
        .get(0);
    let version = usize::try_from(version).unwrap_or(0);
    if version > MIGRATIONS.len() {
        return Err(StoreError::Corrupt {
            what: "schema",
            message: format!(
                "version {version} is newer than this library knows ({})",
                MIGRATIONS.len()
            ),
        });
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.batch_execute(migration).await.map_err(sql)?;
        let v = i32::try_from(i + 1).unwrap_or(i32::MAX);
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&v])
            .await
            .map_err(sql)?;
        tracing::info!(schema, version = v, "Postgres store migrated");
    }
    tx.commit().await.map_err(sql)
}
