//! The load balancer in front of the replicas' webhook receivers: Jira
//! sends each delivery to one address; the balancer hands it to a live
//! replica picked at random, and now and then to two (a duplicate
//! delivery, which the shared store must drop). A replica that was killed
//! is skipped; with none alive the answer is 503 and Jira retries later.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the balancer did.
#[derive(Debug, Default)]
pub struct BalancerStats {
    /// Deliveries handed to a replica.
    pub forwarded: AtomicU64,
    /// Deliveries also handed to a second replica.
    pub doubled: AtomicU64,
    /// Deliveries answered 503: no replica alive.
    pub refused: AtomicU64,
}

struct Balancer {
    /// One file per live replica, named after its pid, holding its port.
    ports: PathBuf,
    http: reqwest::Client,
    rng: Mutex<StdRng>,
    stats: Arc<BalancerStats>,
}

/// Serves on a free loopback port; answers the address and the stats.
pub async fn start(ports: PathBuf, seed: u64) -> (std::net::SocketAddr, Arc<BalancerStats>) {
    std::fs::create_dir_all(&ports).unwrap();
    let stats = Arc::new(BalancerStats::default());
    let state = Arc::new(Balancer {
        ports,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        rng: Mutex::new(StdRng::seed_from_u64(seed)),
        stats: Arc::clone(&stats),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/{*rest}", axum::routing::post(balance))
        .with_state(state);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, stats)
}

async fn balance(
    State(b): State<Arc<Balancer>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut live: Vec<PathBuf> = std::fs::read_dir(&b.ports)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    let copies = {
        let mut rng = b.rng.lock().unwrap();
        live.shuffle(&mut *rng);
        if rng.gen_bool(0.1) { 2 } else { 1 }
    };
    let mut answer = None;
    let mut sent = 0;
    for file in live {
        let Some(port) = std::fs::read_to_string(&file)
            .ok()
            .and_then(|p| p.trim().parse::<u16>().ok())
        else {
            continue;
        };
        let url = format!(
            "http://127.0.0.1:{port}{}",
            uri.path_and_query().map_or("/", |p| p.as_str())
        );
        let mut request = b.http.post(url).body(body.clone());
        for (name, value) in &headers {
            if name != "host" && name != "content-length" {
                request = request.header(name, value);
            }
        }
        match request.send().await {
            Ok(r) => {
                answer.get_or_insert(r.status().as_u16());
                sent += 1;
                if sent == copies {
                    break;
                }
            }
            // Killed: forget it and try another.
            Err(_) => {
                let _ = std::fs::remove_file(&file);
            }
        }
    }
    match answer {
        Some(status) => {
            b.stats.forwarded.fetch_add(1, Ordering::Relaxed);
            if sent > 1 {
                b.stats.doubled.fetch_add(1, Ordering::Relaxed);
            }
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY)
        }
        None => {
            b.stats.refused.fetch_add(1, Ordering::Relaxed);
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}
