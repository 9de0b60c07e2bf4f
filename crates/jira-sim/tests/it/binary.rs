//! The `jira-sim` binary: prints its base URL, then serves.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn prints_base_url_and_accounts_then_serves() {
    let dir = std::env::temp_dir().join(format!("jira-sim-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("sim.json");
    std::fs::write(
        &config,
        r#"{"workflow":"two_step","frameworks_field_kind":"labels"}"#,
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_jira-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--flavor",
            "datacenter",
            "--seed",
            "7",
            "--config",
        ])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Kill(child);
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap()
        .to_string();
    let mut accounts = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        accounts.push(line);
    }
    assert!(accounts[0].contains("penaxtra-bot") && accounts[0].contains("Bearer sim-pat"));
    assert!(accounts[2].contains("readonly") && accounts[2].contains("read-only"));

    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let me: serde_json::Value = client
        .get(format!("{base}/rest/api/2/myself"))
        .bearer_auth("sim-pat")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "penaxtra-bot");
    let fields: serde_json::Value = client
        .get(format!("{base}/rest/api/2/field"))
        .bearer_auth("sim-pat")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fw = fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "customfield_10032")
        .unwrap()
        .clone();
    assert_eq!(fw["schema"]["items"], "string", "the config file was read");

    let bad = Command::new(env!("CARGO_BIN_EXE_jira-sim"))
        .args(["--listen", "0.0.0.0:0", "--flavor", "cloud"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("loopback"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn search_lag_flag_sets_the_lag() {
    let child = Command::new(env!("CARGO_BIN_EXE_jira-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--flavor",
            "cloud",
            "--search-lag-ms",
            "600000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Kill(child);
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap()
        .to_string();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let lag: serde_json::Value = client
        .get(format!("{base}/_sim/search-lag"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(lag, serde_json::json!({"ms": 600_000}));
    let created = client
        .post(format!("{base}/rest/api/2/issue"))
        .basic_auth("penaxtra-bot@sim.example", Some("sim-api-token"))
        .json(&serde_json::json!({"fields": {"project": {"key": "SEC"},
            "issuetype": {"name": "Bug"}, "summary": "s"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let found: serde_json::Value = client
        .post(format!("{base}/rest/api/3/search/jql"))
        .basic_auth("penaxtra-bot@sim.example", Some("sim-api-token"))
        .json(&serde_json::json!({"jql": "project = SEC"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["issues"], serde_json::json!([]), "{found}");
}
