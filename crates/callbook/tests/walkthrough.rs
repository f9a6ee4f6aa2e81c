//! Follows the README's five-minute walk-through literally: every `callbook ...` line of that
//! block is run, in order, in an empty directory.

mod support;

use std::process::{Child, Command, Stdio};
use support::{free_listen, wait_listening};

fn walkthrough_lines() -> Vec<String> {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("## Five-minute walk-through")
        .expect("walk-through section");
    let block = &readme[start..];
    let code = block.split("```sh").nth(1).expect("code block");
    let code = code.split("```").next().expect("end of block");
    code.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_owned())
        .filter(|l| l.starts_with("callbook "))
        .collect()
}

#[test]
fn the_readme_walkthrough_works() {
    let lines = walkthrough_lines();
    assert!(lines.len() >= 4, "{lines:?}");
    let dir = tempfile::tempdir().expect("tmp");
    // The walk-through uses the default port; the test moves it to a free one through the
    // documented environment override, so parallel runs do not collide.
    let listen = free_listen();
    let mut background: Vec<Child> = Vec::new();
    let mut last_output = String::new();
    for line in &lines {
        let (line, detached) = match line.strip_suffix('&') {
            Some(l) => (l.trim(), true),
            None => (line.as_str(), false),
        };
        let args: Vec<&str> = line.split_whitespace().skip(1).collect();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_callbook"));
        cmd.args(&args)
            .current_dir(dir.path())
            .env("CALLBOOK_SERVER_LISTEN", &listen);
        if detached {
            let child = cmd
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            background.push(child);
            wait_listening(&listen);
            continue;
        }
        let out = cmd.output().expect("run");
        assert!(
            out.status.success(),
            "`{line}` failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        last_output = String::from_utf8_lossy(&out.stdout).into_owned();
    }
    for mut child in background {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(last_output.contains("invitee.created"), "{last_output}");
    assert!(last_output.contains("calendly"), "{last_output}");
}
