//! `CALLBOOK_*` environment overrides: `CALLBOOK_<SECTION>_<KEY>` sets `<key>` of `[<section>]`
//! (`CALLBOOK_SERVER_LISTEN`, `CALLBOOK_DATABASE_URL`, `CALLBOOK_ADMIN_TOKEN`, ...). Values are
//! read as TOML scalars when they parse as one (numbers, booleans), else as strings.

use callbook_server::Config;

const SECTIONS: &[&str] = &["server", "database", "admin", "delivery"];

/// Parses `text`, applies the overrides found in `vars`, and returns the configuration.
pub(crate) fn apply(
    text: &str,
    vars: impl Iterator<Item = (String, String)>,
) -> Result<Config, String> {
    // Parse the file alone first, so that its errors carry its own lines.
    let config = Config::from_toml(text).map_err(|e| e.to_string())?;
    let overrides: Vec<(String, String, String)> = vars
        .filter_map(|(k, v)| {
            let rest = k.strip_prefix("CALLBOOK_")?.to_ascii_lowercase();
            let section = SECTIONS
                .iter()
                .find(|s| rest.starts_with(&format!("{s}_")))?;
            let key = rest[section.len() + 1..].to_owned();
            Some(((*section).to_owned(), key, v))
        })
        .collect();
    if overrides.is_empty() {
        return Ok(config);
    }
    let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    for (section, key, value) in &overrides {
        let entry = table
            .entry(section.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(t) = entry else {
            return Err(format!("[{section}] is not a table"));
        };
        // Secrets and addresses are text even when they look like numbers: a token of digits
        // must stay a token (and never reach an error message as a misplaced number).
        let always_text = matches!(
            (section.as_str(), key.as_str()),
            ("admin", "token") | ("database", "url") | ("server", "listen")
        );
        let parsed = (!always_text)
            .then(|| format!("v = {value}"))
            .as_deref()
            .and_then(|v| v.parse::<toml::Table>().ok())
            .and_then(|mut t| t.remove("v"))
            .filter(|v| !v.is_table())
            .unwrap_or_else(|| toml::Value::String(value.clone()));
        t.insert(key.clone(), parsed);
    }
    let merged = toml::to_string(&table).map_err(|e| e.to_string())?;
    Config::from_toml(&merged).map_err(|e| {
        let names: Vec<String> = overrides
            .iter()
            .map(|(s, k, _)| format!("CALLBOOK_{}_{}", s.to_uppercase(), k.to_uppercase()))
            .collect();
        format!("{e} (after environment overrides {})", names.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn overrides_scalars_of_any_section() {
        let c = apply(
            "[server]\nlisten = \"127.0.0.1:1\"\n",
            vars(&[
                ("CALLBOOK_SERVER_LISTEN", "0.0.0.0:9000"),
                ("CALLBOOK_SERVER_MAX_BODY_BYTES", "1024"),
                ("CALLBOOK_DATABASE_URL", "sqlite:///tmp/x.db"),
                ("CALLBOOK_DELIVERY_JITTER", "0.1"),
                ("UNRELATED", "x"),
            ]),
        )
        .expect("config");
        assert_eq!(c.server.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(c.server.max_body_bytes, 1024);
        assert_eq!(c.database.url, "sqlite:///tmp/x.db");
        assert!((c.delivery.jitter - 0.1).abs() < 1e-9);
    }

    #[test]
    fn a_token_of_digits_stays_a_token_and_no_error_shows_a_value() {
        let c = apply(
            "",
            vars(&[("CALLBOOK_ADMIN_TOKEN", "12345678901234567890123456789012")]),
        )
        .expect("config");
        let token = c.admin.token.expect("token").resolve().expect("resolve");
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&token),
            "12345678901234567890123456789012"
        );
        // A value of the wrong type is named by its variable, never quoted.
        let err = apply(
            "",
            vars(&[("CALLBOOK_SERVER_MAX_BODY_BYTES", "s3cret-value")]),
        )
        .unwrap_err();
        assert!(err.contains("CALLBOOK_SERVER_MAX_BODY_BYTES"), "{err}");
        assert!(!err.contains("s3cret-value"), "{err}");
    }

    #[test]
    fn an_unknown_key_names_the_variable() {
        let err = apply("", vars(&[("CALLBOOK_SERVER_LISTN", "x")])).unwrap_err();
        assert!(
            err.contains("listn") && err.contains("CALLBOOK_SERVER_LISTN"),
            "{err}"
        );
    }
}
