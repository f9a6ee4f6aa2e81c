//! Lists today's Aircall calls (UTC), however many there are.
//!
//! ```sh
//! AIRCALL_API_ID=... AIRCALL_API_TOKEN=... cargo run -p callbook-client --example aircall_todays_calls
//! ```

use callbook_client::aircall::AircallClient;
use futures_util::StreamExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let id = std::env::var("AIRCALL_API_ID").map_err(|_| "set AIRCALL_API_ID")?;
    let token = std::env::var("AIRCALL_API_TOKEN").map_err(|_| "set AIRCALL_API_TOKEN")?;
    let mut builder = AircallClient::builder().basic(id, token);
    if let Ok(base) = std::env::var("AIRCALL_BASE_URL") {
        builder = builder.base_url(base);
    }
    let client = builder.build()?;

    let now = chrono::Utc::now();
    let midnight = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
    let mut calls = client.calls_between(midnight, now);
    let mut count = 0;
    while let Some(call) = calls.next().await {
        let call = call?;
        count += 1;
        println!(
            "{}  {:?}  {:?}  {}s",
            call.id,
            call.direction,
            call.status,
            call.duration.unwrap_or_default()
        );
    }
    println!("{count} calls today");
    Ok(())
}
