//! API keys: generation and hashing. Generated keys are 256-bit random secrets, but the
//! bootstrap key from `DATAPACT_ADMIN_KEY` may be a human-chosen one, so what is stored is
//! not a plain hash: it is keyed (HMAC under a key sealed by the master secret, see
//! [`crate::Vault::api_key_hash`]), which keeps lookups one hash-map probe and makes a copy of
//! the database useless for testing guesses offline.

use sha2::{Digest, Sha256};

/// Prefix of every generated key, so keys are recognizable in secret scanners.
pub const KEY_PREFIX: &str = "dpk_";

/// Shortest secret accepted from `DATAPACT_ADMIN_KEY`.
pub const MIN_KEY_LEN: usize = 24;

/// The secret of an `Authorization: Bearer KEY` header value, if it is one.
pub fn bearer_secret(value: &str) -> Option<&str> {
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// SHA-256 of a key secret (the inner hash; the stored one is keyed over it).
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// A new random key secret.
pub fn generate_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{KEY_PREFIX}{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_prefixed() {
        let a = generate_secret().unwrap();
        let b = generate_secret().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(KEY_PREFIX) && a.len() == KEY_PREFIX.len() + 64);
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_ne!(hash_secret(&a), hash_secret(&b));
    }
}
