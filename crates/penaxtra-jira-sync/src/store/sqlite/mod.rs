//! [`SqliteStore`]: the embedded default, one file shared by any number of
//! processes on one host.

mod readers;
mod schema;

use super::claim_rule::{self, ClaimRow};
use super::codec::{
    self, LINK_COLUMNS, LinkRow, OP_COLUMNS, OpRow, RECOVERED, finding_from_text,
    normalise_issue_key,
};
use super::{
    BudgetRate, Claim, Fence, Link, OpId, OpRef, PendingOp, QueuedOp, RateBudgetStore, Release,
    StoreClock, StoreError, SweepCursor, SyncStore, WorkCounts, host_now_ms,
};
use crate::ConnectionId;
use async_trait::async_trait;
use jira_model::IssueKey;
use penaxtra_mapping::FindingId;
use readers::Readers;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use schema::{MIGRATIONS, MigrateError, migrate};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Connections that serve reads, beside the one that writes.
pub const SQLITE_READ_CONNECTIONS: usize = 4;

/// A durable [`SyncStore`] in one SQLite file (bundled SQLite, WAL mode).
///
/// Several processes may share the file: every write that must be atomic
/// (claims, delivery ids, queue replacement, taking due operations) runs
/// in a `BEGIN IMMEDIATE` transaction, and a busy database is waited for
/// up to the busy timeout (default 10 s) before [`StoreError::Backend`] is
/// returned. Writes go through one connection per store; reads (links,
/// the queue, claims) through [`SQLITE_READ_CONNECTIONS`] others, so a
/// webhook's lookup does not wait behind a write. Issue keys are looked up
/// through an index on their normalised form. The schema is versioned with
/// `PRAGMA user_version` and migrated on open (version 5 as of this
/// release; files of earlier versions are migrated in place, their rows
/// into [`ConnectionId::DEFAULT_TEXT`]).
///
/// Each handle serves one connection ([`SqliteStore::for_connection`]):
/// every statement it runs is keyed by that connection, so handles of
/// several connections share the file, its writer and its readers without
/// seeing each other's rows.
///
/// Claims are measured with the host's clock, read inside the store
/// ([`StoreClock::Own`]): the processes sharing a file share a host, so
/// they share that clock even when an engine was given another.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: Arc<Mutex<Connection>>,
    readers: Arc<Readers>,
    path: PathBuf,
    clock: StoreClock,
    connection: ConnectionId,
}

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
        let mut writer = connect(&path, busy_timeout).map_err(|e| e.context(&ctx))?;
        writer
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| StoreError::backend(ctx("enabling WAL on"), e))?;
        migrate(&mut writer).map_err(|e| match e {
            MigrateError::Sql(e) => StoreError::backend(ctx("migrating"), e),
            MigrateError::TooNew(v) => StoreError::Corrupt {
                what: "schema",
                message: format!(
                    "version {v} is newer than this library knows ({})",
                    MIGRATIONS.len()
                ),
            },
        })?;
        let mut readers = Vec::with_capacity(SQLITE_READ_CONNECTIONS);
        for _ in 0..SQLITE_READ_CONNECTIONS {
            let conn = connect(&path, busy_timeout).map_err(|e| e.context(&ctx))?;
            conn.pragma_update(None, "query_only", true)
                .map_err(|e| StoreError::backend(ctx("configuring"), e))?;
            readers.push(conn);
        }
        Ok(Self {
            writer: Arc::new(Mutex::new(writer)),
            readers: Arc::new(Readers::new(readers)),
            path,
            clock: StoreClock::Own,
            connection: ConnectionId::default(),
        })
    }

    /// A handle on the same file (sharing its connections) that serves
    /// `connection` and nothing else.
    pub fn for_connection(&self, connection: ConnectionId) -> Self {
        Self {
            connection,
            ..self.clone()
        }
    }

    /// The same store measuring claims with `clock` (default
    /// [`StoreClock::Own`]: the host's system clock, read inside the store,
    /// so every process sharing the file agrees whatever clock its engine
    /// runs on). [`StoreClock::Caller`] is for one process on simulated
    /// time.
    pub fn with_clock(mut self, clock: StoreClock) -> Self {
        self.clock = clock;
        self
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the connection that writes (one at a time per store).
    async fn write<T, F>(&self, context: &'static str, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.writer);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::backend(context, e))?
    }

    /// Runs `f` on a read connection.
    async fn read<T, F>(&self, context: &'static str, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || readers.with(f))
            .await
            .map_err(|e| StoreError::backend(context, e))?
    }
}

/// Why a connection could not be opened.
struct ConnectError {
    what: &'static str,
    source: rusqlite::Error,
}

impl ConnectError {
    fn context(self, ctx: &impl Fn(&str) -> String) -> StoreError {
        StoreError::backend(ctx(self.what), self.source)
    }
}

fn connect(path: &Path, busy_timeout: Duration) -> Result<Connection, ConnectError> {
    let fail = |what| move |source| ConnectError { what, source };
    let conn = Connection::open(path).map_err(fail("opening"))?;
    conn.busy_timeout(busy_timeout)
        .map_err(fail("configuring"))?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(fail("configuring"))?;
    Ok(conn)
}

fn sql(context: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| StoreError::backend(context, e)
}

fn read_link_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LinkRow> {
    let issue_key: String = r.get(1)?;
    Ok(LinkRow {
        finding_id: r.get(0)?,
        issue_key_norm: normalise_issue_key(&issue_key),
        issue_key,
        issue_id: r.get(2)?,
        state_out: r.get(3)?,
        state_in: r.get(4)?,
        expected_statuses: r.get(5)?,
        last_event_ms: r.get(6)?,
        moving_until_ms: r.get(7)?,
        created_ms: r.get(8)?,
        updated_ms: r.get(9)?,
        version: r.get(10)?,
    })
}

fn read_op_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OpRow> {
    Ok(OpRow {
        id: r.get(0)?,
        version: r.get(1)?,
        op: r.get(2)?,
        attempts: r.get(3)?,
        due_ms: r.get(4)?,
        last_error: r.get(5)?,
        parked: r.get::<_, i64>(6)? != 0,
    })
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
/// The store's now: the host's clock, or the caller's on
/// [`StoreClock::Caller`].
fn store_now(clock: StoreClock, caller_ms: i64) -> i64 {
    match clock {
        StoreClock::Caller => caller_ms,
        _ => host_now_ms(),
    }
}

/// A finding's claim row and its fence.
fn claim_row(
    tx: &Connection,
    c: &str,
    finding: &str,
    context: &'static str,
) -> Result<Option<(ClaimRow, Fence)>, StoreError> {
    tx.query_row(
        "SELECT owner, until_ms, doubt_since_ms, doubt_expired, fence, issue_ids FROM claims WHERE connection = ?2 AND finding_id = ?1",
        [finding, c],
        |r| {
            let ids: Option<String> = r.get(5)?;
            Ok((
                ClaimRow {
                    owner: r.get(0)?,
                    until_ms: r.get(1)?,
                    doubt_since_ms: r.get(2)?,
                    doubt_expired: r.get::<_, i64>(3)? != 0,
                    issue_ids: codec::ids_from_text(ids.as_deref()),
                },
                Fence(r.get(4)?),
            ))
        },
    )
    .optional()
    .map_err(sql(context))
}

fn holds(tx: &Connection, c: &str, finding: &str, fence: Fence) -> Result<bool, StoreError> {
    let n: i64 = tx
        .query_row(
            "SELECT COUNT(*) FROM claims WHERE connection = ?3 AND finding_id = ?1 AND fence = ?2 AND owner IS NOT NULL",
            params![finding, fence.0, c],
            |r| r.get(0),
        )
        .map_err(sql("checking a claim"))?;
    Ok(n > 0)
}

fn query_link(
    conn: &Connection,
    c: &str,
    where_clause: &str,
    key: &str,
) -> Result<Option<Link>, StoreError> {
    let row = conn
        .query_row(
            &format!(
                "SELECT {LINK_COLUMNS} FROM links WHERE connection = ?2 AND {where_clause} = ?1 LIMIT 1"
            ),
            [key, c],
            read_link_row,
        )
        .optional()
        .map_err(sql("reading a link"))?;
    row.map(LinkRow::into_link).transpose()
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
        out.push(row.map_err(sql("reading the queue"))?.into_op()?);
    }
    Ok(out)
}

fn due_ops(
    conn: &Connection,
    c: &str,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<QueuedOp>, StoreError> {
    query_ops(
        conn,
        &format!(
            "SELECT {OP_COLUMNS} FROM ops
             WHERE connection = ?3 AND parked = 0 AND due_ms <= ?1 ORDER BY due_ms, id LIMIT ?2"
        ),
        params![now_ms, limit, c],
    )
}

/// Inserts a new queue row.
fn insert_op(
    tx: &Connection,
    c: &str,
    op: &PendingOp,
    due_ms: i64,
    last_error: Option<&str>,
    context: &'static str,
) -> Result<OpRef, StoreError> {
    let version = next_counter(tx, "op_version", context)?;
    tx.execute(
        "INSERT INTO ops (op_key, kind, op, due_ms, last_error, version, connection) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            op.key(),
            codec::op_kind(op),
            codec::op_to_text(op)?,
            due_ms,
            last_error,
            version,
            c
        ],
    )
    .map_err(sql(context))?;
    Ok(OpRef {
        id: OpId(tx.last_insert_rowid()),
        version,
    })
}

#[async_trait]
impl SyncStore for SqliteStore {
    fn connection(&self) -> &ConnectionId {
        &self.connection
    }

    async fn claim(
        &self,
        finding: &FindingId,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Claim, StoreError> {
        let finding = finding.clone();
        let owner = owner.to_string();
        let clock = self.clock;
        let c = self.connection.clone();
        self.write("claiming a finding", move |conn| {
            const CTX: &str = "claiming a finding";
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql(CTX))?;
            if let Some(link) = query_link(&tx, c.as_str(), "finding_id", finding.as_str())? {
                return Ok(Claim::Linked(link));
            }
            let parked: Option<Option<String>> = tx
                .query_row(
                    "SELECT last_error FROM ops WHERE connection = ?2 AND op_key = ?1 AND parked = 1 AND kind = 'recreate' LIMIT 1",
                    [format!("create:{}", finding.as_str()), c.to_string()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql(CTX))?;
            if let Some(reason) = parked {
                return Ok(Claim::Parked {
                    reason: reason.unwrap_or_default(),
                });
            }
            // Read under the write lock (BEGIN IMMEDIATE): no other process
            // changes the row between this time and the decision.
            let now_ms = store_now(clock, now_ms);
            let existing = claim_row(&tx, c.as_str(), finding.as_str(), CTX)?;
            let Some(claim_rule::Take { doubt_since_ms, doubt_expired }) = claim_rule::decide_claim(existing.as_ref().map(|(row, _)| row), now_ms) else {
            return Ok(Claim::Busy);
        };
            let issue_ids = existing.map(|(row, _)| row.issue_ids).unwrap_or_default();
            let fence = Fence(next_counter(&tx, "fence", CTX)?);
            tx.execute(
                "INSERT INTO claims (finding_id, owner, until_ms, uncertain, fence, doubt_since_ms, doubt_expired, issue_ids, connection)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT(connection, finding_id) DO UPDATE SET owner = ?2, until_ms = ?3, uncertain = ?4,
                 fence = ?5, doubt_since_ms = ?6, doubt_expired = ?7, issue_ids = ?8",
                params![
                    finding.as_str(),
                    owner,
                    now_ms.saturating_add(lease_ms),
                    i64::from(doubt_since_ms.is_some()),
                    fence.0,
                    doubt_since_ms,
                    i64::from(doubt_expired),
                    codec::ids_to_text(&issue_ids),
                    c.as_str(),
                ],
            )
            .map_err(sql(CTX))?;
            tx.commit().map_err(sql(CTX))?;
            Ok(Claim::Acquired {
                fence,
                doubt: claim_rule::doubt_of(doubt_since_ms, doubt_expired, &issue_ids, now_ms),
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
        let clock = self.clock;
        let c = self.connection.clone();
        self.write("renewing a claim", move |conn| {
            const CTX: &str = "renewing a claim";
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql(CTX))?;
            let until = store_now(clock, now_ms).saturating_add(lease_ms);
            let n = tx
                .execute(
                    "UPDATE claims SET until_ms = ?3 WHERE connection = ?4 AND finding_id = ?1 AND fence = ?2 AND owner IS NOT NULL",
                    params![finding.as_str(), fence.0, until, c.as_str()],
                )
                .map_err(sql(CTX))?;
            tx.commit().map_err(sql(CTX))?;
            Ok(n == 1)
        })
        .await
    }

    async fn release(
        &self,
        finding: &FindingId,
        fence: Fence,
        release: Release,
    ) -> Result<bool, StoreError> {
        let finding = finding.clone();
        let clock = self.clock;
        let c = self.connection.clone();
        self.write("releasing a claim", move |conn| {
            const CTX: &str = "releasing a claim";
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql(CTX))?;
            let at = claim_rule::raised_at(
                release,
                store_now(clock, 0),
                clock == StoreClock::Caller,
            );
            let Some((row, current)) = claim_row(&tx, c.as_str(), finding.as_str(), CTX)? else {
                return Ok(false);
            };
            let holds = current == fence && row.owner.is_some();
            let leave = if holds {
                claim_rule::after_release(&row, release, at)
            } else if let Release::Raised { .. } = release {
                // Not ours any more: only raise the doubt the next
                // claimant will be told.
                let (since, expired) = claim_rule::raised(&row, at);
                tx.execute(
                    "UPDATE claims SET uncertain = 1, doubt_since_ms = ?2, doubt_expired = ?3 WHERE connection = ?4 AND finding_id = ?1",
                    params![finding.as_str(), since, i64::from(expired), c.as_str()],
                )
                .map_err(sql(CTX))?;
                tx.commit().map_err(sql(CTX))?;
                return Ok(false);
            } else {
                return Ok(false);
            };
            match leave {
                Some((since, expired)) => {
                    tx.execute(
                        "UPDATE claims SET owner = NULL, uncertain = 1, doubt_since_ms = ?2, doubt_expired = ?3 WHERE connection = ?4 AND finding_id = ?1",
                        params![finding.as_str(), since, i64::from(expired), c.as_str()],
                    )
                    .map_err(sql(CTX))?;
                }
                None => {
                    tx.execute(
                        "DELETE FROM claims WHERE connection = ?2 AND finding_id = ?1",
                        [finding.as_str(), c.as_str()],
                    )
                    .map_err(sql(CTX))?;
                }
            }
            tx.commit().map_err(sql(CTX))?;
            Ok(true)
        })
        .await
    }

    async fn note_created(
        &self,
        findings: &[FindingId],
        issue_ids: &[String],
    ) -> Result<(), StoreError> {
        if findings.is_empty() || issue_ids.is_empty() {
            return Ok(());
        }
        let findings = findings.to_vec();
        let issue_ids = issue_ids.to_vec();
        let c = self.connection.clone();
        self.write("recording created issues", move |conn| {
            const CTX: &str = "recording created issues";
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql(CTX))?;
            for f in &findings {
                let Some((mut row, _)) = claim_row(&tx, c.as_str(), f.as_str(), CTX)? else {
                    continue;
                };
                claim_rule::add_ids(&mut row.issue_ids, &issue_ids);
                tx.execute(
                    "UPDATE claims SET issue_ids = ?2 WHERE connection = ?3 AND finding_id = ?1",
                    params![f.as_str(), codec::ids_to_text(&row.issue_ids), c.as_str()],
                )
                .map_err(sql(CTX))?;
            }
            tx.commit().map_err(sql(CTX))
        })
        .await
    }

    async fn recover_orphans(&self, now_ms: i64) -> Result<Vec<FindingId>, StoreError> {
        let clock = self.clock;
        let c = self.connection.clone();
        self.write("recovering orphaned claims", move |conn| {
            const CTX: &str = "recovering orphaned claims";
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql(CTX))?;
            let expired_at = store_now(clock, now_ms);
            let ids: Vec<String> = {
                let mut stmt = tx
                    .prepare(
                        "SELECT c.finding_id FROM claims c
                         WHERE c.connection = ?2 AND (c.owner IS NULL OR c.until_ms <= ?1)
                           AND NOT EXISTS (SELECT 1 FROM links l
                               WHERE l.connection = c.connection AND l.finding_id = c.finding_id)
                           AND NOT EXISTS (SELECT 1 FROM ops o
                               WHERE o.connection = c.connection AND o.op_key = 'create:' || c.finding_id)
                         ORDER BY c.finding_id",
                    )
                    .map_err(sql(CTX))?;
                let rows = stmt
                    .query_map(params![expired_at, c.as_str()], |r| r.get::<_, String>(0))
                    .map_err(sql(CTX))?;
                rows.collect::<Result<_, _>>().map_err(sql(CTX))?
            };
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let finding = finding_from_text(id)?;
                let op = PendingOp::Create {
                    finding: finding.clone(),
                };
                insert_op(&tx, c.as_str(), &op, now_ms, Some(RECOVERED), CTX)?;
                out.push(finding);
            }
            tx.commit().map_err(sql(CTX))?;
            Ok(out)
        })
        .await
    }

    async fn claims(&self) -> Result<Vec<(FindingId, Option<String>, Option<i64>)>, StoreError> {
        let c = self.connection.clone();
        self.read("reading claims", move |conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT finding_id, owner, doubt_since_ms FROM claims WHERE connection = ?1 ORDER BY finding_id",
                )
                .map_err(sql("reading claims"))?;
            let rows = stmt
                .query_map([c.as_str()], |r| {
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
                out.push((finding_from_text(f)?, owner, doubt));
            }
            Ok(out)
        })
        .await
    }

    async fn insert_link(&self, link: &Link, fence: Option<Fence>) -> Result<(), StoreError> {
        let row = LinkRow::from_link(link);
        let attempted = link.issue_key.clone();
        let c = self.connection.clone();
        self.write("recording a link", move |conn| {
            const CTX: &str = "recording a link";
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql(CTX))?;
            if let Some(existing) = query_link(&tx, c.as_str(), "finding_id", &row.finding_id)? {
                if existing.issue_key != attempted {
                    return Err(StoreError::Conflict {
                        finding: row.finding_id,
                        existing: existing.issue_key,
                        attempted,
                    });
                }
                return Ok(());
            }
            if let Some(fence) = fence
                && !holds(&tx, c.as_str(), &row.finding_id, fence)?
            {
                return Err(StoreError::Fenced {
                    finding: row.finding_id,
                    fence,
                });
            }
            tx.execute(
                &format!(
                    "INSERT INTO links ({LINK_COLUMNS}, issue_key_norm, connection) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11, ?12)"
                ),
                params![
                    row.finding_id,
                    row.issue_key,
                    row.issue_id,
                    row.state_out,
                    row.state_in,
                    row.expected_statuses,
                    row.last_event_ms,
                    row.moving_until_ms,
                    row.created_ms,
                    row.updated_ms,
                    row.issue_key_norm,
                    c.as_str()
                ],
            )
            .map_err(sql(CTX))?;
            tx.execute(
                "DELETE FROM claims WHERE connection = ?2 AND finding_id = ?1",
                [row.finding_id.as_str(), c.as_str()],
            )
            .map_err(sql(CTX))?;
            tx.commit().map_err(sql(CTX))
        })
        .await
    }

    async fn update_link(&self, link: &Link) -> Result<(), StoreError> {
        let row = LinkRow::from_link(link);
        let c = self.connection.clone();
        self.write("updating a link", move |conn| {
            // Compare-and-set in one statement (one writer at a time).
            let n = conn
                .execute(
                    "UPDATE links SET issue_key = ?2, issue_id = ?3, state_out = ?4, state_in = ?5, expected_statuses = ?6,
                     last_event_ms = ?7, updated_ms = ?8, moving_until_ms = ?9, issue_key_norm = ?10,
                     version = version + 1 WHERE connection = ?12 AND finding_id = ?1 AND version = ?11",
                    params![
                        row.finding_id,
                        row.issue_key,
                        row.issue_id,
                        row.state_out,
                        row.state_in,
                        row.expected_statuses,
                        row.last_event_ms,
                        row.updated_ms,
                        row.moving_until_ms,
                        row.issue_key_norm,
                        row.version,
                        c.as_str()
                    ],
                )
                .map_err(sql("updating a link"))?;
            if n == 0 {
                let exists =
                    query_link(conn, c.as_str(), "finding_id", &row.finding_id)?.is_some();
                return Err(if exists {
                    StoreError::Stale {
                        what: "link",
                        key: row.finding_id,
                    }
                } else {
                    StoreError::NotFound {
                        what: "link",
                        key: row.finding_id,
                    }
                });
            }
            Ok(())
        })
        .await
    }

    async fn remove_link(&self, finding: &FindingId) -> Result<(), StoreError> {
        let finding = finding.clone();
        let c = self.connection.clone();
        self.write("removing a link", move |conn| {
            conn.execute(
                "DELETE FROM links WHERE connection = ?2 AND finding_id = ?1",
                [finding.as_str(), c.as_str()],
            )
            .map_err(sql("removing a link"))?;
            Ok(())
        })
        .await
    }

    async fn link(&self, finding: &FindingId) -> Result<Option<Link>, StoreError> {
        let finding = finding.clone();
        let c = self.connection.clone();
        self.read("reading a link", move |conn| {
            query_link(conn, c.as_str(), "finding_id", finding.as_str())
        })
        .await
    }

    async fn link_by_issue(&self, issue_key: &IssueKey) -> Result<Option<Link>, StoreError> {
        let key = normalise_issue_key(issue_key.as_str());
        let c = self.connection.clone();
        self.read("reading a link", move |conn| {
            query_link(conn, c.as_str(), "issue_key_norm", &key)
        })
        .await
    }

    async fn links(&self) -> Result<Vec<Link>, StoreError> {
        let c = self.connection.clone();
        self.read("reading links", move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {LINK_COLUMNS} FROM links WHERE connection = ?1 ORDER BY finding_id"
                ))
                .map_err(sql("reading links"))?;
            let rows = stmt
                .query_map([c.as_str()], read_link_row)
                .map_err(sql("reading links"))?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row.map_err(sql("reading links"))?.into_link()?);
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
        let op = op.clone();
        let json = codec::op_to_text(&op)?;
        let last_error = last_error.map(str::to_string);
        let c = self.connection.clone();
        self.write("queueing an operation", move |conn| {
            const CTX: &str = "queueing an operation";
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql(CTX))?;
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT id FROM ops WHERE connection = ?2 AND op_key = ?1 AND parked = 0 ORDER BY id LIMIT 1",
                    [op.key(), c.to_string()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql(CTX))?;
            let op_ref = match existing {
                Some(id) => {
                    let version = next_counter(&tx, "op_version", CTX)?;
                    // `id` was read for this connection in this transaction.
                    tx.execute(
                        "UPDATE ops SET op = ?2, kind = ?3, due_ms = ?4, last_error = ?5, version = ?6 WHERE id = ?1",
                        params![id, json, codec::op_kind(&op), due_ms, last_error, version],
                    )
                    .map_err(sql(CTX))?;
                    OpRef {
                        id: OpId(id),
                        version,
                    }
                }
                None => insert_op(&tx, c.as_str(), &op, due_ms, last_error.as_deref(), CTX)?,
            };
            tx.commit().map_err(sql(CTX))?;
            Ok(op_ref)
        })
        .await
    }

    async fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<QueuedOp>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let c = self.connection.clone();
        self.read("reading the queue", move |conn| {
            due_ops(conn, c.as_str(), now_ms, limit)
        })
        .await
    }

    async fn take_due(
        &self,
        now_ms: i64,
        limit: usize,
        lease_until_ms: i64,
    ) -> Result<Vec<QueuedOp>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let c = self.connection.clone();
        self.write("taking due operations", move |conn| {
            const CTX: &str = "taking due operations";
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql(CTX))?;
            let mut taken = due_ops(&tx, c.as_str(), now_ms, limit)?;
            for q in &mut taken {
                tx.execute(
                    "UPDATE ops SET due_ms = ?2 WHERE id = ?1 AND connection = ?3",
                    params![q.id.0, lease_until_ms, c.as_str()],
                )
                .map_err(sql(CTX))?;
                q.due_ms = lease_until_ms;
            }
            tx.commit().map_err(sql(CTX))?;
            Ok(taken)
        })
        .await
    }

    async fn complete(&self, op: OpRef) -> Result<bool, StoreError> {
        let c = self.connection.clone();
        self.write("completing an operation", move |conn| {
            let n = conn
                .execute(
                    "DELETE FROM ops WHERE id = ?1 AND version = ?2 AND connection = ?3",
                    params![op.id.0, op.version, c.as_str()],
                )
                .map_err(sql("completing an operation"))?;
            Ok(n == 1)
        })
        .await
    }

    async fn reschedule(&self, op: OpRef, next_ms: i64, error: &str) -> Result<(), StoreError> {
        let error = error.to_string();
        let c = self.connection.clone();
        self.write("rescheduling an operation", move |conn| {
            conn.execute(
                "UPDATE ops SET attempts = attempts + 1, due_ms = ?3, last_error = ?4 WHERE id = ?1 AND version = ?2 AND connection = ?5",
                params![op.id.0, op.version, next_ms, error, c.as_str()],
            )
            .map_err(sql("rescheduling an operation"))?;
            Ok(())
        })
        .await
    }

    async fn extend(&self, op: OpRef, due_ms: i64) -> Result<bool, StoreError> {
        let c = self.connection.clone();
        self.write("extending an operation", move |conn| {
            let n = conn
                .execute(
                    "UPDATE ops SET due_ms = ?3 WHERE id = ?1 AND version = ?2 AND connection = ?4",
                    params![op.id.0, op.version, due_ms, c.as_str()],
                )
                .map_err(sql("extending an operation"))?;
            Ok(n == 1)
        })
        .await
    }

    async fn park(&self, op: OpRef, error: &str) -> Result<(), StoreError> {
        let error = error.to_string();
        let c = self.connection.clone();
        self.write("parking an operation", move |conn| {
            conn.execute(
                "UPDATE ops SET attempts = attempts + 1, parked = 1, last_error = ?3 WHERE id = ?1 AND version = ?2 AND connection = ?4",
                params![op.id.0, op.version, error, c.as_str()],
            )
            .map_err(sql("parking an operation"))?;
            Ok(())
        })
        .await
    }

    async fn unpark_all(&self, now_ms: i64) -> Result<usize, StoreError> {
        let c = self.connection.clone();
        self.write("unparking operations", move |conn| {
            conn.execute(
                "UPDATE ops SET parked = 0, due_ms = ?1 WHERE connection = ?2 AND parked = 1",
                params![now_ms, c.as_str()],
            )
            .map_err(sql("unparking operations"))
        })
        .await
    }

    async fn pending(&self) -> Result<Vec<QueuedOp>, StoreError> {
        let c = self.connection.clone();
        self.read("reading the queue", move |conn| {
            query_ops(
                conn,
                &format!("SELECT {OP_COLUMNS} FROM ops WHERE connection = ?1 ORDER BY id"),
                [c.as_str()],
            )
        })
        .await
    }

    async fn work_counts(&self) -> Result<WorkCounts, StoreError> {
        let c = self.connection.clone();
        self.read("counting the work left", move |conn| {
            let (queued, parked, next_due_ms, claims) = conn
                .query_row(
                    "SELECT
                        (SELECT COUNT(*) FROM ops WHERE connection = ?1 AND parked = 0),
                        (SELECT COUNT(*) FROM ops WHERE connection = ?1 AND parked = 1),
                        (SELECT MIN(due_ms) FROM ops WHERE connection = ?1 AND parked = 0),
                        (SELECT COUNT(*) FROM claims c WHERE c.connection = ?1 AND NOT EXISTS (
                            SELECT 1 FROM ops o WHERE o.connection = ?1 AND o.parked = 1
                              AND o.op_key IN ('create:' || c.finding_id, 'state:' || c.finding_id)))",
                    [c.as_str()],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, Option<i64>>(2)?,
                            r.get::<_, i64>(3)?,
                        ))
                    },
                )
                .map_err(sql("counting the work left"))?;
            Ok(WorkCounts {
                queued: usize::try_from(queued).unwrap_or(0),
                parked: usize::try_from(parked).unwrap_or(0),
                next_due_ms,
                claims: usize::try_from(claims).unwrap_or(0),
            })
        })
        .await
    }

    async fn first_delivery(&self, delivery_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let id = delivery_id.to_string();
        let c = self.connection.clone();
        self.write("recording a delivery", move |conn| {
            let n = conn
                .execute(
                    "INSERT OR IGNORE INTO deliveries (id, seen_ms, connection) VALUES (?1, ?2, ?3)",
                    params![id, now_ms, c.as_str()],
                )
                .map_err(sql("recording a delivery"))?;
            Ok(n == 1)
        })
        .await
    }

    async fn delivery_seen(&self, delivery_id: &str) -> Result<bool, StoreError> {
        let id = delivery_id.to_string();
        let c = self.connection.clone();
        self.read("reading a delivery", move |conn| {
            conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM deliveries WHERE connection = ?2 AND id = ?1)",
                [id.as_str(), c.as_str()],
                |r| r.get::<_, bool>(0),
            )
            .map_err(sql("reading a delivery"))
        })
        .await
    }

    async fn forget_delivery(&self, delivery_id: &str) -> Result<(), StoreError> {
        let id = delivery_id.to_string();
        let c = self.connection.clone();
        self.write("forgetting a delivery", move |conn| {
            conn.execute(
                "DELETE FROM deliveries WHERE connection = ?2 AND id = ?1",
                [id.as_str(), c.as_str()],
            )
            .map_err(sql("forgetting a delivery"))?;
            Ok(())
        })
        .await
    }

    async fn prune_deliveries(&self, seen_before_ms: i64) -> Result<usize, StoreError> {
        let c = self.connection.clone();
        self.write("pruning deliveries", move |conn| {
            conn.execute(
                "DELETE FROM deliveries WHERE connection = ?2 AND seen_ms < ?1",
                params![seen_before_ms, c.as_str()],
            )
            .map_err(sql("pruning deliveries"))
        })
        .await
    }

    async fn sweep_cursor(&self) -> Result<Option<SweepCursor>, StoreError> {
        let c = self.connection.clone();
        self.read("reading the sweep cursor", move |conn| {
            let v: Option<String> = conn
                .query_row(
                    "SELECT value FROM cursors WHERE connection = ?1",
                    [c.as_str()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql("reading the sweep cursor"))?;
            v.as_deref().map(codec::cursor_from_text).transpose()
        })
        .await
    }

    async fn set_sweep_cursor(&self, cursor: &SweepCursor) -> Result<(), StoreError> {
        let json = codec::cursor_to_text(cursor)?;
        let c = self.connection.clone();
        self.write("saving the sweep cursor", move |conn| {
            conn.execute(
                "INSERT INTO cursors (connection, value) VALUES (?2, ?1) ON CONFLICT(connection) DO UPDATE SET value = ?1",
                [json.as_str(), c.as_str()],
            )
            .map_err(sql("saving the sweep cursor"))?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl RateBudgetStore for SqliteStore {
    async fn reserve_request(
        &self,
        name: &str,
        now_us: i64,
        rate: BudgetRate,
    ) -> Result<i64, StoreError> {
        let name = name.to_string();
        let c = self.connection.clone();
        self.write("reserving a request", move |conn| {
            let tat_us: i64 = conn
                .query_row(
                    "INSERT INTO rate_budgets (name, tat_us, connection) VALUES (?1, ?2 + ?3, ?4)
                     ON CONFLICT(connection, name) DO UPDATE SET tat_us = max(tat_us, ?2) + ?3
                     RETURNING tat_us",
                    params![name, now_us, rate.interval_us(), c.as_str()],
                    |r| r.get(0),
                )
                .map_err(sql("reserving a request"))?;
            Ok(rate.wait_us(tat_us, now_us))
        })
        .await
    }
}

impl super::StoreBackend for SqliteStore {
    fn handle(&self, connection: ConnectionId) -> std::sync::Arc<dyn SyncStore> {
        std::sync::Arc::new(self.for_connection(connection))
    }
}
