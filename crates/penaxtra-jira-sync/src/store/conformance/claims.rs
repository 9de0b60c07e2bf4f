//! Claims, recovery of dead holders' claims, parked recreates.

use super::key;
use super::{acquired, check, fid, ok, same};
use crate::store::{Claim, Link, PendingOp, Release, SyncStore};
use penaxtra_mapping::FindingState;

pub(super) async fn run(store: &dyn SyncStore) {
    const P: &str = "claims";
    let f = fid("fnd_1");
    let (fa, doubt) = acquired(
        P,
        "a first claim",
        ok(P, "claim", store.claim(&f, "a", 1_000, 100).await),
    );
    same(P, doubt, None, "a first claim has no doubt");
    same(
        P,
        ok(P, "claim", store.claim(&f, "b", 1_050, 100).await),
        Claim::Busy,
        "a live claim is exclusive",
    );
    same(
        P,
        ok(P, "claim", store.claim(&f, "a", 1_060, 100).await),
        Claim::Busy,
        "a live claim is exclusive even for its own owner (an engine's tasks share a name)",
    );
    check(
        P,
        ok(P, "renew", store.renew(&f, fa, 1_090, 100).await),
        "the holder renews its claim",
    );
    same(
        P,
        ok(P, "claim", store.claim(&f, "b", 1_150, 100).await),
        Claim::Busy,
        "a renewed claim holds until its new expiry (1_190)",
    );
    let (fb, doubt) = acquired(
        P,
        "an expired claim",
        ok(P, "claim", store.claim(&f, "b", 1_200, 100).await),
    );
    check(
        P,
        fb > fa,
        format!("every claim gets a larger fence ({fb} after {fa})"),
    );
    same(
        P,
        doubt,
        Some(1_190),
        "an expired claim leaves doubt up to its expiry (its holder may have reached Jira)",
    );
    check(
        P,
        !ok(P, "renew", store.renew(&f, fa, 1_210, 100).await),
        "a stale fence cannot renew",
    );
    check(
        P,
        !ok(P, "release", store.release(&f, fa, Release::Cleared).await),
        "a stale fence cannot release",
    );
    let stale = Link::new(f.clone(), key("SEC-7"), "10007", FindingState::Open, 1_210);
    match store.insert_link(&stale, Some(fa)).await {
        Err(e) if e.code() == "store_fenced" => {}
        other => panic!(
            "store contract: {P}: a stale fence cannot link: got {other:?}, want store_fenced"
        ),
    }
    check(
        P,
        ok(P, "link", store.link(&f).await).is_none(),
        "a refused link changes nothing",
    );
    same(
        P,
        ok(P, "claim", store.claim(&f, "c", 1_250, 100).await),
        Claim::Busy,
        "the new holder still holds",
    );
    check(
        P,
        ok(
            P,
            "release",
            store
                .release(&f, fb, Release::Raised { at_ms: 1_260 })
                .await,
        ),
        "the holder releases in doubt",
    );
    let (fc, doubt) = acquired(
        P,
        "after a release in doubt",
        ok(P, "claim", store.claim(&f, "c", 1_270, 100).await),
    );
    same(
        P,
        doubt,
        Some(1_260),
        "the next claimant is told since when there is doubt",
    );

    let g = fid("fnd_2");
    let (fg, _) = acquired(
        P,
        "another finding",
        ok(P, "claim", store.claim(&g, "a", 1_000, 100).await),
    );
    check(
        P,
        ok(P, "release", store.release(&g, fg, Release::Cleared).await),
        "a clean release",
    );
    let (fg2, doubt) = acquired(
        P,
        "after a clean release",
        ok(P, "claim", store.claim(&g, "b", 1_001, 100).await),
    );
    same(P, doubt, None, "a clean release forgets the claim");
    check(
        P,
        ok(P, "claims", store.claims().await)
            .iter()
            .any(|(id, owner, _)| *id == g && owner.as_deref() == Some("b")),
        "claims() lists a live claim with its holder",
    );
    check(
        P,
        ok(
            P,
            "release",
            store
                .release(&g, fg2, Release::Raised { at_ms: 1_002 })
                .await,
        ),
        "release in doubt",
    );
    check(
        P,
        ok(P, "claims", store.claims().await)
            .iter()
            .any(|(id, owner, doubt)| *id == g && owner.is_none() && *doubt == Some(1_002)),
        "claims() lists a claim released in doubt without holder, with its doubt",
    );

    // A link made under the live fence ends the claim.
    let link = Link::new(f.clone(), key("SEC-1"), "10001", FindingState::Open, 2_000);
    ok(
        P,
        "insert_link under the live fence",
        store.insert_link(&link, Some(fc)).await,
    );
    check(
        P,
        ok(P, "claims", store.claims().await)
            .iter()
            .all(|(id, ..)| *id != f),
        "the link ended the claim",
    );
    match ok(P, "claim", store.claim(&f, "d", 2_001, 100).await) {
        Claim::Linked(l) => same(P, l, link, "a linked finding answers its link"),
        other => panic!("store contract: {P}: a linked finding: got {other:?}, want Linked"),
    }
}

pub(super) async fn recovery(store: &dyn SyncStore) {
    const P: &str = "recovery";
    let h = fid("fnd_3");
    let (fh, _) = acquired(
        P,
        "a claim",
        ok(P, "claim", store.claim(&h, "dead", 3_000, 100).await),
    );
    check(
        P,
        ok(P, "recover_orphans", store.recover_orphans(3_050).await).is_empty(),
        "a live claim is not recovered",
    );
    same(
        P,
        ok(P, "recover_orphans", store.recover_orphans(3_200).await),
        vec![h.clone()],
        "an expired claim becomes a queued create",
    );
    check(
        P,
        ok(P, "recover_orphans", store.recover_orphans(3_300).await).is_empty(),
        "it is queued once",
    );
    let queued = ok(P, "due", store.due(3_300, 10).await);
    same(P, queued.len(), 1, "one queued operation");
    same(
        P,
        queued[0].op.clone(),
        PendingOp::Create { finding: h.clone() },
        "a create",
    );
    check(
        P,
        !queued[0].parked && queued[0].due_ms <= 3_300,
        "due at once",
    );
    let (next, doubt) = acquired(
        P,
        "after recovery",
        ok(P, "claim", store.claim(&h, "next", 3_300, 100).await),
    );
    same(P, doubt, Some(3_100), "the next claimant checks Jira first");
    check(
        P,
        !ok(P, "renew", store.renew(&h, fh, 3_300, 100).await),
        "the dead holder's fence is stale",
    );
    check(
        P,
        ok(
            P,
            "release",
            store.release(&h, next, Release::Cleared).await,
        ),
        "Jira had nothing: a clean release",
    );
    check(
        P,
        ok(P, "complete", store.complete(queued[0].op_ref()).await),
        "the create completes",
    );

    // Released in doubt: recovered too; a linked or already queued one not.
    let i = fid("fnd_4");
    let (fi, _) = acquired(
        P,
        "a claim",
        ok(P, "claim", store.claim(&i, "a", 4_000, 10_000).await),
    );
    check(
        P,
        ok(
            P,
            "release",
            store
                .release(&i, fi, Release::Raised { at_ms: 4_001 })
                .await,
        ),
        "release in doubt",
    );
    let j = fid("fnd_5");
    let (fj, _) = acquired(
        P,
        "a claim",
        ok(P, "claim", store.claim(&j, "a", 4_000, 100).await),
    );
    ok(
        P,
        "insert_link",
        store
            .insert_link(
                &Link::new(j.clone(), key("SEC-5"), "5", FindingState::Open, 4_000),
                Some(fj),
            )
            .await,
    );
    let k = fid("fnd_6");
    acquired(
        P,
        "a claim",
        ok(P, "claim", store.claim(&k, "a", 4_000, 100).await),
    );
    ok(
        P,
        "enqueue",
        store
            .enqueue(&PendingOp::Create { finding: k.clone() }, 9_000, None)
            .await,
    );
    same(
        P,
        ok(P, "recover_orphans", store.recover_orphans(4_500).await),
        vec![i.clone()],
        "a claim released in doubt is recovered; a linked finding or one with a queued create is not",
    );
}

pub(super) async fn parked_recreate(store: &dyn SyncStore) {
    const P: &str = "parked recreate";
    let k = fid("fnd_4");
    let rec = PendingOp::Recreate {
        finding: k.clone(),
        deleted_issue: key("SEC-4"),
    };
    let rr = ok(P, "enqueue", store.enqueue(&rec, 1, None).await);
    ok(P, "park", store.park(rr, "issue_deleted: SEC-4").await);
    match ok(P, "claim", store.claim(&k, "a", 4_000, 100).await) {
        Claim::Parked { reason } => check(
            P,
            reason.contains("SEC-4"),
            format!("the reason is the parked error, got {reason:?}"),
        ),
        other => panic!(
            "store contract: {P}: a finding with a parked recreate: got {other:?}, want Parked"
        ),
    }
    // A parked plain create does not hold the finding.
    let m = fid("fnd_7");
    let rm = ok(
        P,
        "enqueue",
        store
            .enqueue(&PendingOp::Create { finding: m.clone() }, 1, None)
            .await,
    );
    ok(P, "park", store.park(rm, "unauthorized").await);
    acquired(
        P,
        "a finding whose plain create is parked",
        ok(P, "claim", store.claim(&m, "a", 4_000, 100).await),
    );
    same(
        P,
        ok(P, "unpark_all", store.unpark_all(4_000).await),
        2,
        "unpark_all answers how many",
    );
    acquired(
        P,
        "after unparking",
        ok(P, "claim", store.claim(&k, "a", 4_000, 100).await),
    );
    let due = ok(P, "due", store.due(4_000, 10).await);
    same(P, due.len(), 2, "unparked operations are due");
    for q in due {
        check(
            P,
            ok(P, "complete", store.complete(q.op_ref()).await),
            "an unparked operation completes",
        );
    }
}

/// What the claim protocol asks beyond exclusion: doubt that keeps its
/// origin and age, releases that leave exactly what they say, and the ids
/// of created issues handed to the next claimant whatever the fence.
pub(super) async fn doubt(store: &dyn SyncStore) {
    const P: &str = "claims: doubt";
    let f = fid("fnd_doubt_1");
    let (fa, _) = acquired(
        P,
        "a first claim",
        ok(P, "claim", store.claim(&f, "a", 1_000, 100).await),
    );
    match ok(P, "claim", store.claim(&f, "b", 1_400, 100).await) {
        Claim::Acquired { doubt: Some(d), .. } => {
            same(
                P,
                d.since_ms,
                1_100,
                "an expired claim's doubt starts at its expiry",
            );
            check(
                P,
                d.expired_holder,
                "an expired claim's doubt says its holder expired (its last write may commit a request timeout later)",
            );
            same(
                P,
                d.age_ms,
                300,
                "the doubt's age is measured when it is claimed",
            );
        }
        other => panic!("store contract: {P}: an expired claim: got {other:?}, want doubt"),
    }
    check(
        P,
        !ok(P, "renew", store.renew(&f, fa, 1_410, 100).await),
        "the expired holder cannot renew a taken claim",
    );

    // Ids recorded whatever the fence, handed to the next claimant.
    ok(
        P,
        "note_created by the fenced-out holder",
        store
            .note_created(std::slice::from_ref(&f), &["10001".to_string()])
            .await,
    );
    // A fenced-out holder that may have created raises the doubt of the
    // claim that is there now, and changes nothing else.
    check(
        P,
        !ok(
            P,
            "release",
            store
                .release(&f, fa, Release::Raised { at_ms: 1_450 })
                .await,
        ),
        "a stale fence's release answers false",
    );
    same(
        P,
        ok(P, "claim", store.claim(&f, "c", 1_460, 100).await),
        Claim::Busy,
        "the current holder still holds after a stale release",
    );
    let fb = match ok(P, "claim", store.claim(&f, "c", 1_600, 100).await) {
        Claim::Acquired {
            fence,
            doubt: Some(d),
        } => {
            same(
                P,
                d.since_ms,
                1_500,
                "the later of the raised doubt (1_450) and the expiry (1_500)",
            );
            same(
                P,
                d.issue_ids,
                vec!["10001".to_string()],
                "the next claimant is told the ids attempts created",
            );
            fence
        }
        other => panic!("store contract: {P}: after a raised doubt: got {other:?}"),
    };

    // A release that sent nothing keeps the doubt exactly as it was.
    check(
        P,
        ok(P, "release", store.release(&f, fb, Release::Kept).await),
        "the holder releases, having sent nothing",
    );
    match ok(P, "claim", store.claim(&f, "d", 1_700, 100).await) {
        Claim::Acquired {
            fence,
            doubt: Some(d),
        } => {
            same(P, d.since_ms, 1_500, "a kept doubt keeps its time");
            check(P, d.expired_holder, "a kept doubt keeps its origin");
            same(P, d.age_ms, 200, "and ages");
            same(
                P,
                d.issue_ids,
                vec!["10001".to_string()],
                "and keeps its ids",
            );
            check(
                P,
                ok(
                    P,
                    "release",
                    store.release(&f, fence, Release::Cleared).await,
                ),
                "a clean release after checking Jira",
            );
        }
        other => panic!("store contract: {P}: after a kept doubt: got {other:?}"),
    }
    match ok(P, "claim", store.claim(&f, "e", 1_800, 100).await) {
        Claim::Acquired { fence, doubt: None } => {
            check(
                P,
                ok(P, "release", store.release(&f, fence, Release::Kept).await),
                "a release with no doubt to keep",
            );
        }
        other => panic!("store contract: {P}: a cleared claim: got {other:?}, want no doubt"),
    }
    check(
        P,
        ok(P, "claims", store.claims().await)
            .iter()
            .all(|(id, ..)| *id != f),
        "a kept release of a claim without doubt forgets it",
    );

    // Ids are not recorded for a linked finding.
    let g = fid("fnd_doubt_2");
    let (fg, _) = acquired(
        P,
        "a claim",
        ok(P, "claim", store.claim(&g, "a", 2_000, 100).await),
    );
    ok(
        P,
        "insert_link",
        store
            .insert_link(
                &Link::new(g.clone(), key("SEC-2"), "10002", FindingState::Open, 2_001),
                Some(fg),
            )
            .await,
    );
    ok(
        P,
        "note_created for a linked finding",
        store
            .note_created(std::slice::from_ref(&g), &["10003".to_string()])
            .await,
    );
    check(
        P,
        ok(P, "claims", store.claims().await)
            .iter()
            .all(|(id, ..)| *id != g),
        "note_created makes no claim for a linked finding",
    );
}
