//! [`PostgresStore`]: the store for several replicas sharing one
//! PostgreSQL database (feature `postgres`).
//!
//! Built on `tokio-postgres` with a `deadpool-postgres` pool. Why these
//! rather than `sqlx`: the store is a dozen hand-written statements whose
//! locking (`FOR UPDATE SKIP LOCKED`, advisory locks) is the point, so
//! `sqlx`'s compile-time checked queries (which need a database or an
//! offline cache at build time) and its several backends would add build
//! weight and tooling for nothing; `tokio-postgres` is the maintained
//! native async driver the Rust Postgres ecosystem builds on (sqlx aside),
//! it runs on the tokio the crate already uses, and deadpool is a small,
//! widely used pool with statement caching and connection recycling.

mod config;
mod schema;

pub use config::{DEFAULT_SCHEMA, PostgresConfig};

use super::claim_rule::{self, ClaimRow};
use super::codec::{
    self, LINK_COLUMNS, LinkRow, OP_COLUMNS, OpRow, RECOVERED, finding_from_text,
    normalise_issue_key,
};
use super::{
    BudgetRate, Claim, Fence, Link, OpId, OpRef, PendingOp, QueuedOp, RateBudgetStore, Release,
    StoreClock, StoreError, SweepCursor, SyncStore, WorkCounts,
};
use crate::ConnectionId;
use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use jira_model::IssueKey;
use penaxtra_mapping::FindingId;
use std::fmt;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// Recovered claims handled per transaction (each holds its finding's
/// advisory lock until commit, and Postgres's lock table is finite).
const RECOVER_PER_TRANSACTION: usize = 32;

/// The database server's clock in epoch milliseconds, read at the moment
/// the statement runs (`clock_timestamp()`, not the transaction's start).
const DB_NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/// A durable [`SyncStore`] in a PostgreSQL database, for several replicas.
///
/// Every replica opens it with the same connection string and schema
/// ([`PostgresConfig`]). The guarantees are those of [`super::SqliteStore`],
/// kept across processes and hosts:
///
/// - each finding's claim, link and create queueing run in a transaction
///   holding that finding's advisory lock
///   (`pg_advisory_xact_lock`), so exactly one claimant acquires it, a link
///   ends exactly the claim it was made under, and a finding has at most one
///   queued create;
/// - fences and queue versions come from sequences, so every claim gets a
///   larger fence than any before it;
/// - fenced and versioned writes (`renew`, `release`, `complete`,
///   `reschedule`, `extend`, `park`) are single conditional statements;
/// - workers take due operations with `FOR UPDATE SKIP LOCKED`, so replicas
///   take disjoint ones without waiting for each other;
/// - delivery ids are inserted with `ON CONFLICT DO NOTHING`, pruned by
///   age through an index; issue keys are looked up through an index on
///   their normalised form.
///
/// The schema is created and migrated on [`PostgresStore::connect`], under
/// an advisory lock, with its version in `schema_migrations`.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    schema: String,
    target: String,
    clock: StoreClock,
    connection: ConnectionId,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .field("schema", &self.schema)
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

fn pg(context: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError {
    move |e| StoreError::backend(context, e)
}

impl PostgresStore {
    /// Connects, creating the schema and migrating it when needed.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the configuration is invalid or the
    /// schema is newer than this library knows; [`StoreError::Backend`]
    /// when the database cannot be reached or migrated (the message names
    /// the host and database, never the password).
    pub async fn connect(config: PostgresConfig) -> Result<Self, StoreError> {
        let pg_config = config.pg_config()?;
        let target = config::describe(&pg_config);
        let manager = Manager::from_config(
            pg_config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(config.timeout))
            .create_timeout(Some(config.timeout))
            .build()
            .map_err(|e| StoreError::backend(format!("setting up the pool for {target}"), e))?;
        let store = Self {
            pool,
            schema: config.schema,
            target,
            clock: StoreClock::Own,
            connection: ConnectionId::default(),
        };
        let mut client = store
            .client(&format!("connecting to {}", store.target))
            .await?;
        schema::migrate(&mut client, &store.schema).await?;
        Ok(store)
    }

    /// Connects with the defaults of [`PostgresConfig`] (schema
    /// [`DEFAULT_SCHEMA`]).
    ///
    /// # Errors
    /// As [`PostgresStore::connect`].
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::connect(PostgresConfig::new(url.to_string())).await
    }

    /// A handle on the same database (sharing its pool) that serves
    /// `connection` and nothing else.
    pub fn for_connection(&self, connection: ConnectionId) -> Self {
        Self {
            connection,
            ..self.clone()
        }
    }

    /// The schema holding the store's tables.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The same store measuring claims with `clock` (default
    /// [`StoreClock::Own`]: the database server's `clock_timestamp()`, so
    /// replicas whose clocks disagree agree on every lease and doubt).
    /// [`StoreClock::Caller`] is for one process on simulated time.
    pub fn with_clock(mut self, clock: StoreClock) -> Self {
        self.clock = clock;
        self
    }

    /// The store's now: the database's clock, or the caller's on
    /// [`StoreClock::Caller`].
    async fn store_now(
        &self,
        client: &impl GenericClient,
        caller_ms: i64,
        context: &'static str,
    ) -> Result<i64, StoreError> {
        if self.clock == StoreClock::Caller {
            return Ok(caller_ms);
        }
        let row = query_opt(client, context, &format!("SELECT {DB_NOW_MS}"), &[]).await?;
        row.map(|r| r.try_get::<_, i64>(0))
            .transpose()
            .map_err(pg(context))?
            .ok_or_else(|| StoreError::Corrupt {
                what: "database clock",
                message: "the database did not answer its time".into(),
            })
    }

    async fn client(&self, context: &str) -> Result<deadpool_postgres::Client, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::backend(context.to_string(), e))
    }

    /// Runs one statement on a pooled connection and answers the rows it
    /// changed.
    async fn execute(
        &self,
        context: &'static str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let client = self.client(context).await?;
        let stmt = client.prepare_cached(sql).await.map_err(pg(context))?;
        client.execute(&stmt, params).await.map_err(pg(context))
    }

    /// Runs one query on a pooled connection.
    async fn query(
        &self,
        context: &'static str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let client = self.client(context).await?;
        query(&client, context, sql, params).await
    }

    /// The key of a finding's advisory lock (per schema and connection).
    fn lock_key(&self, finding: &str) -> String {
        format!(
            "penaxtra-jira-sync:{}:{}:finding:{finding}",
            self.schema, self.connection
        )
    }

    /// The connection's text, as a statement parameter.
    fn c(&self) -> &str {
        self.connection.as_str()
    }
}

async fn query(
    client: &impl GenericClient,
    context: &'static str,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    let stmt = client.prepare_cached(sql).await.map_err(pg(context))?;
    client.query(&stmt, params).await.map_err(pg(context))
}

async fn query_opt(
    client: &impl GenericClient,
    context: &'static str,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, StoreError> {
    let stmt = client.prepare_cached(sql).await.map_err(pg(context))?;
    client.query_opt(&stmt, params).await.map_err(pg(context))
}

async fn execute(
    client: &impl GenericClient,
    context: &'static str,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StoreError> {
    let stmt = client.prepare_cached(sql).await.map_err(pg(context))?;
    client.execute(&stmt, params).await.map_err(pg(context))
}

/// Takes the advisory lock of a finding until the transaction ends.
async fn lock_finding(
    tx: &impl GenericClient,
    key: &str,
    context: &'static str,
) -> Result<(), StoreError> {
    execute(
        tx,
        context,
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[&key],
    )
    .await
    .map(|_| ())
}

fn link_row(r: &Row) -> Result<LinkRow, tokio_postgres::Error> {
    let issue_key: String = r.try_get(1)?;
    Ok(LinkRow {
        finding_id: r.try_get(0)?,
        issue_key_norm: normalise_issue_key(&issue_key),
        issue_key,
        issue_id: r.try_get(2)?,
        state_out: r.try_get(3)?,
        state_in: r.try_get(4)?,
        expected_statuses: r.try_get(5)?,
        last_event_ms: r.try_get(6)?,
        moving_until_ms: r.try_get(7)?,
        created_ms: r.try_get(8)?,
        updated_ms: r.try_get(9)?,
        version: r.try_get(10)?,
    })
}

fn to_link(r: &Row, context: &'static str) -> Result<Link, StoreError> {
    link_row(r).map_err(pg(context))?.into_link()
}

fn to_op(r: &Row, context: &'static str) -> Result<QueuedOp, StoreError> {
    let row = (|| {
        Ok::<_, tokio_postgres::Error>(OpRow {
            id: r.try_get(0)?,
            version: r.try_get(1)?,
            op: r.try_get(2)?,
            attempts: i64::from(r.try_get::<_, i32>(3)?),
            due_ms: r.try_get(4)?,
            last_error: r.try_get(5)?,
            parked: r.try_get(6)?,
        })
    })()
    .map_err(pg(context))?;
    row.into_op()
}

async fn link_of(
    client: &impl GenericClient,
    c: &str,
    finding: &str,
    context: &'static str,
) -> Result<Option<Link>, StoreError> {
    query_opt(
        client,
        context,
        &format!("SELECT {LINK_COLUMNS} FROM links WHERE connection = $2 AND finding_id = $1"),
        &[&finding, &c],
    )
    .await?
    .map(|r| to_link(&r, context))
    .transpose()
}

/// A finding's claim row and its fence, locked until the transaction
/// ends (`FOR UPDATE`).
async fn claim_row(
    tx: &impl GenericClient,
    c: &str,
    finding: &str,
    context: &'static str,
) -> Result<Option<(ClaimRow, Fence)>, StoreError> {
    let Some(r) = query_opt(
        tx,
        context,
        "SELECT owner, until_ms, doubt_since_ms, doubt_expired, fence, issue_ids
         FROM claims WHERE connection = $2 AND finding_id = $1 FOR UPDATE",
        &[&finding, &c],
    )
    .await?
    else {
        return Ok(None);
    };
    let read = || {
        Ok::<_, tokio_postgres::Error>((
            ClaimRow {
                owner: r.try_get(0)?,
                until_ms: r.try_get(1)?,
                doubt_since_ms: r.try_get(2)?,
                doubt_expired: r.try_get(3)?,
                issue_ids: codec::ids_from_text(r.try_get::<_, Option<String>>(5)?.as_deref()),
            },
            Fence(r.try_get(4)?),
        ))
    };
    read().map(Some).map_err(pg(context))
}

/// Whether `fence` holds the live claim of `finding`.
async fn holds(
    client: &impl GenericClient,
    c: &str,
    finding: &str,
    fence: Fence,
    context: &'static str,
) -> Result<bool, StoreError> {
    Ok(query_opt(
        client,
        context,
        "SELECT 1 FROM claims WHERE connection = $3 AND finding_id = $1 AND fence = $2 AND owner IS NOT NULL",
        &[&finding, &fence.0, &c],
    )
    .await?
    .is_some())
}

/// Inserts a new queue row.
async fn insert_op(
    client: &impl GenericClient,
    c: &str,
    op: &PendingOp,
    due_ms: i64,
    last_error: Option<&str>,
    context: &'static str,
) -> Result<OpRef, StoreError> {
    let row = query_opt(
        client,
        context,
        "INSERT INTO ops (op_key, kind, op, version, due_ms, last_error, connection)
         VALUES ($1, $2, $3, nextval('op_versions'), $4, $5, $6) RETURNING id, version",
        &[
            &op.key(),
            &codec::op_kind(op),
            &codec::op_to_text(op)?,
            &due_ms,
            &last_error,
            &c,
        ],
    )
    .await?
    .ok_or_else(|| StoreError::Corrupt {
        what: "queued operation",
        message: "the insert returned no row".into(),
    })?;
    Ok(OpRef {
        id: OpId(row.try_get(0).map_err(pg(context))?),
        version: row.try_get(1).map_err(pg(context))?,
    })
}

#[async_trait]
impl SyncStore for PostgresStore {
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
        const CTX: &str = "claiming a finding";
        let id = finding.as_str();
        let mut client = self.client(CTX).await?;
        let tx = client.transaction().await.map_err(pg(CTX))?;
        lock_finding(&tx, &self.lock_key(id), CTX).await?;
        if let Some(link) = link_of(&tx, self.c(), id, CTX).await? {
            return Ok(Claim::Linked(link));
        }
        let parked = query_opt(
            &tx,
            CTX,
            "SELECT last_error FROM ops WHERE connection = $2 AND op_key = $1 AND parked AND kind = 'recreate' LIMIT 1",
            &[&format!("create:{id}"), &self.c()],
        )
        .await?;
        if let Some(row) = parked {
            let reason: Option<String> = row.try_get(0).map_err(pg(CTX))?;
            return Ok(Claim::Parked {
                reason: reason.unwrap_or_default(),
            });
        }
        // The row is locked until commit (`FOR UPDATE`): a concurrent
        // renew or release waits, then finds the new fence and changes
        // nothing; one that committed first is seen here.
        let existing = claim_row(&tx, self.c(), id, CTX).await?;
        let now_ms = self.store_now(&tx, now_ms, CTX).await?;
        let Some(claim_rule::Take {
            doubt_since_ms,
            doubt_expired,
        }) = claim_rule::decide_claim(existing.as_ref().map(|(row, _)| row), now_ms)
        else {
            return Ok(Claim::Busy);
        };
        let issue_ids = existing.map(|(row, _)| row.issue_ids).unwrap_or_default();
        let until_ms = now_ms.saturating_add(lease_ms);
        let row = query_opt(
            &tx,
            CTX,
            "INSERT INTO claims (finding_id, owner, until_ms, fence, doubt_since_ms, doubt_expired, issue_ids, connection)
             VALUES ($1, $2, $3, nextval('fences'), $4, $5, $6, $7)
             ON CONFLICT (connection, finding_id) DO UPDATE SET owner = EXCLUDED.owner,
                 until_ms = EXCLUDED.until_ms, fence = EXCLUDED.fence,
                 doubt_since_ms = EXCLUDED.doubt_since_ms,
                 doubt_expired = EXCLUDED.doubt_expired, issue_ids = EXCLUDED.issue_ids
             RETURNING fence",
            &[
                &id,
                &owner,
                &until_ms,
                &doubt_since_ms,
                &doubt_expired,
                &codec::ids_to_text(&issue_ids),
                &self.c(),
            ],
        )
        .await?;
        let fence = Fence(
            row.map(|r| r.try_get::<_, i64>(0))
                .transpose()
                .map_err(pg(CTX))?
                .unwrap_or_default(),
        );
        tx.commit().await.map_err(pg(CTX))?;
        Ok(Claim::Acquired {
            fence,
            doubt: claim_rule::doubt_of(doubt_since_ms, doubt_expired, &issue_ids, now_ms),
        })
    }

    async fn renew(
        &self,
        finding: &FindingId,
        fence: Fence,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        const CTX: &str = "renewing a claim";
        // One conditional statement: it waits for a claim holding the row
        // and then re-checks the fence on the row that claim left.
        let n = match self.clock {
            StoreClock::Caller => {
                self.execute(
                    CTX,
                    "UPDATE claims SET until_ms = $3::bigint + $4::bigint
                     WHERE connection = $5 AND finding_id = $1 AND fence = $2 AND owner IS NOT NULL",
                    &[&finding.as_str(), &fence.0, &now_ms, &lease_ms, &self.c()],
                )
                .await?
            }
            _ => {
                self.execute(
                    CTX,
                    &format!(
                        "UPDATE claims SET until_ms = {DB_NOW_MS} + $3
                         WHERE connection = $4 AND finding_id = $1 AND fence = $2 AND owner IS NOT NULL"
                    ),
                    &[&finding.as_str(), &fence.0, &lease_ms, &self.c()],
                )
                .await?
            }
        };
        Ok(n == 1)
    }

    async fn release(
        &self,
        finding: &FindingId,
        fence: Fence,
        release: Release,
    ) -> Result<bool, StoreError> {
        const CTX: &str = "releasing a claim";
        let id = finding.as_str();
        let mut client = self.client(CTX).await?;
        let tx = client.transaction().await.map_err(pg(CTX))?;
        let Some((row, current)) = claim_row(&tx, self.c(), id, CTX).await? else {
            return Ok(false);
        };
        let store_now = self.store_now(&tx, 0, CTX).await?;
        let at = claim_rule::raised_at(release, store_now, self.clock == StoreClock::Caller);
        let holds = current == fence && row.owner.is_some();
        if !holds {
            if let Release::Raised { .. } = release {
                // Not ours any more: only raise the doubt the next
                // claimant will be told.
                let (since, expired) = claim_rule::raised(&row, at);
                execute(
                    &tx,
                    CTX,
                    "UPDATE claims SET doubt_since_ms = $2, doubt_expired = $3
                     WHERE connection = $4 AND finding_id = $1",
                    &[&id, &since, &expired, &self.c()],
                )
                .await?;
                tx.commit().await.map_err(pg(CTX))?;
            }
            return Ok(false);
        }
        match claim_rule::after_release(&row, release, at) {
            Some((since, expired)) => {
                execute(
                    &tx,
                    CTX,
                    "UPDATE claims SET owner = NULL, doubt_since_ms = $2, doubt_expired = $3
                     WHERE connection = $4 AND finding_id = $1",
                    &[&id, &since, &expired, &self.c()],
                )
                .await?;
            }
            None => {
                execute(
                    &tx,
                    CTX,
                    "DELETE FROM claims WHERE connection = $2 AND finding_id = $1",
                    &[&id, &self.c()],
                )
                .await?;
            }
        }
        tx.commit().await.map_err(pg(CTX))?;
        Ok(true)
    }

    async fn note_created(
        &self,
        findings: &[FindingId],
        issue_ids: &[String],
    ) -> Result<(), StoreError> {
        const CTX: &str = "recording created issues";
        if findings.is_empty() || issue_ids.is_empty() {
            return Ok(());
        }
        let mut sorted: Vec<&str> = findings.iter().map(FindingId::as_str).collect();
        // In finding order, so two writers never wait on each other in a
        // cycle.
        sorted.sort_unstable();
        sorted.dedup();
        let mut client = self.client(CTX).await?;
        let tx = client.transaction().await.map_err(pg(CTX))?;
        for id in sorted {
            let Some((mut row, _)) = claim_row(&tx, self.c(), id, CTX).await? else {
                continue;
            };
            claim_rule::add_ids(&mut row.issue_ids, issue_ids);
            execute(
                &tx,
                CTX,
                "UPDATE claims SET issue_ids = $2 WHERE connection = $3 AND finding_id = $1",
                &[&id, &codec::ids_to_text(&row.issue_ids), &self.c()],
            )
            .await?;
        }
        tx.commit().await.map_err(pg(CTX))
    }

    async fn recover_orphans(&self, now_ms: i64) -> Result<Vec<FindingId>, StoreError> {
        const CTX: &str = "recovering orphaned claims";
        let expired_at = {
            let client = self.client(CTX).await?;
            self.store_now(&client, now_ms, CTX).await?
        };
        let candidates: Vec<String> = self
            .query(
                CTX,
                "SELECT c.finding_id FROM claims c
                 WHERE c.connection = $2 AND (c.owner IS NULL OR c.until_ms <= $1)
                   AND NOT EXISTS (SELECT 1 FROM links l
                       WHERE l.connection = c.connection AND l.finding_id = c.finding_id)
                   AND NOT EXISTS (SELECT 1 FROM ops o
                       WHERE o.connection = c.connection AND o.op_key = 'create:' || c.finding_id)
                 ORDER BY c.finding_id",
                &[&expired_at, &self.c()],
            )
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()
            .map_err(pg(CTX))?;
        let mut out = Vec::new();
        let mut client = self.client(CTX).await?;
        for chunk in candidates.chunks(RECOVER_PER_TRANSACTION) {
            let tx = client.transaction().await.map_err(pg(CTX))?;
            let mut recovered = Vec::new();
            // In finding order, so two recovery passes never wait on each
            // other in a cycle.
            for id in chunk {
                lock_finding(&tx, &self.lock_key(id), CTX).await?;
                let finding = finding_from_text(id.clone())?;
                let op = PendingOp::Create {
                    finding: finding.clone(),
                };
                // Checked again under the lock: another replica may have
                // linked, renewed or recovered it since the scan.
                let n = execute(
                    &tx,
                    CTX,
                    "INSERT INTO ops (op_key, kind, op, version, due_ms, last_error, connection)
                     SELECT $2, 'create', $3, nextval('op_versions'), $4, $5, $7
                     WHERE EXISTS (SELECT 1 FROM claims c WHERE c.connection = $7 AND c.finding_id = $1
                                   AND (c.owner IS NULL OR c.until_ms <= $6))
                       AND NOT EXISTS (SELECT 1 FROM links WHERE connection = $7 AND finding_id = $1)
                       AND NOT EXISTS (SELECT 1 FROM ops WHERE connection = $7 AND op_key = $2)",
                    &[
                        id,
                        &op.key(),
                        &codec::op_to_text(&op)?,
                        &now_ms,
                        &RECOVERED,
                        &expired_at,
                        &self.c(),
                    ],
                )
                .await?;
                if n == 1 {
                    recovered.push(finding);
                }
            }
            tx.commit().await.map_err(pg(CTX))?;
            out.extend(recovered);
        }
        Ok(out)
    }

    async fn claims(&self) -> Result<Vec<(FindingId, Option<String>, Option<i64>)>, StoreError> {
        const CTX: &str = "reading claims";
        let rows = self
            .query(
                CTX,
                "SELECT finding_id, owner, doubt_since_ms FROM claims WHERE connection = $1 ORDER BY finding_id",
                &[&self.c()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get(0).map_err(pg(CTX))?;
                Ok((
                    finding_from_text(id)?,
                    r.try_get(1).map_err(pg(CTX))?,
                    r.try_get(2).map_err(pg(CTX))?,
                ))
            })
            .collect()
    }

    async fn insert_link(&self, link: &Link, fence: Option<Fence>) -> Result<(), StoreError> {
        const CTX: &str = "recording a link";
        let row = LinkRow::from_link(link);
        let mut client = self.client(CTX).await?;
        let tx = client.transaction().await.map_err(pg(CTX))?;
        lock_finding(&tx, &self.lock_key(&row.finding_id), CTX).await?;
        if let Some(existing) = link_of(&tx, self.c(), &row.finding_id, CTX).await? {
            if existing.issue_key != link.issue_key {
                return Err(StoreError::Conflict {
                    finding: row.finding_id,
                    existing: existing.issue_key,
                    attempted: link.issue_key.clone(),
                });
            }
            return Ok(());
        }
        if let Some(fence) = fence
            && !holds(&tx, self.c(), &row.finding_id, fence, CTX).await?
        {
            return Err(StoreError::Fenced {
                finding: row.finding_id,
                fence,
            });
        }
        execute(
            &tx,
            CTX,
            &format!(
                "INSERT INTO links ({LINK_COLUMNS}, issue_key_norm, connection)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12)"
            ),
            &[
                &row.finding_id,
                &row.issue_key,
                &row.issue_id,
                &row.state_out,
                &row.state_in,
                &row.expected_statuses,
                &row.last_event_ms,
                &row.moving_until_ms,
                &row.created_ms,
                &row.updated_ms,
                &row.issue_key_norm,
                &self.c(),
            ],
        )
        .await?;
        execute(
            &tx,
            CTX,
            "DELETE FROM claims WHERE connection = $2 AND finding_id = $1",
            &[&row.finding_id, &self.c()],
        )
        .await?;
        tx.commit().await.map_err(pg(CTX))
    }

    async fn update_link(&self, link: &Link) -> Result<(), StoreError> {
        const CTX: &str = "updating a link";
        let row = LinkRow::from_link(link);
        // Compare-and-set in one statement: a concurrent writer's update
        // either committed first (the version moved: refused) or waits for
        // this one.
        let n = self
            .execute(
                CTX,
                "UPDATE links SET issue_key = $2, issue_id = $3, state_out = $4, state_in = $5,
                 expected_statuses = $6, last_event_ms = $7, updated_ms = $8, moving_until_ms = $9,
                 issue_key_norm = $10, version = version + 1
                 WHERE connection = $12 AND finding_id = $1 AND version = $11",
                &[
                    &row.finding_id,
                    &row.issue_key,
                    &row.issue_id,
                    &row.state_out,
                    &row.state_in,
                    &row.expected_statuses,
                    &row.last_event_ms,
                    &row.updated_ms,
                    &row.moving_until_ms,
                    &row.issue_key_norm,
                    &row.version,
                    &self.c(),
                ],
            )
            .await?;
        if n == 0 {
            let client = self.client(CTX).await?;
            return Err(
                match link_of(&client, self.c(), &row.finding_id, CTX).await? {
                    Some(_) => StoreError::Stale {
                        what: "link",
                        key: row.finding_id,
                    },
                    None => StoreError::NotFound {
                        what: "link",
                        key: row.finding_id,
                    },
                },
            );
        }
        Ok(())
    }

    async fn remove_link(&self, finding: &FindingId) -> Result<(), StoreError> {
        self.execute(
            "removing a link",
            "DELETE FROM links WHERE connection = $2 AND finding_id = $1",
            &[&finding.as_str(), &self.c()],
        )
        .await
        .map(|_| ())
    }

    async fn link(&self, finding: &FindingId) -> Result<Option<Link>, StoreError> {
        const CTX: &str = "reading a link";
        let client = self.client(CTX).await?;
        link_of(&client, self.c(), finding.as_str(), CTX).await
    }

    async fn link_by_issue(&self, issue_key: &IssueKey) -> Result<Option<Link>, StoreError> {
        const CTX: &str = "reading a link";
        let client = self.client(CTX).await?;
        query_opt(
            &client,
            CTX,
            &format!(
                "SELECT {LINK_COLUMNS} FROM links WHERE connection = $2 AND issue_key_norm = $1 LIMIT 1"
            ),
            &[&normalise_issue_key(issue_key.as_str()), &self.c()],
        )
        .await?
        .map(|r| to_link(&r, CTX))
        .transpose()
    }

    async fn links(&self) -> Result<Vec<Link>, StoreError> {
        const CTX: &str = "reading links";
        self.query(
            CTX,
            &format!("SELECT {LINK_COLUMNS} FROM links WHERE connection = $1 ORDER BY finding_id"),
            &[&self.c()],
        )
        .await?
        .iter()
        .map(|r| to_link(r, CTX))
        .collect()
    }

    async fn enqueue(
        &self,
        op: &PendingOp,
        due_ms: i64,
        last_error: Option<&str>,
    ) -> Result<OpRef, StoreError> {
        const CTX: &str = "queueing an operation";
        let json = codec::op_to_text(op)?;
        let mut client = self.client(CTX).await?;
        let tx = client.transaction().await.map_err(pg(CTX))?;
        // The finding's lock: one live row per operation key.
        lock_finding(&tx, &self.lock_key(op.finding().as_str()), CTX).await?;
        let replaced = query_opt(
            &tx,
            CTX,
            "UPDATE ops SET op = $2, kind = $3, due_ms = $4, last_error = $5,
                 version = nextval('op_versions')
             WHERE id = (SELECT id FROM ops WHERE connection = $6 AND op_key = $1 AND NOT parked
                         ORDER BY id LIMIT 1)
             RETURNING id, version",
            &[
                &op.key(),
                &json,
                &codec::op_kind(op),
                &due_ms,
                &last_error,
                &self.c(),
            ],
        )
        .await?;
        let op_ref = match replaced {
            Some(row) => OpRef {
                id: OpId(row.try_get(0).map_err(pg(CTX))?),
                version: row.try_get(1).map_err(pg(CTX))?,
            },
            None => insert_op(&tx, self.c(), op, due_ms, last_error, CTX).await?,
        };
        tx.commit().await.map_err(pg(CTX))?;
        Ok(op_ref)
    }

    async fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<QueuedOp>, StoreError> {
        const CTX: &str = "reading the queue";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.query(
            CTX,
            &format!(
                "SELECT {OP_COLUMNS} FROM ops WHERE connection = $3 AND NOT parked AND due_ms <= $1
                 ORDER BY due_ms, id LIMIT $2"
            ),
            &[&now_ms, &limit, &self.c()],
        )
        .await?
        .iter()
        .map(|r| to_op(r, CTX))
        .collect()
    }

    async fn take_due(
        &self,
        now_ms: i64,
        limit: usize,
        lease_until_ms: i64,
    ) -> Result<Vec<QueuedOp>, StoreError> {
        const CTX: &str = "taking due operations";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .query(
                CTX,
                "WITH picked AS (
                     SELECT id, due_ms AS was_due FROM ops
                     WHERE connection = $4 AND NOT parked AND due_ms <= $1
                     ORDER BY due_ms, id LIMIT $2
                     FOR UPDATE SKIP LOCKED
                 )
                 UPDATE ops SET due_ms = $3 FROM picked WHERE ops.id = picked.id
                 RETURNING ops.id, ops.version, ops.op, ops.attempts, ops.due_ms,
                           ops.last_error, ops.parked, picked.was_due",
                &[&now_ms, &limit, &lease_until_ms, &self.c()],
            )
            .await?;
        let mut taken = rows
            .iter()
            .map(|r| {
                let was_due: i64 = r.try_get(7).map_err(pg(CTX))?;
                Ok((was_due, to_op(r, CTX)?))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        taken.sort_by_key(|(was_due, q)| (*was_due, q.id));
        Ok(taken.into_iter().map(|(_, q)| q).collect())
    }

    async fn complete(&self, op: OpRef) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "completing an operation",
                "DELETE FROM ops WHERE id = $1 AND version = $2 AND connection = $3",
                &[&op.id.0, &op.version, &self.c()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn reschedule(&self, op: OpRef, next_ms: i64, error: &str) -> Result<(), StoreError> {
        self.execute(
            "rescheduling an operation",
            "UPDATE ops SET attempts = attempts + 1, due_ms = $3, last_error = $4
             WHERE id = $1 AND version = $2 AND connection = $5",
            &[&op.id.0, &op.version, &next_ms, &error, &self.c()],
        )
        .await
        .map(|_| ())
    }

    async fn extend(&self, op: OpRef, due_ms: i64) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "extending an operation",
                "UPDATE ops SET due_ms = $3 WHERE id = $1 AND version = $2 AND connection = $4",
                &[&op.id.0, &op.version, &due_ms, &self.c()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn park(&self, op: OpRef, error: &str) -> Result<(), StoreError> {
        self.execute(
            "parking an operation",
            "UPDATE ops SET attempts = attempts + 1, parked = TRUE, last_error = $3
             WHERE id = $1 AND version = $2 AND connection = $4",
            &[&op.id.0, &op.version, &error, &self.c()],
        )
        .await
        .map(|_| ())
    }

    async fn unpark_all(&self, now_ms: i64) -> Result<usize, StoreError> {
        let n = self
            .execute(
                "unparking operations",
                "UPDATE ops SET parked = FALSE, due_ms = $1 WHERE connection = $2 AND parked",
                &[&now_ms, &self.c()],
            )
            .await?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    async fn pending(&self) -> Result<Vec<QueuedOp>, StoreError> {
        const CTX: &str = "reading the queue";
        self.query(
            CTX,
            &format!("SELECT {OP_COLUMNS} FROM ops WHERE connection = $1 ORDER BY id"),
            &[&self.c()],
        )
        .await?
        .iter()
        .map(|r| to_op(r, CTX))
        .collect()
    }

    async fn work_counts(&self) -> Result<WorkCounts, StoreError> {
        const CTX: &str = "counting the work left";
        let rows = self
            .query(
                CTX,
                "SELECT
                    (SELECT COUNT(*) FROM ops WHERE connection = $1 AND NOT parked),
                    (SELECT COUNT(*) FROM ops WHERE connection = $1 AND parked),
                    (SELECT MIN(due_ms) FROM ops WHERE connection = $1 AND NOT parked),
                    (SELECT COUNT(*) FROM claims c WHERE c.connection = $1 AND NOT EXISTS (
                        SELECT 1 FROM ops o WHERE o.connection = $1 AND o.parked
                          AND o.op_key IN ('create:' || c.finding_id, 'state:' || c.finding_id)))",
                &[&self.c()],
            )
            .await?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::backend(CTX, std::io::Error::other("no row")))?;
        let count = |i: usize| -> Result<usize, StoreError> {
            let n: i64 = row.try_get(i).map_err(pg(CTX))?;
            Ok(usize::try_from(n).unwrap_or(0))
        };
        Ok(WorkCounts {
            queued: count(0)?,
            parked: count(1)?,
            next_due_ms: row.try_get(2).map_err(pg(CTX))?,
            claims: count(3)?,
        })
    }

    async fn first_delivery(&self, delivery_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "recording a delivery",
                "INSERT INTO deliveries (id, seen_ms, connection) VALUES ($1, $2, $3)
                 ON CONFLICT (connection, id) DO NOTHING",
                &[&delivery_id, &now_ms, &self.c()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn delivery_seen(&self, delivery_id: &str) -> Result<bool, StoreError> {
        const CTX: &str = "reading a delivery";
        let client = self.client(CTX).await?;
        let found = query_opt(
            &client,
            CTX,
            "SELECT 1 FROM deliveries WHERE connection = $2 AND id = $1",
            &[&delivery_id, &self.c()],
        )
        .await?;
        Ok(found.is_some())
    }

    async fn forget_delivery(&self, delivery_id: &str) -> Result<(), StoreError> {
        self.execute(
            "forgetting a delivery",
            "DELETE FROM deliveries WHERE connection = $2 AND id = $1",
            &[&delivery_id, &self.c()],
        )
        .await
        .map(|_| ())
    }

    async fn prune_deliveries(&self, seen_before_ms: i64) -> Result<usize, StoreError> {
        let n = self
            .execute(
                "pruning deliveries",
                "DELETE FROM deliveries WHERE connection = $2 AND seen_ms < $1",
                &[&seen_before_ms, &self.c()],
            )
            .await?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    async fn sweep_cursor(&self) -> Result<Option<SweepCursor>, StoreError> {
        const CTX: &str = "reading the sweep cursor";
        let client = self.client(CTX).await?;
        let row = query_opt(
            &client,
            CTX,
            "SELECT value FROM cursors WHERE connection = $1",
            &[&self.c()],
        )
        .await?;
        match row {
            Some(r) => {
                let text: String = r.try_get(0).map_err(pg(CTX))?;
                codec::cursor_from_text(&text).map(Some)
            }
            None => Ok(None),
        }
    }

    async fn set_sweep_cursor(&self, cursor: &SweepCursor) -> Result<(), StoreError> {
        let json = codec::cursor_to_text(cursor)?;
        self.execute(
            "saving the sweep cursor",
            "INSERT INTO cursors (connection, value) VALUES ($2, $1)
             ON CONFLICT (connection) DO UPDATE SET value = EXCLUDED.value",
            &[&json, &self.c()],
        )
        .await
        .map(|_| ())
    }
}

#[async_trait]
impl RateBudgetStore for PostgresStore {
    async fn reserve_request(
        &self,
        name: &str,
        now_us: i64,
        rate: BudgetRate,
    ) -> Result<i64, StoreError> {
        const CTX: &str = "reserving a request";
        let interval = rate.interval_us();
        let rows = self
            .query(
                CTX,
                "INSERT INTO rate_budgets (name, tat_us, connection) VALUES ($1, $2::BIGINT + $3::BIGINT, $4)
                 ON CONFLICT (connection, name) DO UPDATE
                     SET tat_us = GREATEST(rate_budgets.tat_us, $2::BIGINT) + $3::BIGINT
                 RETURNING tat_us",
                &[&name, &now_us, &interval, &self.c()],
            )
            .await?;
        let tat_us: i64 = rows
            .first()
            .ok_or_else(|| StoreError::Corrupt {
                what: "rate budget",
                message: "the reservation returned no row".into(),
            })?
            .try_get(0)
            .map_err(pg(CTX))?;
        Ok(rate.wait_us(tat_us, now_us))
    }
}

impl super::StoreBackend for PostgresStore {
    fn handle(&self, connection: ConnectionId) -> std::sync::Arc<dyn SyncStore> {
        std::sync::Arc::new(self.for_connection(connection))
    }
}
