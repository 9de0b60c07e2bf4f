//! Leases renewed while a Jira call is in flight, and the guard that stops
//! a create made on a lease that may be lost.
//!
//! A claim (for a create) or a queued operation (for a state change) is a
//! short lease in the store. While the engine works on it, a keeper renews
//! it every third of the lease; when the process dies the renewals stop and
//! the lease runs out within one lease, which is how other processes see
//! that the holder is gone. A keeper stops renewing when dropped.
//!
//! **A lease is only as good as the holder's knowledge of it.** A process
//! that was paused (SIGSTOP, a frozen VM, a stall in the store's pool) may
//! wake after its claim expired and was taken; the store's fence refuses
//! its late writes to the store, but Jira cannot check a fence, so a create
//! sent then would make a second issue. A [`ClaimLease`] therefore keeps,
//! for each claim, a local *valid until* on the monotonic clock: the time
//! the claim (or its last successful renewal) was **sent** plus the lease.
//! The store set the expiry no earlier than that send, so the local view
//! never outlives the store's. The lease is the client's
//! [`SendGate`]: immediately before every attempt of a create the guard
//! renews if less than three quarters of the lease are left, refuses when a renewal said
//! the claim is gone or too little is left, and otherwise cuts the
//! attempt's timeout to what is left — so every attempt is over, on this
//! process's monotonic clock, before the store lets anyone take the claim.
//!
//! What remains (the failure model, stated in the README): a pause that
//! falls between the guard's last check and the request being written to
//! the socket is not covered; the claimant after it waits out the expiry,
//! a request timeout and the search window before it trusts Jira's search,
//! and healing closes whatever slips through. Renewals go one claim at a
//! time: a bulk chunk's 50 claims cost 50 store writes per renewal.

use crate::clock::duration_ms;
use crate::engine_core::Core;
use crate::store::{Fence, OpRef, SyncStore};
use async_trait::async_trait;
use jira_client::{Clock, GateClosed, SendGate};
use penaxtra_mapping::FindingId;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// One claim a [`ClaimLease`] holds.
#[derive(Debug)]
struct Held {
    finding: FindingId,
    fence: Fence,
    /// Monotonic time until which the claim is surely ours.
    valid_until: Mutex<Duration>,
}

/// What the keeper task and the gate share.
#[derive(Debug)]
struct LeaseState {
    store: Arc<dyn SyncStore>,
    clock: Arc<dyn Clock>,
    lease: Duration,
    claims: Vec<Held>,
    /// A renewal answered that a claim is no longer ours.
    lost: AtomicBool,
}

/// Below this share of the lease left, the gate renews before sending (the
/// keeper renews every third, so an attempt usually gets most of a lease).
const RENEW_BELOW: f64 = 0.75;
/// The share of the lease an attempt needs at least (after a renewal).
const SEND_AT_LEAST: u32 = 4;

impl LeaseState {
    /// Renews every claim once, recording each success from the moment
    /// its request was sent.
    async fn renew_all(&self) {
        let lease_ms = duration_ms(self.lease);
        for held in &self.claims {
            let sent = self.clock.monotonic();
            match self
                .store
                .renew(&held.finding, held.fence, self.clock.now_ms(), lease_ms)
                .await
            {
                Ok(true) => {
                    let mut until = held
                        .valid_until
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    *until = (*until).max(sent.saturating_add(self.lease));
                }
                Ok(false) => {
                    self.lost.store(true, Ordering::SeqCst);
                    tracing::warn!(finding = %held.finding, fence = %held.fence, "claim taken over; nothing more is sent on it");
                }
                Err(e) => {
                    tracing::warn!(finding = %held.finding, code = e.code(), "could not renew a claim");
                }
            }
        }
    }

    /// How long every claim is still surely ours.
    fn remaining(&self) -> Duration {
        let now = self.clock.monotonic();
        self.claims
            .iter()
            .map(|h| {
                h.valid_until
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .saturating_sub(now)
            })
            .min()
            .unwrap_or(Duration::ZERO)
    }
}

#[async_trait]
impl SendGate for LeaseState {
    async fn admit(&self) -> Result<Duration, GateClosed> {
        if !self.lost.load(Ordering::SeqCst) && self.remaining() < self.lease.mul_f64(RENEW_BELOW) {
            self.renew_all().await;
        }
        if self.lost.load(Ordering::SeqCst) {
            return Err(GateClosed::new(
                "the claim it was made under was taken over (the lease ran out while this process was paused or slow)",
            ));
        }
        let left = self.remaining();
        if left < self.lease / SEND_AT_LEAST {
            return Err(GateClosed::new(
                "the claim it was made under could not be renewed in time",
            ));
        }
        Ok(left)
    }
}

/// Claims held while their creates are made: renewed in the background
/// until dropped, and the [`SendGate`] of the client those creates go
/// through ([`ClaimLease::client`]).
pub(crate) struct ClaimLease {
    state: Arc<LeaseState>,
    task: tokio::task::JoinHandle<()>,
}

impl ClaimLease {
    /// Holds `claims`, each with the monotonic time its claim request was
    /// sent.
    pub(crate) fn hold(core: &Core, claims: Vec<(FindingId, Fence, Duration)>) -> Self {
        let lease = core.settings.claim_lease;
        let state = Arc::new(LeaseState {
            store: Arc::clone(&core.store),
            clock: Arc::clone(&core.clock),
            lease,
            claims: claims
                .into_iter()
                .map(|(finding, fence, sent)| Held {
                    finding,
                    fence,
                    valid_until: Mutex::new(sent.saturating_add(lease)),
                })
                .collect(),
            lost: AtomicBool::new(false),
        });
        let keeper = Arc::clone(&state);
        let task = tokio::spawn(async move {
            let every = (lease / 3).max(Duration::from_millis(10));
            loop {
                tokio::time::sleep(every).await;
                keeper.renew_all().await;
                if keeper.lost.load(Ordering::SeqCst) {
                    return;
                }
            }
        });
        Self { state, task }
    }

    /// The core's client, gated by these claims: every attempt it sends
    /// is checked against them first.
    pub(crate) fn client(&self, core: &Core) -> jira_client::JiraClient {
        core.client
            .gated(Arc::clone(&self.state) as Arc<dyn SendGate>)
    }
}

impl Drop for ClaimLease {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Renews queued operations in flight (state changes, a worker's batch)
/// until dropped, so that only a holder that died lets them fall due again.
pub(crate) struct OpLease {
    task: tokio::task::JoinHandle<()>,
}

impl OpLease {
    /// Keeps `ops` from falling due while they wait and run.
    pub(crate) fn hold(core: &Core, ops: Vec<OpRef>) -> Self {
        let store = Arc::clone(&core.store);
        let clock = Arc::clone(&core.clock);
        let lease = core.settings.claim_lease;
        let task = tokio::spawn(async move {
            let every = (lease / 3).max(Duration::from_millis(10));
            loop {
                tokio::time::sleep(every).await;
                let due = clock.now_ms() + duration_ms(lease);
                for op in &ops {
                    if let Err(e) = store.extend(*op, due).await {
                        tracing::warn!(op = %op.id, code = e.code(), "could not renew an operation in flight");
                    }
                }
            }
        });
        Self { task }
    }
}

impl Drop for OpLease {
    fn drop(&mut self) {
        self.task.abort();
    }
}
