//! Aircall's numbered pages, and a call stream that never meets the 10,000-result cap.

use crate::error::{Error, Result};
use crate::transport::{Req, Transport};
use callbook_models::aircall::{
    AvailabilityList, Call, CallList, ContactList, Meta, NumberList, TagList, TeamList, UserList,
    WebhookList,
};
use futures_util::Stream;
use serde::de::DeserializeOwned;
use std::collections::{HashSet, VecDeque};

/// Aircall's largest page.
pub const MAX_PER_PAGE: u32 = 50;
/// Aircall refuses to page past this many results of one query.
pub const RESULT_CAP: u64 = 10_000;

/// A list response: its items and its `meta`.
pub trait ListPage: DeserializeOwned + Send + 'static {
    /// The item type.
    type Item: Send + 'static;
    /// Whether items carry credentials (webhook tokens): decode errors then show no body.
    const CARRIES_SECRETS: bool = false;
    /// Splits the page.
    fn into_parts(self) -> (Vec<Self::Item>, Meta);
}

macro_rules! list_page {
    ($($list:ty => $field:ident : $item:ty $(, secret $secret:literal)?);* $(;)?) => {$(
        impl ListPage for $list {
            type Item = $item;
            $(const CARRIES_SECRETS: bool = $secret;)?
            fn into_parts(self) -> (Vec<$item>, Meta) {
                (self.$field, self.meta)
            }
        }
    )*};
}

use callbook_models::aircall as a;
list_page!(
    CallList => calls: Call;
    UserList => users: a::User;
    AvailabilityList => users: a::Availability;
    TeamList => teams: a::Team;
    NumberList => numbers: a::Number;
    ContactList => contacts: a::Contact;
    TagList => tags: a::Tag;
    WebhookList => webhooks: a::WebhookRegistration, secret true;
);

/// An Aircall list request: one numbered page, or every item as a stream.
#[must_use = "a list request does nothing until `page`, `stream` or `collect` is called"]
pub struct ResultPages<L> {
    transport: Transport,
    path: String,
    query: Vec<(&'static str, String)>,
    per_page: u32,
    _list: std::marker::PhantomData<fn() -> L>,
}

impl<L> std::fmt::Debug for ResultPages<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultPages")
            .field("path", &self.path)
            .field("query", &self.query)
            .field("per_page", &self.per_page)
            .finish()
    }
}

impl<L: ListPage> ResultPages<L> {
    pub(crate) fn new(
        transport: Transport,
        path: impl Into<String>,
        query: Vec<(&'static str, String)>,
    ) -> Self {
        Self {
            transport,
            path: path.into(),
            query,
            per_page: MAX_PER_PAGE,
            _list: std::marker::PhantomData,
        }
    }

    /// Items per page, clamped to 1..=50 (default 50).
    pub fn per_page(mut self, n: u32) -> Self {
        self.per_page = n.clamp(1, MAX_PER_PAGE);
        self
    }

    /// Page `page` (from 1).
    pub async fn page(&self, page: u32) -> Result<L> {
        let mut query = self.query.clone();
        query.push(("page", page.max(1).to_string()));
        query.push(("per_page", self.per_page.to_string()));
        let req = Req::get(self.path.clone()).query(query);
        if L::CARRIES_SECRETS {
            self.transport.json_secret(req).await
        } else {
            self.transport.json(req).await
        }
    }

    /// Every item, page after page. A query matching more than 10,000 results yields an error
    /// at the cap instead of Aircall's 400: narrow it (for calls, use
    /// [`calls_between`](super::AircallClient::calls_between)).
    pub fn stream(self) -> impl Stream<Item = Result<L::Item>> + Send + 'static {
        struct State<L: ListPage> {
            pages: ResultPages<L>,
            next: Option<u32>,
            buffer: VecDeque<L::Item>,
        }
        let state = State {
            pages: self,
            next: Some(1),
            buffer: VecDeque::new(),
        };
        futures_util::stream::unfold(state, |mut st| async move {
            loop {
                if let Some(item) = st.buffer.pop_front() {
                    return Some((Ok(item), st));
                }
                let page = st.next?;
                if u64::from(page - 1) * u64::from(st.pages.per_page) >= RESULT_CAP {
                    st.next = None;
                    return Some((Err(cap_error()), st));
                }
                match st.pages.page(page).await {
                    Ok(list) => {
                        let (items, meta) = list.into_parts();
                        st.next = (meta.next_page_link.is_some() && !items.is_empty())
                            .then_some(page + 1);
                        st.buffer.extend(items);
                    }
                    Err(e) => {
                        st.next = None;
                        return Some((Err(e), st));
                    }
                }
            }
        })
    }

    /// Every item in one `Vec`.
    pub async fn collect(self) -> Result<Vec<L::Item>> {
        use futures_util::TryStreamExt;
        self.stream().try_collect().await
    }
}

fn cap_error() -> Error {
    Error::InvalidRequest(format!(
        "the query matches more than {RESULT_CAP} results, which Aircall will not page past; narrow it with from/to"
    ))
}

/// Calls created in `[from, to)` (UNIX seconds), oldest first, in windows small enough that
/// none reaches the 10,000-result cap: a window whose total is over the cap is halved, again
/// and again, before any of it is paged. Calls on a window boundary are yielded once.
pub(crate) fn calls_between(
    transport: Transport,
    from: i64,
    to: i64,
) -> impl Stream<Item = Result<Call>> + Send + 'static {
    struct State {
        transport: Transport,
        // Windows still to do, the next one last.
        windows: Vec<(i64, i64)>,
        // The window being paged and its next page.
        current: Option<((i64, i64), u32)>,
        buffer: VecDeque<Call>,
        seen_prev: HashSet<i64>,
        seen_now: HashSet<i64>,
    }
    let state = State {
        transport,
        windows: if from < to {
            vec![(from, to)]
        } else {
            Vec::new()
        },
        current: None,
        buffer: VecDeque::new(),
        seen_prev: HashSet::new(),
        seen_now: HashSet::new(),
    };
    let fetch = |transport: Transport, (a, b): (i64, i64), page: u32| async move {
        let query = vec![
            ("from", a.to_string()),
            // Aircall's `to` may be inclusive: ask up to the last second of the window and let
            // the boundary de-duplication drop repeats.
            ("to", (b - 1).max(a).to_string()),
            ("order", "asc".to_owned()),
            ("page", page.to_string()),
            ("per_page", MAX_PER_PAGE.to_string()),
        ];
        transport
            .json::<CallList>(Req::get("/calls").query(query))
            .await
    };
    futures_util::stream::unfold(state, move |mut st| async move {
        loop {
            if let Some(call) = st.buffer.pop_front() {
                return Some((Ok(call), st));
            }
            let (window, page) = match st.current.take() {
                Some(c) => c,
                None => {
                    let w = st.windows.pop()?;
                    st.seen_prev = std::mem::take(&mut st.seen_now);
                    (w, 1)
                }
            };
            let list = match fetch(st.transport.clone(), window, page).await {
                Ok(list) => list,
                Err(e) => {
                    st.windows.clear();
                    return Some((Err(e), st));
                }
            };
            if page == 1 && list.meta.total > RESULT_CAP {
                let (a, b) = window;
                if b - a <= 1 {
                    st.windows.clear();
                    return Some((Err(cap_error()), st));
                }
                let mid = a + (b - a) / 2;
                st.windows.push((mid, b));
                st.windows.push((a, mid));
                // Nothing of this window was yielded: keep the previous window's IDs.
                st.seen_now = std::mem::take(&mut st.seen_prev);
                continue;
            }
            let more = list.meta.next_page_link.is_some() && !list.calls.is_empty();
            for call in list.calls {
                if !st.seen_prev.contains(&call.id) && st.seen_now.insert(call.id) {
                    st.buffer.push_back(call);
                }
            }
            if more {
                st.current = Some((window, page + 1));
            }
        }
    })
}
