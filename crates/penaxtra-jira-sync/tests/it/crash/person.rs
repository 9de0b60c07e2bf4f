//! A person in Jira: while the replicas work and die, Alex closes some
//! issues by hand (Done, Won't Do or Cancelled), so webhooks carry real
//! decisions that must reach the shared host, through whichever replica
//! is alive, or through reconciliation when none was.

use crate::support::alex;
use jira_model::TransitionRequest;
use jira_sim::JiraSim;
use penaxtra_jira_sync::store::SyncStore;
use penaxtra_mapping::FindingId;
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use std::collections::BTreeSet;

/// Closes up to `n` linked issues with nothing queued for their finding
/// and not already done, skipping `avoid`; answers the findings whose issue
/// was closed.
pub async fn closes_some(
    sim: &JiraSim,
    store: &dyn SyncStore,
    n: usize,
    avoid: &BTreeSet<FindingId>,
    rng: &mut StdRng,
) -> Vec<FindingId> {
    let queued: BTreeSet<FindingId> = store
        .pending()
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.op.finding().clone())
        .collect();
    let mut links = store.links().await.unwrap();
    links.shuffle(rng);
    let person = alex(sim);
    let mut closed = Vec::new();
    for link in links {
        if closed.len() >= n {
            break;
        }
        if queued.contains(&link.finding_id) || avoid.contains(&link.finding_id) {
            continue;
        }
        let Some(issue) = sim.issue(link.issue_key.as_str()) else {
            continue;
        };
        if issue.status_category == jira_model::StatusCategoryKey::Done {
            continue;
        }
        let Ok(transitions) = person.transitions(link.issue_key.as_str()).await else {
            continue;
        };
        let done: Vec<_> = transitions
            .iter()
            .filter(|t| matches!(t.to.name.as_str(), "Done" | "Won't Do" | "Cancelled"))
            .collect();
        let Some(t) = done.get(rng.gen_range(0..done.len().max(1))) else {
            continue;
        };
        let mut request = TransitionRequest::new(t.id.clone());
        if t.has_field("resolution") {
            request = request.with_resolution(match t.to.name.as_str() {
                "Won't Do" => "Won't Do",
                "Cancelled" => "Cancelled",
                _ => "Done",
            });
        }
        if person
            .transition(link.issue_key.as_str(), &request)
            .await
            .is_ok()
        {
            closed.push(link.finding_id.clone());
        }
    }
    closed
}
