//! What the create screens of the targets hold, read from Jira's create
//! metadata and kept a while: whether `duedate` is on the screen, and the
//! priorities the project's scheme allows.

use jira_client::{Error, JiraClient};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How long a screen read is trusted before it is read again (ten
/// minutes): a field an administrator adds to a screen is used from then on.
pub(crate) const SCREEN_TTL_MS: i64 = 10 * 60 * 1000;

/// One create screen: of a project and an issue type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Screen {
    /// Whether `duedate` is on it.
    pub(crate) due_date: bool,
    /// Whether `priority` is on it.
    pub(crate) priority: bool,
    /// The priority names it allows (empty when Jira lists none).
    pub(crate) priorities: Vec<String>,
}

/// Screens by (project, issue type), each with when it was read (ms).
type ReadScreens = HashMap<(String, String), (i64, Arc<Screen>)>;

/// Screens read so far.
#[derive(Debug, Default)]
pub(crate) struct Screens {
    read: Mutex<ReadScreens>,
}

impl Screens {
    /// The screen of a project's issue type, read from Jira when not read
    /// in the last [`SCREEN_TTL_MS`].
    pub(crate) async fn get(
        &self,
        client: &JiraClient,
        project: &str,
        issue_type: &str,
        now_ms: i64,
    ) -> Result<Arc<Screen>, Error> {
        let key = (project.to_ascii_uppercase(), issue_type.to_string());
        if let Some((at, screen)) = self.lock().get(&key)
            && now_ms.saturating_sub(*at) < SCREEN_TTL_MS
        {
            return Ok(Arc::clone(screen));
        }
        let types = client.issue_types(project).await?;
        let screen = match types
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(issue_type))
        {
            // An issue type the project lacks: the create names it.
            None => Screen {
                due_date: false,
                priority: true,
                priorities: Vec::new(),
            },
            Some(t) => {
                let meta = client.create_meta_fields(project, &t.id).await?;
                let priority = meta.fields.iter().find(|f| f.field_id == "priority");
                Screen {
                    due_date: meta.fields.iter().any(|f| f.field_id == "duedate"),
                    priority: priority.is_some(),
                    priorities: priority
                        .map(|f| {
                            f.allowed_values
                                .iter()
                                .filter_map(|v| v.get("name").and_then(|n| n.as_str()))
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            }
        };
        let screen = Arc::new(screen);
        self.lock().insert(key, (now_ms, Arc::clone(&screen)));
        Ok(screen)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReadScreens> {
        self.read
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
