//! `[acme]`: the server obtains its certificate from an ACME authority, presents it from
//! the next handshake on, and renews it before it expires, for as long as it runs. What it
//! obtained stays in `data_dir/acme/` (owner-only), so a restart presents it at once and
//! asks for nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use engine::Engine;
use engine::acme::{self, Context, Request};
use engine::io::{Dialer, Executor};
use engine::mail::date::{rfc3339, unix_now};
use engine::store::Store;

use crate::secrets::write_private;
use crate::tls::{self, Presented};

/// The certificate chain and its key: where [`tls::read`] finds them.
pub fn files(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join("acme");
    (dir.join("cert.pem"), dir.join("key.pem"))
}

/// The account with the authority, kept across restarts.
fn account_file(data_dir: &Path) -> PathBuf {
    data_dir.join("acme").join("account.json")
}

/// The longest wait between two looks at the certificate: a clock that jumped, or a file
/// replaced by hand, is noticed within a day.
const LOOK_AGAIN: Duration = Duration::from_secs(86_400);

/// The first wait after a failed order, doubled after each failure up to a day: Let's
/// Encrypt allows five failed validations per name and hour.
const FIRST_RETRY: Duration = Duration::from_secs(600);

/// Obtains and renews the certificate.
pub struct Renewal<S: Store, D: Dialer, E: Executor> {
    pub request: Request,
    /// How long before expiry a certificate is renewed (at most a third of its lifetime).
    pub renew_before: Duration,
    pub data_dir: PathBuf,
    pub engine: Arc<Engine<S>>,
    pub presented: Arc<Presented>,
    /// Connects to the authority, trusting `[acme] ca_file` besides Mozilla's roots.
    pub dialer: D,
    pub executor: E,
}

impl<S: Store, D: Dialer, E: Executor> Renewal<S, D, E> {
    /// Runs until the server stops (the caller drops the future).
    pub async fn run(self) {
        let mut failures: u32 = 0;
        loop {
            let renews_at = self.renews_at().await;
            let wait = renews_at.map_or(0, |at| at.saturating_sub(unix_now()).max(0));
            if wait > 0 {
                self.engine.set_acme_status(acme::Status {
                    renews_at,
                    failed: None,
                });
                let wait = Duration::from_secs(u64::try_from(wait).unwrap_or(u64::MAX));
                self.executor.sleep(wait.min(LOOK_AGAIN)).await;
                continue;
            }
            if self.engine.acme_status().is_none() {
                // The first order is under way.
                self.engine.set_acme_status(acme::Status {
                    renews_at,
                    failed: None,
                });
            }
            match self.renew().await {
                Ok(()) => failures = 0,
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let retry = FIRST_RETRY
                        .saturating_mul(1 << failures.saturating_sub(1).min(8))
                        .min(LOOK_AGAIN);
                    tracing::error!(
                        names = self.request.names.join(" "),
                        directory = self.request.directory,
                        %error,
                        retry_in_seconds = retry.as_secs(),
                        "no certificate obtained; the one in use stays"
                    );
                    let next = unix_now()
                        .saturating_add(i64::try_from(retry.as_secs()).unwrap_or(i64::MAX));
                    self.engine.set_acme_status(acme::Status {
                        renews_at,
                        failed: Some((error, next)),
                    });
                    self.executor.sleep(retry).await;
                }
            }
        }
    }

    /// When the certificate in `data_dir/acme/` is due for renewal (Unix seconds); `None`
    /// when there is none, it cannot be read, or it lacks one of the names: due now. Read
    /// on the blocking pool, as every file of the renewal is.
    async fn renews_at(&self) -> Option<i64> {
        let (cert, key) = files(&self.data_dir);
        let names = self.request.names.clone();
        let renew_before = self.renew_before;
        self.executor
            .unblock(move || {
                let described = tls::pair(&cert, &key).ok()?.certificate?;
                let named = |name: &String| {
                    described
                        .names
                        .iter()
                        .any(|held| held.eq_ignore_ascii_case(name))
                };
                if !names.iter().all(named) {
                    return None;
                }
                Some(renew_at(
                    described.not_before,
                    described.not_after,
                    renew_before,
                ))
            })
            .await
    }

    /// Obtains a certificate, writes it down and presents it.
    async fn renew(&self) -> Result<(), String> {
        let names = self.request.names.join(" ");
        tracing::info!(
            names,
            directory = self.request.directory,
            proof = %self.request.proof,
            "asking for a certificate"
        );
        let data_dir = self.data_dir.clone();
        let saved = self
            .executor
            .unblock(move || std::fs::read_to_string(account_file(&data_dir)).ok())
            .await;
        let data_dir = self.data_dir.clone();
        let save = move |text: String| {
            make_dir(&data_dir)?;
            write_private(&account_file(&data_dir), text.as_bytes())
        };
        let cx = Context {
            resolver: self.engine.resolver().clone(),
            dialer: self.dialer.clone(),
            executor: &self.executor,
            challenges: self.engine.acme_challenges(),
        };
        let issued = acme::obtain(&self.request, saved.as_deref(), save, cx).await?;
        let data_dir = self.data_dir.clone();
        let pair = self
            .executor
            .unblock(move || {
                let (cert, key) = files(&data_dir);
                make_dir(&data_dir)?;
                // The key first: a certificate beside the old key would not form a pair.
                write_private(&key, issued.key.as_bytes())?;
                write_private(&cert, issued.chain.as_bytes())?;
                tls::pair(&cert, &key)
            })
            .await?;
        let until = pair
            .certificate
            .as_ref()
            .map(|c| rfc3339(c.not_after))
            .unwrap_or_default();
        // Told before it is presented, so that whoever sees the new one can read about it.
        self.engine.set_acme_status(acme::Status {
            renews_at: self.renews_at().await,
            failed: None,
        });
        tls::present(&self.engine, &self.presented, pair);
        tracing::info!(
            names,
            until,
            "obtained a certificate; new connections get it"
        );
        self.engine.audit(
            "certificate",
            "server",
            None,
            &format!("obtained for {names}"),
        );
        Ok(())
    }
}

fn make_dir(data_dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = data_dir.join("acme");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// When a certificate valid from `not_before` to `not_after` (Unix seconds) is renewed:
/// `renew_before` ahead of its expiry, but never in the first two thirds of its lifetime,
/// so that a short-lived certificate is not renewed over and over.
fn renew_at(not_before: i64, not_after: i64, renew_before: Duration) -> i64 {
    let lifetime = not_after.saturating_sub(not_before).max(0);
    let ahead = i64::try_from(renew_before.as_secs())
        .unwrap_or(i64::MAX)
        .min(lifetime / 3);
    not_after.saturating_sub(ahead)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn renewal_comes_ahead_of_expiry_but_not_too_early() {
        let thirty_days = Duration::from_secs(30 * 86_400);
        // Let's Encrypt's 90 days: renewed 30 days before.
        assert_eq!(renew_at(0, 90 * DAY, thirty_days), 60 * DAY);
        // Six days: two days before, not at once.
        assert_eq!(renew_at(0, 6 * DAY, thirty_days), 4 * DAY);
        // A year, asked to renew a week before.
        let week = Duration::from_secs(7 * 86_400);
        assert_eq!(renew_at(0, 365 * DAY, week), 358 * DAY);
        // Nonsense dates renew at expiry.
        assert_eq!(renew_at(10, 5, thirty_days), 5);
    }
}
