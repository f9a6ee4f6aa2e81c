//! `callbook`: the binary. Wiring and user experience only; the logic lives in the libraries.

mod admin_cli;
mod cli;
mod config_edit;
mod env_config;
mod init;
mod logging;
mod providers;
mod send_test;
mod serve;
mod verify;

use clap::Parser;
use std::process::ExitCode;

// A server allocates and frees many short-lived buffers per request (bodies, rows, JSON);
// mimalloc does that with less CPU than the system allocator and keeps RSS low.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code for usage and configuration errors.
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(cli::run(cli));
    match result {
        Ok(code) => code,
        Err(cli::Failure::Config(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_CONFIG)
        }
        Err(cli::Failure::Runtime(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
