//! Inbound Jira webhooks: the gate that verifies them, and their processing.
