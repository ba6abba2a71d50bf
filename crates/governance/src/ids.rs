//! Typed, prefixed identifiers (`org_…`, `ten_…`), so an id of one kind is never taken for another.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// An identifier string that did not parse as the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind} id (expected `{prefix}` followed by 32 hex digits)")]
pub struct IdParseError {
    /// What kind of id was expected.
    pub kind: &'static str,
    /// The prefix that kind carries.
    pub prefix: &'static str,
    /// The input, truncated for display.
    pub value: String,
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A new, time-ordered id (UUIDv7), so ids sort by creation.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefix, self.0.simple())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let err = || IdParseError {
                    kind: $kind,
                    prefix: $prefix,
                    value: s.chars().take(80).collect(),
                };
                let rest = s.strip_prefix($prefix).ok_or_else(err)?;
                if rest.len() != 32 {
                    return Err(err());
                }
                Uuid::try_parse(rest).map(Self).map_err(|_| err())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some(concat!("^", $prefix, "[0-9a-f]{32}$")))
                    .description(Some(concat!("A ", $kind, " id.")))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

prefixed_id!(
    /// An organization: the customer, the party to the contract.
    OrgId, "org_", "organization"
);
prefixed_id!(
    /// A tenant: an isolated environment of one organization, pinned to a region.
    TenantId, "ten_", "tenant"
);
prefixed_id!(
    /// A recorded training opt-out.
    OptOutId, "opt_", "opt-out"
);
prefixed_id!(
    /// A support access grant given by a customer.
    GrantId, "grt_", "support grant"
);
prefixed_id!(
    /// An API key (its public identifier, never the secret).
    KeyId, "key_", "API key"
);
prefixed_id!(
    /// A customer data record in the vault.
    RecordId, "rec_", "record"
);
prefixed_id!(
    /// A background job (key rotation, row removal, termination).
    JobId, "job_", "job"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_kinds() {
        let id = OrgId::generate();
        let s = id.to_string();
        assert!(s.starts_with("org_"));
        assert_eq!(s.parse::<OrgId>().unwrap(), id);
        assert!(s.parse::<TenantId>().is_err());
        assert!("org_".parse::<OrgId>().is_err());
        assert!("org_zz".parse::<OrgId>().is_err());
        assert!(format!("{s}0").parse::<OrgId>().is_err());
    }

    #[test]
    fn ids_sort_by_creation() {
        let a = TenantId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = TenantId::generate();
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
    }
}
