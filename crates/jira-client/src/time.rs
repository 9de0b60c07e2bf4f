//! Injected time: a [`Clock`] and a [`Sleep`], with tokio defaults, so
//! retries and rate limits can be tested on paused or simulated time.

use async_trait::async_trait;
use std::fmt::Debug;
use std::time::{Duration, SystemTime};

/// Where the client reads the time.
///
/// `now` is wall-clock time, used to turn a `Retry-After` HTTP date or an
/// `X-RateLimit-Reset` timestamp into a delay. `monotonic` is a steadily
/// increasing time since an arbitrary origin, used by the rate limiter; it
/// must advance by (at least) the duration of every [`Sleep::sleep`] of the
/// paired sleeper.
pub trait Clock: Send + Sync + Debug {
    /// Wall-clock time.
    fn now(&self) -> SystemTime;
    /// Monotonic time since an arbitrary, fixed origin.
    fn monotonic(&self) -> Duration;
}

/// How the client waits.
#[async_trait]
pub trait Sleep: Send + Sync + Debug {
    /// Waits for `duration`.
    async fn sleep(&self, duration: Duration);
}

/// The default clock: the system wall clock and tokio's monotonic clock
/// (which follows `tokio::time::pause`).
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: tokio::time::Instant,
}

impl SystemClock {
    /// A clock whose monotonic origin is now.
    pub fn new() -> Self {
        Self {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn monotonic(&self) -> Duration {
        tokio::time::Instant::now().saturating_duration_since(self.origin)
    }
}

/// The default sleeper: `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleep;

#[async_trait]
impl Sleep for TokioSleep {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Adapts a [`Clock`] to governor's clock so the rate limiter runs on the
/// injected monotonic time.
#[derive(Debug, Clone)]
pub(crate) struct GovernorClock(pub(crate) std::sync::Arc<dyn Clock>);

impl governor::clock::Clock for GovernorClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        self.0.monotonic()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn system_clock_follows_paused_tokio_time() {
        let clock = SystemClock::new();
        let before = clock.monotonic();
        TokioSleep.sleep(Duration::from_secs(90)).await;
        assert_eq!(clock.monotonic() - before, Duration::from_secs(90));
    }
}
