//! Lists, one shape for both providers: a page at a time, or every item as a stream that
//! follows the provider's cursor (Calendly's `page_token`, Aircall's page numbers).

use crate::error::Result;
use crate::transport::{Req, Transport};
use futures_util::future::BoxFuture;
use futures_util::stream::{BoxStream, StreamExt};
use std::collections::VecDeque;

/// Calendly's largest page.
pub const MAX_PAGE_SIZE: u32 = 100;

/// Where a list goes on: Calendly's opaque `page_token`, or Aircall's next page number. Keep
/// one to resume a listing later with [`Pages::page`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cursor {
    /// Calendly's `next_page_token`.
    Token(String),
    /// Aircall's page number (from 1).
    Page(u32),
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// The next page's cursor; `None` on the last page.
    pub next: Option<Cursor>,
    /// How many items match in all, when the provider says (Aircall's `meta.total`).
    pub total: Option<u64>,
}

/// Fetches and reads one page; given the cursor it was asked with.
pub(crate) type FetchPage<T> =
    fn(Transport, Req, Option<Cursor>) -> BoxFuture<'static, Result<Page<T>>>;

/// How one provider pages: its parameters, its largest page, how to read a page.
#[derive(Clone, Copy)]
pub(crate) struct Scheme<T> {
    pub(crate) size_param: &'static str,
    pub(crate) max_size: u32,
    pub(crate) fetch: FetchPage<T>,
    /// Numbered pages (Aircall): the first is asked for as `page=1`.
    pub(crate) numbered: bool,
    /// Aircall refuses to page past this many results of one query.
    pub(crate) cap: Option<u64>,
}

/// Calendly: `count`, `page_token`, and `{collection, pagination}` answers.
pub(crate) fn calendly<T: serde::de::DeserializeOwned + Send + 'static>() -> Scheme<T> {
    Scheme {
        size_param: "count",
        max_size: MAX_PAGE_SIZE,
        fetch: |transport, req, _| {
            Box::pin(async move {
                let page: callbook_models::calendly::Page<T> = transport.json(req).await?;
                Ok(Page {
                    items: page.collection,
                    next: page
                        .pagination
                        .next_page_token
                        .filter(|t| !t.is_empty())
                        .map(Cursor::Token),
                    total: None,
                })
            })
        },
        numbered: false,
        cap: None,
    }
}

/// A list request, for either provider: fetch one page, or stream every item across pages.
///
/// Every page is requested with the same filters (Calendly rejects a cursor used with other
/// ones). The stream is boxed, so it needs no pinning: `while let Some(item) =
/// stream.next().await` or `try_collect` work as they are.
///
/// ```no_run
/// # async fn run(calendly: callbook_client::calendly::CalendlyClient, aircall: callbook_client::aircall::AircallClient) -> callbook_client::Result<()> {
/// use callbook_client::calendly::ListScheduledEvents;
/// use callbook_client::aircall::ListContacts;
/// use futures_util::{StreamExt, TryStreamExt};
///
/// let mut events = calendly.scheduled_events(ListScheduledEvents::new()).stream();
/// while let Some(event) = events.next().await {
///     println!("{}", event?.start_time);
/// }
/// let contacts: Vec<_> = aircall.contacts(ListContacts::new()).stream().try_collect().await?;
/// let first = aircall.contacts(ListContacts::new()).page(None).await?;
/// println!("{} of {:?} contacts", first.items.len(), first.total);
/// # Ok(()) }
/// ```
#[must_use = "a list request does nothing until `page`, `stream` or `collect` is called"]
pub struct Pages<T> {
    transport: Transport,
    path: String,
    query: Vec<(&'static str, String)>,
    page_size: u32,
    scheme: Scheme<T>,
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

impl<T: Send + 'static> Pages<T> {
    pub(crate) fn new(
        transport: Transport,
        path: impl Into<String>,
        query: Vec<(&'static str, String)>,
        scheme: Scheme<T>,
    ) -> Self {
        Self {
            transport,
            path: path.into(),
            query,
            page_size: scheme.max_size,
            scheme,
        }
    }

    /// Items per page, clamped to what the provider allows (Calendly 100, Aircall 50); the
    /// largest, so the fewest round trips, by default.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.clamp(1, self.scheme.max_size);
        self
    }

    /// One page: the first when `cursor` is `None`, else the one a previous page's `next`
    /// names.
    pub async fn page(&self, cursor: Option<&Cursor>) -> Result<Page<T>> {
        let mut query = self.query.clone();
        query.push((self.scheme.size_param, self.page_size.to_string()));
        match cursor {
            Some(Cursor::Token(token)) => query.push(("page_token", token.clone())),
            Some(Cursor::Page(n)) => query.push(("page", (*n).max(1).to_string())),
            None => {}
        }
        if self.scheme.numbered && cursor.is_none() {
            query.push(("page", "1".to_owned()));
        }
        let req = Req::get(self.path.clone()).query(query);
        (self.scheme.fetch)(self.transport.clone(), req, cursor.cloned()).await
    }

    /// Every item, page after page. An error ends the stream after it is yielded; an Aircall
    /// query matching more than 10,000 results yields an error at the cap instead of
    /// Aircall's 400 (narrow it; for calls, `calls_between` does).
    pub fn stream(self) -> BoxStream<'static, Result<T>> {
        struct State<T> {
            pages: Pages<T>,
            next: Option<Option<Cursor>>,
            buffer: VecDeque<T>,
        }
        let state = State {
            pages: self,
            next: Some(None),
            buffer: VecDeque::new(),
        };
        futures_util::stream::unfold(state, |mut st| async move {
            loop {
                if let Some(item) = st.buffer.pop_front() {
                    return Some((Ok(item), st));
                }
                let cursor = st.next.take()?;
                if let (Some(cap), Some(Cursor::Page(n))) = (st.pages.scheme.cap, &cursor) {
                    if u64::from(n - 1) * u64::from(st.pages.page_size) >= cap {
                        return Some((Err(cap_error(cap)), st));
                    }
                }
                match st.pages.page(cursor.as_ref()).await {
                    Ok(page) => {
                        // A cursor that does not move, or an empty numbered page, would loop
                        // forever.
                        let goes_on = match &page.next {
                            None => false,
                            Some(next) if Some(next) == cursor.as_ref() => false,
                            Some(Cursor::Page(_)) => !page.items.is_empty(),
                            Some(_) => true,
                        };
                        if goes_on {
                            st.next = Some(page.next);
                        }
                        st.buffer.extend(page.items);
                    }
                    Err(e) => return Some((Err(e), st)),
                }
            }
        })
        .boxed()
    }

    /// Every item in one `Vec`.
    pub async fn collect(self) -> Result<Vec<T>> {
        use futures_util::TryStreamExt;
        self.stream().try_collect().await
    }
}

pub(crate) fn cap_error(cap: u64) -> crate::Error {
    crate::Error::InvalidRequest(format!(
        "the query matches more than {cap} results, which Aircall will not page past; narrow it with from/to"
    ))
}
