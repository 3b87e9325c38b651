//! Signal names: short, stable identifiers of a fingerprint kind (`video_phash`, later
//! `audio_...`), stored with every frame run, index term and match.
//!
//! Held inline (at most [`SignalName::MAX_LEN`] bytes) so that [`crate::Segment`] stays `Copy`
//! and a name read from disk or a worker's pipe never allocates or leaks; validated on every
//! construction, so a hostile or damaged record cannot smuggle arbitrary bytes into a page.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The first signal type: the 64-bit DCT pHash of sampled video frames.
pub const VIDEO_PHASH: SignalName = SignalName::from_static("video_phash");

/// A validated signal name: 1–24 bytes of `a-z`, `0-9` and `_`, starting with a letter.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SignalName {
    len: u8,
    bytes: [u8; SignalName::MAX_LEN],
}

/// Why a string is not a signal name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalNameError(String);

impl fmt::Display for SignalNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a signal name (1-{} of a-z, 0-9, _, from a letter): {:?}",
            SignalName::MAX_LEN,
            self.0
        )
    }
}

impl std::error::Error for SignalNameError {}

const fn valid(bytes: &[u8]) -> bool {
    if bytes.is_empty() || bytes.len() > SignalName::MAX_LEN || !bytes[0].is_ascii_lowercase() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return false;
        }
        i += 1;
    }
    true
}

impl SignalName {
    /// Longest name in bytes.
    pub const MAX_LEN: usize = 24;

    /// A name known at compile time; an invalid one fails the build (const evaluation).
    pub const fn from_static(name: &'static str) -> SignalName {
        let src = name.as_bytes();
        assert!(valid(src), "invalid signal name");
        let mut bytes = [0u8; SignalName::MAX_LEN];
        let mut i = 0;
        while i < src.len() {
            bytes[i] = src[i];
            i += 1;
        }
        SignalName {
            len: src.len() as u8,
            bytes,
        }
    }

    /// Parses and validates a name.
    pub fn new(name: &str) -> Result<SignalName, SignalNameError> {
        let src = name.as_bytes();
        if !valid(src) {
            return Err(SignalNameError(name.chars().take(40).collect()));
        }
        let mut bytes = [0u8; SignalName::MAX_LEN];
        bytes[..src.len()].copy_from_slice(src);
        Ok(SignalName {
            len: src.len() as u8,
            bytes,
        })
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        // Only validated ASCII is ever stored.
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }
}

impl fmt::Display for SignalName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SignalName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignalName({})", self.as_str())
    }
}

impl std::str::FromStr for SignalName {
    type Err = SignalNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SignalName::new(s)
    }
}

impl Serialize for SignalName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SignalName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        SignalName::new(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_ones_are_refused() {
        assert_eq!(SignalName::new("video_phash"), Ok(VIDEO_PHASH));
        assert_eq!(VIDEO_PHASH.as_str(), "video_phash");
        for bad in ["", "Video", "1abc", "a-b", "a b", "é", &"a".repeat(25)] {
            assert!(SignalName::new(bad).is_err(), "{bad:?} accepted");
        }
        let json = serde_json::to_string(&VIDEO_PHASH).expect("json");
        assert_eq!(json, "\"video_phash\"");
        assert!(serde_json::from_str::<SignalName>("\"<script>\"").is_err());
    }
}
