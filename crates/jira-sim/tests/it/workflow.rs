//! The workflow through REST.

use crate::common::{Api, Who, start};
use jira_model::{Flavor, StatusCategoryKey};
use jira_sim::{JiraSim, SimConfig, Workflow};
use serde_json::json;

async fn transition(
    api: &Api,
    key: &str,
    name: &str,
    resolution: Option<&str>,
) -> crate::common::Answer {
    let id = api
        .transition_id(key, name)
        .await
        .unwrap_or_else(|| format!("no {name}"));
    let mut body = json!({"transition": {"id": id}});
    if let Some(r) = resolution {
        body["fields"] = json!({"resolution": {"name": r}});
    }
    api.post(&format!("issue/{key}/transitions"), body).await
}

#[tokio::test]
async fn default_workflow_with_resolution_screen() {
    let sim = start(Flavor::Cloud).await;
    let api = Api::new(&sim, Who::Alex);
    let key = Api::new(&sim, Who::Bot).create("s", "f").await;
    let t = api.get(&format!("issue/{key}/transitions")).await.json();
    let names: Vec<&str> = t["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Start Progress", "Done", "Won't Do", "Cancel"]);

    let a = transition(&api, &key, "Won't Do", None).await;
    assert_eq!(a.status, 400);
    // Jira's validator message, in `errorMessages` (not `errors`).
    assert_eq!(
        a.json()["errorMessages"],
        serde_json::json!(["Field Resolution is required."])
    );
    assert!(a.json()["errors"].get("resolution").is_none());
    let a = transition(&api, &key, "Won't Do", Some("Nonsense")).await;
    assert_eq!(a.status, 400);
    assert_eq!(sim.issue(&key).unwrap().status, "Open");

    let a = transition(&api, &key, "Won't Do", Some("Won't Do")).await;
    assert_eq!(a.status, 204, "{}", a.text);
    let i = sim.issue(&key).unwrap();
    assert_eq!(i.status, "Won't Do");
    assert_eq!(i.status_category, StatusCategoryKey::Done);
    assert_eq!(i.resolution.as_deref(), Some("Won't Do"));
    assert!(i.resolution_date.is_some());
    let got = api
        .get(&format!("issue/{key}?fields=status,resolution"))
        .await
        .json();
    assert_eq!(got["fields"]["resolution"]["name"], "Won't Do");
    assert_eq!(got["fields"]["status"]["statusCategory"]["key"], "done");

    // From a done status only Reopen is available; it clears the resolution.
    let a = api
        .post(
            &format!("issue/{key}/transitions"),
            json!({"transition":{"id":"11"}}),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json()["errorMessages"][0],
        "Transition id '11' is not valid for this issue."
    );
    assert_eq!(transition(&api, &key, "Reopen", None).await.status, 204);
    let i = sim.issue(&key).unwrap();
    assert_eq!((i.status.as_str(), i.resolution.clone()), ("Open", None));
    assert!(i.resolution_date.is_none());

    // A field that is not on the screen is refused.
    let a = api
        .post(
            &format!("issue/{key}/transitions"),
            json!({"transition":{"id":"11"},"fields":{"resolution":{"name":"Done"}}}),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json()["errors"]["resolution"],
        "Field 'resolution' cannot be set. It is not on the appropriate screen, or unknown."
    );
    // A comment can ride along.
    let a = api
        .post(
            &format!("issue/{key}/transitions"),
            json!({"transition":{"id":"11"},
            "update":{"comment":[{"add":{"body": api.description("starting")}}]}}),
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.text);
    let i = sim.issue(&key).unwrap();
    assert_eq!((i.status.as_str(), i.comments.len()), ("In Progress", 1));
    assert_eq!(api.get("issue/SEC-77/transitions").await.status, 404);
}

#[tokio::test]
async fn two_step_puts_done_two_transitions_away() {
    let sim = JiraSim::start(SimConfig::new(Flavor::DataCenter).workflow(Workflow::two_step()))
        .await
        .unwrap();
    let api = Api::new(&sim, Who::Bot);
    let key = api.create("s", "f").await;
    assert_eq!(api.transition_id(&key, "Done").await, None);
    assert_eq!(
        transition(&api, &key, "Start Progress", None).await.status,
        204
    );
    assert!(api.transition_id(&key, "Done").await.is_some());
    assert_eq!(
        transition(&api, &key, "Done", Some("Done")).await.status,
        204
    );
    assert_eq!(sim.issue(&key).unwrap().resolution.as_deref(), Some("Done"));
}

#[tokio::test]
async fn without_screen_the_sim_sets_the_resolution() {
    let sim = JiraSim::start(
        SimConfig::new(Flavor::Cloud).workflow(Workflow::without_resolution_screen()),
    )
    .await
    .unwrap();
    let api = Api::new(&sim, Who::Bot);
    let key = api.create("s", "f").await;
    let t = api
        .get(&format!(
            "issue/{key}/transitions?expand=transitions.fields"
        ))
        .await
        .json();
    let cancel = t["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Cancel")
        .unwrap()
        .clone();
    assert_eq!(cancel["hasScreen"], false);
    assert!(cancel["fields"].as_object().unwrap().is_empty());
    let a = transition(&api, &key, "Cancel", Some("Cancelled")).await;
    assert_eq!(a.status, 400, "resolution is not on the screen");
    assert_eq!(transition(&api, &key, "Cancel", None).await.status, 204);
    assert_eq!(
        sim.issue(&key).unwrap().resolution.as_deref(),
        Some("Cancelled")
    );
}
