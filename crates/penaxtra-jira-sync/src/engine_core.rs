//! [`Core`]: what every handle of the engine reads (the Jira client, the
//! store, the one clock, the settings and the claim owner), below the
//! handles and above the foundations.

use crate::clock::Clock;
use crate::settings::SyncSettings;
use crate::store::SyncStore;
use jira_client::JiraClient;
use std::sync::Arc;
use std::time::Duration;

/// What every handle reads: Jira, the store, the one clock, the settings
/// and this engine's identity as the owner of its claims.
pub(crate) struct Core {
    pub(crate) client: JiraClient,
    pub(crate) store: Arc<dyn SyncStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: SyncSettings,
    pub(crate) owner: String,
    /// The create screens read so far (due date, priorities).
    pub(crate) screens: crate::screens::Screens,
}

impl Core {
    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// How long Jira's search may lag behind a write.
    pub(crate) fn consistency_window(&self) -> Duration {
        self.settings
            .search_consistency_window
            .unwrap_or(match self.client.flavor() {
                jira_model::Flavor::Cloud => Duration::from_secs(60),
                _ => Duration::from_secs(2),
            })
    }

    /// How long after a claim's expiry a create its holder sent may still
    /// commit in Jira. The claim's gate ([`crate::lease`]) sends a create
    /// only while the claim is surely held and cuts the attempt to what is
    /// left, so the holder itself is done by the expiry; Jira, which does
    /// not know the client gave up, is assumed to finish a request within
    /// the client's request timeout (the lease when it has none).
    pub(crate) fn write_grace(&self) -> Duration {
        self.client
            .request_timeout()
            .unwrap_or(self.settings.claim_lease)
    }

    /// The retry delay after `attempts` failed attempts: exponential from
    /// `retry_base`, capped at `retry_max`, at least `hint` (Jira's
    /// `Retry-After`), with up to 20% jitter (from the clock) so replicas
    /// spread out.
    pub(crate) fn retry_delay(&self, attempts: u32, hint: Option<Duration>) -> Duration {
        let s = &self.settings;
        let exp = s.retry_base.saturating_mul(1u32 << attempts.min(20));
        let base = exp.min(s.retry_max).max(hint.unwrap_or_default());
        let jitter = 0.2 * self.clock.jitter().clamp(0.0, 1.0);
        base + base.mul_f64(jitter)
    }
}
