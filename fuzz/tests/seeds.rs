//! The seeds AFL++ starts from pass every target's checks.
/// Every seed passes its target's checks (what AFL++ starts from).
#[test]
fn the_seeds_pass() {
    let dir = tempfile_dir();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_make_seeds"))
        .arg(&dir)
        .status()
        .expect("make_seeds");
    assert!(status.success());
    let targets: [(&str, fn(&[u8])); 5] = [
        ("calendly_signature", callbook_fuzz::calendly_signature),
        ("aircall_token", callbook_fuzz::aircall_token),
        ("calendly_webhook", callbook_fuzz::calendly_webhook),
        ("aircall_webhook", callbook_fuzz::aircall_webhook),
        ("intake_log", callbook_fuzz::intake_log),
    ];
    for (name, check) in targets {
        let mut n = 0;
        for entry in std::fs::read_dir(dir.join(name)).expect(name) {
            check(&std::fs::read(entry.expect("seed").path()).expect("read"));
            n += 1;
        }
        assert!(n > 0, "{name} has seeds");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("callbook-fuzz-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}
