//! A host whose findings several processes share (as Penaxtra's replicas
//! share its database): one SQLite file, for the crash suite's children
//! and for the parent that plays the host's users between phases.

use async_trait::async_trait;
use penaxtra_jira_sync::{Findings, HostError, StateCause};
use penaxtra_mapping::{Finding, FindingId, FindingState};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The shared findings.
#[derive(Debug, Clone)]
pub struct SharedFindings {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

impl SharedFindings {
    /// Opens (creating) the host file at `path`.
    pub fn open(path: &Path) -> Self {
        let conn = Connection::open(path).unwrap();
        conn.busy_timeout(Duration::from_secs(30)).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS findings (id TEXT PRIMARY KEY, json TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS changes (id TEXT NOT NULL, state TEXT NOT NULL, cause TEXT NOT NULL);",
        )
        .unwrap();
        Self {
            path: path.to_path_buf(),
            conn: Arc::new(Mutex::new(conn)),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes findings as the host's users left them.
    pub fn put_all(&self, findings: &[Finding]) {
        let mut conn = self.conn.lock().unwrap();
        let tx = conn.transaction().unwrap();
        for f in findings {
            tx.execute(
                "INSERT INTO findings (id, json) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET json = ?2",
                params![f.id.as_str(), serde_json::to_string(f).unwrap()],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }

    /// Every finding, by id.
    pub fn all(&self) -> Vec<Finding> {
        let conn = self.conn.lock().unwrap();
        let mut stmt = conn
            .prepare("SELECT json FROM findings ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|j| serde_json::from_str(&j.unwrap()).unwrap())
            .collect()
    }

    /// How many changes came from Jira (webhooks, reconciliation).
    pub fn changes_from_jira(&self) -> (usize, usize) {
        let conn = self.conn.lock().unwrap();
        let count = |cause: &str| -> usize {
            conn.query_row(
                "SELECT COUNT(*) FROM changes WHERE cause = ?1",
                [cause],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
            .try_into()
            .unwrap()
        };
        (count("webhook"), count("reconciliation"))
    }
}

#[async_trait]
impl Findings for SharedFindings {
    async fn finding(&self, id: &FindingId) -> Result<Option<Finding>, HostError> {
        let conn = self.conn.lock().unwrap();
        let json: Option<String> = conn
            .query_row(
                "SELECT json FROM findings WHERE id = ?1",
                [id.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| HostError::transient(e.to_string()))?;
        Ok(json.map(|j| serde_json::from_str(&j).unwrap()))
    }

    async fn set_state(
        &self,
        id: &FindingId,
        state: FindingState,
        cause: StateCause,
    ) -> Result<(), HostError> {
        let mut conn = self.conn.lock().unwrap();
        let tx = conn
            .transaction()
            .map_err(|e| HostError::transient(e.to_string()))?;
        let json: Option<String> = tx
            .query_row(
                "SELECT json FROM findings WHERE id = ?1",
                [id.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| HostError::transient(e.to_string()))?;
        let Some(json) = json else {
            return Err(HostError::permanent(format!("no finding {id}")));
        };
        let mut f: Finding = serde_json::from_str(&json).unwrap();
        f.state = state;
        let cause = match cause {
            StateCause::JiraWebhook { .. } => "webhook",
            _ => "reconciliation",
        };
        tx.execute(
            "UPDATE findings SET json = ?2 WHERE id = ?1",
            params![id.as_str(), serde_json::to_string(&f).unwrap()],
        )
        .and_then(|_| {
            tx.execute(
                "INSERT INTO changes (id, state, cause) VALUES (?1, ?2, ?3)",
                params![id.as_str(), state.as_str(), cause],
            )
        })
        .map_err(|e| HostError::transient(e.to_string()))?;
        tx.commit().map_err(|e| HostError::transient(e.to_string()))
    }
}
