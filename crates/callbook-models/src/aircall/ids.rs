//! Aircall's integer IDs, one type per resource, so a user ID cannot go where a call ID should.

macro_rules! int_id {
    ($($(#[$m:meta])* $name:ident;)*) => {$(
        $(#[$m])*
        ///
        /// Serialised as the bare integer Aircall sends; `Display` and `FromStr` use the same
        /// digits.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize,
            serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// The ID Aircall gave.
            pub const fn new(id: i64) -> Self {
                Self(id)
            }

            /// The integer.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                Self(id)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl PartialEq<i64> for $name {
            fn eq(&self, other: &i64) -> bool {
                self.0 == *other
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    )*};
}

int_id! {
    /// A call's ID.
    CallId;
    /// A user's (agent's) ID.
    UserId;
    /// A team's ID.
    TeamId;
    /// A number's (line's) ID.
    NumberId;
    /// A contact's ID.
    ContactId;
    /// A tag's ID.
    TagId;
}
