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
    c::Scope
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
