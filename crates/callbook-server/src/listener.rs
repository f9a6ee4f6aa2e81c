//! Serving a router on a TCP listener with the limits a public edge needs.
//!
//! `axum::serve` runs hyper without a timer, so a client that sends half a request line and
//! then nothing keeps its socket (and a task) forever. Here each connection gets hyper's
//! header-read timeout, an idle keep-alive timeout, and a slot out of `max_connections`; a
//! connection beyond the limit is closed as soon as it is accepted, so the kernel's backlog
//! does not fill with them either.

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::Service;

/// Connection limits of one listener.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Time allowed for a request's head, counted from the connection's opening or, on a
    /// kept-alive connection, from the previous response (hyper counts it from there).
    pub(crate) header_read_timeout: Duration,
    /// A kept-alive connection with no request in flight for this long is closed; zero turns
    /// keep-alive off.
    pub(crate) idle_timeout: Duration,
    /// Connections open at once; more are closed when accepted.
    pub(crate) max_connections: usize,
    /// After shutdown begins, how long open connections are given to finish.
    pub(crate) drain_timeout: Duration,
}

/// Counters the caller may publish.
#[derive(Debug, Default)]
pub(crate) struct ConnectionStats {
    pub(crate) open: AtomicU64,
    pub(crate) refused: AtomicU64,
}

/// Serves `app` until `shutdown` completes, then stops accepting and lets open connections
/// finish (at most `drain_timeout`).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stats: Arc<ConnectionStats>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(!limits.idle_timeout.is_zero());
    let mut shutdown = pin!(shutdown);
    let mut refused_logged_at: Option<Instant> = None;
    loop {
        let (stream, _peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors (or a connection reset before accept): wait a
                    // little rather than spin, the open connections' timeouts free some.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            if refused_logged_at.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                refused_logged_at = Some(Instant::now());
                tracing::warn!(
                    limit = limits.max_connections,
                    "connection limit reached: new connections are closed (server.max_connections)"
                );
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let service = {
            let activity = activity.clone();
            let app = app.clone();
            hyper::service::service_fn(move |req: Request<Incoming>| {
                let mut app = app.clone();
                let guard = activity.begin();
                async move {
                    let response: Response = match app.call(req.map(Body::new)).await {
                        Ok(r) => r,
                        Err(never) => match never {},
                    };
                    drop(guard);
                    Ok::<_, Infallible>(response)
                }
            })
        };
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let mut stop = stop_rx.clone();
        let stats = stats.clone();
        stats.open.fetch_add(1, Ordering::Relaxed);
        let idle_timeout = limits.idle_timeout;
        tokio::spawn(async move {
            let mut conn = pin!(conn);
            let mut closing = false;
            let idle = tokio::time::sleep(idle_timeout.max(Duration::from_millis(1)));
            let mut idle = pin!(idle);
            loop {
                tokio::select! {
                    _ = conn.as_mut() => break,
                    _ = stop.wait_for(|s| *s), if !closing => {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                    () = idle.as_mut(), if !closing && !idle_timeout.is_zero() => {
                        match activity.idle_deadline(idle_timeout) {
                            None => {
                                closing = true;
                                conn.as_mut().graceful_shutdown();
                            }
                            Some(at) => idle.as_mut().reset(at.into()),
                        }
                    }
                }
            }
            stats.open.fetch_sub(1, Ordering::Relaxed);
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.drain_timeout, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            open = stats.open.load(Ordering::Relaxed),
            "connections still open after the drain timeout are dropped"
        );
    }
    Ok(())
}

/// What a connection's idle timer needs: requests in flight, and when the last one ended.
struct Activity {
    started: Instant,
    in_flight: AtomicU32,
    /// Milliseconds since `started` at which the last request ended (or the connection opened).
    last_end_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            in_flight: AtomicU32::new(0),
            last_end_ms: AtomicU64::new(0),
        }
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// `None` when the connection has been idle for `timeout`; otherwise when to look again.
    fn idle_deadline(&self, timeout: Duration) -> Option<Instant> {
        let now = Instant::now();
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return Some(now + timeout);
        }
        let last_end =
            self.started + Duration::from_millis(self.last_end_ms.load(Ordering::Relaxed));
        let at = last_end + timeout;
        (at > now).then_some(at)
    }
}

struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let ms = u64::try_from(self.0.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.last_end_ms.store(ms, Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
