//! Filters of the list endpoints. Paging (`page`, `per_page`) is handled by
//! [`Pages`](crate::Pages).

use crate::query::query;
pub use crate::query::{Order, OrderBy, UnixTime};
use callbook_models::aircall::{ContactId, Direction, TagId, UserId};

query! {
    /// `GET /v1/calls`. `from`/`to` bound the call's creation time.
    ListCalls {
        /// Calls created at or after this time (to the second).
        from: UnixTime,
        /// Calls created at or before this time (to the second).
        to: UnixTime,
        /// Oldest or newest (the default) first.
        order: Order,
        /// Embed the contact of each call.
        fetch_contact: bool,
        /// Short URLs for recordings and voicemails.
        fetch_short_urls: bool,
        /// Embed each call's timeline.
        fetch_call_timeline: bool,
    }
}

query! {
    /// `GET /v1/calls/search`.
    SearchCalls {
        /// Calls created at or after this time (to the second).
        from: UnixTime,
        /// Calls created at or before this time (to the second).
        to: UnixTime,
        /// Oldest or newest first.
        order: Order,
        /// Inbound or outbound calls.
        direction: Direction,
        /// The external party's number.
        phone_number: String,
        /// Calls of this user.
        user_id: UserId,
        /// Calls with these tag IDs.
        tags: Vec<TagId>,
        /// Calls with this contact.
        contact_id: ContactId,
        /// Embed the contact of each call.
        fetch_contact: bool,
    }
}

query! {
    /// `GET /v1/contacts`.
    ListContacts {
        /// Contacts created at or after this time (to the second).
        from: UnixTime,
        /// Contacts created at or before this time (to the second).
        to: UnixTime,
        /// Oldest or newest first.
        order: Order,
        /// Which time `order` sorts on.
        order_by: OrderBy,
    }
}

query! {
    /// `GET /v1/contacts/search`: by phone number or email.
    SearchContacts {
        /// A phone number, international format.
        phone_number: String,
        /// An email address.
        email: String,
        /// Oldest or newest first.
        order: Order,
        /// Which time `order` sorts on.
        order_by: OrderBy,
    }
}
