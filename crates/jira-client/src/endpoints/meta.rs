//! Who am I, server info, projects, issue types, create screens, fields.

use crate::client::Effect;
use crate::{Error, JiraClient};
use jira_model::{
    CreateMetaField, CreateMetaPage, FieldDefinition, IssueType, IssueTypesPage, Project,
    ServerInfo, User,
};
use reqwest::Method;

/// Page size asked for the paginated create-meta endpoints.
const META_PAGE: u64 = 50;
/// Most pages read from one paginated create-meta listing.
const MAX_META_PAGES: usize = 200;

impl JiraClient {
    /// `GET /myself`: the account the credentials belong to.
    ///
    /// # Errors
    /// Any [`Error`]; `unauthorized` when the credentials are rejected.
    pub async fn myself(&self) -> Result<User, Error> {
        let r = self.request(Method::GET, &["myself"], &[], Effect::Idempotent, None)?;
        self.fetch(r).await
    }

    /// `GET /serverInfo`.
    ///
    /// # Errors
    /// Any [`Error`].
    pub async fn server_info(&self) -> Result<ServerInfo, Error> {
        let r = self.request(Method::GET, &["serverInfo"], &[], Effect::Idempotent, None)?;
        self.fetch(r).await
    }

    /// `GET /project/{key}`: a project by key (or id), with its issue types.
    ///
    /// # Errors
    /// `invalid_input` for a malformed key; `not_found` when the project does
    /// not exist or is invisible to the account; any other [`Error`].
    pub async fn project(&self, key: &str) -> Result<Project, Error> {
        let key = self.id("project key", key)?;
        let r = self.request(
            Method::GET,
            &["project", key],
            &[],
            Effect::Idempotent,
            None,
        )?;
        self.fetch(r).await
    }

    /// `GET /issue/createmeta/{project}/issuetypes`, every page: the issue
    /// types the account may create in the project.
    ///
    /// # Errors
    /// `invalid_input` for a malformed key; any other [`Error`].
    pub async fn issue_types(&self, project: &str) -> Result<Vec<IssueType>, Error> {
        let project = self.id("project key", project)?;
        let mut out = Vec::new();
        for _ in 0..MAX_META_PAGES {
            let start = out.len().to_string();
            let page_size = META_PAGE.to_string();
            let r = self.request(
                Method::GET,
                &["issue", "createmeta", project, "issuetypes"],
                &[
                    ("startAt", start.as_str()),
                    ("maxResults", page_size.as_str()),
                ],
                Effect::Idempotent,
                None,
            )?;
            let page: IssueTypesPage = self.fetch(r).await?;
            let got = page.issue_types.len();
            out.extend(page.issue_types);
            if got == 0 || out.len() as u64 >= page.total {
                break;
            }
        }
        Ok(out)
    }

    /// `GET /issue/createmeta/{project}/issuetypes/{id}`, every page: the
    /// fields on the create screen of an issue type, merged into one page.
    ///
    /// # Errors
    /// `invalid_input` for a malformed key or id; any other [`Error`].
    pub async fn create_meta_fields(
        &self,
        project: &str,
        issue_type_id: &str,
    ) -> Result<CreateMetaPage, Error> {
        let project = self.id("project key", project)?;
        let issue_type_id = self.id("issue type id", issue_type_id)?;
        let mut fields: Vec<CreateMetaField> = Vec::new();
        for _ in 0..MAX_META_PAGES {
            let start = fields.len().to_string();
            let page_size = META_PAGE.to_string();
            let r = self.request(
                Method::GET,
                &["issue", "createmeta", project, "issuetypes", issue_type_id],
                &[
                    ("startAt", start.as_str()),
                    ("maxResults", page_size.as_str()),
                ],
                Effect::Idempotent,
                None,
            )?;
            let page: CreateMetaPage = self.fetch(r).await?;
            let got = page.fields.len();
            fields.extend(page.fields);
            if got == 0 || fields.len() as u64 >= page.total {
                break;
            }
        }
        Ok(CreateMetaPage::new(fields))
    }

    /// `GET /field`: every system and custom field.
    ///
    /// # Errors
    /// Any [`Error`].
    pub async fn fields(&self) -> Result<Vec<FieldDefinition>, Error> {
        let r = self.request(Method::GET, &["field"], &[], Effect::Idempotent, None)?;
        self.fetch(r).await
    }
}
