//! Entity types, named as Presidio names them, plus the types custom recognizers declare.

use std::fmt;
use std::str::FromStr;
use std::sync::RwLock;

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
    /// A person's name.
    Person,
    /// A place: a country, region or city.
    Location,
    /// A postal address: house number, street, unit, postcode and town, as one span.
    StreetAddress,
    /// An AWS access key id (`AKIA…`, `ASIA…`).
    AwsAccessKeyId,
    /// An AWS secret access key.
    AwsSecretAccessKey,
    /// A Google Cloud API key (`AIza…`).
    GcpApiKey,
    /// An Azure storage or Service Bus connection string with its key.
    AzureConnectionString,
    /// A GitHub token (`ghp_…`, `github_pat_…`).
    GithubToken,
    /// A GitLab token (`glpat-…`).
    GitlabToken,
    /// A Slack token (`xoxb-…`) or webhook URL.
    SlackToken,
    /// A Stripe secret or restricted key, or webhook secret.
    StripeKey,
    /// An OpenAI API key.
    OpenaiApiKey,
    /// An Anthropic API key.
    AnthropicApiKey,
    /// A private key in PEM armour.
    PrivateKey,
    /// A JSON Web Token.
    Jwt,
    /// A password: assigned to a password key, or inside a URL.
    Password,
    /// A database connection string with its credentials.
    DbConnectionString,
    /// Another secret assigned to a key that says so (`api_key=`, `client_secret:`).
    GenericSecret,
    /// A type a custom recognizer declares (`EMPLOYEE_ID`).
    Custom(CustomEntity),
}

/// A custom entity type: its name is interned once for the life of the process, so entity
/// types stay `Copy` and a configuration reloaded many times does not grow memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomEntity(u16);

/// Names of custom entity types, by index.
static CUSTOM: RwLock<Vec<&'static str>> = RwLock::new(Vec::new());

/// How many distinct custom entity types a process may declare.
pub const MAX_CUSTOM_ENTITIES: usize = 1024;

/// Why a name cannot be a custom entity type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntityNameError {
    /// Not of the form `UPPER_CASE_WITH_DIGITS`.
    #[error("entity type `{0}` must be 1 to 64 characters of A-Z, 0-9 and _, starting with a letter")]
    Malformed(String),
    /// Too many distinct custom types.
    #[error("more than {MAX_CUSTOM_ENTITIES} custom entity types")]
    TooMany,
}

impl EntityType {
    /// The entity type called `name`: a built-in one, or a custom one (declared now if new).
    pub fn declare(name: &str) -> Result<EntityType, EntityNameError> {
        if let Ok(builtin) = name.parse::<EntityType>() {
            return Ok(builtin);
        }
        let well_formed = (1..=64).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_uppercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !well_formed {
            return Err(EntityNameError::Malformed(name.to_string()));
        }
        let mut names = CUSTOM.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(i) = names.iter().position(|n| *n == name) {
            return Ok(EntityType::Custom(CustomEntity(i as u16)));
        }
        if names.len() >= MAX_CUSTOM_ENTITIES {
            return Err(EntityNameError::TooMany);
        }
        // Leaked once per distinct name, bounded by MAX_CUSTOM_ENTITIES.
        names.push(Box::leak(name.to_string().into_boxed_str()));
        Ok(EntityType::Custom(CustomEntity((names.len() - 1) as u16)))
    }

    fn custom_named(name: &str) -> Option<EntityType> {
        let names = CUSTOM.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
            .map(|i| EntityType::Custom(CustomEntity(i as u16)))
    }

    /// Every built-in entity type.
    pub const ALL: [EntityType; 33] = [
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
        EntityType::Person,
        EntityType::Location,
        EntityType::StreetAddress,
        EntityType::AwsAccessKeyId,
        EntityType::AwsSecretAccessKey,
        EntityType::GcpApiKey,
        EntityType::AzureConnectionString,
        EntityType::GithubToken,
        EntityType::GitlabToken,
        EntityType::SlackToken,
        EntityType::StripeKey,
        EntityType::OpenaiApiKey,
        EntityType::AnthropicApiKey,
        EntityType::PrivateKey,
        EntityType::Jwt,
        EntityType::Password,
        EntityType::DbConnectionString,
        EntityType::GenericSecret,
    ];

    /// The secret and credential types.
    pub const SECRETS: [EntityType; 15] = [
        EntityType::AwsAccessKeyId,
        EntityType::AwsSecretAccessKey,
        EntityType::GcpApiKey,
        EntityType::AzureConnectionString,
        EntityType::GithubToken,
        EntityType::GitlabToken,
        EntityType::SlackToken,
        EntityType::StripeKey,
        EntityType::OpenaiApiKey,
        EntityType::AnthropicApiKey,
        EntityType::PrivateKey,
        EntityType::Jwt,
        EntityType::Password,
        EntityType::DbConnectionString,
        EntityType::GenericSecret,
    ];

    /// Whether this is a secret or credential rather than personal data.
    pub fn is_secret(self) -> bool {
        EntityType::SECRETS.contains(&self)
    }

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
            EntityType::Person => "PERSON",
            EntityType::Location => "LOCATION",
            EntityType::StreetAddress => "STREET_ADDRESS",
            EntityType::AwsAccessKeyId => "AWS_ACCESS_KEY_ID",
            EntityType::AwsSecretAccessKey => "AWS_SECRET_ACCESS_KEY",
            EntityType::GcpApiKey => "GCP_API_KEY",
            EntityType::AzureConnectionString => "AZURE_CONNECTION_STRING",
            EntityType::GithubToken => "GITHUB_TOKEN",
            EntityType::GitlabToken => "GITLAB_TOKEN",
            EntityType::SlackToken => "SLACK_TOKEN",
            EntityType::StripeKey => "STRIPE_KEY",
            EntityType::OpenaiApiKey => "OPENAI_API_KEY",
            EntityType::AnthropicApiKey => "ANTHROPIC_API_KEY",
            EntityType::PrivateKey => "PRIVATE_KEY",
            EntityType::Jwt => "JWT",
            EntityType::Password => "PASSWORD",
            EntityType::DbConnectionString => "DB_CONNECTION_STRING",
            EntityType::GenericSecret => "GENERIC_SECRET",
            EntityType::Custom(CustomEntity(i)) => {
                let names = CUSTOM.read().unwrap_or_else(|poisoned| poisoned.into_inner());
                names.get(i as usize).copied().unwrap_or("CUSTOM")
            }
        }
    }
}

impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no entity type (built in, or declared by a custom recognizer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown entity type `{0}`")]
pub struct UnknownEntity(pub String);

impl FromStr for EntityType {
    type Err = UnknownEntity;
    fn from_str(s: &str) -> Result<Self, UnknownEntity> {
        EntityType::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(s))
            .or_else(|| EntityType::custom_named(s))
            .ok_or_else(|| UnknownEntity(s.to_string()))
    }
}

impl serde::Serialize for EntityType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_types_are_interned_and_checked() {
        let a = EntityType::declare("EMPLOYEE_ID").unwrap();
        assert_eq!(EntityType::declare("EMPLOYEE_ID").unwrap(), a);
        assert_eq!(a.as_str(), "EMPLOYEE_ID");
        assert_eq!("employee_id".parse::<EntityType>().unwrap(), a);
        assert_eq!(EntityType::declare("PERSON").unwrap(), EntityType::Person);
        for bad in ["", "lower", "1ABC", "WITH SPACE", &"A".repeat(65)] {
            assert!(EntityType::declare(bad).is_err(), "{bad}");
        }
    }
}
