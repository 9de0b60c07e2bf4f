//! The simulator's clock: the system clock, or a manual clock tests advance.

use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Where the simulator reads the time: issue timestamps, relative JQL dates,
/// search index lag, rate-limit refills and webhook timestamps all come
/// from here.
#[derive(Clone)]
pub struct SimClock {
    inner: Arc<Source>,
}

enum Source {
    System,
    Manual(Mutex<DateTime<Utc>>),
    /// The system clock plus an offset in milliseconds.
    Skewed(AtomicI64),
}

impl std::fmt::Debug for SimClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.inner.as_ref() {
            Source::System => f.write_str("SimClock::System"),
            Source::Manual(_) => write!(f, "SimClock::Manual({})", self.now()),
            Source::Skewed(ms) => write!(f, "SimClock::Skewed({} ms)", ms.load(Ordering::SeqCst)),
        }
    }
}

impl Default for SimClock {
    fn default() -> Self {
        Self::system()
    }
}

impl SimClock {
    /// The system clock.
    pub fn system() -> Self {
        Self {
            inner: Arc::new(Source::System),
        }
    }

    /// A clock that stands still at `start` until [`SimClock::advance`] moves it.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self {
            inner: Arc::new(Source::Manual(Mutex::new(start))),
        }
    }

    /// The system clock, which [`SimClock::advance`] moves ahead: time flows
    /// as usual, and a test jumps it forward (a restart that takes a
    /// minute, a lease running out) for Jira and for a client that shares
    /// this clock alike, so search lag and consistency windows pass
    /// together.
    pub fn skewed() -> Self {
        Self {
            inner: Arc::new(Source::Skewed(AtomicI64::new(0))),
        }
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match self.inner.as_ref() {
            Source::System => Utc::now(),
            Source::Manual(m) => *m.lock().unwrap_or_else(PoisonError::into_inner),
            Source::Skewed(ms) => {
                Utc::now() + chrono::Duration::milliseconds(ms.load(Ordering::SeqCst))
            }
        }
    }

    /// Moves a manual or skewed clock forward; returns `false` (and does
    /// nothing) on the system clock.
    pub fn advance(&self, by: std::time::Duration) -> bool {
        match self.inner.as_ref() {
            Source::System => false,
            Source::Manual(m) => {
                let mut t = m.lock().unwrap_or_else(PoisonError::into_inner);
                let step = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::zero());
                *t += step;
                true
            }
            Source::Skewed(ms) => {
                let step = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
                ms.fetch_add(step, Ordering::SeqCst);
                true
            }
        }
    }

    /// Whether this is a manual clock (time stands still between advances).
    pub fn is_manual(&self) -> bool {
        matches!(self.inner.as_ref(), Source::Manual(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap();
        let c = SimClock::manual(start);
        assert_eq!(c.now(), start);
        assert!(c.advance(std::time::Duration::from_secs(90)));
        assert_eq!(c.now(), start + chrono::Duration::seconds(90));
        assert!(!SimClock::system().advance(std::time::Duration::from_secs(1)));
    }

    #[test]
    fn a_skewed_clock_flows_and_jumps() {
        let c = SimClock::skewed();
        assert!(!c.is_manual());
        let before = c.now();
        assert!(c.advance(std::time::Duration::from_secs(3600)));
        let after = c.now();
        assert!(after - before >= chrono::Duration::seconds(3600));
        assert!(after - before < chrono::Duration::seconds(3660));
    }
}
