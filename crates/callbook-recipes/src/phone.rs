//! Phone numbers to E.164, the directory's key for a person's phone.

use callbook_store::PersonKey;
use phonenumber::country::Id;
use std::str::FromStr;

/// Reads phone numbers as people type them, in international or (with the default region)
/// national form.
#[derive(Debug, Clone, Copy)]
pub struct PhoneReader {
    region: Id,
}

impl PhoneReader {
    /// A reader for national numbers of `region` (ISO 3166 alpha-2: `US`, `BR`, `FR`, ...).
    pub fn new(default_region: &str) -> Result<Self, crate::Error> {
        Id::from_str(&default_region.to_ascii_uppercase())
            .map(|region| Self { region })
            .map_err(|_| {
                crate::Error::Config(format!(
                    "directory.default_region {default_region:?} is not an ISO 3166 country code"
                ))
            })
    }

    /// The number in E.164 (`+5511912345678`), or `None` for a withheld, anonymous or invalid
    /// one.
    pub fn e164(&self, text: &str) -> Option<String> {
        let text = text.trim();
        if text.chars().filter(char::is_ascii_digit).count() < 5 {
            // `anonymous`, `withheld`, `private`, empty: nothing to match.
            return None;
        }
        // A number that says its country is read without the default region: phonenumber
        // 0.3.10 with region US drops a leading 1 after the country code (+33 1 42... became
        // +33 42...).
        let region = (!text.starts_with('+')).then_some(self.region);
        let number = phonenumber::parse(region, text).ok()?;
        phonenumber::is_valid(&number)
            .then(|| number.format().mode(phonenumber::Mode::E164).to_string())
    }

    /// An email (lower case) or a phone number (E.164), from what an operator typed.
    pub fn person_key(&self, text: &str) -> Option<PersonKey> {
        let text = text.trim();
        if text.contains('@') {
            return Some(PersonKey::Email(text.to_lowercase()));
        }
        self.e164(text).map(PersonKey::Phone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_in_international_and_national_form() {
        let us = PhoneReader::new("us").unwrap();
        assert_eq!(us.e164("(415) 555-0132").as_deref(), Some("+14155550132"));
        assert_eq!(us.e164("+1 415-555-0132").as_deref(), Some("+14155550132"));
        assert_eq!(
            us.e164("+55 11 91234-5678").as_deref(),
            Some("+5511912345678")
        );
        assert_eq!(
            us.e164("+33 1 42 68 53 00").as_deref(),
            Some("+33142685300")
        );
        let br = PhoneReader::new("BR").unwrap();
        assert_eq!(
            br.e164("(11) 91234-5678").as_deref(),
            Some("+5511912345678")
        );
    }

    #[test]
    fn withheld_and_invalid_numbers_match_nothing() {
        let us = PhoneReader::new("US").unwrap();
        for text in [
            "anonymous",
            "",
            "  ",
            "withheld",
            "+1 000",
            "12",
            "not a number",
        ] {
            assert_eq!(us.e164(text), None, "{text:?}");
        }
        assert!(PhoneReader::new("Narnia").is_err());
    }

    #[test]
    fn operators_look_people_up_by_email_or_number() {
        let us = PhoneReader::new("US").unwrap();
        assert_eq!(
            us.person_key(" Ana@Example.COM "),
            Some(PersonKey::Email("ana@example.com".into()))
        );
        assert_eq!(
            us.person_key("415 555 0132"),
            Some(PersonKey::Phone("+14155550132".into()))
        );
    }
}
