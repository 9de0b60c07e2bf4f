//! The one clock: the facade reads the time (and draws its jitter) through
//! `jira_client`'s [`Clock`], by default the very clock its Jira client
//! reads, so one injected clock drives the client's retries and rate limit
//! and the engine's leases, schedules and jitter alike.

pub use jira_client::{Clock, SystemClock};
use std::time::{Duration, SystemTime};

/// A clock that starts at the system time when made and then follows
/// tokio's clock, wall time included, so `tokio::time::pause` and `advance`
/// move it in tests. Jitter is the default random draw.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin_wall: SystemTime,
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading the system time now and tokio's time afterwards.
    pub fn new() -> Self {
        Self {
            origin_wall: SystemTime::now(),
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
    fn now(&self) -> SystemTime {
        self.origin_wall + self.monotonic()
    }
    fn monotonic(&self) -> Duration {
        tokio::time::Instant::now().saturating_duration_since(self.origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_wall_time_follows_paused_time() {
        let clock = TokioClock::new();
        let before = clock.now_ms();
        tokio::time::advance(Duration::from_secs(90)).await;
        assert_eq!(clock.now_ms() - before, 90_000);
        assert_eq!(clock.monotonic(), Duration::from_secs(90));
    }
}
