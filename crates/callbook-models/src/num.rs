//! Lenient numbers: Calendly types some counters as `number(double)` and some amounts as
//! strings. These helpers accept what is actually sent without losing precision.

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use std::fmt;

/// A count sent as an integer, or as a float with no fractional part (`3` or `3.0`).
pub(crate) mod count {
    use super::*;

    struct V;
    impl de::Visitor<'_> for V {
        type Value = u32;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative whole number")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u32, E> {
            u32::try_from(v).map_err(|_| E::custom("count out of range"))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u32, E> {
            u32::try_from(v).map_err(|_| E::custom("count out of range"))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<u32, E> {
            if v.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&v) {
                Ok(v as u32)
            } else {
                Err(E::custom(format_args!("{v} is not a whole count")))
            }
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        d.deserialize_any(V)
    }

    pub(crate) fn serialize<S: Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(*v)
    }
}

/// A decimal amount that Calendly sends as a JSON number (`1234.56`, 2023 spec and examples)
/// or as a string (`"1234.56"`, 2026 spec). The text is kept exactly, and written back in the
/// form it came in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Amount {
    text: String,
    quoted: bool,
}

impl Amount {
    /// An amount from its decimal text (written back as a string).
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            quoted: true,
        }
    }

    /// The amount as text, exactly as sent.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The amount as a float (for display; use [`Amount::as_str`] for money arithmetic).
    pub fn to_f64(&self) -> Option<f64> {
        self.text.parse().ok()
    }

    fn number(text: String) -> Self {
        Self {
            text,
            quoted: false,
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !self.quoted {
            if let Ok(n) = self.text.parse::<i64>() {
                return s.serialize_i64(n);
            }
            if let Ok(n) = self.text.parse::<f64>() {
                return s.serialize_f64(n);
            }
        }
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount as a number or a string")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Amount, E> {
                Ok(Amount::number(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Amount, E> {
                Ok(Amount::number(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Amount, E> {
                Ok(Amount::number(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Amount, E> {
                Ok(Amount::new(v))
            }
        }
        d.deserialize_any(V)
    }
}
