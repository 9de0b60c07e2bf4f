//! How the SQL stores write records as columns and read them back: one
//! mapping for SQLite and Postgres, so a change to [`Link`] or
//! [`PendingOp`] is made here once.

use super::{ExpectedStatus, Link, OpId, OpRef, PendingOp, QueuedOp, StoreError, SweepCursor};
use jira_model::IssueKey;
use penaxtra_mapping::{FindingId, FindingState};

/// A link as the columns of a `links` row.
#[derive(Debug, Clone)]
pub(crate) struct LinkRow {
    pub(crate) finding_id: String,
    pub(crate) issue_key: String,
    /// The issue key normalised for lookups ignoring case (ASCII upper
    /// case, as Jira compares keys); indexed.
    pub(crate) issue_key_norm: String,
    pub(crate) issue_id: String,
    pub(crate) state_out: Option<String>,
    pub(crate) state_in: Option<String>,
    pub(crate) expected_statuses: Option<String>,
    pub(crate) last_event_ms: Option<i64>,
    pub(crate) moving_until_ms: Option<i64>,
    pub(crate) created_ms: i64,
    pub(crate) updated_ms: i64,
    /// The compare-and-set version ([`Link::version`]).
    pub(crate) version: i64,
}

/// The columns of [`LinkRow`] in the order the stores select them (the
/// normalised key is written, never read back).
pub(crate) const LINK_COLUMNS: &str = "finding_id, issue_key, issue_id, state_out, state_in, expected_statuses, last_event_ms, moving_until_ms, created_ms, updated_ms, version";

/// The key an issue is looked up by: `sec-1` finds `SEC-1`.
pub(crate) fn normalise_issue_key(key: &str) -> String {
    key.trim().to_ascii_uppercase()
}

impl LinkRow {
    /// The columns of `link`.
    pub(crate) fn from_link(link: &Link) -> Self {
        Self {
            finding_id: link.finding_id.as_str().to_string(),
            issue_key: link.issue_key.as_str().to_string(),
            issue_key_norm: normalise_issue_key(link.issue_key.as_str()),
            issue_id: link.issue_id.clone(),
            state_out: link.state_out.map(|s| s.as_str().to_string()),
            state_in: link.state_in.map(|s| s.as_str().to_string()),
            expected_statuses: statuses_to_text(&link.expected_statuses),
            last_event_ms: link.last_event_ms,
            moving_until_ms: link.moving_until_ms,
            created_ms: link.created_ms,
            updated_ms: link.updated_ms,
            version: link.version,
        }
    }

    /// The link these columns hold.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when a column cannot be read back.
    pub(crate) fn into_link(self) -> Result<Link, StoreError> {
        Ok(Link {
            finding_id: finding_from_text(self.finding_id)?,
            issue_key: IssueKey::new(self.issue_key).map_err(|e| StoreError::Corrupt {
                what: "issue key",
                message: e.to_string(),
            })?,
            issue_id: self.issue_id,
            state_out: state_from_text(self.state_out)?,
            state_in: state_from_text(self.state_in)?,
            expected_statuses: statuses_from_text(self.expected_statuses),
            last_event_ms: self.last_event_ms,
            moving_until_ms: self.moving_until_ms,
            created_ms: self.created_ms,
            updated_ms: self.updated_ms,
            version: self.version,
        })
    }
}

/// Statuses are kept one per line: Jira status names hold no newline.
fn statuses_to_text(statuses: &[ExpectedStatus]) -> Option<String> {
    (!statuses.is_empty()).then(|| {
        statuses
            .iter()
            .map(ExpectedStatus::to_line)
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn statuses_from_text(value: Option<String>) -> Vec<ExpectedStatus> {
    value
        .map(|v| v.lines().map(ExpectedStatus::parse).collect())
        .unwrap_or_default()
}

fn state_from_text(value: Option<String>) -> Result<Option<FindingState>, StoreError> {
    value
        .map(|s| {
            s.parse::<FindingState>().map_err(|e| StoreError::Corrupt {
                what: "link state",
                message: e.to_string(),
            })
        })
        .transpose()
}

/// A finding id read back from a column.
pub(crate) fn finding_from_text(value: String) -> Result<FindingId, StoreError> {
    FindingId::new(value).map_err(|e| StoreError::Corrupt {
        what: "finding id",
        message: e.to_string(),
    })
}

/// The JSON an operation is stored as.
pub(crate) fn op_to_text(op: &PendingOp) -> Result<String, StoreError> {
    serde_json::to_string(op).map_err(|e| StoreError::Corrupt {
        what: "queued operation",
        message: e.to_string(),
    })
}

/// The `kind` of an operation, for queries that must tell a parked
/// recreate from a parked create without parsing JSON.
pub(crate) fn op_kind(op: &PendingOp) -> &'static str {
    match op {
        PendingOp::Create { .. } => "create",
        PendingOp::Recreate { .. } => "recreate",
        PendingOp::SetState { .. } => "set_state",
    }
}

/// The error recorded on a create queued by the recovery pass.
pub(crate) const RECOVERED: &str = "recovered: the process that started this create is gone";

/// A queue row as columns.
#[derive(Debug, Clone)]
pub(crate) struct OpRow {
    pub(crate) id: i64,
    pub(crate) version: i64,
    pub(crate) op: String,
    pub(crate) attempts: i64,
    pub(crate) due_ms: i64,
    pub(crate) last_error: Option<String>,
    pub(crate) parked: bool,
}

/// The columns of [`OpRow`] in the order the stores select them.
pub(crate) const OP_COLUMNS: &str = "id, version, op, attempts, due_ms, last_error, parked";

impl OpRow {
    /// The queued operation these columns hold.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the operation cannot be read back.
    pub(crate) fn into_op(self) -> Result<QueuedOp, StoreError> {
        let op: PendingOp = serde_json::from_str(&self.op).map_err(|e| StoreError::Corrupt {
            what: "queued operation",
            message: e.to_string(),
        })?;
        Ok(QueuedOp::new(
            OpRef {
                id: OpId(self.id),
                version: self.version,
            },
            op,
            u32::try_from(self.attempts).unwrap_or(u32::MAX),
            self.due_ms,
            self.last_error,
            self.parked,
        ))
    }
}

/// The sweep cursor as stored text.
pub(crate) fn cursor_to_text(cursor: &SweepCursor) -> Result<String, StoreError> {
    serde_json::to_string(cursor).map_err(|e| StoreError::Corrupt {
        what: "sweep cursor",
        message: e.to_string(),
    })
}

/// The sweep cursor read back.
pub(crate) fn cursor_from_text(text: &str) -> Result<SweepCursor, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        what: "sweep cursor",
        message: e.to_string(),
    })
}

/// Issue ids kept on a claim, as one comma-separated column (Jira issue
/// ids are decimal numbers: no comma).
pub(crate) fn ids_to_text(ids: &[String]) -> Option<String> {
    (!ids.is_empty()).then(|| ids.join(","))
}

/// The ids of [`ids_to_text`].
pub(crate) fn ids_from_text(text: Option<&str>) -> Vec<String> {
    text.map(|t| {
        t.split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_survives_its_columns() {
        let mut link = Link::new(
            FindingId::new("fnd_1").unwrap(),
            IssueKey::new("sec-12").unwrap(),
            "10012",
            FindingState::Triaged,
            5,
        );
        link.expected_statuses = vec![
            ExpectedStatus::passing("In Progress"),
            ExpectedStatus::arriving("Done", Some("Won't Do".into())),
        ];
        link.last_event_ms = Some(7);
        link.moving_until_ms = Some(9);
        let row = LinkRow::from_link(&link);
        assert_eq!(row.issue_key_norm, "SEC-12");
        assert_eq!(row.into_link().unwrap(), link);
    }
}
