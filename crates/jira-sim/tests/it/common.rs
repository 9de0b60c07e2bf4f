//! Helpers shared by the integration tests.

use base64::Engine;
use jira_model::Flavor;
use jira_sim::{JiraSim, SimConfig, accounts};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::path::PathBuf;

/// A started simulator of the default world.
pub async fn start(flavor: Flavor) -> JiraSim {
    JiraSim::start(SimConfig::new(flavor)).await.unwrap()
}

/// Who calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Bot,
    Alex,
    ReadOnly,
    Nobody,
    Wrong,
}

/// An answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A REST caller for one simulator and account.
#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub flavor: Flavor,
    pub who: Who,
    /// `"2"` or `"3"`.
    pub version: &'static str,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

impl Api {
    pub fn new(sim: &JiraSim, who: Who) -> Self {
        let version = if sim.flavor() == Flavor::Cloud {
            "3"
        } else {
            "2"
        };
        Self {
            client: client(),
            base: sim.base_url(),
            flavor: sim.flavor(),
            who,
            version,
        }
    }

    pub fn v2(mut self) -> Self {
        self.version = "2";
        self
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/rest/api/{}/{}",
            self.base,
            self.version,
            path.trim_start_matches('/')
        )
    }

    pub fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let basic = |email: &str, token: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{email}:{token}"))
            )
        };
        let value = match (self.flavor, self.who) {
            (_, Who::Nobody) => return rb,
            (Flavor::Cloud, Who::Bot) => {
                basic(accounts::SERVICE_EMAIL, accounts::SERVICE_API_TOKEN)
            }
            (Flavor::Cloud, Who::Alex) => basic(accounts::HUMAN_EMAIL, accounts::HUMAN_API_TOKEN),
            (Flavor::Cloud, Who::ReadOnly) => {
                basic(accounts::READONLY_EMAIL, accounts::READONLY_API_TOKEN)
            }
            (Flavor::Cloud, Who::Wrong) => basic(accounts::SERVICE_EMAIL, "not-the-token"),
            (Flavor::DataCenter, Who::Bot) => format!("Bearer {}", accounts::SERVICE_PAT),
            (Flavor::DataCenter, Who::Alex) => format!("Bearer {}", accounts::HUMAN_PAT),
            (Flavor::DataCenter, Who::ReadOnly) => format!("Bearer {}", accounts::READONLY_PAT),
            (Flavor::DataCenter, Who::Wrong) => "Bearer not-a-pat".to_string(),
        };
        rb.header("Authorization", value)
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Answer {
        let mut rb = self.auth(self.client.request(method, self.url(path)));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.unwrap();
        Answer {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            text: resp.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Answer {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// A description in this API version's format.
    pub fn description(&self, text: &str) -> Value {
        if self.version == "3" {
            json!({"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":text}]}]})
        } else {
            json!(text)
        }
    }

    /// A valid create body.
    pub fn issue(&self, summary: &str, finding: &str) -> Value {
        json!({"fields": {
            "project": {"key": "SEC"}, "issuetype": {"name": "Bug"}, "summary": summary,
            "description": self.description("Severity: high"), "labels": ["penaxtra"],
            "customfield_10031": finding, "customfield_10032": [{"value": "OWASP_LLM01"}]}})
    }

    /// Creates an issue, returning its key.
    pub async fn create(&self, summary: &str, finding: &str) -> String {
        let a = self.post("issue", self.issue(summary, finding)).await;
        assert_eq!(a.status, 201, "{}", a.text);
        a.json()["key"].as_str().unwrap().to_string()
    }

    /// Ids of the transitions available on `key`, by name.
    pub async fn transition_id(&self, key: &str, name: &str) -> Option<String> {
        let t = self.get(&format!("issue/{key}/transitions")).await.json();
        t["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["id"].as_str().unwrap().to_string())
    }
}

/// Atlassian's reference files, vendored in `testdata/jira-reference`.
pub fn reference(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/jira-reference")
        .join(path)
}

pub fn read_json(path: &str) -> Value {
    let p = reference(path);
    serde_json::from_str(
        &std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap()
}

/// OpenAPI 3.0's `nullable: true` as JSON Schema: also allow `null`.
fn nullable(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for (_, child) in o.iter_mut() {
                nullable(child);
            }
            if o.remove("nullable") == Some(Value::Bool(true)) {
                let inner = Value::Object(std::mem::take(o));
                o.insert("anyOf".into(), json!([{"type": "null"}, inner]));
            }
        }
        Value::Array(a) => a.iter_mut().for_each(nullable),
        _ => {}
    }
}

/// A validator for schema `root` of the OpenAPI fragment `file`.
pub fn openapi(file: &str, root: &str) -> jsonschema::Validator {
    let doc = read_json(&format!("openapi/{file}"));
    let mut components = doc["components"].clone();
    nullable(&mut components);
    let schema = json!({"$ref": format!("#/components/schemas/{root}"), "components": components});
    jsonschema::draft202012::new(&schema).unwrap()
}

/// Asserts `v` is valid against `validator`, listing every error.
pub fn assert_valid(validator: &jsonschema::Validator, v: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} breaks the reference schema:\n{}\n{v:#}",
        errors.join("\n")
    );
}
