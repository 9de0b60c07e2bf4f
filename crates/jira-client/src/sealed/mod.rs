//! Tokens at rest: `crypto_box` sealed boxes (X25519 + XSalsa20-Poly1305,
//! libsodium's `crypto_box_seal`), each bound to one connection and one Jira
//! origin.
//!
//! Anyone with the public key can seal a token; only the secret key opens it,
//! so the configuration holds the sealed token and the public key while the
//! secret key lives elsewhere (a secret store, an environment variable).
//!
//! A multi-tenant service keeps each connection's sealed token in that
//! connection's configuration row. Whoever can write one row must not be
//! able to pair another tenant's sealed token with a Jira URL of their
//! choosing, so the sealed box holds, beside the token, the
//! [`ConnectionId`] and the [`JiraOrigin`] (`scheme://host[:port]`) it was
//! sealed for ([`TokenBinding`]). [`SealedToken::open`] is given the
//! binding of the connection that asks and refuses any other
//! ([`SealError::ConnectionMismatch`], [`SealError::OriginMismatch`]). The
//! binding is inside the authenticated box: it cannot be edited without the
//! box failing to open. (Anyone with the public key can still seal a token
//! of their own for any binding; what they cannot do is move someone
//! else's.)
//!
//! Principal types: [`SealedToken`], [`TokenBinding`], [`SealingKeyPair`],
//! [`SealingKeyring`] (several secret keys by [`KeyId`], for rotation).
//!
//! Text forms, base64url without padding after a versioned prefix:
//!
//! | value | form |
//! |---|---|
//! | sealed token | `pxsealed:v2:<key id>:<sealed box>` |
//! | public key | `pxsealpub:v1:<32 bytes>` |
//! | secret key | `pxsealkey:v1:<32 bytes>` |
//! | key id | 12 characters (9 bytes of SHA-256 over a label and the public key) |
//!
//! The box's plaintext is described in the `binding` module source: a
//! format byte, the key id again (so a key id edited in the clear is
//! caught), the connection id, the origin and the token, each
//! length-prefixed.
//!
//! Tokens sealed before bindings existed (`pxsealed:v1:<sealed box>`) still
//! parse, but [`SealedToken::open`] refuses them with
//! [`SealError::UnboundV1`], which tells the operator to reseal; a host
//! migrating its stored tokens opens each once with
//! [`SealedToken::open_unbound_v1`] and seals it again with a binding.
//!
//! ```
//! use jira_client::sealed::{SealedToken, SealingKeyPair, SealingKeyring, TokenBinding};
//! use secrecy::{ExposeSecret, SecretString};
//!
//! let keys = SealingKeyPair::generate();
//! let binding = TokenBinding::for_base_url("tenant-42", "https://acme.atlassian.net/")?;
//! let sealed = SealedToken::seal(&keys.public_key(), &binding, &SecretString::from("api-token"))?;
//! let stored = sealed.to_string();
//! assert!(stored.starts_with(&format!("pxsealed:v2:{}:", keys.key_id())));
//!
//! // The service holds its secret keys (old and new, while rotating).
//! let secret_text = keys.secret_key().to_text(); // goes to the secret store
//! let ring: SealingKeyring = secret_text.expose_secret().parse()?;
//! let token = stored.parse::<SealedToken>()?.open(&ring, &binding)?;
//! assert_eq!(token.expose_secret(), "api-token");
//!
//! // The same token, asked for by another tenant, or for another host: refused.
//! let other = TokenBinding::for_base_url("tenant-7", "https://acme.atlassian.net")?;
//! assert!(stored.parse::<SealedToken>()?.open(&ring, &other).is_err());
//! let elsewhere = TokenBinding::for_base_url("tenant-42", "https://evil.example")?;
//! assert!(stored.parse::<SealedToken>()?.open(&ring, &elsewhere).is_err());
//! # Ok::<(), jira_client::sealed::SealError>(())
//! ```

mod binding;
mod error;
mod keys;

pub use binding::{ConnectionId, JiraOrigin, TokenBinding};
pub use error::SealError;
pub use keys::{
    KeyId, OpeningKeys, SealingKeyPair, SealingKeyring, SealingPublicKey, SealingSecretKey,
};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crypto_box::SEALBYTES;
use crypto_box::aead::OsRng;
use secrecy::zeroize::{Zeroize, Zeroizing};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::str::FromStr;

const TOKEN_PREFIX: &str = "pxsealed";

/// Longest token that can be sealed, in bytes.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Splits `prefix:version:rest`.
fn split_text<'a>(
    text: &'a str,
    prefix: &str,
    what: &'static str,
) -> Result<(&'a str, &'a str), SealError> {
    let malformed = |reason| SealError::Malformed { what, reason };
    let mut parts = text.trim().splitn(3, ':');
    let (Some(found_prefix), Some(version), Some(rest)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("expected prefix:version:base64"));
    };
    if found_prefix != prefix {
        return Err(malformed("wrong prefix"));
    }
    Ok((version, rest))
}

/// Decodes base64url without padding.
fn decode_base64(payload: &str, what: &'static str) -> Result<Zeroizing<Vec<u8>>, SealError> {
    URL_SAFE_NO_PAD
        .decode(payload.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| SealError::Malformed {
            what,
            reason: "the payload is not base64url without padding",
        })
}

/// The error for a version this build does not read, showing the version
/// only when it looks like one.
fn unknown_version(what: &'static str, version: &str) -> SealError {
    let version = if version.len() <= 16 && version.chars().all(|c| c.is_ascii_alphanumeric()) {
        version.to_string()
    } else {
        "(unreadable)".to_string()
    };
    SealError::UnknownVersion { what, version }
}

/// The two text forms of a sealed token.
#[derive(Clone, PartialEq, Eq)]
enum Form {
    /// `pxsealed:v1:<box>`: the bare token, bound to nothing.
    V1,
    /// `pxsealed:v2:<key id>:<box>`: the token with its binding.
    V2(KeyId),
}

/// A token sealed for one public key and bound to one connection and Jira
/// origin. Its text form is `pxsealed:v2:<key id>:<base64url>`; it is safe
/// to store in configuration. `Debug` shows the version, the key id and the
/// length, never the box.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedToken {
    form: Form,
    sealed: Vec<u8>,
}

impl SealedToken {
    /// Seals `token`, bound to `binding`, so that only the holder of the
    /// secret key matching `key` can open it, and only for that binding.
    ///
    /// # Errors
    /// [`SealError::EmptyToken`] or [`SealError::TooLong`].
    pub fn seal(
        key: &SealingPublicKey,
        binding: &TokenBinding,
        token: &SecretString,
    ) -> Result<Self, SealError> {
        let len = token.expose_secret().len();
        if len == 0 {
            return Err(SealError::EmptyToken);
        }
        if len > MAX_TOKEN_LEN {
            return Err(SealError::TooLong);
        }
        let key_id = key.key_id();
        let plain = binding::encode(&key_id, binding, token)?;
        let sealed = key
            .0
            .seal(&mut OsRng, &plain)
            .map_err(|_| SealError::TooLong)?;
        Ok(Self {
            form: Form::V2(key_id),
            sealed,
        })
    }

    /// Opens the token for the connection and Jira origin of `expected`,
    /// with the key its key id names among `keys`.
    ///
    /// # Errors
    /// - [`SealError::UnboundV1`] for a v1 token (see
    ///   [`SealedToken::open_unbound_v1`]);
    /// - [`SealError::UnknownKeyId`] when no key of `keys` has the key id;
    /// - [`SealError::WrongKeyOrTampered`] when the box was altered (the key
    ///   id in the clear included);
    /// - [`SealError::ConnectionMismatch`], then
    ///   [`SealError::OriginMismatch`], when it was sealed for another
    ///   binding (the connection is reported when both differ);
    /// - [`SealError::NotUtf8`] or [`SealError::Malformed`] when the box
    ///   opens but was not sealed by this library.
    pub fn open<K: OpeningKeys + ?Sized>(
        &self,
        keys: &K,
        expected: &TokenBinding,
    ) -> Result<SecretString, SealError> {
        let Form::V2(key_id) = &self.form else {
            return Err(SealError::UnboundV1);
        };
        let key = keys
            .key_by_id(key_id)
            .ok_or_else(|| SealError::UnknownKeyId {
                key_id: *key_id,
                held: keys.all_keys().iter().map(|k| k.key_id()).collect(),
            })?;
        let plain = Zeroizing::new(
            key.0
                .unseal(&self.sealed)
                .map_err(|_| SealError::WrongKeyOrTampered)?,
        );
        let opened = binding::decode(&plain)?;
        if opened.key_id != *key_id {
            return Err(SealError::WrongKeyOrTampered);
        }
        expected.check(opened.binding)?;
        Ok(opened.token)
    }

    /// Opens a v1 token (`pxsealed:v1:…`), which is bound to no connection
    /// and no origin, with whichever of `keys` opens it. For migrating
    /// stored tokens only: open each once, then
    /// [`SealedToken::seal`] it again with its connection's binding and
    /// store that. The configuration layer never calls this.
    ///
    /// # Errors
    /// [`SealError::Malformed`] for a v2 token (open it with
    /// [`SealedToken::open`]), [`SealError::WrongKeyOrTampered`] when no
    /// key opens it, [`SealError::NotUtf8`] when the content is not text.
    pub fn open_unbound_v1<K: OpeningKeys + ?Sized>(
        &self,
        keys: &K,
    ) -> Result<SecretString, SealError> {
        if self.form != Form::V1 {
            return Err(SealError::Malformed {
                what: "v1 sealed token",
                reason: "this is a v2 token, bound to a connection: open it with `open`",
            });
        }
        let plain = keys
            .all_keys()
            .into_iter()
            .find_map(|key| key.0.unseal(&self.sealed).ok())
            .ok_or(SealError::WrongKeyOrTampered)?;
        match String::from_utf8(plain) {
            Ok(text) => Ok(SecretString::from(text)),
            Err(e) => {
                e.into_bytes().zeroize();
                Err(SealError::NotUtf8)
            }
        }
    }

    /// The key id a v2 token names; `None` for v1.
    pub fn key_id(&self) -> Option<KeyId> {
        match &self.form {
            Form::V1 => None,
            Form::V2(id) => Some(*id),
        }
    }

    /// Whether it is a v2 token, bound to a connection and an origin.
    pub fn is_bound(&self) -> bool {
        matches!(self.form, Form::V2(_))
    }

    /// The raw sealed box.
    pub fn as_bytes(&self) -> &[u8] {
        &self.sealed
    }
}

impl fmt::Display for SealedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sealed = URL_SAFE_NO_PAD.encode(&self.sealed);
        match &self.form {
            Form::V1 => write!(f, "{TOKEN_PREFIX}:v1:{sealed}"),
            Form::V2(id) => write!(f, "{TOKEN_PREFIX}:v2:{id}:{sealed}"),
        }
    }
}

impl fmt::Debug for SealedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.form {
            Form::V1 => write!(
                f,
                "SealedToken({TOKEN_PREFIX}:v1, {} bytes)",
                self.sealed.len()
            ),
            Form::V2(id) => write!(
                f,
                "SealedToken({TOKEN_PREFIX}:v2, key id {id}, {} bytes)",
                self.sealed.len()
            ),
        }
    }
}

impl FromStr for SealedToken {
    type Err = SealError;
    /// Reads `pxsealed:v2:<key id>:<box>` or `pxsealed:v1:<box>`.
    fn from_str(s: &str) -> Result<Self, SealError> {
        const WHAT: &str = "sealed token";
        let (version, rest) = split_text(s, TOKEN_PREFIX, WHAT)?;
        let (form, payload) = match version {
            "v1" => (Form::V1, rest),
            "v2" => {
                let Some((id, payload)) = rest.split_once(':') else {
                    return Err(SealError::Malformed {
                        what: WHAT,
                        reason: "expected pxsealed:v2:<key id>:<base64>",
                    });
                };
                (Form::V2(id.parse()?), payload)
            }
            other => return Err(unknown_version(WHAT, other)),
        };
        let sealed = decode_base64(payload, WHAT)?;
        if sealed.len() <= SEALBYTES {
            return Err(SealError::Truncated {
                len: sealed.len(),
                min: SEALBYTES,
            });
        }
        Ok(Self {
            form,
            sealed: sealed.to_vec(),
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
string_serde!(KeyId);

impl<'de> serde::Deserialize<'de> for SealingSecretKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Zeroizing::new(<String as serde::Deserialize>::deserialize(d)?);
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A v1 token sealed by the previous release (secret key, token text,
    /// the token it holds): old stored tokens still parse and migrate.
    const V1_KEY: &str = "pxsealkey:v1:KP_1dIkeyo0wZDjSOjmK9K3BaKtcpFKQIcH-SMSAH5s";
    const V1_TOKEN: &str = "pxsealed:v1:BmtQ4YWlXZadhAC8uCCvkpwZfJIsNC6_2XXvsL8_ZGo30-byR37vMCSoYebhak1je3zGKGCdK3o_8_Btp6ge";

    fn binding(connection: &str, base_url: &str) -> TokenBinding {
        TokenBinding::for_base_url(connection, base_url).unwrap()
    }

    fn tenant_a() -> TokenBinding {
        binding("tenant-a", "https://a.atlassian.net")
    }

    fn seal(keys: &SealingKeyPair, token: &str) -> SealedToken {
        SealedToken::seal(&keys.public_key(), &tenant_a(), &SecretString::from(token)).unwrap()
    }

    #[test]
    fn round_trip_through_text() {
        let keys = SealingKeyPair::generate();
        let text = seal(&keys, "ATATT3x-token").to_string();
        let id = keys.key_id().to_string();
        assert_eq!(id.len(), 12);
        assert!(text.starts_with(&format!("pxsealed:v2:{id}:")), "{text}");
        let back: SealedToken = text.parse().unwrap();
        assert_eq!(back.key_id(), Some(keys.key_id()));
        assert!(back.is_bound());
        assert_eq!(
            back.open(keys.secret_key(), &tenant_a())
                .unwrap()
                .expose_secret(),
            "ATATT3x-token"
        );
        // The same origin written otherwise opens it too.
        let written_otherwise = binding("tenant-a", "https://A.atlassian.net:443/jira/");
        assert_eq!(
            back.open(&keys, &written_otherwise)
                .unwrap()
                .expose_secret(),
            "ATATT3x-token"
        );
        // Keys survive their text forms, and so do their ids.
        let public: SealingPublicKey = keys.public_key().to_string().parse().unwrap();
        assert_eq!(public, keys.public_key());
        assert_eq!(public.key_id(), keys.key_id());
        assert_eq!(id.parse::<KeyId>().unwrap(), keys.key_id());
        let secret: SealingSecretKey = keys.secret_key().to_text().expose_secret().parse().unwrap();
        assert_eq!(secret.key_id(), keys.key_id());
        let again = SealedToken::seal(&public, &tenant_a(), &SecretString::from("t2")).unwrap();
        assert_eq!(
            again.open(&secret, &tenant_a()).unwrap().expose_secret(),
            "t2"
        );
    }

    #[test]
    fn key_ids_differ_per_key_and_never_show_key_material() {
        let a = SealingKeyPair::generate();
        let b = SealingKeyPair::generate();
        assert_ne!(a.key_id(), b.key_id());
        // Not simply the first bytes of the public key.
        assert_ne!(&a.public_key().0.as_bytes()[..9], a.key_id().as_bytes());
        assert!(format!("{:?}", a.secret_key()).contains(&a.key_id().to_string()));
    }

    #[test]
    fn sealing_is_randomised() {
        let keys = SealingKeyPair::generate();
        assert_ne!(seal(&keys, "same"), seal(&keys, "same"));
    }

    #[test]
    fn a_token_sealed_for_another_connection_is_refused() {
        let keys = SealingKeyPair::generate();
        let b = binding("tenant-b", "https://a.atlassian.net");
        let sealed_for_b =
            SealedToken::seal(&keys.public_key(), &b, &SecretString::from("b-token")).unwrap();
        let e = sealed_for_b.open(&keys, &tenant_a()).unwrap_err();
        assert_eq!(
            e,
            SealError::ConnectionMismatch {
                expected: ConnectionId::new("tenant-a").unwrap(),
                sealed_for: ConnectionId::new("tenant-b").unwrap(),
            }
        );
        assert_eq!(e.code(), "sealed_connection_mismatch");
        let message = e.to_string();
        assert!(message.contains("\"tenant-b\"") && message.contains("\"tenant-a\""));
        assert!(
            message.contains("seal_token --connection tenant-a"),
            "{message}"
        );
        assert!(!message.contains("b-token"));
        // Case matters: ids are compared exactly.
        assert!(matches!(
            sealed_for_b.open(&keys, &binding("Tenant-B", "https://a.atlassian.net")),
            Err(SealError::ConnectionMismatch { .. })
        ));
        // Both differ: the connection is named.
        assert!(matches!(
            sealed_for_b.open(&keys, &binding("tenant-a", "https://evil.example")),
            Err(SealError::ConnectionMismatch { .. })
        ));
    }

    #[test]
    fn a_token_sealed_for_another_origin_is_refused() {
        let keys = SealingKeyPair::generate();
        let sealed = seal(&keys, "a-token");
        for other in [
            "https://evil.example",
            "https://a.atlassian.net.evil.example",
            "https://a.atlassian.net:8443",
            "http://a.atlassian.net",
            "http://a.atlassian.net:443",
        ] {
            let e = sealed.open(&keys, &binding("tenant-a", other)).unwrap_err();
            let SealError::OriginMismatch {
                expected,
                sealed_for,
            } = &e
            else {
                panic!("{other}: {e:?}");
            };
            assert_eq!(sealed_for.as_str(), "https://a.atlassian.net");
            assert_eq!(*expected, JiraOrigin::from_base_url(other).unwrap());
            assert!(e.to_string().contains("https://a.atlassian.net"), "{e}");
            assert!(!e.to_string().contains("a-token"));
        }
    }

    #[test]
    fn rotation_opens_with_the_key_the_id_names() {
        let old = SealingKeyPair::generate();
        let new = SealingKeyPair::generate();
        let by_old = seal(&old, "sealed-with-old");
        let by_new = seal(&new, "sealed-with-new");
        let both = SealingKeyring::new()
            .with(old.secret_key().clone())
            .with(new.secret_key().clone());
        assert_eq!(both.len(), 2);
        assert_eq!(
            by_old.open(&both, &tenant_a()).unwrap().expose_secret(),
            "sealed-with-old"
        );
        assert_eq!(
            by_new.open(&both, &tenant_a()).unwrap().expose_secret(),
            "sealed-with-new"
        );
        // The old key retired: its tokens are refused, naming the id.
        let mut only_new = both.clone();
        assert!(only_new.remove(&old.key_id()).is_some());
        let e = by_old.open(&only_new, &tenant_a()).unwrap_err();
        assert_eq!(
            e,
            SealError::UnknownKeyId {
                key_id: old.key_id(),
                held: vec![new.key_id()],
            }
        );
        assert!(e.to_string().contains(&old.key_id().to_string()), "{e}");
        assert!(e.to_string().contains(&new.key_id().to_string()), "{e}");
        assert!(by_new.open(&only_new, &tenant_a()).is_ok());
        // A single secret key is a keyring of one.
        assert!(matches!(
            by_old.open(new.secret_key(), &tenant_a()),
            Err(SealError::UnknownKeyId { .. })
        ));
    }

    #[test]
    fn an_edited_key_id_is_refused() {
        let old = SealingKeyPair::generate();
        let new = SealingKeyPair::generate();
        let ring = SealingKeyring::from_iter([old.secret_key().clone(), new.secret_key().clone()]);
        let text = seal(&old, "tok").to_string();
        let old_id = old.key_id().to_string();
        // Naming the other key of the ring: the box does not open with it.
        let swapped = text.replacen(&old_id, &new.key_id().to_string(), 1);
        assert_eq!(
            swapped
                .parse::<SealedToken>()
                .unwrap()
                .open(&ring, &tenant_a())
                .unwrap_err(),
            SealError::WrongKeyOrTampered
        );
        // One character changed: a key id nobody holds.
        let mut chars: Vec<char> = old_id.chars().collect();
        chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
        let edited: String = chars.into_iter().collect();
        let e = text
            .replacen(&old_id, &edited, 1)
            .parse::<SealedToken>()
            .unwrap()
            .open(&ring, &tenant_a())
            .unwrap_err();
        assert!(matches!(e, SealError::UnknownKeyId { .. }), "{e:?}");
        // Not a key id at all.
        for bad in ["", "short", "AAAAAAAAAAAAA", "AAAAAAAAAA*A"] {
            let t = text.replacen(&old_id, bad, 1);
            assert!(
                matches!(t.parse::<SealedToken>(), Err(SealError::Malformed { .. })),
                "{bad:?}"
            );
        }
        // A box holding another key id than the one that opens it (sealed
        // by hand, not by this library) is refused too.
        let plain =
            binding::encode(&new.key_id(), &tenant_a(), &SecretString::from("tok")).unwrap();
        let sealed = old.public_key().0.seal(&mut OsRng, &plain).unwrap();
        let forged = SealedToken {
            form: Form::V2(old.key_id()),
            sealed,
        };
        assert_eq!(
            forged.open(&ring, &tenant_a()).unwrap_err(),
            SealError::WrongKeyOrTampered
        );
    }

    #[test]
    fn v1_is_refused_by_open_and_migrates_explicitly() {
        let key: SealingSecretKey = V1_KEY.parse().unwrap();
        let v1: SealedToken = V1_TOKEN.parse().unwrap();
        assert!(!v1.is_bound());
        assert_eq!(v1.key_id(), None);
        assert_eq!(v1.to_string(), V1_TOKEN);
        let e = v1.open(&key, &tenant_a()).unwrap_err();
        assert_eq!(e, SealError::UnboundV1);
        assert!(
            e.to_string()
                .contains("seal_token --connection <id> --base-url <jira url>"),
            "{e}"
        );
        // Migration: open once, seal with a binding.
        let ring = SealingKeyring::new()
            .with(SealingKeyPair::generate().secret_key().clone())
            .with(key.clone());
        let token = v1.open_unbound_v1(&ring).unwrap();
        assert_eq!(token.expose_secret(), "v1-legacy-token");
        let resealed = SealedToken::seal(&key.public_key(), &tenant_a(), &token).unwrap();
        assert_eq!(
            resealed.open(&ring, &tenant_a()).unwrap().expose_secret(),
            "v1-legacy-token"
        );
        // Not with another key, and never a v2 token.
        assert_eq!(
            v1.open_unbound_v1(SealingKeyPair::generate().secret_key())
                .unwrap_err(),
            SealError::WrongKeyOrTampered
        );
        assert!(matches!(
            resealed.open_unbound_v1(&ring),
            Err(SealError::Malformed { .. })
        ));
    }

    #[test]
    fn wrong_key_and_tampering_fail_typed() {
        let keys = SealingKeyPair::generate();
        let sealed = seal(&keys, "tok");
        for i in 0..sealed.as_bytes().len() {
            let mut bytes = sealed.as_bytes().to_vec();
            bytes[i] ^= 0x01;
            let tampered = SealedToken {
                form: sealed.form.clone(),
                sealed: bytes,
            };
            assert_eq!(
                tampered.open(keys.secret_key(), &tenant_a()).unwrap_err(),
                SealError::WrongKeyOrTampered,
                "byte {i}"
            );
        }
        // A different key given the same id (only possible by hand): the
        // box does not open.
        let other = SealingKeyPair::generate();
        let lying = SealedToken {
            form: Form::V2(other.key_id()),
            sealed: sealed.as_bytes().to_vec(),
        };
        assert_eq!(
            lying.open(&other, &tenant_a()).unwrap_err(),
            SealError::WrongKeyOrTampered
        );
    }

    #[test]
    fn truncated_unknown_version_and_malformed() {
        let keys = SealingKeyPair::generate();
        let sealed = seal(&keys, "a-longer-token-value");
        let text = sealed.to_string();
        let prefix = format!("pxsealed:v2:{}:", keys.key_id());
        // Cut bytes off the end: it no longer authenticates.
        let bytes = sealed.as_bytes();
        let short = format!(
            "{prefix}{}",
            URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() - 6])
        );
        let cut: SealedToken = short.parse().unwrap();
        assert_eq!(
            cut.open(keys.secret_key(), &tenant_a()).unwrap_err(),
            SealError::WrongKeyOrTampered
        );
        // Any cut of the text is refused when read or when opened.
        for n in 1..text.len() {
            if let Ok(t) = text[..n].parse::<SealedToken>() {
                assert!(t.open(keys.secret_key(), &tenant_a()).is_err());
            }
        }
        let tiny = format!("{prefix}{}", URL_SAFE_NO_PAD.encode([0u8; 40]));
        assert!(matches!(
            tiny.parse::<SealedToken>(),
            Err(SealError::Truncated { len: 40, .. })
        ));
        let v3 = text.replacen(":v2:", ":v3:", 1);
        assert_eq!(
            v3.parse::<SealedToken>().unwrap_err(),
            SealError::UnknownVersion {
                what: "sealed token",
                version: "v3".into()
            }
        );
        for bad in [
            "",
            "pxsealed",
            "pxsealed:v2",
            "pxsealed:v2:AAAA",
            "other:v2:AAAA",
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
        let public = keys.public_key();
        assert_eq!(
            SealedToken::seal(&public, &tenant_a(), &SecretString::from("")).unwrap_err(),
            SealError::EmptyToken
        );
        let long = "x".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(
            SealedToken::seal(&public, &tenant_a(), &SecretString::from(long)).unwrap_err(),
            SealError::TooLong
        );
        let longest = "x".repeat(MAX_TOKEN_LEN);
        let sealed =
            SealedToken::seal(&public, &tenant_a(), &SecretString::from(longest.clone())).unwrap();
        assert_eq!(
            sealed.open(&keys, &tenant_a()).unwrap().expose_secret(),
            longest
        );
        let text = keys.secret_key().to_text();
        let payload = text.expose_secret().rsplit(':').next().unwrap().to_string();
        assert!(!format!("{keys:?}").contains(&payload));
        assert!(format!("{:?}", keys.secret_key()).contains("[redacted]"));
        let ring = SealingKeyring::from(keys.secret_key().clone());
        assert!(!format!("{ring:?}").contains(&payload));
        assert!(format!("{ring:?}").contains(&keys.key_id().to_string()));
    }

    #[test]
    fn formatted_values_and_errors_never_show_the_token() {
        let token = "TOKEN-never-shown-5f0c";
        let keys = SealingKeyPair::generate();
        let sealed = seal(&keys, token);
        let other = binding("tenant-b", "https://b.example");
        let mut shown = vec![
            format!("{sealed}"),
            format!("{sealed:?}"),
            format!("{keys:?}"),
        ];
        for e in [
            sealed.open(&keys, &other).unwrap_err(),
            sealed
                .open(&keys, &binding("tenant-a", "https://b.example"))
                .unwrap_err(),
            sealed
                .open(SealingKeyPair::generate().secret_key(), &tenant_a())
                .unwrap_err(),
            sealed.open_unbound_v1(&keys).unwrap_err(),
        ] {
            shown.push(e.to_string());
            shown.push(format!("{e:?}"));
        }
        let opened = sealed.open(&keys, &tenant_a()).unwrap();
        shown.push(format!("{opened:?}"));
        for text in shown {
            assert!(!text.contains(token), "{text}");
            assert!(!text.contains("never-shown"), "{text}");
        }
    }

    #[test]
    fn key_lists_hold_several_keys() {
        let a = SealingKeyPair::generate();
        let b = SealingKeyPair::generate();
        let (ta, tb) = (a.secret_key().to_text(), b.secret_key().to_text());
        let (ta, tb) = (ta.expose_secret(), tb.expose_secret());
        for list in [
            ta.to_string(),
            format!("{ta}\n{tb}\n"),
            format!("{ta},{tb}"),
            format!(" {ta} , {tb} "),
            format!("# new key\n{tb}\n# old key, retire after the reseal\n{ta} # old\n"),
            format!("{ta}\n{ta}\n"),
        ] {
            let ring: SealingKeyring = list.parse().unwrap();
            assert!(ring.get(&a.key_id()).is_some(), "{list}");
            assert_eq!(ring.len(), if list.contains(tb) { 2 } else { 1 });
        }
        assert!(matches!(
            "".parse::<SealingKeyring>(),
            Err(SealError::Malformed { .. })
        ));
        assert!(matches!(
            "# nothing\n".parse::<SealingKeyring>(),
            Err(SealError::Malformed { .. })
        ));
        let e = format!("{ta}\npxsealkey:v1:AAAA")
            .parse::<SealingKeyring>()
            .unwrap_err();
        assert!(
            matches!(e, SealError::KeyListEntry { index: 2, .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("key 2"), "{e}");
        assert!(!e.to_string().contains(ta.rsplit(':').next().unwrap()));
    }

    #[test]
    fn non_utf8_content_is_typed() {
        let keys = SealingKeyPair::generate();
        let sealed = keys.public_key().0.seal(&mut OsRng, &[0xff, 0xfe]).unwrap();
        let t = SealedToken {
            form: Form::V1,
            sealed,
        };
        assert_eq!(t.open_unbound_v1(&keys).unwrap_err(), SealError::NotUtf8);
        // A v2 box that does not hold a v2 plaintext.
        let sealed = keys
            .public_key()
            .0
            .seal(&mut OsRng, b"just a token")
            .unwrap();
        let t = SealedToken {
            form: Form::V2(keys.key_id()),
            sealed,
        };
        assert!(matches!(
            t.open(&keys, &tenant_a()),
            Err(SealError::Malformed { .. })
        ));
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
        let id: KeyId =
            serde_json::from_str(&serde_json::to_string(&keys.key_id()).unwrap()).unwrap();
        assert_eq!(id, keys.key_id());
    }
}
