//! Find an Aircall contact by phone number or e-mail, or create it.
//!
//! ```sh
//! AIRCALL_API_ID=... AIRCALL_API_TOKEN=... \
//!   cargo run -p callbook-examples --example aircall_contact -- +33612345678 ana@example.com Ana Lima
//! ```
//!
//! An existing contact gets the names and the number or e-mail it lacks; nothing else of it
//! changes. `AIRCALL_BASE_URL` points it elsewhere (a mock, say).

use callbook_client::aircall::{AircallClient, Upserted};
use callbook_client::models::aircall::ContactFields;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: aircall_contact PHONE [EMAIL] [FIRST_NAME] [LAST_NAME]";
    let mut args = std::env::args().skip(1);
    let phone = args.next().ok_or(usage)?;
    let mut fields = ContactFields::default().phone("Mobile", phone);
    if let Some(email) = args.next() {
        fields = fields.email("Work", email);
    }
    if let Some(first) = args.next() {
        fields = fields.first_name(first);
    }
    if let Some(last) = args.next() {
        fields = fields.last_name(last);
    }

    let id = std::env::var("AIRCALL_API_ID").map_err(|_| "set AIRCALL_API_ID")?;
    let token = std::env::var("AIRCALL_API_TOKEN").map_err(|_| "set AIRCALL_API_TOKEN")?;
    let mut builder = AircallClient::builder().basic(id, token);
    if let Ok(base) = std::env::var("AIRCALL_BASE_URL") {
        builder = builder.base_url(base);
    }
    let client = builder.build()?;

    let upserted = client.upsert_contact(&fields).await?;
    let what = match &upserted {
        Upserted::Created(_) => "created",
        _ => "found and updated",
    };
    println!("{what} contact {}", upserted.contact().id);
    Ok(())
}
