//! `jira_client`: skeleton; filled by its issue. Nothing here works yet.
