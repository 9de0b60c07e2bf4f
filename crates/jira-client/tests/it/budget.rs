//! A request budget shared with other processes: asked before every
//! attempt, its wait honoured, its failure not fatal.

use crate::support::{ManualTime, builder, retries};
use async_trait::async_trait;
use jira_client::{BudgetError, RequestBudget};
use jira_model::Flavor;
use serde_json::json;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A budget that answers the waits it is given, in order, and counts.
#[derive(Debug, Default)]
struct Scripted {
    waits: Mutex<Vec<Result<Duration, BudgetError>>>,
    asked: Mutex<usize>,
}

#[async_trait]
impl RequestBudget for Scripted {
    async fn reserve(&self) -> Result<Duration, BudgetError> {
        *self.asked.lock().unwrap() += 1;
        let mut waits = self.waits.lock().unwrap();
        if waits.is_empty() {
            Ok(Duration::ZERO)
        } else {
            waits.remove(0)
        }
    }
}

#[tokio::test]
async fn every_attempt_waits_for_its_slot() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name":"bot"})))
        .mount(&server)
        .await;
    let time = ManualTime::new();
    let budget = Arc::new(Scripted {
        waits: Mutex::new(vec![
            Ok(Duration::from_millis(700)),
            Ok(Duration::from_millis(300)),
        ]),
        ..Scripted::default()
    });
    let client = builder(&server, Flavor::DataCenter, &time)
        .retry_policy(retries(3, 10))
        .shared_budget(budget.clone())
        .build()
        .unwrap();
    client.myself().await.unwrap();
    assert_eq!(*budget.asked.lock().unwrap(), 2, "one slot per attempt");
    let sleeps = time.sleeps();
    assert_eq!(sleeps.first(), Some(&Duration::from_millis(700)));
    assert!(
        sleeps.contains(&Duration::from_millis(300)),
        "the retry waited for its own slot: {sleeps:?}"
    );
}

#[tokio::test]
async fn an_unreachable_budget_does_not_stop_requests() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name":"bot"})))
        .expect(1)
        .mount(&server)
        .await;
    let time = ManualTime::new();
    let budget = Arc::new(Scripted {
        waits: Mutex::new(vec![Err(BudgetError::message("the store is down"))]),
        ..Scripted::default()
    });
    let client = builder(&server, Flavor::Cloud, &time)
        .shared_budget(budget.clone())
        .build()
        .unwrap();
    client.myself().await.unwrap();
    assert_eq!(*budget.asked.lock().unwrap(), 1);
    assert!(time.sleeps().is_empty());
}
