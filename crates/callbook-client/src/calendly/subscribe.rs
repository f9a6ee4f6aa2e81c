//! Creating a webhook subscription safely: a strong signing key made here, and the request
//! checked against the rules Calendly enforces before anything is sent.

use super::client::CalendlyClient;
use crate::error::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use callbook_models::calendly::{CreateWebhookSubscription, Scope, WebhookSubscription};
use rand::RngCore;
use secrecy::SecretString;

/// A new subscription and the key Calendly signs its deliveries with. Calendly never returns
/// the key: store it now (e.g. as the source's secret in callbook's config).
#[derive(Debug)]
#[non_exhaustive]
pub struct CreatedSubscription {
    /// The subscription as Calendly created it.
    pub subscription: WebhookSubscription,
    /// The signing key (redacted in `Debug`).
    pub signing_key: SecretString,
}

impl CalendlyClient {
    /// Creates a webhook subscription with a freshly generated 256-bit signing key.
    ///
    /// Refused before sending ([`Error::InvalidRequest`]): no events; user scope without
    /// `user`; group scope without `group`; `routing_form_submission.created` outside
    /// organization scope; a URL that is not `https://` (Calendly needs a public HTTPS endpoint;
    /// `http://localhost` is allowed for tests). A key already set on the request is replaced.
    pub async fn subscribe(
        &self,
        request: CreateWebhookSubscription,
    ) -> Result<CreatedSubscription> {
        check(&request)?;
        let key = generate_signing_key();
        let request = request.signing_key(secrecy::ExposeSecret::expose_secret(&key));
        let subscription = self.create_webhook_subscription(&request).await?;
        Ok(CreatedSubscription {
            subscription,
            signing_key: key,
        })
    }
}

/// 32 random bytes, base64url: the shape of Calendly's own example key.
pub(crate) fn generate_signing_key() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
}

fn check(r: &CreateWebhookSubscription) -> Result<()> {
    let refuse = |why: &str| Err(Error::InvalidRequest(why.to_owned()));
    if r.events.is_empty() {
        return refuse("a subscription needs at least one event");
    }
    let url = reqwest::Url::parse(&r.url)
        .map_err(|e| Error::InvalidRequest(format!("invalid callback URL: {e}")))?;
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if url.scheme() != "https" && !(url.scheme() == "http" && local) {
        return refuse("the callback URL must be https://");
    }
    match r.scope {
        Scope::User if r.user.is_none() => return refuse("user scope needs a user"),
        Scope::Group if r.group.is_none() => return refuse("group scope needs a group"),
        _ => {}
    }
    if r.scope != Scope::Organization {
        if let Some(e) = r.events.iter().find(|e| e.requires_organization_scope()) {
            return Err(Error::InvalidRequest(format!(
                "`{e}` can only be subscribed with organization scope"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use callbook_models::calendly::{EventName, OrganizationUri, UserUri};

    fn org() -> OrganizationUri {
        OrganizationUri::parse("https://api.calendly.com/organizations/AAAAAAAAAAAAAAAA").unwrap()
    }

    fn req(scope: Scope, events: Vec<EventName>) -> CreateWebhookSubscription {
        CreateWebhookSubscription::new("https://hooks.example.com/calendly", events, org(), scope)
    }

    #[test]
    fn refuses_what_calendly_rejects() {
        let cases = [
            req(Scope::Organization, vec![]),
            req(Scope::User, vec![EventName::InviteeCreated]),
            req(Scope::Group, vec![EventName::InviteeCreated]),
            req(Scope::User, vec![EventName::RoutingFormSubmissionCreated])
                .user(UserUri::parse("https://api.calendly.com/users/BBBBBBBBBBBBBBBB").unwrap()),
            CreateWebhookSubscription::new(
                "http://hooks.example.com/calendly",
                vec![EventName::InviteeCreated],
                org(),
                Scope::Organization,
            ),
        ];
        for c in cases {
            assert!(matches!(check(&c), Err(Error::InvalidRequest(_))), "{c:?}");
        }
    }

    #[test]
    fn accepts_valid_requests() {
        check(&req(
            Scope::Organization,
            vec![
                EventName::RoutingFormSubmissionCreated,
                EventName::InviteeCreated,
            ],
        ))
        .unwrap();
        check(
            &req(Scope::User, vec![EventName::InviteeCanceled])
                .user(UserUri::parse("https://api.calendly.com/users/BBBBBBBBBBBBBBBB").unwrap()),
        )
        .unwrap();
    }

    #[test]
    fn signing_keys_are_strong_and_distinct() {
        use secrecy::ExposeSecret;
        let a = generate_signing_key();
        let b = generate_signing_key();
        assert_eq!(a.expose_secret().len(), 43);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }
}
