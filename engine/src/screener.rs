//! The Screener: for a user who turns it on, mail from a sender they have not decided on
//! waits in a `Screener` mailbox instead of reaching their INBOX. Approving the sender
//! sends what waits, and their future mail, where the user's filters put it; rejecting
//! sends it to Junk. Moving a message out of `Screener` in any IMAP client approves its
//! sender (into Junk rejects). Important senders pass, and so do the people the user
//! writes to: sending them mail approves them.

use crate::directory::vip::authors;
use crate::imap::mailboxes;
use crate::store::{
    AccountId, BlobId, Mailbox, SpecialUse, Store, StoreError, Verdict, stored_header,
};
use crate::{Engine, Error};

/// The mailbox mail from senders not yet decided on waits in.
pub const MAILBOX: &str = "Screener";

/// Verdicts an account keeps; approvals from mail sent stop there.
pub const MAX_VERDICTS: usize = 10_000;

/// The newest messages of the Screener mailbox looked at for who waits (a flood of new
/// senders does not make listing them, or deciding on one, read without end).
const MAX_WAITING: usize = 2_000;

/// What the Screener holds for one user.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Screen {
    pub on: bool,
    /// Senders waiting, with how many messages each, in order of address.
    pub waiting: Vec<(String, usize)>,
    pub approved: Vec<String>,
    pub rejected: Vec<String>,
}

impl<S: Store> Engine<S> {
    /// Turns `email`'s Screener on or off. Off, what waits stays where it is.
    pub fn set_screener(&self, email: &str, on: bool) -> Result<(), Error> {
        let account = self.existing_account(email)?;
        self.store.set_screener(account.id, on)?;
        if on {
            mailboxes::create(&self.store, account.id, MAILBOX)?;
        }
        Ok(())
    }

    /// `email`'s Screener: on or off, who waits, who was decided on.
    pub fn screen(&self, email: &str) -> Result<Screen, Error> {
        let account = self.existing_account(email)?;
        let mut screen = Screen {
            on: self.store.screener_on(account.id)?,
            ..Screen::default()
        };
        for (address, verdict) in self.store.sender_verdicts(account.id)? {
            match verdict {
                Verdict::Approved => screen.approved.push(address),
                Verdict::Rejected => screen.rejected.push(address),
            }
        }
        if let Some(mailbox) = mailboxes::find(&self.store, account.id, MAILBOX)? {
            for (_, sender) in waiting(&self.store, &mailbox)? {
                match screen.waiting.iter_mut().find(|(s, _)| *s == sender) {
                    Some((_, count)) => *count += 1,
                    None => screen.waiting.push((sender, 1)),
                }
            }
        }
        screen.waiting.sort();
        Ok(screen)
    }

    /// Decides on `sender` for `email`: remembered, and what of theirs waits in the
    /// Screener goes to INBOX (approved) or Junk (rejected). How many messages moved.
    pub fn judge_sender(
        &self,
        email: &str,
        sender: &str,
        verdict: Verdict,
    ) -> Result<usize, Error> {
        let account = self.existing_account(email)?;
        let sender = crate::address::Address::parse(sender)?
            .as_str()
            .to_ascii_lowercase();
        let known = self.store.sender_verdicts(account.id)?;
        if known.len() >= MAX_VERDICTS && !known.iter().any(|(a, _)| *a == sender) {
            return Err(Error::Invalid(format!(
                "{email} has decided on {MAX_VERDICTS} senders, the most an account keeps"
            )));
        }
        let senders = [sender.clone()];
        self.store
            .judge_senders(account.id, &senders, Some(verdict), false)?;
        let Some(mailbox) = mailboxes::find(&self.store, account.id, MAILBOX)? else {
            return Ok(0);
        };
        let uids: Vec<u32> = waiting(&self.store, &mailbox)?
            .into_iter()
            .filter(|(_, from)| *from == sender)
            .map(|(uid, _)| uid)
            .collect();
        if uids.is_empty() {
            return Ok(0);
        }
        let target = match verdict {
            Verdict::Approved => "INBOX".to_string(),
            Verdict::Rejected => self.junk_mailbox(account.id)?,
        };
        let target = mailboxes::find(&self.store, account.id, &target)?
            .ok_or_else(|| StoreError::NotFound(target.clone()))?;
        self.store.move_messages(mailbox.id, &uids, target.id)?;
        self.changes.notify(mailbox.id);
        self.changes.notify(target.id);
        Ok(uids.len())
    }

    /// Where the Screener sends a message for `account` (its `header`, its envelope sender
    /// `from`) instead of the user's filters: the Screener mailbox for a sender not decided
    /// on, Junk for a rejected one; `None` to let it through.
    pub(crate) fn screened(
        &self,
        account: AccountId,
        header: &[u8],
        from: &str,
    ) -> Result<Option<String>, StoreError> {
        if !self.store.screener_on(account)? {
            return Ok(None);
        }
        let senders = authors(header);
        // Bounces and the server's own reports come from the null sender: never held.
        if from.is_empty() || senders.is_empty() {
            return Ok(None);
        }
        if self.store.is_vip_sender(account, &senders)? {
            return Ok(None);
        }
        match self.store.sender_verdict(account, &senders)? {
            Some(Verdict::Approved) => Ok(None),
            Some(Verdict::Rejected) => self.junk_mailbox(account).map(Some),
            None => {
                if mailboxes::find(&self.store, account, MAILBOX)?.is_none() {
                    mailboxes::create(&self.store, account, MAILBOX)?;
                }
                Ok(Some(MAILBOX.to_string()))
            }
        }
    }

    /// `user` sent mail to `recipients`: with the Screener on, they are approved, unless
    /// the user decided otherwise before.
    pub(crate) fn approve_written(&self, user: &str, recipients: &[String]) {
        let approve = || -> Result<(), StoreError> {
            let Some(account) = self.store.account(user)? else {
                return Ok(());
            };
            if recipients.is_empty() || !self.store.screener_on(account.id)? {
                return Ok(());
            }
            if self.store.sender_verdicts(account.id)?.len() >= MAX_VERDICTS {
                return Ok(());
            }
            let approved = Some(Verdict::Approved);
            self.store
                .judge_senders(account.id, recipients, approved, true)
        };
        if let Err(error) = approve() {
            tracing::warn!(user, %error, "cannot approve the recipients of mail sent");
        }
    }
}

/// An IMAP client moved `blobs` out of `source` into `target`: from the Screener, that
/// approves their senders (into Junk, rejects them). Nothing for other mailboxes, or moves
/// into Trash.
pub(crate) fn moved<S: Store>(
    store: &S,
    account: AccountId,
    source: &str,
    target: &Mailbox,
    blobs: &[BlobId],
) -> Result<(), StoreError> {
    if source != MAILBOX || blobs.is_empty() || !store.screener_on(account)? {
        return Ok(());
    }
    let verdict = match target.special_use {
        Some(SpecialUse::Trash) => return Ok(()),
        Some(SpecialUse::Junk) => Verdict::Rejected,
        _ if target.name.eq_ignore_ascii_case("Junk") => Verdict::Rejected,
        _ => Verdict::Approved,
    };
    let mut senders = Vec::new();
    for blob in blobs {
        senders.extend(authors(&stored_header(store, blob)?));
    }
    tracing::info!(account, senders = %senders.join(", "), ?verdict, "Screener: decided by a move in IMAP");
    store.judge_senders(account, &senders, Some(verdict), false)
}

/// The messages waiting in the Screener mailbox (the newest [`MAX_WAITING`]): UID and
/// sender, lowercased.
fn waiting<S: Store>(store: &S, mailbox: &Mailbox) -> Result<Vec<(u32, String)>, StoreError> {
    let mut found = Vec::new();
    for message in store.messages(mailbox.id)?.iter().rev().take(MAX_WAITING) {
        if let Some(sender) = authors(&stored_header(store, &message.blob)?)
            .into_iter()
            .next()
        {
            found.push((message.uid, sender.to_ascii_lowercase()));
        }
    }
    Ok(found)
}
