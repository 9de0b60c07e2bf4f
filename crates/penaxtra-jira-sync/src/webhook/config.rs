//! The gate's configuration: limits, allowlist, proxies and secrets.

use super::allowlist::parse_networks;
use super::secret::validate_secrets;
use super::{GateConfigError, IpAllowlist, SecretKind};
use ipnet::IpNet;
use secrecy::SecretString;
use serde::Deserialize;
use std::fmt;

/// What the [`WebhookGate`](super::WebhookGate) checks.
///
/// Build it with [`WebhookGateConfig::builder`] or deserialise it; both
/// validate. `Debug` shows how many secrets there are, never a secret.
///
/// Deserialised form (TOML shown; unknown keys are refused so a misspelt
/// `hmac_secrets` cannot silently switch signing off):
///
/// ```toml
/// max_body_bytes = 1048576                 # optional, default 1 MiB
/// allowlist = ["104.192.136.0/21", "2401:1d80:3000::/36"]   # or "any"
/// trusted_proxies = ["10.0.0.0/8"]         # optional
/// url_secrets = ["<new>", "<old>"]         # 1 or 2
/// hmac_secrets = ["<signing secret>"]      # 1 or 2: deliveries are signed by default
/// # unsigned = true                        # only for a Jira that cannot sign; never with "any"
/// ```
#[derive(Clone, Deserialize)]
#[serde(try_from = "RawConfig")]
#[non_exhaustive]
pub struct WebhookGateConfig {
    /// The largest body accepted, in bytes (default 1 MiB). Also cap the
    /// body while reading it in your server framework.
    pub max_body_bytes: usize,
    /// Where deliveries may come from.
    pub allowlist: IpAllowlist,
    /// Proxies whose `X-Forwarded-For` is believed; a request from one of
    /// them without a client address in that header is refused.
    pub trusted_proxies: Vec<IpNet>,
    /// The valid URL secrets: 1, or 2 while rotating.
    pub url_secrets: Vec<SecretString>,
    /// The valid `X-Hub-Signature` signing secrets: 1, or 2 while
    /// rotating. Required unless [`WebhookGateConfig::unsigned`].
    pub hmac_secrets: Vec<SecretString>,
    /// The operator's choice to accept unsigned deliveries, for a Jira
    /// that cannot sign (older Data Center): only the URL secret and the
    /// allowlist then stand between the internet and a finding's state, so
    /// it is refused with an allowlist of `any` (default `false`).
    pub unsigned: bool,
}

impl WebhookGateConfig {
    /// The default body size limit: 1 MiB.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

    /// A builder with the two required values: where deliveries may come
    /// from, and the secret the webhook URL carries.
    pub fn builder(allowlist: IpAllowlist, url_secret: SecretString) -> WebhookGateConfigBuilder {
        WebhookGateConfigBuilder {
            config: Self {
                max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
                allowlist,
                trusted_proxies: Vec::new(),
                url_secrets: vec![url_secret],
                hmac_secrets: Vec::new(),
                unsigned: false,
            },
        }
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// [`GateConfigError::NoUrlSecret`], [`GateConfigError::TooManySecrets`],
    /// [`GateConfigError::WeakSecret`], [`GateConfigError::OversizedSecret`],
    /// [`GateConfigError::MalformedSecret`],
    /// [`GateConfigError::ZeroBodyLimit`]; without a signing secret
    /// [`GateConfigError::NoSigningSecret`] unless unsigned, which is
    /// refused with signing secrets
    /// ([`GateConfigError::UnsignedWithSigningSecret`]) or an allowlist of
    /// `any` ([`GateConfigError::UnsignedFromAnywhere`]).
    pub fn validate(&self) -> Result<(), GateConfigError> {
        if self.max_body_bytes == 0 {
            return Err(GateConfigError::ZeroBodyLimit);
        }
        if self.url_secrets.is_empty() {
            return Err(GateConfigError::NoUrlSecret);
        }
        validate_secrets(SecretKind::Url, &self.url_secrets)?;
        validate_secrets(SecretKind::Hmac, &self.hmac_secrets)?;
        match (self.unsigned, self.hmac_secrets.is_empty()) {
            (false, true) => Err(GateConfigError::NoSigningSecret),
            (true, false) => Err(GateConfigError::UnsignedWithSigningSecret),
            (true, true) if self.allowlist.allows_any() => {
                Err(GateConfigError::UnsignedFromAnywhere)
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for WebhookGateConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookGateConfig")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("allowlist", &self.allowlist)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("url_secrets", &Redacted(self.url_secrets.len()))
            .field("hmac_secrets", &Redacted(self.hmac_secrets.len()))
            .field("unsigned", &self.unsigned)
            .finish()
    }
}

/// Shows how many secrets there are and nothing else.
pub(super) struct Redacted(pub(super) usize);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} redacted]", self.0)
    }
}

/// Builds a [`WebhookGateConfig`].
#[derive(Clone)]
pub struct WebhookGateConfigBuilder {
    config: WebhookGateConfig,
}

impl WebhookGateConfigBuilder {
    /// Adds a second valid URL secret (rotation: the old one until Jira uses
    /// the new URL).
    #[must_use]
    pub fn url_secret(mut self, secret: SecretString) -> Self {
        self.config.url_secrets.push(secret);
        self
    }

    /// Adds a signing secret: from then on `X-Hub-Signature` is required.
    /// Call twice while rotating.
    #[must_use]
    pub fn hmac_secret(mut self, secret: SecretString) -> Self {
        self.config.hmac_secrets.push(secret);
        self
    }

    /// Accepts unsigned deliveries, for a Jira that cannot sign (older
    /// Data Center; Jira Cloud and current Data Center sign when the
    /// webhook has a secret). Refused with an allowlist of `any` and with
    /// signing secrets set.
    #[must_use]
    pub fn unsigned(mut self) -> Self {
        self.config.unsigned = true;
        self
    }

    /// Adds a proxy whose `X-Forwarded-For` is believed (default: none; the
    /// peer address is the source). A request from a trusted proxy must
    /// carry `X-Forwarded-For` naming a client that is not itself a trusted
    /// proxy, or it is refused ([`super::RejectReason::NoClientAddress`]):
    /// list proxies here, not senders.
    #[must_use]
    pub fn trusted_proxy(mut self, network: IpNet) -> Self {
        self.config.trusted_proxies.push(network);
        self
    }

    /// Sets the body size limit in bytes (default
    /// [`WebhookGateConfig::DEFAULT_MAX_BODY_BYTES`], 1 MiB).
    #[must_use]
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.config.max_body_bytes = limit;
        self
    }

    /// The checked configuration.
    ///
    /// # Errors
    /// As [`WebhookGateConfig::validate`].
    pub fn build(self) -> Result<WebhookGateConfig, GateConfigError> {
        self.config.validate()?;
        Ok(self.config)
    }
}

impl fmt::Debug for WebhookGateConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WebhookGateConfigBuilder")
            .field(&self.config)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default = "default_max_body_bytes")]
    max_body_bytes: usize,
    allowlist: IpAllowlist,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    url_secrets: Vec<SecretString>,
    #[serde(default)]
    hmac_secrets: Vec<SecretString>,
    #[serde(default)]
    unsigned: bool,
}

fn default_max_body_bytes() -> usize {
    WebhookGateConfig::DEFAULT_MAX_BODY_BYTES
}

impl TryFrom<RawConfig> for WebhookGateConfig {
    type Error = GateConfigError;

    fn try_from(raw: RawConfig) -> Result<Self, Self::Error> {
        let config = Self {
            max_body_bytes: raw.max_body_bytes,
            allowlist: raw.allowlist,
            trusted_proxies: parse_networks("trusted_proxies", &raw.trusted_proxies)?,
            url_secrets: raw.url_secrets,
            hmac_secrets: raw.hmac_secrets,
            unsigned: raw.unsigned,
        };
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow() -> IpAllowlist {
        IpAllowlist::from_cidrs(["192.0.2.0/24"]).unwrap()
    }

    #[test]
    fn builder_defaults_and_checks() {
        let c = WebhookGateConfig::builder(allow(), "url-secret-0000001".into())
            .hmac_secret("hmac-secret-000001".into())
            .build()
            .unwrap();
        assert_eq!(c.max_body_bytes, 1_048_576);
        assert!(!c.unsigned && c.trusted_proxies.is_empty());
        // Signed by default: no signing secret is an error, unless the
        // operator says the Jira cannot sign, and never from anywhere.
        assert!(matches!(
            WebhookGateConfig::builder(allow(), "url-secret-0000001".into()).build(),
            Err(GateConfigError::NoSigningSecret)
        ));
        let unsigned = WebhookGateConfig::builder(allow(), "url-secret-0000001".into())
            .unsigned()
            .build()
            .unwrap();
        assert!(unsigned.unsigned && unsigned.hmac_secrets.is_empty());
        assert!(matches!(
            WebhookGateConfig::builder(IpAllowlist::allow_any(), "url-secret-0000001".into())
                .unsigned()
                .build(),
            Err(GateConfigError::UnsignedFromAnywhere)
        ));
        assert!(matches!(
            WebhookGateConfig::builder(allow(), "url-secret-0000001".into())
                .hmac_secret("hmac-secret-000001".into())
                .unsigned()
                .build(),
            Err(GateConfigError::UnsignedWithSigningSecret)
        ));
        assert!(matches!(
            WebhookGateConfig::builder(allow(), "url-secret-0000001".into())
                .max_body_bytes(0)
                .build(),
            Err(GateConfigError::ZeroBodyLimit)
        ));
        assert!(matches!(
            WebhookGateConfig::builder(allow(), "short".into()).build(),
            Err(GateConfigError::WeakSecret {
                kind: SecretKind::Url,
                ..
            })
        ));
    }

    #[test]
    fn deserialises_and_validates() {
        let c: WebhookGateConfig = serde_json::from_str(
            r#"{"allowlist":["192.0.2.0/24"],"trusted_proxies":["10.0.0.1"],
                "url_secrets":["url-secret-0000001"],"hmac_secrets":["hmac-secret-000001"]}"#,
        )
        .unwrap();
        assert_eq!(c.trusted_proxies[0].to_string(), "10.0.0.1/32");
        assert_eq!(c.hmac_secrets.len(), 1);
        for (bad, needle) in [
            (r#"{"allowlist":"any","url_secrets":[]}"#, "no URL secret"),
            (
                r#"{"allowlist":["192.0.2.0/24"],"url_secrets":["url-secret-0000001"]}"#,
                "no signing secret",
            ),
            (
                r#"{"allowlist":"any","url_secrets":["url-secret-0000001"],"unsigned":true}"#,
                "from any address",
            ),
            (
                r#"{"allowlist":"any","url_secrets":["url-secret-0000001"],"hmac_secret":["x"]}"#,
                "unknown field",
            ),
            (
                r#"{"allowlist":"any","url_secrets":["url-secret-0000001"],"trusted_proxies":["proxy"]}"#,
                "trusted_proxies entry 1",
            ),
            (
                r#"{"allowlist":[],"url_secrets":["url-secret-0000001"]}"#,
                "allowlist is empty",
            ),
        ] {
            let err = serde_json::from_str::<WebhookGateConfig>(bad)
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains(needle), "{bad}: {err}");
        }
    }
}
