//! Timestamps.
//!
//! One datetime crate throughout: [`chrono`]. Calendly sends RFC 3339 strings with 0, 3 or 6
//! fractional digits; Aircall sends UNIX seconds in REST and in most webhooks, but ISO strings
//! in contact webhooks. [`unix_or_rfc3339`] accepts both.

use chrono::{DateTime, Utc};

/// A UTC instant.
pub type Timestamp = DateTime<Utc>;

/// Serde helpers for a timestamp that arrives as UNIX seconds or as an RFC 3339 string.
///
/// Serialises as UNIX seconds (Aircall's REST form).
pub mod unix_or_rfc3339 {
    use super::Timestamp;
    use chrono::DateTime;
    use serde::{Deserializer, Serializer, de};
    use std::fmt;

    pub(crate) struct Visitor;

    impl de::Visitor<'_> for Visitor {
        type Value = Timestamp;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("UNIX seconds or an RFC 3339 timestamp")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
            DateTime::from_timestamp(v, 0)
                .ok_or_else(|| E::custom(format_args!("timestamp {v} is out of range")))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
            let v = i64::try_from(v).map_err(|_| E::custom("timestamp is out of range"))?;
            self.visit_i64(v)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
            if !v.is_finite() {
                return Err(E::custom("timestamp is not a finite number"));
            }
            // Whole seconds: Aircall never sends fractions, but some tools re-encode as floats.
            self.visit_i64(v.trunc() as i64)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
            if let Ok(secs) = v.parse::<i64>() {
                return self.visit_i64(secs);
            }
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.to_utc())
                .map_err(|e| E::custom(format_args!("invalid timestamp {v:?}: {e}")))
        }
    }

    /// Deserialises UNIX seconds or an RFC 3339 string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        d.deserialize_any(Visitor)
    }

    /// Serialises as UNIX seconds.
    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(t.timestamp())
    }

    /// The same for an optional (nullable or absent) timestamp.
    pub mod option {
        use super::super::Timestamp;
        use serde::{Deserializer, Serializer, de};
        use std::fmt;

        struct OptVisitor;
        impl<'de> de::Visitor<'de> for OptVisitor {
            type Value = Option<Timestamp>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("null, UNIX seconds or an RFC 3339 timestamp")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                super::deserialize(d).map(Some)
            }
        }

        /// Deserialises null, UNIX seconds or an RFC 3339 string.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
            d.deserialize_option(OptVisitor)
        }

        /// Serialises as UNIX seconds or null.
        pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_some(&t.timestamp()),
                None => s.serialize_none(),
            }
        }
    }
}
