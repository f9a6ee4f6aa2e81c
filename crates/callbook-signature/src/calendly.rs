//! Calendly: `Calendly-Webhook-Signature: t=<unix>,v1=<hex>`.
//!
//! The signature is HMAC-SHA256, keyed with the signing key's bytes as they are (no base64
//! decoding), over `"{t}.{raw body}"`, in lowercase hex. Several `v1` entries may appear (key
//! rotation): a delivery passes when **any** of them matches **any** configured key.

use crate::Error;
use crate::clock::{Clock, SystemClock, check_window, parse_timestamp};
use crate::headers::{self, Headers};
use crate::secret::{Secret, ct_eq32, hmac_sha256};
use crate::verified::{self, Verified};
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;

/// The header Calendly signs with.
pub const HEADER: &str = "Calendly-Webhook-Signature";

/// Calendly's own example rejects signatures older than three minutes.
pub const DEFAULT_TOLERANCE_SECS: u64 = 180;

/// At most this many `v1` entries are considered, so a hostile header cannot make
/// verification expensive.
const MAX_SIGNATURES: usize = 4;

/// A parsed `Calendly-Webhook-Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// The signed UNIX timestamp.
    pub timestamp: i64,
    /// Well-formed `v1` signatures, decoded.
    pub signatures: Vec<[u8; 32]>,
}

impl SignatureHeader {
    /// Parses a header value. Pairs may come in any order with surrounding whitespace; unknown
    /// pairs are ignored; malformed `v1` entries are skipped as long as one is well formed.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let parsed = Parsed::parse(value)?;
        Ok(Self {
            timestamp: parsed.timestamp,
            signatures: parsed.signatures().to_vec(),
        })
    }
}

/// The parse result used on the verification path: signatures live on the stack (a header
/// carries one, or two during rotation), so verifying allocates nothing.
struct Parsed<'a> {
    timestamp: i64,
    /// The timestamp's digits as sent: the signed message is built from them.
    digits: &'a [u8],
    inline: [[u8; 32]; MAX_SIGNATURES],
    len: usize,
}

impl<'a> Parsed<'a> {
    fn signatures(&self) -> &[[u8; 32]] {
        &self.inline[..self.len]
    }

    // A hand-written cursor on purpose: this runs on every request and must cost little next
    // to the MAC. A `v1` value is checked at its expected 64-byte length first, so the
    // signature itself is not scanned for a comma.
    fn parse(value: &'a str) -> Result<Self, Error> {
        let malformed = |reason| Error::MalformedHeader {
            header: HEADER,
            reason,
        };
        let b = value.as_bytes();
        let n = b.len();
        let mut timestamp: Option<&[u8]> = None;
        let mut out = Parsed {
            timestamp: 0,
            digits: &[],
            inline: [[0; 32]; MAX_SIGNATURES],
            len: 0,
        };
        let mut saw_pair = false;
        let mut saw_v1 = false;
        let mut i = 0;
        loop {
            while i < n && (b[i] == b',' || b[i].is_ascii_whitespace()) {
                i += 1;
            }
            if i == n {
                break;
            }
            saw_pair = true;
            let key_start = i;
            while i < n && b[i] != b'=' && b[i] != b',' {
                i += 1;
            }
            if i == n || b[i] == b',' {
                return Err(malformed("expected comma-separated key=value pairs"));
            }
            let key = b[key_start..i].trim_ascii();
            i += 1;
            let value_start = i;
            let at_boundary = |j: usize| j == n || b[j] == b',' || b[j].is_ascii_whitespace();
            if key == b"v1" && value_start + 64 <= n && at_boundary(value_start + 64) {
                i = value_start + 64;
            } else {
                while i < n && b[i] != b',' {
                    i += 1;
                }
            }
            let val = b[value_start..i].trim_ascii();
            match key {
                b"t" => {
                    if timestamp.is_some() {
                        return Err(malformed("more than one t"));
                    }
                    timestamp = Some(val);
                }
                b"v1" => {
                    saw_v1 = true;
                    if out.len < MAX_SIGNATURES {
                        if let Some(sig) = decode_hex32(val) {
                            out.inline[out.len] = sig;
                            out.len += 1;
                        }
                    }
                }
                _ => {}
            }
        }
        if !saw_pair {
            return Err(malformed("empty"));
        }
        let digits = timestamp.ok_or_else(|| malformed("no t= pair"))?;
        out.timestamp = parse_timestamp(digits)?;
        out.digits = digits;
        if !saw_v1 {
            return Err(malformed("no v1= signature"));
        }
        if out.len == 0 {
            return Err(malformed("v1 is not 64 hexadecimal characters"));
        }
        Ok(out)
    }
}

/// Decodes exactly 64 hex digits (either case). Table-driven: this is on every request.
fn decode_hex32(bytes: &[u8]) -> Option<[u8; 32]> {
    const INVALID: u8 = 0xff;
    const TABLE: [u8; 256] = {
        let mut t = [INVALID; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            t[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    };
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let (hi, lo) = (TABLE[pair[0] as usize], TABLE[pair[1] as usize]);
        bad |= (hi | lo) & 0xf0;
        *o = (hi << 4) | (lo & 0x0f);
    }
    (bad == 0).then_some(out)
}

/// Computes the raw MAC over `t`, `.` and the body, feeding the parts one after the other so
/// the body is never copied.
fn mac(key: &[u8], timestamp_digits: &[u8], body: &[u8]) -> [u8; 32] {
    hmac_sha256(key, &[timestamp_digits, b".", body])
}

/// Formats an integer in decimal into a stack buffer (no allocation, no formatting machinery:
/// this is on every request).
pub(crate) fn decimal(n: i64, buf: &mut [u8; 24]) -> &[u8] {
    let mut v = n.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Signs a body as Calendly does, returning the header value `t=<t>,v1=<hex>`.
pub fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut digits = [0u8; 24];
    let digits = decimal(timestamp, &mut digits);
    format!("t={timestamp},v1={}", hex::encode(mac(key, digits, body)))
}

/// Verifies Calendly deliveries against one or more signing keys.
#[derive(Clone)]
pub struct Verifier {
    // Shared: verifiers are cloned into request handlers (axum state), keys are not.
    keys: Arc<[Secret]>,
    tolerance_secs: u64,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("calendly::Verifier")
            .field("keys", &format_args!("[{} redacted]", self.keys.len()))
            .field("tolerance_secs", &self.tolerance_secs)
            .finish()
    }
}

impl Verifier {
    /// A verifier for the given keys (several for rotation), with a 180 s tolerance and the
    /// system clock.
    pub fn new<K: Into<Secret>>(keys: impl IntoIterator<Item = K>) -> Result<Self, Error> {
        let keys: Vec<Secret> = keys.into_iter().map(Into::into).collect();
        if keys.is_empty() {
            return Err(Error::NoKeys);
        }
        if keys.iter().any(Secret::is_empty) {
            return Err(Error::InvalidSecret {
                reason: "empty signing key",
            });
        }
        Ok(Self {
            keys: keys.into(),
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
            clock: Arc::new(SystemClock),
        })
    }

    /// Sets the timestamp tolerance, applied in both directions (whole seconds; less than one
    /// second counts as zero).
    pub fn tolerance(mut self, tolerance: std::time::Duration) -> Self {
        self.tolerance_secs = tolerance.as_secs();
        self
    }

    /// Replaces the clock (for tests).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The tolerance in seconds.
    pub fn tolerance_secs(&self) -> u64 {
        self.tolerance_secs
    }

    /// Verifies a delivery: the header value (`None` when the header is absent) and the raw
    /// body bytes exactly as received.
    pub fn verify(&self, header: Option<&str>, body: &[u8]) -> Result<Verified, Error> {
        let parsed = Parsed::parse(header.ok_or(Error::MissingHeader(HEADER))?)?;
        let verified = self.check_signatures(&parsed, body)?;
        check_window(parsed.timestamp, self.clock.now(), self.tolerance_secs)?;
        Ok(verified)
    }

    /// Verifies a delivery from its request headers (any [`Headers`]: an `http::HeaderMap`
    /// with the `http` feature, a slice of pairs, a `HashMap`) and raw body.
    pub fn verify_headers(&self, headers: &impl Headers, body: &[u8]) -> Result<Verified, Error> {
        self.verify(headers::text(headers, HEADER)?, body)
    }

    /// Verifies a delivery, then parses its body once as `T` (usually
    /// `callbook_models::calendly::Webhook`). A body that is genuine but does not parse gives
    /// [`Error::InvalidPayload`], never a verification error.
    ///
    /// ```
    /// use callbook_signature::{calendly, FixedClock};
    ///
    /// let body = br#"{"event":"invitee.created","payload":{"email":"ana@example.com"}}"#;
    /// let headers = [(calendly::HEADER, calendly::sign(b"key", 1_700_000_000, body))];
    /// let verifier = calendly::Verifier::new(["key"])?.clock(FixedClock(1_700_000_030));
    ///
    /// let webhook: serde_json::Value = verifier.construct_event(&headers, body)?.into_event();
    /// assert_eq!(webhook["payload"]["email"], "ana@example.com");
    /// # Ok::<(), callbook_signature::Error>(())
    /// ```
    pub fn construct_event<T: DeserializeOwned>(
        &self,
        headers: &impl Headers,
        body: &[u8],
    ) -> Result<Verified<T>, Error> {
        let verified = self.verify_headers(headers, body)?;
        Ok(verified.with_event(verified::parse(body)?))
    }

    /// Verifies the signature but **not** the timestamp window: for replaying captured
    /// deliveries, never for live traffic.
    pub fn verify_ignoring_timestamp(
        &self,
        header: Option<&str>,
        body: &[u8],
    ) -> Result<Verified, Error> {
        let parsed = Parsed::parse(header.ok_or(Error::MissingHeader(HEADER))?)?;
        self.check_signatures(&parsed, body)
    }

    fn check_signatures(&self, header: &Parsed<'_>, body: &[u8]) -> Result<Verified, Error> {
        // Every key and every candidate is compared, so timing does not tell which matched.
        let mut found: Option<usize> = None;
        for (key_index, key) in self.keys.iter().enumerate() {
            let expected = mac(key.expose(), header.digits, body);
            for candidate in header.signatures() {
                if ct_eq32(&expected, candidate) && found.is_none() {
                    found = Some(key_index);
                }
            }
        }
        match found {
            Some(key_index) => Ok(Verified::new(key_index, Some(header.timestamp))),
            None => Err(Error::SignatureMismatch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_matches_display() {
        let mut buf = [0u8; 24];
        for n in [0, 7, -7, 10, 1492774577, i64::MAX, i64::MIN] {
            assert_eq!(decimal(n, &mut buf), n.to_string().as_bytes());
        }
    }

    #[test]
    fn hex_decoding_accepts_both_cases_and_rejects_the_rest() {
        let lower = "00ff10a0".repeat(8);
        let upper = lower.to_uppercase();
        assert_eq!(
            decode_hex32(lower.as_bytes()),
            decode_hex32(upper.as_bytes())
        );
        assert_eq!(decode_hex32(lower.as_bytes()).map(|b| b[1]), Some(0xff));
        assert_eq!(decode_hex32("g".repeat(64).as_bytes()), None);
        assert_eq!(decode_hex32("0".repeat(63).as_bytes()), None);
        assert_eq!(
            decode_hex32(format!("{}é", "0".repeat(62)).as_bytes()),
            None
        );
    }
}
