//! `penaxtra_jira_sync`: skeleton; filled by its issue. Nothing here works yet.
