//! Leases renewed while a Jira call is in flight.
//!
//! A claim (for a create) or a queued operation (for a state change) is a
//! short lease in the store. While the engine works on it, a keeper renews
//! it every third of the lease; when the process dies the renewals stop and
//! the lease runs out within one lease, which is how other processes see
//! that the holder is gone. A keeper stops renewing when dropped.

use crate::engine::Core;
use crate::push::duration_ms;
use crate::store::{Fence, OpRef};
use penaxtra_mapping::FindingId;
use std::sync::Arc;

/// What a keeper renews.
enum Held {
    Claims(Vec<(FindingId, Fence)>),
    Op(OpRef),
}

/// Renews a lease in the background until dropped.
pub(crate) struct LeaseKeeper {
    task: tokio::task::JoinHandle<()>,
}

impl LeaseKeeper {
    /// Keeps these claims alive.
    pub(crate) fn claims(core: &Core, claims: Vec<(FindingId, Fence)>) -> Self {
        Self::spawn(core, Held::Claims(claims))
    }

    /// Keeps an in-flight queued operation from falling due.
    pub(crate) fn op(core: &Core, op: OpRef) -> Self {
        Self::spawn(core, Held::Op(op))
    }

    /// Renews with the core's store, on its clock, every third of its
    /// claim lease.
    fn spawn(core: &Core, held: Held) -> Self {
        let store = Arc::clone(&core.store);
        let clock = Arc::clone(&core.clock);
        let lease = core.settings.claim_lease;
        let task = tokio::spawn(async move {
            let every = (lease / 3).max(std::time::Duration::from_millis(10));
            loop {
                tokio::time::sleep(every).await;
                let now = clock.now_ms();
                let lease_ms = duration_ms(lease);
                match &held {
                    Held::Claims(claims) => {
                        for (finding, fence) in claims {
                            match store.renew(finding, *fence, now, lease_ms).await {
                                Ok(true) => {}
                                // Taken over: the fence refuses our later
                                // writes, so there is nothing to undo here.
                                Ok(false) => {
                                    tracing::debug!(finding = %finding, "claim taken over; its writes are fenced off");
                                }
                                Err(e) => {
                                    tracing::warn!(finding = %finding, code = e.code(), "could not renew a claim");
                                }
                            }
                        }
                    }
                    Held::Op(op) => {
                        if let Err(e) = store.extend(*op, now + lease_ms).await {
                            tracing::warn!(op = %op.id, code = e.code(), "could not renew an operation in flight");
                        }
                    }
                }
            }
        });
        Self { task }
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}
