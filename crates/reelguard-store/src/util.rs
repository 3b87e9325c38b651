//! Small pure helpers every store implementation shares: the clock, hex, key hashing and
//! random tokens.
//!
//! The decision that shapes them: the store has one time type (integer Unix seconds, portable
//! to any SQL engine) and stores secrets only as SHA-256 hex, so both live here once.

use sha2::{Digest, Sha256};

use crate::error::StoreError;

/// Seconds since the Unix epoch: the store's only time type.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// The stored form of an API key (and of a session token): lowercase hex SHA-256.
pub fn key_hash(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

/// Whether two secrets (or their digests) are equal, in time that depends only on their
/// lengths: key hashes and CSRF tokens are compared this way, never with `==`.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// 32 random bytes as lowercase hex (session tokens, CSRF tokens, lease tokens).
pub fn random_token() -> Result<String, StoreError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(hex(&secret))
}
