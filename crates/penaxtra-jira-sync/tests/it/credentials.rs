//! The four kinds of credentials, from the TOML to a passing connection
//! test, on both flavors against the simulator; OAuth tokens that expire in
//! the middle of a backfill; a scoped token sent to the site URL; tokens
//! that expired, and credentials that were never right.

use crate::support::{assert_exactly_one_issue_each, finding};
use jira_client::CredentialKind;
use jira_client::sealed::{SealedToken, SealingKeyPair, TokenBinding};
use jira_model::Flavor;
use jira_sim::{JiraSim, SimConfig, accounts};
use penaxtra_jira_sync::config::SyncConfig;
use penaxtra_jira_sync::store::MemoryStore;
use penaxtra_jira_sync::{JiraSync, MemoryFindings, PushKind};
use penaxtra_mapping::{FindingState, Severity};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;

/// A `[jira]` table with `extra` keys and the secret sealed for the
/// default connection and the simulator's origin, as an operator writes it.
struct Toml {
    _dir: tempfile::TempDir,
    text: String,
}

fn toml(sim: &JiraSim, extra: &str, secret: &str) -> Toml {
    let dir = tempfile::tempdir().unwrap();
    let keys = SealingKeyPair::generate();
    let key_file = dir.path().join("sealing.key");
    std::fs::write(&key_file, keys.secret_key().to_text().expose_secret()).unwrap();
    let binding = TokenBinding::for_base_url("default", &sim.base_url()).unwrap();
    let sealed = SealedToken::seal(&keys.public_key(), &binding, &SecretString::from(secret))
        .unwrap()
        .to_string();
    let deployment = match sim.flavor() {
        Flavor::Cloud => "cloud",
        Flavor::DataCenter => "datacenter",
    };
    let text = format!(
        r#"
[network]
allow_loopback = true

[jira]
deployment = "{deployment}"
base_url = "{base}"
timeout_secs = 10
{extra}
credentials = {{ source = "sealed", sealed_token = "{sealed}", secret_key_file = "{key}" }}
"#,
        base = sim.base_url(),
        key = key_file.display(),
    );
    Toml { _dir: dir, text }
}

fn engine(toml: &Toml, findings: Arc<MemoryFindings>) -> JiraSync {
    let config = SyncConfig::from_toml(&toml.text).unwrap();
    JiraSync::from_config(&config, Arc::new(MemoryStore::new()), findings).unwrap()
}

fn gateway(sim: &JiraSim) -> String {
    format!("{}/ex/jira/{}", sim.gateway_url(), sim.cloud_id())
}

/// Each kind on its flavor: the test passes, names the kind, and the REST
/// calls went where Atlassian sends that kind.
#[tokio::test]
async fn every_credential_kind_connects_on_its_flavor() {
    let email = accounts::SERVICE_EMAIL;
    let client_id = accounts::SERVICE_OAUTH_CLIENT_ID;
    for (flavor, kind, secret) in [
        (
            Flavor::Cloud,
            CredentialKind::ApiToken,
            accounts::SERVICE_API_TOKEN,
        ),
        (
            Flavor::Cloud,
            CredentialKind::ScopedToken,
            accounts::SERVICE_SCOPED_TOKEN,
        ),
        (
            Flavor::Cloud,
            CredentialKind::OAuthClientCredentials,
            accounts::SERVICE_OAUTH_CLIENT_SECRET,
        ),
        (
            Flavor::DataCenter,
            CredentialKind::PersonalAccessToken,
            accounts::SERVICE_PAT,
        ),
        (
            Flavor::DataCenter,
            CredentialKind::OAuthClientCredentials,
            accounts::SERVICE_OAUTH_CLIENT_SECRET,
        ),
    ] {
        let sim = crate::support::sim(SimConfig::new(flavor)).await;
        let extra = match (flavor, kind) {
            (_, CredentialKind::ApiToken) => format!("auth = \"api_token\"\nemail = \"{email}\""),
            (_, CredentialKind::ScopedToken) => format!(
                "auth = \"scoped_token\"\nemail = \"{email}\"\ngateway_url = \"{}\"",
                sim.gateway_url()
            ),
            (Flavor::Cloud, CredentialKind::OAuthClientCredentials) => format!(
                "auth = \"oauth_client_credentials\"\nclient_id = \"{client_id}\"\ngateway_url = \"{}\"\ntoken_url = \"{}\"",
                sim.gateway_url(),
                sim.token_url()
            ),
            // Data Center's token endpoint is the instance's own: no URL.
            (_, CredentialKind::OAuthClientCredentials) => format!(
                "auth = \"oauth_client_credentials\"\nclient_id = \"{client_id}\"\noauth_scope = \"WRITE\""
            ),
            // A Data Center file without `auth` still means a PAT.
            _ => String::new(),
        };
        let sync = engine(&toml(&sim, &extra, secret), Arc::new(MemoryFindings::new()));
        let report = sync.test_connection().await;
        assert!(report.passed(), "{flavor:?} {kind}: {report:?}");
        assert_eq!(report.credential_kind, Some(kind));
        let expected = match (flavor, kind) {
            (
                Flavor::Cloud,
                CredentialKind::ScopedToken | CredentialKind::OAuthClientCredentials,
            ) => gateway(&sim),
            _ => sim.base_url(),
        };
        assert_eq!(
            report.api_url.as_deref(),
            Some(expected.as_str()),
            "{flavor:?} {kind}"
        );
        assert!(report.steps[0].detail.contains(kind.as_str()));
        let grants = u64::from(kind == CredentialKind::OAuthClientCredentials);
        assert_eq!(
            sim.token_grants(),
            grants,
            "{flavor:?} {kind}: one token for the whole test"
        );
        // Nothing went to the site with gateway-only credentials.
        if expected != sim.base_url() {
            let counts = sim.request_counts();
            assert!(
                counts.keys().all(|k| !k.contains(" /rest/api/")),
                "{counts:?}"
            );
        }
    }
}

/// Access tokens that expire between the chunks of a backfill: the run
/// finishes, every finding has its one issue, and each expiry costs
/// exactly one new token.
#[tokio::test]
async fn oauth_tokens_expiring_mid_backfill_are_renewed_once_per_expiry() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = crate::support::sim(SimConfig::new(flavor).cloud_limits(None)).await;
        let extra = match flavor {
            Flavor::Cloud => format!(
                "auth = \"oauth_client_credentials\"\nclient_id = \"{}\"\ngateway_url = \"{}\"\ntoken_url = \"{}\"",
                accounts::SERVICE_OAUTH_CLIENT_ID,
                sim.gateway_url(),
                sim.token_url()
            ),
            Flavor::DataCenter => format!(
                "auth = \"oauth_client_credentials\"\nclient_id = \"{}\"\noauth_scope = \"WRITE\"",
                accounts::SERVICE_OAUTH_CLIENT_ID
            ),
        };
        let findings: Vec<_> = (0..160)
            .map(|i| finding(i, Severity::High, FindingState::Open))
            .collect();
        let host = Arc::new(MemoryFindings::with(findings.clone()));
        // One chunk of 20 at a time, so each expiry falls between chunks.
        let mut file = toml(&sim, &extra, accounts::SERVICE_OAUTH_CLIENT_SECRET);
        file.text
            .push_str("\n[settings]\nconcurrency = 1\nchunk_size = 20\n");
        let sync = engine(&file, host);
        let expiries = std::sync::atomic::AtomicU64::new(0);
        let last = std::sync::Mutex::new(0usize);
        let report = sync
            .push_many(&findings, |p| {
                // Every token issued so far expires after each chunk but
                // the last (once per step of progress).
                let mut last = last.lock().unwrap();
                if p.done > *last && p.done < findings.len() {
                    sim.expire_access_tokens();
                    expiries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                *last = p.done;
            })
            .await
            .unwrap();
        let expiries = expiries.into_inner();
        assert!(expiries >= 3, "{flavor:?}: {expiries} expiries");
        assert_eq!(
            report.count(PushKind::Created),
            findings.len(),
            "{flavor:?}"
        );
        assert_exactly_one_issue_each(&sim, &findings);
        assert_eq!(
            sim.token_grants(),
            1 + expiries,
            "{flavor:?}: one token at the start and one per expiry"
        );
    }
}

/// A service account's scoped token configured as a classic one: the
/// site's 401 is tried once through the gateway, which accepts it, and the
/// client stays there.
#[tokio::test]
async fn a_scoped_token_sent_to_the_site_switches_to_the_gateway() {
    let sim = crate::support::sim(SimConfig::new(Flavor::Cloud)).await;
    let extra = format!(
        "email = \"{}\"\ngateway_url = \"{}\"",
        accounts::SERVICE_EMAIL,
        sim.gateway_url()
    );
    let sync = engine(
        &toml(&sim, &extra, accounts::SERVICE_SCOPED_TOKEN),
        Arc::new(MemoryFindings::new()),
    );
    let report = sync.test_connection().await;
    assert!(report.passed(), "{report:?}");
    assert_eq!(report.credential_kind, Some(CredentialKind::ApiToken));
    assert_eq!(report.api_url.as_deref(), Some(gateway(&sim).as_str()));
    let counts = sim.request_counts();
    assert_eq!(
        counts.get("GET /rest/api/3/myself").copied(),
        Some(1),
        "one refused request on the site, then the gateway: {counts:?}"
    );
    assert_eq!(counts.get("GET /_edge/tenant_info").copied(), Some(1));
}

/// A scoped token for a site that is not Jira Cloud: told so.
#[tokio::test]
async fn a_scoped_token_for_a_site_that_is_not_cloud_is_told_so() {
    // A Data Center server behind a URL configured as Cloud.
    let dc = crate::support::sim(SimConfig::new(Flavor::DataCenter)).await;
    let text = toml(
        &dc,
        &format!(
            "auth = \"scoped_token\"\nemail = \"{}\"\ngateway_url = \"{}\"",
            accounts::SERVICE_EMAIL,
            dc.base_url()
        ),
        accounts::SERVICE_SCOPED_TOKEN,
    );
    let text = Toml {
        text: text.text.replace("\"datacenter\"", "\"cloud\""),
        _dir: text._dir,
    };
    let sync = engine(&text, Arc::new(MemoryFindings::new()));
    let report = sync.test_connection().await;
    let error = report.steps[0].error.as_ref().unwrap();
    assert_eq!(error.code(), "not_cloud", "{error}");
    // And a scoped token on a Data Center file is refused before any request.
    let text = toml(
        &dc,
        &format!(
            "auth = \"scoped_token\"\nemail = \"{}\"",
            accounts::SERVICE_EMAIL
        ),
        accounts::SERVICE_SCOPED_TOKEN,
    );
    let config = SyncConfig::from_toml(&text.text).unwrap();
    let e = config.jira.client().unwrap_err();
    assert_eq!(e.setting(), "jira.auth", "{e}");
}

/// A token that worked and then expired is told apart from one that never
/// worked; rejected OAuth client credentials have their own code.
#[tokio::test]
async fn expired_tokens_wrong_tokens_and_rejected_clients_say_what_to_do() {
    for flavor in [Flavor::Cloud, Flavor::DataCenter] {
        let sim = crate::support::sim(SimConfig::new(flavor)).await;
        let (extra, secret) = match flavor {
            Flavor::Cloud => (
                format!(
                    "email = \"{}\"\ngateway_url = \"{}\"",
                    accounts::SERVICE_EMAIL,
                    sim.gateway_url()
                ),
                accounts::SERVICE_API_TOKEN,
            ),
            Flavor::DataCenter => (String::new(), accounts::SERVICE_PAT),
        };
        let file = toml(&sim, &extra, secret);
        let config = SyncConfig::from_toml(&file.text).unwrap();
        let client = config.jira.client().unwrap();
        client.myself().await.unwrap();
        assert!(sim.expire_tokens("penaxtra-bot"));
        let e = client.myself().await.unwrap_err();
        assert_eq!(e.code(), "token_expired", "{flavor:?}: {e}");
        assert!(e.fix().unwrap().contains("a year"), "{e}");
        assert!(!e.to_string().contains(secret), "{e}");

        // Never right: rejected, not expired.
        let file = toml(&sim, &extra, "not-the-token");
        let config = SyncConfig::from_toml(&file.text).unwrap();
        let e = config.jira.client().unwrap().myself().await.unwrap_err();
        assert_eq!(e.code(), "unauthorized", "{flavor:?}: {e}");
        assert!(!e.to_string().contains("not-the-token"));

        // OAuth with a wrong client secret.
        let extra = match flavor {
            Flavor::Cloud => format!(
                "auth = \"oauth_client_credentials\"\nclient_id = \"{}\"\ngateway_url = \"{}\"\ntoken_url = \"{}\"",
                accounts::SERVICE_OAUTH_CLIENT_ID,
                sim.gateway_url(),
                sim.token_url()
            ),
            Flavor::DataCenter => format!(
                "auth = \"oauth_client_credentials\"\nclient_id = \"{}\"",
                accounts::SERVICE_OAUTH_CLIENT_ID
            ),
        };
        let file = toml(&sim, &extra, "wrong-secret");
        let config = SyncConfig::from_toml(&file.text).unwrap();
        let client = config.jira.client().unwrap();
        let e = client.myself().await.unwrap_err();
        assert_eq!(e.code(), "oauth_client_rejected", "{flavor:?}: {e}");
        assert!(!e.to_string().contains("wrong-secret"));
        assert!(!format!("{client:?}").contains("wrong-secret"));
    }
}
