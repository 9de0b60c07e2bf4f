//! Whose clock a store measures leases and doubt with.
//!
//! Leases and the search consistency window compare times written by one
//! process with times read by another. Replicas' clocks disagree (NTP
//! steps, a frozen VM that wakes with an old clock, a misconfigured host),
//! so a store shared by several processes measures them with **one**
//! clock: its own. The caller's time still passes through the trait, for
//! the in-memory store (one process, one clock) and for tests that drive
//! simulated time.

/// The clock a shared store uses for claims: their expiry, the takeover
/// of an expired claim, the time and age of a doubt, and the recovery of
/// orphaned claims. The queue's due times stay on the caller's clock (a
/// replica whose clock is ahead retries queued work early; what it runs is
/// idempotent or itself claimed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StoreClock {
    /// The store's own clock (the default): Postgres reads
    /// `clock_timestamp()` inside each statement, so every replica is
    /// measured by the database server's clock; SQLite reads the host's
    /// system clock inside the store, so every process on the file (one
    /// host) is measured by the one clock of that host, whatever clock the
    /// engine was given. The `now_ms` arguments are ignored for claims.
    #[default]
    Own,
    /// The times the caller passes. For one process whose engine runs on
    /// an injected clock (simulated or paused time in tests, the store
    /// test kit); never for replicas on several hosts.
    Caller,
}

/// The host's wall clock in epoch milliseconds.
pub(crate) fn host_now_ms() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}
