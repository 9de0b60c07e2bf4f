//! The admin API under `/_sim/`.

use crate::common::{Api, Who, client, start};
use jira_model::Flavor;
use serde_json::{Value, json};

#[tokio::test]
async fn issues_reset_webhooks_faults_stats() {
    let sim = start(Flavor::Cloud).await;
    let http = client();
    let admin = |p: &str| format!("{}/_sim/{p}", sim.base_url());
    let api = Api::new(&sim, Who::Bot);
    let key = api.create("s", "fnd_1").await;
    api.delete(&format!("issue/{key}")).await;
    api.create("t", "fnd_2").await;

    let list: Vec<Value> = http
        .get(admin("issues"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["deleted"], true);
    assert_eq!(list[1]["custom_fields"]["customfield_10031"], "fnd_2");
    assert_eq!(list[1]["status_category"], "new");
    let one: jira_sim::SimIssue = http
        .get(admin("issues/SEC-2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one.summary, "t");
    assert_eq!(
        http.get(admin("issues/SEC-9"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let stats: Value = http
        .get(admin("stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["total"], 3, "admin calls are not counted");
    assert_eq!(stats["by_path"]["POST /rest/api/3/issue"], 2);

    let r = http
        .post(admin("webhooks"))
        .json(&json!({"url":"http://127.0.0.1:9/h?secret=abc","secret":"k"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let hooks: Value = http
        .get(admin("webhooks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hooks, json!([{"url":"http://127.0.0.1:9/h","signed":true}]));
    assert_eq!(
        http.post(admin("webhooks"))
            .json(&json!({"url":"gopher://x"}))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        http.delete(admin("webhooks"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert!(sim.webhooks().is_empty());

    let r = http
        .put(admin("faults"))
        .json(&json!({"seed":9,"error_rate":1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(sim.faults().error_rate, 1.0);
    assert!(matches!(api.get("myself").await.status, 500 | 502 | 503));
    let r = http
        .put(admin("faults"))
        .json(&json!({"error_rate":7}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        http.delete(admin("faults")).send().await.unwrap().status(),
        204
    );
    assert_eq!(api.get("myself").await.status, 200);

    assert_eq!(
        http.post(admin("reset")).send().await.unwrap().status(),
        204
    );
    assert!(sim.issues().is_empty());
    assert_eq!(sim.request_count(), 0);
    assert_eq!(api.create("again", "f").await, "SEC-1");
    let r = http
        .post(admin("clock/advance"))
        .json(&json!({"ms": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "system clock");
    assert_eq!(
        http.get(admin("nothing")).send().await.unwrap().status(),
        404
    );
}
