//! Aircall's numbered pages, and a call stream that never meets the 10,000-result cap.

use crate::error::Result;
use crate::pages::{Cursor, Page, Scheme, cap_error};
use crate::transport::{Req, Transport};
use callbook_models::aircall::{
    AvailabilityList, Call, CallId, CallList, ContactList, Meta, NumberList, TagList, TeamList,
    UserList, WebhookList,
};
use futures_util::stream::{BoxStream, StreamExt};
use serde::de::DeserializeOwned;
use std::collections::{HashSet, VecDeque};

/// Aircall's largest page.
pub const MAX_PER_PAGE: u32 = 50;
/// Aircall refuses to page past this many results of one query.
pub const RESULT_CAP: u64 = 10_000;

/// A list response: its items and its `meta`.
pub(crate) trait AircallList: DeserializeOwned + Send + 'static {
    /// The item type.
    type Item: Send + 'static;
    /// Whether items carry credentials (webhook tokens): decode errors then show no body.
    const CARRIES_SECRETS: bool = false;
    /// Splits the page.
    fn into_parts(self) -> (Vec<Self::Item>, Meta);
}

macro_rules! list_page {
    ($($list:ty => $field:ident : $item:ty $(, secret $secret:literal)?);* $(;)?) => {$(
        impl AircallList for $list {
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

/// Aircall: `per_page`, numbered `page`s, `{<items>, meta}` answers.
pub(crate) fn scheme<L: AircallList>() -> Scheme<L::Item> {
    Scheme {
        size_param: "per_page",
        max_size: MAX_PER_PAGE,
        fetch: |transport, req, cursor| {
            Box::pin(async move {
                let list: L = if L::CARRIES_SECRETS {
                    transport.json_secret(req).await?
                } else {
                    transport.json(req).await?
                };
                let (items, meta) = list.into_parts();
                let this = match cursor {
                    Some(Cursor::Page(n)) => n.max(1),
                    _ => 1,
                };
                Ok(Page {
                    items,
                    next: meta
                        .next_page_link
                        .is_some()
                        .then_some(Cursor::Page(this + 1)),
                    total: Some(meta.total),
                })
            })
        },
        numbered: true,
        cap: Some(RESULT_CAP),
    }
}

/// Calls created in `[from, to)` (UNIX seconds), oldest first, in windows small enough that
/// none reaches the 10,000-result cap: a window whose total is over the cap is halved, again
/// and again, before any of it is paged. Calls on a window boundary are yielded once.
pub(crate) fn calls_between(
    transport: Transport,
    from: i64,
    to: i64,
) -> BoxStream<'static, Result<Call>> {
    struct State {
        transport: Transport,
        // Windows still to do, the next one last.
        windows: Vec<(i64, i64)>,
        // The window being paged and its next page.
        current: Option<((i64, i64), u32)>,
        buffer: VecDeque<Call>,
        seen_prev: HashSet<CallId>,
        seen_now: HashSet<CallId>,
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
                    return Some((Err(cap_error(RESULT_CAP)), st));
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
    .boxed()
}
