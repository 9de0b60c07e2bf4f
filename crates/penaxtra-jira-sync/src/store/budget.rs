//! The request budget every replica shares: one row per budget in the
//! store, taken as a GCRA (generic cell rate algorithm, the token bucket
//! as one timestamp). See [`crate::SharedRateBudget`] for the client side.

use super::StoreError;
use async_trait::async_trait;
use std::num::NonZeroU32;

/// The pace of a shared budget: one request every `interval_us` on
/// average, with `burst` requests allowed back to back (a token bucket of
/// `burst` tokens refilled every `interval_us`, as Jira's own limit is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetRate {
    interval_us: i64,
    burst: u32,
}

impl BudgetRate {
    /// `per_second` requests a second, bursts of `burst`.
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        Self {
            interval_us: (1_000_000 / i64::from(per_second.get())).max(1),
            burst: burst.get(),
        }
    }

    /// Microseconds between two requests at the sustained rate.
    pub fn interval_us(&self) -> i64 {
        self.interval_us
    }

    /// Requests allowed back to back.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// How far ahead of the sustained pace a burst may run (GCRA's τ).
    pub fn tolerance_us(&self) -> i64 {
        self.interval_us
            .saturating_mul(i64::from(self.burst.saturating_sub(1)))
    }

    /// The GCRA step, for stores that keep the budget's theoretical arrival
    /// time (`tat_us`, `None` for a budget never used): the new arrival time
    /// to store and the caller's wait in microseconds. Every reservation is
    /// granted; the wait places it in its slot.
    pub fn reserve(&self, tat_us: Option<i64>, now_us: i64) -> Reservation {
        let from = tat_us.map_or(now_us, |t| t.max(now_us));
        let tat_us = from.saturating_add(self.interval_us);
        Reservation {
            tat_us,
            wait_us: self.wait_us(tat_us, now_us),
        }
    }

    /// The caller's wait, given the arrival time its reservation stored
    /// (for stores that compute the new arrival time in one SQL statement,
    /// `greatest(tat, now) + interval`).
    pub fn wait_us(&self, new_tat_us: i64, now_us: i64) -> i64 {
        new_tat_us
            .saturating_sub(self.interval_us)
            .saturating_sub(self.tolerance_us())
            .saturating_sub(now_us)
            .max(0)
    }
}

/// One reservation in a budget: see [`BudgetRate::reserve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// The budget's new theoretical arrival time (epoch µs).
    pub tat_us: i64,
    /// How long the caller waits before sending (µs, never negative).
    pub wait_us: i64,
}

/// A store that keeps shared request budgets (every shipped store does).
#[async_trait]
pub trait RateBudgetStore: Send + Sync + std::fmt::Debug {
    /// Reserves one request in the budget `name` at `now_us` (epoch µs,
    /// the caller's clock), atomically across every caller sharing the
    /// store, and answers the wait in microseconds: [`BudgetRate::reserve`]
    /// applied to the stored arrival time, which is replaced by the new one.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails; nothing is reserved then.
    async fn reserve_request(
        &self,
        name: &str,
        now_us: i64,
        rate: BudgetRate,
    ) -> Result<i64, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_second: u32, burst: u32) -> BudgetRate {
        BudgetRate::new(
            NonZeroU32::new(per_second).unwrap(),
            NonZeroU32::new(burst).unwrap(),
        )
    }

    #[test]
    fn a_burst_then_one_per_interval() {
        let r = rate(10, 3);
        let mut tat = None;
        let mut waits = Vec::new();
        for _ in 0..6 {
            let res = r.reserve(tat, 1_000_000);
            tat = Some(res.tat_us);
            waits.push(res.wait_us);
        }
        assert_eq!(waits, [0, 0, 0, 100_000, 200_000, 300_000]);
    }

    #[test]
    fn an_idle_budget_refills_to_its_burst_and_no_more() {
        let r = rate(10, 2);
        let mut tat = Some(r.reserve(None, 0).tat_us);
        tat = Some(r.reserve(tat, 0).tat_us);
        // Ten seconds idle: two immediate requests, then pacing again.
        let now = 10_000_000;
        let a = r.reserve(tat, now);
        let b = r.reserve(Some(a.tat_us), now);
        let c = r.reserve(Some(b.tat_us), now);
        assert_eq!((a.wait_us, b.wait_us, c.wait_us), (0, 0, 100_000));
    }

    #[test]
    fn the_one_statement_form_agrees() {
        let r = rate(7, 4);
        let mut tat = None;
        for i in 0..50 {
            let now = i * 31_000;
            let res = r.reserve(tat, now);
            assert_eq!(r.wait_us(res.tat_us, now), res.wait_us);
            tat = Some(res.tat_us);
        }
    }
}
