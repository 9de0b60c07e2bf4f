//! The SQLite schema, one migration per version, applied at open in one
//! `BEGIN IMMEDIATE` transaction (so processes opening one file at once
//! migrate it once) and recorded in `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior};

/// The schema, one entry per version.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE links (
    finding_id      TEXT PRIMARY KEY,
    issue_key       TEXT NOT NULL,
    issue_id        TEXT NOT NULL,
    state_out       TEXT,
    state_in        TEXT,
    expected_statuses TEXT,
    last_event_ms   INTEGER,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL
);
CREATE INDEX links_issue_key ON links(issue_key);
CREATE TABLE claims (
    finding_id TEXT PRIMARY KEY,
    owner      TEXT,
    until_ms   INTEGER NOT NULL,
    uncertain  INTEGER NOT NULL
);
CREATE TABLE ops (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    op_key     TEXT NOT NULL,
    op         TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    due_ms     INTEGER NOT NULL,
    last_error TEXT,
    parked     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ops_due ON ops(parked, due_ms);
CREATE INDEX ops_key ON ops(op_key);
CREATE TABLE deliveries (
    id      TEXT PRIMARY KEY,
    seen_ms INTEGER NOT NULL
);
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    // 2: fenced claims with the time of their doubt, versioned queue rows.
    r#"
ALTER TABLE claims ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;
ALTER TABLE claims ADD COLUMN doubt_since_ms INTEGER;
UPDATE claims SET doubt_since_ms = until_ms WHERE uncertain != 0;
ALTER TABLE ops ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE links ADD COLUMN moving_until_ms INTEGER;
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('fence', 0), ('op_version', 0);
"#,
    // 3: at scale. Issue keys looked up through an index on the normalised
    // (ASCII upper-case) key instead of a `COLLATE NOCASE` scan; delivery
    // marks pruned by age through an index; the operation's kind as a
    // column; the shared request budgets.
    r#"
ALTER TABLE links ADD COLUMN issue_key_norm TEXT;
UPDATE links SET issue_key_norm = upper(trim(issue_key));
DROP INDEX links_issue_key;
CREATE INDEX links_issue_key_norm ON links(issue_key_norm);
CREATE INDEX deliveries_seen ON deliveries(seen_ms);
ALTER TABLE ops ADD COLUMN kind TEXT;
UPDATE ops SET kind = json_extract(op, '$.op');
CREATE TABLE rate_budgets (
    name   TEXT PRIMARY KEY,
    tat_us INTEGER NOT NULL
);
"#,
    // 4: the claim protocol under pauses, skew and races. Links carry a
    // compare-and-set version; a claim remembers whether its doubt comes
    // from an expired holder, and the ids of issues its creates made.
    r#"
ALTER TABLE links ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE claims ADD COLUMN doubt_expired INTEGER NOT NULL DEFAULT 0;
ALTER TABLE claims ADD COLUMN issue_ids TEXT;
"#,
];

/// Why a file could not be migrated.
pub(super) enum MigrateError {
    Sql(rusqlite::Error),
    TooNew(usize),
}

/// Brings the file to the newest schema.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(MigrateError::Sql)?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(MigrateError::Sql)?;
    let version = usize::try_from(version).unwrap_or(0);
    if version > MIGRATIONS.len() {
        return Err(MigrateError::TooNew(version));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.execute_batch(sql).map_err(MigrateError::Sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(MigrateError::Sql)?;
    }
    tx.commit().map_err(MigrateError::Sql)
}
