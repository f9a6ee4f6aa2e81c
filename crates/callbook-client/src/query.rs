//! Typed query filters, turned into `name=value` pairs.

use callbook_models::Timestamp;

/// A value that can go into a query string.
pub(crate) trait QueryValue {
    fn push(&self, name: &'static str, out: &mut Vec<(&'static str, String)>);
}

macro_rules! display_value {
    ($($t:ty),*) => {$(
        impl QueryValue for $t {
            fn push(&self, name: &'static str, out: &mut Vec<(&'static str, String)>) {
                out.push((name, self.to_string()));
            }
        }
    )*};
}
display_value!(String, u32, u64, i64, bool);

use callbook_models::aircall as a;
display_value!(
    a::CallId,
    a::UserId,
    a::TeamId,
    a::NumberId,
    a::ContactId,
    a::TagId
);

/// Ascending or descending, as both providers spell it (`asc`, `desc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Order {
    /// Oldest or smallest first.
    Asc,
    /// Newest or largest first.
    Desc,
}

impl Order {
    /// `asc` or `desc`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }
}

/// Calendly's `sort`: a field, and a direction unless the field has none of its own
/// (`start_time:asc`, `position`).
///
/// ```
/// use callbook_client::calendly::{ListScheduledEvents, Sort};
///
/// let upcoming_first = ListScheduledEvents::new().sort(Sort::asc("start_time"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sort {
    field: String,
    order: Option<Order>,
}

impl Sort {
    /// `field:asc`.
    pub fn asc(field: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            order: Some(Order::Asc),
        }
    }

    /// `field:desc`.
    pub fn desc(field: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            order: Some(Order::Desc),
        }
    }

    /// The field alone, in its own order (`position`).
    pub fn by(field: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            order: None,
        }
    }
}

impl std::fmt::Display for Sort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.order {
            Some(order) => write!(f, "{}:{}", self.field, order.as_str()),
            None => f.write_str(&self.field),
        }
    }
}

display_value!(Sort);

/// A time Aircall reads as UNIX seconds (`from`, `to`): set from a `DateTime<Utc>`, rounded down
/// to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnixTime(pub chrono::DateTime<chrono::Utc>);

impl From<chrono::DateTime<chrono::Utc>> for UnixTime {
    fn from(t: chrono::DateTime<chrono::Utc>) -> Self {
        Self(t)
    }
}

impl QueryValue for UnixTime {
    fn push(&self, name: &'static str, out: &mut Vec<(&'static str, String)>) {
        out.push((name, self.0.timestamp().to_string()));
    }
}

/// Aircall's `order_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OrderBy {
    /// `created_at`
    CreatedAt,
    /// `updated_at`
    UpdatedAt,
}

impl OrderBy {
    /// The wire value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
        }
    }
}

impl QueryValue for Timestamp {
    fn push(&self, name: &'static str, out: &mut Vec<(&'static str, String)>) {
        out.push((
            name,
            self.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        ));
    }
}

/// Lists go as one comma-separated value (OpenAPI `style: form, explode: false`).
impl<T: QueryValue> QueryValue for Vec<T> {
    fn push(&self, name: &'static str, out: &mut Vec<(&'static str, String)>) {
        let mut parts = Vec::new();
        for v in self {
            v.push(name, &mut parts);
        }
        if !parts.is_empty() {
            let joined: Vec<String> = parts.into_iter().map(|(_, v)| v).collect();
            out.push((name, joined.join(",")));
        }
    }
}

macro_rules! as_str_value {
    ($($t:ty),*) => {$(
        impl QueryValue for $t {
            fn push(&self, name: &'static str, out: &mut Vec<(&'static str, String)>) {
                out.push((name, self.as_str().to_owned()));
            }
        }
    )*};
}

use callbook_models::calendly as c;
as_str_value!(
    c::UserUri,
    c::OrganizationUri,
    c::GroupUri,
    c::EventTypeUri,
    c::ScheduledEventUri,
    c::RoutingFormUri,
    c::ResourceUri,
    c::Status,
    c::Role,
    c::InvitationStatus,
    c::Scope,
    Order,
    OrderBy,
    a::Direction
);

/// Declares a filter struct: required fields go to `new`, optional ones get a setter each.
/// `name = "wire"` renames a field on the wire.
macro_rules! query {
    (
        $(#[$m:meta])*
        $name:ident {
            $( @required $rf:ident : $rty:ty, )*
            $( $(#[$fm:meta])* $f:ident : $ty:ty $(= $wire:literal)?, )*
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( $rf: $rty, )*
            $( $f: Option<$ty>, )*
        }

        #[allow(clippy::new_without_default)]
        impl $name {
            /// A filter with the required parameters set.
            pub fn new($( $rf: $rty ),*) -> Self {
                Self { $( $rf, )* $( $f: None, )* }
            }

            $(
                $(#[$fm])*
                pub fn $f(mut self, value: impl Into<$ty>) -> Self {
                    self.$f = Some(value.into());
                    self
                }
            )*

            pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
                #[allow(unused_imports)]
                use $crate::query::QueryValue as _;
                #[allow(unused_mut)]
                let mut out = Vec::new();
                $( self.$rf.push(stringify!($rf), &mut out); )*
                $( if let Some(v) = &self.$f {
                    v.push($crate::query::query!(@wire $f $($wire)?), &mut out);
                } )*
                out
            }
        }
    };
    (@wire $f:ident $wire:literal) => { $wire };
    (@wire $f:ident) => { stringify!($f) };
}
pub(crate) use query;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_go_on_the_wire_as_the_providers_spell_them() {
        let mut out = Vec::new();
        Sort::asc("start_time").push("sort", &mut out);
        Sort::by("position").push("sort", &mut out);
        vec![Sort::desc("occurred_at"), Sort::asc("action")].push("sort", &mut out);
        let t = chrono::DateTime::from_timestamp(1_700_000_000, 999_000_000).unwrap();
        UnixTime(t).push("from", &mut out);
        Order::Desc.push("order", &mut out);
        OrderBy::UpdatedAt.push("order_by", &mut out);
        a::CallId::new(42).push("id", &mut out);
        assert_eq!(
            out,
            [
                ("sort", "start_time:asc".to_owned()),
                ("sort", "position".to_owned()),
                ("sort", "occurred_at:desc,action:asc".to_owned()),
                ("from", "1700000000".to_owned()),
                ("order", "desc".to_owned()),
                ("order_by", "updated_at".to_owned()),
                ("id", "42".to_owned()),
            ]
        );
    }
}
