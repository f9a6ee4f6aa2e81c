//! `callbook init`: a commented configuration with fresh secrets.

use crate::cli::Failure;
use anyhow::Context;
use base64::Engine;
use rand::RngCore;
use std::path::Path;
use std::process::ExitCode;

/// A random secret: 32 bytes from the OS generator, base64url without padding.
pub(crate) fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn template(admin_token: &str, signing_key: &str) -> String {
    format!(
        r#"# callbook configuration. Every key is documented in docs/configuration.md.
# Secrets can be written inline (as below), or read from the environment or a file:
#   token = {{ env = "CALLBOOK_ADMIN_TOKEN" }}
#   token = {{ file = "/run/secrets/callbook_admin_token" }}

[server]
listen = "127.0.0.1:8080"
max_body_bytes = 262144        # larger webhook bodies get 413
request_timeout_secs = 10

[database]
url = "sqlite://callbook.db"   # one file, created if missing
durability = "process"         # "power_loss" fsyncs every commit

[admin]
# Bearer token of the admin API (/admin/...). Remove it to turn the admin API off.
token = "{admin_token}"

# A Calendly source receives at /webhooks/calendly/calendly.
# Give Calendly this signing key when you create the webhook subscription
# (`callbook calendly subscribe` does it for you).
[[sources]]
name = "calendly"
provider = "calendly"
signing_keys = ["{signing_key}"]  # add the new key first when rotating
tolerance_secs = 180

# An Aircall source receives at /webhooks/aircall/aircall. Aircall does not sign deliveries:
# each body carries the webhook's token, shown by `GET /v1/webhooks/{{id}}`.
# [[sources]]
# name = "aircall"
# provider = "aircall"
# tokens = ["..."]
"#
    )
}

pub(crate) fn run(path: &Path, force: bool) -> Result<ExitCode, Failure> {
    if path.exists() && !force {
        return Err(Failure::Config(anyhow::anyhow!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        )));
    }
    let text = template(&generate_secret(), &generate_secret());
    write_private(path, &text)
        .with_context(|| format!("cannot write {}", path.display()))
        .map_err(Failure::Runtime)?;
    println!(
        "wrote {} with a fresh admin token and Calendly signing key",
        path.display()
    );
    println!("next: callbook serve --config {}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// Writes a file readable by its owner only (it holds secrets), whole or not at all: the text
/// goes to a new file beside it (mode 0600 whatever the old file's mode was), which is synced,
/// renamed over the old one, and the directory synced, so a crash never leaves a half-written
/// configuration nor loses a signing key that the provider showed only once.
pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut f| {
        // An older file of that name may have had a wider mode; this one starts private.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename is durable once the directory is.
    #[cfg(unix)]
    std::fs::File::open(&dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_is_a_valid_configuration() {
        let config = callbook_server::Config::from_toml(&template("a", "b")).expect("parses");
        config.validate().expect("valid");
        assert_eq!(config.sources.len(), 1);
    }

    #[test]
    fn secrets_are_fresh_and_strong() {
        let (a, b) = (generate_secret(), generate_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
    }
}
