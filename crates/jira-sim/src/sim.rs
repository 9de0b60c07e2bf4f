//! The running simulator.

use crate::captcha::LoginGuard;
use crate::config::WebhookTarget;
use crate::faults::{FaultConfig, FaultEngine};
use crate::http::conn::{ConnHandle, KillableListener};
use crate::http::{App, entry, lock};
use crate::rate_limit::RateLimiter;
use crate::rate_limit::cloud::CloudLimiter;
use crate::webhook::{Hub, WebhookDelivery};
use crate::world::{SimIssue, World};
use crate::{LimiterCount, SimClock, SimConfig, SimError};
use jira_model::Flavor;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// A simulated Jira serving on a loopback address.
///
/// Dropping it stops the server; [`JiraSim::shutdown`] also waits for it.
pub struct JiraSim {
    app: Arc<App>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for JiraSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraSim")
            .field("base_url", &self.app.base_url)
            .field("flavor", &self.app.flavor)
            .finish_non_exhaustive()
    }
}

impl JiraSim {
    /// Validates `config`, binds its listen address (`127.0.0.1:0` by
    /// default: a free port) and starts serving.
    ///
    /// # Errors
    /// [`SimError::Config`] for an invalid configuration or a listen address
    /// that is not loopback; [`SimError::Bind`] when the address cannot be
    /// bound.
    pub async fn start(config: SimConfig) -> Result<JiraSim, SimError> {
        config.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            SimError::Config("JiraSim::start must run inside a tokio runtime".into())
        })?;
        let addr: SocketAddr = config.listen.parse().map_err(|_| {
            SimError::Config(format!("listen address {:?} is not ip:port", config.listen))
        })?;
        if !addr.ip().is_loopback() {
            return Err(SimError::Config(format!(
                "listen address {addr} is not a loopback address: the simulator serves 127.0.0.1 only"
            )));
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let local = listener.local_addr()?;
        let base_url = format!("http://{local}");
        let hub = Hub::new(
            config.webhook_retry,
            config.webhook_timing,
            config.flavor == Flavor::DataCenter,
            config.seed,
            runtime,
        )?;
        for w in &config.webhooks {
            hub.register(w.clone());
        }
        let (stop, stopped) = watch::channel(false);
        let mut world = World::new(
            config.flavor,
            config.frameworks_field_kind,
            config.workflow.clone(),
        );
        world.set_search_lag(config.search_lag);
        if let Some(options) = &config.frameworks_options {
            world.fix_options(options);
        }
        let app = Arc::new(App {
            flavor: config.flavor,
            base_url,
            latency: config.latency,
            workflow: config.workflow.clone(),
            kind: config.frameworks_field_kind,
            world: std::sync::Mutex::new(world),
            faults: std::sync::Mutex::new(FaultEngine::new(config.faults.clone())),
            limiter: std::sync::Mutex::new(config.rate_limit.map(RateLimiter::new)),
            cloud: std::sync::Mutex::new(
                config
                    .cloud_limits
                    .filter(|_| config.flavor == Flavor::Cloud)
                    .map(CloudLimiter::new),
            ),
            logins: std::sync::Mutex::new(LoginGuard::new(config.captcha_after)),
            tokens: std::sync::Mutex::new(crate::tokens::Tokens::new(
                config.oauth_token_lifetime,
                config
                    .points_quota
                    .filter(|_| config.flavor == Flavor::Cloud),
            )),
            anonymous_on_bad_credentials: config.anonymous_on_bad_credentials,
            in_flight: Default::default(),
            transition_hold: config.transition_hold,
            rng: std::sync::Mutex::new(rand::SeedableRng::seed_from_u64(config.seed)),
            hub,
            clock: config.clock.clone(),
            counts: std::sync::Mutex::new(BTreeMap::new()),
            total: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            judged: std::sync::Mutex::new(BTreeMap::new()),
            shutdown: stopped.clone(),
        });
        let router = axum::Router::new().fallback(entry).with_state(app.clone());
        let mut stopped = stopped;
        let server = tokio::spawn(async move {
            let serve = axum::serve(
                KillableListener::new(listener),
                router.into_make_service_with_connect_info::<ConnHandle>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "jira-sim server stopped with an error");
            }
        });
        Ok(JiraSim {
            app,
            addr: local,
            stop,
            server: Some(server),
        })
    }

    /// The Cloud site's cloudId (what `/_edge/tenant_info` answers).
    pub fn cloud_id(&self) -> &'static str {
        crate::tokens::CLOUD_ID
    }

    /// Where the simulator serves Atlassian's API gateway: its own address
    /// (`{gateway}/ex/jira/{cloudId}/...`).
    pub fn gateway_url(&self) -> String {
        self.app.base_url.clone()
    }

    /// The OAuth token endpoint of the flavor: Cloud's `/oauth/token` (of
    /// auth.atlassian.com) or Data Center's `/rest/oauth2/latest/token`.
    pub fn token_url(&self) -> String {
        match self.app.flavor {
            Flavor::Cloud => format!("{}/oauth/token", self.app.base_url),
            Flavor::DataCenter => format!("{}/rest/oauth2/latest/token", self.app.base_url),
        }
    }

    /// How many access tokens the token endpoint issued.
    pub fn token_grants(&self) -> u64 {
        lock(&self.app.tokens).grants()
    }

    /// Every OAuth access token issued so far stops working (as if it
    /// expired): the next request with one answers 401.
    pub fn expire_access_tokens(&self) {
        lock(&self.app.tokens).expire_access_tokens();
    }

    /// The API, scoped and personal access tokens of the account named
    /// `name` expire: Jira answers them as it answers a wrong token.
    /// Answers whether the account exists.
    pub fn expire_tokens(&self, name: &str) -> bool {
        match crate::accounts::by_name(name) {
            Some(a) => {
                lock(&self.app.tokens).expire_account(a);
                true
            }
            None => false,
        }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.app.base_url.clone()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The flavor served.
    pub fn flavor(&self) -> Flavor {
        self.app.flavor
    }

    /// The clock the simulator reads (advance it when it is manual).
    pub fn clock(&self) -> &SimClock {
        &self.app.clock
    }

    /// Every issue with its full state, deleted ones included, in creation
    /// order.
    pub fn issues(&self) -> Vec<SimIssue> {
        lock(&self.app.world).all().to_vec()
    }

    /// One issue by key (any case), deleted or not.
    pub fn issue(&self, key: &str) -> Option<SimIssue> {
        lock(&self.app.world)
            .all()
            .iter()
            .find(|i| i.key.eq_ignore_ascii_case(key))
            .cloned()
    }

    /// Registers a webhook: events go to `url` exactly as given, signed with
    /// `secret` when there is one.
    ///
    /// # Errors
    /// [`SimError::Config`] when `url` is not an http(s) URL.
    pub fn register_webhook(
        &self,
        url: impl Into<String>,
        secret: Option<String>,
    ) -> Result<(), SimError> {
        let url = url.into();
        crate::config::check_webhook_url(&url)?;
        self.app.hub.register(WebhookTarget { url, secret });
        Ok(())
    }

    /// The registered webhooks.
    pub fn webhooks(&self) -> Vec<WebhookTarget> {
        self.app.hub.targets()
    }

    /// Unregisters every webhook, dropping deliveries not yet made.
    pub fn clear_webhooks(&self) {
        self.app.hub.clear();
    }

    /// Every webhook delivery attempt so far, with the receiver's answers.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.app.hub.deliveries()
    }

    /// Deliveries Data Center's webhook queue dropped (never attempted).
    pub fn dropped_webhooks(&self) -> Vec<crate::webhook::DroppedWebhook> {
        self.app.hub.dropped()
    }

    /// Waits until every queued webhook delivery has been made or given up.
    pub async fn flush_webhooks(&self) {
        self.app.hub.flush().await;
    }

    /// Replaces the fault configuration; the fault sequence starts again
    /// from its seed.
    ///
    /// # Errors
    /// [`SimError::Config`] when a rate is outside 0..=1.
    pub fn set_faults(&self, faults: FaultConfig) -> Result<(), SimError> {
        faults.validate()?;
        *lock(&self.app.faults) = FaultEngine::new(faults);
        Ok(())
    }

    /// Someone signs in to the web interface as account `name` (for
    /// example `penaxtra-bot`) and solves the CAPTCHA: Data Center lets its
    /// Basic logins through again. `false` for an unknown name.
    pub fn browser_login(&self, name: &str) -> bool {
        if crate::accounts::by_name(name).is_none() {
            return false;
        }
        lock(&self.app.logins).browser_login(name);
        true
    }

    /// Whether account `name` must solve a CAPTCHA in the browser before
    /// Data Center accepts its Basic logins again.
    pub fn is_captcha_locked(&self, name: &str) -> bool {
        lock(&self.app.logins).is_locked(name)
    }

    /// The fault configuration in force.
    pub fn faults(&self) -> FaultConfig {
        lock(&self.app.faults).config().clone()
    }

    /// Sets the search index lag (see [`SimConfig::search_lag`]) for
    /// creates and updates made from now on; changes already made reach
    /// search when the lag in force when they were made says. `reset`
    /// keeps it.
    pub fn set_search_lag(&self, lag: Duration) {
        lock(&self.app.world).set_search_lag(lag);
    }

    /// The search index lag in force.
    pub fn search_lag(&self) -> Duration {
        lock(&self.app.world).search_lag()
    }

    /// Back to the empty world: no issues, keys from `SEC-1` again, no
    /// framework options, rate-limit buckets full, request counts and the
    /// delivery log cleared, the fault sequence restarted from its seed.
    /// Webhook registrations and the fault configuration stay.
    pub fn reset(&self) {
        self.app.reset();
    }

    /// REST requests served (admin calls not counted).
    pub fn request_count(&self) -> u64 {
        self.app.total.load(Ordering::SeqCst)
    }

    /// REST requests refused with 429 by the rate limiter
    /// ([`crate::SimRateLimit`]); fault storms are not counted. Counted in
    /// [`JiraSim::request_count`] too.
    pub fn rate_limited_count(&self) -> u64 {
        self.app.rate_limited.load(Ordering::SeqCst)
    }

    /// REST requests served by `"METHOD /path"`.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.app.counts).clone()
    }

    /// REST requests by `"METHOD /path"` where Jira counts them against its
    /// quota: after authentication and injected faults, at the rate
    /// limiters (the [`crate::SimRateLimit`] bucket and, on Cloud, the
    /// burst and per-issue limits), admitted and refused (429) apart.
    /// [`JiraSim::request_counts`] counts earlier, as requests arrive.
    pub fn limiter_counts(&self) -> BTreeMap<String, LimiterCount> {
        lock(&self.app.judged).clone()
    }

    /// Stops serving and waits (up to five seconds) for the server to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        self.app.hub.shutdown();
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut server)
                .await
                .is_err()
        {
            server.abort();
        }
    }
}

impl Drop for JiraSim {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if self.server.is_some() {
            self.app.hub.shutdown();
        }
    }
}
