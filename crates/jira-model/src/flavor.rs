use serde::{Deserialize, Serialize};

/// Which Jira deployment a payload is for. It decides the REST API version
/// and the rich-text format of descriptions and comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    /// Jira Cloud: REST v3, descriptions in Atlassian Document Format.
    Cloud,
    /// Jira Data Center (and Server): REST v2, descriptions in wiki markup.
    #[serde(alias = "data_center", alias = "data-center", alias = "dc")]
    DataCenter,
}

impl Flavor {
    /// The REST API version this flavor speaks: `"3"` or `"2"`.
    pub fn api_version(self) -> &'static str {
        match self {
            Flavor::Cloud => "3",
            Flavor::DataCenter => "2",
        }
    }
}

impl std::fmt::Display for Flavor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Flavor::Cloud => "cloud",
            Flavor::DataCenter => "datacenter",
        })
    }
}

impl std::str::FromStr for Flavor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cloud" => Ok(Flavor::Cloud),
            "datacenter" | "data-center" | "data_center" | "dc" | "server" => {
                Ok(Flavor::DataCenter)
            }
            other => Err(format!(
                "unknown Jira flavor {other:?}: expected cloud or datacenter"
            )),
        }
    }
}
