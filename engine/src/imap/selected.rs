//! Commands on the selected mailbox that change or report its state: SELECT/EXAMINE (with
//! CONDSTORE and QRESYNC), the updates other sessions' changes cause, STORE, COPY, MOVE,
//! EXPUNGE, UID EXPUNGE and CLOSE.

use std::num::{NonZeroU32, NonZeroU64};

use proto_imap::{
    Code, Condition, Data, FetchItem, Flag, FlagPerm, PlainCode, QResync, SelectParams,
    SequenceSet, StoreMode,
};

use crate::changes::Arrivals;
use crate::imap::convert::{flags_fetch, flags_from_imap, flags_to_imap, sequence_set};
use crate::imap::mailboxes::{Names, find, list_one};
use crate::imap::reply::Reply;
use crate::imap::view::{Changes, FlagUpdate, MailboxView};
use crate::store::{
    AccountId, FLAG_DELETED, FLAG_SEEN, FlagChange, Mailbox, Message, Store, StoreError,
};

/// What a command handler needs to know about the client.
#[derive(Clone, Copy, Debug)]
pub struct Client {
    pub account: AccountId,
    pub names: Names,
    /// CONDSTORE is on (enabled, or used by the client): MODSEQ goes into responses.
    pub condstore: bool,
    /// QRESYNC is enabled: expunges are reported as VANISHED.
    pub qresync: bool,
    /// IMAP4rev2 is enabled: no RECENT, no UNSEEN code.
    pub rev2: bool,
}

fn untagged_ok(code: Code<'static>, text: &'static str) -> Data<'static> {
    Data::Condition {
        condition: Condition::Ok,
        code: Some(code),
        text: text.into(),
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

fn nonzero64(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n).unwrap_or(NonZeroU64::MIN)
}

/// `SELECT` / `EXAMINE`: the view to keep and the responses that open it.
pub fn select<S: Store>(
    store: &S,
    client: Client,
    name: &str,
    read_only: bool,
    params: &SelectParams,
) -> Result<(Reply, Option<MailboxView>), StoreError> {
    let Some(mailbox) = find(store, client.account, name)? else {
        return Ok((
            Reply::no(Some(PlainCode::NonExistent), "No such mailbox"),
            None,
        ));
    };
    let messages = store.messages(mailbox.id)?;
    let mut view = MailboxView::open(&mailbox, &messages, read_only);
    if !client.rev2 {
        // EXAMINE shows what is recent without taking it (RFC 3501 §6.3.2).
        let first = if read_only {
            store.first_recent_uid(mailbox.id)?
        } else {
            store.claim_recent(mailbox.id, mailbox.uid_next)?
        };
        view.add_recent(first, mailbox.uid_next);
    }
    let condstore = client.condstore || params.condstore || params.qresync.is_some();
    let mut data = Vec::from(flag_lists(view.keywords(), read_only));
    data.push(Data::Exists(view.len()));
    if client.rev2 {
        data.push(list_one(store, client.account, &mailbox, client.names)?);
    } else {
        data.push(Data::Recent(view.recent_count()));
        if let Some(seq) = messages.iter().position(|m| m.flags & FLAG_SEEN == 0) {
            data.push(untagged_ok(
                Code::Unseen(nonzero(seq as u32 + 1)),
                "First unseen",
            ));
        }
    }
    data.push(untagged_ok(
        Code::UidValidity(nonzero(mailbox.uid_validity)),
        "UIDs valid",
    ));
    data.push(untagged_ok(
        Code::UidNext(nonzero(mailbox.uid_next)),
        "Predicted next UID",
    ));
    if condstore {
        data.push(untagged_ok(
            Code::HighestModSeq(nonzero64(mailbox.highest_modseq)),
            "Highest",
        ));
    }
    if let Some(qresync) = &params.qresync
        && qresync.uid_validity.get() == mailbox.uid_validity
    {
        data.extend(resync(store, &view, &messages, qresync)?);
    }
    let (code, verb) = if read_only {
        (PlainCode::ReadOnly, "EXAMINE")
    } else {
        (PlainCode::ReadWrite, "SELECT")
    };
    let reply = Reply::ok(format!("{verb} completed"))
        .with_code(Code::Plain(code))
        .with_data(data);
    Ok((reply, Some(view)))
}

/// FLAGS and PERMANENTFLAGS: the system flags and every keyword in use; none permanent in a
/// read-only mailbox, any keyword allowed otherwise.
pub(crate) fn flag_lists(keywords: &[String], read_only: bool) -> [Data<'static>; 2] {
    let system = [
        Flag::Answered,
        Flag::Flagged,
        Flag::Deleted,
        Flag::Seen,
        Flag::Draft,
    ];
    let mut flags = system.to_vec();
    flags.extend(flags_to_imap(0, keywords));
    let permanent = if read_only {
        Vec::new()
    } else {
        let mut p: Vec<FlagPerm<'static>> = flags.iter().cloned().map(FlagPerm::Flag).collect();
        p.push(FlagPerm::AnyKeyword);
        p
    };
    [
        Data::Flags(flags),
        untagged_ok(Code::PermanentFlags(permanent), "Flags permitted"),
    ]
}

/// What SELECT (QRESYNC ...) tells a client that knows the mailbox as of a modseq (RFC
/// 7162 §3.2.5): the UIDs expunged since, as VANISHED (EARLIER), and the messages changed
/// since, with their flags.
fn resync<S: Store>(
    store: &S,
    view: &MailboxView,
    messages: &[Message],
    qresync: &QResync,
) -> Result<Vec<Data<'static>>, StoreError> {
    let mut out = Vec::new();
    let since = qresync.modseq.get();
    let known_uids = qresync
        .known_uids
        .as_ref()
        .map(|set| set.intervals(u32::MAX));
    let known = |uid: u32| known_uids.as_ref().is_none_or(|set| set.contains(uid));
    let vanished: Vec<u32> = store
        .expunged_since(view.id, since)?
        .into_iter()
        .filter(|&uid| known(uid))
        .collect();
    if let Some(uids) = sequence_set(&vanished) {
        out.push(Data::Vanished {
            earlier: true,
            uids,
        });
    }
    for (index, message) in messages
        .iter()
        .enumerate()
        .filter(|(_, m)| m.modseq > since)
    {
        out.push(Data::Fetch {
            seq: nonzero(index as u32 + 1),
            items: vec![
                FetchItem::Uid(nonzero(message.uid)),
                FetchItem::Flags(flags_fetch(
                    message.flags,
                    &message.keywords,
                    view.is_recent(message.uid),
                )),
                FetchItem::ModSeq(nonzero64(message.modseq)),
            ],
        });
    }
    Ok(out)
}

/// Brings the view up to date and says what changed, as the client may be told now.
pub fn updates<S: Store>(
    store: &S,
    client: Client,
    view: &mut MailboxView,
    allow_expunge: bool,
) -> Result<Updates, StoreError> {
    updates_read(store, client, view, allow_expunge).map(|(updates, _)| updates)
}

/// As [`updates`], and what arrived when that was all that changed, for the other sessions
/// woken with this one ([`ChangeHub::share`](crate::changes::ChangeHub::share)).
pub fn updates_read<S: Store>(
    store: &S,
    client: Client,
    view: &mut MailboxView,
    allow_expunge: bool,
) -> Result<(Updates, Option<Arrivals>), StoreError> {
    let Some((mailbox, arrived)) = store.mailbox_since(view.id, view.uid_next)? else {
        // Deleted under us: report everything gone.
        let gone = Mailbox {
            id: view.id,
            account: client.account,
            name: view.name.clone(),
            uid_validity: view.uid_validity,
            uid_next: view.uid_next,
            highest_modseq: view.highest_modseq,
            special_use: None,
        };
        let changes = view.sync(&gone, &[], allow_expunge);
        return Ok((Updates::new(client, view, changes), None));
    };
    if mailbox.highest_modseq == view.highest_modseq
        && !(allow_expunge && view.has_pending_expunges())
    {
        return Ok((Updates::new(client, view, Changes::default()), None));
    }
    let (before, before_modseq, uid_next) = (view.uid_next, view.highest_modseq, mailbox.uid_next);
    let (mut changes, read) = match view.sync_arrivals(&mailbox, &arrived) {
        Some(changes) => (changes, Some((mailbox, arrived))),
        None => match store.mailbox_changes(view.id, view.highest_modseq)? {
            Some(now) => {
                let changes =
                    view.sync_changes(&now.mailbox, &now.changed, &now.vanished, allow_expunge);
                (changes, None)
            }
            None => {
                let gone = view.sync(&mailbox, &[], allow_expunge);
                (gone, None)
            }
        },
    };
    if changes.exists.is_some() && !client.rev2 {
        let first = if view.read_only {
            store.first_recent_uid(view.id)?
        } else {
            store.claim_recent(view.id, uid_next)?
        };
        view.add_recent(first.max(before), uid_next);
        changes.recent = Some(view.recent_count());
    }
    let arrivals = read.map(|(mailbox, arrived)| Arrivals {
        uid_next: before,
        highest_modseq: before_modseq,
        mailbox,
        arrived,
        recent_claimed: !client.rev2 && !view.read_only,
    });
    Ok((Updates::new(client, view, changes), arrivals))
}

/// [`updates`] from what another session woken by the same change read
/// ([`ChangeHub::arrivals`](crate::changes::ChangeHub::arrivals)), without reading the
/// store: `None` (the view untouched) unless this view stood where that one's did and
/// nothing but those arrivals changed, and, for an IMAP4rev1 session, `\Recent` was
/// claimed for them already (what is left to claim is then nothing).
pub fn updates_from(
    client: Client,
    view: &mut MailboxView,
    arrivals: &Arrivals,
    allow_expunge: bool,
) -> Option<Updates> {
    let stood_there =
        view.uid_next == arrivals.uid_next && view.highest_modseq == arrivals.highest_modseq;
    let claims = !client.rev2 && !arrivals.arrived.is_empty();
    if !stood_there || (claims && !arrivals.recent_claimed) {
        return None;
    }
    if allow_expunge && view.has_pending_expunges() {
        return None;
    }
    let mut changes = view.sync_arrivals(&arrivals.mailbox, &arrivals.arrived)?;
    if changes.exists.is_some() && !client.rev2 {
        changes.recent = Some(view.recent_count());
    }
    Some(Updates::new(client, view, changes))
}

/// What a sync found, for one client. Its responses are made one at a time as they are
/// written ([`Updates::into_data`]): a session told of 11,000 changed flags need not hold
/// 11,000 responses at once (ten sessions idling on such a mailbox held 97 MB).
pub struct Updates {
    client: Client,
    read_only: bool,
    changes: Changes,
}

impl Updates {
    fn new(client: Client, view: &MailboxView, changes: Changes) -> Self {
        Updates {
            client,
            read_only: view.read_only,
            changes,
        }
    }

    /// The untagged responses, in the order they must be sent.
    pub fn into_data(self) -> impl Iterator<Item = Data<'static>> {
        let Updates {
            client,
            read_only,
            changes,
        } = self;
        let Changes {
            expunged_seqs,
            expunged_uids,
            exists,
            recent,
            keywords,
            flags_changed,
        } = changes;
        // A keyword new to the client comes with FLAGS and PERMANENTFLAGS again (RFC 3501
        // §7.2.6), before the FETCH responses that carry it.
        let flag_lists = keywords
            .into_iter()
            .flat_map(move |keywords| flag_lists(&keywords, read_only));
        let (vanished, expunges) = if client.qresync {
            let uids = sequence_set(&expunged_uids);
            (
                uids.map(|uids| Data::Vanished {
                    earlier: false,
                    uids,
                }),
                Vec::new(),
            )
        } else {
            (None, expunged_seqs)
        };
        let flags = flags_changed
            .into_iter()
            .map(move |update| flag_fetch(client, update, true));
        vanished
            .into_iter()
            .chain(expunges.into_iter().map(|s| Data::Expunge(nonzero(s))))
            .chain(exists.map(Data::Exists))
            .chain(recent.filter(|_| !client.rev2).map(Data::Recent))
            .chain(flag_lists)
            .chain(flags)
    }
}

/// The FETCH response that tells a client a message's flags.
fn flag_fetch(client: Client, update: FlagUpdate, with_uid: bool) -> Data<'static> {
    let mut items = Vec::new();
    if with_uid {
        items.push(FetchItem::Uid(nonzero(update.uid)));
    }
    items.push(FetchItem::Flags(flags_fetch(
        update.flags,
        &update.keywords,
        update.recent && !client.rev2,
    )));
    if client.condstore {
        items.push(FetchItem::ModSeq(nonzero64(update.modseq)));
    }
    Data::Fetch {
        seq: nonzero(update.seq),
        items,
    }
}

/// What a `[UID] STORE` asks.
pub struct StoreRequest<'a> {
    pub set: &'a SequenceSet,
    pub uid: bool,
    pub unchanged_since: Option<u64>,
    pub mode: StoreMode,
    pub silent: bool,
    pub flags: &'a [Flag<'a>],
}

/// `[UID] STORE`.
pub fn store_flags<S: Store>(
    store: &S,
    client: Client,
    view: &mut MailboxView,
    request: &StoreRequest<'_>,
) -> Result<Reply, StoreError> {
    let &StoreRequest {
        set,
        uid,
        unchanged_since,
        mode,
        silent,
        flags,
    } = request;
    if view.read_only {
        return Ok(Reply::no(Some(PlainCode::Cannot), "Mailbox is read-only"));
    }
    let (bits, keywords) = match flags_from_imap(flags) {
        Ok(split) => split,
        Err(flag) => return Ok(Reply::bad(format!("{flag} cannot be stored"))),
    };
    let change = match mode {
        StoreMode::Replace => FlagChange::Replace {
            flags: bits,
            keywords,
        },
        StoreMode::Add => FlagChange::Add {
            flags: bits,
            keywords,
        },
        StoreMode::Remove => FlagChange::Remove {
            flags: bits,
            keywords,
        },
    };
    let uids = view.live_uids(&view.resolve(set, uid));
    let outcome = store.set_flags(view.id, &uids, &change, unchanged_since)?;
    let mut data = Vec::new();
    if view.learn_keywords(outcome.changed.iter().flat_map(|c| &c.keywords)) {
        data.extend(flag_lists(view.keywords(), view.read_only));
    }
    for changed in outcome.changed {
        view.record_own(changed.uid, changed.modseq);
        let Some(seq) = view.seq_of(changed.uid) else {
            continue;
        };
        if !silent {
            let update = FlagUpdate {
                seq,
                uid: changed.uid,
                flags: changed.flags,
                keywords: changed.keywords,
                modseq: changed.modseq,
                recent: view.is_recent(changed.uid),
            };
            // Once CONDSTORE is on, every FETCH a STORE causes names the UID (RFC 7162 §3.1).
            data.push(flag_fetch(client, update, uid || client.condstore));
        } else if client.condstore {
            // .SILENT still reports the new MODSEQ, with the UID (RFC 7162 §3.1.3, §3.1).
            let items = vec![
                FetchItem::Uid(nonzero(changed.uid)),
                FetchItem::ModSeq(nonzero64(changed.modseq)),
            ];
            data.push(Data::Fetch {
                seq: nonzero(seq),
                items,
            });
        }
    }
    let mut reply = Reply::ok("STORE completed").with_data(data);
    if !outcome.modified.is_empty() {
        let numbers: Vec<u32> = if uid {
            outcome.modified.clone()
        } else {
            outcome
                .modified
                .iter()
                .filter_map(|&u| view.seq_of(u))
                .collect()
        };
        if let Some(set) = sequence_set(&numbers) {
            reply = reply.with_code(Code::Modified(set));
        }
    }
    Ok(reply)
}

/// `[UID] COPY` and `[UID] MOVE`. Returns the target mailbox id so the caller can notify it.
pub fn copy_or_move<S: Store>(
    store: &S,
    client: Client,
    view: &mut MailboxView,
    set: &SequenceSet,
    uid: bool,
    target: &str,
    moving: bool,
) -> Result<(Reply, Option<crate::store::MailboxId>), StoreError> {
    if moving && view.read_only {
        return Ok((
            Reply::no(Some(PlainCode::Cannot), "Mailbox is read-only"),
            None,
        ));
    }
    let Some(target) = find(store, client.account, target)? else {
        return Ok((
            Reply::no(Some(PlainCode::TryCreate), "No such mailbox"),
            None,
        ));
    };
    let uids = view.live_uids(&view.resolve(set, uid));
    if uids.is_empty() {
        let verb = if moving { "MOVE" } else { "COPY" };
        return Ok((
            Reply::ok(format!("{verb} completed (no messages)")),
            Some(target.id),
        ));
    }
    let copied = if moving {
        // What leaves the Screener decides on its senders: read before it goes.
        let leaving: Vec<_> = match view.name == crate::screener::MAILBOX {
            true => store
                .messages(view.id)?
                .into_iter()
                .filter(|m| uids.contains(&m.uid))
                .map(|m| m.blob)
                .collect(),
            false => Vec::new(),
        };
        let moved = store.move_messages(view.id, &uids, target.id)?;
        let screened = crate::screener::moved(store, client.account, &view.name, &target, &leaving);
        if let Err(error) = screened {
            tracing::warn!(%error, "cannot record the Screener's verdict of a move");
        }
        moved
    } else {
        store.copy_messages(view.id, &uids, target.id)?
    };
    let source: Vec<u32> = copied.iter().map(|c| c.source_uid).collect();
    let destination: Vec<u32> = copied.iter().map(|c| c.target_uid).collect();
    let code = match (sequence_set(&source), sequence_set(&destination)) {
        (Some(source), Some(destination)) => Some(Code::CopyUid {
            uid_validity: nonzero(target.uid_validity),
            source,
            destination,
        }),
        _ => None,
    };
    if !moving {
        let mut reply = Reply::ok("COPY completed");
        if let Some(code) = code {
            reply = reply.with_code(code);
        }
        return Ok((reply, Some(target.id)));
    }
    // MOVE: COPYUID comes untagged, before the expunges (RFC 6851 §4.3).
    let mut data = Vec::new();
    if let Some(code) = code {
        data.push(untagged_ok(code, "Moved"));
    }
    data.extend(updates(store, client, view, true)?.into_data());
    Ok((Reply::ok("MOVE completed").with_data(data), Some(target.id)))
}

/// `EXPUNGE`, `UID EXPUNGE set` (only those), and `CLOSE` (silently).
pub fn expunge<S: Store>(
    store: &S,
    client: Client,
    view: &mut MailboxView,
    only: Option<&SequenceSet>,
) -> Result<Reply, StoreError> {
    if view.read_only {
        return Ok(Reply::no(Some(PlainCode::Cannot), "Mailbox is read-only"));
    }
    let deleted = store
        .messages(view.id)?
        .into_iter()
        .filter(|m| m.flags & FLAG_DELETED != 0)
        .map(|m| m.uid);
    let uids: Vec<u32> = match only {
        Some(set) => {
            let allowed = view.live_uids(&view.resolve(set, true));
            deleted
                .filter(|uid| allowed.binary_search(uid).is_ok())
                .collect()
        }
        None => deleted.collect(),
    };
    if !uids.is_empty() {
        store.expunge(view.id, &uids)?;
    }
    let data = updates(store, client, view, true)?.into_data().collect();
    Ok(Reply::ok("EXPUNGE completed").with_data(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::FLAG_SEEN;

    fn client(qresync: bool) -> Client {
        Client {
            account: 1,
            names: Names { utf8: false },
            condstore: qresync,
            qresync,
            rev2: false,
        }
    }

    fn changes() -> Changes {
        Changes {
            expunged_seqs: vec![3, 3],
            expunged_uids: vec![3, 4],
            exists: Some(5),
            recent: Some(2),
            keywords: Some(vec!["$Work".into()]),
            flags_changed: vec![FlagUpdate {
                seq: 1,
                uid: 1,
                flags: FLAG_SEEN,
                keywords: Vec::new(),
                modseq: 9,
                recent: true,
            }],
        }
    }

    /// Expunges (VANISHED under QRESYNC) first, then the new counts and flag lists, then flag changes by
    /// the sequence numbers that hold after the expunges (RFC 3501 §7.4.1, RFC 7162 §3.2.10).
    #[test]
    fn updates_come_out_expunges_then_exists_then_flags() {
        let kinds = |qresync| {
            let updates = Updates {
                client: client(qresync),
                read_only: false,
                changes: changes(),
            };
            updates
                .into_data()
                .map(|data| match data {
                    Data::Expunge(n) => format!("EXPUNGE {n}"),
                    Data::Vanished { earlier, .. } => format!("VANISHED earlier={earlier}"),
                    Data::Exists(n) => format!("EXISTS {n}"),
                    Data::Recent(n) => format!("RECENT {n}"),
                    Data::Flags(_) => "FLAGS".into(),
                    Data::Condition {
                        code: Some(Code::PermanentFlags(_)),
                        ..
                    } => "PERMANENTFLAGS".into(),
                    Data::Fetch { seq, items } => format!("FETCH {seq} ({} items)", items.len()),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            kinds(false),
            [
                "EXPUNGE 3",
                "EXPUNGE 3",
                "EXISTS 5",
                "RECENT 2",
                "FLAGS",
                "PERMANENTFLAGS",
                "FETCH 1 (2 items)"
            ]
        );
        assert_eq!(
            kinds(true),
            [
                "VANISHED earlier=false",
                "EXISTS 5",
                "RECENT 2",
                "FLAGS",
                "PERMANENTFLAGS",
                "FETCH 1 (3 items)"
            ]
        );
    }
}
