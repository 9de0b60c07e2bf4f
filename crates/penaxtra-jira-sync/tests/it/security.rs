//! No secret (API token, PAT, webhook URL and signing secrets, the sealing
//! secret key, the token a sealed token holds) appears in any `Debug`,
//! `Display`, error, panic message or log line, along the real paths: wrong
//! and right credentials against the simulator, configuration from TOML
//! with tokens from the environment or sealed, failed sealed-token opens,
//! gate configuration and rejections, client errors.

use crate::log_capture::capture_logs;
use crate::support::{finding, sim};
use jira_client::sealed::{SealedToken, SealingKeyPair, TokenBinding};
use jira_client::{ApiTokenAuth, JiraClient, PatAuth};
use jira_model::Flavor;
use jira_sim::{SimConfig, accounts};
use penaxtra_jira_sync::config::DEFAULT_CONNECTION_ID;
use penaxtra_jira_sync::config::{CredentialsConfig, SyncConfig};
use penaxtra_jira_sync::store::MemoryStore;
use penaxtra_jira_sync::webhook::{IpAllowlist, WebhookGateConfig};
use penaxtra_jira_sync::{JiraSync, MemoryFindings, PushOutcome, StateOutcome};
use penaxtra_mapping::{FindingState, Severity};
use secrecy::{ExposeSecret, SecretString};
use std::fmt::Debug;
use std::sync::Arc;

const WRONG_TOKEN: &str = "WRONG-api-token-6f1d0c2b9e";
const WRONG_PAT: &str = "WRONG-pat-3a8e71f04d";
/// A token Jira would refuse at the HTTP layer already (a line break).
const BROKEN_TOKEN: &str = "BROKEN-token-51c9\nX-Injected: 1";

/// Everything shown, to be searched.
#[derive(Default)]
struct Shown(Vec<String>);

impl Shown {
    fn debug(&mut self, v: &impl Debug) {
        self.0.push(format!("{v:?}"));
        self.0.push(format!("{v:#?}"));
    }
    fn both(&mut self, v: &(impl Debug + std::fmt::Display)) {
        self.debug(v);
        self.0.push(v.to_string());
    }
    fn text(&mut self, s: impl Into<String>) {
        self.0.push(s.into());
    }
    /// The message of a panic with this value, as `unwrap` would print it.
    fn panic_of<E: Debug + Send + 'static>(&mut self, e: E) {
        let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            // `unwrap` writes the panic message a host's crash would show.
            let r: Result<(), E> = std::hint::black_box(Err(e));
            r.unwrap();
        }))
        .unwrap_err();
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap();
        self.0.push(msg);
    }
    fn assert_free_of(&self, secrets: &[&str]) {
        assert!(!self.0.is_empty());
        for s in &self.0 {
            for secret in secrets {
                assert!(!s.contains(secret), "{secret:?} shown in:\n{s}");
            }
        }
    }
    fn joined(&self) -> String {
        self.0.join("\n")
    }
}

/// The parts of a secret that must never show: the secret, and the forms
/// it travels in (Basic credentials, base64 of the key bytes).
fn forms(secret: &str) -> Vec<String> {
    let basic = base64(format!("{}:{secret}", accounts::SERVICE_EMAIL).as_bytes());
    vec![secret.to_string(), basic]
}

/// Standard base64 with padding, as HTTP Basic credentials use it.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn client_with(sim: &jira_sim::JiraSim, cloud_token: &str, pat: &str) -> JiraClient {
    let b = match sim.flavor() {
        Flavor::Cloud => JiraClient::builder(
            &sim.base_url(),
            Flavor::Cloud,
            ApiTokenAuth::new(accounts::SERVICE_EMAIL, cloud_token.to_string().into()),
        )
        .url_policy(jira_client::UrlPolicy::default().allow_loopback()),
        _ => JiraClient::builder(
            &sim.base_url(),
            Flavor::DataCenter,
            PatAuth::new(pat.to_string().into()),
        )
        .url_policy(jira_client::UrlPolicy::default().allow_loopback()),
    };
    b.without_rate_limit().build().unwrap()
}

/// Runs `f` on a current-thread runtime on this thread, capturing the logs
/// of everything it runs (the simulator and the library alike).
fn logged<T>(f: impl std::future::Future<Output = T>) -> (T, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut out = None;
    let logs = capture_logs(|| out = Some(rt.block_on(f)));
    (out.unwrap(), logs)
}

/// Pushes, moves and reconciles with `client`; shows everything returned.
async fn exercise(client: JiraClient, shown: &mut Shown) {
    shown.debug(&client);
    let f = finding(1, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let sync = JiraSync::builder(client.clone(), Arc::new(MemoryStore::new()), host)
        .build()
        .unwrap();
    shown.debug(&sync);
    let report = sync.test_connection().await;
    shown.debug(&report);
    for step in &report.steps {
        if let Some(e) = &step.error {
            shown.both(e);
            shown.text(format!("{:?} {:?}", e.fix(), e.code()));
            shown.panic_of(e.clone());
        }
    }
    let pushed = sync.push(&f).await.unwrap();
    shown.debug(&pushed);
    if let PushOutcome::Failed { error } = &pushed {
        shown.both(error);
        shown.panic_of(error.clone());
    }
    let moved = sync.set_state(&f.id, FindingState::Triaged).await.unwrap();
    shown.debug(&moved);
    if let StateOutcome::Failed { error } = &moved {
        shown.both(error);
    }
    match sync.reconcile(true).await {
        Ok(r) => shown.debug(&r),
        Err(e) => {
            shown.both(&e);
            shown.panic_of(e);
        }
    }
    shown.debug(&sync.run_due().await);
    shown.debug(&sync.store().pending().await.unwrap());
    match client.myself().await {
        Ok(me) => shown.debug(&me),
        Err(e) => {
            shown.both(&e);
            shown.debug(&e.jira_messages());
            shown.panic_of(e);
        }
    }
}

#[test]
fn wrong_and_right_credentials_never_show_a_token() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let mut shown = Shown::default();
        let ((), logs) = logged(async {
            let sim = sim(SimConfig::new(flavor)).await;
            exercise(client_with(&sim, WRONG_TOKEN, WRONG_PAT), &mut shown).await;
            exercise(client_with(&sim, BROKEN_TOKEN, BROKEN_TOKEN), &mut shown).await;
            exercise(
                client_with(&sim, accounts::SERVICE_API_TOKEN, accounts::SERVICE_PAT),
                &mut shown,
            )
            .await;
        });
        shown.text(logs);
        let all = shown.joined();
        assert!(
            all.contains("unauthorized"),
            "{flavor}: the wrong token was refused"
        );
        assert!(all.contains("Created {"), "{flavor}: the right one worked");
        let mut secrets: Vec<String> = Vec::new();
        for s in [
            WRONG_TOKEN,
            WRONG_PAT,
            "BROKEN-token-51c9",
            accounts::SERVICE_API_TOKEN,
            accounts::SERVICE_PAT,
        ] {
            secrets.extend(forms(s));
        }
        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        shown.assert_free_of(&refs);
    }
}

/// A sealed token, its key pair, and the key's text.
struct Sealed {
    keys: SealingKeyPair,
    token: SealedToken,
    key_text: String,
}

/// `token` sealed for a new key pair, bound to connection `default` (the
/// one `[jira]` describes) at `base_url`.
fn sealed(token: &str, base_url: &str) -> Sealed {
    let keys = SealingKeyPair::generate();
    let binding = TokenBinding::for_base_url(DEFAULT_CONNECTION_ID, base_url).unwrap();
    let token =
        SealedToken::seal(&keys.public_key(), &binding, &SecretString::from(token)).unwrap();
    let key_text = keys.secret_key().to_text().expose_secret().to_string();
    Sealed {
        keys,
        token,
        key_text,
    }
}

/// The base64 part of a `pxsealkey:v1:...` text.
#[test]
fn the_basic_credentials_form_is_standard_base64() {
    assert_eq!(base64(b"alex@x:tok"), "YWxleEB4OnRvaw==");
    assert_eq!(base64(b"ab"), "YWI=");
    assert_eq!(base64(b"abc"), "YWJj");
}

fn key_payload(text: &str) -> &str {
    text.rsplit(':').next().unwrap()
}

fn config_toml(base_url: &str, credentials: &str) -> String {
    format!(
        r#"
[jira]
deployment = "cloud"
base_url = "{base_url}"
email = "{email}"
credentials = {credentials}
rate_limit = {{ per_second = 50, burst = 50 }}

[network]
allow_loopback = true

[template]
project_key = "SEC"
"#,
        email = accounts::SERVICE_EMAIL
    )
}

#[test]
fn sealed_credentials_from_a_key_file_work_and_never_show() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("sealing.key");
    let wrong_key_file = dir.path().join("other.key");

    let mut shown = Shown::default();
    let ((passed, good, other), logs) = logged(async {
        let sim = sim(SimConfig::new(Flavor::Cloud)).await;
        // Sealed for this Jira (its port is known once it runs).
        let good = sealed(accounts::SERVICE_API_TOKEN, &sim.base_url());
        let other = sealed("some-other-token-0000", &sim.base_url());
        // The right token, sealed for another tenant or another Jira.
        let for_tenant_b = SealedToken::seal(
            &good.keys.public_key(),
            &TokenBinding::for_base_url("tenant-b", &sim.base_url()).unwrap(),
            &SecretString::from("tenant-b-token-3a9d"),
        )
        .unwrap();
        let for_elsewhere = sealed("elsewhere-token-c21b", "https://elsewhere.example");
        std::fs::write(
            &key_file,
            format!(
                "{}\n{}\n",
                good.key_text,
                for_elsewhere.keys.secret_key().to_text().expose_secret()
            ),
        )
        .unwrap();
        std::fs::write(&wrong_key_file, &other.key_text).unwrap();
        let creds = |token: &SealedToken, file: &std::path::Path| {
            format!(
                r#"{{ source = "sealed", sealed_token = "{token}", secret_key_file = "{}" }}"#,
                file.display()
            )
        };
        // The right key: the opened token reaches Jira and works.
        let config: SyncConfig = toml::from_str(&config_toml(
            &sim.base_url(),
            &creds(&good.token, &key_file),
        ))
        .unwrap();
        shown.debug(&config);
        shown.debug(&config.jira.credentials);
        let opened = config
            .jira
            .credentials
            .token_for(DEFAULT_CONNECTION_ID, &sim.base_url())
            .unwrap();
        shown.debug(&opened);
        let client = config.jira.client().unwrap();
        shown.debug(&client);
        let host = Arc::new(MemoryFindings::new());
        let sync = JiraSync::builder(client, Arc::new(MemoryStore::new()), host)
            .template(config.issue_template().unwrap())
            .build()
            .unwrap();
        let report = sync.test_connection().await;
        shown.debug(&report);

        // The wrong key, a tampered token, a truncated one, a key that is not a key.
        let mut tampered = good.token.to_string();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        let bad_key_file = dir.path().join("bad.key");
        std::fs::write(
            &bad_key_file,
            format!("pxsealkey:v1:{}", &good.key_text[13..40]),
        )
        .unwrap();
        for credentials in [
            creds(&good.token, &wrong_key_file),
            creds(&other.token, &key_file),
            format!(
                r#"{{ source = "sealed", sealed_token = "{tampered}", secret_key_file = "{}" }}"#,
                key_file.display()
            ),
            format!(
                r#"{{ source = "sealed", sealed_token = "{}", secret_key_file = "{}" }}"#,
                &good.token.to_string()[..30],
                key_file.display()
            ),
            creds(&good.token, &bad_key_file),
            creds(&good.token, &dir.path().join("missing.key")),
            creds(&for_tenant_b, &key_file),
            creds(&for_elsewhere.token, &key_file),
        ] {
            let config: SyncConfig =
                toml::from_str(&config_toml(&sim.base_url(), &credentials)).unwrap();
            shown.debug(&config);
            let err = config.jira.client().unwrap_err();
            shown.both(&err);
            shown.text(err.setting().to_string());
            shown.panic_of(err);
        }
        // The sealing types themselves.
        shown.debug(&good.keys);
        shown.debug(good.keys.secret_key());
        shown.debug(&good.token);
        let binding = TokenBinding::for_base_url(DEFAULT_CONNECTION_ID, &sim.base_url()).unwrap();
        for e in [
            good.token
                .open(other.keys.secret_key(), &binding)
                .unwrap_err(),
            for_tenant_b
                .open(good.keys.secret_key(), &binding)
                .unwrap_err(),
            for_elsewhere
                .token
                .open(&for_elsewhere.keys, &binding)
                .unwrap_err(),
            "pxsealkey:v1:AAAA"
                .parse::<jira_client::sealed::SealingSecretKey>()
                .unwrap_err(),
        ] {
            shown.both(&e);
        }
        (report.passed(), good, other)
    });
    assert!(passed, "the sealed token opened with the key file works");
    shown.text(logs);
    let all = shown.joined();
    assert!(all.contains("jira.credentials.sealed_token"), "{all}");
    assert!(all.contains("\"tenant-b\""), "{all}");
    assert!(all.contains("https://elsewhere.example"), "{all}");
    let secrets = [
        accounts::SERVICE_API_TOKEN,
        "some-other-token-0000",
        "tenant-b-token-3a9d",
        "elsewhere-token-c21b",
        key_payload(&good.key_text),
        key_payload(&other.key_text),
        &good.key_text[13..40],
    ];
    shown.assert_free_of(&secrets);
}

/// The environment of the child run of `env_credentials_child`.
const CHILD_TOKEN_VAR: &str = "PXSEC_TEST_API_TOKEN";
const CHILD_KEY_VAR: &str = "PXSEC_TEST_SEALING_KEY";
const CHILD_SEALED_VAR: &str = "PXSEC_TEST_SEALED";
const CHILD_MARKER: &str = "PXSEC-CHILD-DONE";

/// Runs in a child process (started by
/// `env_credentials_never_show_the_token`) with tokens in its environment:
/// the test binary cannot set environment variables itself.
#[test]
#[ignore = "run as a child process by env_credentials_never_show_the_token"]
fn env_credentials_child() {
    let Ok(sealed_text) = std::env::var(CHILD_SEALED_VAR) else {
        panic!("run by env_credentials_never_show_the_token, with its environment");
    };
    let mut shown = Shown::default();
    let ((), logs) = logged(async {
        let sim = sim(SimConfig::new(Flavor::Cloud)).await;
        let env = format!(r#"{{ source = "env", token_env = "{CHILD_TOKEN_VAR}" }}"#);
        let config: SyncConfig = toml::from_str(&config_toml(&sim.base_url(), &env)).unwrap();
        shown.debug(&config);
        let client = config.jira.client().unwrap();
        exercise(client, &mut shown).await;
        // Sealed with the key in a variable, opened with the wrong key.
        let sealed = format!(
            r#"{{ source = "sealed", sealed_token = "{sealed_text}", secret_key_env = "{CHILD_KEY_VAR}" }}"#
        );
        let config: SyncConfig = toml::from_str(&config_toml(&sim.base_url(), &sealed)).unwrap();
        shown.debug(&config.jira);
        let err = config
            .jira
            .credentials
            .token_for(DEFAULT_CONNECTION_ID, &sim.base_url())
            .unwrap_err();
        shown.both(&err);
        shown.panic_of(err);
        let unset = CredentialsConfig::Env {
            token_env: "PXSEC_TEST_NOT_SET".into(),
        };
        shown.both(
            &unset
                .token_for(DEFAULT_CONNECTION_ID, &sim.base_url())
                .unwrap_err(),
        );
    });
    shown.text(logs);
    println!("{}", shown.joined());
    println!("{CHILD_MARKER}");
}

#[test]
fn env_credentials_never_show_the_token() {
    let token = "ENV-api-token-9d2f4b7a10";
    // Sealed for another Jira and opened with the wrong key: refused either way.
    let other = sealed("ENV-sealed-token-77c0e1", "https://jira.example");
    let wrong = SealingKeyPair::generate();
    let wrong_text = wrong.secret_key().to_text().expose_secret().to_string();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "security::env_credentials_child",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_TOKEN_VAR, token)
        .env(CHILD_KEY_VAR, &wrong_text)
        .env(CHILD_SEALED_VAR, other.token.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(CHILD_MARKER), "{stdout}");
    assert!(
        stdout.contains("unauthorized"),
        "the token from the environment reached Jira:\n{stdout}"
    );
    assert!(stdout.contains("jira.credentials.sealed_token"), "{stdout}");
    let mut secrets = forms(token);
    secrets.push("ENV-sealed-token-77c0e1".into());
    secrets.push(key_payload(&wrong_text).into());
    secrets.push(key_payload(&other.key_text).into());
    for s in &secrets {
        assert!(!stdout.contains(s.as_str()), "{s} shown:\n{stdout}");
        assert!(!stderr.contains(s.as_str()), "{s} shown:\n{stderr}");
    }
}

#[test]
fn webhook_gate_configuration_never_shows_a_secret() {
    let url = "gate-url-secret-0c5e9b13aa";
    let hmac = "gate-hmac-secret-4f7d20e6c8";
    let mut shown = Shown::default();
    let config: WebhookGateConfig = toml::from_str(&format!(
        "allowlist = [\"192.0.2.0/24\"]\nurl_secrets = [\"{url}\", \"{url}-old\"]\nhmac_secrets = [\"{hmac}\"]\n"
    ))
    .unwrap();
    shown.debug(&config);
    let gate = penaxtra_jira_sync::webhook::WebhookGate::new(config).unwrap();
    shown.debug(&gate);
    let builder =
        WebhookGateConfig::builder(IpAllowlist::allow_any(), url.into()).hmac_secret(hmac.into());
    shown.debug(&builder);
    // JSON here: a TOML error's Debug carries the whole document it read
    // (the `toml` crate's doing, not this library's), secrets included.
    for bad in [
        format!(r#"{{"allowlist":"any","url_secrets":["{url}"],"hmac_secrets":["short"]}}"#),
        format!(r#"{{"allowlist":"any","url_secrets":[" {url}"]}}"#),
        format!(r#"{{"allowlist":"any","url_secrets":["{url}","{hmac}","{url}2"]}}"#),
        format!(r#"{{"allowlist":"any","url_secrets":["{url}"],"hmac_secret":["{hmac}"]}}"#),
    ] {
        let err = serde_json::from_str::<WebhookGateConfig>(&bad).unwrap_err();
        shown.both(&err);
        shown.panic_of(err);
    }
    let weak = WebhookGateConfig::builder(IpAllowlist::allow_any(), "short-secret".into())
        .build()
        .unwrap_err();
    shown.both(&weak);
    shown.assert_free_of(&[url, hmac, "short-secret"]);
    assert!(shown.joined().contains("redacted"));
}

/// "Test connection" shows a tenant what Jira said, and nothing else: a
/// server at the base URL that is not Jira (a sidecar, an admin console)
/// cannot be read through the report.
#[tokio::test]
async fn test_connection_quotes_only_jiras_own_error_shape() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    async fn who_am_i_error(status: u16, body: &str, content_type: &str) -> String {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/rest/api/2/myself"))
            .respond_with(ResponseTemplate::new(status).set_body_raw(body, content_type))
            .mount(&server)
            .await;
        let client = JiraClient::builder(
            &server.uri(),
            Flavor::DataCenter,
            PatAuth::new("pat".to_string().into()),
        )
        .url_policy(jira_client::UrlPolicy::default().allow_loopback())
        .retry_policy(jira_client::RetryPolicy::no_retries())
        .without_rate_limit()
        .build()
        .unwrap();
        let host = Arc::new(MemoryFindings::with([]));
        let sync = JiraSync::builder(client, Arc::new(MemoryStore::new()), host)
            .build()
            .unwrap();
        let report = sync.test_connection().await;
        let step = &report.steps[0];
        assert_eq!(step.name, "who_am_i");
        step.error.as_ref().expect("the step fails").to_string()
    }

    for (status, body, content_type) in [
        (
            500,
            "<html>admin console: db_password=sidecar-secret</html>",
            "text/html",
        ),
        (
            404,
            r#"{"message":"sidecar-secret","config":{"db":"x"}}"#,
            "application/json",
        ),
        (400, "sidecar-secret", "text/plain"),
    ] {
        let shown = who_am_i_error(status, body, content_type).await;
        assert!(!shown.contains("sidecar-secret"), "{shown}");
        assert!(
            shown.contains("the server's answer is not shown"),
            "{shown}"
        );
        assert!(shown.contains(&status.to_string()), "{shown}");
    }
    let shown = who_am_i_error(
        400,
        r#"{"errorMessages":["The project is archived"],"errors":{}}"#,
        "application/json",
    )
    .await;
    assert!(
        shown.contains("Jira said: The project is archived"),
        "{shown}"
    );
    assert!(!shown.contains("not shown"), "{shown}");
}
