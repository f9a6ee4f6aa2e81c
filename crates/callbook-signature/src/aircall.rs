//! Aircall: the webhook's shared `token`, inside the JSON body.
//!
//! Aircall does not sign deliveries. Each body carries the token of the webhook that sent it;
//! the token also tells which Aircall account it came from, so one receiver can serve several
//! accounts. The token is read from the raw bytes without building the whole model, and
//! compared in constant time.

use crate::Error;
use crate::secret::{Secret, ct_eq};
use crate::verified::{self, Verified};
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

mod capture;

/// Reads the top-level `token` string of a JSON body, skipping everything else.
pub fn extract_token(body: &[u8]) -> Result<Cow<'_, str>, Error> {
    scan(body).and_then(|s| s.token())
}

/// The body with the value of its top-level `token` replaced by `""`, every other byte as it
/// was.
///
/// The token is Aircall's only credential: whoever holds it can forge deliveries. Keep it out
/// of storage, logs and anything forwarded; [`Verifier::verify_and_redact`] checks and removes
/// it in one pass.
///
/// ```
/// let body = br#"{"event":"call.created","token":"secret","data":{"id":1}}"#;
/// let redacted = callbook_signature::aircall::redact_token(body).unwrap();
/// assert_eq!(redacted, br#"{"event":"call.created","token":"","data":{"id":1}}"#);
/// ```
pub fn redact_token(body: &[u8]) -> Result<Vec<u8>, Error> {
    Ok(scan(body)?.redacted(body))
}

/// What one pass over a body finds: the token, and where every top-level `token` value sits.
struct Scan<'a> {
    found: Found<'a>,
    /// Byte ranges of every top-level `token` value (a duplicated key counts each time).
    spans: Vec<std::ops::Range<usize>>,
}

impl<'a> Scan<'a> {
    fn token(self) -> Result<Cow<'a, str>, Error> {
        match self.found {
            Found::Token(token) => Ok(token),
            Found::NotString => Err(Error::TokenNotString),
            Found::Missing => Err(Error::MissingToken),
        }
    }

    fn redacted(&self, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(body.len());
        let mut at = 0;
        for span in &self.spans {
            out.extend_from_slice(&body[at..span.start]);
            out.extend_from_slice(b"\"\"");
            at = span.end;
        }
        out.extend_from_slice(&body[at..]);
        out
    }
}

fn scan(body: &[u8]) -> Result<Scan<'_>, Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let values = TokenSeed.deserialize(&mut de).map_err(json_error)?;
    de.end().map_err(json_error)?;
    let base = body.as_ptr() as usize;
    let mut spans = Vec::with_capacity(values.len());
    let mut found = Found::Missing;
    for raw in values {
        let text = raw.get();
        // A borrowed RawValue is a slice of `body`: its address gives its place.
        let start = (text.as_ptr() as usize).wrapping_sub(base);
        if start > body.len() || start + text.len() > body.len() {
            return Err(Error::InvalidJson { line: 0, column: 0 });
        }
        spans.push(start..start + text.len());
        // The last `token` wins, as in any JSON object reader.
        found = match serde_json::from_str::<Cow<'_, str>>(text) {
            Ok(token) => Found::Token(token),
            Err(_) => Found::NotString,
        };
    }
    Ok(Scan { found, spans })
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
    type Value = Vec<&'de RawValue>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(TopLevel)
    }
}

/// The top-level object: the raw text of each `token` value, everything else skipped.
struct TopLevel;

impl<'de> Visitor<'de> for TopLevel {
    type Value = Vec<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut tokens = Vec::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "token" {
                tokens.push(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(tokens)
    }
}

/// Checks Aircall deliveries against one or more webhook tokens.
#[derive(Clone)]
pub struct Verifier {
    // Shared: verifiers are cloned into request handlers (axum state), keys are not.
    tokens: Arc<[Secret]>,
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
        Ok(Self {
            tokens: tokens.into(),
        })
    }

    /// Verifies a raw body; [`Verified::key_index`] is the index of the configured token it
    /// carries (with one token per account: which account sent it).
    pub fn verify(&self, body: &[u8]) -> Result<Verified, Error> {
        self.check(&extract_token(body)?)
    }

    /// Verifies a raw body and returns it with the token removed ([`redact_token`]), reading
    /// the body once.
    pub fn verify_and_redact(&self, body: &[u8]) -> Result<(Verified, Vec<u8>), Error> {
        let scan = scan(body)?;
        let redacted = scan.redacted(body);
        let verified = self.check(&scan.token()?)?;
        Ok((verified, redacted))
    }

    /// Verifies a raw body and parses it as `T` (usually `callbook_models::aircall::Webhook`)
    /// in the same pass: the token is taken out while `T` is built, and `T` sees `""` in its
    /// place, so the credential never lands in the parsed event. [`Verified::key_index`] tells
    /// which token matched.
    ///
    /// A body that is genuine but does not parse gives [`Error::InvalidPayload`]; a body that is
    /// not genuine gives the verification error, whatever else is wrong with it.
    ///
    /// ```
    /// use callbook_signature::aircall;
    ///
    /// let body = br#"{"event":"call.created","token":"tok-b","data":{"id":1}}"#;
    /// let verifier = aircall::Verifier::new(["tok-a", "tok-b"])?;
    /// let verified = verifier.construct_event::<serde_json::Value>(body)?;
    /// assert_eq!(verified.key_index, 1);
    /// assert_eq!(verified.event["token"], "");
    /// # Ok::<(), callbook_signature::Error>(())
    /// ```
    pub fn construct_event<T: DeserializeOwned>(&self, body: &[u8]) -> Result<Verified<T>, Error> {
        let mut found = Found::Missing;
        let mut de = serde_json::Deserializer::from_slice(body);
        let parsed = T::deserialize(capture::TopLevel::new(&mut de, &mut found))
            .and_then(|event| de.end().map(|()| event));
        match parsed {
            Ok(event) => {
                let token = Scan {
                    found,
                    spans: Vec::new(),
                }
                .token()?;
                Ok(self.check(&token)?.with_event(event))
            }
            // The parser may have stopped before the token: verify on its own, so an
            // unauthenticated sender learns nothing about the expected shape.
            Err(e) => {
                self.verify(body)?;
                Err(verified::payload_error(e))
            }
        }
    }

    fn check(&self, token: &str) -> Result<Verified, Error> {
        // Compare against every token so timing does not tell which one matched.
        let mut found = None;
        for (i, expected) in self.tokens.iter().enumerate() {
            if ct_eq(expected.expose(), token.as_bytes()) && found.is_none() {
                found = Some(i);
            }
        }
        found
            .map(|i| Verified::new(i, None))
            .ok_or(Error::TokenMismatch)
    }
}
