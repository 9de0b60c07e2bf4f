//! "Test connection": every step of a real round trip, each reported with
//! its outcome, error code, fix and duration.

use crate::engine::JiraSync;
use crate::error::SyncError;
use crate::marks::{CONNECTION_TEST_LABEL, CONNECTION_TEST_SUMMARY, round_trip_mark};
use crate::settings::ReceiverUrl;
use jira_model::{CreateIssueRequest, Description, IssueKey, adf};
use penaxtra_mapping::FindingState;
use std::time::{Duration, Instant};

/// How often the round-trip step looks for the webhook's arrival.
const ROUND_TRIP_POLL: Duration = Duration::from_millis(200);

/// One step of the test.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TestStep {
    /// Step name: `who_am_i`, `project`, `issue_type`, `custom_fields`,
    /// `create_issue`, `close_issue`, and `webhook_round_trip` when
    /// [`crate::SyncSettings::webhook_receiver_url`] is set.
    pub name: &'static str,
    /// What was found, on success (e.g. the account, the issue key).
    pub detail: String,
    /// The error, on failure.
    pub error: Option<SyncError>,
    /// How long it took.
    pub duration: Duration,
}

impl TestStep {
    /// Whether the step passed.
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// The whole test.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ConnectionReport {
    /// Steps in the order run. A step that could not run because an earlier
    /// one failed is absent.
    pub steps: Vec<TestStep>,
    /// The synthetic issue, when it was created.
    pub synthetic_issue: Option<String>,
    /// The kind of credentials that worked (set once `who_am_i` passed):
    /// `api_token`, `scoped_token`, `oauth_client_credentials`, `pat`.
    pub credential_kind: Option<jira_client::CredentialKind>,
    /// Where the REST calls went once `who_am_i` passed: the site URL, or
    /// `https://api.atlassian.com/ex/jira/{cloudId}` through the gateway.
    pub api_url: Option<String>,
    /// How many steps a passing test runs.
    expected_steps: usize,
}

impl ConnectionReport {
    /// Whether every step ran and passed.
    pub fn passed(&self) -> bool {
        !self.steps.is_empty()
            && self.steps.iter().all(TestStep::ok)
            && self.steps.len() == self.expected_steps
    }
}

struct Recorder {
    report: ConnectionReport,
}

impl Recorder {
    async fn step<T, F>(&mut self, name: &'static str, f: F) -> Option<T>
    where
        F: std::future::Future<Output = Result<(T, String), SyncError>>,
    {
        let started = Instant::now();
        let result = f.await;
        let duration = started.elapsed();
        match result {
            Ok((value, detail)) => {
                tracing::info!(step = name, ?duration, "connection test step passed");
                self.report.steps.push(TestStep {
                    name,
                    detail,
                    error: None,
                    duration,
                });
                Some(value)
            }
            Err(error) => {
                tracing::warn!(
                    step = name,
                    code = error.code(),
                    "connection test step failed"
                );
                self.report.steps.push(TestStep {
                    name,
                    detail: String::new(),
                    error: Some(error),
                    duration,
                });
                None
            }
        }
    }
}

impl JiraSync {
    /// Tests the connection: who am I → project → issue type → configured
    /// custom fields exist and are on the create screen → create a synthetic
    /// `[Penaxtra] Connection test` issue → move it to the status of
    /// `resolved` with its resolution → when a
    /// [receiver URL](crate::SyncSettings::webhook_receiver_url) is set, wait
    /// (up to [`crate::SyncSettings::webhook_round_trip_wait`]) until the
    /// webhook receiver, which must share this engine's store, has seen the
    /// synthetic issue's webhook. Stops at the first failing step, but a
    /// synthetic issue that was created is always closed where Jira allows.
    pub async fn test_connection(&self) -> ConnectionReport {
        let receiver = self.core().settings.webhook_receiver_url.clone();
        let mut r = Recorder {
            report: ConnectionReport {
                expected_steps: 6 + usize::from(receiver.is_some()),
                ..ConnectionReport::default()
            },
        };
        let client = &self.core().client;
        let template = &self.template();

        let who = r
            .step("who_am_i", async {
                let me = client.myself().await?;
                let name = me
                    .display_name
                    .clone()
                    .or(me.email_address.clone())
                    .unwrap_or_default();
                let kind = client.credential_kind();
                let url = client
                    .api_base_url()
                    .as_str()
                    .trim_end_matches('/')
                    .to_string();
                Ok((
                    (kind, url.clone()),
                    format!(
                        "{} ({}) with {} at {}",
                        name,
                        me.identity().unwrap_or("unknown id"),
                        kind,
                        url
                    ),
                ))
            })
            .await;
        let Some((kind, url)) = who else {
            return r.report;
        };
        r.report.credential_kind = Some(kind);
        r.report.api_url = Some(url);
        let Some(project) = r
            .step("project", async {
                let p = client.project(template.project_key()).await?;
                let detail = format!("{} {}", p.key, p.name);
                Ok((p, detail))
            })
            .await
        else {
            return r.report;
        };
        let Some(issue_type) = r
            .step("issue_type", async {
                let types = client.issue_types(&project.key).await?;
                let wanted = template.issue_type();
                match types
                    .into_iter()
                    .find(|t| t.name.eq_ignore_ascii_case(wanted) || t.id == wanted)
                {
                    Some(t) => {
                        let detail = format!("{} (id {})", t.name, t.id);
                        Ok((t, detail))
                    }
                    None => Err(SyncError::Config(crate::config::ConfigError::invalid(
                        "project.issue_type",
                        format!("project {} has no issue type {wanted:?}", project.key),
                    ))),
                }
            })
            .await
        else {
            return r.report;
        };
        let fields_ok = r
            .step("custom_fields", async {
                let wanted: Vec<String> = template.custom_field_ids().into_iter().map(|f| f.to_string()).collect();
                if wanted.is_empty() {
                    return Ok(((), "no custom fields configured".to_string()));
                }
                let all = client.fields().await?;
                let meta = client.create_meta_fields(&project.key, &issue_type.id).await?;
                for id in &wanted {
                    if !all.iter().any(|f| &f.id == id) {
                        return Err(SyncError::Config(crate::config::ConfigError::invalid(
                            "fields",
                            format!("custom field {id} does not exist in this Jira (customfield_unknown): re-pick the field"),
                        )));
                    }
                    if !meta.has_field(id) {
                        return Err(SyncError::Config(crate::config::ConfigError::invalid(
                            "fields",
                            format!(
                                "custom field {id} is not on the create screen of {} / {} (customfield_unknown): \
                                 add it to the screen or re-pick the field",
                                project.key, issue_type.name
                            ),
                        )));
                    }
                }
                Ok(((), wanted.join(", ")))
            })
            .await;
        if fields_ok.is_none() {
            return r.report;
        }
        let Some(created) = r
            .step("create_issue", async {
                let description = match client.flavor() {
                    jira_model::Flavor::Cloud => Description::Adf(adf::Document::new(vec![adf::Block::Paragraph {
                        content: vec![adf::Inline::Text {
                            text: "Synthetic issue created by the Penaxtra integration's connection test; it is closed at once."
                                .into(),
                            marks: vec![],
                        }],
                    }])),
                    jira_model::Flavor::DataCenter => Description::Wiki(
                        "Synthetic issue created by the Penaxtra integration's connection test; it is closed at once.".into(),
                    ),
                };
                let request = CreateIssueRequest::builder(project.key.clone(), issue_type.name.clone(), CONNECTION_TEST_SUMMARY)
                    .description(description)
                    .labels(["penaxtra", CONNECTION_TEST_LABEL])
                    .build();
                let c = client.create_issue(&request).await?;
                let key = c.key.clone();
                Ok((c, key))
            })
            .await
        else {
            return r.report;
        };
        r.report.synthetic_issue = Some(created.key.clone());
        r.step("close_issue", async {
            let target = self.states().to_jira(FindingState::Resolved);
            let issue = client.get_issue(&created.key, &["status"]).await?;
            let start = issue.fields.status.map(|s| s.name).unwrap_or_default();
            let (to, via) = self
                .state_out()
                .walk_to(&created.key, &start, &target, None)
                .await?;
            Ok(((), format!("{} → {} via {}", start, to, via.join(" → "))))
        })
        .await;
        if let Some(receiver) = receiver {
            let wait = self.core().settings.webhook_round_trip_wait;
            r.step(
                "webhook_round_trip",
                self.await_round_trip(&created.id, &created.key, receiver, wait),
            )
            .await;
        }
        r.report
    }

    /// Waits until the receiver has recorded a webhook of the synthetic
    /// issue (see [`CONNECTION_TEST_LABEL`]).
    async fn await_round_trip(
        &self,
        issue_id: &str,
        key: &str,
        receiver: ReceiverUrl,
        wait: Duration,
    ) -> Result<((), String), SyncError> {
        let key = IssueKey::new(key)?;
        let mark = round_trip_mark(issue_id, &key);
        let started = tokio::time::Instant::now();
        loop {
            if self.core().store.delivery_seen(&mark).await? {
                return Ok((
                    (),
                    format!("the receiver at {receiver} recorded {key}'s webhook"),
                ));
            }
            let waited = started.elapsed();
            if waited >= wait {
                return Err(SyncError::WebhookNotReceived {
                    issue: key.to_string(),
                    receiver: receiver.to_string(),
                    waited: wait,
                });
            }
            tokio::time::sleep(ROUND_TRIP_POLL.min(wait - waited)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receiver_url_never_shows_its_secret_path() {
        let url =
            ReceiverUrl::parse("https://hooks.example.com:8443/jira/webhook/s3cr3t-value?x=1")
                .unwrap();
        assert_eq!(url.to_string(), "https://hooks.example.com:8443/…");
        assert_eq!(
            format!("{url:?}"),
            "ReceiverUrl(https://hooks.example.com:8443/…)"
        );
        assert!(url.expose().as_str().contains("s3cr3t-value"));
    }

    #[test]
    fn a_receiver_url_must_be_http_with_a_host() {
        for bad in [
            "not a url",
            "ftp://hooks.example.com/x",
            "file:///etc/passwd",
            "",
        ] {
            let error = ReceiverUrl::parse(bad).unwrap_err();
            assert_eq!(error.setting(), "settings.webhook_receiver_url");
        }
        let config = crate::config::SettingsConfig {
            webhook_receiver_url: Some("http://127.0.0.1:9/hooks/abc".into()),
            webhook_round_trip_wait: Some("5s".into()),
            ..Default::default()
        };
        let settings = config.to_settings().unwrap();
        assert_eq!(settings.webhook_round_trip_wait, Duration::from_secs(5));
        assert_eq!(
            settings.webhook_receiver_url.unwrap().to_string(),
            "http://127.0.0.1:9/…"
        );
    }
}
