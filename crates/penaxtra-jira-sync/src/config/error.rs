//! [`ConfigError`]: an invalid setting, named. The bottom of the crate:
//! every floor may refuse a setting.

/// An invalid setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting `{setting}`: {message}")]
pub struct ConfigError {
    setting: String,
    message: String,
}

impl ConfigError {
    /// An error about `setting` (a dotted path such as `jira.base_url`).
    pub fn invalid(setting: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            setting: setting.into(),
            message: message.into(),
        }
    }
    /// The setting at fault.
    pub fn setting(&self) -> &str {
        &self.setting
    }

    /// What is wrong with it.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error about a setting of connection `id`
    /// (`connections[<id>].<setting>`).
    pub fn in_connection(self, id: &crate::ConnectionId) -> Self {
        Self {
            setting: format!("connections[{id}].{}", self.setting),
            message: self.message,
        }
    }
}
