//! Parked work a person can act on: listed with its code and fix, retried
//! once the cause is fixed, or dropped with a reason.

use crate::support::*;
use jira_model::Flavor;
use jira_sim::{SimConfig, accounts};
use penaxtra_jira_sync::parked::{self, ParkedAction};
use penaxtra_jira_sync::store::{MemoryStore, SyncStore};
use penaxtra_jira_sync::{JiraSync, MemoryFindings, PushKind};
use penaxtra_mapping::{FindingState, Severity};
use std::sync::Arc;

#[tokio::test]
async fn parked_work_is_listed_retried_and_dropped() {
    let sim = sim(SimConfig::new(Flavor::Cloud)).await;
    let findings = [
        finding(1, Severity::High, FindingState::Open),
        finding(2, Severity::Critical, FindingState::Open),
    ];
    let host = Arc::new(MemoryFindings::with(findings.clone()));
    let store: Arc<dyn SyncStore> = Arc::new(MemoryStore::new());
    // A service account without the Create Issues permission.
    let readonly = client_as(
        &sim,
        accounts::READONLY_EMAIL,
        accounts::READONLY_API_TOKEN,
        accounts::READONLY_PAT,
    );
    let denied = JiraSync::builder(readonly, Arc::clone(&store), Arc::clone(&host) as _)
        .settings(fast_settings())
        .build()
        .unwrap();
    for f in &findings {
        assert_eq!(denied.push(f).await.unwrap().kind(), PushKind::Failed);
    }
    let listed = denied.parked().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed.iter().all(|p| p.code == "issue_create_forbidden"),
        "{listed:?}"
    );
    assert!(listed[0].message.contains("Create Issues"), "{listed:?}");

    // The permission is fixed: one is retried, the other dropped.
    let fixed = engine(client(&sim), Arc::clone(&store), Arc::clone(&host));
    let (first, second) = (listed[0].id, listed[1].id);
    assert!(matches!(
        fixed.retry_parked(first).await.unwrap(),
        ParkedAction::Retried(_)
    ));
    match fixed
        .drop_parked(second, "closed by hand in Jira")
        .await
        .unwrap()
    {
        ParkedAction::Dropped(p) => assert_eq!(p.id, second),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        fixed.drop_parked(second, "again").await.unwrap(),
        ParkedAction::NotFound(second)
    );
    assert!(fixed.parked().await.unwrap().is_empty());
    drain(&fixed, 20).await;
    assert_eq!(sim.issues().len(), 1, "the retried create ran");
    assert!(store.pending().await.unwrap().is_empty());

    // retry_all: park again, then everything comes back.
    let denied_again = JiraSync::builder(
        client_as(
            &sim,
            accounts::READONLY_EMAIL,
            accounts::READONLY_API_TOKEN,
            accounts::READONLY_PAT,
        ),
        Arc::clone(&store),
        Arc::clone(&host) as _,
    )
    .settings(fast_settings())
    .build()
    .unwrap();
    denied_again.push(&findings[1]).await.unwrap();
    assert_eq!(parked::list(store.as_ref()).await.unwrap().len(), 1);
    assert_eq!(fixed.retry_all_parked().await.unwrap(), 1);
    drain(&fixed, 20).await;
    assert_eq!(sim.issues().len(), 2);
}
