//! A service's configuration: every connection it serves, and the
//! operator's network policy over all of them.
//!
//! ```toml
//! [network]                      # the operator's: applies to every connection
//! allow_loopback = true          # the simulator; never in production
//!
//! [[connections]]
//! id = "acme"                    # a ConnectionId: in store keys and webhook URLs
//! [connections.jira]
//! deployment = "cloud"
//! base_url = "https://acme.atlassian.net"
//! email = "penaxtra-bot@acme.example"
//! credentials = { source = "env", token_env = "ACME_JIRA_TOKEN" }
//! [connections.template]
//! project_key = "SEC"
//!
//! [[connections]]
//! id = "globex"
//! [connections.jira]
//! deployment = "datacenter"
//! base_url = "https://jira.globex.example"
//! credentials = { source = "env", token_env = "GLOBEX_JIRA_PAT" }
//! ```
//!
//! Each `[[connections]]` entry holds what a single-connection file holds
//! (`jira`, `template`, `routes`, `rule`, `states`, `inbound`, `settings`,
//! `service_account`, `webhook`) plus its `id`, and optionally `paused`
//! (the reason) and `revision`; `[network]` stands at the
//! top only, so no connection can relax it. A file without
//! `[[connections]]` is one connection, [`crate::ConnectionId::DEFAULT_TEXT`].

use super::{ConfigError, NetworkConfig, SyncConfig};
use crate::ConnectionId;
use serde::Deserialize;

/// One connection of a [`ServiceConfig`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectionConfig {
    /// The connection's id.
    pub id: ConnectionId,
    /// Its configuration, with the operator's `[network]` applied and its
    /// sealed token bound to `id`.
    pub config: SyncConfig,
    /// Why it is paused (`paused = "…"` in its entry), when it is: the
    /// service keeps its rows and parks its work.
    pub paused: Option<String>,
    /// The host's revision of this connection (`revision = "…"`, e.g. when
    /// its row last changed): a refresh rebuilds a connection whose
    /// revision changed, or that has none.
    pub revision: Option<String>,
}

impl ConnectionConfig {
    /// A connection as a host builds it from its own records.
    pub fn new(id: ConnectionId, config: SyncConfig) -> Self {
        Self {
            id,
            config,
            paused: None,
            revision: None,
        }
    }

    /// Paused, with its reason.
    pub fn paused(mut self, reason: impl Into<String>) -> Self {
        self.paused = Some(reason.into());
        self
    }

    /// With the host's revision.
    pub fn revision(mut self, revision: impl Into<String>) -> Self {
        self.revision = Some(revision.into());
        self
    }
}

/// Every connection a service serves: `[[connections]]` under one
/// `[network]`, or a single-connection file as `default`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// The operator's network policy, applied to every connection.
    pub network: NetworkConfig,
    /// The connections, in the file's order; ids are unique.
    pub connections: Vec<ConnectionConfig>,
}

impl ServiceConfig {
    /// Reads a TOML file's text: several `[[connections]]`, or the whole
    /// file as one connection.
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting (as `connections[<i>].<key>` for
    /// an entry) and the line at fault; never echoing the document.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let value: toml::Table = SyncConfig::from_toml_value(text)?;
        if !value.contains_key("connections") {
            let config = SyncConfig::from_toml(text)?;
            return Ok(Self {
                network: config.network.clone(),
                connections: vec![ConnectionConfig::new(ConnectionId::default(), config)],
            });
        }
        if let Some(key) = value
            .keys()
            .find(|k| !matches!(k.as_str(), "connections" | "network"))
        {
            return Err(ConfigError::invalid(
                key.clone(),
                "with [[connections]], only [network] stands at the top level: move this key into each connection",
            ));
        }
        let network = match value.get("network") {
            Some(n) => NetworkConfig::deserialize(n.clone())
                .map_err(|e| ConfigError::invalid("network", e.message().to_string()))?,
            None => NetworkConfig::default(),
        };
        let Some(toml::Value::Array(entries)) = value.get("connections") else {
            return Err(ConfigError::invalid(
                "connections",
                "must be an array of tables: [[connections]]",
            ));
        };
        if entries.is_empty() {
            return Err(ConfigError::invalid("connections", "lists no connection"));
        }
        let mut connections: Vec<ConnectionConfig> = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let at = |key: &str| format!("connections[{i}].{key}");
            let toml::Value::Table(table) = entry else {
                return Err(ConfigError::invalid(
                    format!("connections[{i}]"),
                    "must be a table",
                ));
            };
            let mut table = table.clone();
            let id = match table.remove("id") {
                Some(toml::Value::String(s)) => ConnectionId::new(&s)
                    .map_err(|e| ConfigError::invalid(at("id"), e.to_string()))?,
                _ => {
                    return Err(ConfigError::invalid(
                        at("id"),
                        "every connection needs an id (a string)",
                    ));
                }
            };
            if connections.iter().any(|c| c.id == id) {
                return Err(ConfigError::invalid(
                    at("id"),
                    format!("connection {id} is listed twice"),
                ));
            }
            let text_of = |table: &mut toml::Table, key: &str| match table.remove(key) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(ConfigError::invalid(at(key), "must be a string")),
            };
            let paused = text_of(&mut table, "paused")?;
            let revision = text_of(&mut table, "revision")?;
            if table.contains_key("network") {
                return Err(ConfigError::invalid(
                    at("network"),
                    "the network policy is the operator's: set [network] at the top level",
                ));
            }
            let mut config = SyncConfig::deserialize(toml::Value::Table(table)).map_err(
                |e: toml::de::Error| {
                    ConfigError::invalid(format!("connections[{i}]"), e.message().to_string())
                },
            )?;
            config.jira = config
                .jira
                .with_network(network.clone())
                .with_connection(&id);
            config.network = network.clone();
            connections.push(ConnectionConfig {
                id,
                config,
                paused,
                revision,
            });
        }
        Ok(Self {
            network,
            connections,
        })
    }

    /// Reads a TOML file.
    ///
    /// # Errors
    /// [`ConfigError`] when the file cannot be read or a setting is wrong.
    pub fn from_toml_file(path: &std::path::Path) -> Result<Self, ConfigError> {
        super::read_toml_file(path, Self::from_toml)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"
[network]
allow_loopback = true

[[connections]]
id = "acme"
[connections.jira]
deployment = "cloud"
base_url = "http://127.0.0.1:8080"
email = "bot@acme.example"
credentials = { source = "env", token_env = "PATH" }
[connections.template]
project_key = "SEC"

[[connections]]
id = "globex"
inbound = "all"
[connections.jira]
deployment = "datacenter"
base_url = "http://127.0.0.1:8081"
credentials = { source = "env", token_env = "PATH" }
[connections.template]
project_key = "OPS"
"#;

    #[test]
    fn a_file_lists_several_connections_under_one_network_policy() {
        let s = ServiceConfig::from_toml(TWO).unwrap();
        assert!(s.network.allow_loopback);
        let ids: Vec<&str> = s.connections.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["acme", "globex"]);
        for c in &s.connections {
            assert!(c.config.network.allow_loopback);
            assert!(c.config.jira.client().is_ok(), "{}", c.id);
        }
        assert_eq!(s.connections[1].config.mapping.template.project_key, "OPS");
    }

    #[test]
    fn a_single_connection_file_is_the_default_connection() {
        let one = "[network]\nallow_loopback = true\n[jira]\ndeployment = \"datacenter\"\nbase_url = \"http://127.0.0.1:1\"\ncredentials = { source = \"env\", token_env = \"PATH\" }\n";
        let s = ServiceConfig::from_toml(one).unwrap();
        assert_eq!(s.connections.len(), 1);
        assert_eq!(s.connections[0].id, ConnectionId::default());
        assert!(s.network.allow_loopback);
    }

    #[test]
    fn mistakes_name_the_connection_and_key() {
        let cases = [
            (
                TWO.replace("id = \"globex\"", "id = \"acme\""),
                "connections[1].id",
            ),
            (
                TWO.replace("id = \"globex\"", "id = \"a/b\""),
                "connections[1].id",
            ),
            (TWO.replace("id = \"globex\"\n", ""), "connections[1].id"),
            (
                TWO.replace(
                    "id = \"globex\"\n",
                    "id = \"globex\"\nnetwork = { allow_loopback = true }\n",
                ),
                "connections[1].network",
            ),
            (format!("inbound = \"all\"\n{TWO}"), "inbound"),
            (
                TWO.replace("inbound = \"all\"", "inbound = \"sometimes\""),
                "connections[1]",
            ),
        ];
        for (text, setting) in cases {
            let e = ServiceConfig::from_toml(&text).unwrap_err();
            assert_eq!(e.setting(), setting, "{e}");
        }
    }
}
