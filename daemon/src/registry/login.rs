//! `docker login`: the registry's `GET /v2/` with the credentials, through its challenge (basic, or
//! a token from its token server asked for a refresh token, which becomes the client's identity
//! token), on the endpoints a push would use; the outcome and failures worded as dockerd 20.10's.

use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use wharf_client_core::registry_auth::RegistryAuth;
use wharf_client_core::ErrorKind;

use super::auth::{self, Challenge};
use super::endpoints::index_of;
use super::{errors, Access, LoginOutcome, Shared};
use crate::error::Error;

/// A login's failure, and whether the next endpoint may still succeed (no answer at all).
enum Attempt {
    Done(Result<LoginOutcome, Error>),
    Fallback(Error),
}

/// Checks `auth` against the registry its `serveraddress` names.
pub(super) async fn login(shared: &Shared, auth: &RegistryAuth) -> Result<LoginOutcome, Error> {
    let index = index_of(&auth.serveraddress);
    let mut last = Error::system(format!("no endpoint for {index}"));
    for endpoint in shared.endpoints(&index, Access::Push).await {
        let client = shared.client(&endpoint)?;
        let url = format!("{}/v2/", endpoint.base);
        match attempt(&client, &url, auth).await {
            Attempt::Done(result) => return result,
            Attempt::Fallback(e) => {
                tracing::debug!(%url, "login endpoint failed: {e}");
                last = e;
            }
        }
    }
    Err(last)
}

async fn attempt(client: &reqwest::Client, url: &str, auth: &RegistryAuth) -> Attempt {
    let get = reqwest::Method::GET;
    let ping = match errors::send(&get, url, client.get(url)).await {
        Ok(r) => r,
        Err((e, _)) => return Attempt::Fallback(e),
    };
    if ping.status() == StatusCode::OK {
        return Attempt::Done(Ok(LoginOutcome::default()));
    }
    let challenge = auth::pick_challenge(
        ping.headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
    let failed = |status: StatusCode| {
        Error::system(format!(
            "login attempt to {url} failed with status: {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or_default()
        ))
    };
    let (header, identity) = match challenge {
        Some(Challenge::Basic) => match auth.credentials() {
            Some((user, password)) => (auth::basic_header(&user, &password), None),
            None => {
                return Attempt::Done(Err(
                    auth::no_basic_credentials().context(format!("Get \"{url}\""))
                ))
            }
        },
        Some(Challenge::Bearer { realm, service }) if auth.registrytoken.is_empty() => {
            match auth::fetch_token(client, &realm, service.as_deref(), &[], auth, true).await {
                Ok(t) => (format!("Bearer {}", t.access), t.refresh),
                Err(e) => {
                    let kind = e.kind;
                    let e = e.context(format!("Get \"{url}\""));
                    // dockerd answers a refused token with 401, anything else with 500.
                    let e = Error::new(
                        if kind == ErrorKind::Unauthorized {
                            ErrorKind::Unauthorized
                        } else {
                            ErrorKind::System
                        },
                        e.message,
                    );
                    return Attempt::Done(Err(e));
                }
            }
        }
        Some(Challenge::Bearer { .. }) => (format!("Bearer {}", auth.registrytoken), None),
        None => return Attempt::Done(Err(failed(ping.status()))),
    };
    let mut value = match reqwest::header::HeaderValue::from_str(&header) {
        Ok(v) => v,
        Err(_) => {
            return Attempt::Done(Err(Error::invalid(
                "credentials that cannot be sent in a header",
            )))
        }
    };
    value.set_sensitive(true);
    match errors::send(&get, url, client.get(url).header(AUTHORIZATION, value)).await {
        Ok(r) if r.status() == StatusCode::OK => Attempt::Done(Ok(LoginOutcome {
            identity_token: identity,
        })),
        Ok(r) => Attempt::Done(Err(failed(r.status()))),
        Err((e, _)) => Attempt::Fallback(e),
    }
}
