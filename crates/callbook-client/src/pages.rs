//! Lists as pages and as streams that follow the provider's cursor.

use crate::error::Result;
use crate::transport::{Req, Transport};
use callbook_models::calendly::Page;
use futures_util::Stream;
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::marker::PhantomData;

/// A Calendly list request: fetch one page, or stream every item across pages.
///
/// Every page is requested with the same filters (Calendly rejects a cursor used with other
/// ones); the stream follows `next_page_token` until it is null.
#[must_use = "a list request does nothing until `page`, `stream` or `collect` is called"]
pub struct Pages<T> {
    transport: Transport,
    path: String,
    query: Vec<(&'static str, String)>,
    page_size: u32,
    _item: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Pages<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("path", &self.path)
            .field("query", &self.query)
            .field("page_size", &self.page_size)
            .finish()
    }
}

/// Calendly's largest page.
pub const MAX_PAGE_SIZE: u32 = 100;

impl<T: DeserializeOwned + Send + 'static> Pages<T> {
    pub(crate) fn new(
        transport: Transport,
        path: impl Into<String>,
        query: Vec<(&'static str, String)>,
    ) -> Self {
        Self {
            transport,
            path: path.into(),
            query,
            page_size: MAX_PAGE_SIZE,
            _item: PhantomData,
        }
    }

    /// Items per page (`count`), clamped to 1..=100. Defaults to 100, the fewest round trips.
    pub fn page_size(mut self, count: u32) -> Self {
        self.page_size = count.clamp(1, MAX_PAGE_SIZE);
        self
    }

    /// One page: the first when `page_token` is `None`.
    pub async fn page(&self, page_token: Option<&str>) -> Result<Page<T>> {
        let mut query = self.query.clone();
        query.push(("count", self.page_size.to_string()));
        if let Some(token) = page_token {
            query.push(("page_token", token.to_owned()));
        }
        self.transport
            .json(Req::get(self.path.clone()).query(query))
            .await
    }

    /// Every item, page after page. An error ends the stream after it is yielded.
    pub fn stream(self) -> impl Stream<Item = Result<T>> + Send + 'static {
        struct State<T> {
            pages: Pages<T>,
            token: Option<String>,
            buffer: VecDeque<T>,
            done: bool,
        }
        let state = State {
            pages: self,
            token: None,
            buffer: VecDeque::new(),
            done: false,
        };
        futures_util::stream::unfold(state, |mut st| async move {
            loop {
                if let Some(item) = st.buffer.pop_front() {
                    return Some((Ok(item), st));
                }
                if st.done {
                    return None;
                }
                match st.pages.page(st.token.as_deref()).await {
                    Ok(page) => {
                        let next = page.pagination.next_page_token.filter(|t| !t.is_empty());
                        // A cursor that does not move would loop forever.
                        st.done = next.is_none() || next == st.token;
                        st.token = next;
                        st.buffer.extend(page.collection);
                    }
                    Err(e) => {
                        st.done = true;
                        return Some((Err(e), st));
                    }
                }
            }
        })
    }

    /// Every item in one `Vec`.
    pub async fn collect(self) -> Result<Vec<T>> {
        use futures_util::TryStreamExt;
        self.stream().try_collect().await
    }
}
