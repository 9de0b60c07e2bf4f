//! Connections: two handles of one backend serving two connections see
//! and change nothing of each other's, even with the same finding ids,
//! issue keys, delivery ids and budget names, and even when one is handed
//! the other's operation references and fences.

use super::{acquired, check, fid, key, ok, same};
use crate::store::{BudgetRate, Link, PendingOp, RateBudgetStore, Release, SweepCursor, SyncStore};
use penaxtra_mapping::FindingState;
use std::num::NonZeroU32;

const P: &str = "isolation";

pub(super) async fn run(a: &dyn SyncStore, b: &dyn SyncStore) {
    check(
        P,
        a.connection() != b.connection(),
        format!(
            "the two handles must serve two connections, both serve {}",
            a.connection()
        ),
    );
    claims(a, b).await;
    links(a, b).await;
    queue(a, b).await;
    deliveries(a, b).await;
}

async fn claims(a: &dyn SyncStore, b: &dyn SyncStore) {
    let f = fid("fnd_iso_claim");
    let (fence_a, _) = acquired(
        P,
        "claim in A",
        ok(P, "claim", a.claim(&f, "owner-a", 1_000, 500).await),
    );
    // The same finding id is another finding in B: free to claim.
    let (fence_b, doubt_b) = acquired(
        P,
        "the same finding id claimed in B while A holds it",
        ok(P, "claim", b.claim(&f, "owner-b", 1_000, 1_000_000).await),
    );
    same(P, doubt_b, None, "B's first claim inherits no doubt from A");
    // A's fence means nothing in B, and the other way round.
    let g = fid("fnd_iso_only_a");
    let (fence_g, _) = acquired(
        P,
        "claim in A",
        ok(P, "claim", a.claim(&g, "owner-a", 1_000, 500).await),
    );
    check(
        P,
        !ok(P, "renew", b.renew(&g, fence_g, 1_100, 500).await),
        "B renews a claim only A has",
    );
    check(
        P,
        !ok(P, "release", b.release(&g, fence_g, Release::Cleared).await),
        "B releases a claim only A has",
    );
    let link = Link::new(g.clone(), key("SEC-9"), "19", FindingState::Open, 1_100);
    match b.insert_link(&link, Some(fence_g)).await {
        Err(e) if e.code() == "store_fenced" => {}
        r => panic!(
            "store contract: {P}: B links on a fence of A's claim: got {r:?}, want store_fenced"
        ),
    }
    same(
        P,
        ok(P, "link", a.link(&g).await),
        None,
        "A's finding stays unlinked",
    );
    check(
        P,
        ok(P, "renew", a.renew(&g, fence_g, 1_100, 500).await),
        "A's claim still holds after B's attempts",
    );
    let in_b: Vec<_> = ok(P, "claims", b.claims().await)
        .into_iter()
        .map(|(f, ..)| f)
        .collect();
    same(P, in_b, vec![f.clone()], "B lists its own claims only");
    // Expired in A: B's recovery pass does not turn it into B's create.
    let recovered = ok(P, "recover_orphans", b.recover_orphans(10_000).await);
    check(
        P,
        !recovered.contains(&g),
        "B's recovery takes over a claim of A's",
    );
    same(
        P,
        ok(P, "pending", b.pending().await)
            .iter()
            .filter(|q| q.op.finding() == &g)
            .count(),
        0,
        "B's queue holds nothing of A's claims",
    );
    check(
        P,
        ok(P, "release", a.release(&f, fence_a, Release::Cleared).await),
        "A releases its own claim",
    );
    check(
        P,
        ok(P, "renew", b.renew(&f, fence_b, 1_200, 500).await),
        "B's claim on the same finding id survives A's release",
    );
}

async fn links(a: &dyn SyncStore, b: &dyn SyncStore) {
    let f = fid("fnd_iso_link");
    let in_a = Link::new(f.clone(), key("SEC-1"), "10001", FindingState::Open, 2_000);
    ok(P, "insert_link in A", a.insert_link(&in_a, None).await);
    same(P, ok(P, "link", b.link(&f).await), None, "B sees A's link");
    same(
        P,
        ok(P, "link_by_issue", b.link_by_issue(&key("SEC-1")).await),
        None,
        "B finds A's issue key",
    );
    check(
        P,
        ok(P, "links", b.links().await).is_empty(),
        "B lists A's links",
    );
    // Same finding id and same issue key in B: another tenant's SEC-1.
    let in_b = Link::new(
        f.clone(),
        key("SEC-1"),
        "77001",
        FindingState::Triaged,
        2_000,
    );
    ok(
        P,
        "insert_link of the same finding and key in B",
        b.insert_link(&in_b, None).await,
    );
    same(
        P,
        ok(P, "link_by_issue", a.link_by_issue(&key("sec-1")).await).map(|l| l.issue_id),
        Some("10001".to_string()),
        "A's SEC-1 is still A's issue",
    );
    same(
        P,
        ok(P, "link_by_issue", b.link_by_issue(&key("SEC-1")).await).map(|l| l.issue_id),
        Some("77001".to_string()),
        "B's SEC-1 is B's issue",
    );
    // An update written through B with A's copy changes B's row only
    // (and only if B's version matches).
    let mut through_b = ok(P, "link", a.link(&f).await).unwrap_or_else(|| in_a.clone());
    through_b.state_out = Some(FindingState::Resolved);
    let _ = b.update_link(&through_b).await;
    same(
        P,
        ok(P, "link", a.link(&f).await).and_then(|l| l.state_out),
        in_a.state_out,
        "an update through B reaches A's link",
    );
    ok(P, "remove_link in B", b.remove_link(&f).await);
    same(
        P,
        ok(P, "link", a.link(&f).await).map(|l| l.issue_id),
        Some("10001".to_string()),
        "B's removal leaves A's link",
    );
    same(P, ok(P, "link", b.link(&f).await), None, "B's link is gone");
}

async fn queue(a: &dyn SyncStore, b: &dyn SyncStore) {
    let f = fid("fnd_iso_queue");
    let op = PendingOp::Create { finding: f.clone() };
    let ra = ok(P, "enqueue in A", a.enqueue(&op, 100, None).await);
    let parked_op = PendingOp::SetState {
        finding: f.clone(),
        state: FindingState::Resolved,
    };
    let rp = ok(P, "enqueue in A", a.enqueue(&parked_op, 100, None).await);
    ok(P, "park in A", a.park(rp, "needs a person").await);
    check(
        P,
        ok(P, "due", b.due(1_000, 10).await).is_empty(),
        "B sees A's due operations",
    );
    check(
        P,
        ok(P, "pending", b.pending().await).is_empty(),
        "B lists A's queue",
    );
    check(
        P,
        ok(P, "take_due", b.take_due(1_000, 10, 5_000).await).is_empty(),
        "B's worker takes A's operations",
    );
    let counts = ok(P, "work_counts", b.work_counts().await);
    same(
        P,
        (counts.queued, counts.parked, counts.next_due_ms),
        (0, 0, None),
        "B counts A's queue",
    );
    // A's references, used through B, touch nothing.
    check(
        P,
        !ok(P, "complete", b.complete(ra).await),
        "B completes A's operation",
    );
    ok(P, "reschedule", b.reschedule(ra, 9_000, "boom").await);
    let _ = ok(P, "extend", b.extend(ra, 9_000).await);
    ok(P, "park", b.park(ra, "by B").await);
    same(
        P,
        ok(P, "unpark_all in B", b.unpark_all(1_000).await),
        0,
        "B unparks A's parked operations",
    );
    let left = ok(P, "pending", a.pending().await);
    let mine = left.iter().find(|q| q.id == ra.id);
    match mine {
        Some(q) => {
            same(P, q.attempts, 0, "A's operation counted an attempt of B's");
            same(P, q.due_ms, 100, "A's operation moved by B");
            check(P, !q.parked, "A's operation parked by B");
        }
        None => panic!("store contract: {P}: A's operation was removed through B"),
    }
    check(
        P,
        left.iter().any(|q| q.id == rp.id && q.parked),
        "A's parked operation stays parked",
    );
    // The same operation queued in B is B's own row.
    let rb = ok(P, "enqueue in B", b.enqueue(&op, 100, None).await);
    let taken = ok(P, "take_due", b.take_due(1_000, 10, 5_000).await);
    same(
        P,
        taken.iter().map(|q| q.id).collect::<Vec<_>>(),
        vec![rb.id],
        "B takes its own operation only",
    );
    check(
        P,
        ok(P, "complete", b.complete(rb).await),
        "B completes its own",
    );
    same(
        P,
        ok(P, "pending", a.pending().await).len(),
        2,
        "A's queue is whole",
    );
}

async fn deliveries(a: &dyn SyncStore, b: &dyn SyncStore) {
    check(
        P,
        ok(P, "first_delivery", a.first_delivery("d-1", 100).await),
        "A sees d-1 first",
    );
    check(
        P,
        ok(P, "first_delivery", b.first_delivery("d-1", 100).await),
        "the same delivery id is new in B",
    );
    check(
        P,
        ok(P, "first_delivery", a.first_delivery("d-only-a", 100).await),
        "A sees d-only-a first",
    );
    check(
        P,
        !ok(P, "delivery_seen", b.delivery_seen("d-only-a").await),
        "B has seen A's delivery",
    );
    ok(P, "forget_delivery", b.forget_delivery("d-only-a").await);
    same(
        P,
        ok(P, "prune_deliveries", b.prune_deliveries(1_000).await),
        1,
        "B prunes its own mark only",
    );
    check(
        P,
        ok(P, "delivery_seen", a.delivery_seen("d-only-a").await)
            && ok(P, "delivery_seen", a.delivery_seen("d-1").await),
        "B's forget and prune reach A's marks",
    );
    ok(
        P,
        "set_sweep_cursor",
        a.set_sweep_cursor(&SweepCursor::new(42)).await,
    );
    same(
        P,
        ok(P, "sweep_cursor", b.sweep_cursor().await),
        None,
        "B reads A's sweep cursor",
    );
    ok(
        P,
        "set_sweep_cursor",
        b.set_sweep_cursor(&SweepCursor::new(7)).await,
    );
    same(
        P,
        ok(P, "sweep_cursor", a.sweep_cursor().await),
        Some(SweepCursor::new(42)),
        "B's cursor overwrote A's",
    );
}

/// Budgets of the same name on two connections are two budgets.
pub(super) async fn budgets<S: RateBudgetStore + ?Sized>(a: &S, b: &S) {
    let nz = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    let rate = BudgetRate::new(nz(10), nz(1));
    let t0 = 1_700_000_000_000_000;
    same(
        P,
        ok(
            P,
            "reserve_request",
            a.reserve_request("jira", t0, rate).await,
        ),
        0,
        "A's first request",
    );
    same(
        P,
        ok(
            P,
            "reserve_request",
            b.reserve_request("jira", t0, rate).await,
        ),
        0,
        "B's budget of the same name is not A's (no wait)",
    );
    same(
        P,
        ok(
            P,
            "reserve_request",
            a.reserve_request("jira", t0, rate).await,
        ),
        100_000,
        "A's budget counted A's request",
    );
}
