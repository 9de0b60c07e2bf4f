//! Duplicates heal themselves: when Jira holds more than one issue for a
//! finding (a create whose answer was lost and that search did not show in
//! time, or a store restored from an old backup), reconciliation keeps the
//! oldest, links the finding to it, and closes the others as duplicates
//! with a comment that says why. Nothing is deleted.

use crate::error::SyncError;
use crate::reconcile::Reconciler;
use crate::store::{Link, PendingOp};
use jira_model::{
    AddCommentRequest, Description, EditIssueRequest, Flavor, Issue, IssueKey, StatusCategoryKey,
    adf, wiki,
};
use penaxtra_mapping::{DEDUP_LABEL_PREFIX, FindingId, FindingState, dedup_label};

/// The label a healed duplicate carries instead of its finding's dedup label.
pub const DUPLICATE_LABEL: &str = "penaxtra-duplicate";

/// The resolution a healed duplicate is closed with where the scheme has it.
const DUPLICATE_RESOLUTION: &str = "Duplicate";

impl Reconciler<'_> {
    /// The finding an issue was created for, by its finding-id field or its
    /// dedup label; `None` for an issue that carries neither.
    pub(crate) fn finding_of_issue(&self, issue: &Issue) -> Option<FindingId> {
        if let Some(field) = self.template.finding_id_field()
            && let Ok(values) = issue.field_values(field)
            && let Some(id) = values.iter().find_map(|v| FindingId::new(v.as_str()).ok())
            && issue.fields.labels.contains(&dedup_label(&id))
        {
            return Some(id);
        }
        issue.fields.labels.iter().find_map(|label| {
            let rest = label.strip_prefix(DEDUP_LABEL_PREFIX)?;
            let id = FindingId::new(rest).ok()?;
            (dedup_label(&id) == *label).then_some(id)
        })
    }

    /// `issue` carries the dedup label of `link`'s finding but is not the
    /// linked issue: keep the older of the two linked, close the other as
    /// a duplicate. Returns the key of the issue closed, `None` when it was
    /// closed already. Each step is idempotent, so a sweep after a crash
    /// finishes the job.
    pub(crate) async fn heal_duplicate(
        &self,
        link: &Link,
        issue: &Issue,
    ) -> Result<Option<IssueKey>, SyncError> {
        let client = &self.core.client;
        let fields = ["created", "status", "resolution", "labels"];
        let linked = client.get_issue(link.issue_key.as_str(), &fields).await?;
        // The sweep's copy may be stale (search lags): read it again.
        let issue = &client.get_issue(&issue.key, &fields).await?;
        let label = dedup_label(&link.finding_id);
        if !issue.fields.labels.contains(&label) {
            return Ok(None);
        }
        let (keep, close) = if older(issue, &linked) {
            (issue, &linked)
        } else {
            (&linked, issue)
        };
        if keep.key != link.issue_key.as_str() {
            self.relink(link, keep).await?;
        }
        tracing::warn!(finding = %link.finding_id, kept = %keep.key, duplicate = %close.key, "healing a duplicate issue");
        let note = format!(
            "Penaxtra created this issue more than once for finding {}. {} is the one kept and synced; this one is closed as its duplicate.",
            link.finding_id, keep.key
        );
        let body = match client.flavor() {
            Flavor::Cloud => Description::Adf(adf::doc(adf::paragraphs(&note))),
            _ => Description::Wiki(wiki::escape(&note).into_string()),
        };
        client
            .add_comment(&close.key, &AddCommentRequest::new(body))
            .await?;
        let status = client
            .get_issue(&close.key, &["status", "resolution"])
            .await?;
        let at = status.fields.status.as_ref();
        if at.map(|s| s.category_key()) != Some(StatusCategoryKey::Done) {
            let mut target = self.state_out.states.to_jira(FindingState::Resolved);
            target.resolution = Some(DUPLICATE_RESOLUTION.to_string());
            target.category = StatusCategoryKey::Done;
            let from = at.map(|s| s.name.clone()).unwrap_or_default();
            self.state_out
                .walk_to(&close.key, &from, &target, None)
                .await?;
        }
        // Last: without its dedup label, no search takes it for the
        // finding's issue again, and the next sweep leaves it alone.
        let mut labels: Vec<String> = close
            .fields
            .labels
            .iter()
            .filter(|l| **l != label)
            .cloned()
            .collect();
        if !labels.iter().any(|l| l == DUPLICATE_LABEL) {
            labels.push(DUPLICATE_LABEL.to_string());
        }
        client
            .edit_issue(
                &close.key,
                &EditIssueRequest::new().set("labels", serde_json::json!(labels)),
            )
            .await?;
        Ok(Some(IssueKey::new(&close.key)?))
    }

    /// Links the finding to `keep` instead, and queues the state change
    /// that brings `keep` to where the finding is.
    async fn relink(&self, link: &Link, keep: &Issue) -> Result<(), SyncError> {
        let store = &self.core.store;
        let mut moved = link.clone();
        moved.issue_key = IssueKey::new(&keep.key)?;
        moved.issue_id = keep.id.clone();
        moved.state_out = crate::state_out::state_of_issue(self.state_out.states, keep);
        moved.state_in = None;
        moved.expected_statuses.clear();
        moved.last_event_ms = None;
        moved.moving_until_ms = None;
        moved.updated_ms = self.core.now_ms();
        // Queue first: the change survives a crash between the two writes.
        if let Some(finding) = self.findings.finding(&link.finding_id).await? {
            store
                .enqueue(
                    &PendingOp::SetState {
                        finding: finding.id.clone(),
                        state: finding.state,
                    },
                    self.core.now_ms(),
                    Some("healed a duplicate: the kept issue follows the finding"),
                )
                .await?;
        }
        store.update_link(&moved).await?;
        Ok(())
    }
}

/// Whether `a` was created before `b` (by Jira's `created`, then by id).
fn older(a: &Issue, b: &Issue) -> bool {
    crate::jira_time::creation_order(a) < crate::jira_time::creation_order(b)
}
