//! Key material: redacted in `Debug`, zeroed on drop.

use std::fmt;
use zeroize::Zeroizing;

/// A shared secret as raw bytes.
///
/// `Debug` prints `[redacted]`; the bytes are zeroed when dropped.
#[derive(Clone)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self(Zeroizing::new(bytes.into()))
    }

    /// The key bytes. Do not log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Whether the key is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self::from_bytes(s.as_bytes())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self::from_bytes(s.into_bytes())
    }
}

/// From the secret type callbook-client and callbook-server hold tokens and keys in.
impl From<&secrecy::SecretString> for Secret {
    fn from(s: &secrecy::SecretString) -> Self {
        use secrecy::ExposeSecret;
        Self::from_bytes(s.expose_secret().as_bytes())
    }
}

impl From<secrecy::SecretString> for Secret {
    fn from(s: secrecy::SecretString) -> Self {
        Self::from(&s)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Compares two secrets (tokens, passwords) without telling how much of them matched, nor
/// their lengths: both are hashed with SHA-256 and the digests compared in constant time.
/// Equal digests mean equal inputs, short of a SHA-256 collision.
///
/// ```
/// use callbook_signature::constant_time_eq;
/// assert!(constant_time_eq(b"token-a", b"token-a"));
/// assert!(!constant_time_eq(b"token-a", b"token-ab"));
/// ```
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::Digest;
    let a: [u8; 32] = sha2::Sha256::digest(a).into();
    let b: [u8; 32] = sha2::Sha256::digest(b).into();
    ct_eq32(&a, &b)
}

pub(crate) use constant_time_eq as ct_eq;

/// Two MACs compared in constant time: every byte is visited, differences are OR-folded, and
/// the fold is hidden from the optimiser before the single comparison.
pub(crate) fn ct_eq32(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// HMAC-SHA256 of `parts` concatenated, fed one after the other so no part is copied.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match Hmac::<sha2::Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}
