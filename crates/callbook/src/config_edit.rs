//! Writes a new secret into a source of `callbook.toml`, keeping the file's comments and layout.

use anyhow::{Context, bail};
use std::path::Path;
use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, Value};

/// What happened to the configuration.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Written {
    /// The secret was put first in the source's list (older ones kept, for rotation).
    Added,
    /// The source's list now holds only the new secret.
    Replaced,
    /// A new `[[sources]]` entry was appended.
    NewSource,
}

/// Puts `secret` first in `key` (`signing_keys` or `tokens`) of the source `name`, creating the
/// source (with `provider`) when the file has none of that name. The file is rewritten
/// atomically, readable by its owner only.
pub(crate) fn add_source_secret(
    path: &Path,
    name: &str,
    provider: &str,
    key: &str,
    secret: &str,
    replace: bool,
) -> anyhow::Result<Written> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut doc: DocumentMut = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    let sources = doc
        .entry("sources")
        .or_insert(Item::ArrayOfTables(ArrayOfTables::new()));
    let Some(sources) = sources.as_array_of_tables_mut() else {
        bail!(
            "`sources` in {} is not a list of [[sources]] tables",
            path.display()
        );
    };
    let existing = sources
        .iter_mut()
        .find(|t| t.get("name").and_then(Item::as_str) == Some(name));
    let written = match existing {
        Some(table) => {
            let have = table
                .get("provider")
                .and_then(Item::as_str)
                .unwrap_or_default();
            if have != provider {
                bail!(
                    "source `{name}` in {} is a {have} source, not {provider}",
                    path.display()
                );
            }
            match table.get_mut(key) {
                Some(item) if !replace => {
                    let Some(list) = item.as_array_mut() else {
                        bail!("`{key}` of source `{name}` is not a list");
                    };
                    list.insert(0, secret);
                    list.fmt();
                    Written::Added
                }
                _ => {
                    table.insert(key, Item::Value(Value::Array(single(secret))));
                    Written::Replaced
                }
            }
        }
        None => {
            let mut table = Table::new();
            table.insert("name", toml_edit::value(name));
            table.insert("provider", toml_edit::value(provider));
            table.insert(key, Item::Value(Value::Array(single(secret))));
            sources.push(table);
            Written::NewSource
        }
    };
    let updated = doc.to_string();
    // Refuse to write a file the server would not start with.
    callbook_server::Config::from_toml(&updated)
        .and_then(|c| c.validate().map(|_| c))
        .map_err(|e| anyhow::anyhow!("the updated configuration would be invalid: {e}"))?;
    crate::init::write_private(path, &updated)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(written)
}

fn single(secret: &str) -> Array {
    let mut a = Array::new();
    a.push(secret);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &tempfile::TempDir) -> std::path::PathBuf {
        let path = dir.path().join("callbook.toml");
        std::fs::write(&path, crate::init::template("admin-token", "old-key")).unwrap();
        path
    }

    #[test]
    fn a_new_key_goes_first_and_comments_survive() {
        let dir = tempfile::tempdir().unwrap();
        let path = config(&dir);
        let w = add_source_secret(
            &path,
            "calendly",
            "calendly",
            "signing_keys",
            "new-key",
            false,
        )
        .unwrap();
        assert_eq!(w, Written::Added);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(r#"signing_keys = ["new-key", "old-key"]"#),
            "{text}"
        );
        assert!(text.contains("# callbook configuration."));
    }

    #[test]
    fn replacing_keeps_only_the_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = config(&dir);
        add_source_secret(
            &path,
            "calendly",
            "calendly",
            "signing_keys",
            "new-key",
            true,
        )
        .unwrap();
        let cfg =
            callbook_server::Config::from_toml(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(cfg.sources[0].signing_keys.len(), 1);
    }

    #[test]
    fn an_unknown_source_is_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = config(&dir);
        let w = add_source_secret(&path, "aircall", "aircall", "tokens", "tok", false).unwrap();
        assert_eq!(w, Written::NewSource);
        let cfg =
            callbook_server::Config::from_toml(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(cfg.sources.len(), 2);
        assert_eq!(cfg.sources[1].name, "aircall");
    }

    #[test]
    fn a_source_of_another_provider_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = config(&dir);
        let before = std::fs::read_to_string(&path).unwrap();
        assert!(add_source_secret(&path, "calendly", "aircall", "tokens", "t", false).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    }
}
