use super::{
    Claim, ExpectedStatus, Fence, Link, OpId, OpRef, PendingOp, QueuedOp, StoreError, SweepCursor,
    SyncStore,
};
use async_trait::async_trait;
use jira_model::IssueKey;
use penaxtra_mapping::{FindingId, FindingState};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A durable [`SyncStore`] in one SQLite file (bundled SQLite, WAL mode).
///
/// Several processes may share the file: every write that must be atomic
/// (claims, delivery ids, queue replacement) runs in a `BEGIN IMMEDIATE`
/// transaction, and a busy database is waited for up to the busy timeout
/// (default 10 s) before [`StoreError::Backend`] is returned. The schema is
/// versioned with `PRAGMA user_version` and migrated on open.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

/// The schema, one entry per version.
const MIGRATIONS: &[&str] = &[
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
];

impl SqliteStore {
    /// Opens (creating and migrating when needed) the store at `path`.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the file cannot be opened or migrated,
    /// or [`StoreError::Corrupt`] when it has a newer schema than this
    /// library knows.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with_timeout(path, Duration::from_secs(10))
    }

    /// Like [`SqliteStore::open`] with a chosen busy timeout.
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub fn open_with_timeout(
        path: impl AsRef<Path>,
        busy_timeout: Duration,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let ctx = |what: &str| format!("{what} {}", path.display());
        let mut conn =
            Connection::open(&path).map_err(|e| StoreError::backend(ctx("opening"), e))?;
        conn.busy_timeout(busy_timeout)
            .map_err(|e| StoreError::backend(ctx("configuring"), e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| StoreError::backend(ctx("enabling WAL on"), e))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| StoreError::backend(ctx("configuring"), e))?;
        migrate(&mut conn).map_err(|e| match e {
            MigrateError::Sql(e) => StoreError::backend(ctx("migrating"), e),
            MigrateError::TooNew(v) => StoreError::Corrupt {
                what: "schema",
                message: format!(
                    "version {v} is newer than this library knows ({})",
                    MIGRATIONS.len()
                ),
            },
        })?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn with<T, F>(&self, context: &'static str, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::backend(context, e))?
    }
}

enum MigrateError {
    Sql(rusqlite::Error),
    TooNew(usize),
}

fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
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

fn sql(context: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| StoreError::backend(context, e)
}

fn state_to_sql(state: Option<FindingState>) -> Option<String> {
    state.map(|s| s.as_str().to_string())
}

fn state_from_sql(value: Option<String>) -> Result<Option<FindingState>, StoreError> {
    value
        .map(|s| {
            s.parse::<FindingState>().map_err(|e| StoreError::Corrupt {
                what: "link state",
                message: e.to_string(),
            })
        })
        .transpose()
}

fn finding_from_sql(value: String) -> Result<FindingId, StoreError> {
    FindingId::new(value).map_err(|e| StoreError::Corrupt {
        what: "finding id",
        message: e.to_string(),
    })
}

const LINK_COLUMNS: &str = "finding_id, issue_key, issue_id, state_out, state_in, expected_statuses, last_event_ms, created_ms, updated_ms, moving_until_ms";

type LinkRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
    i64,
    Option<i64>,
);

fn read_link_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LinkRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    ))
}

/// Statuses are kept one per line: Jira status names hold no newline.
fn statuses_to_sql(statuses: &[ExpectedStatus]) -> Option<String> {
    (!statuses.is_empty()).then(|| {
        statuses
            .iter()
            .map(ExpectedStatus::to_line)
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn statuses_from_sql(value: Option<String>) -> Vec<ExpectedStatus> {
    value
        .map(|v| v.lines().map(ExpectedStatus::parse).collect())
        .unwrap_or_default()
}

/// The next value of a counter, inside the caller's write transaction.
fn next_counter(tx: &Connection, name: &str, context: &'static str) -> Result<i64, StoreError> {
    tx.query_row(
        "UPDATE counters SET value = value + 1 WHERE name = ?1 RETURNING value",
        [name],
        |r| r.get(0),
    )
    .map_err(sql(context))
}

/// Whether `fence` holds the live claim of `finding`.
fn holds(tx: &Connection, finding: &str, fence: Fence) -> Result<bool, StoreError> {
    let n: i64 = tx
        .query_row(
            "SELECT COUNT(*) FROM claims WHERE finding_id = ?1 AND fence = ?2 AND owner IS NOT NULL",
            params![finding, fence.0],
            |r| r.get(0),
        )
        .map_err(sql("checking a claim"))?;
    Ok(n > 0)
}

fn link_from_row(row: LinkRow) -> Result<Link, StoreError> {
    let (
        finding_id,
        issue_key,
        issue_id,
        state_out,
        state_in,
        expected_statuses,
        last_event_ms,
        created_ms,
        updated_ms,
        moving_until_ms,
    ) = row;
    Ok(Link {
        finding_id: finding_from_sql(finding_id)?,
        issue_key: IssueKey::new(issue_key).map_err(|e| StoreError::Corrupt {
            what: "issue key",
            message: e.to_string(),
        })?,
        issue_id,
        state_out: state_from_sql(state_out)?,
        state_in: state_from_sql(state_in)?,
        expected_statuses: statuses_from_sql(expected_statuses),
        last_event_ms,
        moving_until_ms,
        created_ms,
        updated_ms,
    })
}

fn query_link(
    conn: &Connection,
    where_clause: &str,
    key: &str,
) -> Result<Option<Link>, StoreError> {
    let row = conn
        .query_row(
            &format!("SELECT {LINK_COLUMNS} FROM links WHERE {where_clause} = ?1"),
            [key],
            read_link_row,
        )
        .optional()
        .map_err(sql("reading a link"))?;
    row.map(link_from_row).transpose()
}

type OpRow = (i64, String, i64, i64, Option<String>, i64, i64);

const OP_COLUMNS: &str = "id, op, attempts, due_ms, last_error, parked, version";

fn read_op_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OpRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn op_from_row(row: OpRow) -> Result<QueuedOp, StoreError> {
    let (id, op, attempts, due_ms, last_error, parked, version) = row;
    let op: PendingOp = serde_json::from_str(&op).map_err(|e| StoreError::Corrupt {
        what: "queued operation",
        message: e.to_string(),
    })?;
    Ok(QueuedOp::new(
        OpRef {
            id: OpId(id),
            version,
        },
        op,
        u32::try_from(attempts).unwrap_or(u32::MAX),
        due_ms,
        last_error,
        parked != 0,
    ))
}

fn query_ops(
    conn: &Connection,
    sql_text: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<QueuedOp>, StoreError> {
    let mut stmt = conn.prepare(sql_text).map_err(sql("reading the queue"))?;
    let rows = stmt
        .query_map(params, read_op_row)
        .map_err(sql("reading the queue"))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(op_from_row(row.map_err(sql("reading the queue"))?)?);
    }
    Ok(out)
}

#[async_trait]
impl SyncStore for SqliteStore {
    async fn claim(
        &self,
        finding: &FindingId,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Claim, StoreError> {
        let finding = finding.clone();
        let owner = owner.to_string();
        self.with("claiming a finding", move |conn| {
            const CTX: &str = "claiming a finding";
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql(CTX))?;
            if let Some(link) = query_link(&tx, "finding_id", finding.as_str())? {
                return Ok(Claim::Linked(link));
            }
            let parked: Option<Option<String>> = tx
                .query_row(
                    "SELECT last_error FROM ops WHERE op_key = ?1 AND parked = 1 AND op LIKE '{\"op\":\"recreate\"%' LIMIT 1",
                    [format!("create:{}", finding.as_str())],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql(CTX))?;
            if let Some(reason) = parked {
                return Ok(Claim::Parked {
                    reason: reason.unwrap_or_default(),
                });
            }
            let until_ms = now_ms.saturating_add(lease_ms);
            let existing: Option<(Option<String>, i64, Option<i64>)> = tx
                .query_row(
                    "SELECT owner, until_ms, doubt_since_ms FROM claims WHERE finding_id = ?1",
                    [finding.as_str()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(sql(CTX))?;
            let doubt = match existing {
                // A live claim is exclusive, even against its own owner.
                Some((Some(_), until, _)) if until > now_ms => return Ok(Claim::Busy),
                // Expired while held: its holder may have acted until expiry.
                Some((Some(_), until, doubt)) => Some(doubt.map_or(until, |d| d.max(until))),
                Some((None, _, doubt)) => doubt,
                None => None,
            };
            let fence = Fence(next_counter(&tx, "fence", CTX)?);
            tx.execute(
                "INSERT INTO claims (finding_id, owner, until_ms, uncertain, fence, doubt_since_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(finding_id) DO UPDATE SET owner = ?2, until_ms = ?3, uncertain = ?4,
                 fence = ?5, doubt_since_ms = ?6",
                params![
                    finding.as_str(),
                    owner,
                    until_ms,
                    i64::from(doubt.is_some()),
                    fence.0,
                    doubt
                ],
            )
            .map_err(sql(CTX))?;
            tx.commit().map_err(sql(CTX))?;
            Ok(Claim::Acquired {
                fence,
                doubt_since_ms: doubt,
            })
        })
        .await
    }

    async fn renew(
        &self,
        finding: &FindingId,
        fence: Fence,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let finding = finding.clone();
        self.with("renewing a claim", move |conn| {
            let n = conn
                .execute(
                    "UPDATE claims SET until_ms = ?3 WHERE finding_id = ?1 AND fence = ?2 AND owner IS NOT NULL",
                    params![finding.as_str(), fence.0, now_ms.saturating_add(lease_ms)],
                )
                .map_err(sql("renewing a claim"))?;
            Ok(n == 1)
        })
        .await
    }

    async fn release(
        &self,
        finding: &FindingId,
        fence: Fence,
        doubt_since_ms: Option<i64>,
    ) -> Result<bool, StoreError> {
        let finding = finding.clone();
        self.with("releasing a claim", move |conn| {
            const CTX: &str = "releasing a claim";
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql(CTX))?;
            if !holds(&tx, finding.as_str(), fence)? {
                return Ok(false);
            }
            if let Some(doubt) = doubt_since_ms {
                tx.execute(
                    "UPDATE claims SET owner = NULL, uncertain = 1, doubt_since_ms = ?2 WHERE finding_id = ?1",
                    params![finding.as_str(), doubt],
                )
                .map_err(sql(CTX))?;
            } else {
                tx.execute("DELETE FROM claims WHERE finding_id = ?1", [finding.as_str()])
                    .map_err(sql(CTX))?;
            }
            tx.commit().map_err(sql(CTX))?;
            Ok(true)
        })
        .await
    }

    async fn recover_orphans(&self, now_ms: i64) -> Result<Vec<FindingId>, StoreError> {
        self.with("recovering orphaned claims", move |conn| {
            const CTX: &str = "recovering orphaned claims";
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql(CTX))?;
            let ids: Vec<String> = {
                let mut stmt = tx
                    .prepare(
                        "SELECT c.finding_id FROM claims c
                         WHERE (c.owner IS NULL OR c.until_ms <= ?1)
                           AND NOT EXISTS (SELECT 1 FROM links l WHERE l.finding_id = c.finding_id)
                           AND NOT EXISTS (SELECT 1 FROM ops o WHERE o.op_key = 'create:' || c.finding_id)
                         ORDER BY c.finding_id",
                    )
                    .map_err(sql(CTX))?;
                let rows = stmt
                    .query_map([now_ms], |r| r.get::<_, String>(0))
                    .map_err(sql(CTX))?;
                rows.collect::<Result<_, _>>().map_err(sql(CTX))?
            };
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let finding = finding_from_sql(id)?;
                let op = PendingOp::Create {
                    finding: finding.clone(),
                };
                let json = serde_json::to_string(&op).map_err(|e| StoreError::Corrupt {
                    what: "queued operation",
                    message: e.to_string(),
                })?;
                let version = next_counter(&tx, "op_version", CTX)?;
                tx.execute(
                    "INSERT INTO ops (op_key, op, due_ms, last_error, version) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        op.key(),
                        json,
                        now_ms,
                        "recovered: the process that started this create is gone",
                        version
                    ],
                )
                .map_err(sql(CTX))?;
                out.push(finding);
            }
            tx.commit().map_err(sql(CTX))?;
            Ok(out)
        })
        .await
    }

    async fn claims(&self) -> Result<Vec<(FindingId, Option<String>, Option<i64>)>, StoreError> {
        self.with("reading claims", move |conn| {
            let mut stmt = conn
                .prepare("SELECT finding_id, owner, doubt_since_ms FROM claims ORDER BY finding_id")
                .map_err(sql("reading claims"))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                    ))
                })
                .map_err(sql("reading claims"))?;
            let mut out = Vec::new();
            for row in rows {
                let (f, owner, doubt) = row.map_err(sql("reading claims"))?;
                out.push((finding_from_sql(f)?, owner, doubt));
            }
            Ok(out)
        })
        .await
    }

    async fn insert_link(&self, link: &Link, fence: Option<Fence>) -> Result<(), StoreError> {
        let link = link.clone();
        self.with("recording a link", move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql("recording a link"))?;
            if let Some(existing) = query_link(&tx, "finding_id", link.finding_id.as_str())? {
                if existing.issue_key != link.issue_key {
                    return Err(StoreError::Conflict {
                        finding: link.finding_id.to_string(),
                        existing: existing.issue_key,
                        attempted: link.issue_key.clone(),
                    });
                }
                return Ok(());
            }
            if let Some(fence) = fence
                && !holds(&tx, link.finding_id.as_str(), fence)?
            {
                return Err(StoreError::Fenced {
                    finding: link.finding_id.to_string(),
                    fence,
                });
            }
            tx.execute(
                &format!(
                    "INSERT INTO links ({LINK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                ),
                params![
                    link.finding_id.as_str(),
                    link.issue_key.as_str(),
                    link.issue_id,
                    state_to_sql(link.state_out),
                    state_to_sql(link.state_in),
                    statuses_to_sql(&link.expected_statuses),
                    link.last_event_ms,
                    link.created_ms,
                    link.updated_ms,
                    link.moving_until_ms
                ],
            )
            .map_err(sql("recording a link"))?;
            tx.execute(
                "DELETE FROM claims WHERE finding_id = ?1",
                [link.finding_id.as_str()],
            )
            .map_err(sql("recording a link"))?;
            tx.commit().map_err(sql("recording a link"))
        })
        .await
    }

    async fn update_link(&self, link: &Link) -> Result<(), StoreError> {
        let link = link.clone();
        self.with("updating a link", move |conn| {
            let n = conn
                .execute(
                    "UPDATE links SET issue_key = ?2, issue_id = ?3, state_out = ?4, state_in = ?5, expected_statuses = ?6,
                     last_event_ms = ?7, updated_ms = ?8, moving_until_ms = ?9 WHERE finding_id = ?1",
                    params![
                        link.finding_id.as_str(),
                        link.issue_key.as_str(),
                        link.issue_id,
                        state_to_sql(link.state_out),
                        state_to_sql(link.state_in),
                        statuses_to_sql(&link.expected_statuses),
                        link.last_event_ms,
                        link.updated_ms,
                        link.moving_until_ms
                    ],
                )
                .map_err(sql("updating a link"))?;
            if n == 0 {
                return Err(StoreError::NotFound { what: "link", key: link.finding_id.to_string() });
            }
            Ok(())
        })
        .await
    }

    async fn remove_link(&self, finding: &FindingId) -> Result<(), StoreError> {
        let finding = finding.clone();
        self.with("removing a link", move |conn| {
            conn.execute(
                "DELETE FROM links WHERE finding_id = ?1",
                [finding.as_str()],
            )
            .map_err(sql("removing a link"))?;
            Ok(())
        })
        .await
    }

    async fn link(&self, finding: &FindingId) -> Result<Option<Link>, StoreError> {
        let finding = finding.clone();
        self.with("reading a link", move |conn| {
            query_link(conn, "finding_id", finding.as_str())
        })
        .await
    }

    async fn link_by_issue(&self, issue_key: &IssueKey) -> Result<Option<Link>, StoreError> {
        let key = issue_key.as_str().to_string();
        self.with("reading a link", move |conn| {
            query_link(conn, "issue_key COLLATE NOCASE", &key)
        })
        .await
    }

    async fn links(&self) -> Result<Vec<Link>, StoreError> {
        self.with("reading links", move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {LINK_COLUMNS} FROM links ORDER BY finding_id"
                ))
                .map_err(sql("reading links"))?;
            let rows = stmt
                .query_map([], read_link_row)
                .map_err(sql("reading links"))?;
            let mut out = Vec::new();
            for row in rows {
                out.push(link_from_row(row.map_err(sql("reading links"))?)?);
            }
            Ok(out)
        })
        .await
    }

    async fn enqueue(
        &self,
        op: &PendingOp,
        due_ms: i64,
        last_error: Option<&str>,
    ) -> Result<OpRef, StoreError> {
        let key = op.key();
        let json = serde_json::to_string(op).map_err(|e| StoreError::Corrupt {
            what: "queued operation",
            message: e.to_string(),
        })?;
        let last_error = last_error.map(str::to_string);
        self.with("queueing an operation", move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql("queueing an operation"))?;
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT id FROM ops WHERE op_key = ?1 AND parked = 0 ORDER BY id LIMIT 1",
                    [&key],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql("queueing an operation"))?;
            let version = next_counter(&tx, "op_version", "queueing an operation")?;
            let id = match existing {
                Some(id) => {
                    tx.execute(
                        "UPDATE ops SET op = ?2, due_ms = ?3, last_error = ?4, version = ?5 WHERE id = ?1",
                        params![id, json, due_ms, last_error, version],
                    )
                    .map_err(sql("queueing an operation"))?;
                    id
                }
                None => {
                    tx.execute(
                        "INSERT INTO ops (op_key, op, due_ms, last_error, version) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![key, json, due_ms, last_error, version],
                    )
                    .map_err(sql("queueing an operation"))?;
                    tx.last_insert_rowid()
                }
            };
            tx.commit().map_err(sql("queueing an operation"))?;
            Ok(OpRef {
                id: OpId(id),
                version,
            })
        })
        .await
    }

    async fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<QueuedOp>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with("reading the queue", move |conn| {
            query_ops(
                conn,
                &format!(
                    "SELECT {OP_COLUMNS} FROM ops
                     WHERE parked = 0 AND due_ms <= ?1 ORDER BY due_ms, id LIMIT ?2"
                ),
                params![now_ms, limit],
            )
        })
        .await
    }

    async fn complete(&self, op: OpRef) -> Result<bool, StoreError> {
        self.with("completing an operation", move |conn| {
            let n = conn
                .execute(
                    "DELETE FROM ops WHERE id = ?1 AND version = ?2",
                    params![op.id.0, op.version],
                )
                .map_err(sql("completing an operation"))?;
            Ok(n == 1)
        })
        .await
    }

    async fn reschedule(&self, op: OpRef, next_ms: i64, error: &str) -> Result<(), StoreError> {
        let error = error.to_string();
        self.with("rescheduling an operation", move |conn| {
            conn.execute(
                "UPDATE ops SET attempts = attempts + 1, due_ms = ?3, last_error = ?4 WHERE id = ?1 AND version = ?2",
                params![op.id.0, op.version, next_ms, error],
            )
            .map_err(sql("rescheduling an operation"))?;
            Ok(())
        })
        .await
    }

    async fn extend(&self, op: OpRef, due_ms: i64) -> Result<bool, StoreError> {
        self.with("extending an operation", move |conn| {
            let n = conn
                .execute(
                    "UPDATE ops SET due_ms = ?3 WHERE id = ?1 AND version = ?2",
                    params![op.id.0, op.version, due_ms],
                )
                .map_err(sql("extending an operation"))?;
            Ok(n == 1)
        })
        .await
    }

    async fn park(&self, op: OpRef, error: &str) -> Result<(), StoreError> {
        let error = error.to_string();
        self.with("parking an operation", move |conn| {
            conn.execute(
                "UPDATE ops SET attempts = attempts + 1, parked = 1, last_error = ?3 WHERE id = ?1 AND version = ?2",
                params![op.id.0, op.version, error],
            )
            .map_err(sql("parking an operation"))?;
            Ok(())
        })
        .await
    }

    async fn unpark_all(&self, now_ms: i64) -> Result<usize, StoreError> {
        self.with("unparking operations", move |conn| {
            conn.execute(
                "UPDATE ops SET parked = 0, due_ms = ?1 WHERE parked = 1",
                [now_ms],
            )
            .map_err(sql("unparking operations"))
        })
        .await
    }

    async fn pending(&self) -> Result<Vec<QueuedOp>, StoreError> {
        self.with("reading the queue", move |conn| {
            query_ops(
                conn,
                &format!("SELECT {OP_COLUMNS} FROM ops ORDER BY id"),
                [],
            )
        })
        .await
    }

    async fn first_delivery(&self, delivery_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let id = delivery_id.to_string();
        self.with("recording a delivery", move |conn| {
            let n = conn
                .execute(
                    "INSERT OR IGNORE INTO deliveries (id, seen_ms) VALUES (?1, ?2)",
                    params![id, now_ms],
                )
                .map_err(sql("recording a delivery"))?;
            Ok(n == 1)
        })
        .await
    }

    async fn forget_delivery(&self, delivery_id: &str) -> Result<(), StoreError> {
        let id = delivery_id.to_string();
        self.with("forgetting a delivery", move |conn| {
            conn.execute("DELETE FROM deliveries WHERE id = ?1", [id])
                .map_err(sql("forgetting a delivery"))?;
            Ok(())
        })
        .await
    }

    async fn sweep_cursor(&self) -> Result<Option<SweepCursor>, StoreError> {
        self.with("reading the sweep cursor", move |conn| {
            let v: Option<String> = conn
                .query_row(
                    "SELECT value FROM meta WHERE key = 'sweep_cursor'",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql("reading the sweep cursor"))?;
            v.map(|v| {
                serde_json::from_str(&v).map_err(|e| StoreError::Corrupt {
                    what: "sweep cursor",
                    message: e.to_string(),
                })
            })
            .transpose()
        })
        .await
    }

    async fn set_sweep_cursor(&self, cursor: &SweepCursor) -> Result<(), StoreError> {
        let json = serde_json::to_string(cursor).map_err(|e| StoreError::Corrupt {
            what: "sweep cursor",
            message: e.to_string(),
        })?;
        self.with("saving the sweep cursor", move |conn| {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('sweep_cursor', ?1) ON CONFLICT(key) DO UPDATE SET value = ?1",
                [json],
            )
            .map_err(sql("saving the sweep cursor"))?;
            Ok(())
        })
        .await
    }
}
