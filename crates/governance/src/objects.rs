//! Deserialization helpers that take structs only as JSON objects.
//!
//! serde's derived `Deserialize` also accepts a struct written as an array of its fields in
//! order (`[true, null]` for `{"genai_enabled": true, "third_party_finetune_enabled": null}`).
//! The API describes objects and must refuse anything else, so fields holding structs go
//! through these helpers.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// `T`, taken only from a map. The struct's own visitor reads the map through the caller's
/// deserializer, so a path-tracking one still names nested fields.
struct ObjectOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Only<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Only<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Only(PhantomData)).map(ObjectOnly)
    }
}

/// A struct, written as an object.
pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    ObjectOnly::deserialize(d).map(|o| o.0)
}

/// An optional struct, written as an object (absent or `null` is `None`).
pub fn option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<ObjectOnly<T>>::deserialize(d).map(|o| o.map(|o| o.0))
}

/// A list of structs, each written as an object.
pub fn vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Vec::<ObjectOnly<T>>::deserialize(d).map(|v| v.into_iter().map(|o| o.0).collect())
}

/// A map of structs, each written as an object.
pub fn map<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<BTreeMap<String, T>, D::Error> {
    BTreeMap::<String, ObjectOnly<T>>::deserialize(d).map(|m| m.into_iter().map(|(k, o)| (k, o.0)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        a: Option<bool>,
    }

    #[derive(Debug, Deserialize)]
    struct Outer {
        #[serde(default, deserialize_with = "option")]
        one: Option<Inner>,
        #[serde(default, deserialize_with = "map")]
        many: BTreeMap<String, Inner>,
        #[serde(default, deserialize_with = "vec")]
        list: Vec<Inner>,
    }

    #[test]
    fn structs_are_objects_only() {
        let ok: Outer =
            serde_json::from_str(r#"{"one": {"a": true}, "many": {"x": {}}, "list": [{"a": null}]}"#).unwrap();
        assert_eq!(ok.one, Some(Inner { a: Some(true) }));
        assert_eq!(ok.many["x"], Inner { a: None });
        assert_eq!(ok.list, vec![Inner { a: None }]);
        assert!(serde_json::from_str::<Outer>(r#"{"one": null}"#).unwrap().one.is_none());
        for bad in [
            r#"{"one": [true]}"#,
            r#"{"many": {"x": [null]}}"#,
            r#"{"list": [[true]]}"#,
        ] {
            assert!(serde_json::from_str::<Outer>(bad).is_err(), "{bad}");
        }
    }
}
