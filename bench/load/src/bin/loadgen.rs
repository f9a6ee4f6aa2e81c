//! Load generator for callbook's benchmarks.
//!
//! Sends the seed `invitee.created` with a distinct invitee URI and a freshly computed
//! Calendly signature on every request (so every request is a new event, verified for real), over
//! N keep-alive HTTP/1.1 connections, and reports throughput and latency percentiles.
//!
//! `loadgen --url http://127.0.0.1:8080/webhooks/calendly/bench --key KEY
//!          [--connections 32] [--duration 10] [--warmup 2] [--rate 0] [--json]`
//!
//! `--rate R` (events per second, in total) paces requests open-loop; 0 means as fast as the
//! server answers (closed loop).
//!
//! `--server-pid PID` reads the server's CPU time (`/proc/PID/stat`, all its threads) at the
//! start and end of the measured window and reports it per request, beside this generator's
//! own use of its core: a generator near 100% is the bottleneck, and a ratio against it would
//! measure the generator. `--static` signs one body once and sends it again and again, the
//! cheapest request to make (for a baseline that does not verify; callbook would answer each
//! one as a redelivery). `--clk-tck N` is the kernel's clock tick rate (`getconf CLK_TCK`).

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Args {
    url: String,
    key: String,
    connections: usize,
    duration: u64,
    warmup: u64,
    rate: u64,
    json: bool,
    server_pid: Option<u32>,
    static_body: bool,
    clk_tck: f64,
}

fn args() -> Args {
    let mut a = Args {
        url: "http://127.0.0.1:8080/webhooks/calendly/bench".into(),
        key: "bench-signing-key".into(),
        connections: 32,
        duration: 10,
        warmup: 2,
        rate: 0,
        json: false,
        server_pid: None,
        static_body: false,
        clk_tck: 100.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => a.url = val(),
            "--key" => a.key = val(),
            "--connections" => a.connections = val().parse().expect("number"),
            "--duration" => a.duration = val().parse().expect("seconds"),
            "--warmup" => a.warmup = val().parse().expect("seconds"),
            "--rate" => a.rate = val().parse().expect("events per second"),
            "--json" => a.json = true,
            "--server-pid" => a.server_pid = Some(val().parse().expect("pid")),
            "--static" => a.static_body = true,
            "--clk-tck" => a.clk_tck = val().parse().expect("ticks per second"),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// Event `n`'s body with a signature made now: its `Calendly-Webhook-Signature` and the body.
fn signed(key: &[u8], n: u64) -> (String, Bytes) {
    let body = body(n);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let header = callbook_signature::calendly::sign(key, t as i64, &body);
    (header, Bytes::from(body))
}

/// CPU time (user + system, all threads) of a process so far, in clock ticks.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are plain.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

// A copy of the models crate's seed fixture, so this crate packages on its own.
const SEED: &str = include_str!("../../seed_invitee_created.json");

fn body(n: u64) -> Vec<u8> {
    // The seed, as a live delivery would be: a distinct invitee URI and the delivery's own
    // creation time (microsecond precision, as Calendly writes it).
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    let (secs, micros) = (now.as_secs(), now.subsec_micros());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    let created_at = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    // The send time rides in the invitee URI, so a sink can measure end-to-end latency.
    let sent_micros = now.as_micros();
    SEED.replacen(
        "/invitees/AAAAAAAAAAAAAAAA\"",
        &format!("/invitees/T{sent_micros}N{n}\""),
        1,
    )
    .replacen(
        "\"created_at\":\"2020-11-23T17:51:19.000000Z\"",
        &format!("\"created_at\":\"{created_at}\""),
        1,
    )
    .into_bytes()
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn main() {
    let a = args();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    runtime.block_on(run(a));
}

struct Shared {
    next: AtomicU64,
    ok: AtomicU64,
    failed: AtomicU64,
    hist: Mutex<Histogram<u64>>,
    recording: std::sync::atomic::AtomicBool,
}

async fn run(a: Args) {
    // `--url a,b,...`: connections are spread round-robin over the servers (several
    // instances behind one imaginary load balancer).
    let targets: Vec<(String, String)> = a
        .url
        .split(',')
        .map(|u| {
            let uri: hyper::Uri = u.parse().expect("url");
            (
                uri.authority().expect("host").to_string(),
                uri.path().to_owned(),
            )
        })
        .collect();
    let shared = Arc::new(Shared {
        next: AtomicU64::new(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("clock")
                .as_micros() as u64
                * 1000,
        ),
        ok: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        hist: Mutex::new(Histogram::new_with_bounds(1, 60_000_000, 3).expect("hist")),
        recording: std::sync::atomic::AtomicBool::new(false),
    });
    let key: Arc<[u8]> = a.key.as_bytes().into();
    // One body, signed once, for `--static`.
    let fixed: Option<(String, Bytes)> = a.static_body.then(|| signed(&key, 1));
    let stop_at = Instant::now() + Duration::from_secs(a.warmup + a.duration);
    // Open-loop pacing: each connection sends at rate/connections, on a fixed schedule, and
    // latency is measured from the scheduled time (no coordinated omission).
    let per_conn_interval =
        (a.rate > 0).then(|| Duration::from_secs_f64(a.connections as f64 / a.rate as f64));
    let mut tasks = Vec::new();
    for c in 0..a.connections {
        let (host, path) = targets[c % targets.len()].clone();
        let (shared, key, fixed) = (shared.clone(), key.clone(), fixed.clone());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(&host)
                .await
                .expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            // Connections are phased evenly over one interval: started together, they would
            // all fire at once, and a steady rate would arrive as bursts of `connections`.
            let mut scheduled = Instant::now();
            if let Some(interval) = per_conn_interval {
                scheduled += interval.mul_f64(c as f64 / a.connections as f64);
                scheduled = scheduled.checked_sub(interval).unwrap_or(scheduled);
            }
            while Instant::now() < stop_at {
                if let Some(interval) = per_conn_interval {
                    scheduled += interval;
                    let now = Instant::now();
                    if scheduled > now {
                        tokio::time::sleep(scheduled - now).await;
                    }
                } else {
                    scheduled = Instant::now();
                }
                let (header, body) = match &fixed {
                    Some((header, body)) => (header.clone(), body.clone()),
                    None => signed(&key, shared.next.fetch_add(1, Ordering::Relaxed)),
                };
                let req = Request::post(path.as_str())
                    .header("host", host.as_str())
                    .header("content-type", "application/json")
                    .header("calendly-webhook-signature", header)
                    .body(Full::new(body))
                    .expect("request");
                let result = sender.send_request(req).await;
                let ok = match result {
                    Ok(resp) => {
                        let status = resp.status();
                        let _ = resp.into_body().collect().await;
                        status.is_success()
                    }
                    Err(_) => false,
                };
                if shared.recording.load(Ordering::Relaxed) {
                    let micros = scheduled.elapsed().as_micros() as u64;
                    if ok {
                        shared.ok.fetch_add(1, Ordering::Relaxed);
                        let _ = shared.hist.lock().expect("lock").record(micros.max(1));
                    } else {
                        shared.failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if !ok && sender.ready().await.is_err() {
                    break;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(a.warmup)).await;
    let server_pid = a.server_pid.map(|p| p.to_string());
    let cpu = |pid: Option<&str>| pid.and_then(cpu_ticks);
    let (server_start, own_start) = (cpu(server_pid.as_deref()), cpu_ticks("self"));
    shared.recording.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(a.duration)).await;
    shared.recording.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let (server_end, own_end) = (cpu(server_pid.as_deref()), cpu_ticks("self"));
    let busy =
        |start: Option<u64>, end: Option<u64>| Some(end?.saturating_sub(start?) as f64 / a.clk_tck);
    let server_secs = busy(server_start, server_end);
    let own_secs = busy(own_start, own_end);
    for t in tasks {
        let _ = t.await;
    }
    let ok = shared.ok.load(Ordering::Relaxed);
    let failed = shared.failed.load(Ordering::Relaxed);
    let h = shared.hist.lock().expect("lock");
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let rps = ok as f64 / elapsed;
    let answered = (ok + failed).max(1) as f64;
    let server_cpu_us = server_secs.map(|s| s * 1e6 / answered);
    let server_util = server_secs.map(|s| s / elapsed);
    let loadgen_util = own_secs.map(|s| s / elapsed);
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "requests_per_sec": rps, "ok": ok, "failed": failed,
                "p50_ms": ms(0.5), "p90_ms": ms(0.9), "p99_ms": ms(0.99), "p999_ms": ms(0.999), "max_ms": h.max() as f64 / 1000.0,
                "server_cpu_us_per_req": server_cpu_us, "server_cpu_util": server_util,
                "loadgen_cpu_util": loadgen_util,
            })
        );
    } else {
        println!(
            "{rps:.0} req/s  ok {ok}  failed {failed}  p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms",
            ms(0.5),
            ms(0.9),
            ms(0.99),
            ms(0.999),
            h.max() as f64 / 1000.0
        );
    }
}
