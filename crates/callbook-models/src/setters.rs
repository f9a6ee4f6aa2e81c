//! Chained setters for the optional fields of request bodies, which are `#[non_exhaustive]`
//! (new optional fields are not a breaking change) and so cannot be written as struct
//! literals outside this crate.

/// `impl Type { pub fn field(self, value: impl Into<T>) -> Self }` for each `field: T`, setting
/// `Some(value)`.
macro_rules! option_setters {
    ($ty:ty { $( $field:ident : $arg:ty ),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("Sets `", stringify!($field), "`.")]
                #[must_use]
                pub fn $field(mut self, value: impl Into<$arg>) -> Self {
                    self.$field = Some(value.into());
                    self
                }
            )*
        }
    };
}
pub(crate) use option_setters;
