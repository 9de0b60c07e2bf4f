//! Per-account token buckets, with a manual clock (no wall-clock timing).

use crate::common::{Api, Who};
use chrono::TimeZone;
use jira_model::Flavor;
use jira_sim::{JiraSim, SimClock, SimConfig, SimRateLimit};
use std::time::Duration;

async fn limited(flavor: Flavor) -> (JiraSim, SimClock) {
    let clock = SimClock::manual(chrono::Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap());
    let sim = JiraSim::start(
        SimConfig::new(flavor)
            .rate_limit(Some(SimRateLimit::new(2, 3)))
            .clock(clock.clone()),
    )
    .await
    .unwrap();
    (sim, clock)
}

#[tokio::test]
async fn cloud_bucket_per_account() {
    let (sim, clock) = limited(Flavor::Cloud).await;
    let bot = Api::new(&sim, Who::Bot);
    for _ in 0..3 {
        assert_eq!(bot.get("myself").await.status, 200);
    }
    let a = bot.get("myself").await;
    assert_eq!(a.status, 429);
    assert_eq!(a.header("Retry-After"), Some("1"));
    assert_eq!(a.header("X-RateLimit-Limit"), Some("3"));
    assert_eq!(a.header("X-RateLimit-Remaining"), Some("0"));
    assert_eq!(a.header("RateLimit-Reason"), Some("jira-burst-based"));
    let reset = a.header("X-RateLimit-Reset").unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(reset).is_ok(),
        "{reset}"
    );
    assert!(jira_model::ErrorBody::parse(a.text.as_bytes()).mentions("rate-limited"));
    // Another account has its own bucket.
    assert_eq!(Api::new(&sim, Who::Alex).get("myself").await.status, 200);
    // Half a second refills one token.
    clock.advance(Duration::from_millis(500));
    assert_eq!(bot.get("myself").await.status, 200);
    assert_eq!(bot.get("myself").await.status, 429);
    // Limited requests change nothing.
    let r = bot.post("issue", bot.issue("s", "f")).await;
    assert_eq!(r.status, 429);
    assert!(sim.issues().is_empty());
    // The limiter's refusals are counted (and are requests too).
    assert_eq!(sim.rate_limited_count(), 3);
    assert_eq!(sim.request_count(), 8);
    // Where Jira counts them: at the limiter, 429s included.
    let judged = sim.limiter_counts();
    let myself = judged["GET /rest/api/3/myself"];
    assert_eq!((myself.admitted, myself.refused), (5, 2));
    let create = judged["POST /rest/api/3/issue"];
    assert_eq!((create.admitted, create.refused, create.total()), (0, 1, 1));
}

#[tokio::test]
async fn fault_storms_are_not_counted_as_the_limiters_refusals() {
    let sim = JiraSim::start(
        SimConfig::new(Flavor::Cloud)
            .faults(jira_sim::FaultConfig::new(1).storm(jira_sim::StormConfig::new(1.0, 5, 0))),
    )
    .await
    .unwrap();
    let bot = Api::new(&sim, Who::Bot);
    assert_eq!(bot.get("myself").await.status, 429);
    assert_eq!(sim.rate_limited_count(), 0);
    // A fault answers before the limiter: Jira never counted it.
    assert!(sim.limiter_counts().is_empty());
}

#[tokio::test]
async fn data_center_headers_on_every_answer() {
    let (sim, _clock) = limited(Flavor::DataCenter).await;
    let bot = Api::new(&sim, Who::Bot);
    let a = bot.get("myself").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("X-RateLimit-Limit"), Some("3"));
    assert_eq!(a.header("X-RateLimit-Remaining"), Some("2"));
    assert_eq!(a.header("X-RateLimit-FillRate"), Some("2"));
    assert_eq!(a.header("X-RateLimit-Interval-Seconds"), Some("1"));
    bot.get("myself").await;
    bot.get("myself").await;
    let a = bot.get("myself").await;
    assert_eq!(a.status, 429);
    assert_eq!(a.header("Retry-After"), Some("1"));
    assert_eq!(a.header("X-RateLimit-Remaining"), Some("0"));
}

#[tokio::test]
async fn per_account_bucket_off_by_default() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = JiraSim::start(SimConfig::new(flavor)).await.unwrap();
        let bot = Api::new(&sim, Who::Bot);
        for _ in 0..30 {
            let a = bot.get("myself").await;
            assert_eq!(a.status, 200);
            // Cloud reports its burst bucket (100 a second per endpoint);
            // Data Center has no limit unless an admin sets one.
            let expected = (flavor == Flavor::Cloud).then_some("100");
            assert_eq!(a.header("X-RateLimit-Limit"), expected, "{flavor}");
        }
    }
}
