//! Delivery marks and the sweep cursor.

use super::{check, ok, same};
use crate::store::{SweepCursor, SyncStore};

pub(super) async fn run(store: &dyn SyncStore) {
    const P: &str = "deliveries";
    check(
        P,
        !ok(P, "delivery_seen", store.delivery_seen("d1").await),
        "an unknown delivery is not seen",
    );
    check(
        P,
        ok(P, "first_delivery", store.first_delivery("d1", 1).await),
        "a new delivery is first",
    );
    check(
        P,
        ok(P, "delivery_seen", store.delivery_seen("d1").await),
        "a recorded delivery is seen",
    );
    check(
        P,
        !ok(P, "first_delivery", store.first_delivery("d1", 2).await),
        "a repeated delivery is not",
    );
    ok(P, "forget_delivery", store.forget_delivery("d1").await);
    check(
        P,
        !ok(P, "delivery_seen", store.delivery_seen("d1").await),
        "a forgotten delivery is not seen",
    );
    check(
        P,
        ok(P, "first_delivery", store.first_delivery("d1", 3).await),
        "a forgotten delivery is first again",
    );
    ok(
        P,
        "forget_delivery of an unknown id",
        store.forget_delivery("nope").await,
    );
    check(
        P,
        ok(P, "first_delivery", store.first_delivery("d2", 10).await),
        "another delivery",
    );
    check(
        P,
        ok(P, "first_delivery", store.first_delivery("d3", 20).await),
        "another delivery",
    );
    same(
        P,
        ok(P, "prune_deliveries", store.prune_deliveries(10).await),
        1,
        "pruning forgets marks seen before the time, not at it",
    );
    check(
        P,
        ok(P, "first_delivery", store.first_delivery("d1", 30).await),
        "a pruned mark is forgotten",
    );
    check(
        P,
        !ok(P, "first_delivery", store.first_delivery("d2", 30).await),
        "a mark seen at the time stays",
    );
    check(
        P,
        !ok(P, "first_delivery", store.first_delivery("d3", 30).await),
        "a newer mark stays",
    );
    same(
        P,
        ok(P, "prune_deliveries", store.prune_deliveries(0).await),
        0,
        "nothing older",
    );

    const C: &str = "sweep cursor";
    same(
        C,
        ok(C, "sweep_cursor", store.sweep_cursor().await),
        None,
        "no cursor at first",
    );
    ok(
        C,
        "set_sweep_cursor",
        store.set_sweep_cursor(&SweepCursor::new(77)).await,
    );
    same(
        C,
        ok(C, "sweep_cursor", store.sweep_cursor().await),
        Some(SweepCursor::new(77)),
        "the cursor reads back",
    );
    ok(
        C,
        "set_sweep_cursor",
        store.set_sweep_cursor(&SweepCursor::new(78)).await,
    );
    same(
        C,
        ok(C, "sweep_cursor", store.sweep_cursor().await),
        Some(SweepCursor::new(78)),
        "and is replaced",
    );
}
