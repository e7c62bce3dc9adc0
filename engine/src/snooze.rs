//! Snooze: a message put away until a time comes back to the INBOX then, as a new arrival
//! (a new UID, unread), so that IMAP clients show it anew. The time rides on the message
//! as a keyword, `$SnoozedUntil-2026-12-08T09:00Z`, in the `Snoozed` mailbox: a message
//! snoozed over the API gets both, and one an IMAP client moves there with such a keyword
//! (or gives the keyword there) is woken the same way. A background task wakes them when
//! their time comes, and looks at least every minute for ones IMAP clients put there.

use std::sync::Arc;
use std::time::Duration;

use crate::imap::mailboxes;
use crate::io::Executor;
use crate::mail::date::{days_from_civil, rfc3339, unix_now};
use crate::store::{Account, FLAG_SEEN, FlagChange, MailboxId, Store, StoreError, stored_header};
use crate::{Engine, Error};

/// The mailbox snoozed messages wait in.
pub const MAILBOX: &str = "Snoozed";

/// The keyword naming when a message wakes, before its time.
const KEYWORD: &str = "$SnoozedUntil-";

/// The longest the task waits before looking again.
const EVERY: Duration = Duration::from_secs(60);

/// The keyword for waking at `unix`: `$SnoozedUntil-2026-12-08T09:00Z`, with seconds only
/// when they are not zero.
pub fn keyword(unix: i64) -> String {
    let time = rfc3339(unix);
    let time = time
        .strip_suffix(":00Z")
        .map_or(time.clone(), |t| format!("{t}Z"));
    format!("{KEYWORD}{time}")
}

/// When a keyword says to wake: `$SnoozedUntil-YYYY-MM-DDTHH:MMZ` (seconds allowed).
pub fn wake_time(keyword: &str) -> Option<i64> {
    let prefix = keyword.get(..KEYWORD.len())?;
    if !prefix.eq_ignore_ascii_case(KEYWORD) {
        return None;
    }
    let time = keyword.get(KEYWORD.len()..)?.strip_suffix(['Z', 'z'])?;
    let (date, clock) = time.split_once(['T', 't'])?;
    let mut date = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let mut clock = clock.splitn(3, ':').map(str::parse::<i64>);
    let (hour, minute) = (clock.next()?.ok()?, clock.next()?.ok()?);
    let second = clock.next().transpose().ok()?.unwrap_or(0);
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..61).contains(&second);
    valid.then(|| days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// A time as the API takes it: `YYYY-MM-DDTHH:MMZ` or `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn parse_time(text: &str) -> Option<i64> {
    wake_time(&format!("{KEYWORD}{text}"))
}

/// A snoozed message, as its owner lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snoozed {
    /// Its UID in `Snoozed`.
    pub uid: u32,
    /// When it wakes, Unix seconds.
    pub until: i64,
    /// The address of its `From:`.
    pub from: String,
    pub subject: String,
}

impl<S: Store> Engine<S> {
    /// Snoozes `email`'s message `uid` of `mailbox` until `until`: it gets the keyword and
    /// goes to `Snoozed`. Its UID there.
    pub fn snooze(&self, email: &str, mailbox: &str, uid: u32, until: i64) -> Result<u32, Error> {
        if until <= unix_now() {
            return Err(Error::Invalid("a snooze ends in the future".into()));
        }
        let account = self.existing_account(email)?;
        let missing = |what: String| Error::Store(StoreError::NotFound(what));
        let source = mailboxes::find(&self.store, account.id, mailbox)?
            .ok_or_else(|| missing(format!("the mailbox {mailbox}")))?;
        if source.name == MAILBOX {
            return Err(Error::Invalid("the message is snoozed already".into()));
        }
        if !self.store.messages(source.id)?.iter().any(|m| m.uid == uid) {
            return Err(missing(format!("the message {uid} in {mailbox}")));
        }
        let change = FlagChange::Add {
            flags: 0,
            keywords: vec![keyword(until)],
        };
        self.store.set_flags(source.id, &[uid], &change, None)?;
        if mailboxes::find(&self.store, account.id, MAILBOX)?.is_none() {
            mailboxes::create(&self.store, account.id, MAILBOX)?;
        }
        let target = mailboxes::find(&self.store, account.id, MAILBOX)?
            .ok_or_else(|| missing(MAILBOX.to_string()))?;
        let moved = self.store.move_messages(source.id, &[uid], target.id)?;
        self.changes.notify(source.id);
        self.changes.notify(target.id);
        self.snoozed.notify(usize::MAX);
        Ok(moved.first().map_or(0, |m| m.target_uid))
    }

    /// Wakes every snoozed message whose time has come by `now`: how many woke, and when the
    /// next one is due. Blocking.
    pub fn wake_snoozed(&self, now: i64) -> Result<(usize, Option<i64>), StoreError> {
        let mut woken = 0;
        let mut next: Option<i64> = None;
        for account in self.store.accounts(None)? {
            let Some(snoozed) = mailboxes::find(&self.store, account.id, MAILBOX)? else {
                continue;
            };
            let mut due: Vec<(u32, String)> = Vec::new();
            for message in self.store.messages(snoozed.id)? {
                for keyword in &message.keywords {
                    match wake_time(keyword) {
                        Some(at) if at <= now => due.push((message.uid, keyword.clone())),
                        Some(at) => next = Some(next.map_or(at, |n| n.min(at))),
                        None => {}
                    }
                }
            }
            woken += self.wake(&account, snoozed.id, due)?.len();
        }
        Ok((woken, next))
    }

    /// `email`'s snoozed messages, soonest first: their UID in `Snoozed`, when they wake,
    /// who sent them and their subject.
    pub fn snoozed(&self, email: &str) -> Result<Vec<Snoozed>, Error> {
        let account = self.existing_account(email)?;
        let Some(mailbox) = mailboxes::find(&self.store, account.id, MAILBOX)? else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for message in self.store.messages(mailbox.id)? {
            let Some(until) = message.keywords.iter().find_map(|k| wake_time(k)) else {
                continue;
            };
            let header = stored_header(&self.store, &message.blob)?;
            let fields = crate::mail::json::fields(&header);
            let from = fields["from"][0]["address"].as_str().unwrap_or_default();
            found.push(Snoozed {
                uid: message.uid,
                until,
                from: from.to_string(),
                subject: fields["subject"].as_str().unwrap_or_default().to_string(),
            });
        }
        found.sort_by_key(|s| (s.until, s.uid));
        Ok(found)
    }

    /// Wakes `email`'s snoozed message `uid` now: back in the INBOX as new. Its UID there.
    pub fn wake_now(&self, email: &str, uid: u32) -> Result<u32, Error> {
        let account = self.existing_account(email)?;
        let missing = || Error::Store(StoreError::NotFound(format!("a snoozed message {uid}")));
        let mailbox = mailboxes::find(&self.store, account.id, MAILBOX)?.ok_or_else(missing)?;
        let message = self.store.messages(mailbox.id)?;
        let message = message.iter().find(|m| m.uid == uid).ok_or_else(missing)?;
        let keywords = message
            .keywords
            .iter()
            .filter(|k| wake_time(k).is_some())
            .map(|k| (uid, k.clone()))
            .collect::<Vec<_>>();
        let due = match keywords.is_empty() {
            true => vec![(uid, String::new())],
            false => keywords,
        };
        let woken = self.wake(&account, mailbox.id, due)?;
        woken.first().copied().ok_or_else(missing)
    }

    /// Moves `due` (UIDs in `snoozed`, with their snooze keywords) back to `account`'s INBOX,
    /// unread and without the keywords; their UIDs there.
    fn wake(
        &self,
        account: &Account,
        snoozed: MailboxId,
        due: Vec<(u32, String)>,
    ) -> Result<Vec<u32>, StoreError> {
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let Some(inbox) = mailboxes::find(&self.store, account.id, "INBOX")? else {
            return Ok(Vec::new());
        };
        let mut uids: Vec<u32> = due.iter().map(|(uid, _)| *uid).collect();
        uids.dedup();
        let moved = self.store.move_messages(snoozed, &uids, inbox.id)?;
        let keywords: Vec<String> = due
            .into_iter()
            .map(|(_, k)| k)
            .filter(|k| !k.is_empty())
            .collect();
        let woken: Vec<u32> = moved.iter().map(|m| m.target_uid).collect();
        self.unread(inbox.id, &woken, keywords)?;
        self.changes.notify(snoozed);
        self.changes.notify(inbox.id);
        let user = account.email.as_str();
        tracing::info!(
            user,
            messages = woken.len(),
            "snoozed mail back in the INBOX"
        );
        Ok(woken)
    }

    /// Woken messages read as new: unread, their snooze keyword gone.
    fn unread(
        &self,
        inbox: MailboxId,
        uids: &[u32],
        keywords: Vec<String>,
    ) -> Result<(), StoreError> {
        let change = FlagChange::Remove {
            flags: FLAG_SEEN,
            keywords,
        };
        self.store.set_flags(inbox, uids, &change, None).map(drop)
    }
}

/// Wakes snoozed mail when its time comes, for ever: the runtime ends it at shutdown.
pub async fn run<S: Store, E: Executor>(engine: Arc<Engine<S>>, executor: E) {
    let waker = engine.clone();
    crate::io::every(executor, &engine.snoozed, move || {
        let now = unix_now();
        match waker.wake_snoozed(now) {
            Ok((_, Some(next))) => {
                let seconds = u64::try_from(next.saturating_sub(now)).unwrap_or(0);
                Duration::from_secs(seconds).clamp(Duration::from_secs(1), EVERY)
            }
            Ok((_, None)) => EVERY,
            Err(error) => {
                tracing::error!(%error, "cannot wake snoozed mail");
                EVERY
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_name_the_minute() {
        let at = wake_time("$SnoozedUntil-2026-12-08T09:00Z").unwrap();
        assert_eq!(keyword(at), "$SnoozedUntil-2026-12-08T09:00Z");
        assert_eq!(keyword(at + 30), "$SnoozedUntil-2026-12-08T09:00:30Z");
        assert_eq!(parse_time("2026-12-08T09:00:30Z"), Some(at + 30));
        assert_eq!(
            wake_time("$snoozeduntil-2026-12-08t09:00:30z"),
            Some(at + 30)
        );
        for bad in [
            "$SnoozedUntil-2026-13-08T09:00Z",
            "$SnoozedUntil-2026-12-08T09:00",
            "$SnoozedUntil-tomorrow",
            "$Snoozed-2026-12-08T09:00Z",
            "$Important",
        ] {
            assert_eq!(wake_time(bad), None, "{bad}");
        }
    }
}
