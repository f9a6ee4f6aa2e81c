//! The real binary, as a user runs it.

use std::process::{Command, Stdio};

fn callbook() -> Command {
    Command::new(env!("CARGO_BIN_EXE_callbook"))
}

#[test]
fn a_bad_config_exits_2_and_names_the_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("callbook.toml");
    std::fs::write(
        &path,
        "[server]\nlisten = \"127.0.0.1:0\"\nmax_body_byte = 5\n",
    )
    .expect("write");
    let out = callbook()
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("max_body_byte"), "{err}");
    assert!(err.contains("line 3"), "{err}");

    std::fs::write(
        &path,
        "[[sources]]\nname = \"cal\"\nprovider = \"calendly\"\n",
    )
    .expect("write");
    let out = callbook()
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signing_keys"));
}

#[test]
fn numbers_that_would_overflow_exit_2_and_name_the_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("callbook.toml");
    for (text, key) in [
        (
            "[delivery]\nbreaker_cooldown_secs = inf\n",
            "delivery.breaker_cooldown_secs",
        ),
        (
            "[delivery]\nretention_days = 4000000000\n",
            "delivery.retention_days",
        ),
    ] {
        let db = dir.path().join("callbook.db");
        std::fs::write(
            &path,
            format!(
                "[server]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"sqlite://{}\"\n{text}",
                db.display()
            ),
        )
        .expect("write");
        let out = callbook()
            .args(["serve", "--config"])
            .arg(&path)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(key), "{err}");
    }
}

#[test]
fn init_writes_a_config_and_refuses_to_overwrite_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("callbook.toml");
    let out = callbook()
        .args(["init", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(out.status.success());
    let first = std::fs::read_to_string(&path).expect("read");
    let out = callbook()
        .args(["init", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&path).expect("read"), first);
    // A file someone made world-readable is private again once rewritten: it holds secrets.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let out = callbook()
        .args(["init", "--force", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_ne!(
        std::fs::read_to_string(&path).expect("read"),
        first,
        "fresh secrets"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != "callbook.toml")
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary file stays: {leftovers:?}"
    );
}

#[test]
fn verify_explains_a_tampered_body() {
    let body = br#"{"event":"invitee.created","payload":{}}"#;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let header = callbook_signature::calendly::sign(b"the-key", now, body);
    let run = |input: &[u8]| {
        let mut child = callbook()
            .args([
                "verify",
                "--provider",
                "calendly",
                "--key-env",
                "CB_TEST_KEY",
                "--header",
                &header,
            ])
            .env("CB_TEST_KEY", "the-key")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write");
        child.wait_with_output().expect("wait")
    };
    let ok = run(body);
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("valid"));
    let bad = run(br#"{"event":"invitee.created","payload":{"x":1}}"#);
    assert_eq!(bad.status.code(), Some(1));
    let text = String::from_utf8_lossy(&bad.stdout);
    assert!(text.contains("no signature matches"), "{text}");
    assert!(!text.contains("the-key"), "{text}");
}
