//! What the binary's end-to-end tests share: a free address, the binary, waiting for it.
// Each test file uses the parts it needs.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

/// A loopback address with a port nobody listens on.
pub(crate) fn free_listen() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    format!("127.0.0.1:{port}")
}

/// The binary, run in `dir`, its server listening on `listen`.
pub(crate) fn callbook(dir: &std::path::Path, listen: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callbook"));
    cmd.current_dir(dir).env("CALLBOOK_SERVER_LISTEN", listen);
    cmd
}

/// Waits (up to 20 s) until something accepts connections on `listen`.
pub(crate) fn wait_listening(listen: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(listen).is_err() {
        assert!(
            Instant::now() < deadline,
            "server did not start on {listen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
