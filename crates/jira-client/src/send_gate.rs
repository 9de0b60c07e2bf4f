//! A caller's last word before each attempt of a request is sent.
//!
//! Jira cannot check a fencing token: once a create leaves the process, it
//! may commit whatever the caller's claim on the work has become meanwhile.
//! The only place to stop a write made on a claim that may be lost is the
//! moment before it is sent. A [`SendGate`] is asked exactly there —
//! immediately before every attempt, after the rate-limit waits, so a long
//! wait for the quota cannot slip between the check and the send — and
//! answers how long that attempt may take. The attempt's timeout is cut to
//! that budget, so a gated request is over, on the caller's monotonic
//! clock, before the gate's validity ends.
//!
//! `penaxtra-jira-sync` gates its creates with the claim lease it holds
//! (`lease.rs` there); a client made with [`JiraClient::gated`] carries the
//! gate for every request it sends.

use crate::JiraClient;
use async_trait::async_trait;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

/// Why a gate refused to let an attempt go.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GateClosed {
    /// What the caller lost, for the error message (no secrets).
    pub reason: String,
}

impl GateClosed {
    /// A refusal with its reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

/// Asked immediately before every attempt of a request sent through a
/// gated client ([`JiraClient::gated`]).
#[async_trait]
pub trait SendGate: Send + Sync + Debug {
    /// How long the next attempt may take at most (its timeout is cut to
    /// this), or [`GateClosed`]: the attempt is not sent, and the request
    /// fails with [`crate::ErrorKind::Withheld`] (not sent, not retried).
    ///
    /// # Errors
    /// [`GateClosed`] when the caller can no longer vouch for the write.
    async fn admit(&self) -> Result<Duration, GateClosed>;
}

impl JiraClient {
    /// A clone of this client (same pool, quota and pacing) whose every
    /// request asks `gate` before each attempt: see [`SendGate`].
    pub fn gated(&self, gate: Arc<dyn SendGate>) -> JiraClient {
        JiraClient {
            inner: Arc::clone(&self.inner),
            gate: Some(gate),
        }
    }
}
