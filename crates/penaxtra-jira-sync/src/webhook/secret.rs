//! Webhook secrets: what a usable one looks like, and the constant-time
//! check of the secret carried in the URL.

use super::{GateConfigError, SecretKind};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

/// The fewest bytes a webhook secret may have.
pub const MIN_SECRET_BYTES: usize = 16;
/// The most bytes a webhook secret may have.
pub const MAX_SECRET_BYTES: usize = 1024;
/// How many secrets of one kind may be valid at once (rotation).
pub const MAX_SECRETS_PER_KIND: usize = 2;

/// Checks a list of secrets of one kind: its length and every secret.
pub(super) fn validate_secrets(
    kind: SecretKind,
    secrets: &[SecretString],
) -> Result<(), GateConfigError> {
    if secrets.len() > MAX_SECRETS_PER_KIND {
        return Err(GateConfigError::TooManySecrets {
            kind,
            count: secrets.len(),
            max: MAX_SECRETS_PER_KIND,
        });
    }
    for (index, secret) in secrets.iter().enumerate() {
        let position = index + 1;
        let s = secret.expose_secret();
        if s.len() < MIN_SECRET_BYTES {
            return Err(GateConfigError::WeakSecret {
                kind,
                position,
                min: MIN_SECRET_BYTES,
            });
        }
        if s.len() > MAX_SECRET_BYTES {
            return Err(GateConfigError::OversizedSecret {
                kind,
                position,
                max: MAX_SECRET_BYTES,
            });
        }
        if s.chars().any(char::is_control) || s.trim() != s {
            return Err(GateConfigError::MalformedSecret { kind, position });
        }
    }
    Ok(())
}

/// The configured URL secrets, kept only as SHA-256 digests.
///
/// Comparing fixed-length digests makes the comparison independent of the
/// candidate's length, and every configured secret is compared on every
/// request, so timing tells neither which one matched nor how close a guess
/// was.
pub(super) struct UrlSecrets {
    digests: Vec<SecretBox<[u8; 32]>>,
}

impl UrlSecrets {
    pub(super) fn new(secrets: &[SecretString]) -> Self {
        Self {
            digests: secrets
                .iter()
                .map(|s| SecretBox::new(Box::new(digest(s.expose_secret()))))
                .collect(),
        }
    }

    /// The position (from 0) of the configured secret equal to `candidate`;
    /// `None` when it is missing or matches none. Missing and wrong take the
    /// same path.
    pub(super) fn matching(&self, candidate: Option<&str>) -> Option<usize> {
        let given = Choice::from(u8::from(candidate.is_some()));
        let candidate = digest(candidate.unwrap_or_default());
        let mut found = Choice::from(0);
        let mut slot = 0u8;
        for (index, stored) in self.digests.iter().enumerate() {
            let equal = stored.expose_secret()[..].ct_eq(&candidate[..]);
            let index = u8::try_from(index).unwrap_or(u8::MAX);
            slot.conditional_assign(&index, equal);
            found |= equal;
        }
        bool::from(found & given).then_some(usize::from(slot))
    }
}

impl fmt::Debug for UrlSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UrlSecrets([{} redacted])", self.digests.len())
    }
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(list: &[&str]) -> Vec<SecretString> {
        list.iter().map(|s| SecretString::from(*s)).collect()
    }

    #[test]
    fn validation() {
        let ok = secrets(&["0123456789abcdef", "another-long-secret"]);
        assert!(validate_secrets(SecretKind::Url, &ok).is_ok());
        assert!(validate_secrets(SecretKind::Hmac, &[]).is_ok());
        let three = secrets(&["0123456789abcdef"; 3]);
        assert!(matches!(
            validate_secrets(SecretKind::Hmac, &three),
            Err(GateConfigError::TooManySecrets {
                kind: SecretKind::Hmac,
                count: 3,
                max: 2
            })
        ));
        assert!(matches!(
            validate_secrets(SecretKind::Url, &secrets(&["0123456789abcdef", "short"])),
            Err(GateConfigError::WeakSecret { position: 2, .. })
        ));
        for bad in [
            " 0123456789abcdef",
            "0123456789abcdef\n",
            "0123456789\tabcdef",
        ] {
            assert!(
                matches!(
                    validate_secrets(SecretKind::Url, &secrets(&[bad])),
                    Err(GateConfigError::MalformedSecret { position: 1, .. })
                ),
                "{bad:?}"
            );
        }
        let long = "x".repeat(MAX_SECRET_BYTES + 1);
        assert!(matches!(
            validate_secrets(SecretKind::Url, &secrets(&[&long])),
            Err(GateConfigError::OversizedSecret { .. })
        ));
    }

    #[test]
    fn matching_reports_the_slot() {
        let set = UrlSecrets::new(&secrets(&["first-secret-0001", "second-secret-002"]));
        assert_eq!(set.matching(Some("first-secret-0001")), Some(0));
        assert_eq!(set.matching(Some("second-secret-002")), Some(1));
        assert_eq!(set.matching(Some("first-secret-000")), None);
        assert_eq!(set.matching(Some("")), None);
        assert_eq!(set.matching(None), None);
        assert_eq!(format!("{set:?}"), "UrlSecrets([2 redacted])");
    }
}
