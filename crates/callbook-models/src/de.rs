//! Deserialization helpers for the providers' looser habits.

use serde::{Deserialize, Deserializer};

/// Reads `null` as the default value: Calendly's examples send `"answer_choices": null` where
/// the schema says array.
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
