//! Connection flags shared by the `connect` and `sync` examples.

use clap::Args;
use jira_client::{ApiTokenAuth, JiraClient, PatAuth, RequestBudget};
use jira_model::Flavor;
use penaxtra_mapping::{FrameworksField, FrameworksFieldKind, IssueTemplate, TemplateConfig};
use secrecy::SecretString;
use std::sync::Arc;

/// How to reach a Jira. The token never goes on the command line: Cloud
/// reads `JIRA_API_TOKEN`, Data Center reads `JIRA_PAT`.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Jira base URL, e.g. https://acme.atlassian.net (http only for loopback).
    #[arg(long)]
    pub url: String,
    /// cloud or datacenter.
    #[arg(long, default_value = "cloud")]
    pub flavor: Flavor,
    /// Service account e-mail (Cloud); the token comes from JIRA_API_TOKEN.
    #[arg(long)]
    pub email: Option<String>,
    /// Project key.
    #[arg(long, default_value = "SEC")]
    pub project: String,
    /// Issue type name.
    #[arg(long, default_value = "Bug")]
    pub issue_type: String,
    /// Custom field holding the finding id (e.g. customfield_10031); "none" to leave out.
    #[arg(long, default_value = "customfield_10031")]
    pub finding_id_field: String,
    /// Custom field holding the framework references (e.g. customfield_10032); "none" to leave out.
    #[arg(long, default_value = "customfield_10032")]
    pub frameworks_field: String,
    /// multi_select or labels.
    #[arg(long, default_value = "multi_select")]
    pub frameworks_kind: String,
}

impl ConnectionArgs {
    /// The client these flags describe; with `budget`, every request also
    /// waits for its slot in a budget shared with other processes.
    pub fn client(
        &self,
        budget: Option<Arc<dyn RequestBudget>>,
    ) -> Result<JiraClient, Box<dyn std::error::Error>> {
        let token = |var: &str| -> Result<SecretString, Box<dyn std::error::Error>> {
            match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Ok(SecretString::from(v.trim().to_string())),
                _ => Err(
                    format!("set {var} to the token (it is never taken on the command line)")
                        .into(),
                ),
            }
        };
        let builder = match self.flavor {
            Flavor::Cloud => {
                let email = self
                    .email
                    .clone()
                    .ok_or("--email (the service account's e-mail) is required for Jira Cloud")?;
                JiraClient::builder(
                    &self.url,
                    self.flavor,
                    ApiTokenAuth::new(email, token("JIRA_API_TOKEN")?),
                )
            }
            Flavor::DataCenter => {
                JiraClient::builder(&self.url, self.flavor, PatAuth::new(token("JIRA_PAT")?))
            }
        };
        let builder = match budget {
            Some(budget) => builder.shared_budget(budget),
            None => builder,
        };
        Ok(builder.build()?)
    }

    /// The issue template these flags describe.
    pub fn template(&self) -> Result<IssueTemplate, Box<dyn std::error::Error>> {
        let field = |s: &str| -> Result<Option<String>, Box<dyn std::error::Error>> {
            if s.eq_ignore_ascii_case("none") {
                Ok(None)
            } else {
                Ok(Some(jira_model::FieldId::new(s)?.to_string()))
            }
        };
        let kind = match self.frameworks_kind.as_str() {
            "multi_select" | "multiselect" => FrameworksFieldKind::MultiSelect,
            "labels" => FrameworksFieldKind::Labels,
            other => {
                return Err(format!(
                    "--frameworks-kind {other:?}: expected multi_select or labels"
                )
                .into());
            }
        };
        let mut config = TemplateConfig::default();
        config.project_key = self.project.clone();
        config.issue_type = self.issue_type.clone();
        config.finding_id_field = field(&self.finding_id_field)?;
        config.frameworks_field =
            field(&self.frameworks_field)?.map(|id| FrameworksField::new(id, kind));
        Ok(IssueTemplate::new(config)?)
    }
}
