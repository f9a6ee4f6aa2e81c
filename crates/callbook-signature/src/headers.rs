//! Reading request headers from whatever map the caller has.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

/// A set of request headers, looked up by name without regard to case.
///
/// Implemented for slices, arrays and `Vec`s of name/value pairs, for `HashMap` and `BTreeMap`,
/// and (with the `http` feature) for [`http::HeaderMap`], so axum, hyper and reqwest headers
/// can be passed as they are.
///
/// ```
/// use callbook_signature::Headers;
///
/// let headers = [("Webhook-Id", "msg_1"), ("webhook-timestamp", "1700000000")];
/// assert_eq!(headers.header("webhook-id"), Some(&b"msg_1"[..]));
/// assert_eq!(headers.header("webhook-signature"), None);
/// ```
pub trait Headers {
    /// The value of the first header called `name` (ASCII case-insensitive), as raw bytes.
    fn header(&self, name: &str) -> Option<&[u8]>;
}

impl<H: Headers + ?Sized> Headers for &H {
    fn header(&self, name: &str) -> Option<&[u8]> {
        (**self).header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Headers for [(K, V)] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>, const N: usize> Headers for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Headers for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>, S: BuildHasher> Headers for HashMap<K, V, S> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Headers for BTreeMap<K, V> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

#[cfg(feature = "http")]
impl Headers for http::HeaderMap {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.get(name).map(http::HeaderValue::as_bytes)
    }
}

/// A header's value as text; a value that is not UTF-8 is malformed, not missing.
pub(crate) fn text<'h>(
    headers: &'h (impl Headers + ?Sized),
    name: &'static str,
) -> Result<Option<&'h str>, crate::Error> {
    match headers.header(name) {
        None => Ok(None),
        Some(bytes) => {
            std::str::from_utf8(bytes)
                .map(Some)
                .map_err(|_| crate::Error::MalformedHeader {
                    header: name,
                    reason: "not UTF-8",
                })
        }
    }
}
