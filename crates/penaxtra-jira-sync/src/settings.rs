//! The engine's tunables and the choices a host makes: the bottom floor,
//! read by every handle, written by the configuration.

use std::time::Duration;

/// Tunables of the engine, with sane defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SyncSettings {
    /// How long a claim (or a state change in flight) is held without a
    /// renewal (default 30 s). The holder renews it every third of this
    /// while its Jira calls run, so a process that dies loses its claims
    /// within one lease and another process takes the work over.
    pub claim_lease: Duration,
    /// Search Jira for an existing issue before every create, not only when
    /// an earlier attempt may have reached Jira (default false: the ledger
    /// in the store is the truth, and a fresh backfill then costs one bulk
    /// request per 50 findings; turn it on after restoring the store from
    /// an old backup).
    pub always_check_jira: bool,
    /// How long Jira's search may lag behind a create (default `None`: 60 s
    /// for Cloud, whose `search/jql` is eventually consistent, and 2 s for
    /// Data Center). After an attempt that may have created an issue, the
    /// finding is not created again until a search made this long after
    /// that attempt finds nothing.
    pub search_consistency_window: Option<Duration>,
    /// What happens to a finding whose linked issue was deleted in Jira
    /// (default [`DeletedIssue::Park`]).
    pub on_deleted_issue: DeletedIssue,
    /// Findings per bulk create request (at most 50, Jira's limit).
    pub chunk_size: usize,
    /// Chunks pushed at once during a backfill (default 4). The client's
    /// rate limiter keeps the total within Jira's quota.
    pub concurrency: usize,
    /// First retry delay of a queued operation (default 5 s), doubled each
    /// attempt up to `retry_max`, with jitter.
    pub retry_base: Duration,
    /// Longest retry delay (default 15 min).
    pub retry_max: Duration,
    /// Most transitions taken to reach a target status (default 6).
    pub max_transition_steps: usize,
    /// Operations taken from the queue per worker round (default 200).
    pub worker_batch: usize,
    /// Overlap of reconciliation sweeps, against clock skew and search lag
    /// (default 5 min; never less than the search consistency window: a
    /// change made just before a sweep may reach search only after it).
    pub sweep_overlap: Duration,
    /// How long a webhook delivery id is remembered to drop Jira's
    /// redeliveries (default [`crate::DEFAULT_DELIVERY_RETENTION`], a
    /// week); older marks are pruned by the worker and the inbound
    /// processor.
    pub delivery_retention: Duration,
    /// Webhooks older than this are refused (`timestamp_too_old`), so a
    /// captured body cannot be replayed after its delivery marks expired:
    /// set it at most [`SyncSettings::delivery_retention`], e.g. `"7d"`
    /// (default `None`: no limit, for hosts replaying historical payloads;
    /// reconciliation reads Jira's current state whatever the age).
    pub max_event_age: Option<Duration>,
    /// The URL Jira's webhook posts to (default `None`). When set,
    /// [`crate::JiraSync::test_connection`] adds a `webhook_round_trip` step: the
    /// receiver, sharing this engine's store, must see the synthetic
    /// issue's webhook within `webhook_round_trip_wait`.
    pub webhook_receiver_url: Option<crate::ReceiverUrl>,
    /// How long the connection test waits for that webhook (default 60 s).
    pub webhook_round_trip_wait: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            claim_lease: Duration::from_secs(30),
            always_check_jira: false,
            search_consistency_window: None,
            on_deleted_issue: DeletedIssue::Park,
            chunk_size: jira_model::MAX_BULK_CREATE,
            concurrency: 4,
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(15 * 60),
            max_transition_steps: 6,
            worker_batch: 200,
            sweep_overlap: Duration::from_secs(5 * 60),
            delivery_retention: crate::DEFAULT_DELIVERY_RETENTION,
            max_event_age: None,
            webhook_receiver_url: None,
            webhook_round_trip_wait: Duration::from_secs(60),
        }
    }
}

/// What to do when the issue linked to a finding is deleted in Jira.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeletedIssue {
    /// Unlink it and park a create for a person: someone in Jira deleted
    /// it on purpose, perhaps. Retrying the parked operation creates a new
    /// issue; dropping it leaves the finding without one.
    #[default]
    Park,
    /// Unlink it and create a new issue when the finding still matches the
    /// rule, once Jira's `jira:issue_deleted` webhook confirmed the deletion
    /// (a 404 alone is also what an issue hidden by issue security answers);
    /// without that event the create is parked for a person, as with
    /// [`DeletedIssue::Park`].
    Recreate,
}

/// The URL a Jira webhook posts this integration's events to, as
/// configured in Jira. It carries the URL secret, so it is shown only as
/// `scheme://host:port/…` ([`std::fmt::Display`] and [`std::fmt::Debug`]).
#[derive(Clone, PartialEq, Eq)]
pub struct ReceiverUrl(url::Url);

impl ReceiverUrl {
    /// Reads an `http` or `https` URL with a host.
    ///
    /// # Errors
    /// [`crate::config::ConfigError`] for `settings.webhook_receiver_url`
    /// when the text is not such a URL (the message never repeats it).
    pub fn parse(text: &str) -> Result<Self, crate::config::ConfigError> {
        let invalid = |why: &str| {
            crate::config::ConfigError::invalid("settings.webhook_receiver_url", why.to_string())
        };
        let url = url::Url::parse(text.trim()).map_err(|_| invalid("is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("must be an http or https URL"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("has no host"));
        }
        Ok(Self(url))
    }

    /// The whole URL, secret included.
    pub fn expose(&self) -> &url::Url {
        &self.0
    }
}

impl std::fmt::Display for ReceiverUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}://{}",
            self.0.scheme(),
            self.0.host_str().unwrap_or("")
        )?;
        if let Some(port) = self.0.port() {
            write!(f, ":{port}")?;
        }
        f.write_str("/…")
    }
}

impl std::fmt::Debug for ReceiverUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReceiverUrl({self})")
    }
}
