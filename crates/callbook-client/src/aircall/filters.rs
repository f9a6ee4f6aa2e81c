//! Filters of the list endpoints. Paging (`page`, `per_page`) is handled by
//! [`Pages`](crate::Pages).

use crate::query::query;

query! {
    /// `GET /v1/calls`. `from`/`to` are UNIX seconds on the call's creation time.
    ListCalls {
        /// Calls created at or after this UNIX time.
        from: i64,
        /// Calls created at or before this UNIX time.
        to: i64,
        /// `asc` or `desc` (default).
        order: String,
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
        /// Calls created at or after this UNIX time.
        from: i64,
        /// Calls created at or before this UNIX time.
        to: i64,
        /// `asc` or `desc`.
        order: String,
        /// `inbound` or `outbound`.
        direction: String,
        /// The external party's number.
        phone_number: String,
        /// Calls of this user.
        user_id: i64,
        /// Calls with these tag IDs.
        tags: Vec<i64>,
        /// Calls with this contact.
        contact_id: i64,
        /// Embed the contact of each call.
        fetch_contact: bool,
    }
}

query! {
    /// `GET /v1/contacts`.
    ListContacts {
        /// Contacts created at or after this UNIX time.
        from: i64,
        /// Contacts created at or before this UNIX time.
        to: i64,
        /// `asc` or `desc`.
        order: String,
        /// `created_at` or `updated_at`.
        order_by: String,
    }
}

query! {
    /// `GET /v1/contacts/search`: by phone number or email.
    SearchContacts {
        /// A phone number, international format.
        phone_number: String,
        /// An email address.
        email: String,
        /// `asc` or `desc`.
        order: String,
        /// `created_at` or `updated_at`.
        order_by: String,
    }
}
