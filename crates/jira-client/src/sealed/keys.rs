//! Sealing keys: the public half that seals, the secret half that opens,
//! their [`KeyId`], and a [`SealingKeyring`] of several secret keys for
//! rotation.

use super::error::SealError;
use super::{decode_base64, split_text};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crypto_box::aead::OsRng;
use crypto_box::{KEY_SIZE, PublicKey, SecretKey};
use secrecy::SecretString;
use secrecy::zeroize::Zeroizing;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

const PUBLIC_PREFIX: &str = "pxsealpub";
const SECRET_PREFIX: &str = "pxsealkey";
const KEY_VERSION: &str = "v1";

/// Length of a [`KeyId`] in bytes (12 characters of base64url).
pub(super) const KEY_ID_LEN: usize = 9;

/// Hashed before the public key, so a key id is never mistaken for any
/// other digest of the key.
const KEY_ID_DOMAIN: &[u8] = b"penaxtra sealing key id v1\0";

/// Which key pair a v2 sealed token was sealed for: the first 9 bytes of
/// SHA-256 over a fixed label and the public key, shown as 12 characters
/// of base64url. Derived from the public key, so it is not secret; it
/// appears in the clear in `pxsealed:v2:<key id>:…` so that the opener picks
/// the right secret key from a [`SealingKeyring`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; KEY_ID_LEN]);

impl KeyId {
    fn of(key: &PublicKey) -> Self {
        let digest = Sha256::new()
            .chain_update(KEY_ID_DOMAIN)
            .chain_update(key.as_bytes())
            .finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Self(id)
    }

    pub(super) fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        <[u8; KEY_ID_LEN]>::try_from(bytes)
            .map(Self)
            .map_err(|_| SealError::Malformed {
                what: "key id",
                reason: "a key id is 12 characters of base64url",
            })
    }

    /// The 9 bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_ID_LEN] {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl FromStr for KeyId {
    type Err = SealError;
    /// Reads the 12 characters of base64url.
    fn from_str(s: &str) -> Result<Self, SealError> {
        Self::from_bytes(&decode_base64(s, "key id")?)
    }
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

/// Reads `prefix:v1:<base64url of 32 bytes>`.
fn parse_key(
    text: &str,
    prefix: &str,
    what: &'static str,
) -> Result<Zeroizing<[u8; KEY_SIZE]>, SealError> {
    let (version, payload) = split_text(text, prefix, what)?;
    if version != KEY_VERSION {
        return Err(super::unknown_version(what, version));
    }
    key_bytes(&decode_base64(payload, what)?, what)
}

/// The public half: seals tokens. Not secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SealingPublicKey(pub(super) PublicKey);

impl SealingPublicKey {
    /// The id that sealed tokens name this key by.
    pub fn key_id(&self) -> KeyId {
        KeyId::of(&self.0)
    }
}

impl fmt::Display for SealingPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PUBLIC_PREFIX}:{KEY_VERSION}:{}",
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
        let key = parse_key(s, PUBLIC_PREFIX, "sealing public key")?;
        Ok(Self(PublicKey::from_bytes(*key)))
    }
}

/// The secret half: opens sealed tokens. `Debug` is redacted (it shows the
/// key id) and there is no `Display`; [`SealingSecretKey::to_text`] gives
/// the text form as a [`SecretString`].
#[derive(Clone)]
pub struct SealingSecretKey(pub(super) SecretKey);

impl SealingSecretKey {
    /// The text form, `pxsealkey:v1:...`, for a secret store.
    pub fn to_text(&self) -> SecretString {
        let bytes = Zeroizing::new(self.0.to_bytes());
        let encoded = Zeroizing::new(URL_SAFE_NO_PAD.encode(*bytes));
        SecretString::from(format!(
            "{SECRET_PREFIX}:{KEY_VERSION}:{}",
            encoded.as_str()
        ))
    }

    /// The matching public key.
    pub fn public_key(&self) -> SealingPublicKey {
        SealingPublicKey(self.0.public_key())
    }

    /// The id of the key pair (that of [`SealingSecretKey::public_key`]).
    pub fn key_id(&self) -> KeyId {
        self.public_key().key_id()
    }
}

impl fmt::Debug for SealingSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealingSecretKey({}, [redacted])", self.key_id())
    }
}

impl FromStr for SealingSecretKey {
    type Err = SealError;
    /// Reads `pxsealkey:v1:...`.
    fn from_str(s: &str) -> Result<Self, SealError> {
        let key = parse_key(s, SECRET_PREFIX, "sealing secret key")?;
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

    /// The id of the pair.
    pub fn key_id(&self) -> KeyId {
        self.secret.key_id()
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

/// Several secret keys by [`KeyId`], for rotation: while tokens sealed
/// for the old public key are resealed for the new one, the service holds
/// both secret keys and each token opens with the key its id names.
///
/// Its `FromStr` reads a key list as `secret_key_env` / `secret_key_file`
/// hold it: `pxsealkey:v1:…` entries separated by whitespace (newlines) or
/// commas; in a file, `#` starts a comment that runs to the end of the
/// line. An empty list, or any entry that is not a secret key, is refused.
#[derive(Clone, Default)]
pub struct SealingKeyring {
    keys: BTreeMap<KeyId, SealingSecretKey>,
}

impl SealingKeyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key; answers its id. The same key twice is held once.
    pub fn insert(&mut self, key: SealingSecretKey) -> KeyId {
        let id = key.key_id();
        self.keys.insert(id, key);
        id
    }

    /// The keyring with `key` added.
    #[must_use]
    pub fn with(mut self, key: SealingSecretKey) -> Self {
        self.insert(key);
        self
    }

    /// The key with this id.
    pub fn get(&self, id: &KeyId) -> Option<&SealingSecretKey> {
        self.keys.get(id)
    }

    /// Removes the key with this id (a retired key), answering it.
    pub fn remove(&mut self, id: &KeyId) -> Option<SealingSecretKey> {
        self.keys.remove(id)
    }

    /// The ids of the keys held, in order.
    pub fn key_ids(&self) -> Vec<KeyId> {
        self.keys.keys().copied().collect()
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl fmt::Debug for SealingKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingKeyring")
            .field("key_ids", &self.key_ids())
            .finish_non_exhaustive()
    }
}

impl From<SealingSecretKey> for SealingKeyring {
    fn from(key: SealingSecretKey) -> Self {
        Self::new().with(key)
    }
}

impl FromIterator<SealingSecretKey> for SealingKeyring {
    fn from_iter<I: IntoIterator<Item = SealingSecretKey>>(iter: I) -> Self {
        let mut ring = Self::new();
        for key in iter {
            ring.insert(key);
        }
        ring
    }
}

impl FromStr for SealingKeyring {
    type Err = SealError;
    /// Reads a key list (see the type's documentation).
    fn from_str(s: &str) -> Result<Self, SealError> {
        let mut ring = Self::new();
        let entries = s
            .lines()
            .map(|line| line.split('#').next().unwrap_or_default())
            .flat_map(|line| line.split(|c: char| c == ',' || c.is_whitespace()))
            .filter(|entry| !entry.is_empty());
        for (i, entry) in entries.enumerate() {
            let key =
                entry
                    .parse::<SealingSecretKey>()
                    .map_err(|error| SealError::KeyListEntry {
                        index: i + 1,
                        error: Box::new(error),
                    })?;
            ring.insert(key);
        }
        if ring.is_empty() {
            return Err(SealError::Malformed {
                what: "sealing key list",
                reason: "it holds no key",
            });
        }
        Ok(ring)
    }
}

mod private {
    pub trait Sealed {}
    impl Sealed for super::SealingSecretKey {}
    impl Sealed for super::SealingKeyPair {}
    impl Sealed for super::SealingKeyring {}
}

/// The secret keys a sealed token may be opened with: one
/// [`SealingSecretKey`], a [`SealingKeyPair`] or a [`SealingKeyring`].
/// Implemented by this crate only.
pub trait OpeningKeys: private::Sealed {
    /// The key with this id, if held.
    fn key_by_id(&self, id: &KeyId) -> Option<&SealingSecretKey>;
    /// Every key held, for a v1 token, which names none.
    fn all_keys(&self) -> Vec<&SealingSecretKey>;
}

impl OpeningKeys for SealingSecretKey {
    fn key_by_id(&self, id: &KeyId) -> Option<&SealingSecretKey> {
        (self.key_id() == *id).then_some(self)
    }
    fn all_keys(&self) -> Vec<&SealingSecretKey> {
        vec![self]
    }
}

impl OpeningKeys for SealingKeyPair {
    fn key_by_id(&self, id: &KeyId) -> Option<&SealingSecretKey> {
        self.secret.key_by_id(id)
    }
    fn all_keys(&self) -> Vec<&SealingSecretKey> {
        vec![&self.secret]
    }
}

impl OpeningKeys for SealingKeyring {
    fn key_by_id(&self, id: &KeyId) -> Option<&SealingSecretKey> {
        self.get(id)
    }
    fn all_keys(&self) -> Vec<&SealingSecretKey> {
        self.keys.values().collect()
    }
}
