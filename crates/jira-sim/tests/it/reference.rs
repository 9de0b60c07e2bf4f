//! The simulator's answers against Atlassian's OpenAPI fragments and
//! examples vendored in `testdata/jira-reference`.

use crate::common::{Api, Who, assert_valid, openapi, read_json, start};
use jira_model::Flavor;
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn create_answers_match_created_issue_and_error_collection() {
    let sim = start(Flavor::Cloud).await;
    let api = Api::new(&sim, Who::Bot);
    let created = openapi(
        "create-issue.IssueUpdateDetails_CreatedIssue.json",
        "CreatedIssue",
    );
    let errors = openapi("ErrorCollection.json", "ErrorCollection");
    let a = api.post("issue", api.issue("s", "fnd_1")).await;
    assert_eq!(a.status, 201);
    assert_valid(&created, &a.json(), "create 201");
    // Every key we send is one Atlassian's example has.
    let example = read_json("examples/createIssue.response-201.json");
    assert!(keys(&a.json()).is_subset(&keys(&example)));
    assert!(a.json()["self"].as_str().unwrap().ends_with(&format!(
        "/rest/api/3/issue/{}",
        a.json()["id"].as_str().unwrap()
    )));

    for (body, what) in [
        (
            json!({"fields":{"project":{"key":"SEC"},"issuetype":{"name":"Bug"},"summary":"x".repeat(300)}}),
            "long summary",
        ),
        (
            json!({"fields":{"project":{"key":"SEC"},"issuetype":{"name":"Bug"},"summary":"s","customfield_10099":"x"}}),
            "unknown field",
        ),
        (
            json!({"fields":{"project":{"key":"SEC"},"issuetype":{"name":"Bug"},"summary":"s","description":"x".repeat(40_000)}}),
            "content limit",
        ),
        (
            json!({"fields":{"project":{"key":"SEC"},"issuetype":{"name":"Bug"},"summary":"s","description":"plain"}}),
            "string on v3",
        ),
    ] {
        let a = api.post("issue", body).await;
        assert_eq!(a.status, 400, "{what}: {}", a.text);
        assert_valid(&errors, &a.json(), what);
        // Same top-level shape as Atlassian's 400 example.
        assert_eq!(
            keys(&a.json()),
            keys(&read_json("examples/createIssue.response-400.json")),
            "{what}"
        );
    }
    let a = Api::new(&sim, Who::ReadOnly)
        .post("issue", api.issue("s", "f"))
        .await;
    assert_eq!(a.status, 403);
    assert_valid(&errors, &a.json(), "403");
}

#[tokio::test]
async fn bulk_answers_match_created_issues() {
    let sim = start(Flavor::Cloud).await;
    let api = Api::new(&sim, Who::Bot);
    let schema = openapi(
        "bulk-create.IssuesUpdateBean_CreatedIssues.json",
        "CreatedIssues",
    );
    let bad = json!({"fields":{"project":{"key":"SEC"},"issuetype":{"name":"Epic"},"summary":"s"}});
    let partial = api
        .post(
            "issue/bulk",
            json!({"issueUpdates":[api.issue("a","f1"), bad.clone(), api.issue("c","f3")]}),
        )
        .await;
    assert_eq!(partial.status, 201);
    assert_valid(&schema, &partial.json(), "partial bulk");
    let v = partial.json();
    assert_eq!(v["issues"].as_array().unwrap().len(), 2);
    assert_eq!(v["errors"][0]["failedElementNumber"], 1);
    assert_eq!(v["errors"][0]["status"], 400);
    assert_eq!(
        v["errors"][0]["elementErrors"]["errors"]["issuetype"],
        "The issue type selected is invalid."
    );

    let all_failed = api
        .post("issue/bulk", json!({"issueUpdates":[bad.clone(), bad]}))
        .await;
    assert_eq!(all_failed.status, 400);
    assert_valid(&schema, &all_failed.json(), "failed bulk");
    let example = read_json("examples/createIssues.response-400.json");
    assert_eq!(keys(&all_failed.json()), keys(&example));
    assert_eq!(
        keys(&all_failed.json()["errors"][1]),
        keys(&example["errors"][1])
    );
    assert_eq!(all_failed.json()["errors"][1]["failedElementNumber"], 1);
    assert_eq!(sim.issues().len(), 2);

    let ok = api
        .post("issue/bulk", json!({"issueUpdates":[api.issue("d","f4")]}))
        .await;
    let example = read_json("examples/createIssues.response-201.json");
    assert_eq!(keys(&ok.json()), keys(&example));
}

#[tokio::test]
async fn transitions_match_the_transitions_schema() {
    let sim = start(Flavor::Cloud).await;
    let api = Api::new(&sim, Who::Bot);
    let schema = openapi(
        "transitions.IssueTransition_Transitions.json",
        "Transitions",
    );
    let key = api.create("s", "f").await;
    for path in [
        format!("issue/{key}/transitions"),
        format!("issue/{key}/transitions?expand=transitions.fields"),
    ] {
        let a = api.get(&path).await;
        assert_eq!(a.status, 200);
        assert_valid(&schema, &a.json(), &path);
    }
    let a = api
        .get(&format!(
            "issue/{key}/transitions?expand=transitions.fields"
        ))
        .await
        .json();
    let done = a["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Done")
        .unwrap()
        .clone();
    assert_eq!(done["to"]["statusCategory"]["key"], "done");
    assert_eq!(done["fields"]["resolution"]["required"], true);
    let names: Vec<&str> = done["fields"]["resolution"]["allowedValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Done", "Won't Do", "Cancelled"]);
    // Our transitions carry every key of Atlassian's example that applies.
    let example = read_json("examples/getTransitions.response-200.json");
    let ex_keys = keys(&example["transitions"][0]);
    let ours = keys(&done);
    for k in [
        "id",
        "name",
        "to",
        "hasScreen",
        "isGlobal",
        "isInitial",
        "isAvailable",
        "isConditional",
        "fields",
    ] {
        assert!(ex_keys.contains(k) && ours.contains(k), "{k}");
    }
    // And it parses into the shared model type.
    let parsed: jira_model::Transitions = serde_json::from_value(a).unwrap();
    assert!(parsed.transitions.iter().any(|t| t.has_field("resolution")));
}

#[tokio::test]
async fn search_jql_matches_search_and_reconcile_results() {
    let sim = start(Flavor::Cloud).await;
    let api = Api::new(&sim, Who::Bot);
    let schema = openapi(
        "search-jql.SearchAndReconcileResults.json",
        "SearchAndReconcileResults",
    );
    for n in 0..3 {
        api.create(&format!("s{n}"), &format!("f{n}")).await;
    }
    for body in [
        json!({"jql":"project = SEC","maxResults":2}),
        json!({"jql":"project = SEC","maxResults":2,"fields":["*all"]}),
        json!({"jql":"project = SEC","fields":["summary","status","customfield_10031"]}),
    ] {
        let a = api.post("search/jql", body.clone()).await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert_valid(&schema, &a.json(), &body.to_string());
        assert!(a.json().get("total").is_none());
    }
    let example = read_json("examples/searchAndReconsileIssuesUsingJql.response-200.json");
    let a = api
        .post(
            "search/jql",
            json!({"jql":"project = SEC","fields":["*all"]}),
        )
        .await
        .json();
    assert!(
        keys(&a).is_subset(
            &keys(&example)
                .into_iter()
                .chain(["nextPageToken".to_string()])
                .collect()
        )
    );
    let page: jira_model::CloudSearchPage = serde_json::from_value(a).unwrap();
    assert_eq!(page.issues.len(), 3);
    assert!(page.is_last_page());
}

#[tokio::test]
async fn fields_match_field_details() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = start(flavor).await;
        let api = Api::new(&sim, Who::Bot);
        let schema = openapi("field.FieldDetails.json", "FieldDetails");
        let a = api.get("field").await;
        assert_eq!(a.status, 200);
        let list = a.json();
        for f in list.as_array().unwrap() {
            assert_valid(&schema, f, "field");
        }
        let example = read_json("examples/getFields.response-200.json");
        let ex = keys(&example[1]);
        let ours = list
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == "summary")
            .unwrap();
        assert!(ex.is_subset(&keys(ours)), "{ex:?} vs {:?}", keys(ours));
        let fw = list
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == "customfield_10032")
            .unwrap();
        assert_eq!(
            fw["schema"]["custom"],
            "com.atlassian.jira.plugin.system.customfieldtypes:multiselect"
        );
        assert_eq!(fw["clauseNames"][0], "cf[10032]");
        let parsed: Vec<jira_model::FieldDefinition> = serde_json::from_value(list).unwrap();
        assert!(
            parsed
                .iter()
                .any(|f| f.id == "customfield_10031" && f.custom)
        );
    }
}

#[tokio::test]
async fn issue_matches_issue_bean_and_adf_schema() {
    let sim = start(Flavor::Cloud).await;
    let bean = openapi("issue-get.IssueBean.json", "IssueBean");
    let adf = {
        let schema = read_json("adf-schema.full.v1.json");
        jsonschema::draft4::new(&schema).unwrap()
    };
    // Created through v2 with a wiki string, read through v3 as ADF.
    let v2 = Api::new(&sim, Who::Bot).v2();
    let key = v2
        .post(
            "issue",
            json!({"fields":{"project":{"key":"SEC"},"issuetype":{"name":"Security"},"summary":"s",
            "description":"line one\nline two\n\nsecond paragraph"}}),
        )
        .await
        .json()["key"]
        .as_str()
        .unwrap()
        .to_string();
    Api::new(&sim, Who::Alex)
        .post(
            &format!("issue/{key}/comment"),
            json!({"body": Api::new(&sim, Who::Alex).description("noted")}),
        )
        .await;
    let v3 = Api::new(&sim, Who::Bot);
    let a = v3.get(&format!("issue/{key}")).await;
    assert_eq!(a.status, 200);
    let issue = a.json();
    assert_valid(&bean, &issue, "GET issue v3");
    assert_valid(&adf, &issue["fields"]["description"], "description as ADF");
    assert_valid(
        &adf,
        &issue["fields"]["comment"]["comments"][0]["body"],
        "comment as ADF",
    );
    let a = v2.get(&format!("issue/{key}")).await.json();
    assert_valid(&bean, &a, "GET issue v2");
    assert_eq!(
        a["fields"]["description"],
        "line one\nline two\n\nsecond paragraph"
    );
    // Server info carries the example's core keys.
    let info = v3.get("serverInfo").await.json();
    let example = read_json("examples/getServerInfo.response-200.json");
    for k in [
        "baseUrl",
        "version",
        "versionNumbers",
        "buildNumber",
        "buildDate",
        "serverTime",
        "scmInfo",
        "serverTitle",
    ] {
        assert!(example.get(k).is_some() && info.get(k).is_some(), "{k}");
    }
    assert_eq!(info["deploymentType"], "Cloud");
}

#[tokio::test]
async fn createmeta_fields_carry_the_example_keys() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = start(flavor).await;
        let api = Api::new(&sim, Who::Bot);
        let a = api.get("issue/createmeta/SEC/issuetypes/10004").await;
        assert_eq!(a.status, 200);
        let v = a.json();
        let list_key = if flavor == Flavor::Cloud {
            "fields"
        } else {
            "values"
        };
        let example = read_json("examples/getCreateIssueMetaIssueTypeId.response-200.json");
        for f in v[list_key].as_array().unwrap() {
            assert!(keys(&example["fields"][0]).is_subset(&keys(f)), "{f}");
        }
        let page: jira_model::CreateMetaPage = serde_json::from_value(v).unwrap();
        for id in [
            "summary",
            "description",
            "labels",
            "customfield_10031",
            "customfield_10032",
        ] {
            assert!(page.has_field(id), "{flavor}: {id}");
        }
        let types: jira_model::IssueTypesPage =
            serde_json::from_value(api.get("issue/createmeta/SEC/issuetypes").await.json())
                .unwrap();
        let names: Vec<&str> = types.issue_types.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["Bug", "Security"]);
    }
}
