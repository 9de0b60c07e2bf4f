//! The clock, injected so tests run on chosen or paused time.

/// Where the integration reads the time. Times are Unix epoch milliseconds.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in epoch milliseconds.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// A clock that starts at the system time when made and then follows tokio's
/// clock, so `tokio::time::pause` and `advance` move it in tests.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin_ms: i64,
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading the system time now and tokio's time afterwards.
    pub fn new() -> Self {
        Self {
            origin_ms: chrono::Utc::now().timestamp_millis(),
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.origin.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.origin_ms.saturating_add(elapsed)
    }
}
