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
    // 5: many connections in one store. Every row belongs to a connection
    // (the rows of a single-connection store to 'default'), and every key
    // and index leads with it. SQLite cannot change a primary key in
    // place: the keyed tables are rebuilt.
    r#"
CREATE TABLE links_v5 (
    connection        TEXT NOT NULL,
    finding_id        TEXT NOT NULL,
    issue_key         TEXT NOT NULL,
    issue_id          TEXT NOT NULL,
    state_out         TEXT,
    state_in          TEXT,
    expected_statuses TEXT,
    last_event_ms     INTEGER,
    created_ms        INTEGER NOT NULL,
    updated_ms        INTEGER NOT NULL,
    moving_until_ms   INTEGER,
    issue_key_norm    TEXT,
    version           INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (connection, finding_id)
);
INSERT INTO links_v5 (connection, finding_id, issue_key, issue_id, state_out, state_in,
    expected_statuses, last_event_ms, created_ms, updated_ms, moving_until_ms, issue_key_norm, version)
SELECT 'default', finding_id, issue_key, issue_id, state_out, state_in,
    expected_statuses, last_event_ms, created_ms, updated_ms, moving_until_ms, issue_key_norm, version
FROM links;
DROP TABLE links;
ALTER TABLE links_v5 RENAME TO links;
CREATE INDEX links_issue_key_norm ON links(connection, issue_key_norm);
CREATE INDEX links_issue_id ON links(connection, issue_id);

CREATE TABLE claims_v5 (
    connection     TEXT NOT NULL,
    finding_id     TEXT NOT NULL,
    owner          TEXT,
    until_ms       INTEGER NOT NULL,
    uncertain      INTEGER NOT NULL,
    fence          INTEGER NOT NULL DEFAULT 0,
    doubt_since_ms INTEGER,
    doubt_expired  INTEGER NOT NULL DEFAULT 0,
    issue_ids      TEXT,
    PRIMARY KEY (connection, finding_id)
);
INSERT INTO claims_v5 (connection, finding_id, owner, until_ms, uncertain, fence,
    doubt_since_ms, doubt_expired, issue_ids)
SELECT 'default', finding_id, owner, until_ms, uncertain, fence,
    doubt_since_ms, doubt_expired, issue_ids
FROM claims;
DROP TABLE claims;
ALTER TABLE claims_v5 RENAME TO claims;

ALTER TABLE ops ADD COLUMN connection TEXT NOT NULL DEFAULT 'default';
DROP INDEX ops_due;
DROP INDEX ops_key;
CREATE INDEX ops_due ON ops(connection, parked, due_ms);
CREATE INDEX ops_key ON ops(connection, op_key);
CREATE INDEX ops_due_all ON ops(parked, due_ms);

CREATE TABLE deliveries_v5 (
    connection TEXT NOT NULL,
    id         TEXT NOT NULL,
    seen_ms    INTEGER NOT NULL,
    PRIMARY KEY (connection, id)
);
INSERT INTO deliveries_v5 (connection, id, seen_ms) SELECT 'default', id, seen_ms FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_v5 RENAME TO deliveries;
CREATE INDEX deliveries_seen ON deliveries(connection, seen_ms);

CREATE TABLE cursors (
    connection TEXT PRIMARY KEY,
    value      TEXT NOT NULL
);
INSERT INTO cursors (connection, value) SELECT 'default', value FROM meta WHERE key = 'sweep_cursor';
DELETE FROM meta WHERE key = 'sweep_cursor';

CREATE TABLE rate_budgets_v5 (
    connection TEXT NOT NULL,
    name       TEXT NOT NULL,
    tat_us     INTEGER NOT NULL,
    PRIMARY KEY (connection, name)
);
INSERT INTO rate_budgets_v5 (connection, name, tat_us) SELECT 'default', name, tat_us FROM rate_budgets;
DROP TABLE rate_budgets;
ALTER TABLE rate_budgets_v5 RENAME TO rate_budgets;
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
