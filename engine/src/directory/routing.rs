//! Who a recipient address is: a local account (directly, through `+detail`, an alias,
//! the postmaster or a catch-all), a stranger we refuse to relay for, or someone we cannot
//! reach yet.
//!
//! RFC 5321 §4.5.1 requires `postmaster` of every local domain, and the bare `<Postmaster>`,
//! to be accepted: an account or alias of that name receives it, otherwise the account named
//! by [`Engine::set_postmaster`], otherwise the first account created.

use proto_smtp::Reply;

use super::quota::Fit;
use crate::Engine;
use crate::address::{self, Address};
use crate::store::{Account, AccountId, Store, StoreError};

/// How deep alias chains are followed before giving up (guards against loops).
const MAX_ALIAS_DEPTH: usize = 8;

/// What the engine knows about the transaction when a `RCPT TO` arrives.
#[derive(Clone, Copy, Debug)]
pub struct RcptContext<'a> {
    /// The authenticated user, if any: only they may send to other domains.
    pub authenticated: Option<&'a str>,
    /// The size the client declared with `MAIL FROM ... SIZE=`.
    pub declared_size: Option<u64>,
}

/// Where an accepted recipient's copy goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Into these local accounts' INBOXes, and forwarded to these outside addresses (aliases
    /// that lead out, and bounces to our SRS addresses passed back), with the sender
    /// rewritten; and reported to this webhook (see [`crate::webhooks`]).
    Local {
        accounts: Vec<AccountId>,
        forwards: Vec<String>,
        hook: Option<u64>,
    },
    /// Out, through the outbound queue: another domain, for an authenticated sender.
    Remote,
}

/// Where a recipient address leads.
enum Route {
    Local {
        accounts: Vec<AccountId>,
        forwards: Vec<String>,
    },
    Remote,
    /// To a disabled account only: refused, saying so, so that the sender knows the
    /// address exists but takes no mail now.
    Disabled,
}

/// A recipient's webhook, and what it does to its route.
enum Hooked {
    /// A webhook-only domain: this webhook, or none (the address takes no mail).
    Only(Option<u64>),
    /// This webhook besides the route; whether it is the address's own (then the address
    /// takes mail even if nothing else receives it).
    Also(Option<u64>, bool),
}

impl Route {
    fn accounts(accounts: Vec<AccountId>) -> Self {
        Route::Local {
            accounts,
            forwards: Vec::new(),
        }
    }
}

impl<S: Store> Engine<S> {
    /// Decides a `RCPT TO`: where the message goes for this recipient, or the reply refusing
    /// it. Only an authenticated sender may send to other domains.
    pub fn check_rcpt(&self, to: &str, ctx: RcptContext<'_>) -> Result<Destination, Reply> {
        let unknown = || Reply::new(550, (5, 1, 1), "Recipient address rejected: user unknown");
        let to = address::unquoted(to);
        let (route, hook) = match Address::parse(&to) {
            Ok(address) => {
                let hooked = self.hooked_route(&address).map_err(|e| store_failure(&e))?;
                match hooked {
                    Hooked::Only(Some(hook)) => {
                        return Ok(Destination::Local {
                            accounts: Vec::new(),
                            forwards: Vec::new(),
                            hook: Some(hook),
                        });
                    }
                    Hooked::Only(None) => return Err(unknown()),
                    Hooked::Also(hook, takes_mail) => {
                        let route = self.route(&address, 0).map_err(|e| store_failure(&e))?;
                        match route {
                            Route::Local { accounts, forwards }
                                if takes_mail && accounts.is_empty() && forwards.is_empty() =>
                            {
                                return Ok(Destination::Local {
                                    accounts,
                                    forwards,
                                    hook,
                                });
                            }
                            route => (route, hook),
                        }
                    }
                }
            }
            // The forward-path `<Postmaster>`, without a domain.
            Err(_) if to.eq_ignore_ascii_case("postmaster") => {
                (self.postmaster().map_err(|e| store_failure(&e))?, None)
            }
            // `user@[192.0.2.1]`: well-formed (RFC 5321 4.1.3), but mail is taken for the
            // domains this server serves, by name.
            Err(_) if to.ends_with(']') && to.contains("@[") => {
                return Err(Reply::new(
                    550,
                    (5, 1, 2),
                    "Recipient address rejected: address literals are not served here",
                ));
            }
            // A local part that needs its quotes (`"john doe"@`): no account has such a name.
            Err(_) if to.starts_with('"') => return Err(unknown()),
            Err(_) => return Err(Reply::new(501, (5, 1, 3), "Bad recipient address syntax")),
        };
        match route {
            Route::Local { accounts, forwards } if accounts.is_empty() && forwards.is_empty() => {
                Err(unknown())
            }
            Route::Local { accounts, forwards } => {
                for &id in &accounts {
                    match self.quota_fit(id, ctx.declared_size) {
                        Ok(Fit::Fits) => {}
                        Ok(Fit::TooLarge) => {
                            return Err(Reply::new(
                                552,
                                (5, 2, 2),
                                "Message exceeds the recipient's mailbox quota",
                            ));
                        }
                        Ok(Fit::Full) => {
                            return Err(Reply::new(
                                452,
                                (4, 2, 2),
                                "Recipient's mailbox is full, try again later",
                            ));
                        }
                        Err(e) => return Err(store_failure(&e)),
                    }
                }
                Ok(Destination::Local {
                    accounts,
                    forwards,
                    hook,
                })
            }
            Route::Remote if ctx.authenticated.is_some() => Ok(Destination::Remote),
            Route::Remote => Err(Reply::new(554, (5, 7, 1), "Relay access denied")),
            // RFC 3463 X.2.1: mailbox disabled, not accepting messages.
            Route::Disabled => Err(Reply::new(
                550,
                (5, 2, 1),
                "Recipient's mailbox is disabled and takes no mail",
            )),
        }
    }

    /// The local accounts mail to `address` reaches; none for another domain.
    pub(crate) fn local_accounts(&self, address: &Address) -> Result<Vec<AccountId>, StoreError> {
        Ok(match self.route(address, 0)? {
            Route::Local { accounts, .. } => accounts,
            Route::Remote | Route::Disabled => Vec::new(),
        })
    }

    /// What webhooks make of a recipient in a local domain: in a webhook-only domain, its
    /// webhook is all it has (none: unknown, but for postmaster); elsewhere its webhook comes on top of where
    /// its mail goes, and an address's own webhook makes it take mail (`true`).
    fn hooked_route(&self, address: &Address) -> Result<Hooked, StoreError> {
        if !self.store.domain_exists(address.domain())? {
            return Ok(Hooked::Also(None, false));
        }
        let hook = self.webhook_of(address)?;
        // Postmaster takes mail in every local domain (RFC 5321 §4.5.1): without a webhook
        // of its own, a webhook-only domain's goes where postmaster mail goes.
        let postmaster =
            address.without_detail().as_ref().unwrap_or(address).local() == "postmaster";
        if self.store.is_webhook_only(address.domain())? && !(hook.is_none() && postmaster) {
            return Ok(Hooked::Only(hook.map(|h| h.id)));
        }
        let own = hook
            .as_ref()
            .is_some_and(|h| matches!(h.scope, crate::store::WebhookScope::Address(_)));
        Ok(Hooked::Also(hook.map(|h| h.id), own))
    }

    fn route(&self, address: &Address, depth: usize) -> Result<Route, StoreError> {
        if !self.store.domain_exists(address.domain())? {
            return Ok(Route::Remote);
        }
        if let Some(route) = self.account_route(address.as_str())? {
            return Ok(route);
        }
        if let Some(alias) = self.store.disposable_alias(address.as_str())? {
            let account = match alias.enabled {
                true => self.store.account_by_id(alias.account)?,
                false => None,
            };
            return Ok(match account {
                Some(account) if !account.disabled => Route::accounts(vec![account.id]),
                _ => Route::Disabled,
            });
        }
        if let Some(original) = self.srs_reverse(address) {
            // A bounce (or reply) to an address we rewrote: back to whom it stands for.
            return Ok(Route::Local {
                accounts: Vec::new(),
                forwards: vec![original],
            });
        }
        let mut targets = self.store.alias_targets(address.as_str())?;
        let base = address.without_detail();
        if targets.is_empty()
            && let Some(base) = &base
        {
            if let Some(route) = self.account_route(base.as_str())? {
                return Ok(route);
            }
            targets = self.store.alias_targets(base.as_str())?;
        }
        if targets.is_empty() && base.as_ref().unwrap_or(address).local() == "postmaster" {
            return self.postmaster();
        }
        if targets.is_empty() {
            targets = self
                .store
                .alias_targets(&format!("@{}", address.domain()))?;
        }
        let (mut accounts, mut forwards) = (Vec::new(), Vec::new());
        let mut disabled = false;
        for target in targets {
            let Ok(target) = Address::parse(&target) else {
                continue;
            };
            if depth >= MAX_ALIAS_DEPTH {
                tracing::warn!(%address, "alias chain too deep; ignoring the rest");
                break;
            }
            match self.route(&target, depth + 1)? {
                Route::Local {
                    accounts: ids,
                    forwards: outside,
                } => {
                    accounts.extend(ids);
                    forwards.extend(outside);
                }
                // An alias that leads out forwards there when we can rewrite the sender;
                // without SRS it would fail SPF at the destination, so it is not taken.
                Route::Remote if self.srs.is_some() => forwards.push(target.as_str().to_string()),
                Route::Remote => return Ok(Route::Remote),
                // The others of a group alias still get it.
                Route::Disabled => disabled = true,
            }
        }
        if disabled && accounts.is_empty() && forwards.is_empty() {
            return Ok(Route::Disabled);
        }
        accounts.sort_unstable();
        accounts.dedup();
        forwards.sort_unstable();
        forwards.dedup();
        Ok(Route::Local { accounts, forwards })
    }

    /// The original sender behind one of our SRS addresses, if `address` is one.
    fn srs_reverse(&self, address: &Address) -> Option<String> {
        let srs = self.srs.as_ref()?;
        srs.reverse(address.local(), crate::mail::date::unix_now())
    }

    /// The account that receives postmaster mail with no account or alias of its own.
    fn postmaster(&self) -> Result<Route, StoreError> {
        let account = match &self.postmaster {
            Some(email) => self.active_account(email)?,
            None => self
                .store
                .accounts(None)?
                .into_iter()
                .filter(|a| !a.disabled)
                .min_by_key(|a| a.id),
        };
        Ok(Route::accounts(account.map(|a| a.id).into_iter().collect()))
    }

    /// The route of an account's own address: its INBOX, or refused when disabled.
    fn account_route(&self, email: &str) -> Result<Option<Route>, StoreError> {
        Ok(self
            .store
            .account(email)?
            .map(|account| match account.disabled {
                true => Route::Disabled,
                false => Route::accounts(vec![account.id]),
            }))
    }

    fn active_account(&self, email: &str) -> Result<Option<Account>, StoreError> {
        Ok(self.store.account(email)?.filter(|a| !a.disabled))
    }
}

/// The reply for a storage failure: temporary, so the sender retries.
pub(crate) fn store_failure(e: &StoreError) -> Reply {
    tracing::error!(error = %e, "storage failure while handling mail");
    storage_reply(matches!(e, StoreError::Full(_)))
}

/// The reply for a message whose spool could not be written.
pub(crate) fn spool_failure(e: &std::io::Error) -> Reply {
    tracing::error!(error = %e, "cannot write to the message spool");
    storage_reply(crate::store::no_room(e.kind()))
}

/// `452 4.3.1` when the disk is full (RFC 5321's "insufficient system storage", RFC 3463's
/// "mail system full"; Postfix says the same), else `451 4.3.0`.
pub(crate) fn storage_reply(full: bool) -> Reply {
    if full {
        Reply::new(
            452,
            (4, 3, 1),
            "Insufficient system storage, try again later",
        )
    } else {
        Reply::new(451, (4, 3, 0), "Local error in processing, try again later")
    }
}
