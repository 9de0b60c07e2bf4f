//! Counts what the Jira client reports at debug level while a benchmark
//! runs: the pauses it takes because Jira said it was near its rate limit,
//! and its retries by error code. Diagnostics only (it reads the client's
//! log messages, so a reworded message shows up as a zero here), to explain
//! where wall time above the floor goes.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use tracing::field::{Field, Visit};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

const NEAR_LIMIT: &str = "Jira is near its rate limit; slowing down";
const RETRYING: &str = "retrying";

/// What was counted.
#[derive(Debug, Default, Clone)]
pub struct ClientEvents {
    /// Pauses taken after an answer that said the quota was nearly spent.
    pub near_limit_pauses: u64,
    /// Sum of those pauses as asked (overlapping pauses count each).
    pub near_limit_pause_ms: u64,
    /// Retries by error code.
    pub retries: BTreeMap<String, u64>,
    /// Sum of the retry delays.
    pub retry_delay_ms: u64,
}

impl fmt::Display for ClientEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "near_limit_pauses={} near_limit_pause_ms={} retries={:?} retry_delay_ms={}",
            self.near_limit_pauses, self.near_limit_pause_ms, self.retries, self.retry_delay_ms
        )
    }
}

/// A shared counter; [`install`] feeds it.
#[derive(Clone, Default)]
pub struct Counter(Arc<Mutex<ClientEvents>>);

impl Counter {
    /// The counts so far, and zero again.
    pub fn take(&self) -> ClientEvents {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    code: String,
    pause_ms: u64,
    delay_ms: u64,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = value.to_string(),
            "code" => self.code = value.to_string(),
            _ => {}
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "pause_ms" => self.pause_ms = value,
            "delay_ms" => self.delay_ms = value,
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Counter {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if fields.message == NEAR_LIMIT {
            counts.near_limit_pauses += 1;
            counts.near_limit_pause_ms += fields.pause_ms;
        } else if fields.message == RETRYING {
            *counts.retries.entry(fields.code).or_default() += 1;
            counts.retry_delay_ms += fields.delay_ms;
        }
    }
}

/// Installs the counter as the global subscriber, listening to the client
/// only.
///
/// # Errors
/// When a global subscriber is already set.
pub fn install() -> Result<Counter, tracing::subscriber::SetGlobalDefaultError> {
    let counter = Counter::default();
    let filter = Targets::new().with_target("jira_client", LevelFilter::DEBUG);
    let subscriber = tracing_subscriber::registry().with(counter.clone().with_filter(filter));
    tracing::subscriber::set_global_default(subscriber)?;
    Ok(counter)
}
