//! Shared test helpers: simulated and recorded time, client builders.

use async_trait::async_trait;
use base64::Engine as _;
use jira_client::{ApiTokenAuth, ClientBuilder, Clock, JiraClient, PatAuth, RetryPolicy, Sleep};
use jira_model::Flavor;
use secrecy::SecretString;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use wiremock::MockServer;

pub const EMAIL: &str = "penaxtra-bot@example.com";
pub const TOKEN: &str = "ATATT3xFfGF0-s3cr3t-T0KEN-9f2c";
pub const PAT: &str = "NjE5OTc0-pat-s3cr3t-Xy12";

/// The wall-clock origin of simulated time (whole seconds, for HTTP dates).
pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// Simulated time: sleeping advances the clock at once and is recorded.
#[derive(Debug, Default)]
pub struct ManualTime {
    state: Mutex<(Duration, Vec<Duration>)>,
}

impl ManualTime {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state.lock().unwrap().1.clone()
    }
    pub fn elapsed(&self) -> Duration {
        self.state.lock().unwrap().0
    }
}

impl Clock for ManualTime {
    fn now(&self) -> SystemTime {
        t0() + self.elapsed()
    }
    fn monotonic(&self) -> Duration {
        self.elapsed()
    }
}

#[async_trait]
impl Sleep for ManualTime {
    async fn sleep(&self, duration: Duration) {
        {
            let mut s = self.state.lock().unwrap();
            s.0 += duration;
            s.1.push(duration);
        }
        tokio::task::yield_now().await;
    }
}

/// Records each sleep and delegates to tokio (for paused-time tests).
#[derive(Debug, Default)]
pub struct RecordingSleep {
    sleeps: Mutex<Vec<Duration>>,
}

impl RecordingSleep {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }
}

#[async_trait]
impl Sleep for RecordingSleep {
    async fn sleep(&self, duration: Duration) {
        self.sleeps.lock().unwrap().push(duration);
        tokio::time::sleep(duration).await;
    }
}

pub fn prefix(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Cloud => "/rest/api/3",
        Flavor::DataCenter => "/rest/api/2",
    }
}

pub fn basic_header() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}:{TOKEN}"))
    )
}

pub fn auth_header(flavor: Flavor) -> String {
    match flavor {
        Flavor::Cloud => basic_header(),
        Flavor::DataCenter => format!("Bearer {PAT}"),
    }
}

/// A builder for `flavor` against `server`, with the flavor's usual auth,
/// simulated time and no local quota.
pub fn builder(server: &MockServer, flavor: Flavor, time: &Arc<ManualTime>) -> ClientBuilder {
    let b = match flavor {
        Flavor::Cloud => JiraClient::builder(
            &server.uri(),
            flavor,
            ApiTokenAuth::new(EMAIL, SecretString::from(TOKEN)),
        )
        .url_policy(jira_client::UrlPolicy::default().allow_loopback()),
        Flavor::DataCenter => {
            JiraClient::builder(&server.uri(), flavor, PatAuth::new(SecretString::from(PAT)))
                .url_policy(jira_client::UrlPolicy::default().allow_loopback())
        }
    };
    b.sleeper(time.clone())
        .clock(time.clone())
        .without_rate_limit()
}

pub fn client(server: &MockServer, flavor: Flavor) -> JiraClient {
    builder(server, flavor, &ManualTime::new()).build().unwrap()
}

pub fn retries(max_attempts: u32, max_total_wait_secs: u64) -> RetryPolicy {
    RetryPolicy::new(
        NonZeroU32::new(max_attempts).unwrap(),
        Duration::from_secs(max_total_wait_secs),
        Duration::from_millis(100),
        Duration::from_secs(2),
    )
}

pub const FLAVORS: [Flavor; 2] = [Flavor::Cloud, Flavor::DataCenter];
