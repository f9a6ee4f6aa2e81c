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

/// Serde helpers for Calendly's RFC 3339 timestamps, parsed faster than chrono's general
/// parser for the forms Calendly sends (`2020-11-23T17:51:19.123456Z`, or with a numeric
/// offset). Anything else goes to chrono, so exactly the same strings are accepted and they
/// mean the same instants.
pub mod rfc3339 {
    use super::Timestamp;
    use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
    use serde::{Deserializer, de};
    use std::fmt;

    /// Parses an RFC 3339 timestamp as chrono's `DateTime<Utc>` deserialiser does.
    pub fn parse(s: &str) -> Option<Timestamp> {
        fast(s.as_bytes()).or_else(|| s.parse::<DateTime<Utc>>().ok())
    }

    /// `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`, or `None` to let chrono decide.
    fn fast(b: &[u8]) -> Option<Timestamp> {
        fn digits(b: &[u8]) -> Option<u32> {
            b.iter().try_fold(0u32, |n, &c| {
                c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
            })
        }
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
            return None;
        }
        if b[16] != b':' {
            return None;
        }
        let date = NaiveDate::from_ymd_opt(
            i32::try_from(digits(&b[0..4])?).ok()?,
            digits(&b[5..7])?,
            digits(&b[8..10])?,
        )?;
        let (hour, minute, second) = (
            digits(&b[11..13])?,
            digits(&b[14..16])?,
            digits(&b[17..19])?,
        );
        let mut rest = &b[19..];
        let mut nanos = 0;
        if let Some((b'.', fraction)) = rest.split_first() {
            let len = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
            if len == 0 || len > 9 {
                return None;
            }
            nanos = digits(&fraction[..len])? * 10u32.pow(9 - len as u32);
            rest = &fraction[len..];
        }
        let offset_secs = match rest {
            [b'Z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let secs = i64::from(digits(&[*h1, *h2])? * 3600 + digits(&[*m1, *m2])? * 60);
                if secs >= 86_400 {
                    return None;
                }
                if *sign == b'-' { -secs } else { secs }
            }
            _ => return None,
        };
        let local = date
            .and_hms_nano_opt(hour, minute, second, nanos)?
            .and_utc();
        if offset_secs == 0 {
            return Some(local);
        }
        local.checked_sub_signed(TimeDelta::seconds(offset_secs))
    }

    struct Visitor;

    impl de::Visitor<'_> for Visitor {
        type Value = Timestamp;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an RFC 3339 timestamp")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
            parse(v).ok_or_else(|| E::custom(format_args!("invalid timestamp {v:?}")))
        }
    }

    /// A timestamp read with [`deserialize`], for hand-written visitors.
    pub(crate) struct Rfc3339(pub(crate) Timestamp);

    impl<'de> serde::Deserialize<'de> for Rfc3339 {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            deserialize(d).map(Rfc3339)
        }
    }

    /// Deserialises an RFC 3339 string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        d.deserialize_str(Visitor)
    }

    /// The same for an optional (nullable or absent) timestamp; pair with `default`.
    pub fn option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        struct OptVisitor;
        impl<'de> de::Visitor<'de> for OptVisitor {
            type Value = Option<Timestamp>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("null or an RFC 3339 timestamp")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                deserialize(d).map(Some)
            }
        }
        d.deserialize_option(OptVisitor)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// The fast path agrees with chrono on everything it accepts, and leaves the rest to it.
        #[test]
        fn agrees_with_chrono() {
            let cases = [
                "2020-11-23T17:51:19Z",
                "2020-11-23T17:51:19.1Z",
                "2020-11-23T17:51:19.123456Z",
                "2020-11-23T17:51:19.123456789Z",
                "2020-11-23T17:51:19.000000Z",
                "2020-11-23T17:51:19+02:00",
                "2020-11-23T17:51:19.5-07:30",
                "2020-11-23T00:30:00+23:59",
                "2024-02-29T23:59:59Z",
                "2023-02-29T12:00:00Z",
                "2020-11-23T24:00:00Z",
                "2020-11-23T17:60:00Z",
                "2016-12-31T23:59:60Z",
                "2020-11-23t17:51:19z",
                "2020-11-23 17:51:19Z",
                "2020-11-23T17:51:19",
                "2020-11-23T17:51:19.Z",
                "2020-11-23T17:51:19.1234567890Z",
                "2020-11-23T17:51:19+2:00",
                "2020-11-23T17:51:19+24:00",
                "20201123T175119Z",
                "2020-1-23T17:51:19Z",
                "+2020-11-23T17:51:19Z",
                "2020-11-23T17:51:19ZZ",
                "",
                "not a time",
            ];
            for case in cases {
                let chrono = case.parse::<DateTime<Utc>>().ok();
                assert_eq!(parse(case), chrono, "{case:?}");
                if let Some(fast) = fast(case.as_bytes()) {
                    assert_eq!(Some(fast), chrono, "fast path on {case:?}");
                }
            }
            assert!(
                fast(b"2020-11-23T17:51:19.123456Z").is_some(),
                "the common form is fast"
            );
        }
    }
}
