//! Every endpoint, in both flavors, against exact request/response contracts.

use crate::support::{FLAVORS, ManualTime, auth_header, builder, client, prefix};
use jira_model::{
    AddCommentRequest, CreateIssueRequest, Description, EditIssueRequest, FieldId, FieldValue,
    Flavor, TransitionRequest, adf,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn adf_doc(text: &str) -> adf::Document {
    serde_json::from_value(json!({"type":"doc","version":1,"content":[
        {"type":"paragraph","content":[{"type":"text","text":text}]}]}))
    .unwrap()
}

fn rich(flavor: Flavor, text: &str) -> Description {
    match flavor {
        Flavor::Cloud => Description::Adf(adf_doc(text)),
        Flavor::DataCenter => Description::Wiki(text.to_string()),
    }
}

fn rich_json(flavor: Flavor, text: &str) -> Value {
    serde_json::to_value(rich(flavor, text)).unwrap()
}

fn issue_json() -> Value {
    json!({"id":"10042","key":"SEC-42","self":"https://jira.example/rest/api/2/issue/10042","fields":{
        "summary":"[Penaxtra] Prompt injection",
        "status":{"id":"3","name":"In Progress","statusCategory":{"id":4,"key":"indeterminate","name":"In Progress"}},
        "resolution":null,"labels":["penaxtra"],"customfield_10031":"fnd_1"}})
}

/// A GET of `suffix` answered with `body`, with the flavor's auth header.
async fn get_mock(server: &MockServer, flavor: Flavor, suffix: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(format!("{}{suffix}", prefix(flavor))))
        .and(header("authorization", auth_header(flavor).as_str()))
        .and(header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn myself() {
    for flavor in FLAVORS {
        let server = MockServer::start().await;
        let body = match flavor {
            Flavor::Cloud => {
                json!({"accountId":"5b10ac8d82e05b22cc7d4ef5","emailAddress":"bot@example.com","displayName":"Penaxtra Bot","active":true})
            }
            Flavor::DataCenter => {
                json!({"name":"penaxtra","key":"JIRAUSER10100","displayName":"Penaxtra Bot","active":true})
            }
        };
        get_mock(&server, flavor, "/myself", body).await;
        let me = client(&server, flavor).myself().await.unwrap();
        let expected = match flavor {
            Flavor::Cloud => "5b10ac8d82e05b22cc7d4ef5",
            Flavor::DataCenter => "JIRAUSER10100",
        };
        assert_eq!(me.identity(), Some(expected));
    }
}

#[tokio::test]
async fn server_info() {
    for flavor in FLAVORS {
        let server = MockServer::start().await;
        let deployment = match flavor {
            Flavor::Cloud => "Cloud",
            Flavor::DataCenter => "Server",
        };
        get_mock(
            &server,
            flavor,
            "/serverInfo",
            json!({"baseUrl":"https://jira.example","version":"9.12.4","deploymentType":deployment,"serverTitle":"Jira","buildNumber":9120004}),
        )
        .await;
        let info = client(&server, flavor).server_info().await.unwrap();
        assert_eq!(info.deployment_type.as_deref(), Some(deployment));
        assert_eq!(info.version, "9.12.4");
    }
}

#[tokio::test]
async fn project() {
    for flavor in FLAVORS {
        let server = MockServer::start().await;
        get_mock(
            &server,
            flavor,
            "/project/SEC",
            json!({"id":"10000","key":"SEC","name":"Security","issueTypes":[
                {"id":"10004","name":"Bug","subtask":false},{"id":"10005","name":"Sub-task","subtask":true}]}),
        )
        .await;
        let p = client(&server, flavor).project("SEC").await.unwrap();
        assert_eq!(p.key, "SEC");
        assert_eq!(p.issue_types.len(), 2);
        assert!(p.issue_types[1].subtask);
    }
}

#[tokio::test]
async fn issue_types_read_every_page() {
    for flavor in FLAVORS {
        let server = MockServer::start().await;
        let list = match flavor {
            Flavor::Cloud => "issueTypes",
            Flavor::DataCenter => "values",
        };
        let p = format!("{}/issue/createmeta/SEC/issuetypes", prefix(flavor));
        // Jira may answer fewer than asked: 2 of 3, then the last one.
        Mock::given(method("GET"))
            .and(path(p.as_str()))
            .and(query_param("startAt", "0"))
            .and(query_param("maxResults", "50"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                list: [{"id":"1","name":"Bug"},{"id":"2","name":"Task"}],"startAt":0,"maxResults":2,"total":3})))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(p.as_str()))
            .and(query_param("startAt", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                list: [{"id":"3","name":"Security"}],"startAt":2,"maxResults":2,"total":3,"isLast":true})))
            .expect(1)
            .mount(&server)
            .await;
        let types = client(&server, flavor).issue_types("SEC").await.unwrap();
        let names: Vec<_> = types.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["Bug", "Task", "Security"], "{flavor}");
    }
}

#[tokio::test]
async fn create_meta_fields_read_every_page() {
    for flavor in FLAVORS {
        let server = MockServer::start().await;
        let list = match flavor {
            Flavor::Cloud => "fields",
            Flavor::DataCenter => "values",
        };
        let p = format!("{}/issue/createmeta/SEC/issuetypes/10004", prefix(flavor));
        Mock::given(method("GET"))
            .and(path(p.as_str()))
            .and(query_param("startAt", "0"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                list: [{"fieldId":"summary","name":"Summary","required":true},
                       {"fieldId":"customfield_10031","name":"Penaxtra finding","required":false,"schema":{"type":"string"}}],
                "startAt":0,"maxResults":2,"total":3})))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(p.as_str()))
            .and(query_param("startAt", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                list: [{"fieldId":"labels","name":"Labels","required":false}],"startAt":2,"maxResults":2,"total":3})))
            .expect(1)
            .mount(&server)
            .await;
        let page = client(&server, flavor)
            .create_meta_fields("SEC", "10004")
            .await
            .unwrap();
        assert_eq!(page.fields.len(), 3);
        assert!(page.has_field("customfield_10031"));
        assert!(page.has_field("labels"));
        assert!(page.fields[0].required);
    }
}

#[tokio::test]
async fn fields() {
    for flavor in FLAVORS {
        let server = MockServer::start().await;
        get_mock(
            &server,
            flavor,
            "/field",
            json!([
                {"id":"summary","name":"Summary","custom":false,"schema":{"type":"string","system":"summary"}},
                {"id":"customfield_10032","name":"Frameworks","custom":true,"schema":{"type":"array","items":"option",
                 "custom":"com.atlassian.jira.plugin.system.customfieldtypes:multiselect","customId":10032}}]),
        )
        .await;
        let f = client(&server, flavor).fields().await.unwrap();
        assert_eq!(f.len(), 2);
        assert!(f[1].custom);
        assert_eq!(f[1].schema.as_ref().unwrap().custom_id, Some(10032));
    }
}

#[tokio::test]
async fn create_issue_sends_the_flavors_shape() {
    for flavor in FLAVORS {
        let server = MockServer::start().await;
        let request = CreateIssueRequest::builder("SEC", "Bug", "[Penaxtra] Prompt injection")
            .description(rich(flavor, "Severity: high"))
            .labels(["penaxtra", "ai-security"])
            .custom_field(
                FieldId::new("customfield_10031").unwrap(),
                FieldValue::Text("fnd_1".into()),
            )
            .build();
        Mock::given(method("POST"))
            .and(path(format!("{}/issue", prefix(flavor))))
            .and(header("authorization", auth_header(flavor).as_str()))
            .and(header("content-type", "application/json"))
            .and(body_json(json!({"fields":{
                "project":{"key":"SEC"},"issuetype":{"name":"Bug"},
                "summary":"[Penaxtra] Prompt injection",
                "description": rich_json(flavor, "Severity: high"),
                "labels":["penaxtra","ai-security"],"customfield_10031":"fnd_1"}})))
            .respond_with(ResponseTemplate::new(201).set_body_json(
                json!({"id":"10042","key":"SEC-42","self":"https://jira.example/rest/api/2/issue/10042"}),
            ))
            .expect(1)
            .mount(&server)
            .await;
        let created = client(&server, flavor)
            .create_issue(&request)
            .await
            .unwrap();
        assert_eq!(created.key, "SEC-42");
        assert_eq!(created.id, "10042");
    }
}

#[tokio::test]
async fn rich_text_in_the_wrong_format_is_refused_before_sending() {
    for flavor in FLAVORS {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(201))
            .expect(0)
            .mount(&server)
            .await;
        let other = match flavor {
            Flavor::Cloud => Flavor::DataCenter,
            Flavor::DataCenter => Flavor::Cloud,
        };
        let c = client(&server, flavor);
        let request = CreateIssueRequest::builder("SEC", "Bug", "s")
            .description(rich(other, "d"))
            .build();
        let e = c.create_issue(&request).await.unwrap_err();
        assert_eq!(e.code(), "invalid_input");
        assert_eq!(e.attempts(), 0);
        let e = c
            .add_comment("SEC-1", &AddCommentRequest::new(rich(other, "c")))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_input");
        let edit = EditIssueRequest::new().set("description", rich_json(other, "d"));
        assert_eq!(
            c.edit_issue("SEC-1", &edit).await.unwrap_err().code(),
            "invalid_input"
        );
        let bulk = c.bulk_create(&[request]).await;
        assert_eq!(bulk[0].as_ref().unwrap_err().code(), "invalid_input");
    }
}

#[tokio::test]
async fn get_issue_asks_for_the_chosen_fields() {
    for flavor in FLAVORS {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!("{}/issue/SEC-42", prefix(flavor))))
            .and(query_param("fields", "summary,status,customfield_10031"))
            .respond_with(ResponseTemplate::new(200).set_body_json(issue_json()))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{}/issue/SEC-43", prefix(flavor))))
            .and(query_param_is_missing("fields"))
            .respond_with(ResponseTemplate::new(200).set_body_json(issue_json()))
            .expect(1)
            .mount(&server)
            .await;
        let c = client(&server, flavor);
        let issue = c
            .get_issue("SEC-42", &["summary", "status", "customfield_10031"])
            .await
            .unwrap();
        assert_eq!(issue.key, "SEC-42");
        assert_eq!(issue.fields.status.unwrap().name, "In Progress");
        let f = FieldId::new("customfield_10031").unwrap();
        assert_eq!(
            issue_custom(&c.get_issue("SEC-43", &[]).await.unwrap(), &f),
            "fnd_1"
        );
    }
}

fn issue_custom(issue: &jira_model::Issue, f: &FieldId) -> String {
    issue.custom_field::<String>(f).unwrap().unwrap()
}

#[tokio::test]
async fn edit_issue_puts_fields() {
    for flavor in FLAVORS {
        let server = MockServer::start().await;
        Mock::given(method("PUT"))
            .and(path(format!("{}/issue/SEC-42", prefix(flavor))))
            .and(body_json(json!({"fields":{"labels":["penaxtra","triaged"],"description":rich_json(flavor, "new")}})))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
        let edit = EditIssueRequest::new()
            .set("labels", json!(["penaxtra", "triaged"]))
            .set("description", rich_json(flavor, "new"));
        client(&server, flavor)
            .edit_issue("SEC-42", &edit)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn transitions_come_with_field_metadata() {
    for flavor in FLAVORS {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!("{}/issue/SEC-42/transitions", prefix(flavor))))
            .and(query_param("expand", "transitions.fields"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"expand":"transitions","transitions":[
                {"id":"21","name":"Start","hasScreen":false,
                 "to":{"id":"3","name":"In Progress","statusCategory":{"id":4,"key":"indeterminate","name":"In Progress"}},"fields":{}},
                {"id":"31","name":"Resolve","hasScreen":true,
                 "to":{"id":"10001","name":"Done","statusCategory":{"id":3,"key":"done","name":"Done"}},
                 "fields":{"resolution":{"required":true,"name":"Resolution","allowedValues":[
                    {"id":"1","name":"Done"},{"id":"10000","name":"Won't Do"}]}}}]})))
            .expect(1)
            .mount(&server)
            .await;
        let t = client(&server, flavor).transitions("SEC-42").await.unwrap();
        assert_eq!(t.len(), 2);
        assert!(t[1].has_field("resolution"));
        assert_eq!(
            t[1].fields["resolution"]
                .allowed_names()
                .collect::<Vec<_>>(),
            ["Done", "Won't Do"]
        );
    }
}

#[tokio::test]
async fn transition_posts_id_and_resolution() {
    for flavor in FLAVORS {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("{}/issue/SEC-42/transitions", prefix(flavor))))
            .and(body_json(
                json!({"transition":{"id":"31"},"fields":{"resolution":{"name":"Won't Do"}}}),
            ))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
        client(&server, flavor)
            .transition(
                "SEC-42",
                &TransitionRequest::new("31").with_resolution("Won't Do"),
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn add_comment_posts_the_flavors_body() {
    for flavor in FLAVORS {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("{}/issue/SEC-42/comment", prefix(flavor))))
            .and(body_json(
                json!({"body": rich_json(flavor, "Resolved in Penaxtra")}),
            ))
            .respond_with(
                ResponseTemplate::new(201).set_body_json(json!({"id":"10100","body":"ignored"})),
            )
            .expect(1)
            .mount(&server)
            .await;
        client(&server, flavor)
            .add_comment(
                "SEC-42",
                &AddCommentRequest::new(rich(flavor, "Resolved in Penaxtra")),
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn delete_issue() {
    for flavor in FLAVORS {
        let server = MockServer::start().await;
        Mock::given(method("DELETE"))
            .and(path(format!("{}/issue/SEC-42", prefix(flavor))))
            .and(header("authorization", auth_header(flavor).as_str()))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
        client(&server, flavor)
            .delete_issue("SEC-42")
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn context_path_and_trailing_slashes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/jira/rest/api/2/myself"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name":"bot"})))
        .expect(1)
        .mount(&server)
        .await;
    let c = jira_client::JiraClient::builder(
        &format!("{}/jira//", server.uri()),
        Flavor::DataCenter,
        jira_client::PatAuth::new(crate::support::PAT.into()),
    )
    .url_policy(jira_client::UrlPolicy::default().allow_loopback())
    .without_rate_limit()
    .build()
    .unwrap();
    assert_eq!(c.base_url().as_str(), format!("{}/jira", server.uri()));
    assert_eq!(c.flavor(), Flavor::DataCenter);
    assert_eq!(c.myself().await.unwrap().name.as_deref(), Some("bot"));
}

#[tokio::test]
async fn identifiers_are_checked_and_encoded() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let c = client(&server, Flavor::Cloud);
    for bad in ["", "SEC/1", "SEC-1?x=1", "..", "SEC 1", "SEC-1#"] {
        assert_eq!(
            c.get_issue(bad, &[]).await.unwrap_err().code(),
            "invalid_input"
        );
        assert_eq!(
            c.delete_issue(bad).await.unwrap_err().code(),
            "invalid_input"
        );
        assert_eq!(c.project(bad).await.unwrap_err().code(), "invalid_input");
    }
    assert_eq!(
        c.create_meta_fields("SEC", "../x")
            .await
            .unwrap_err()
            .code(),
        "invalid_input"
    );
}

#[tokio::test]
async fn user_agent_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("user-agent", "penaxtra-test/1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name":"bot"})))
        .expect(1)
        .mount(&server)
        .await;
    let c = builder(&server, Flavor::DataCenter, &ManualTime::new())
        .user_agent("penaxtra-test/1")
        .build()
        .unwrap();
    c.myself().await.unwrap();
}
