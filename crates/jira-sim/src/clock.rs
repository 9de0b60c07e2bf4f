//! The simulator's clock: the system clock, or a manual clock tests advance.

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex, PoisonError};

/// Where the simulator reads the time: issue timestamps, relative JQL dates,
/// rate-limit refills and webhook timestamps all come from here.
#[derive(Clone)]
pub struct SimClock {
    inner: Arc<Option<Mutex<DateTime<Utc>>>>,
}

impl std::fmt::Debug for SimClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.inner.as_ref() {
            None => f.write_str("SimClock::System"),
            Some(_) => write!(f, "SimClock::Manual({})", self.now()),
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
            inner: Arc::new(None),
        }
    }

    /// A clock that stands still at `start` until [`SimClock::advance`] moves it.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self {
            inner: Arc::new(Some(Mutex::new(start))),
        }
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match self.inner.as_ref() {
            None => Utc::now(),
            Some(m) => *m.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Moves a manual clock forward; returns `false` (and does nothing) on the
    /// system clock.
    pub fn advance(&self, by: std::time::Duration) -> bool {
        match self.inner.as_ref() {
            None => false,
            Some(m) => {
                let mut t = m.lock().unwrap_or_else(PoisonError::into_inner);
                let step = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::zero());
                *t += step;
                true
            }
        }
    }

    /// Whether this is a manual clock.
    pub fn is_manual(&self) -> bool {
        self.inner.is_some()
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
}
