//! Webhook registration and delivery: every REST change is sent to every
//! registered URL, signed when a secret is set, with
//! `X-Atlassian-Webhook-Identifier` (the same on every attempt) and
//! `X-Atlassian-Webhook-Flow`. Like Jira's, deliveries are late and
//! unordered (each waits a random time up to [`WebhookTiming::max_delay`]),
//! may arrive before search shows the change, and are retried with backoff
//! (`X-Atlassian-Webhook-Retry: n`) on Cloud only; Data Center's queue
//! drops what does not fit, and a share at random if configured.
//!
//! Sources: <https://community.developer.atlassian.com/t/new-jira-cloud-webhook-retry-policy/30554>,
//! <https://developer.atlassian.com/cloud/jira/platform/webhooks/>, JRASERVER-74492.

mod payload;
pub mod sign;

pub(crate) use payload::{body, comment_body};

use crate::SimError;
use crate::config::{WebhookRetry, WebhookTarget, WebhookTiming, redact_url};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};

/// One delivery attempt, as sent and as answered.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookDelivery {
    url: String,
    /// `X-Atlassian-Webhook-Identifier` (the same on every attempt of one
    /// delivery).
    pub identifier: String,
    /// `webhookEvent` of the body.
    pub event: String,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// `X-Atlassian-Webhook-Flow`: `Primary`, or `Secondary` for the
    /// fallout of bulk changes.
    pub flow: &'static str,
    /// The raw body sent.
    pub body: Vec<u8>,
    /// `X-Hub-Signature` sent, when the webhook has a secret.
    pub signature: Option<String>,
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// Why no status: the connection error.
    pub error: Option<String>,
}

impl WebhookDelivery {
    /// The URL exactly as registered (it may hold a secret: do not log it).
    pub fn url(&self) -> &str {
        &self.url
    }
    /// The URL without query or fragment.
    pub fn display_url(&self) -> String {
        redact_url(&self.url)
    }
    /// The body as JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
    /// Whether the receiver answered 2xx.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

impl std::fmt::Debug for WebhookDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookDelivery")
            .field("url", &self.display_url())
            .field("identifier", &self.identifier)
            .field("event", &self.event)
            .field("attempt", &self.attempt)
            .field("flow", &self.flow)
            .field("body_len", &self.body.len())
            .field("signed", &self.signature.is_some())
            .field("status", &self.status)
            .field("error", &self.error)
            .finish()
    }
}

/// Jira Cloud's delivery flows: `Primary` (about 30 s) for direct
/// changes, `Secondary` (about 15 min) for the fallout of bulk and
/// cascading changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Primary,
    Secondary,
}

impl Flow {
    fn as_str(self) -> &'static str {
        match self {
            Flow::Primary => "Primary",
            Flow::Secondary => "Secondary",
        }
    }
}

struct Job {
    identifier: String,
    event: String,
    flow: Flow,
    body: Arc<Vec<u8>>,
    /// Wait before the first attempt.
    delay: Duration,
}

/// A delivery Data Center's queue dropped: never attempted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DroppedWebhook {
    /// `X-Atlassian-Webhook-Identifier` it would have carried.
    pub identifier: String,
    /// `webhookEvent` of the body.
    pub event: String,
    /// Why: `queue full` or `dropped at random`.
    pub reason: &'static str,
}

struct Registered {
    target: WebhookTarget,
    tx: mpsc::UnboundedSender<Job>,
    worker: tokio::task::JoinHandle<()>,
}

struct Inner {
    targets: Mutex<Vec<Registered>>,
    deliveries: Mutex<Vec<WebhookDelivery>>,
    dropped: Mutex<Vec<DroppedWebhook>>,
    pending: AtomicUsize,
    idle: Notify,
    retry: WebhookRetry,
    timing: WebhookTiming,
    /// Data Center: the queue is bounded and may drop.
    lossy: bool,
    client: reqwest::Client,
    rng: Mutex<StdRng>,
    runtime: tokio::runtime::Handle,
}

/// The webhook hub of one simulator.
#[derive(Clone)]
pub(crate) struct Hub {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Hub {
    pub fn new(
        retry: WebhookRetry,
        timing: WebhookTiming,
        lossy: bool,
        seed: u64,
        runtime: tokio::runtime::Handle,
    ) -> Result<Self, SimError> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| SimError::Config(format!("webhook HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                targets: Mutex::new(Vec::new()),
                deliveries: Mutex::new(Vec::new()),
                dropped: Mutex::new(Vec::new()),
                pending: AtomicUsize::new(0),
                idle: Notify::new(),
                retry,
                timing,
                lossy,
                client,
                rng: Mutex::new(StdRng::seed_from_u64(seed)),
                runtime,
            }),
        })
    }

    /// Registers a webhook and starts its worker.
    pub fn register(&self, target: WebhookTarget) {
        let (tx, rx) = mpsc::unbounded_channel();
        let inner = self.inner.clone();
        let t = target.clone();
        let worker = self
            .inner
            .runtime
            .spawn(async move { work(inner, t, rx).await });
        lock(&self.inner.targets).push(Registered { target, tx, worker });
    }

    /// The registered webhooks.
    pub fn targets(&self) -> Vec<WebhookTarget> {
        lock(&self.inner.targets)
            .iter()
            .map(|r| r.target.clone())
            .collect()
    }

    /// Unregisters every webhook; deliveries not yet made are dropped.
    pub fn clear(&self) {
        let removed: Vec<Registered> = std::mem::take(&mut *lock(&self.inner.targets));
        for r in removed {
            r.worker.abort();
        }
        self.inner.pending.store(0, Ordering::SeqCst);
        self.inner.idle.notify_waiters();
    }

    /// Queues a body for every registered webhook.
    pub fn dispatch(&self, event: &str, body: &serde_json::Value, flow: Flow) {
        let bytes = Arc::new(serde_json::to_vec(body).unwrap_or_default());
        let targets = lock(&self.inner.targets);
        for r in targets.iter() {
            let identifier = self.identifier();
            if let Some(reason) = self.drops() {
                lock(&self.inner.dropped).push(DroppedWebhook {
                    identifier,
                    event: event.to_string(),
                    reason,
                });
                continue;
            }
            self.inner.pending.fetch_add(1, Ordering::SeqCst);
            let job = Job {
                identifier,
                event: event.to_string(),
                flow,
                body: bytes.clone(),
                delay: self.delay(),
            };
            if r.tx.send(job).is_err() {
                self.done();
            }
        }
    }

    /// Why Data Center's queue drops the next delivery, if it does.
    fn drops(&self) -> Option<&'static str> {
        if !self.inner.lossy {
            return None;
        }
        let t = &self.inner.timing;
        if self.inner.pending.load(Ordering::SeqCst) >= t.queue_capacity {
            return Some("queue full");
        }
        (t.drop_rate > 0.0 && lock(&self.inner.rng).gen_bool(t.drop_rate.min(1.0)))
            .then_some("dropped at random")
    }

    /// A random wait up to the configured delay.
    fn delay(&self) -> Duration {
        let max = self.inner.timing.max_delay;
        if max.is_zero() {
            return Duration::ZERO;
        }
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(lock(&self.inner.rng).gen_range(0..=nanos))
    }

    /// Deliveries Data Center's queue dropped.
    pub fn dropped(&self) -> Vec<DroppedWebhook> {
        lock(&self.inner.dropped).clone()
    }

    fn identifier(&self) -> String {
        let n: u128 = lock(&self.inner.rng).r#gen();
        let h = format!("{n:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    fn done(&self) {
        done(&self.inner);
    }

    /// Every delivery attempt so far.
    pub fn deliveries(&self) -> Vec<WebhookDelivery> {
        lock(&self.inner.deliveries).clone()
    }

    /// Forgets the delivery log.
    pub fn clear_deliveries(&self) {
        lock(&self.inner.deliveries).clear();
        lock(&self.inner.dropped).clear();
    }

    /// Waits until every queued delivery has been made (or given up).
    pub async fn flush(&self) {
        loop {
            let notified = self.inner.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.inner.pending.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Stops every worker.
    pub fn shutdown(&self) {
        self.clear();
    }
}

fn done(inner: &Inner) {
    let before = inner
        .pending
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |p| {
            Some(p.saturating_sub(1))
        })
        .unwrap_or(0);
    if before <= 1 {
        inner.idle.notify_waiters();
    }
}

async fn work(inner: Arc<Inner>, target: WebhookTarget, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut late = tokio::task::JoinSet::new();
    while let Some(job) = rx.recv().await {
        if job.delay.is_zero() {
            // In order and at once.
            deliver(&inner, &target, &job).await;
            done(&inner);
        } else {
            // Each waits its own time: late, and out of order.
            let (inner, target) = (inner.clone(), target.clone());
            late.spawn(async move {
                tokio::time::sleep(job.delay).await;
                deliver(&inner, &target, &job).await;
                done(&inner);
            });
            while late.try_join_next().is_some() {}
        }
    }
    // Dropping the set (the worker aborted) aborts the late deliveries.
    while late.join_next().await.is_some() {}
}

async fn deliver(inner: &Inner, target: &WebhookTarget, job: &Job) {
    let signature = target
        .secret
        .as_deref()
        .map(|s| sign::signature(s, &job.body));
    let mut backoff = inner.retry.initial_backoff;
    for attempt in 1..=inner.retry.max_attempts {
        let mut req = inner
            .client
            .post(&target.url)
            .header("Content-Type", "application/json; charset=utf-8")
            .header("User-Agent", "Atlassian Webhook HTTP Client (jira-sim)")
            .header("X-Atlassian-Webhook-Identifier", &job.identifier)
            .header("X-Atlassian-Webhook-Flow", job.flow.as_str())
            .body(job.body.as_ref().clone());
        if attempt > 1 {
            req = req.header("X-Atlassian-Webhook-Retry", (attempt - 1).to_string());
        }
        if let Some(sig) = &signature {
            req = req.header("X-Hub-Signature", sig);
        }
        let (status, error) = match req.send().await {
            Ok(resp) => (Some(resp.status().as_u16()), None),
            Err(e) => (None, Some(describe(&e))),
        };
        let record = WebhookDelivery {
            url: target.url.clone(),
            identifier: job.identifier.clone(),
            event: job.event.clone(),
            attempt,
            flow: job.flow.as_str(),
            body: job.body.as_ref().clone(),
            signature: signature.clone(),
            status,
            error,
        };
        let ok = record.succeeded();
        lock(&inner.deliveries).push(record);
        if ok {
            return;
        }
        tracing::debug!(url = %target.display_url(), attempt, ?status, "webhook delivery failed");
        if attempt < inner.retry.max_attempts {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }
}

/// A connection error without the URL (which may hold a secret).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut text = e.to_string();
    if let Some(u) = e.url() {
        text = text.replace(u.as_str(), &redact_url(u.as_str()));
    }
    format!("{kind}: {text}")
}
