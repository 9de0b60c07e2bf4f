//! Many tenants in one service: two customers' Jiras with the same project
//! key and the same issue keys behind one SQLite store, one registry, one
//! worker pool and one webhook route. Webhooks, sweeps, the pool and
//! pausing for one never touch the other; a wrong connection in the URL is
//! answered like a wrong secret.

use crate::support::{alex, client, fast_settings, finding, sim};
use jira_model::{Flavor, TransitionRequest};
use jira_sim::{JiraSim, SimConfig};
use penaxtra_jira_sync::connections::{ConnectionError, ConnectionSource, Connections};
use penaxtra_jira_sync::store::SyncStore;
use penaxtra_jira_sync::store::{PendingOp, SqliteStore};
use penaxtra_jira_sync::webhook::{ConnectionsRoute, WebhookLog};
use penaxtra_jira_sync::{ConnectionId, JiraSync, MemoryFindings};
use penaxtra_mapping::{Finding, FindingState, InboundPolicy, Severity};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Tenant {
    id: ConnectionId,
    sim: JiraSim,
    host: Arc<MemoryFindings>,
    sync: JiraSync,
    url_secret: String,
    hmac_secret: String,
}

struct Service {
    connections: Connections,
    addr: SocketAddr,
    logs: Arc<Mutex<Vec<(ConnectionId, WebhookLog)>>>,
    a: Tenant,
    b: Tenant,
    _dir: tempfile::TempDir,
}

async fn tenant(store: &SqliteStore, name: &str, findings: Vec<Finding>) -> Tenant {
    let id = ConnectionId::new(name).unwrap();
    let sim = sim(SimConfig::new(Flavor::Cloud)).await;
    let host = Arc::new(MemoryFindings::with(findings));
    let sync = JiraSync::builder(
        client(&sim),
        Arc::new(store.for_connection(id.clone())),
        Arc::clone(&host) as _,
    )
    .settings(fast_settings())
    .inbound(InboundPolicy::All)
    .owner(format!("service-{name}"))
    .build()
    .unwrap();
    Tenant {
        id,
        sim,
        host,
        sync,
        url_secret: format!("{name}-url-secret-0f3a9c1e"),
        hmac_secret: format!("{name}-hmac-secret-7d2b4e80"),
    }
}

/// Two tenants on one store file, both registered and both receiving
/// webhooks through one route.
async fn service(a_findings: Vec<Finding>, b_findings: Vec<Finding>) -> Service {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("service.sqlite")).unwrap();
    let a = tenant(&store, "acme", a_findings).await;
    let b = tenant(&store, "globex", b_findings).await;
    let connections = Connections::new();
    for t in [&a, &b] {
        connections
            .insert(
                t.id.clone(),
                t.sync.clone(),
                Some(crate::support::loopback_gate(&t.url_secret, &t.hmac_secret)),
            )
            .unwrap();
    }
    let logs: Arc<Mutex<Vec<(ConnectionId, WebhookLog)>>> = Arc::default();
    let sink = Arc::clone(&logs);
    let app: axum::Router = ConnectionsRoute::new(connections.clone())
        .on_request(move |id, log| sink.lock().unwrap().push((id.clone(), log.clone())))
        .router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    for t in [&a, &b] {
        t.sim
            .register_webhook(
                format!("http://{addr}/webhooks/jira/{}/{}", t.id, t.url_secret),
                Some(t.hmac_secret.clone()),
            )
            .unwrap();
    }
    Service {
        connections,
        addr,
        logs,
        a,
        b,
        _dir: dir,
    }
}

/// A person moves `key` to `status` in this tenant's Jira.
async fn person_moves(t: &Tenant, key: &str, status: &str) {
    let alex = alex(&t.sim);
    let to = alex
        .transitions(key)
        .await
        .unwrap()
        .into_iter()
        .find(|tr| tr.to.name == status)
        .unwrap_or_else(|| panic!("no transition to {status}"));
    let mut request = TransitionRequest::new(to.id.clone());
    if to.has_field("resolution") {
        request = request.with_resolution("Done");
    }
    alex.transition(key, &request).await.unwrap();
}

/// Queues a create for `f` in this tenant's store (a backfill whose
/// first push failed leaves one).
async fn queue_create(t: &Tenant, f: &Finding) {
    t.sync
        .store()
        .enqueue(
            &PendingOp::Create {
                finding: f.id.clone(),
            },
            0,
            None,
        )
        .await
        .unwrap();
}

/// An event for SEC-1 (as any tenant's Jira may send).
fn sec_1_event() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "timestamp": 1_760_000_000_000_i64,
        "webhookEvent": "jira:issue_updated",
        "issue": {"id": "10001", "key": "SEC-1", "fields": {}}
    }))
    .unwrap()
}

async fn wait_for_state(t: &Tenant, f: &Finding, state: FindingState) {
    for _ in 0..300 {
        if t.host.get(&f.id).map(|f| f.state) == Some(state) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "{}'s finding {} never became {state:?}: {:?}",
        t.id,
        f.id,
        t.host.get(&f.id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tenants_with_the_same_keys_never_touch_each_other() {
    let f = finding(1, Severity::Critical, FindingState::Open);
    let s = service(vec![f.clone()], vec![f.clone()]).await;
    // The same finding id in both tenants gets SEC-1 in both Jiras.
    let ka = crate::support::push_key(&s.a.sync, &f).await;
    let kb = crate::support::push_key(&s.b.sync, &f).await;
    assert_eq!((ka.as_str(), kb.as_str()), ("SEC-1", "SEC-1"));
    assert_eq!(s.a.sim.issues().len(), 1);
    assert_eq!(s.b.sim.issues().len(), 1);

    // A person in acme's Jira starts work on SEC-1: acme's finding moves,
    // globex's finding linked to its own SEC-1 does not.
    person_moves(&s.a, "SEC-1", "In Progress").await;
    wait_for_state(&s.a, &f, FindingState::Triaged).await;
    s.b.sim.flush_webhooks().await;
    assert_eq!(
        s.b.host.get(&f.id).unwrap().state,
        FindingState::Open,
        "globex's finding moved on acme's webhook"
    );
    let link_b = s.b.sync.store().link(&f.id).await.unwrap().unwrap();
    assert_eq!(link_b.state_in, None, "globex's link took acme's state");
    // Then globex resolves its own SEC-1: only globex's finding moves.
    person_moves(&s.b, "SEC-1", "Done").await;
    wait_for_state(&s.b, &f, FindingState::Resolved).await;
    assert_eq!(s.a.host.get(&f.id).unwrap().state, FindingState::Triaged);
    let logs = s.logs.lock().unwrap().clone();
    assert!(
        logs.iter()
            .any(|(id, l)| id == &s.a.id && l.outcome == "applied"),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|(id, l)| id == &s.b.id && l.outcome == "applied"),
        "{logs:?}"
    );

    // A sweep of globex reads globex's Jira and changes nothing of acme's.
    s.b.sync.reconcile(true).await.unwrap();
    assert_eq!(s.a.host.get(&f.id).unwrap().state, FindingState::Triaged);
    assert_eq!(
        s.a.sync
            .store()
            .link(&f.id)
            .await
            .unwrap()
            .unwrap()
            .state_in,
        Some(FindingState::Triaged)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_connection_in_the_url_is_answered_like_a_wrong_secret() {
    let s = service(vec![], vec![]).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let body = sec_1_event();
    let post = |path: String| {
        let http = http.clone();
        let body = body.clone();
        let addr = s.addr;
        async move {
            let r = http
                .post(format!("http://{addr}{path}"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let headers: Vec<(String, String)> = r
                .headers()
                .iter()
                .filter(|(n, _)| *n != "date")
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
                .collect();
            (status, headers, r.bytes().await.unwrap())
        }
    };
    let wrong_secret = post(format!("/webhooks/jira/{}/not-the-secret", s.a.id)).await;
    let unknown = post(format!("/webhooks/jira/initech/{}", s.a.url_secret)).await;
    let invalid_id = post(format!("/webhooks/jira/..%2F/{}", s.a.url_secret)).await;
    // acme's secret under globex's connection: globex's gate refuses it.
    let crossed = post(format!("/webhooks/jira/{}/{}", s.b.id, s.a.url_secret)).await;
    let query = post(format!("/webhooks/jira/initech?secret={}", s.a.url_secret)).await;
    assert_eq!(wrong_secret.0, 401);
    for other in [&unknown, &invalid_id, &crossed, &query] {
        assert_eq!(other, &wrong_secret, "answers differ");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_gives_a_small_tenant_its_turn_between_a_big_tenants_slices() {
    let big: Vec<Finding> = (0..40)
        .map(|i| finding(i, Severity::High, FindingState::Open))
        .collect();
    let small = vec![finding(500, Severity::Critical, FindingState::Open)];
    let s = service(big.clone(), small.clone()).await;
    // acme's backfill left 40 creates queued (Jira was down, say); globex
    // has one new finding queued after them.
    for f in &big {
        queue_create(&s.a, f).await;
    }
    queue_create(&s.b, &small[0]).await;
    // One pass: each active connection gets one turn of 4 operations.
    let pass = s.connections.run_pass(4).await;
    let done: Vec<(String, usize)> = pass
        .iter()
        .map(|(id, r)| (id.to_string(), r.as_ref().unwrap().done))
        .collect();
    assert_eq!(
        done,
        [("acme".to_string(), 4), ("globex".to_string(), 1)],
        "one turn each"
    );
    assert_eq!(s.b.sim.issues().len(), 1, "globex's finding is in its Jira");
    assert_eq!(s.a.sync.store().pending().await.unwrap().len(), 36);
    // The pool in the background finishes acme's backlog.
    let pool = s.connections.spawn_workers(2, Duration::from_millis(20));
    for _ in 0..500 {
        if s.a.sync.store().pending().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pool.stop().await;
    assert!(s.a.sync.store().pending().await.unwrap().is_empty());
    crate::support::assert_exactly_one_issue_each(&s.a.sim, &big);
    crate::support::assert_exactly_one_issue_each(&s.b.sim, &small);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_a_tenant_parks_its_work_and_resuming_runs_it() {
    let fa = finding(1, Severity::High, FindingState::Open);
    let fb = finding(2, Severity::High, FindingState::Open);
    let s = service(vec![fa.clone()], vec![fb.clone()]).await;
    for (t, f) in [(&s.a, &fa), (&s.b, &fb)] {
        queue_create(t, f).await;
    }
    assert_eq!(
        s.connections
            .pause(&s.a.id, "subscription lapsed")
            .await
            .unwrap(),
        1
    );
    let parked = s.a.sync.store().pending().await.unwrap();
    assert!(parked[0].parked);
    assert_eq!(
        parked[0].last_error.as_deref(),
        Some("paused: subscription lapsed")
    );
    // The pool serves globex only.
    let pass = s.connections.run_pass(16).await;
    assert_eq!(pass.len(), 1);
    assert_eq!(pass[0].0, s.b.id);
    assert!(s.a.sim.issues().is_empty());
    assert_eq!(s.b.sim.issues().len(), 1);
    // A webhook that passes acme's gate is answered 503 (Jira retries).
    let body = sec_1_event();
    let signature = format!(
        "sha256={}",
        penaxtra_jira_sync::webhook::sign_body(&SecretString::from(s.a.hmac_secret.clone()), &body)
    );
    let status = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!(
            "http://{}/webhooks/jira/{}/{}",
            s.addr, s.a.id, s.a.url_secret
        ))
        .header("X-Hub-Signature", signature)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 503);
    // Resumed: the parked create runs.
    assert_eq!(s.connections.resume(&s.a.id).await.unwrap(), 1);
    for _ in 0..3 {
        s.connections.run_pass(16).await;
    }
    assert!(s.a.sync.store().pending().await.unwrap().is_empty());
    crate::support::assert_exactly_one_issue_each(&s.a.sim, &[fa]);
    // Removed: forgotten by the registry, its rows kept.
    s.connections.remove(&s.a.id, "disconnected").await.unwrap();
    assert!(s.connections.get(&s.a.id).is_none());
    assert_eq!(s.a.sync.store().links().await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_engine_on_another_connections_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("s.sqlite")).unwrap();
    let t = tenant(&store, "acme", vec![]).await;
    let err = Connections::new()
        .insert(ConnectionId::new("globex").unwrap(), t.sync.clone(), None)
        .unwrap_err();
    assert!(
        matches!(err, ConnectionError::StoreMismatch { .. }),
        "{err}"
    );
    assert_eq!(err.code(), "connection_store_mismatch");
}

/// A service's file lists its connections; one call builds every engine
/// on its own handle of one store, with its own client (its token sealed
/// for it) and gate. A token sealed for another connection is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_file_builds_every_connection_on_one_store() {
    use jira_client::sealed::{SealedToken, SealingKeyPair, TokenBinding};
    let acme = sim(SimConfig::new(Flavor::Cloud)).await;
    let globex = sim(SimConfig::new(Flavor::DataCenter)).await;
    let dir = tempfile::tempdir().unwrap();
    let keys = SealingKeyPair::generate();
    let key_file = dir.path().join("sealing.key");
    {
        use secrecy::ExposeSecret;
        std::fs::write(&key_file, keys.secret_key().to_text().expose_secret()).unwrap();
    }
    let seal = |connection: &str, base_url: &str, token: &str| {
        let binding = TokenBinding::for_base_url(connection, base_url).unwrap();
        SealedToken::seal(&keys.public_key(), &binding, &SecretString::from(token))
            .unwrap()
            .to_string()
    };
    let file = |globex_sealed_for: &str| {
        format!(
            r#"
[network]
allow_loopback = true

[[connections]]
id = "acme"
inbound = "all"
[connections.jira]
deployment = "cloud"
base_url = "{a}"
email = "{email}"
credentials = {{ source = "sealed", sealed_token = "{ta}", secret_key_file = "{key}" }}
[connections.webhook]
allowlist = ["127.0.0.0/8"]
url_secrets = ["acme-url-secret-0f3a9c1e"]
hmac_secrets = ["acme-hmac-secret-7d2b4e80"]

[[connections]]
id = "globex"
[connections.jira]
deployment = "datacenter"
base_url = "{g}"
credentials = {{ source = "sealed", sealed_token = "{tg}", secret_key_file = "{key}" }}
"#,
            a = acme.base_url(),
            g = globex.base_url(),
            email = jira_sim::accounts::SERVICE_EMAIL,
            ta = seal(
                "acme",
                &acme.base_url(),
                jira_sim::accounts::SERVICE_API_TOKEN
            ),
            tg = seal(
                globex_sealed_for,
                &globex.base_url(),
                jira_sim::accounts::SERVICE_PAT
            ),
            key = key_file.display(),
        )
    };
    let backend = SqliteStore::open(dir.path().join("s.sqlite")).unwrap();
    let f = finding(7, Severity::High, FindingState::Open);
    let hosts: std::collections::BTreeMap<String, Arc<MemoryFindings>> = ["acme", "globex"]
        .into_iter()
        .map(|id| (id.to_string(), Arc::new(MemoryFindings::with([f.clone()]))))
        .collect();
    let findings = |id: &ConnectionId| Arc::clone(&hosts[id.as_str()]) as _;

    let service = penaxtra_jira_sync::config::ServiceConfig::from_toml(&file("globex")).unwrap();
    let connections = Connections::from_config(&service, &backend, &findings).unwrap();
    let status = connections.status();
    assert_eq!(status.len(), 2);
    assert!(status[0].receives_webhooks && !status[1].receives_webhooks);
    for (id, sim) in [("acme", &acme), ("globex", &globex)] {
        let sync = connections.get(&ConnectionId::new(id).unwrap()).unwrap();
        assert_eq!(sync.store().connection().as_str(), id);
        crate::support::push_key(&sync, &f).await;
        crate::support::assert_exactly_one_issue_each(sim, std::slice::from_ref(&f));
    }

    // globex's row holding acme's sealed token: refused, nothing built.
    let crossed = penaxtra_jira_sync::config::ServiceConfig::from_toml(&file("acme")).unwrap();
    let e = Connections::from_config(&crossed, &backend, &findings).unwrap_err();
    assert_eq!(
        e.setting(),
        "connections[globex].jira.credentials.sealed_token",
        "{e}"
    );
}

/// A service file for `tenants` (id, simulator), each with its token
/// sealed for it; keys in `dir`.
fn sealed_service(
    dir: &Path,
    tenants: &[(&str, &JiraSim)],
) -> penaxtra_jira_sync::config::ServiceConfig {
    use jira_client::sealed::{SealedToken, SealingKeyPair, TokenBinding};
    use secrecy::ExposeSecret;
    let keys = SealingKeyPair::generate();
    let key_file = dir.join(format!("keys-{}.txt", tenants.len()));
    std::fs::write(&key_file, keys.secret_key().to_text().expose_secret()).unwrap();
    let mut text = String::from("[network]\nallow_loopback = true\n");
    for (id, sim) in tenants {
        let (deployment, token, email) = match sim.flavor() {
            Flavor::Cloud => (
                "cloud",
                jira_sim::accounts::SERVICE_API_TOKEN,
                format!("email = \"{}\"\n", jira_sim::accounts::SERVICE_EMAIL),
            ),
            _ => ("datacenter", jira_sim::accounts::SERVICE_PAT, String::new()),
        };
        let binding = TokenBinding::for_base_url(id, &sim.base_url()).unwrap();
        let sealed =
            SealedToken::seal(&keys.public_key(), &binding, &SecretString::from(token)).unwrap();
        text.push_str(&format!(
            "\n[[connections]]\nid = \"{id}\"\n[connections.jira]\ndeployment = \"{deployment}\"\nbase_url = \"{}\"\n{email}credentials = {{ source = \"sealed\", sealed_token = \"{sealed}\", secret_key_file = \"{}\" }}\n",
            sim.base_url(),
            key_file.display()
        ));
    }
    penaxtra_jira_sync::config::ServiceConfig::from_toml(&text).unwrap()
}

/// The host's records of its customers' connections, as a test changes them.
#[derive(Default)]
struct Records(Mutex<Vec<penaxtra_jira_sync::config::ConnectionConfig>>);

#[async_trait::async_trait]
impl ConnectionSource for Records {
    async fn connections(
        &self,
    ) -> Result<Vec<penaxtra_jira_sync::config::ConnectionConfig>, penaxtra_jira_sync::HostError>
    {
        Ok(self.0.lock().unwrap().clone())
    }
}

/// The host adds, changes, pauses and removes connections at run time;
/// one refresh follows its records, a broken one is named and skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_follows_the_hosts_records() {
    let acme = sim(SimConfig::new(Flavor::Cloud)).await;
    let globex = sim(SimConfig::new(Flavor::DataCenter)).await;
    let dir = tempfile::tempdir().unwrap();
    let backend = SqliteStore::open(dir.path().join("s.sqlite")).unwrap();
    let f = finding(3, Severity::High, FindingState::Open);
    let host = Arc::new(MemoryFindings::with([f.clone()]));
    let findings = |_: &ConnectionId| Arc::clone(&host) as _;
    let both = sealed_service(dir.path(), &[("acme", &acme), ("globex", &globex)]).connections;
    let records = Records::default();
    let connections = Connections::new();
    let ids = |v: &[ConnectionId]| v.iter().map(ToString::to_string).collect::<Vec<_>>();

    *records.0.lock().unwrap() = vec![both[0].clone().revision("1")];
    let r = connections
        .refresh(&records, &backend, &findings)
        .await
        .unwrap();
    assert_eq!(ids(&r.added), ["acme"]);

    // globex connects; acme's row is unchanged (same revision).
    *records.0.lock().unwrap() = vec![both[0].clone().revision("1"), both[1].clone().revision("1")];
    let r = connections
        .refresh(&records, &backend, &findings)
        .await
        .unwrap();
    assert_eq!(
        (ids(&r.added), ids(&r.changed)),
        (vec!["globex".to_string()], vec![])
    );

    // globex has work queued; its customer's subscription lapses; acme's
    // row changes.
    let globex_id = ConnectionId::new("globex").unwrap();
    connections
        .get(&globex_id)
        .unwrap()
        .store()
        .enqueue(
            &PendingOp::Create {
                finding: f.id.clone(),
            },
            0,
            None,
        )
        .await
        .unwrap();
    *records.0.lock().unwrap() = vec![
        both[0].clone().revision("2"),
        both[1].clone().revision("1").paused("subscription lapsed"),
    ];
    let r = connections
        .refresh(&records, &backend, &findings)
        .await
        .unwrap();
    assert_eq!(
        (ids(&r.changed), ids(&r.paused)),
        (vec!["acme".to_string()], vec!["globex".to_string()])
    );
    let queued = connections
        .get(&globex_id)
        .unwrap()
        .store()
        .pending()
        .await
        .unwrap();
    assert!(queued[0].parked, "a paused connection's work is parked");
    assert!(
        connections
            .run_pass(16)
            .await
            .iter()
            .all(|(id, _)| id.as_str() == "acme")
    );

    // A broken row (a token sealed for another connection) is named and
    // skipped; globex leaves the records: removed, its rows kept.
    let mut broken = both[1].clone().revision("2");
    broken.id = ConnectionId::new("initech").unwrap();
    *records.0.lock().unwrap() = vec![both[0].clone().revision("2"), broken];
    let r = connections
        .refresh(&records, &backend, &findings)
        .await
        .unwrap();
    assert_eq!(ids(&r.removed), ["globex"]);
    assert_eq!(r.failed.len(), 1, "{:?}", r.failed);
    assert_eq!(r.failed[0].0.as_str(), "initech");
    assert_eq!(
        r.failed[0].1.setting(),
        "connections[initech].jira.credentials.sealed_token"
    );
    assert!(connections.get(&globex_id).is_none());
    assert_eq!(
        backend
            .for_connection(globex_id)
            .pending()
            .await
            .unwrap()
            .len(),
        1,
        "the removed connection's work stays in the store"
    );
    assert_eq!(connections.len(), 1);
}
