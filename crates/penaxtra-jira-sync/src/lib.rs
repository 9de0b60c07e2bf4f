//! `penaxtra_jira_sync`: the facade a Penaxtra service embeds. Being filled
//! by issues 5 and 6; modules below are documented as they land.

pub mod webhook;
