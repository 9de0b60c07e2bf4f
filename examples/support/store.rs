//! `--store` of the `sync` and `webhook_receiver` examples: a SQLite file
//! path, or a Postgres connection string (`postgres://…`).

use penaxtra_jira_sync::ConnectionId;
use penaxtra_jira_sync::store::{
    PostgresConfig, PostgresStore, RateBudgetStore, SqliteStore, SyncStore,
};
use std::sync::Arc;

/// One connection's handle of the store, as the sync store and as the
/// keeper of the shared budget.
pub struct OpenStore {
    pub sync: Arc<dyn SyncStore>,
    // Unused by the webhook receiver, which sends nothing to Jira.
    #[allow(dead_code)]
    pub budget: Arc<dyn RateBudgetStore>,
}

/// Opens `--store`: `postgres://…` or `postgresql://…` connects to that
/// database (schema from `PX_PG_SCHEMA`, default `penaxtra_jira`, created
/// when missing); anything else is a SQLite file (created when missing).
/// Errors name the host and database, never a password. The handle serves
/// `connection` only.
pub async fn open(
    arg: &str,
    connection: &ConnectionId,
) -> Result<OpenStore, Box<dyn std::error::Error>> {
    if arg.starts_with("postgres://") || arg.starts_with("postgresql://") {
        let mut config = PostgresConfig::new(arg.to_string());
        if let Ok(schema) = std::env::var("PX_PG_SCHEMA") {
            config = config.schema(schema);
        }
        let store = Arc::new(
            PostgresStore::connect(config)
                .await?
                .for_connection(connection.clone()),
        );
        Ok(OpenStore {
            sync: store.clone(),
            budget: store,
        })
    } else {
        let store = Arc::new(SqliteStore::open(arg)?.for_connection(connection.clone()));
        Ok(OpenStore {
            sync: store.clone(),
            budget: store,
        })
    }
}
