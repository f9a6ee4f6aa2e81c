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
mod sync;
mod verify;

use clap::Parser;
use std::process::ExitCode;

// A server allocates and frees many short-lived buffers per request (bodies, rows, JSON);
// mimalloc does that with less CPU than the system allocator and keeps RSS low.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code for usage and configuration errors.
const EXIT_CONFIG: u8 = 2;

/// The async runtime for this many CPUs. On one (a container's limit, or `taskset`), a
/// work-stealing scheduler has no one to share work with, and the single-threaded one does the
/// same work with less bookkeeping: 8% more closed-loop ingestion and about 2.5% less CPU per
/// delivered event at 5,000/s (docs/benchmarks.md). Setting `TOKIO_WORKER_THREADS` asks for
/// the multi-threaded one anyway.
fn runtime_builder(cpus: usize, worker_threads_set: bool) -> tokio::runtime::Builder {
    if cpus == 1 && !worker_threads_set {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    }
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match runtime_builder(
        std::thread::available_parallelism().map_or(0, usize::from),
        std::env::var_os("TOKIO_WORKER_THREADS").is_some(),
    )
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

#[cfg(test)]
mod tests {
    use super::runtime_builder;
    use tokio::runtime::RuntimeFlavor;

    fn flavor(cpus: usize, worker_threads_set: bool) -> RuntimeFlavor {
        runtime_builder(cpus, worker_threads_set)
            .build()
            .expect("runtime")
            .handle()
            .runtime_flavor()
    }

    #[test]
    fn one_cpu_runs_single_threaded_unless_worker_threads_are_asked_for() {
        assert_eq!(flavor(1, false), RuntimeFlavor::CurrentThread);
        assert_eq!(flavor(1, true), RuntimeFlavor::MultiThread);
        assert_eq!(flavor(2, false), RuntimeFlavor::MultiThread);
        // Unknown (available_parallelism failed): the general-purpose runtime.
        assert_eq!(flavor(0, false), RuntimeFlavor::MultiThread);
    }
}
