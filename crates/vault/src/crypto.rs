//! AEAD and random bytes, from aws-lc-rs. Nothing here implements a primitive: it only fixes
//! how datapact lays out a sealed value (`nonce ‖ ciphertext ‖ tag`) and handles key bytes.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::{Zeroize, Zeroizing};

use crate::VaultError;

/// Length of every symmetric key datapact uses (AES-256).
pub const KEY_LEN: usize = 32;
/// Bytes a sealed value adds to its plaintext (nonce and tag).
pub const OVERHEAD: usize = NONCE_LEN + 16;

/// Fills `buf` from the operating system's generator.
pub fn random(buf: &mut [u8]) -> Result<(), VaultError> {
    aws_lc_rs::rand::fill(buf).map_err(|_| VaultError::Crypto("the system random generator failed".into()))
}

/// 256 bits of key material, wiped from memory when dropped.
pub struct SecretKey(Zeroizing<[u8; KEY_LEN]>);

impl SecretKey {
    /// A new random key.
    pub fn generate() -> Result<Self, VaultError> {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        random(k.as_mut())?;
        Ok(Self(k))
    }

    /// A key from bytes; the source is wiped.
    pub fn from_bytes(bytes: &mut [u8]) -> Result<Self, VaultError> {
        if bytes.len() != KEY_LEN {
            bytes.zeroize();
            return Err(VaultError::Crypto(format!("a key must be {KEY_LEN} bytes")));
        }
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        k.copy_from_slice(bytes);
        bytes.zeroize();
        Ok(Self(k))
    }

    /// The raw bytes, for wrapping under another key.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// AES-256-GCM with a random 96-bit nonce per message.
///
/// aws-lc clears the expanded key schedule when the context is dropped.
pub struct Aead {
    key: LessSafeKey,
}

impl Aead {
    /// An AEAD context for `key`.
    pub fn new(key: &SecretKey) -> Result<Self, VaultError> {
        let unbound =
            UnboundKey::new(&AES_256_GCM, key.expose()).map_err(|_| VaultError::Crypto("invalid key".into()))?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
        })
    }

    /// Seals `plaintext`, bound to `aad`; returns `nonce ‖ ciphertext ‖ tag`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce)?;
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + 16);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut out[NONCE_LEN..],
            )
            .map_err(|_| VaultError::Crypto("encryption failed".into()))?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Opens a value sealed with [`Aead::seal`] under the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        if sealed.len() < OVERHEAD {
            return Err(VaultError::Crypto("sealed value is truncated".into()));
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[..NONCE_LEN]);
        let mut buf = sealed[NONCE_LEN..].to_vec();
        let len = self
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut buf)
            .map_err(|_| VaultError::Crypto("authentication failed: wrong key, wrong context or altered data".into()))?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_and_binds_the_context() {
        let k = SecretKey::generate().unwrap();
        let a = Aead::new(&k).unwrap();
        let sealed = a.seal(b"ctx", b"hello").unwrap();
        assert_eq!(sealed.len(), 5 + OVERHEAD);
        assert_eq!(a.open(b"ctx", &sealed).unwrap(), b"hello");
        assert!(a.open(b"other", &sealed).is_err());
        let mut flipped = sealed.clone();
        flipped[NONCE_LEN] ^= 1;
        assert!(a.open(b"ctx", &flipped).is_err());
        assert!(a.open(b"ctx", &sealed[..10]).is_err());
        let other = Aead::new(&SecretKey::generate().unwrap()).unwrap();
        assert!(other.open(b"ctx", &sealed).is_err());
        assert_ne!(a.seal(b"ctx", b"hello").unwrap(), sealed, "nonces are fresh");
    }
}
