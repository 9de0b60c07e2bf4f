//! Delivery marks expire: a webhook delivery id is remembered (to drop
//! Jira's redeliveries) only as long as Jira may redeliver it, then pruned
//! from the store, so the marks stay bounded however many webhooks arrive.

use crate::store::SyncStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Default [`crate::SyncSettings::delivery_retention`]: a week, far beyond
/// Jira Cloud's webhook retries (which end within hours).
pub const DEFAULT_DELIVERY_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Least time between two prunes by one process.
const PRUNE_EVERY_MS: i64 = 10 * 60 * 1000;

/// Prunes expired delivery marks, at most every ten minutes per process
/// (clones share the schedule).
#[derive(Debug, Clone)]
pub(crate) struct DeliveryPruner {
    retention_ms: i64,
    last_ms: Arc<AtomicI64>,
}

impl DeliveryPruner {
    pub(crate) fn new(retention: Duration) -> Self {
        Self {
            retention_ms: i64::try_from(retention.as_millis()).unwrap_or(i64::MAX),
            last_ms: Arc::new(AtomicI64::new(i64::MIN)),
        }
    }

    /// Prunes marks older than the retention when the last prune is more
    /// than ten minutes old; a store failure is logged and tried again
    /// next time (an unpruned mark only costs space).
    pub(crate) async fn maybe_prune(&self, store: &dyn SyncStore, now_ms: i64) {
        let last = self.last_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) < PRUNE_EVERY_MS
            || self
                .last_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        match store
            .prune_deliveries(now_ms.saturating_sub(self.retention_ms))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::debug!(pruned = n, "expired delivery marks pruned"),
            Err(e) => {
                tracing::warn!(code = e.code(), "could not prune delivery marks: {e}");
                self.last_ms.store(last, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[tokio::test]
    async fn prunes_what_expired_at_most_every_ten_minutes() {
        let store = MemoryStore::new();
        let pruner = DeliveryPruner::new(Duration::from_secs(60));
        assert!(store.first_delivery("old", 0).await.unwrap());
        assert!(store.first_delivery("new", 50_000).await.unwrap());
        pruner.maybe_prune(&store, 70_000).await;
        assert!(
            store.first_delivery("old", 70_000).await.unwrap(),
            "expired"
        );
        assert!(!store.first_delivery("new", 70_000).await.unwrap(), "kept");
        // Ten minutes have not passed: "new" (now expired) stays for now.
        pruner.maybe_prune(&store, 200_000).await;
        assert!(!store.first_delivery("new", 200_000).await.unwrap());
        pruner.maybe_prune(&store, 70_000 + PRUNE_EVERY_MS).await;
        assert!(store.first_delivery("new", 0).await.unwrap());
    }
}
