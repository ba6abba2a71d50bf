//! Entity types, named as Presidio names them.

use std::fmt;
use std::str::FromStr;

/// A kind of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityType {
    /// An e-mail address.
    EmailAddress,
    /// A telephone number.
    PhoneNumber,
    /// A payment card number.
    CreditCard,
    /// An international bank account number.
    IbanCode,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// A URL.
    Url,
    /// A cryptocurrency (Bitcoin) address.
    Crypto,
    /// An absolute date or date-time.
    DateTime,
    /// A US Social Security number.
    UsSsn,
    /// A US Individual Taxpayer Identification Number.
    UsItin,
    /// A US passport number.
    UsPassport,
    /// A US driver's license number.
    UsDriverLicense,
    /// A US bank account number.
    UsBankNumber,
    /// A UK NHS number.
    UkNhs,
    /// A medical license (DEA) number.
    MedicalLicense,
}

impl EntityType {
    /// Every entity type.
    pub const ALL: [EntityType; 15] = [
        EntityType::EmailAddress,
        EntityType::PhoneNumber,
        EntityType::CreditCard,
        EntityType::IbanCode,
        EntityType::IpAddress,
        EntityType::Url,
        EntityType::Crypto,
        EntityType::DateTime,
        EntityType::UsSsn,
        EntityType::UsItin,
        EntityType::UsPassport,
        EntityType::UsDriverLicense,
        EntityType::UsBankNumber,
        EntityType::UkNhs,
        EntityType::MedicalLicense,
    ];

    /// Presidio's name (`EMAIL_ADDRESS`).
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::EmailAddress => "EMAIL_ADDRESS",
            EntityType::PhoneNumber => "PHONE_NUMBER",
            EntityType::CreditCard => "CREDIT_CARD",
            EntityType::IbanCode => "IBAN_CODE",
            EntityType::IpAddress => "IP_ADDRESS",
            EntityType::Url => "URL",
            EntityType::Crypto => "CRYPTO",
            EntityType::DateTime => "DATE_TIME",
            EntityType::UsSsn => "US_SSN",
            EntityType::UsItin => "US_ITIN",
            EntityType::UsPassport => "US_PASSPORT",
            EntityType::UsDriverLicense => "US_DRIVER_LICENSE",
            EntityType::UsBankNumber => "US_BANK_NUMBER",
            EntityType::UkNhs => "UK_NHS",
            EntityType::MedicalLicense => "MEDICAL_LICENSE",
        }
    }
}

impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no entity type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown entity type `{0}`")]
pub struct UnknownEntity(pub String);

impl FromStr for EntityType {
    type Err = UnknownEntity;
    fn from_str(s: &str) -> Result<Self, UnknownEntity> {
        EntityType::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownEntity(s.to_string()))
    }
}

impl serde::Serialize for EntityType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
