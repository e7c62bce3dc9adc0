//! Certificates from an ACME certificate authority (RFC 8555), such as Let's Encrypt: an
//! account kept across restarts, an order for the server's names, each name proven by
//! HTTP-01 (answered on port 80 by the HTTP router) or TLS-ALPN-01 (RFC 8737, answered on
//! port 443 by the certificate resolver), and the chain with its new key handed back to the
//! caller, which presents it. Runtime-neutral: requests go through the runtime's
//! [`Dialer`], waits through its [`Executor`].

mod challenges;
mod client;

use std::sync::Arc;
use std::time::{Duration, Instant};

use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, Order, OrderStatus,
};

pub use challenges::{ALPN, Challenges, HTTP_PREFIX};

use crate::dns::Resolver;
use crate::io::{Dialer, Executor};

/// Let's Encrypt's production directory, the default.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// How long an order may take from its creation to its certificate.
const ORDER_LIMIT: Duration = Duration::from_secs(300);

/// How each name is proven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    /// A certificate presented on port 443 to a client offering only `acme-tls/1`.
    TlsAlpn01,
    /// A file fetched over plain HTTP on port 80.
    Http01,
}

impl std::fmt::Display for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Proof::TlsAlpn01 => "tls-alpn-01",
            Proof::Http01 => "http-01",
        })
    }
}

impl Proof {
    fn challenge_type(self) -> ChallengeType {
        match self {
            Proof::TlsAlpn01 => ChallengeType::TlsAlpn01,
            Proof::Http01 => ChallengeType::Http01,
        }
    }
}

/// What to ask for, and from whom.
#[derive(Clone, Debug)]
pub struct Request {
    /// The directory URL of the certificate authority.
    pub directory: String,
    /// Addresses the authority may write to about the account (expiry, policy changes).
    pub contact: Vec<String>,
    /// The names the certificate holds.
    pub names: Vec<String>,
    pub proof: Proof,
}

/// How the certificate's renewal stands, for `/health/detailed` and `postern doctor`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// When the certificate in use is due for renewal (Unix seconds); `None` while there
    /// is none from the authority.
    pub renews_at: Option<i64>,
    /// Why the last order failed, and when the next one is made (Unix seconds).
    pub failed: Option<(String, i64)>,
}

/// A certificate chain and its private key, both PEM. Not `Debug`: the key must not end
/// up in a log line.
#[derive(Clone)]
pub struct Issued {
    pub chain: String,
    pub key: String,
}

/// The account, as kept between runs: `{"directory": URL, "credentials": ...}`, the
/// credentials as instant-acme writes them.
fn saved_for(text: &str, directory: &str) -> Option<AccountCredentials> {
    let mut saved: serde_json::Value = serde_json::from_str(text).ok()?;
    if saved.get("directory")?.as_str()? != directory {
        return None;
    }
    serde_json::from_value(saved.get_mut("credentials")?.take()).ok()
}

/// What an order needs from the running server.
pub struct Context<'a, D: Dialer, E: Executor> {
    pub resolver: Arc<dyn Resolver>,
    pub dialer: D,
    pub executor: &'a E,
    pub challenges: &'a Challenges,
}

/// Obtains a certificate for `request`. `saved` is the account kept from an earlier run (as
/// `save` was given it); a new account is made when there is none, or it belongs to another
/// directory, and handed to `save`, on the blocking pool, before the order starts.
pub async fn obtain<D: Dialer, E: Executor>(
    request: &Request,
    saved: Option<&str>,
    save: impl FnOnce(String) -> Result<(), String> + Send + 'static,
    cx: Context<'_, D, E>,
) -> Result<Issued, String> {
    let client = || {
        Account::builder_with_http(Box::new(client::Client {
            resolver: cx.resolver.clone(),
            dialer: cx.dialer.clone(),
        }))
    };
    let saved = saved.and_then(|text| saved_for(text, &request.directory));
    let account = match saved {
        Some(credentials) => client()
            .from_credentials(credentials)
            .await
            .map_err(|e| format!("cannot reach the account at {}: {e}", request.directory))?,
        None => {
            let contact: Vec<String> = request
                .contact
                .iter()
                .map(|address| format!("mailto:{address}"))
                .collect();
            let contact: Vec<&str> = contact.iter().map(String::as_str).collect();
            let new = NewAccount {
                contact: &contact,
                terms_of_service_agreed: true,
                only_return_existing: false,
            };
            let (account, credentials) = client()
                .create(&new, request.directory.clone(), None)
                .await
                .map_err(|e| format!("cannot open an account at {}: {e}", request.directory))?;
            let saved = serde_json::json!({
                "directory": request.directory,
                "credentials": credentials,
            });
            let text = saved.to_string();
            cx.executor.unblock(move || save(text)).await?;
            tracing::info!(directory = request.directory, "opened an ACME account");
            account
        }
    };
    let identifiers: Vec<Identifier> = request
        .names
        .iter()
        .map(|name| Identifier::Dns(name.clone()))
        .collect();
    let mut order = account
        .new_order(&NewOrder::new(&identifiers))
        .await
        .map_err(|e| format!("the order was refused: {e}"))?;
    let mut answered = Answered {
        challenges: cx.challenges,
        http: Vec::new(),
        tls_alpn: Vec::new(),
    };
    let deadline = Instant::now() + ORDER_LIMIT;
    prove(&mut order, request.proof, &mut answered).await?;
    wait_until_ready(&mut order, cx.executor, deadline).await?;
    let key = order
        .finalize()
        .await
        .map_err(|e| format!("the order could not be finalized: {e}"))?;
    let mut pause = Pauses::default();
    let chain = loop {
        match order.certificate().await {
            Ok(Some(chain)) => break chain,
            Ok(None) if Instant::now() < deadline => cx.executor.sleep(pause.next()).await,
            Ok(None) => return Err("the certificate was not issued in time".into()),
            Err(e) => return Err(format!("the certificate could not be fetched: {e}")),
        }
    };
    drop(answered);
    Ok(Issued { chain, key })
}

/// Answers every pending authorization's challenge of the kind `proof` names and tells the
/// authority to validate it.
async fn prove(order: &mut Order, proof: Proof, answered: &mut Answered<'_>) -> Result<(), String> {
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization =
            authorization.map_err(|e| format!("cannot read an authorization: {e}"))?;
        match authorization.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            status => return Err(format!("an authorization is {status:?}")),
        }
        let mut challenge = authorization
            .challenge(proof.challenge_type())
            .ok_or_else(|| format!("the authority does not offer {proof} here"))?;
        let name = challenge.identifier().to_string();
        let key_authorization = challenge.key_authorization();
        match proof {
            Proof::Http01 => {
                answered
                    .challenges
                    .put_http(&challenge.token, key_authorization.as_str());
                answered.http.push(challenge.token.clone());
            }
            Proof::TlsAlpn01 => {
                answered
                    .challenges
                    .put_tls_alpn(&name, key_authorization.digest().as_ref())?;
                answered.tls_alpn.push(name.clone());
            }
        }
        challenge
            .set_ready()
            .await
            .map_err(|e| format!("cannot ask for the validation of {name}: {e}"))?;
    }
    Ok(())
}

/// Polls the order until the authority has validated every name.
async fn wait_until_ready<E: Executor>(
    order: &mut Order,
    executor: &E,
    deadline: Instant,
) -> Result<(), String> {
    let mut pause = Pauses::default();
    loop {
        let state = order
            .refresh()
            .await
            .map_err(|e| format!("cannot read the order: {e}"))?;
        match state.status {
            OrderStatus::Ready | OrderStatus::Valid => return Ok(()),
            OrderStatus::Invalid => return Err(why_invalid(order).await),
            OrderStatus::Pending | OrderStatus::Processing if Instant::now() < deadline => {
                executor.sleep(pause.next()).await;
            }
            OrderStatus::Pending | OrderStatus::Processing => {
                return Err("the names were not validated in time".into());
            }
        }
    }
}

/// What the authority said about the names it could not validate.
async fn why_invalid(order: &mut Order) -> String {
    let mut reasons = Vec::new();
    if let Some(problem) = &order.state().error {
        reasons.push(problem.to_string());
    }
    let mut authorizations = order.authorizations();
    while let Some(Ok(authorization)) = authorizations.next().await {
        let name = authorization.identifier().to_string();
        for challenge in &authorization.challenges {
            if let Some(problem) = &challenge.error {
                reasons.push(format!("{name}: {problem}"));
            }
        }
    }
    if reasons.is_empty() {
        reasons.push("a name was not validated".into());
    }
    format!("the order failed: {}", reasons.join("; "))
}

/// The answers an order put out, taken back when it ends however it ends.
struct Answered<'a> {
    challenges: &'a Challenges,
    http: Vec<String>,
    tls_alpn: Vec<String>,
}

impl Drop for Answered<'_> {
    fn drop(&mut self) {
        for token in &self.http {
            self.challenges.remove_http(token);
        }
        for name in &self.tls_alpn {
            self.challenges.remove_tls_alpn(name);
        }
    }
}

/// Waits between polls: one second, growing to ten.
#[derive(Default)]
struct Pauses(u32);

impl Pauses {
    fn next(&mut self) -> Duration {
        self.0 = self.0.saturating_add(1);
        Duration::from_secs(u64::from(self.0.min(10)))
    }
}
