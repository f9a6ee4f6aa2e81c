//! Console sessions: the admin token is given once at sign-in; a random session ID in an
//! HttpOnly, SameSite=Strict cookie stands for it afterwards, with a CSRF token of its own for
//! every action.
//!
//! Sessions live in this process: behind a load balancer over several instances, route the
//! console to one (sticky sessions), or sign in on each.

use rand::RngCore;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie's name.
pub(crate) const COOKIE: &str = "callbook_session";
/// How long a session lasts from sign-in.
pub(crate) const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// At most this many live sessions; the oldest go first.
const MAX_SESSIONS: usize = 1024;

/// A signed-in browser.
#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) csrf: String,
    expires: Instant,
}

#[derive(Default)]
pub(crate) struct Sessions {
    live: Mutex<HashMap<String, Session>>,
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl Sessions {
    /// A new session: its ID (for the cookie) and the session.
    pub(crate) fn create(&self) -> (String, Session) {
        let id = random_hex();
        let session = Session {
            csrf: random_hex(),
            expires: Instant::now() + LIFETIME,
        };
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        live.retain(|_, s| s.expires > now);
        if live.len() >= MAX_SESSIONS {
            if let Some(oldest) = live
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
            {
                live.remove(&oldest);
            }
        }
        live.insert(id.clone(), session.clone());
        (id, session)
    }

    /// The live session with this ID.
    pub(crate) fn get(&self, id: &str) -> Option<Session> {
        let live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.get(id).filter(|s| s.expires > Instant::now()).cloned()
    }

    /// Ends a session (sign-out).
    pub(crate) fn end(&self, id: &str) {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.remove(id);
    }
}

/// The session cookie's value in a `Cookie` header, if any.
pub(crate) fn cookie_value(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}
