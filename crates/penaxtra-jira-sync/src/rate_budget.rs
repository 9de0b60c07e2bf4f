//! One Jira rate limit for every replica: the client's
//! [`RequestBudget`](jira_client::RequestBudget), kept in the sync store.
//!
//! Each replica's local quota (`governor`) only sees its own requests, so N
//! replicas configured at Jira's rate send N times that rate and collect
//! 429s. A [`SharedRateBudget`] keeps one arrival time per budget in the
//! store every replica shares; each request reserves the next slot there
//! and waits for it, so together the replicas send at most `per_second` a
//! second with bursts of `burst`, as Jira's token bucket allows.

use crate::clock::{Clock, SystemClock};
use crate::store::{BudgetRate, RateBudgetStore};
use async_trait::async_trait;
use jira_client::{BudgetError, RateLimit, RequestBudget};
use std::sync::Arc;
use std::time::Duration;

/// A request budget shared through the sync store; give it to
/// [`jira_client::ClientBuilder::shared_budget`] in every replica, with the
/// same `name` and rate.
///
/// ```
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use penaxtra_jira_sync::SharedRateBudget;
/// use penaxtra_jira_sync::store::SqliteStore;
/// use jira_client::{JiraClient, PatAuth, RateLimit};
/// use std::sync::Arc;
///
/// let dir = tempfile::tempdir()?;
/// let store = Arc::new(SqliteStore::open(dir.path().join("sync.sqlite"))?);
/// let limit = RateLimit::DEFAULT;
/// let budget = SharedRateBudget::new(store.clone(), "jira", limit);
/// let client = JiraClient::builder("https://jira.corp.example", jira_model::Flavor::DataCenter, PatAuth::new("pat".into()))
///     .rate_limit(limit)
///     .shared_budget(Arc::new(budget))
///     .build()?;
/// # let _ = client; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SharedRateBudget {
    store: Arc<dyn RateBudgetStore>,
    name: String,
    rate: BudgetRate,
    clock: Arc<dyn Clock>,
}

impl SharedRateBudget {
    /// The budget `name` in `store` at `limit` (Jira's limit for the
    /// account all replicas use, or a share of it kept for other tools).
    pub fn new(store: Arc<dyn RateBudgetStore>, name: impl Into<String>, limit: RateLimit) -> Self {
        Self {
            store,
            name: name.into(),
            rate: BudgetRate::new(limit.per_second, limit.burst),
            clock: Arc::new(SystemClock::new()),
        }
    }

    /// Reads the time from `clock` (default: the system clock). Every
    /// replica's clock must roughly agree: the budget is on their common
    /// timeline.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The budget's pace.
    pub fn rate(&self) -> BudgetRate {
        self.rate
    }
}

#[async_trait]
impl RequestBudget for SharedRateBudget {
    async fn reserve(&self) -> Result<Duration, BudgetError> {
        let now_us = self.clock.now_ms().saturating_mul(1_000);
        let wait_us = self
            .store
            .reserve_request(&self.name, now_us, self.rate)
            .await
            .map_err(|e| BudgetError::new(format!("budget {:?}", self.name), e))?;
        Ok(Duration::from_micros(u64::try_from(wait_us).unwrap_or(0)))
    }
}
