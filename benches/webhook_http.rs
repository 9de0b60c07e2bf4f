//! The inbound webhook path over real HTTP under load: the library's axum
//! route (`WebhookRoute`: the gate, the typed parse, the delivery marks in
//! the SQLite store, the link lookup, the host's finding update and the
//! link update) against a bare axum handler that only parses the JSON
//! body, both on 127.0.0.1 in this process, driven in the same run by one
//! in-process load generator with many keep-alive connections.
//!
//! ```sh
//! cargo bench -p penaxtra-jira-sync --bench webhook_http
//! ```
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `WEBHOOK_EVENTS` | 20000 | events sent to each server (distinct delivery ids) |
//! | `WEBHOOK_CONNS` | 64 | connections the load generator keeps open |
//! | `WEBHOOK_STORE` | `sqlite` | `sqlite` (a file in a temporary directory) or `memory` |
//! | `WEBHOOK_ROUNDS` | 4 | alternating rounds (bare, route, bare, route, …), each a share of the events |
//!
//! Every event is a signed `jira:issue_updated` with its own delivery id
//! and changelog id (so neither duplicate mark short-circuits it) and a
//! later timestamp than the one before, for one of 500 linked issues in
//! turn; each issue's events alternate Done / In Progress, so every event
//! changes its finding (host update and link update) unless two events of
//! one issue overtake each other on different connections (then the later
//! one to arrive is ignored, as stale or already in state, as it should
//! be). The `webhook_http_detail` line counts the outcomes.
//!
//! The load generator writes pre-rendered requests and reads the answers by
//! hand (no HTTP client library on the sending side), so that as much of the
//! two shared cores as possible goes to the servers; it still shares them,
//! which lowers both figures alike.
//!
//! Printed, last: `webhook_http: events=… conns=… eps=… bare_eps=… ratio=…
//! p99_ms=…` (events a second through the route and through the bare
//! handler, the route's ÷ the bare one's, the route's 99th-percentile
//! latency).
//!
//! Without `--bench` (as under `cargo test --benches`) it runs a small smoke
//! version (200 events, 4 connections) unless the variables say otherwise.

#[path = "support/env_var.rs"]
mod env_var;
use axum::body::Bytes;
use axum::http::StatusCode;
use env_var::var;
use jira_model::IssueKey;
use penaxtra_jira_sync::store::{Link, MemoryStore, SqliteStore, SyncStore};
use penaxtra_jira_sync::webhook::{
    IpAllowlist, SIGNATURE_HEADER, WebhookGate, WebhookGateConfig, WebhookRoute, sign_body,
};
use penaxtra_jira_sync::{Inbound, MemoryFindings};
use penaxtra_mapping::{Finding, FindingId, FindingState, InboundPolicy, Severity};
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::error::Error;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type BoxError = Box<dyn Error + Send + Sync>;

// Bench-only secrets, of the length a deployment would generate.
const URL_SECRET: &str = "bench-url-secret-7c2a94e1d05b3f68";
const HMAC_SECRET: &str = "bench-hmac-secret-91d3e6a0c4f27b58";
/// Linked issues the events are spread over.
const ISSUES: usize = 500;
const ROUTE_PATH: &str = "/webhooks/jira";
const BARE_PATH: &str = "/bare";

struct Settings {
    events: usize,
    conns: usize,
    store: String,
    rounds: usize,
}

impl Settings {
    fn from_env() -> Result<Self, BoxError> {
        let bench = std::env::args().any(|a| a == "--bench");
        let (events, conns) = if bench { (20_000, 64) } else { (200, 4) };
        let s = Self {
            events: var("WEBHOOK_EVENTS", events)?,
            conns: var("WEBHOOK_CONNS", conns)?,
            rounds: var("WEBHOOK_ROUNDS", 4)?,
            store: match std::env::var("WEBHOOK_STORE").as_deref() {
                Err(_) | Ok("sqlite") => "sqlite".into(),
                Ok("memory") => "memory".into(),
                Ok(other) => {
                    return Err(
                        format!("WEBHOOK_STORE={other:?}: expected sqlite or memory").into(),
                    );
                }
            },
        };
        if s.events == 0 || s.conns == 0 || s.rounds == 0 || !s.rounds.is_multiple_of(2) {
            return Err("WEBHOOK_EVENTS and WEBHOOK_CONNS must be at least 1, \
                        WEBHOOK_ROUNDS even and at least 2"
                .into());
        }
        Ok(s)
    }
}

fn finding_id(i: usize) -> Result<FindingId, BoxError> {
    Ok(FindingId::new(format!("fnd_hook_{i:05}"))?)
}

/// Event `n`: issue `n % ISSUES`, moved to Done (even turn of that issue)
/// or In Progress (odd turn), with its own delivery and changelog ids.
fn event_body(n: usize, base_ms: i64) -> Result<Vec<u8>, BoxError> {
    let issue = n % ISSUES;
    let done = (n / ISSUES).is_multiple_of(2);
    let (status, category, resolution) = if done {
        (
            serde_json::json!({"id": "10002", "name": "Done",
                "statusCategory": {"id": 3, "key": "done", "name": "Done"}}),
            "10002",
            serde_json::json!({"id": "10000", "name": "Done"}),
        )
    } else {
        (
            serde_json::json!({"id": "3", "name": "In Progress",
                "statusCategory": {"id": 4, "key": "indeterminate", "name": "In Progress"}}),
            "3",
            serde_json::Value::Null,
        )
    };
    let to_string = if done { "Done" } else { "In Progress" };
    Ok(serde_json::to_vec(&serde_json::json!({
        "timestamp": base_ms + n as i64,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": "5f5e1a0c0000000000000002", "displayName": "Alex"},
        "issue": {"id": (20_000 + issue).to_string(), "key": format!("SEC-{}", issue + 1),
            "fields": {"summary": format!("[Penaxtra] Prompt injection #{issue}"),
                "status": status, "resolution": resolution, "labels": ["penaxtra"]}},
        "changelog": {"id": (900_000 + n).to_string(), "items": [
            {"field": "status", "fieldtype": "jira", "fieldId": "status",
             "from": "1", "fromString": "Open", "to": category, "toString": to_string}]}
    }))?)
}

/// The raw HTTP/1.1 request for one event, to `path`.
fn request(addr: SocketAddr, path: &str, body: &[u8], n: usize) -> Vec<u8> {
    let signature = format!(
        "sha256={}",
        sign_body(&SecretString::from(HMAC_SECRET), body)
    );
    let mut out = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n{SIGNATURE_HEADER}: {signature}\r\n\
         X-Atlassian-Webhook-Identifier: bench-delivery-{n:07}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// Reads one answer off a keep-alive connection; its status.
async fn read_answer(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<u16, BoxError> {
    buf.clear();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err("connection closed before the answer".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end])?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status line")?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err("connection closed in the body".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(status)
}

/// What one load run measured.
struct Load {
    events: usize,
    elapsed: Duration,
    latencies_us: Vec<u64>,
    statuses: BTreeMap<u16, usize>,
}

/// Sends `requests` over `conns` keep-alive connections to `addr`, each
/// connection taking the next request not yet sent.
async fn load(
    addr: SocketAddr,
    requests: Arc<Vec<Vec<u8>>>,
    conns: usize,
) -> Result<Load, BoxError> {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..conns.min(requests.len()) {
        let requests = Arc::clone(&requests);
        let next = Arc::clone(&next);
        tasks.spawn(async move {
            let mut stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let mut buf = Vec::with_capacity(1024);
            let mut latencies = Vec::new();
            let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(req) = requests.get(i) else { break };
                let sent = Instant::now();
                stream.write_all(req).await?;
                let status = read_answer(&mut stream, &mut buf).await?;
                latencies.push(sent.elapsed().as_micros() as u64);
                *statuses.entry(status).or_default() += 1;
            }
            Ok::<_, BoxError>((latencies, statuses))
        });
    }
    let mut out = Load {
        events: requests.len(),
        elapsed: Duration::ZERO,
        latencies_us: Vec::with_capacity(requests.len()),
        statuses: BTreeMap::new(),
    };
    while let Some(joined) = tasks.join_next().await {
        let (latencies, statuses) = joined??;
        out.latencies_us.extend(latencies);
        for (s, n) in statuses {
            *out.statuses.entry(s).or_default() += n;
        }
    }
    out.elapsed = start.elapsed();
    Ok(out)
}

/// Totals over rounds.
#[derive(Default)]
struct Side {
    events: usize,
    elapsed: Duration,
    latencies_us: Vec<u64>,
    statuses: BTreeMap<u16, usize>,
}

impl Side {
    fn add(&mut self, l: Load) {
        self.events += l.events;
        self.elapsed += l.elapsed;
        self.latencies_us.extend(l.latencies_us);
        for (s, n) in l.statuses {
            *self.statuses.entry(s).or_default() += n;
        }
    }

    fn sort(&mut self) {
        self.latencies_us.sort_unstable();
    }

    fn eps(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p` quantile of the latencies (sorted by [`Side::sort`]).
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() as f64 * p).ceil() as usize)
            .clamp(1, self.latencies_us.len())
            - 1;
        self.latencies_us[i] as f64 / 1e3
    }
}

async fn serve(app: axum::Router) -> Result<SocketAddr, BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    Ok(addr)
}

async fn run(settings: &Settings) -> Result<(), BoxError> {
    let tmp = tempfile::tempdir()?;
    let store: Arc<dyn SyncStore> = match settings.store.as_str() {
        "memory" => Arc::new(MemoryStore::new()),
        _ => Arc::new(SqliteStore::open(tmp.path().join("sync.sqlite"))?),
    };
    let mut findings = Vec::with_capacity(ISSUES);
    for i in 0..ISSUES {
        let id = finding_id(i)?;
        findings.push(Finding::new(
            id.clone(),
            format!("Prompt injection #{i}"),
            Severity::High,
            FindingState::Open,
        )?);
        let key = IssueKey::new(format!("SEC-{}", i + 1))?;
        store
            .insert_link(
                &Link::new(id, key, (20_000 + i).to_string(), FindingState::Open, 0),
                None,
            )
            .await?;
    }
    let host = Arc::new(MemoryFindings::with(findings));
    let gate = WebhookGate::new(
        WebhookGateConfig::builder(
            IpAllowlist::from_cidrs(["127.0.0.0/8"])?,
            SecretString::from(URL_SECRET),
        )
        .hmac_secret(SecretString::from(HMAC_SECRET))
        .build()?,
    )?;
    let inbound = Inbound::new(store, host as _, "SEC").policy(InboundPolicy::All);
    let outcomes: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let sink = Arc::clone(&outcomes);
    let route = WebhookRoute::new(gate, inbound).on_request(move |log| {
        if let Ok(mut o) = sink.lock() {
            *o.entry(format!("{}:{}", log.outcome, log.reason))
                .or_default() += 1;
        }
    });
    let route_addr = serve(route.router()).await?;
    let bare_addr = serve(axum::Router::new().route(
        BARE_PATH,
        axum::routing::post(|body: Bytes| async move {
            match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(_) => StatusCode::OK,
                Err(_) => StatusCode::BAD_REQUEST,
            }
        }),
    ))
    .await?;

    // Every request rendered and signed before the clock starts.
    let base_ms = chrono::Utc::now().timestamp_millis();
    let route_path = format!("{ROUTE_PATH}/{URL_SECRET}");
    let mut to_route = Vec::with_capacity(settings.events);
    let mut to_bare = Vec::with_capacity(settings.events);
    let mut body_bytes = 0;
    for n in 0..settings.events {
        let body = event_body(n, base_ms)?;
        body_bytes += body.len();
        to_route.push(request(route_addr, &route_path, &body, n));
        to_bare.push(request(bare_addr, BARE_PATH, &body, n));
    }

    // Alternating rounds, so both sides see the same machine weather.
    let per_round = settings.events.div_ceil(settings.rounds / 2);
    let mut route_side = Side::default();
    let mut bare_side = Side::default();
    let mut route_chunks = to_route.chunks(per_round);
    let mut bare_chunks = to_bare.chunks(per_round);
    while let (Some(b), Some(r)) = (bare_chunks.next(), route_chunks.next()) {
        bare_side.add(load(bare_addr, Arc::new(b.to_vec()), settings.conns).await?);
        route_side.add(load(route_addr, Arc::new(r.to_vec()), settings.conns).await?);
    }

    route_side.sort();
    bare_side.sort();
    let outcomes = outcomes.lock().map(|o| o.clone()).unwrap_or_default();
    println!(
        "webhook_http_detail: store={} body_bytes_avg={} route_statuses={:?} bare_statuses={:?} \
         route_p50_ms={:.2} bare_p50_ms={:.2} bare_p99_ms={:.2} route_s={:.2} bare_s={:.2} \
         outcomes={:?}",
        settings.store,
        body_bytes / settings.events,
        route_side.statuses,
        bare_side.statuses,
        route_side.percentile_ms(0.50),
        bare_side.percentile_ms(0.50),
        bare_side.percentile_ms(0.99),
        route_side.elapsed.as_secs_f64(),
        bare_side.elapsed.as_secs_f64(),
        outcomes,
    );
    let eps = route_side.eps();
    let bare_eps = bare_side.eps();
    println!(
        "webhook_http: events={} conns={} eps={eps:.0} bare_eps={bare_eps:.0} ratio={:.3} \
         p99_ms={:.2}",
        route_side.events,
        settings.conns,
        eps / bare_eps,
        route_side.percentile_ms(0.99),
    );
    if route_side.statuses.keys().any(|s| *s != 200) {
        return Err(format!("the route answered {:?}", route_side.statuses).into());
    }
    Ok(())
}

fn main() -> Result<(), BoxError> {
    let settings = Settings::from_env()?;
    println!(
        "config: events={} conns={} store={} rounds={} issues={ISSUES} \
         server_and_load_generator=one_process",
        settings.events, settings.conns, settings.store, settings.rounds
    );
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(&settings))
}
