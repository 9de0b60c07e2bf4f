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

/// The system clock with its wall time moved by a fixed offset, ahead or
/// behind; monotonic time is the system's. What a host whose clock is
/// wrong looks like: the `sync` example takes one from
/// `PENAXTRA_CLOCK_OFFSET_MS`, so replicas with disagreeing clocks can be
/// run on one machine. Claims do not depend on it (shared stores measure
/// them on their own clock, [`crate::store::StoreClock`]).
#[derive(Debug, Clone, Copy)]
pub struct OffsetClock {
    system: SystemClock,
    ahead: bool,
    offset: Duration,
}

impl OffsetClock {
    /// The system clock `offset_ms` milliseconds ahead (negative: behind).
    pub fn new(offset_ms: i64) -> Self {
        Self {
            system: SystemClock::new(),
            ahead: offset_ms >= 0,
            offset: Duration::from_millis(offset_ms.unsigned_abs()),
        }
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> SystemTime {
        let now = self.system.now();
        if self.ahead {
            now + self.offset
        } else {
            now.checked_sub(self.offset)
                .unwrap_or(SystemTime::UNIX_EPOCH)
        }
    }
    fn monotonic(&self) -> Duration {
        self.system.monotonic()
    }
}

/// A duration in whole milliseconds, saturating (the unit of every time
/// the store keeps).
pub(crate) fn duration_ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
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

    #[test]
    fn an_offset_clock_is_ahead_or_behind_by_its_offset() {
        let system = SystemClock::new().now_ms();
        let ahead = OffsetClock::new(90_000).now_ms();
        let behind = OffsetClock::new(-90_000).now_ms();
        assert!(
            (ahead - system - 90_000).abs() < 5_000,
            "{ahead} vs {system}"
        );
        assert!(
            (system - behind - 90_000).abs() < 5_000,
            "{behind} vs {system}"
        );
    }
}
