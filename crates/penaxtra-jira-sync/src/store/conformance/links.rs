//! Links: idempotent, conflicting, found by key ignoring case, updated,
//! removed.

use super::key;
use super::{check, fid, ok, same};
use crate::store::{ExpectedStatus, Link, SyncStore};
use penaxtra_mapping::FindingState;

pub(super) async fn run(store: &dyn SyncStore) {
    const P: &str = "links";
    let f = fid("fnd_1");
    let link = Link::new(f.clone(), key("SEC-1"), "10001", FindingState::Open, 2_000);
    ok(
        P,
        "insert_link without a claim",
        store.insert_link(&link, None).await,
    );
    ok(P, "insert_link again", store.insert_link(&link, None).await);
    let other = Link::new(f.clone(), key("SEC-2"), "10002", FindingState::Open, 2_000);
    match store.insert_link(&other, None).await {
        Err(e) if e.code() == "store_conflict" => {}
        r => panic!(
            "store contract: {P}: linking a linked finding to another issue: got {r:?}, want store_conflict"
        ),
    }
    same(
        P,
        ok(P, "link", store.link(&f).await),
        Some(link.clone()),
        "the link reads back as written",
    );

    let mut updated = link.clone();
    updated.state_out = Some(FindingState::Triaged);
    updated.state_in = Some(FindingState::Resolved);
    updated.expected_statuses = vec![
        ExpectedStatus::passing("In Progress"),
        ExpectedStatus::arriving("Done", Some("Won't Do".into())),
        ExpectedStatus::arriving("Open", None),
    ];
    updated.last_event_ms = Some(5);
    updated.moving_until_ms = Some(2_500);
    updated.updated_ms = 2_100;
    ok(P, "update_link", store.update_link(&updated).await);
    // The store counted the version up: that is the copy to write next.
    let stale = updated.clone();
    updated.version += 1;
    same(
        P,
        ok(P, "link", store.link(&f).await),
        Some(updated.clone()),
        "every field of an update reads back, at the next version",
    );
    let mut late = stale.clone();
    late.state_out = Some(FindingState::Open);
    match store.update_link(&late).await {
        Err(e) if e.code() == "store_stale" => {}
        r => panic!(
            "store contract: {P}: an update from a copy read before the last update: got {r:?}, want store_stale"
        ),
    }
    same(
        P,
        ok(P, "link", store.link(&f).await),
        Some(updated.clone()),
        "a refused stale update changes nothing",
    );
    for k in ["SEC-1", "sec-1", "Sec-1"] {
        same(
            P,
            ok(P, "link_by_issue", store.link_by_issue(&key(k)).await),
            Some(updated.clone()),
            &format!("link_by_issue({k:?}): issue keys ignore ASCII case, as in Jira"),
        );
    }
    same(
        P,
        ok(
            P,
            "link_by_issue",
            store.link_by_issue(&key("SEC-11")).await,
        ),
        None,
        "no prefix match",
    );
    let lower = Link::new(
        fid("fnd_2"),
        key("ops-9"),
        "20009",
        FindingState::Open,
        2_000,
    );
    ok(P, "insert_link", store.insert_link(&lower, None).await);
    same(
        P,
        ok(P, "link_by_issue", store.link_by_issue(&key("OPS-9")).await).map(|l| l.issue_key),
        Some(key("OPS-9")),
        "a key given in lower case is kept as Jira spells it (upper case) and found",
    );
    let all = ok(P, "links", store.links().await);
    same(
        P,
        all.iter()
            .map(|l| l.finding_id.as_str())
            .collect::<Vec<_>>(),
        vec!["fnd_1", "fnd_2"],
        "links() lists every link by finding id",
    );
    let missing = Link::new(fid("fnd_9"), key("SEC-9"), "9", FindingState::Open, 0);
    match store.update_link(&missing).await {
        Err(e) if e.code() == "store_not_found" => {}
        r => {
            panic!("store contract: {P}: updating a missing link: got {r:?}, want store_not_found")
        }
    }
    check(
        P,
        ok(P, "link", store.link(&missing.finding_id).await).is_none(),
        "a failed update creates nothing",
    );

    // Moving a link to a new key (an issue moved between projects) moves
    // its lookup too.
    let mut moved = updated.clone();
    moved.issue_key = key("NEW-3");
    ok(P, "update_link", store.update_link(&moved).await);
    moved.version += 1;
    same(
        P,
        ok(P, "link_by_issue", store.link_by_issue(&key("new-3")).await),
        Some(moved.clone()),
        "found by its new key",
    );
    same(
        P,
        ok(P, "link_by_issue", store.link_by_issue(&key("SEC-1")).await),
        None,
        "not by its old key",
    );

    ok(P, "remove_link", store.remove_link(&f).await);
    check(
        P,
        ok(P, "link", store.link(&f).await).is_none(),
        "a removed link is gone",
    );
    same(
        P,
        ok(P, "link_by_issue", store.link_by_issue(&key("NEW-3")).await),
        None,
        "and so is its key",
    );
    ok(
        P,
        "remove_link of a missing link",
        store.remove_link(&f).await,
    );
}
