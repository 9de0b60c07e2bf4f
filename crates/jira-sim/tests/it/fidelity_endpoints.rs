//! Endpoints and shapes beside the basic scenario, which real clients
//! (pycontribs' `jira`, atlassian-python-api) call: changelog expansion and
//! pages, single comments, comment paging, order and visibility, counts,
//! custom-field discovery, issue-type change by edit, no v3 on Data Center.

use crate::common::{Api, Who, start};
use jira_model::Flavor;
use serde_json::{Value, json};

fn moves(api: &Api) -> Vec<Value> {
    let d = api.description("x");
    vec![
        json!({"fields": {"summary": "renamed"}}),
        json!({"update": {"labels": [{"add": "triaged"}]}}),
        json!({"fields": {"description": d}}),
    ]
}

#[tokio::test]
async fn changelog_by_expansion_and_in_pages() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = start(flavor).await;
        let api = Api::new(&sim, Who::Bot);
        let key = api.create("s", "f").await;
        for body in moves(&api) {
            assert_eq!(api.put(&format!("issue/{key}"), body).await.status, 204);
        }
        let t = json!({"transition": {"id": "11"}});
        api.post(&format!("issue/{key}/transitions"), t).await;
        let got = api
            .get(&format!("issue/{key}?expand=changelog,names"))
            .await
            .json();
        let histories = got["changelog"]["histories"].as_array().unwrap();
        assert_eq!(histories.len(), 4, "{flavor}");
        assert_eq!(got["changelog"]["total"], 4);
        assert_eq!(histories[0]["items"][0]["field"], "summary");
        assert_eq!(histories[0]["items"][0]["toString"], "renamed");
        assert_eq!(histories[3]["items"][0]["field"], "status");
        assert_eq!(histories[3]["items"][0]["toString"], "In Progress");
        assert!(histories[0]["author"].is_object() && histories[0]["created"].is_string());
        assert_eq!(got["names"]["summary"], "Summary");
        assert_eq!(got["names"]["customfield_10031"], "Penaxtra Finding ID");
        // Without the expansion, no changelog.
        assert!(
            api.get(&format!("issue/{key}"))
                .await
                .json()
                .get("changelog")
                .is_none()
        );
        // Search expands too.
        let (path, body) = match flavor {
            Flavor::Cloud => (
                "search/jql",
                json!({"jql": "project = SEC", "fields": ["summary"], "expand": "changelog"}),
            ),
            _ => (
                "search",
                json!({"jql": "project = SEC", "fields": ["summary"], "expand": ["changelog"]}),
            ),
        };
        let found = api.post(path, body).await.json();
        assert_eq!(found["issues"][0]["changelog"]["total"], 4, "{flavor}");
        // Cloud pages the changelog on its own endpoint; Data Center has none.
        let a = api
            .get(&format!("issue/{key}/changelog?maxResults=3"))
            .await;
        if flavor == Flavor::Cloud {
            let page = a.json();
            assert_eq!(
                (page["total"].as_u64(), page["isLast"].as_bool()),
                (Some(4), Some(false))
            );
            assert_eq!(page["values"].as_array().unwrap().len(), 3);
            assert!(page["nextPage"].as_str().unwrap().contains("startAt=3"));
            let rest = api
                .get(&format!("issue/{key}/changelog?startAt=3&maxResults=3"))
                .await
                .json();
            assert_eq!(rest["isLast"], true);
            assert_eq!(rest["values"][0]["items"][0]["field"], "status");
        } else {
            assert_eq!(a.status, 404);
        }
    }
}

#[tokio::test]
async fn single_comments_paging_order_and_visibility() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = start(flavor).await;
        let bot = Api::new(&sim, Who::Bot);
        let alex = Api::new(&sim, Who::Alex);
        let key = bot.create("s", "f").await;
        let mut ids = Vec::new();
        for n in 0..5 {
            let a = bot
                .post(
                    &format!("issue/{key}/comment"),
                    json!({"body": bot.description(&format!("c{n}"))}),
                )
                .await;
            assert_eq!(a.status, 201);
            ids.push(a.json()["id"].as_str().unwrap().to_string());
        }
        // The comment's own `self` URL answers GET, PUT and DELETE.
        let a = bot.get(&format!("issue/{key}/comment/{}", ids[0])).await;
        assert_eq!(a.status, 200, "{flavor}: {}", a.text);
        let self_url = a.json()["self"].as_str().unwrap().to_string();
        assert!(self_url.ends_with(&format!("/comment/{}", ids[0])));
        let a = bot
            .put(
                &format!("issue/{key}/comment/{}", ids[0]),
                json!({"body": bot.description("edited")}),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
        let c = bot
            .get(&format!("issue/{key}/comment/{}", ids[0]))
            .await
            .json();
        let text = c["body"].to_string();
        assert!(text.contains("edited"), "{text}");
        assert!(c["updateAuthor"].is_object());
        assert_eq!(
            bot.delete(&format!("issue/{key}/comment/{}", ids[1]))
                .await
                .status,
            204
        );
        assert_eq!(
            bot.get(&format!("issue/{key}/comment/{}", ids[1]))
                .await
                .status,
            404
        );
        // alex may not edit the bot's comment.
        let a = alex
            .put(
                &format!("issue/{key}/comment/{}", ids[2]),
                json!({"body": alex.description("x")}),
            )
            .await;
        assert_eq!(a.status, 403);

        // Paging and order.
        let page = bot
            .get(&format!(
                "issue/{key}/comment?startAt=1&maxResults=2&orderBy=-created"
            ))
            .await
            .json();
        assert_eq!(
            (page["total"].as_u64(), page["startAt"].as_u64()),
            (Some(4), Some(1))
        );
        let got: Vec<&str> = page["comments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(got, [ids[3].as_str(), ids[2].as_str()], "{flavor}");
        assert_eq!(
            bot.get(&format!("issue/{key}/comment?orderBy=author"))
                .await
                .status,
            400
        );

        // Visibility: stored, echoed, hidden from non-members, refused for
        // a role that does not exist.
        let restricted = json!({"body": bot.description("secret"),
            "visibility": {"type": "role", "value": "Administrators"}});
        let a = bot.post(&format!("issue/{key}/comment"), restricted).await;
        assert_eq!(a.status, 201, "{}", a.text);
        assert_eq!(a.json()["visibility"]["type"], "role");
        assert_eq!(a.json()["visibility"]["value"], "Administrators");
        let id = a.json()["id"].as_str().unwrap().to_string();
        let stored = sim.issue(&key).unwrap();
        let vis = stored.comments.last().unwrap().visibility.clone().unwrap();
        assert_eq!(
            (vis.kind.as_str(), vis.value.as_str()),
            ("role", "Administrators")
        );
        assert_eq!(
            bot.get(&format!("issue/{key}/comment/{id}")).await.json()["visibility"]["value"],
            "Administrators"
        );
        assert_eq!(
            alex.get(&format!("issue/{key}/comment/{id}")).await.status,
            404
        );
        let alex_sees = alex.get(&format!("issue/{key}/comment")).await.json();
        assert_eq!(
            alex_sees["total"], 4,
            "{flavor}: the restricted one is hidden"
        );
        assert!(
            !alex
                .get(&format!("issue/{key}?fields=comment"))
                .await
                .text
                .contains("secret")
        );
        let a = bot
            .post(
                &format!("issue/{key}/comment"),
                json!({"body": bot.description("x"), "visibility": {"type": "role", "value": "Wizards"}}),
            )
            .await;
        assert_eq!(a.status, 400);
        assert_eq!(
            a.json()["errors"]["commentLevel"],
            "Role with id: Wizards does not exist."
        );
        let a = bot
            .post(
                &format!("issue/{key}/comment"),
                json!({"body": bot.description("x"), "visibility": {"type": "group", "value": "security-team"}}),
            )
            .await;
        assert_eq!(a.status, 201);
        assert_eq!(a.json()["visibility"]["type"], "group");
    }
}

#[tokio::test]
async fn counts_field_discovery_type_changes_and_no_v3_on_data_center() {
    let cloud = start(Flavor::Cloud).await;
    let api = Api::new(&cloud, Who::Bot);
    for n in 0..3 {
        api.create(&format!("s{n}"), &format!("f{n}")).await;
    }
    let a = api
        .post("search/approximate-count", json!({"jql": "project = SEC"}))
        .await;
    assert_eq!(a.json(), json!({"count": 3}));
    let a = api
        .post("search/approximate-count", json!({"jql": "order by key"}))
        .await;
    assert_eq!(a.status, 400, "unbounded JQL is refused");
    let fields = api
        .get("field/search?type=custom&query=finding")
        .await
        .json();
    let ids: Vec<&str> = fields["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["customfield_10031", "customfield_10033"]);
    assert_eq!(fields["isLast"], true);
    let all = api.get("field/search?maxResults=2").await.json();
    assert_eq!(all["isLast"], false);

    // An edit may change the issue type; the changelog says so.
    let a = api
        .put(
            "issue/SEC-1",
            json!({"fields": {"issuetype": {"name": "Security"}}}),
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.text);
    assert_eq!(cloud.issue("SEC-1").unwrap().issue_type, "Security");
    let h = api.get("issue/SEC-1/changelog").await.json();
    assert_eq!(h["values"][0]["items"][0]["field"], "issuetype");
    let a = api
        .put(
            "issue/SEC-1",
            json!({"fields": {"issuetype": {"name": "Epic"}}}),
        )
        .await;
    assert_eq!(a.status, 400);

    let dc = start(Flavor::DataCenter).await;
    let api = Api::new(&dc, Who::Bot);
    let custom = api.get("customFields?search=framework").await.json();
    assert_eq!(custom["values"][0]["id"], "customfield_10032");
    assert_eq!(
        custom["values"][0]["type"],
        "Select List (multiple choices)"
    );
    assert_eq!(
        api.get("field/search").await.status,
        404,
        "a Cloud endpoint"
    );
    // Data Center has no REST v3 at all.
    let mut v3 = api.clone();
    v3.version = "3";
    for path in ["myself", "issue/SEC-1", "search/jql"] {
        assert_eq!(v3.get(path).await.status, 404, "{path}");
    }
    assert_eq!(
        Api::new(&cloud, Who::Bot).get("customFields").await.status,
        404
    );
}
