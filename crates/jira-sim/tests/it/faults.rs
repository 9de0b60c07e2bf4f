//! Every fault mode, and determinism with a seed.

use crate::common::{Api, Who, client, start};
use jira_model::Flavor;
use jira_sim::{DropMode, FaultConfig, JiraSim, LatencyFault, SimConfig, StormConfig};
use std::time::Duration;

#[tokio::test]
async fn server_errors_touch_nothing() {
    let sim = start(Flavor::Cloud).await;
    sim.set_faults(FaultConfig::new(1).error_rate(1.0)).unwrap();
    let api = Api::new(&sim, Who::Bot);
    let mut seen = std::collections::BTreeSet::new();
    for n in 0..30 {
        let a = api.post("issue", api.issue(&format!("s{n}"), "f")).await;
        assert!(matches!(a.status, 500 | 502 | 503), "{}", a.status);
        assert!(
            a.header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
        assert!(
            !jira_model::ErrorBody::parse(a.text.as_bytes())
                .messages
                .is_empty()
        );
        seen.insert(a.status);
    }
    assert_eq!(seen.len(), 3, "all three statuses occur");
    assert!(sim.issues().is_empty());
    // The admin API is never faulted.
    let admin = client()
        .get(format!("{}/_sim/issues", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
    sim.set_faults(FaultConfig::new(1).error_rate(1.0).html_error_bodies(true))
        .unwrap();
    let a = api.get("myself").await;
    assert!(a.header("content-type").unwrap().starts_with("text/html"));
    assert!(a.text.contains("<html>"));
    let body = jira_model::ErrorBody::parse(a.text.as_bytes());
    assert!(body.text.is_some() && body.messages.is_empty());
    assert!(sim.set_faults(FaultConfig::new(1).error_rate(3.0)).is_err());
}

#[tokio::test]
async fn storms_answer_429_in_runs() {
    let sim = start(Flavor::Cloud).await;
    sim.set_faults(FaultConfig::new(5).storm(StormConfig::new(0.15, 3, 7)))
        .unwrap();
    let api = Api::new(&sim, Who::Bot);
    let mut run = 0;
    let mut storms = 0;
    for _ in 0..80 {
        let a = api.get("myself").await;
        if a.status == 429 {
            assert_eq!(a.header("Retry-After"), Some("7"));
            assert!(a.header("X-RateLimit-Reset").is_some());
            run += 1;
        } else {
            assert_eq!(a.status, 200);
            assert_eq!(run % 3, 0, "a storm lasts three requests");
            storms += run / 3;
            run = 0;
        }
    }
    assert!(storms > 0);
    sim.set_faults(
        FaultConfig::new(5)
            .storm(StormConfig::new(1.0, 1, 0))
            .html_error_bodies(true),
    )
    .unwrap();
    let a = api.get("myself").await;
    assert_eq!((a.status, a.header("Retry-After")), (429, Some("0")));
    assert!(a.text.contains("<html>"));
}

#[tokio::test]
async fn latency_makes_impatient_clients_time_out() {
    let sim = start(Flavor::DataCenter).await;
    let api = Api::new(&sim, Who::Bot);
    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let call = || api.auth(impatient.get(api.url("myself"))).send();
    assert!(call().await.is_ok(), "no latency: answered");
    sim.set_faults(FaultConfig::new(2).latency(LatencyFault::new(1.0, Duration::from_secs(30))))
        .unwrap();
    let e = call().await.unwrap_err();
    assert!(e.is_timeout(), "{e}");
    sim.set_faults(FaultConfig::new(2).latency(LatencyFault::new(0.0, Duration::from_secs(30))))
        .unwrap();
    assert!(call().await.is_ok());
    let slow = JiraSim::start(SimConfig::new(Flavor::DataCenter).latency(Duration::from_secs(30)))
        .await
        .unwrap();
    let slow_api = Api::new(&slow, Who::Bot);
    let e = slow_api
        .auth(impatient.get(slow_api.url("myself")))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_timeout());
}

#[tokio::test]
async fn commit_then_drop_resets_after_creating() {
    let sim = start(Flavor::Cloud).await;
    sim.set_faults(FaultConfig::new(3).commit_then_drop_rate(1.0))
        .unwrap();
    let api = Api::new(&sim, Who::Bot);
    let send = |body| {
        api.auth(api.client.post(api.url("issue")).json(&body))
            .send()
    };
    let e = send(api.issue("s", "fnd_drop")).await.unwrap_err();
    assert!(!e.is_timeout() && e.status().is_none(), "{e}");
    assert_eq!(sim.issues().len(), 1, "the issue was created anyway");
    assert_eq!(sim.issues()[0].finding_id(), Some("fnd_drop"));
    // A failed create commits nothing and is answered normally.
    let bad = api.post("issue", serde_json::json!({"fields":{}})).await;
    assert_eq!(bad.status, 400);
    // Reads are never dropped.
    assert_eq!(api.get("myself").await.status, 200);
    // Bulk creates drop too.
    let e = api
        .auth(
            api.client
                .post(api.url("issue/bulk"))
                .json(&serde_json::json!({"issueUpdates":[api.issue("a","b")]})),
        )
        .send()
        .await;
    assert!(e.is_err());
    assert_eq!(sim.issues().len(), 2);
}

#[tokio::test]
async fn commit_then_drop_as_a_timeout() {
    let sim = start(Flavor::DataCenter).await;
    sim.set_faults(
        FaultConfig::new(3)
            .commit_then_drop_rate(1.0)
            .drop_mode(DropMode::Timeout { hang_ms: 60_000 }),
    )
    .unwrap();
    let api = Api::new(&sim, Who::Bot);
    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let e = api
        .auth(impatient.post(api.url("issue")).json(&api.issue("s", "f")))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert_eq!(sim.issues().len(), 1);
}

async fn statuses(seed: u64) -> Vec<u16> {
    let sim = start(Flavor::Cloud).await;
    let faults = FaultConfig::new(seed)
        .error_rate(0.25)
        .storm(StormConfig::new(0.1, 2, 1))
        .commit_then_drop_rate(0.2);
    sim.set_faults(faults).unwrap();
    let api = Api::new(&sim, Who::Bot);
    let mut out = Vec::new();
    for round in 0..2 {
        for n in 0..30 {
            let r = api
                .auth(
                    api.client
                        .post(api.url("issue"))
                        .json(&api.issue(&format!("s{n}"), "f")),
                )
                .send()
                .await;
            out.push(r.map_or(0, |r| r.status().as_u16()));
        }
        if round == 0 {
            // Reset replays the same fault sequence.
            sim.reset();
        }
    }
    out
}

#[tokio::test]
async fn same_seed_same_faults() {
    let a = statuses(42).await;
    assert_eq!(a, statuses(42).await);
    assert_ne!(a, statuses(43).await);
    assert_eq!(a[..30], a[30..], "reset restarts the sequence");
    for code in [0, 201, 429] {
        assert!(a.contains(&code), "{code} in {a:?}");
    }
    assert!(a.iter().any(|c| matches!(c, 500 | 502 | 503)));
}
