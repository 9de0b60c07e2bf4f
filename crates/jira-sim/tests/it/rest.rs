//! REST surface and strictness per flavor.

use crate::common::{Api, Who, start};
use jira_model::Flavor;
use serde_json::json;

#[tokio::test]
async fn auth_per_flavor() {
    let cloud = start(Flavor::Cloud).await;
    let me = Api::new(&cloud, Who::Bot).get("myself").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["emailAddress"], "penaxtra-bot@sim.example");
    assert!(me.json()["accountId"].is_string() && me.json().get("name").is_none());
    for who in [Who::Nobody, Who::Wrong] {
        let a = Api::new(&cloud, who).get("myself").await;
        assert_eq!(a.status, 401, "{who:?}");
    }
    // A Data Center PAT means nothing to Cloud.
    let a = Api::new(&cloud, Who::Bot)
        .client
        .get(format!("{}/rest/api/3/myself", cloud.base_url()))
        .bearer_auth(jira_sim::accounts::SERVICE_PAT)
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), 401);
    // Server info is readable anonymously, as on real Jira.
    assert_eq!(
        Api::new(&cloud, Who::Nobody).get("serverInfo").await.status,
        200
    );
    // Refused credentials are served as anonymous, with Seraph's header
    // (see `fidelity_auth` for the rest of that behaviour).
    let a = Api::new(&cloud, Who::Wrong).get("serverInfo").await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.header("X-Seraph-LoginReason"),
        Some("AUTHENTICATED_FAILED")
    );
    assert!(
        Api::new(&cloud, Who::Nobody)
            .get("serverInfo")
            .await
            .header("X-Seraph-LoginReason")
            .is_none(),
        "no credentials, no failed login"
    );

    let dc = start(Flavor::DataCenter).await;
    let me = Api::new(&dc, Who::Alex).get("myself").await.json();
    assert_eq!(
        (me["name"].as_str(), me["key"].as_str()),
        (Some("alex"), Some("JIRAUSER10101"))
    );
    assert!(me.get("accountId").is_none());
    let a = Api::new(&dc, Who::Wrong).get("myself").await;
    assert_eq!(a.status, 401);
    assert_eq!(
        a.header("X-Seraph-LoginReason"),
        Some("AUTHENTICATED_FAILED")
    );
    let a = Api::new(&dc, Who::Nobody).get("myself").await;
    assert_eq!(a.status, 401);
    assert!(
        a.json()["errorMessages"][0]
            .as_str()
            .unwrap()
            .contains("not authenticated")
    );
}

#[tokio::test]
async fn versions_per_flavor() {
    let cloud = start(Flavor::Cloud).await;
    let v3 = Api::new(&cloud, Who::Bot);
    let v2 = v3.clone().v2();
    // Cloud serves v3 (ADF) and v2 (strings).
    assert_eq!(v2.post("issue", v2.issue("s", "f")).await.status, 201);
    let a = v3.post("issue", v2.issue("s", "f")).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json()["errors"]["description"],
        "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
    );
    let a = v2.post("issue", v3.issue("s", "f")).await;
    assert_eq!(
        a.json()["errors"]["description"],
        "Operation value must be a string"
    );
    // The removed search is gone on both versions.
    for api in [&v3, &v2] {
        let a = api.post("search", json!({"jql":"project = SEC"})).await;
        assert_eq!(a.status, 410);
        assert!(
            a.json()["errorMessages"][0]
                .as_str()
                .unwrap()
                .contains("/rest/api/3/search/jql")
        );
    }
    let dc = start(Flavor::DataCenter).await;
    let mut dc3 = Api::new(&dc, Who::Bot);
    dc3.version = "3";
    assert_eq!(dc3.get("myself").await.status, 404);
    assert_eq!(
        Api::new(&dc, Who::Bot)
            .post("search/jql", json!({"jql":"project = SEC"}))
            .await
            .status,
        404
    );
    assert_eq!(
        Api::new(&dc, Who::Bot).get("nothing/here").await.status,
        404
    );
}

#[tokio::test]
async fn validation_like_jira_and_nothing_changes() {
    let sim = start(Flavor::DataCenter).await;
    let api = Api::new(&sim, Who::Bot);
    let base = || json!({"project":{"key":"SEC"},"issuetype":{"name":"Bug"},"summary":"s"});
    let with = |k: &str, v: serde_json::Value| {
        let mut f = base();
        f[k] = v;
        json!({ "fields": f })
    };
    let cases = [
        (
            with("summary", json!("x".repeat(255))),
            "summary",
            "Summary must be less than 255 characters.",
        ),
        (
            with("labels", json!(["has space"])),
            "labels",
            "The label 'has space' contains spaces which is invalid.",
        ),
        (
            with("customfield_10050", json!("x")),
            "customfield_10050",
            "Field 'customfield_10050' cannot be set. It is not on the appropriate screen, or unknown.",
        ),
        (
            with("issuetype", json!({"name":"Story"})),
            "issuetype",
            "The issue type selected is invalid.",
        ),
        (
            with("project", json!({"key":"NOPE"})),
            "project",
            "Specify a valid project ID or key",
        ),
        (
            with("description", json!("x".repeat(32_768))),
            "description",
            "The entered text is too long. It exceeds the allowed limit of 32,767 characters.",
        ),
    ];
    for (body, field, message) in cases {
        let a = api.post("issue", body).await;
        assert_eq!(a.status, 400, "{field}");
        assert_eq!(a.json()["errors"][field], message);
    }
    assert_eq!(
        api.post("issue", with("summary", json!("x".repeat(254))))
            .await
            .status,
        201
    );
    assert_eq!(
        api.post("issue", with("description", json!("x".repeat(32_767))))
            .await
            .status,
        201
    );
    assert_eq!(sim.issues().len(), 2, "only the valid creates exist");
    let a = api.send(reqwest::Method::POST, "issue", None).await;
    assert_eq!(a.status, 400);

    // Cloud answers the content limit with CONTENT_LIMIT_EXCEEDED.
    let cloud = start(Flavor::Cloud).await;
    let v3 = Api::new(&cloud, Who::Bot);
    let a = v3
        .post(
            "issue",
            json!({"fields":{"project":{"key":"SEC"},"issuetype":{"name":"Bug"},"summary":"s",
        "description": v3.description(&"y".repeat(33_000))}}),
        )
        .await;
    assert_eq!(
        a.json(),
        json!({"errorMessages":["CONTENT_LIMIT_EXCEEDED"],"errors":{}})
    );
    assert!(cloud.issues().is_empty());
}

#[tokio::test]
async fn permissions_and_missing_issues() {
    let sim = start(Flavor::Cloud).await;
    let bot = Api::new(&sim, Who::Bot);
    let ro = Api::new(&sim, Who::ReadOnly);
    let a = ro.post("issue", bot.issue("s", "f")).await;
    assert_eq!(a.status, 403);
    assert_eq!(
        a.json()["errorMessages"][0],
        "You do not have permission to create issues in this project."
    );
    let key = bot.create("s", "f").await;
    // Read-only may browse, not change.
    assert_eq!(ro.get(&format!("issue/{key}")).await.status, 200);
    assert_eq!(
        ro.put(&format!("issue/{key}"), json!({"fields":{"summary":"x"}}))
            .await
            .status,
        403
    );
    assert_eq!(ro.delete(&format!("issue/{key}")).await.status, 403);
    assert_eq!(
        ro.post(
            &format!("issue/{key}/transitions"),
            json!({"transition":{"id":"11"}})
        )
        .await
        .status,
        403
    );
    assert_eq!(
        ro.post(
            &format!("issue/{key}/comment"),
            json!({"body": bot.description("x")})
        )
        .await
        .status,
        403
    );
    let bulk = ro
        .post("issue/bulk", json!({"issueUpdates":[bot.issue("a","b")]}))
        .await;
    assert_eq!(bulk.status, 400);
    assert_eq!(bulk.json()["errors"][0]["status"], 403);
    assert_eq!(sim.issues().len(), 1);
    let a = bot.get("issue/SEC-999").await;
    assert_eq!(a.status, 404);
    assert_eq!(
        a.json()["errorMessages"][0],
        "Issue does not exist or you do not have permission to see it."
    );
    assert_eq!(bot.get("project/NOPE").await.status, 404);
    let p = bot.get("project/SEC").await.json();
    let project: jira_model::Project = serde_json::from_value(p).unwrap();
    assert_eq!(project.issue_types.len(), 2);
}

#[tokio::test]
async fn get_edit_comment_delete() {
    let sim = start(Flavor::DataCenter).await;
    let api = Api::new(&sim, Who::Bot);
    let key = api.create("first", "fnd_1").await;
    let issue: jira_model::Issue =
        serde_json::from_value(api.get(&format!("issue/{key}")).await.json()).unwrap();
    assert_eq!(issue.fields.status.as_ref().unwrap().name, "Open");
    assert_eq!(
        issue
            .field_values(&jira_model::FieldId::new("customfield_10032").unwrap())
            .unwrap(),
        ["OWASP_LLM01"]
    );
    let only = api.get(&format!("issue/{key}?fields=summary")).await.json();
    assert_eq!(only["fields"].as_object().unwrap().len(), 1);

    let a = api
        .put(
            &format!("issue/{key}"),
            json!({"fields":{"summary":"renamed","customfield_10032":[{"value":"OWASP_LLM03"}]},
            "update":{"labels":[{"add":"triaged"}]}}),
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.text);
    let s = sim.issue(&key).unwrap();
    assert_eq!(s.summary, "renamed");
    assert_eq!(s.labels, ["penaxtra", "triaged"]);
    assert_eq!(s.framework_values(), ["OWASP_LLM03"]);
    // Real Jira adds no option on its own: a value outside the field's
    // options is refused, and nothing changes.
    let unknown = api
        .put(
            &format!("issue/{key}"),
            json!({"fields":{"customfield_10032":[{"value":"NEW_FW"}]}}),
        )
        .await;
    assert_eq!(unknown.status, 400, "{}", unknown.text);
    assert!(
        unknown.text.contains("Option value 'NEW_FW' is not valid"),
        "{}",
        unknown.text
    );
    assert_eq!(sim.issue(&key).unwrap().framework_values(), ["OWASP_LLM03"]);
    let bad = api
        .put(
            &format!("issue/{key}"),
            json!({"fields":{"customfield_10077":"x","labels":["a b"]}}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["errors"].as_object().unwrap().len(), 2);
    assert_eq!(sim.issue(&key).unwrap().labels, ["penaxtra", "triaged"]);

    let c = api
        .post(&format!("issue/{key}/comment"), json!({"body":"a note"}))
        .await;
    assert_eq!(c.status, 201);
    assert_eq!(c.json()["author"]["name"], "penaxtra-bot");
    let list = api.get(&format!("issue/{key}/comment")).await.json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["comments"][0]["body"], "a note");

    assert_eq!(api.delete(&format!("issue/{key}")).await.status, 204);
    assert_eq!(api.get(&format!("issue/{key}")).await.status, 404);
    assert!(sim.issue(&key).unwrap().deleted);
    assert_eq!(
        sim.request_counts()[&format!("DELETE /rest/api/2/issue/{key}")],
        1
    );
    // Nine calls, and the refused option edit.
    assert_eq!(sim.request_count(), 10);
}

#[tokio::test]
async fn bulk_limits() {
    let sim = start(Flavor::Cloud).await;
    let api = Api::new(&sim, Who::Bot);
    let items: Vec<_> = (0..51).map(|n| api.issue(&format!("s{n}"), "f")).collect();
    let a = api
        .post("issue/bulk", json!({ "issueUpdates": items }))
        .await;
    assert_eq!(a.status, 400);
    assert!(sim.issues().is_empty());
    let items: Vec<_> = (0..50)
        .map(|n| api.issue(&format!("s{n}"), &format!("f{n}")))
        .collect();
    let a = api
        .post("issue/bulk", json!({ "issueUpdates": items }))
        .await;
    assert_eq!(a.status, 201);
    let r: jira_model::BulkCreateResponse = serde_json::from_value(a.json()).unwrap();
    assert_eq!(r.issues.len(), 50);
    let mut keys: Vec<&str> = r.issues.iter().map(|i| i.key.as_str()).collect();
    let listed = keys.clone();
    keys.sort_by_key(|k| k[4..].parse::<u32>().unwrap());
    assert_eq!(keys.first(), Some(&"SEC-1"));
    assert_eq!(keys.last(), Some(&"SEC-50"));
    assert_ne!(
        listed, keys,
        "like Jira, the created issues are not promised in request order"
    );
    assert_eq!(
        api.post("issue/bulk", json!({"issueUpdates":[]}))
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn frameworks_as_labels_field() {
    let sim = jira_sim::JiraSim::start(
        jira_sim::SimConfig::new(Flavor::Cloud)
            .frameworks_field_kind(jira_sim::FrameworksFieldKind::Labels),
    )
    .await
    .unwrap();
    let api = Api::new(&sim, Who::Bot);
    let mut body = api.issue("s", "f");
    assert_eq!(
        api.post("issue", body.clone()).await.status,
        400,
        "options are refused on a labels field"
    );
    body["fields"]["customfield_10032"] = json!(["OWASP_LLM01", "EU_AI_ACT_Art15"]);
    let key = api.post("issue", body).await.json()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let got = api.get(&format!("issue/{key}")).await.json();
    assert_eq!(
        got["fields"]["customfield_10032"],
        json!(["OWASP_LLM01", "EU_AI_ACT_Art15"])
    );
    let fields = api.get("field").await.json();
    let fw = fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "customfield_10032")
        .unwrap()
        .clone();
    assert_eq!(
        fw["schema"]["custom"],
        "com.atlassian.jira.plugin.system.customfieldtypes:labels"
    );
}

#[tokio::test]
async fn search_pages_per_flavor() {
    let cloud = start(Flavor::Cloud).await;
    let api = Api::new(&cloud, Who::Bot);
    for n in 0..5 {
        api.create(&format!("s{n}"), &format!("f{n}")).await;
    }
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut body =
            json!({"jql":"project = SEC ORDER BY key ASC","maxResults":2,"fields":["summary"]});
        if let Some(t) = &token {
            body["nextPageToken"] = json!(t);
        }
        let page = api.post("search/jql", body).await.json();
        pages += 1;
        keys.extend(
            page["issues"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["key"].as_str().unwrap().to_string()),
        );
        if page["isLast"] == true {
            assert!(page.get("nextPageToken").is_none());
            break;
        }
        token = page["nextPageToken"].as_str().map(str::to_string);
    }
    assert_eq!(pages, 3);
    assert_eq!(keys, ["SEC-1", "SEC-2", "SEC-3", "SEC-4", "SEC-5"]);
    // GET works too; by default only ids come back.
    let a = api
        .get("search/jql?jql=project%20%3D%20SEC&maxResults=1")
        .await
        .json();
    assert_eq!(a["issues"][0], json!({"id": "10004"}));
    let a = api
        .post("search/jql", json!({"jql":"order by key desc"}))
        .await;
    assert_eq!(a.status, 400);
    assert!(
        a.json()["errorMessages"][0]
            .as_str()
            .unwrap()
            .contains("Unbounded JQL")
    );
    let a = api
        .post("search/jql", json!({"jql":"project = SEC","startAt":2}))
        .await;
    assert_eq!(a.status, 400, "Cloud search/jql has no startAt");
    let a = api
        .post(
            "search/jql",
            json!({"jql":"project = SEC","nextPageToken":"forged"}),
        )
        .await;
    assert_eq!(a.status, 400);

    let dc = start(Flavor::DataCenter).await;
    let api = Api::new(&dc, Who::Bot);
    for n in 0..3 {
        api.create(&format!("s{n}"), &format!("f{n}")).await;
    }
    let page = api
        .post(
            "search",
            json!({"jql":"project = SEC ORDER BY key","startAt":1,"maxResults":1}),
        )
        .await
        .json();
    let parsed: jira_model::DataCenterSearchPage = serde_json::from_value(page.clone()).unwrap();
    assert_eq!(
        (parsed.start_at, parsed.total, parsed.issues.len()),
        (1, 3, 1)
    );
    assert_eq!(parsed.issues[0].key, "SEC-2");
    assert!(
        parsed.issues[0].fields.summary.is_some(),
        "navigable fields by default"
    );
    let page = api.get("search?jql=project%3DSEC&startAt=2").await.json();
    assert_eq!(page["total"], 3);
    assert_eq!(page["issues"].as_array().unwrap().len(), 1);
    let bad = api.get("search?jql=project%20%3D%20NOPE").await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json()["errorMessages"][0],
        "The value 'NOPE' does not exist for the field 'project'."
    );
}
