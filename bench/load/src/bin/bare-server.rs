//! The baseline: an axum handler that only reads the body and answers 200, on the same route
//! shape as callbook's receiver. `bare-server ADDR`.

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;

async fn handler(body: Bytes) -> &'static str {
    std::hint::black_box(body.len());
    "{}"
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let app = Router::new().route("/webhooks/calendly/{source}", post(handler));
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
        eprintln!("bare-server listening on {addr}");
        axum::serve(listener, app).await.expect("serve");
    });
}
