//! `jira_sim`: skeleton; filled by its issue. Nothing here works yet.
