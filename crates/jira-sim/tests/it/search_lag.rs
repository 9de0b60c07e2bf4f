//! The search index lag: JQL search sees creates and updates only a while
//! after they were made; `GET issue` sees them at once; Cloud's
//! `reconcileIssues` reads the listed issues fresh.

use crate::common::{Answer, Api, Who, client};
use chrono::TimeZone;
use jira_model::Flavor;
use jira_sim::{JiraSim, SimClock, SimConfig};
use serde_json::{Value, json};
use std::time::Duration;

const LAG: Duration = Duration::from_secs(30);

/// A simulator on a manual clock with `lag`.
async fn lagging(flavor: Flavor, lag: Duration) -> (JiraSim, SimClock) {
    let clock = SimClock::manual(chrono::Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap());
    let sim = JiraSim::start(SimConfig::new(flavor).clock(clock.clone()).search_lag(lag))
        .await
        .unwrap();
    (sim, clock)
}

/// `search/jql` by POST with `extra` body fields.
async fn post_search(api: &Api, jql: &str, extra: Value) -> Answer {
    let mut body =
        json!({"jql": jql, "fields": ["summary", "labels", "status"], "maxResults": 100});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    api.post("search/jql", body).await
}

/// `search/jql` by GET with extra query pairs.
async fn get_search(api: &Api, jql: &str, extra: &[(&str, &str)]) -> Answer {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("jql", jql)
        .append_pair("fields", "summary,labels,status");
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    api.get(&format!("search/jql?{}", q.finish())).await
}

fn keys(a: &Answer) -> Vec<String> {
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_string())
        .collect()
}

async fn post_keys(api: &Api, jql: &str) -> Vec<String> {
    keys(&post_search(api, jql, json!({})).await)
}

async fn id_of(api: &Api, key: &str) -> String {
    let a = api.get(&format!("issue/{key}")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_create_reaches_search_only_after_the_lag() {
    let (sim, clock) = lagging(Flavor::Cloud, LAG).await;
    let api = Api::new(&sim, Who::Bot);
    let key = api.create("Prompt injection", "fnd_lag_1").await;
    let id = id_of(&api, &key).await;

    assert!(post_keys(&api, "project = SEC").await.is_empty());
    assert!(keys(&get_search(&api, "project = SEC", &[]).await).is_empty());
    assert!(
        post_keys(&api, &format!("key = {key}")).await.is_empty(),
        "the key exists (no 400), the index just has not got it"
    );

    // reconcileIssues reads the listed ids fresh, by POST and by GET, on
    // every page it is sent with.
    let n: i64 = id.parse().unwrap();
    let a = post_search(&api, "project = SEC", json!({"reconcileIssues": [n]})).await;
    assert_eq!(keys(&a), [key.as_str()]);
    assert_eq!(
        a.json()["issues"][0]["fields"]["summary"],
        "Prompt injection"
    );
    let a = get_search(&api, "project = SEC", &[("reconcileIssues", &id)]).await;
    assert_eq!(keys(&a), [key.as_str()]);
    let a = get_search(
        &api,
        "project = SEC",
        &[("reconcileIssues", &format!("99999,{id}"))],
    )
    .await;
    assert_eq!(keys(&a), [key.as_str()], "comma-separated ids");
    let a = get_search(
        &api,
        "project = SEC",
        &[("reconcileIssues", "99999"), ("reconcileIssues", &id)],
    )
    .await;
    assert_eq!(keys(&a), [key.as_str()], "repeated parameter");
    // A reconciled issue still has to match the query.
    let a = post_search(&api, "labels = other", json!({"reconcileIssues": [n]})).await;
    assert!(keys(&a).is_empty());

    clock.advance(LAG - Duration::from_secs(1));
    assert!(post_keys(&api, "project = SEC").await.is_empty());
    clock.advance(Duration::from_secs(1));
    assert_eq!(post_keys(&api, "project = SEC").await, [key.as_str()]);
    assert_eq!(
        keys(&get_search(&api, "project = SEC", &[]).await),
        [key.as_str()]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn an_update_reaches_search_only_after_the_lag() {
    let (sim, clock) = lagging(Flavor::Cloud, LAG).await;
    let api = Api::new(&sim, Who::Bot);
    let key = api.create("Data leak", "fnd_lag_2").await;
    clock.advance(LAG);
    assert_eq!(post_keys(&api, "status = Open").await, [key.as_str()]);

    let a = api
        .put(
            &format!("issue/{key}"),
            json!({"update": {"labels": [{"add": "triaged"}]}}),
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.text);
    let t = api.transition_id(&key, "Start Progress").await.unwrap();
    let a = api
        .post(
            &format!("issue/{key}/transitions"),
            json!({"transition": {"id": t}}),
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.text);

    // GET is fresh at once.
    let fresh = api.get(&format!("issue/{key}")).await.json();
    assert_eq!(fresh["fields"]["status"]["name"], "In Progress");
    assert_eq!(fresh["fields"]["labels"], json!(["penaxtra", "triaged"]));

    // Search matches and shows the version indexed before the update.
    assert!(post_keys(&api, "labels = triaged").await.is_empty());
    assert!(post_keys(&api, "status = \"In Progress\"").await.is_empty());
    let a = post_search(&api, "status = Open", json!({})).await;
    assert_eq!(keys(&a), [key.as_str()]);
    let stale = &a.json()["issues"][0]["fields"];
    assert_eq!(stale["status"]["name"], "Open");
    assert_eq!(stale["labels"], json!(["penaxtra"]));

    // reconcileIssues sees the current version: it now matches the new
    // label and no longer matches the old status.
    let id: i64 = id_of(&api, &key).await.parse().unwrap();
    let r = json!({"reconcileIssues": [id]});
    let a = post_search(&api, "labels = triaged", r.clone()).await;
    assert_eq!(keys(&a), [key.as_str()]);
    assert_eq!(
        a.json()["issues"][0]["fields"]["status"]["name"],
        "In Progress"
    );
    assert!(keys(&post_search(&api, "status = Open", r).await).is_empty());

    clock.advance(LAG - Duration::from_secs(1));
    assert_eq!(post_keys(&api, "status = Open").await, [key.as_str()]);
    clock.advance(Duration::from_secs(1));
    assert_eq!(post_keys(&api, "labels = triaged").await, [key.as_str()]);
    assert_eq!(
        post_keys(&api, "status = \"In Progress\"").await,
        [key.as_str()]
    );
    assert!(post_keys(&api, "status = Open").await.is_empty());

    // A delete lags too: search still finds the issue for a while.
    assert_eq!(api.delete(&format!("issue/{key}")).await.status, 204);
    assert_eq!(api.get(&format!("issue/{key}")).await.status, 404);
    assert_eq!(post_keys(&api, "project = SEC").await, [key.as_str()]);
    clock.advance(LAG);
    assert!(post_keys(&api, "project = SEC").await.is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn reconcile_issues_is_checked() {
    let (sim, _clock) = lagging(Flavor::Cloud, LAG).await;
    let api = Api::new(&sim, Who::Bot);
    let ids: Vec<i64> = (10000..10051).collect();
    let a = post_search(&api, "project = SEC", json!({"reconcileIssues": ids})).await;
    assert_eq!(a.status, 400, "{}", a.text);
    let msg = a.json()["errorMessages"][0].as_str().unwrap().to_string();
    assert!(msg.contains("50") && msg.contains("reconcile"), "{msg}");
    let a = post_search(
        &api,
        "project = SEC",
        json!({"reconcileIssues": ids[..50].to_vec()}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);

    let csv: Vec<String> = ids.iter().map(i64::to_string).collect();
    let a = get_search(
        &api,
        "project = SEC",
        &[("reconcileIssues", &csv.join(","))],
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.text);
    let a = get_search(
        &api,
        "project = SEC",
        &[("reconcileIssues", &csv[..50].join(","))],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);

    for bad in [
        json!(["10000"]),
        json!([1.5]),
        json!("10000"),
        json!({"id": 1}),
    ] {
        let a = post_search(&api, "project = SEC", json!({"reconcileIssues": bad})).await;
        assert_eq!(a.status, 400, "{bad}: {}", a.text);
        assert!(a.json()["errorMessages"][0].is_string());
    }
    let a = get_search(&api, "project = SEC", &[("reconcileIssues", "SEC-1")]).await;
    assert_eq!(a.status, 400, "{}", a.text);
    assert!(a.json()["errorMessages"][0].is_string());
    sim.shutdown().await;
}

#[tokio::test]
async fn data_center_search_lags_and_has_no_reconcile() {
    let (sim, clock) = lagging(Flavor::DataCenter, Duration::from_secs(3)).await;
    let api = Api::new(&sim, Who::Bot);
    let key = api.create("Jailbreak", "fnd_lag_dc").await;
    assert_eq!(api.get(&format!("issue/{key}")).await.status, 200);
    let search = |body: Value| {
        let api = api.clone();
        async move { api.post("search", body).await }
    };
    let a = search(json!({"jql": "project = SEC"})).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json()["total"], 0);
    let a = api.get("search?jql=project%20%3D%20SEC").await;
    assert_eq!(a.json()["total"], 0);
    let a = search(json!({"jql": "project = SEC", "reconcileIssues": [10000]})).await;
    assert_eq!(
        a.status, 400,
        "Data Center has no reconcileIssues: {}",
        a.text
    );
    clock.advance(Duration::from_secs(3));
    let a = search(json!({"jql": "project = SEC"})).await;
    assert_eq!(a.json()["total"], 1);
    assert_eq!(a.json()["issues"][0]["key"], key.as_str());
    sim.shutdown().await;
}

#[tokio::test]
async fn the_lag_is_off_by_default_and_settable_at_runtime() {
    let clock = SimClock::manual(chrono::Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap());
    let sim = JiraSim::start(SimConfig::new(Flavor::Cloud).clock(clock.clone()))
        .await
        .unwrap();
    assert_eq!(sim.search_lag(), Duration::ZERO);
    let api = Api::new(&sim, Who::Bot);
    let a = api.create("a", "fnd_rt_1").await;
    assert_eq!(post_keys(&api, "project = SEC").await, [a.as_str()]);

    sim.set_search_lag(Duration::from_secs(60));
    assert_eq!(sim.search_lag(), Duration::from_secs(60));
    let b = api.create("b", "fnd_rt_2").await;
    assert_eq!(post_keys(&api, "project = SEC").await, [a.as_str()]);

    // The admin API reads and sets it too; a change applies to later
    // writes, earlier ones keep the lag they were made under.
    let http = client();
    let admin = format!("{}/_sim/search-lag", sim.base_url());
    let got: Value = http.get(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(got, json!({"ms": 60000}));
    let put = http
        .put(&admin)
        .json(&json!({"ms": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 204);
    let put = http
        .put(&admin)
        .json(&json!({"ms": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 400);
    assert_eq!(sim.search_lag(), Duration::ZERO);
    let c = api.create("c", "fnd_rt_3").await;
    assert_eq!(
        post_keys(&api, "project = SEC").await,
        [c.as_str(), a.as_str()]
    );
    clock.advance(Duration::from_secs(60));
    assert_eq!(post_keys(&api, "project = SEC").await, [c, b, a]);

    // A reset keeps the setting.
    sim.set_search_lag(Duration::from_secs(5));
    sim.reset();
    assert_eq!(sim.search_lag(), Duration::from_secs(5));
    sim.shutdown().await;
}

#[tokio::test]
async fn the_json_configuration_sets_the_lag() {
    let clock = SimClock::manual(chrono::Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap());
    let config = SimConfig::from_json_str(r#"{"search_lag_ms": 5000}"#, Flavor::Cloud)
        .unwrap()
        .clock(clock.clone());
    assert_eq!(config.search_lag, Duration::from_millis(5000));
    let sim = JiraSim::start(config).await.unwrap();
    let api = Api::new(&sim, Who::Bot);
    let key = api.create("a", "fnd_cfg").await;
    assert!(post_keys(&api, "project = SEC").await.is_empty());
    clock.advance(Duration::from_millis(4999));
    assert!(post_keys(&api, "project = SEC").await.is_empty());
    clock.advance(Duration::from_millis(1));
    assert_eq!(post_keys(&api, "project = SEC").await, [key]);
    sim.shutdown().await;
}
