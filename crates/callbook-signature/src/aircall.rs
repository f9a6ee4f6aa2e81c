//! Aircall: the webhook's shared `token`, inside the JSON body.
//!
//! Aircall does not sign deliveries. Each body carries the token of the webhook that sent it;
//! the token also tells which Aircall account it came from, so one receiver can serve several
//! accounts. The token is read from the raw bytes without building the whole model, and
//! compared in constant time.

use crate::Error;
use crate::secret::{Secret, ct_eq};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// Reads the top-level `token` string of a JSON body, skipping everything else.
pub fn extract_token(body: &[u8]) -> Result<Cow<'_, str>, Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let found = TokenSeed.deserialize(&mut de).map_err(json_error)?;
    de.end().map_err(json_error)?;
    match found {
        Found::Token(token) => Ok(token),
        Found::NotString => Err(Error::TokenNotString),
        Found::Missing => Err(Error::MissingToken),
    }
}

fn json_error(e: serde_json::Error) -> Error {
    // Only the position: serde_json messages can quote input.
    Error::InvalidJson {
        line: e.line(),
        column: e.column(),
    }
}

enum Found<'a> {
    Token(Cow<'a, str>),
    NotString,
    Missing,
}

struct TokenSeed;

impl<'de> DeserializeSeed<'de> for TokenSeed {
    type Value = Found<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Found<'de>, D::Error> {
        d.deserialize_map(TopLevel)
    }
}

struct TopLevel;

impl<'de> Visitor<'de> for TopLevel {
    type Value = Found<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found<'de>, A::Error> {
        let mut found = Found::Missing;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "token" {
                found = map.next_value::<TokenValue<'de>>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Any JSON value; a string becomes the token, anything else "not a string".
struct TokenValue<'de>(Found<'de>);

impl<'de> de::Deserialize<'de> for TokenValue<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TokenValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(TokenValue(Found::Token(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(TokenValue(Found::Token(Cow::Owned(v.to_owned()))))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(TokenValue(Found::NotString))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(TokenValue(Found::NotString))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(TokenValue(Found::NotString))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(TokenValue(Found::NotString))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(TokenValue(Found::NotString))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(TokenValue(Found::NotString))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(TokenValue(Found::NotString))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(TokenValue(Found::NotString))
            }
        }
        d.deserialize_any(V)
    }
}

/// Checks Aircall deliveries against one or more webhook tokens.
#[derive(Clone)]
pub struct Verifier {
    tokens: Vec<Secret>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("aircall::Verifier")
            .field("tokens", &format_args!("[{} redacted]", self.tokens.len()))
            .finish()
    }
}

impl Verifier {
    /// A verifier for the given tokens (one per Aircall webhook or account).
    pub fn new<T: Into<Secret>>(tokens: impl IntoIterator<Item = T>) -> Result<Self, Error> {
        let tokens: Vec<Secret> = tokens.into_iter().map(Into::into).collect();
        if tokens.is_empty() {
            return Err(Error::NoKeys);
        }
        if tokens.iter().any(Secret::is_empty) {
            return Err(Error::InvalidSecret {
                reason: "empty token",
            });
        }
        Ok(Self { tokens })
    }

    /// Verifies a raw body and returns the index of the configured token it carries.
    pub fn verify(&self, body: &[u8]) -> Result<usize, Error> {
        let token = extract_token(body)?;
        // Compare against every token so timing does not tell which one matched.
        let mut found = None;
        for (i, expected) in self.tokens.iter().enumerate() {
            if ct_eq(expected.expose(), token.as_bytes()) && found.is_none() {
                found = Some(i);
            }
        }
        found.ok_or(Error::TokenMismatch)
    }
}
