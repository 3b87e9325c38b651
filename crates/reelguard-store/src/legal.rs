//! Members as legal parties: the identity a takedown notice names for the rights holder
//! (registration id, contact person, phone, email, address) — the record and the trait a store
//! implements for it.
//!
//! The decision that shapes this module: the legal profile lives in its own table beside
//! `members`, not in it, so authentication and every listing that joins `members` stay as they
//! were, and a profile can be filled in later than the member is created (a key is often made
//! before the paperwork arrives). Every field is optional at rest; what a notice needs is
//! checked where a notice is issued, which names exactly what is missing.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// What a notice says about a rights holder. Every field is optional until a notice needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LegalProfile {
    /// The unified social credit code (统一社会信用代码) or another registration number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_id: Option<String>,
    /// The person to contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Postal address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// Longest value of a profile field, in bytes.
pub const MAX_FIELD_BYTES: usize = 500;

impl LegalProfile {
    /// The fields by their API names, in the order a notice lists them.
    pub fn fields(&self) -> [(&'static str, Option<&str>); 5] {
        [
            ("registration_id", self.registration_id.as_deref()),
            ("contact", self.contact.as_deref()),
            ("phone", self.phone.as_deref()),
            ("email", self.email.as_deref()),
            ("address", self.address.as_deref()),
        ]
    }

    /// The names of the fields that are empty: what a notice would lack.
    pub fn missing(&self) -> Vec<&'static str> {
        self.fields()
            .into_iter()
            .filter(|(_, v)| v.is_none_or(|v| v.trim().is_empty()))
            .map(|(name, _)| name)
            .collect()
    }

    /// This profile with every field `other` sets replaced (a PATCH): `Some("")` clears one.
    pub fn patched(&self, other: &LegalProfile) -> LegalProfile {
        let pick = |mine: &Option<String>, theirs: &Option<String>| match theirs {
            Some(v) if v.trim().is_empty() => None,
            Some(v) => Some(v.trim().to_string()),
            None => mine.clone(),
        };
        LegalProfile {
            registration_id: pick(&self.registration_id, &other.registration_id),
            contact: pick(&self.contact, &other.contact),
            phone: pick(&self.phone, &other.phone),
            email: pick(&self.email, &other.email),
            address: pick(&self.address, &other.address),
        }
    }

    /// Refuses a field longer than [`MAX_FIELD_BYTES`] or holding control characters.
    pub fn validate(&self) -> Result<(), StoreError> {
        for (name, value) in self.fields() {
            let Some(value) = value else { continue };
            if value.len() > MAX_FIELD_BYTES {
                return Err(StoreError::Invalid(format!(
                    "{name} is longer than {MAX_FIELD_BYTES} bytes"
                )));
            }
            if value.chars().any(|c| c.is_control() && c != '\n') {
                return Err(StoreError::Invalid(format!(
                    "{name} holds control characters"
                )));
            }
        }
        Ok(())
    }
}

/// Members' legal profiles.
pub trait LegalProfiles {
    /// Replaces a member's profile. [`StoreError::NotFound`] if there is no such member.
    fn set_legal_profile(&self, member_id: i64, profile: &LegalProfile) -> Result<(), StoreError>;

    /// A member's profile (empty if none was ever set).
    fn legal_profile(&self, member_id: i64) -> Result<LegalProfile, StoreError>;

    /// Every member's profile that was set, by member id (one query for a listing).
    fn legal_profiles(&self) -> Result<HashMap<i64, LegalProfile>, StoreError>;
}
