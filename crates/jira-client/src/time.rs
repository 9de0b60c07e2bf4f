//! Injected time: a [`Clock`] and a [`Sleep`], with tokio defaults, so
//! retries and rate limits can be tested on paused or simulated time.

use async_trait::async_trait;
use std::fmt::Debug;
use std::time::{Duration, SystemTime};

/// Where the integration reads the time, and draws the randomness of its
/// jitter: the one clock of the client and of the sync engine built on it
/// (`penaxtra-jira-sync` uses its client's clock unless told otherwise).
///
/// `now` is wall-clock time, used to turn a `Retry-After` HTTP date or an
/// `X-RateLimit-Reset` timestamp into a delay, and by the engine for leases,
/// retry schedules and delivery marks. `monotonic` is a steadily increasing
/// time since an arbitrary origin, used by the rate limiter; it must advance
/// by (at least) the duration of every [`Sleep::sleep`] of the paired
/// sleeper. `jitter` is where retry delays draw their randomness, so a test
/// clock can make them deterministic.
pub trait Clock: Send + Sync + Debug {
    /// Wall-clock time.
    fn now(&self) -> SystemTime;
    /// Monotonic time since an arbitrary, fixed origin.
    fn monotonic(&self) -> Duration;
    /// Wall-clock time in Unix epoch milliseconds (before 1970: negative).
    fn now_ms(&self) -> i64 {
        match self.now().duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
        }
    }
    /// A uniformly distributed number in `[0, 1)` for jitter (default: the
    /// thread's random generator).
    fn jitter(&self) -> f64 {
        use rand::Rng;
        rand::thread_rng().r#gen::<f64>()
    }
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

    #[derive(Debug)]
    struct At(SystemTime);
    impl Clock for At {
        fn now(&self) -> SystemTime {
            self.0
        }
        fn monotonic(&self) -> Duration {
            Duration::ZERO
        }
    }

    #[test]
    fn epoch_milliseconds_on_both_sides_of_1970() {
        let after = At(SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123));
        assert_eq!(after.now_ms(), 1_700_000_000_123);
        let before = At(SystemTime::UNIX_EPOCH - Duration::from_millis(1_500));
        assert_eq!(before.now_ms(), -1_500);
    }

    #[test]
    fn default_jitter_is_a_unit_fraction_that_varies() {
        let clock = SystemClock::new();
        let draws: Vec<f64> = (0..64).map(|_| clock.jitter()).collect();
        assert!(draws.iter().all(|j| (0.0..1.0).contains(j)));
        assert!(draws.windows(2).any(|w| w[0] != w[1]));
    }

    #[tokio::test(start_paused = true)]
    async fn system_clock_follows_paused_tokio_time() {
        let clock = SystemClock::new();
        let before = clock.monotonic();
        TokioSleep.sleep(Duration::from_secs(90)).await;
        assert_eq!(clock.monotonic() - before, Duration::from_secs(90));
    }
}
