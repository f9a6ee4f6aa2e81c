//! Deserialisation helpers for Aircall's looser shapes.

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer};
use std::fmt;

/// Nested objects (a call's `user`, `contact`, `number`) arrive as `{}` when unset: read an
/// empty object or `null` as `None`.
pub(crate) mod empty_as_none {
    use super::*;
    use serde::{Serialize, Serializer};

    pub(crate) fn deserialize<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: DeserializeOwned,
    {
        match Option::<serde_json::Value>::deserialize(d)? {
            None => Ok(None),
            Some(serde_json::Value::Object(m)) if m.is_empty() => Ok(None),
            Some(v) => T::deserialize(v).map(Some).map_err(de::Error::custom),
        }
    }

    pub(crate) fn serialize<S: Serializer, T: Serialize>(
        v: &Option<T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }
}

/// An identifier Aircall sends as a number in some places and a string in others.
pub(crate) mod id_string {
    use super::*;
    use serde::Serializer;

    struct V;
    impl de::Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an identifier (number or string)")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        d.deserialize_any(V)
    }

    pub(crate) fn serialize<S: Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v)
    }
}
