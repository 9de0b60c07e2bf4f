//! The typed error of a gate configuration that cannot be used.

use std::fmt;

/// Which kind of webhook secret an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretKind {
    /// The shared secret carried in the webhook URL.
    Url,
    /// The HMAC signing secret behind `X-Hub-Signature`.
    Hmac,
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Url => "URL secret",
            Self::Hmac => "HMAC signing secret",
        })
    }
}

/// Why a [`WebhookGateConfig`](super::WebhookGateConfig) or an
/// [`IpAllowlist`](super::IpAllowlist) was refused. No variant carries a
/// secret: secrets are named by their kind and position only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GateConfigError {
    /// No signing secret, and the operator did not accept unsigned
    /// deliveries.
    #[error(
        "no signing secret is configured: set hmac_secrets (the secret of the webhook in Jira, which then signs every delivery), or unsigned = true for a Data Center that cannot sign"
    )]
    NoSigningSecret,
    /// Unsigned deliveries accepted from any address.
    #[error(
        "unsigned deliveries from any address would let whoever learns the URL secret change findings: list Jira's addresses in the allowlist, or configure a signing secret"
    )]
    UnsignedFromAnywhere,
    /// Unsigned, and signing secrets set.
    #[error(
        "unsigned = true and signing secrets are both set: choose one (signed, unless the Jira cannot sign)"
    )]
    UnsignedWithSigningSecret,
    /// No URL secret: the gate would have nothing to check.
    #[error(
        "no URL secret is configured: set one (two while rotating) and put it in the webhook URL registered in Jira"
    )]
    NoUrlSecret,
    /// More than two secrets of one kind.
    #[error(
        "{count} {kind}s are configured but at most {max} may be valid at once (the new one and the one being retired): remove the oldest"
    )]
    TooManySecrets {
        /// Which kind of secret.
        kind: SecretKind,
        /// How many were given.
        count: usize,
        /// The most that may be given.
        max: usize,
    },
    /// A secret shorter than the minimum.
    #[error(
        "{kind} number {position} is shorter than {min} bytes: generate a random one, e.g. `openssl rand -hex 32`"
    )]
    WeakSecret {
        /// Which kind of secret.
        kind: SecretKind,
        /// Its position in the list, from 1.
        position: usize,
        /// The minimum length in bytes.
        min: usize,
    },
    /// A secret longer than the maximum.
    #[error("{kind} number {position} is longer than {max} bytes: use a shorter random secret")]
    OversizedSecret {
        /// Which kind of secret.
        kind: SecretKind,
        /// Its position in the list, from 1.
        position: usize,
        /// The maximum length in bytes.
        max: usize,
    },
    /// A secret containing control characters or surrounding whitespace,
    /// usually a copy-and-paste accident.
    #[error(
        "{kind} number {position} contains control characters or leading/trailing whitespace: copy it again without them"
    )]
    MalformedSecret {
        /// Which kind of secret.
        kind: SecretKind,
        /// Its position in the list, from 1.
        position: usize,
    },
    /// A body size limit of zero would reject every delivery.
    #[error(
        "max_body_bytes is 0, which would reject every webhook: leave it unset for the 1 MiB default or give a positive size"
    )]
    ZeroBodyLimit,
    /// An allowlist with no network in it.
    #[error(
        "the IP allowlist is empty: list the CIDRs webhooks come from, load Atlassian's published ranges, or choose \"any\" (IpAllowlist::allow_any) explicitly"
    )]
    EmptyAllowlist,
    /// A network that does not parse.
    #[error(
        "{what} entry {position} ({value:?}) is not an IPv4/IPv6 address or CIDR such as 192.0.2.0/24 or 2001:db8::/32"
    )]
    InvalidCidr {
        /// Which list: `allowlist`, `trusted_proxies`, `Atlassian ranges`.
        what: &'static str,
        /// Its position in the list, from 1.
        position: usize,
        /// The value as given (a network, never a secret).
        value: String,
    },
    /// The Atlassian IP ranges document is not JSON of the published form.
    #[error(
        "the Atlassian IP ranges document is not JSON of the form {{\"items\":[{{\"cidr\":\"...\"}}]}}: download it again"
    )]
    AtlassianRangesJson(#[source] serde_json::Error),
    /// The Atlassian IP ranges document lists no egress range.
    #[error(
        "the Atlassian IP ranges document lists no egress range: check that it is the published document and not an empty or filtered copy"
    )]
    NoAtlassianRanges,
}

impl GateConfigError {
    /// A stable, machine-readable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoUrlSecret => "no_url_secret",
            Self::NoSigningSecret => "no_signing_secret",
            Self::UnsignedFromAnywhere => "unsigned_from_anywhere",
            Self::UnsignedWithSigningSecret => "unsigned_with_signing_secret",
            Self::TooManySecrets { .. } => "too_many_secrets",
            Self::WeakSecret { .. } => "weak_secret",
            Self::OversizedSecret { .. } => "oversized_secret",
            Self::MalformedSecret { .. } => "malformed_secret",
            Self::ZeroBodyLimit => "zero_body_limit",
            Self::EmptyAllowlist => "empty_allowlist",
            Self::InvalidCidr { .. } => "invalid_cidr",
            Self::AtlassianRangesJson(_) => "atlassian_ranges_json",
            Self::NoAtlassianRanges => "no_atlassian_ranges",
        }
    }
}
