//! What an event can be found by: its de-duplication key, and the e-mail addresses and phone
//! numbers it names ([`Subject`]). Each is kept as a 64-bit key in a narrow index written with
//! the event, so a search reads a few index entries, never the table.

use sha2::{Digest, Sha256};

/// A key of the search index: the first 8 bytes of a SHA-256. For a de-duplication key that
/// is the head of the `dedupe_hash` column, so the migration could index existing events.
pub(crate) type Key = [u8; 8];

/// An e-mail address or phone number an event names, normalized so that the spellings people
/// type find it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Subject {
    /// An e-mail address, trimmed and lower-cased.
    Email(String),
    /// A phone number's last eight digits (all of them when it has fewer): `+55 11 91234-5678`
    /// and `(11) 91234-5678` are both `12345678`, so international and national spellings
    /// find the same calls.
    Phone(String),
}

/// Digits of a phone number a search compares.
const PHONE_TAIL: usize = 8;
/// Fewer digits than this is not a phone number worth finding.
const PHONE_MIN: usize = 5;

impl Subject {
    /// An e-mail address, or `None` when `text` is not one.
    pub fn email(text: &str) -> Option<Self> {
        let text = text.trim();
        let (local, domain) = text.split_once('@')?;
        if local.is_empty() || domain.is_empty() || text.chars().any(char::is_whitespace) {
            return None;
        }
        Some(Self::Email(text.to_lowercase()))
    }

    /// A phone number, or `None` when `text` has other characters than digits, spaces and
    /// `+-().`, or fewer than five digits.
    pub fn phone(text: &str) -> Option<Self> {
        if !text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'))
        {
            return None;
        }
        let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_digit).collect();
        if digits.len() < PHONE_MIN {
            return None;
        }
        let tail = &digits[digits.len().saturating_sub(PHONE_TAIL)..];
        Some(Self::Phone(String::from_utf8_lossy(tail).into_owned()))
    }

    /// The key the index holds.
    pub(crate) fn key(&self) -> Key {
        let (tag, value) = match self {
            Self::Email(v) => (b"email\0", v),
            Self::Phone(v) => (b"phone\0", v),
        };
        let mut h = Sha256::new();
        h.update(tag);
        h.update(value.as_bytes());
        first_eight(&h.finalize())
    }
}

/// The key of a de-duplication key, from the hash the events table keeps of it.
pub(crate) fn dedupe_key_key(dedupe_hash: &[u8; 16]) -> Key {
    first_eight(dedupe_hash)
}

fn first_eight(bytes: &[u8]) -> Key {
    let mut out = [0u8; 8];
    out.copy_from_slice(&bytes[..8]);
    out
}

/// The index keys an event is written with: its de-duplication key's and its subjects', each
/// once.
pub(crate) fn event_keys(dedupe_hash: &[u8; 16], subjects: &[Subject]) -> Vec<Key> {
    let mut keys = Vec::with_capacity(1 + subjects.len());
    keys.push(dedupe_key_key(dedupe_hash));
    for s in subjects {
        let k = s.key();
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

/// Keys as FTS5 tokens (lower-case hex), joined by `sep`.
pub(crate) fn hex_keys(keys: &[Key], sep: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(keys.len() * (16 + sep.len()));
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        for b in key {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

/// The FTS5 query for any of `keys` (hex tokens cannot be read as an FTS5 operator).
#[cfg(feature = "sqlite")]
pub(crate) fn fts_match(keys: &[Key]) -> String {
    hex_keys(keys, " OR ")
}

/// The keys as the PostgreSQL `text[]` the `events.search_keys` column holds.
#[cfg(feature = "postgres")]
pub(crate) fn key_array(keys: &[Key]) -> Vec<String> {
    keys.iter()
        .map(|k| hex_keys(std::slice::from_ref(k), ""))
        .collect()
}

/// The keys a search for `text` looks up: the text as a de-duplication key, and as an e-mail
/// address or phone number when it reads as one. Empty for blank text.
pub(crate) fn query_keys(text: &str) -> Vec<Key> {
    let text = text.trim();
    if text.is_empty() {
        return Vec::new();
    }
    let subjects: Vec<Subject> = [Subject::email(text), Subject::phone(text)]
        .into_iter()
        .flatten()
        .collect();
    event_keys(&crate::rows::dedupe_hash(text), &subjects)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_found_whatever_their_case() {
        assert_eq!(
            Subject::email("  Ana.Lima@Example.COM "),
            Some(Subject::Email("ana.lima@example.com".into()))
        );
        assert_eq!(Subject::email("not an address"), None);
        assert_eq!(Subject::email("@example.com"), None);
        assert_eq!(Subject::email("ana@"), None);
        assert_eq!(Subject::email("ana lima@example.com"), None);
    }

    #[test]
    fn phone_numbers_match_on_their_last_eight_digits() {
        let international = Subject::phone("+55 11 91234-5678");
        assert_eq!(international, Some(Subject::Phone("12345678".into())));
        assert_eq!(Subject::phone("(11) 91234-5678"), international);
        assert_eq!(Subject::phone("5511912345678"), international);
        assert_eq!(
            Subject::phone("1234-5"),
            Some(Subject::Phone("12345".into()))
        );
        assert_eq!(Subject::phone("1234"), None);
        assert_eq!(Subject::phone("ana@example.com"), None);
        assert_eq!(Subject::phone("calendly:invitee.created:1234567"), None);
    }

    #[test]
    fn keys_are_written_as_lower_case_hex_tokens() {
        let keys = [[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef], [0xff; 8]];
        assert_eq!(hex_keys(&keys, " "), "0123456789abcdef ffffffffffffffff");
        assert_eq!(hex_keys(&keys[..1], " OR "), "0123456789abcdef");
    }

    #[test]
    fn a_query_looks_up_each_reading_of_its_text() {
        let key = "calendly:invitee.created:https://api.calendly.com/x:2026-01-01T00:00:00Z";
        assert_eq!(
            query_keys(&format!(" {key} ")),
            vec![dedupe_key_key(&crate::rows::dedupe_hash(key))]
        );
        assert_eq!(query_keys("ana@example.com").len(), 2);
        assert_eq!(query_keys("+55 11 91234-5678").len(), 2);
        assert!(query_keys("   ").is_empty());
        // The same subject twice is one key.
        let email = Subject::email("a@b.c").expect("email");
        assert_eq!(
            event_keys(&[0; 16], &[email.clone(), email.clone()]).len(),
            2
        );
        assert_ne!(
            Subject::Email("12345678".into()).key(),
            Subject::Phone("12345678".into()).key()
        );
    }
}
