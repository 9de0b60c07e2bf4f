//! Tokens at rest: `crypto_box` sealed boxes (X25519 + XSalsa20-Poly1305,
//! libsodium's `crypto_box_seal`).
//!
//! Anyone with the public key can seal a token; only the secret key opens it,
//! so the configuration holds the sealed token and the public key while the
//! secret key lives elsewhere (a secret store, an environment variable).
//!
//! Text forms, all base64url without padding after a versioned prefix:
//!
//! | value | form |
//! |---|---|
//! | sealed token | `pxsealed:v1:<sealed box>` |
//! | public key | `pxsealpub:v1:<32 bytes>` |
//! | secret key | `pxsealkey:v1:<32 bytes>` |
//!
//! ```
//! use jira_client::sealed::{SealedToken, SealingKeyPair, SealingSecretKey};
//! use secrecy::{ExposeSecret, SecretString};
//!
//! let keys = SealingKeyPair::generate();
//! let sealed = SealedToken::seal(&keys.public_key(), &SecretString::from("api-token"))?;
//! let stored = sealed.to_string();
//! assert!(stored.starts_with("pxsealed:v1:"));
//!
//! let secret_text = keys.secret_key().to_text(); // goes to the secret store
//! let secret: SealingSecretKey = secret_text.expose_secret().parse()?;
//! let token = stored.parse::<SealedToken>()?.open(&secret)?;
//! assert_eq!(token.expose_secret(), "api-token");
//! # Ok::<(), jira_client::sealed::SealError>(())
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crypto_box::aead::OsRng;
use crypto_box::{KEY_SIZE, PublicKey, SEALBYTES, SecretKey};
use secrecy::zeroize::{Zeroize, Zeroizing};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::str::FromStr;

const TOKEN_PREFIX: &str = "pxsealed";
const PUBLIC_PREFIX: &str = "pxsealpub";
const SECRET_PREFIX: &str = "pxsealkey";
const VERSION: &str = "v1";

/// Longest token that can be sealed, in bytes.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Why a key or sealed token could not be read, or a token not sealed or
/// opened. Never contains key material or token text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The text is not of the expected form.
    #[error("not a valid {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The text has the right prefix but a version this build cannot read.
    #[error("unknown {what} version {version:?}: this build reads {VERSION}")]
    UnknownVersion {
        /// What was being read.
        what: &'static str,
        /// The version found (at most 16 characters, sanitised).
        version: String,
    },
    /// The sealed box is shorter than the smallest possible one.
    #[error("the sealed token is truncated: {len} bytes, a sealed token has more than {min}")]
    Truncated {
        /// Its length.
        len: usize,
        /// The overhead of a sealed box.
        min: usize,
    },
    /// Authentication failed: the key is not the one the token was sealed
    /// for, or the sealed token was altered. (A sealed box cannot tell the
    /// two apart.)
    #[error("the sealed token cannot be opened: wrong secret key, or the token was altered")]
    WrongKeyOrTampered,
    /// The opened token is not UTF-8 text.
    #[error("the opened token is not UTF-8 text")]
    NotUtf8,
    /// An empty token cannot be sealed.
    #[error("an empty token cannot be sealed")]
    EmptyToken,
    /// The token is longer than [`MAX_TOKEN_LEN`].
    #[error("the token is longer than {MAX_TOKEN_LEN} bytes")]
    TooLong,
}

/// Splits `prefix:version:payload` and decodes the payload.
fn parse_text(
    text: &str,
    prefix: &str,
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let malformed = |reason| SealError::Malformed { what, reason };
    let mut parts = text.trim().splitn(3, ':');
    let (Some(found_prefix), Some(version), Some(payload)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("expected prefix:version:base64"));
    };
    if found_prefix != prefix {
        return Err(malformed("wrong prefix"));
    }
    if version != VERSION {
        let version = if version.len() <= 16 && version.chars().all(|c| c.is_ascii_alphanumeric()) {
            version.to_string()
        } else {
            "(unreadable)".to_string()
        };
        return Err(SealError::UnknownVersion { what, version });
    }
    URL_SAFE_NO_PAD
        .decode(payload.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| malformed("the payload is not base64url without padding"))
}

fn key_bytes(bytes: &[u8], what: &'static str) -> Result<Zeroizing<[u8; KEY_SIZE]>, SealError> {
    let mut out = Zeroizing::new([0u8; KEY_SIZE]);
    if bytes.len() != KEY_SIZE {
        return Err(SealError::Malformed {
            what,
            reason: "a key is 32 bytes",
        });
    }
    out.copy_from_slice(bytes);
    Ok(out)
}

/// The public half: seals tokens. Not secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SealingPublicKey(PublicKey);

impl fmt::Display for SealingPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PUBLIC_PREFIX}:{VERSION}:{}",
            URL_SAFE_NO_PAD.encode(self.0.as_bytes())
        )
    }
}

impl fmt::Debug for SealingPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealingPublicKey({self})")
    }
}

impl FromStr for SealingPublicKey {
    type Err = SealError;
    fn from_str(s: &str) -> Result<Self, SealError> {
        let bytes = parse_text(s, PUBLIC_PREFIX, "sealing public key")?;
        let key = key_bytes(&bytes, "sealing public key")?;
        Ok(Self(PublicKey::from_bytes(*key)))
    }
}

/// The secret half: opens sealed tokens. `Debug` is redacted and there is
/// no `Display`; [`SealingSecretKey::to_text`] gives the text form as a
/// [`SecretString`].
#[derive(Clone)]
pub struct SealingSecretKey(SecretKey);

impl SealingSecretKey {
    /// The text form, `pxsealkey:v1:...`, for a secret store.
    pub fn to_text(&self) -> SecretString {
        let bytes = Zeroizing::new(self.0.to_bytes());
        let encoded = Zeroizing::new(URL_SAFE_NO_PAD.encode(*bytes));
        SecretString::from(format!("{SECRET_PREFIX}:{VERSION}:{}", encoded.as_str()))
    }

    /// The matching public key.
    pub fn public_key(&self) -> SealingPublicKey {
        SealingPublicKey(self.0.public_key())
    }
}

impl fmt::Debug for SealingSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingSecretKey([redacted])")
    }
}

impl FromStr for SealingSecretKey {
    type Err = SealError;
    /// Reads `pxsealkey:v1:...`.
    fn from_str(s: &str) -> Result<Self, SealError> {
        let bytes = parse_text(s, SECRET_PREFIX, "sealing secret key")?;
        let key = key_bytes(&bytes, "sealing secret key")?;
        Ok(Self(SecretKey::from_bytes(*key)))
    }
}

/// A key pair for sealing tokens.
#[derive(Clone)]
pub struct SealingKeyPair {
    secret: SealingSecretKey,
}

impl SealingKeyPair {
    /// A fresh key pair from the operating system's random generator.
    pub fn generate() -> Self {
        Self {
            secret: SealingSecretKey(SecretKey::generate(&mut OsRng)),
        }
    }

    /// The pair of an existing secret key.
    pub fn from_secret_key(secret: SealingSecretKey) -> Self {
        Self { secret }
    }

    /// The public key, for sealing.
    pub fn public_key(&self) -> SealingPublicKey {
        self.secret.public_key()
    }

    /// The secret key, for opening.
    pub fn secret_key(&self) -> &SealingSecretKey {
        &self.secret
    }
}

impl fmt::Debug for SealingKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingKeyPair")
            .field("public", &self.public_key())
            .field("secret", &self.secret)
            .finish()
    }
}

/// A token sealed for one public key. Its text form is
/// `pxsealed:v1:<base64url>`; it is safe to store in configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedToken {
    sealed: Vec<u8>,
}

impl SealedToken {
    /// Seals `token` so only the holder of the matching secret key can open it.
    ///
    /// # Errors
    /// [`SealError::EmptyToken`] or [`SealError::TooLong`].
    pub fn seal(key: &SealingPublicKey, token: &SecretString) -> Result<Self, SealError> {
        let token = token.expose_secret().as_bytes();
        if token.is_empty() {
            return Err(SealError::EmptyToken);
        }
        if token.len() > MAX_TOKEN_LEN {
            return Err(SealError::TooLong);
        }
        let sealed = key
            .0
            .seal(&mut OsRng, token)
            .map_err(|_| SealError::TooLong)?;
        Ok(Self { sealed })
    }

    /// Opens the token with the secret key.
    ///
    /// # Errors
    /// [`SealError::WrongKeyOrTampered`] for a wrong key or an altered
    /// token, [`SealError::NotUtf8`] when the content is not text.
    pub fn open(&self, key: &SealingSecretKey) -> Result<SecretString, SealError> {
        let plain = key
            .0
            .unseal(&self.sealed)
            .map_err(|_| SealError::WrongKeyOrTampered)?;
        match String::from_utf8(plain) {
            Ok(text) => Ok(SecretString::from(text)),
            Err(e) => {
                e.into_bytes().zeroize();
                Err(SealError::NotUtf8)
            }
        }
    }

    /// The raw sealed box.
    pub fn as_bytes(&self) -> &[u8] {
        &self.sealed
    }
}

impl fmt::Display for SealedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{TOKEN_PREFIX}:{VERSION}:{}",
            URL_SAFE_NO_PAD.encode(&self.sealed)
        )
    }
}

impl fmt::Debug for SealedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SealedToken({TOKEN_PREFIX}:{VERSION}, {} bytes)",
            self.sealed.len()
        )
    }
}

impl FromStr for SealedToken {
    type Err = SealError;
    fn from_str(s: &str) -> Result<Self, SealError> {
        let bytes = parse_text(s, TOKEN_PREFIX, "sealed token")?;
        if bytes.len() <= SEALBYTES {
            return Err(SealError::Truncated {
                len: bytes.len(),
                min: SEALBYTES,
            });
        }
        Ok(Self {
            sealed: bytes.to_vec(),
        })
    }
}

macro_rules! string_serde {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = Zeroizing::new(<String as serde::Deserialize>::deserialize(d)?);
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

string_serde!(SealedToken);
string_serde!(SealingPublicKey);

impl<'de> serde::Deserialize<'de> for SealingSecretKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Zeroizing::new(<String as serde::Deserialize>::deserialize(d)?);
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(keys: &SealingKeyPair, token: &str) -> SealedToken {
        SealedToken::seal(&keys.public_key(), &SecretString::from(token)).unwrap()
    }

    #[test]
    fn round_trip_through_text() {
        let keys = SealingKeyPair::generate();
        let text = seal(&keys, "ATATT3x-token").to_string();
        assert!(text.starts_with("pxsealed:v1:"));
        let back: SealedToken = text.parse().unwrap();
        assert_eq!(
            back.open(keys.secret_key()).unwrap().expose_secret(),
            "ATATT3x-token"
        );
        // Keys survive their text forms.
        let public: SealingPublicKey = keys.public_key().to_string().parse().unwrap();
        assert_eq!(public, keys.public_key());
        let secret: SealingSecretKey = keys.secret_key().to_text().expose_secret().parse().unwrap();
        assert_eq!(secret.public_key(), keys.public_key());
        let again = SealedToken::seal(&public, &SecretString::from("t2")).unwrap();
        assert_eq!(again.open(&secret).unwrap().expose_secret(), "t2");
    }

    #[test]
    fn sealing_is_randomised() {
        let keys = SealingKeyPair::generate();
        assert_ne!(seal(&keys, "same"), seal(&keys, "same"));
    }

    #[test]
    fn wrong_key_and_tampering_fail_typed() {
        let keys = SealingKeyPair::generate();
        let other = SealingKeyPair::generate();
        let sealed = seal(&keys, "tok");
        assert_eq!(
            sealed.open(other.secret_key()).unwrap_err(),
            SealError::WrongKeyOrTampered
        );
        for i in 0..sealed.as_bytes().len() {
            let mut bytes = sealed.as_bytes().to_vec();
            bytes[i] ^= 0x01;
            let tampered = SealedToken { sealed: bytes };
            assert_eq!(
                tampered.open(keys.secret_key()).unwrap_err(),
                SealError::WrongKeyOrTampered,
                "byte {i}"
            );
        }
    }

    #[test]
    fn truncated_unknown_version_and_malformed() {
        let keys = SealingKeyPair::generate();
        let sealed = seal(&keys, "a-longer-token-value");
        let text = sealed.to_string();
        // Cut bytes off the end: still longer than the overhead, so it parses,
        // but it no longer authenticates.
        let bytes = sealed.as_bytes();
        let short = format!(
            "pxsealed:v1:{}",
            URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() - 6])
        );
        let cut: SealedToken = short.parse().unwrap();
        assert_eq!(
            cut.open(keys.secret_key()).unwrap_err(),
            SealError::WrongKeyOrTampered
        );
        // Any cut of the text is refused when read or when opened.
        for n in 1..text.len() {
            if let Ok(t) = text[..n].parse::<SealedToken>() {
                assert_eq!(
                    t.open(keys.secret_key()).unwrap_err(),
                    SealError::WrongKeyOrTampered
                );
            }
        }
        let tiny = format!("pxsealed:v1:{}", URL_SAFE_NO_PAD.encode([0u8; 40]));
        assert!(matches!(
            tiny.parse::<SealedToken>(),
            Err(SealError::Truncated { len: 40, .. })
        ));
        let v2 = text.replacen(":v1:", ":v2:", 1);
        assert_eq!(
            v2.parse::<SealedToken>().unwrap_err(),
            SealError::UnknownVersion {
                what: "sealed token",
                version: "v2".into()
            }
        );
        for bad in [
            "",
            "pxsealed",
            "pxsealed:v1",
            "other:v1:AAAA",
            "pxsealed:v1:***",
        ] {
            assert!(
                matches!(bad.parse::<SealedToken>(), Err(SealError::Malformed { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            "pxsealpub:v1:AAAA".parse::<SealingPublicKey>(),
            Err(SealError::Malformed {
                reason: "a key is 32 bytes",
                ..
            })
        ));
    }

    #[test]
    fn bad_tokens_are_refused_and_secret_key_is_redacted() {
        let keys = SealingKeyPair::generate();
        assert_eq!(
            SealedToken::seal(&keys.public_key(), &SecretString::from("")).unwrap_err(),
            SealError::EmptyToken
        );
        let long = "x".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(
            SealedToken::seal(&keys.public_key(), &SecretString::from(long)).unwrap_err(),
            SealError::TooLong
        );
        let text = keys.secret_key().to_text();
        let payload = text.expose_secret().rsplit(':').next().unwrap().to_string();
        assert!(!format!("{keys:?}").contains(&payload));
        assert!(format!("{:?}", keys.secret_key()).contains("[redacted]"));
    }

    #[test]
    fn non_utf8_content_is_typed() {
        let keys = SealingKeyPair::generate();
        let sealed = keys.public_key().0.seal(&mut OsRng, &[0xff, 0xfe]).unwrap();
        let t = SealedToken { sealed };
        assert_eq!(t.open(keys.secret_key()).unwrap_err(), SealError::NotUtf8);
    }

    #[test]
    fn serde_as_strings() {
        let keys = SealingKeyPair::generate();
        let sealed = seal(&keys, "tok");
        let json = serde_json::to_string(&sealed).unwrap();
        let back: SealedToken = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sealed);
        let bad = serde_json::from_str::<SealedToken>("\"pxsealed:v9:AAAA\"").unwrap_err();
        assert!(bad.to_string().contains("v9"));
        let secret_json = format!("\"{}\"", keys.secret_key().to_text().expose_secret());
        let secret: SealingSecretKey = serde_json::from_str(&secret_json).unwrap();
        assert_eq!(secret.public_key(), keys.public_key());
    }
}
