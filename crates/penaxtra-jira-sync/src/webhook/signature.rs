//! The `X-Hub-Signature: sha256=<hex>` HMAC-SHA256 of the raw body, as
//! Jira Cloud and current Jira Data Center sign admin webhooks that have a
//! secret.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

/// The header Jira signs deliveries with.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature";

/// Why a signature was refused (for the log; the answer is the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SignatureError {
    /// No `X-Hub-Signature` header.
    Missing,
    /// More than one `X-Hub-Signature` header.
    Repeated,
    /// Not `sha256=` followed by 64 hex digits.
    Malformed,
    /// Well-formed, but no configured secret produces it.
    Mismatch,
}

impl SignatureError {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "X-Hub-Signature header missing",
            Self::Repeated => "X-Hub-Signature header repeated",
            Self::Malformed => "X-Hub-Signature is not sha256=<64 hex digits>",
            Self::Mismatch => "X-Hub-Signature matches no configured signing secret",
        }
    }
}

/// The hex HMAC-SHA256 of `body` under `secret`, as Jira would send it
/// after `sha256=` (lower-case).
pub fn sign_body(secret: &SecretString, body: &[u8]) -> String {
    hex::encode(mac(secret, body))
}

/// Verifies the signature header values against every secret; returns the
/// position (from 0) of the secret that signed the body.
pub(super) fn verify<'a>(
    secrets: &[SecretString],
    mut values: impl Iterator<Item = &'a [u8]>,
    body: &[u8],
) -> Result<usize, SignatureError> {
    let value = values.next().ok_or(SignatureError::Missing)?;
    if values.next().is_some() {
        return Err(SignatureError::Repeated);
    }
    let claimed = parse_header(value).ok_or(SignatureError::Malformed)?;
    let mut found = Choice::from(0);
    let mut slot = 0u8;
    for (index, secret) in secrets.iter().enumerate() {
        let equal = mac(secret, body)[..].ct_eq(&claimed[..]);
        let index = u8::try_from(index).unwrap_or(u8::MAX);
        slot.conditional_assign(&index, equal);
        found |= equal;
    }
    if bool::from(found) {
        Ok(usize::from(slot))
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// `sha256=<hex>`, the algorithm name and the hex in any case, surrounding
/// whitespace ignored.
fn parse_header(value: &[u8]) -> Option<[u8; 32]> {
    let value = value.trim_ascii();
    let (algorithm, hex_digits) = value.split_at_checked(7)?;
    if !algorithm.eq_ignore_ascii_case(b"sha256=") || hex_digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_digits, &mut out).ok()?;
    Some(out)
}

fn mac(secret: &SecretString, body: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so this cannot fail; an empty result
    // would simply never match.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) else {
        return [0; 32];
    };
    mac.update(body);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s)
    }

    #[test]
    fn known_answer() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign_body(&secret("Jefe"), b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn header_forms() {
        let hex = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert!(parse_header(format!("sha256={hex}").as_bytes()).is_some());
        assert!(parse_header(format!(" SHA256={} ", hex.to_uppercase()).as_bytes()).is_some());
        for bad in [
            String::new(),
            hex.to_string(),
            format!("sha1={hex}"),
            format!("sha256={}", &hex[1..]),
            format!("sha256={hex}0"),
            format!("sha256={}g", &hex[1..]),
            "sha256=é".to_string(),
        ] {
            assert!(parse_header(bad.as_bytes()).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn verify_tries_every_secret() {
        let secrets = [secret("old-signing-secret"), secret("new-signing-secret")];
        let body = b"{\"webhookEvent\":\"x\"}";
        let by_new = format!("sha256={}", sign_body(&secrets[1], body));
        assert_eq!(
            verify(&secrets, [by_new.as_bytes()].into_iter(), body),
            Ok(1)
        );
        let by_old = format!("sha256={}", sign_body(&secrets[0], body));
        assert_eq!(
            verify(&secrets, [by_old.as_bytes()].into_iter(), body),
            Ok(0)
        );
        assert_eq!(
            verify(&secrets, std::iter::empty(), body),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(
                &secrets,
                [by_old.as_bytes(), by_old.as_bytes()].into_iter(),
                body
            ),
            Err(SignatureError::Repeated)
        );
        assert_eq!(
            verify(&secrets, [by_old.as_bytes()].into_iter(), b"{}"),
            Err(SignatureError::Mismatch)
        );
    }
}
