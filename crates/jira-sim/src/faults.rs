//! Seedable faults on REST calls: 5xx answers, 429 storms, added latency,
//! HTML error bodies and "commit then drop". The admin API is never faulted.
//!
//! The fault engine draws the same five numbers for every REST request from
//! a generator seeded with [`FaultConfig::seed`], so the same seed and the
//! same sequence of requests give the same faults.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Which faults to inject, and the seed that makes them repeatable.
/// The default injects nothing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct FaultConfig {
    /// Seed of the fault sequence.
    pub seed: u64,
    /// Share (0..=1) of REST requests answered 500, 502 or 503 before they
    /// touch any state.
    pub error_rate: f64,
    /// Whether fault answers (5xx and 429) carry an HTML body instead of JSON.
    pub html_error_bodies: bool,
    /// 429 storms: runs of consecutive requests answered 429.
    pub storm: Option<StormConfig>,
    /// Added latency on a share of requests.
    pub latency: Option<LatencyFault>,
    /// Share (0..=1) of create and bulk-create requests whose issues are
    /// created but whose client never gets the answer.
    pub commit_then_drop_rate: f64,
    /// How a dropped answer looks to the client.
    pub drop_mode: DropMode,
}

impl FaultConfig {
    /// No faults, with this seed.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            ..Self::default()
        }
    }
    /// Sets the share of 500/502/503 answers.
    pub fn error_rate(mut self, rate: f64) -> Self {
        self.error_rate = rate;
        self
    }
    /// Makes fault answers HTML.
    pub fn html_error_bodies(mut self, on: bool) -> Self {
        self.html_error_bodies = on;
        self
    }
    /// Sets 429 storms.
    pub fn storm(mut self, storm: StormConfig) -> Self {
        self.storm = Some(storm);
        self
    }
    /// Sets added latency.
    pub fn latency(mut self, latency: LatencyFault) -> Self {
        self.latency = Some(latency);
        self
    }
    /// Sets the share of creates that commit and then drop the answer.
    pub fn commit_then_drop_rate(mut self, rate: f64) -> Self {
        self.commit_then_drop_rate = rate;
        self
    }
    /// Sets how a dropped answer looks.
    pub fn drop_mode(mut self, mode: DropMode) -> Self {
        self.drop_mode = mode;
        self
    }

    /// Checks every rate is within 0..=1.
    ///
    /// # Errors
    /// [`crate::SimError::Config`] naming the bad value.
    pub fn validate(&self) -> Result<(), crate::SimError> {
        let mut rates = vec![
            ("error_rate", self.error_rate),
            ("commit_then_drop_rate", self.commit_then_drop_rate),
        ];
        if let Some(s) = &self.storm {
            rates.push(("storm.start_rate", s.start_rate));
            if s.length == 0 {
                return Err(crate::SimError::Config(
                    "storm.length must be at least 1".into(),
                ));
            }
        }
        if let Some(l) = &self.latency {
            rates.push(("latency.rate", l.rate));
        }
        for (name, r) in rates {
            if !(0.0..=1.0).contains(&r) {
                return Err(crate::SimError::Config(format!(
                    "fault {name} must be between 0 and 1, not {r}"
                )));
            }
        }
        Ok(())
    }
}

/// 429 storms: each request outside a storm starts one with probability
/// `start_rate`; a storm answers `length` consecutive requests (the one that
/// started it included) with 429 and `Retry-After: retry_after_secs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StormConfig {
    /// Probability that a request outside a storm starts one.
    pub start_rate: f64,
    /// Requests answered 429 per storm.
    pub length: u32,
    /// `Retry-After` of storm answers, in seconds (0 happens on real Jira).
    #[serde(default)]
    pub retry_after_secs: u32,
}

impl StormConfig {
    /// A storm configuration.
    pub fn new(start_rate: f64, length: u32, retry_after_secs: u32) -> Self {
        Self {
            start_rate,
            length,
            retry_after_secs,
        }
    }
}

/// Latency added to a share of REST requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LatencyFault {
    /// Share (0..=1) of requests delayed.
    pub rate: f64,
    /// The delay, in milliseconds on the wire.
    #[serde(with = "duration_ms", rename = "delay_ms")]
    pub delay: Duration,
}

impl LatencyFault {
    /// Delays a share `rate` of requests by `delay`.
    pub fn new(rate: f64, delay: Duration) -> Self {
        Self { rate, delay }
    }
}

/// How a "commit then drop" answer looks to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
#[non_exhaustive]
pub enum DropMode {
    /// The connection is reset without an answer.
    #[default]
    Reset,
    /// The connection stays open without an answer for `hang_ms`, then is
    /// closed: a client with a shorter timeout sees a timeout.
    Timeout {
        /// How long to hold the connection, in milliseconds.
        hang_ms: u64,
    },
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// A fault answer that replaces the real one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultAnswer {
    /// 429 of a storm, with its `Retry-After`.
    Storm { retry_after_secs: u32 },
    /// 500, 502 or 503.
    ServerError(u16),
}

/// What the engine decided for one request.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct FaultPlan {
    /// Added latency.
    pub delay: Option<Duration>,
    /// A fault answer.
    pub answer: Option<FaultAnswer>,
    /// Whether a create should commit then drop its answer.
    pub drop: bool,
}

/// The stateful fault sequence.
#[derive(Debug)]
pub(crate) struct FaultEngine {
    config: FaultConfig,
    rng: StdRng,
    storm_left: u32,
}

impl FaultEngine {
    pub fn new(config: FaultConfig) -> Self {
        let rng = StdRng::seed_from_u64(config.seed);
        Self {
            config,
            rng,
            storm_left: 0,
        }
    }

    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// Starts the sequence again from the seed.
    pub fn restart(&mut self) {
        *self = Self::new(self.config.clone());
    }

    /// Decides the faults of the next request.
    pub fn next(&mut self) -> FaultPlan {
        // Always draw the same numbers, so one decision never shifts another.
        let u_latency: f64 = self.rng.r#gen();
        let u_storm: f64 = self.rng.r#gen();
        let u_error: f64 = self.rng.r#gen();
        let u_status: u8 = self.rng.gen_range(0..3);
        let u_drop: f64 = self.rng.r#gen();
        let c = &self.config;
        let mut plan = FaultPlan::default();
        if let Some(l) = &c.latency
            && u_latency < l.rate
        {
            plan.delay = Some(l.delay);
        }
        if let Some(s) = &c.storm {
            if self.storm_left == 0 && u_storm < s.start_rate {
                self.storm_left = s.length;
            }
            if self.storm_left > 0 {
                self.storm_left -= 1;
                plan.answer = Some(FaultAnswer::Storm {
                    retry_after_secs: s.retry_after_secs,
                });
            }
        }
        if plan.answer.is_none() && u_error < c.error_rate {
            plan.answer = Some(FaultAnswer::ServerError(
                [500, 502, 503][usize::from(u_status)],
            ));
        }
        plan.drop = plan.answer.is_none() && u_drop < c.commit_then_drop_rate;
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(config: FaultConfig, n: usize) -> Vec<FaultPlan> {
        let mut e = FaultEngine::new(config);
        (0..n).map(|_| e.next()).collect()
    }

    #[test]
    fn same_seed_same_faults_and_restart_replays() {
        let c = FaultConfig::new(7)
            .error_rate(0.3)
            .commit_then_drop_rate(0.2);
        let a = run(c.clone(), 200);
        assert_eq!(a, run(c.clone(), 200));
        assert_ne!(
            a,
            run(
                FaultConfig::new(8)
                    .error_rate(0.3)
                    .commit_then_drop_rate(0.2),
                200
            )
        );
        let errors = a.iter().filter(|p| p.answer.is_some()).count();
        assert!((30..=90).contains(&errors), "{errors} errors of 200 at 30%");
        assert!(a.iter().any(|p| p.drop));
        let mut e = FaultEngine::new(c);
        let first: Vec<_> = (0..20).map(|_| e.next()).collect();
        e.restart();
        let again: Vec<_> = (0..20).map(|_| e.next()).collect();
        assert_eq!(first, again);
    }

    #[test]
    fn storms_come_in_runs() {
        let plans = run(FaultConfig::new(1).storm(StormConfig::new(0.05, 4, 2)), 400);
        let storm: Vec<bool> = plans
            .iter()
            .map(|p| {
                matches!(
                    p.answer,
                    Some(FaultAnswer::Storm {
                        retry_after_secs: 2
                    })
                )
            })
            .collect();
        assert!(storm.iter().any(|s| *s));
        // Every run of 429s is a multiple of the storm length (storms may chain).
        let mut run_len = 0;
        for s in storm.iter().chain(std::iter::once(&false)) {
            if *s {
                run_len += 1;
            } else {
                assert_eq!(run_len % 4, 0, "storm run of {run_len}");
                run_len = 0;
            }
        }
    }

    #[test]
    fn nothing_by_default_and_rates_validated() {
        assert!(
            run(FaultConfig::default(), 100)
                .iter()
                .all(|p| *p == FaultPlan::default())
        );
        assert!(FaultConfig::new(1).error_rate(1.5).validate().is_err());
        assert!(
            FaultConfig::new(1)
                .storm(StormConfig::new(0.1, 0, 1))
                .validate()
                .is_err()
        );
        assert!(
            FaultConfig::new(1)
                .latency(LatencyFault::new(-0.1, Duration::ZERO))
                .validate()
                .is_err()
        );
        assert!(FaultConfig::new(1).error_rate(1.0).validate().is_ok());
    }

    #[test]
    fn wire_shape() {
        let c = FaultConfig::new(3)
            .latency(LatencyFault::new(0.5, Duration::from_millis(20)))
            .drop_mode(DropMode::Timeout { hang_ms: 100 });
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["latency"]["delay_ms"], 20);
        assert_eq!(v["drop_mode"]["mode"], "timeout");
        let back: FaultConfig = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
        assert!(serde_json::from_str::<FaultConfig>(r#"{"eror_rate":1}"#).is_err());
    }
}
