//! The host crate's binary, run as a process against the simulator: it
//! pushes a finding from the configuration file alone, serves the webhook
//! route, and applies a person's change in Jira that reaches it as a
//! signed webhook.

use jira_model::Flavor;
use jira_sim::{JiraSim, SimConfig, accounts};
use penaxtra_jira_sync::client::{ApiTokenAuth, JiraClient, UrlPolicy};
use penaxtra_jira_sync::model::TransitionRequest;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn next_line(lines: &mpsc::Receiver<String>, what: &str) -> String {
    lines
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("the host printed no {what}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_pushes_serves_and_applies_a_jira_change() {
    let sim = JiraSim::start(SimConfig::new(Flavor::Cloud)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("penaxtra-jira.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[jira]
deployment = "cloud"
base_url = "{}"
email = "{}"
credentials = {{ source = "env", token_env = "JIRA_API_TOKEN" }}

[network]
allow_loopback = true

[webhook]
allowlist = ["127.0.0.0/8"]
url_secrets = ["host-test-url-secret-0001"]
hmac_secrets = ["host-test-hmac-secret-0001"]
"#,
            sim.base_url(),
            accounts::SERVICE_EMAIL
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_penaxtra-host-example"))
        .arg(&config)
        .arg(dir.path().join("sync.sqlite"))
        .arg("127.0.0.1:0")
        .env("JIRA_API_TOKEN", accounts::SERVICE_API_TOKEN)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _child = Killed(child);
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    assert_eq!(next_line(&lines, "push line"), "push: created SEC-1");
    assert_eq!(sim.issues().len(), 1);
    let serving = next_line(&lines, "address");
    let addr = serving
        .strip_prefix("webhooks on http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("unexpected line {serving:?}"))
        .to_string();
    sim.register_webhook(
        format!("http://{addr}/webhooks/jira/host-test-url-secret-0001"),
        Some("host-test-hmac-secret-0001".to_string()),
    )
    .unwrap();

    // Alex closes the issue as Won't Do: the finding becomes accepted.
    let alex = JiraClient::builder(
        &sim.base_url(),
        Flavor::Cloud,
        ApiTokenAuth::new(
            accounts::HUMAN_EMAIL,
            accounts::HUMAN_API_TOKEN.to_string().into(),
        ),
    )
    .url_policy(UrlPolicy::default().allow_loopback())
    .build()
    .unwrap();
    let wont_do = alex
        .transitions("SEC-1")
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.to.name == "Won't Do")
        .expect("a Won't Do transition");
    let mut request = TransitionRequest::new(wont_do.id.clone());
    if wont_do.has_field("resolution") {
        request = request.with_resolution("Won't Do");
    }
    alex.transition("SEC-1", &request).await.unwrap();
    sim.flush_webhooks().await;
    assert_eq!(
        next_line(&lines, "webhook line"),
        "webhook: applied state_changed"
    );
}
