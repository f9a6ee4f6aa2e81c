//! Which events a destination takes: event-type globs and sources. The delivery engine routes
//! new events with it, and a replay over a time range applies the same one.

/// Event-type patterns and sources. An event matches when its source is listed (or none are)
/// and its type matches one of the patterns (an event without a type is matched as `""`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    events: Vec<String>,
    sources: Vec<String>,
}

impl EventFilter {
    /// `events`: globs such as `invitee.*` or `*`; `sources`: source names, empty for all.
    pub fn new(events: Vec<String>, sources: Vec<String>) -> Self {
        Self { events, sources }
    }

    /// Every event of every source.
    pub fn all() -> Self {
        Self::new(vec!["*".into()], Vec::new())
    }

    /// Whether an event of `source` with `event_type` matches.
    pub fn matches(&self, source: &str, event_type: Option<&str>) -> bool {
        let source_ok = self.sources.is_empty() || self.sources.iter().any(|s| s == source);
        let event = event_type.unwrap_or("");
        source_ok && self.events.iter().any(|p| glob(p, event))
    }
}

/// `*` matches any run of characters (dots included); everything else matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*", "invitee.created"));
        assert!(glob("invitee.*", "invitee.created"));
        assert!(glob("invitee.*", "invitee.canceled"));
        assert!(!glob("invitee.*", "invitee_no_show.created"));
        assert!(glob("call.ended", "call.ended"));
        assert!(!glob("call.ended", "call.ended.v2"));
        assert!(glob("user.*.v2", "user.created.v2"));
        assert!(glob("*.created", "contact.created"));
        assert!(!glob("", "x"));
    }

    #[test]
    fn filters_apply_sources_and_events() {
        let f = EventFilter::new(
            vec!["invitee.*".into(), "call.ended".into()],
            vec!["cal".into()],
        );
        assert!(f.matches("cal", Some("invitee.created")));
        assert!(!f.matches("other", Some("invitee.created")));
        assert!(!f.matches("cal", Some("call.created")));
        assert!(!f.matches("cal", None));
    }
}
