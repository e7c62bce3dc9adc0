//! The selected mailbox as one IMAP session sees it.
//!
//! Sequence numbers are positions in this view, not in the store: another session's expunge
//! must not renumber messages under a client that is in the middle of a FETCH. So the view
//! keeps messages that vanished from the store until the session may report them (RFC 9051
//! §7.5.1: not during FETCH, STORE or SEARCH), and reports new messages and flag changes made
//! elsewhere when it syncs.
//!
//! An idle session holds only this view, so it is kept small: the UIDs as runs of
//! consecutive numbers (a few runs for most mailboxes, whatever their size), and no flags —
//! a flag change made elsewhere is recognized by its modseq being above the one the view
//! last synced to.

use proto_imap::SequenceSet;

use crate::store::{Flags, Mailbox, MailboxId, Message};

/// `len` consecutive UIDs from `first_uid`, at sequence numbers from `first_seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    first_uid: u32,
    first_seq: u32,
    len: u32,
}

/// The UIDs of a view in sequence order, as runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Uids {
    runs: Vec<Run>,
    len: u32,
}

impl Uids {
    fn from_sorted(uids: impl IntoIterator<Item = u32>) -> Self {
        let mut list = Uids::default();
        for uid in uids {
            list.push(uid);
        }
        list.runs.shrink_to_fit();
        list
    }

    /// Appends a UID larger than every one in the list.
    fn push(&mut self, uid: u32) {
        self.len += 1;
        match self.runs.last_mut() {
            Some(run) if run.first_uid + run.len == uid => run.len += 1,
            _ => self.runs.push(Run {
                first_uid: uid,
                first_seq: self.len,
                len: 1,
            }),
        }
    }

    fn uid(&self, seq: u32) -> Option<u32> {
        let index = self
            .runs
            .partition_point(|r| r.first_seq <= seq)
            .checked_sub(1)?;
        let run = self.runs.get(index)?;
        (seq - run.first_seq < run.len).then(|| run.first_uid + (seq - run.first_seq))
    }

    fn seq(&self, uid: u32) -> Option<u32> {
        let index = self
            .runs
            .partition_point(|r| r.first_uid <= uid)
            .checked_sub(1)?;
        let run = self.runs.get(index)?;
        (uid - run.first_uid < run.len).then(|| run.first_seq + (uid - run.first_uid))
    }

    /// How many UIDs in the list are below `uid`.
    fn rank(&self, uid: u32) -> u32 {
        let index = self.runs.partition_point(|r| r.first_uid < uid);
        match index.checked_sub(1).and_then(|i| self.runs.get(i)) {
            Some(run) => run.first_seq - 1 + run.len.min(uid - run.first_uid),
            None => 0,
        }
    }

    fn last(&self) -> Option<u32> {
        self.runs.last().map(|r| r.first_uid + r.len - 1)
    }

    fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.runs
            .iter()
            .flat_map(|r| (0..r.len).map(move |i| (r.first_seq + i, r.first_uid + i)))
    }
}

/// A message whose flags changed elsewhere, as it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagUpdate {
    pub seq: u32,
    pub uid: u32,
    pub flags: Flags,
    pub keywords: Vec<String>,
    pub modseq: u64,
    /// `\Recent` in this session.
    pub recent: bool,
}

/// What a sync found, for the session to tell the client.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Sequence numbers to report as EXPUNGE, in sending order (each valid at its turn).
    pub expunged_seqs: Vec<u32>,
    /// The same messages' UIDs, ascending (for VANISHED under QRESYNC).
    pub expunged_uids: Vec<u32>,
    /// The new message count, when it grew.
    pub exists: Option<u32>,
    /// The new count of recent messages, when new ones came (IMAP4rev1 only).
    pub recent: Option<u32>,
    /// Every keyword now in use, when some came into use elsewhere: the client hears
    /// FLAGS and PERMANENTFLAGS again.
    pub keywords: Option<Vec<String>>,
    /// Messages whose flags changed elsewhere, by their sequence numbers after the expunges.
    pub flags_changed: Vec<FlagUpdate>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

/// A selected mailbox.
#[derive(Debug)]
pub struct MailboxView {
    pub id: MailboxId,
    pub name: String,
    pub uid_validity: u32,
    pub read_only: bool,
    pub uid_next: u32,
    /// The modseq the view is synced to: later changes are news to this session.
    pub highest_modseq: u64,
    uids: Uids,
    /// UIDs gone from the store that the client has not been told about yet, ascending.
    expunged: Vec<u32>,
    /// Changes this session made and already reported, as (UID, modseq): not news.
    own: Vec<(u32, u64)>,
    /// UIDs saved by `SEARCH RETURN (SAVE)` for `$` (RFC 5182).
    saved: Vec<u32>,
    /// UIDs that are `\Recent` in this session (RFC 3501 §2.3.2), as ascending inclusive
    /// ranges: one claimed at SELECT, one more each time new messages were claimed.
    recent: Vec<(u32, u32)>,
    /// The keywords the client was told of in FLAGS, sorted.
    keywords: Vec<String>,
}

impl MailboxView {
    /// Opens a view on the mailbox's current messages (UID order).
    pub fn open(mailbox: &Mailbox, messages: &[Message], read_only: bool) -> Self {
        MailboxView {
            id: mailbox.id,
            name: mailbox.name.clone(),
            uid_validity: mailbox.uid_validity,
            read_only,
            uid_next: mailbox.uid_next,
            highest_modseq: mailbox.highest_modseq,
            uids: Uids::from_sorted(messages.iter().map(|m| m.uid)),
            expunged: Vec::new(),
            own: Vec::new(),
            saved: Vec::new(),
            recent: Vec::new(),
            keywords: Vec::new(),
        }
        .with_keywords(messages)
    }

    fn with_keywords(mut self, messages: &[Message]) -> Self {
        self.learn_keywords(messages.iter().flat_map(|m| &m.keywords));
        self
    }

    /// The keywords the client knows of from FLAGS, sorted.
    pub fn keywords(&self) -> &[String] {
        &self.keywords
    }

    /// Adds keywords to those the client knows of; whether any was new.
    pub fn learn_keywords<'a>(&mut self, keywords: impl IntoIterator<Item = &'a String>) -> bool {
        let mut learned = false;
        for keyword in keywords {
            if let Err(at) = self.keywords.binary_search(keyword) {
                self.keywords.insert(at, keyword.clone());
                learned = true;
            }
        }
        learned
    }

    /// Makes the UIDs from `first` up to (not including) `uid_next` recent in this session.
    pub fn add_recent(&mut self, first: u32, uid_next: u32) {
        let Some(last) = uid_next.checked_sub(1).filter(|&last| last >= first) else {
            return;
        };
        match self.recent.last_mut() {
            Some(range) if range.1.saturating_add(1) >= first => range.1 = range.1.max(last),
            _ => self.recent.push((first, last)),
        }
    }

    /// Whether the message is `\Recent` in this session.
    pub fn is_recent(&self, uid: u32) -> bool {
        crate::mail::in_ranges(uid, &self.recent)
    }

    /// The UIDs recent in this session, as ascending inclusive ranges.
    pub fn recent(&self) -> &[(u32, u32)] {
        &self.recent
    }

    /// How many messages of the view are recent in this session.
    pub fn recent_count(&self) -> u32 {
        self.recent
            .iter()
            .map(|&(first, last)| self.uids.rank(last.saturating_add(1)) - self.uids.rank(first))
            .sum()
    }

    /// Messages in the view, expunges not yet reported included.
    pub fn len(&self) -> u32 {
        self.uids.len
    }

    pub fn is_empty(&self) -> bool {
        self.uids.len == 0
    }

    /// The UID at a sequence number (1-based).
    pub fn uid(&self, seq: u32) -> Option<u32> {
        self.uids.uid(seq)
    }

    /// The sequence number of a UID.
    pub fn seq_of(&self, uid: u32) -> Option<u32> {
        self.uids.seq(uid)
    }

    /// Whether the message is gone from the store (not yet reported).
    pub fn is_expunged(&self, uid: u32) -> bool {
        self.expunged.binary_search(&uid).is_ok()
    }

    /// Whether some messages are gone from the store but not reported yet.
    pub fn has_pending_expunges(&self) -> bool {
        !self.expunged.is_empty()
    }

    /// Every (sequence number, UID) in order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.uids.iter()
    }

    /// The highest UID in the view (`*` of a UID set), 0 when empty.
    pub fn max_uid(&self) -> u32 {
        self.uids.last().unwrap_or(0)
    }

    /// The messages a set names, as ascending sequence numbers. `uid` says whether the set
    /// holds UIDs; `*` is the last message (or the highest UID). Numbers that name no
    /// message are left out.
    pub fn resolve(&self, set: &SequenceSet, uid: bool) -> Vec<u32> {
        if let SequenceSet::Saved = set {
            return self.saved.iter().filter_map(|&u| self.seq_of(u)).collect();
        }
        // Merged first, so a set written as `1:*,1:*,...` costs what `1:*` does.
        let mut seqs = Vec::new();
        if uid {
            let intervals = set.intervals(self.max_uid());
            // Both the intervals and the runs ascend: one sweep over the two.
            let mut intervals = intervals.as_slice().iter().peekable();
            for run in &self.uids.runs {
                let run_last = run.first_uid + run.len - 1;
                while let Some(&&(lo, hi)) = intervals.peek() {
                    if lo > run_last {
                        break;
                    }
                    let (first, last) = (lo.max(run.first_uid), hi.min(run_last));
                    if first <= last {
                        let start = run.first_seq + (first - run.first_uid);
                        seqs.extend(start..=start + (last - first));
                    }
                    if hi > run_last {
                        break;
                    }
                    intervals.next();
                }
            }
        } else {
            let largest = self.len();
            for &(lo, hi) in set.intervals(largest).as_slice() {
                if lo <= largest {
                    seqs.extend(lo.max(1)..=hi.min(largest));
                }
            }
        }
        seqs
    }

    /// The UIDs of these sequence numbers that are still in the store.
    pub fn live_uids(&self, seqs: &[u32]) -> Vec<u32> {
        seqs.iter()
            .filter_map(|&s| self.uid(s))
            .filter(|&u| !self.is_expunged(u))
            .collect()
    }

    /// UIDs of the search result saved for `$`, ascending.
    pub fn saved(&self) -> &[u32] {
        &self.saved
    }

    /// Keeps a search result for `$`.
    pub fn save(&mut self, seqs: &[u32]) {
        self.saved = seqs.iter().filter_map(|&s| self.uid(s)).collect();
    }

    /// Takes in messages this session appended (UIDs above every one in the view) when
    /// nothing else changed the mailbox since the last sync, so no sync is needed.
    pub fn append_own(&mut self, uids: &[u32], keywords: &[String], mailbox: &Mailbox) {
        self.learn_keywords(keywords);
        for &uid in uids {
            if uid > self.max_uid() {
                self.uids.push(uid);
            }
        }
        self.uid_next = mailbox.uid_next;
        self.highest_modseq = mailbox.highest_modseq;
    }

    /// Records a change this session made and reported itself (STORE, FETCH setting
    /// \Seen), so the next sync does not report it back as someone else's.
    pub fn record_own(&mut self, uid: u32, modseq: u64) {
        self.own.push((uid, modseq));
    }

    /// Brings the view up to date when all that changed since its last sync is that the
    /// messages `arrived` (those from its UIDNEXT on, in UID order) were added: every modseq
    /// the mailbox handed out since is one of theirs. Any other change (flags, an expunge,
    /// one of these messages changed since it came) took a modseq none of them has, and
    /// `None` says so: the whole mailbox must be read ([`sync`](Self::sync)). The common
    /// case, new mail reaching idling sessions, then costs each session the new messages
    /// rather than the mailbox.
    pub fn sync_arrivals(&mut self, mailbox: &Mailbox, arrived: &[Message]) -> Option<Changes> {
        let since = self.highest_modseq;
        let mut modseqs: Vec<u64> = arrived.iter().map(|m| m.modseq).collect();
        modseqs.sort_unstable();
        modseqs.dedup();
        // As many distinct modseqs as were handed out, each one of them.
        let covered = mailbox.highest_modseq.checked_sub(since) == Some(modseqs.len() as u64)
            && modseqs
                .iter()
                .all(|&m| m > since && m <= mailbox.highest_modseq);
        if !covered || !self.own.is_empty() || self.has_pending_expunges() {
            return None;
        }
        let last_uid = self.max_uid();
        let mut changes = Changes::default();
        for message in arrived.iter().filter(|m| m.uid > last_uid) {
            self.uids.push(message.uid);
            changes.exists = Some(self.len());
        }
        if self.learn_keywords(arrived.iter().flat_map(|m| &m.keywords)) {
            changes.keywords = Some(self.keywords.clone());
        }
        self.uid_next = mailbox.uid_next;
        self.highest_modseq = mailbox.highest_modseq;
        Some(changes)
    }

    /// Brings the view up to date with the mailbox as stored now (`current` in UID order).
    /// Messages gone from the store are removed (and reported) only when `allow_expunge`;
    /// otherwise they stay, keeping every sequence number valid.
    pub fn sync(&mut self, mailbox: &Mailbox, current: &[Message], allow_expunge: bool) -> Changes {
        // Gone from the store: in the view, absent from `current`.
        let mut gone = Vec::new();
        let mut next = 0;
        for (_, uid) in self.uids.iter() {
            next += current[next..].partition_point(|m| m.uid < uid);
            if current.get(next).is_none_or(|m| m.uid != uid) {
                gone.push(uid);
            }
        }
        self.note_gone(&gone);
        self.apply(mailbox, current, allow_expunge)
    }

    /// As [`sync`](Self::sync), from only what changed since the view's modseq: the
    /// messages added or changed since (`changed`, in UID order) and the UIDs expunged
    /// since (`vanished`, ascending). A sync then costs what changed, not the mailbox.
    pub fn sync_changes(
        &mut self,
        mailbox: &Mailbox,
        changed: &[Message],
        vanished: &[u32],
        allow_expunge: bool,
    ) -> Changes {
        let gone: Vec<u32> = vanished
            .iter()
            .copied()
            .filter(|&uid| self.uids.seq(uid).is_some())
            .collect();
        self.note_gone(&gone);
        self.apply(mailbox, changed, allow_expunge)
    }

    /// Notes UIDs of the view gone from the store (ascending), to report when allowed.
    fn note_gone(&mut self, gone: &[u32]) {
        for &uid in gone {
            if let Err(at) = self.expunged.binary_search(&uid) {
                self.expunged.insert(at, uid);
            }
        }
    }

    /// The rest of a sync, once the messages gone are noted: `current` holds at least every
    /// message added or changed since the view's modseq, in UID order.
    fn apply(&mut self, mailbox: &Mailbox, current: &[Message], allow_expunge: bool) -> Changes {
        let mut changes = Changes::default();
        let last_uid = self.max_uid();
        if allow_expunge && !self.expunged.is_empty() {
            // Highest first, so each number is still right when the client applies it.
            for &uid in self.expunged.iter().rev() {
                if let Some(seq) = self.uids.seq(uid) {
                    changes.expunged_seqs.push(seq);
                }
            }
            changes.expunged_uids = std::mem::take(&mut self.expunged);
            let gone = &changes.expunged_uids;
            self.uids = Uids::from_sorted(
                self.uids
                    .iter()
                    .map(|(_, uid)| uid)
                    .filter(|uid| gone.binary_search(uid).is_err())
                    .collect::<Vec<_>>(),
            );
            // Recent ranges left with no message go: a long session keeps no more ranges
            // than messages.
            let uids = &self.uids;
            self.recent
                .retain(|&(first, last)| uids.rank(last.saturating_add(1)) > uids.rank(first));
        }
        let grew = current.iter().filter(|m| m.uid > last_uid).count();
        for message in current.iter().filter(|m| m.uid > last_uid) {
            self.uids.push(message.uid);
        }
        if grew > 0 {
            changes.exists = Some(self.len());
        }
        // Keywords that came into use elsewhere, on new messages or changed ones.
        let synced = self.highest_modseq;
        let touched = current
            .iter()
            .filter(|m| m.uid > last_uid || m.modseq > synced);
        if self.learn_keywords(touched.flat_map(|m| &m.keywords)) {
            changes.keywords = Some(self.keywords.clone());
        }
        // Flag changes made elsewhere: messages the client knew, changed since the last sync.
        for message in current {
            if message.uid > last_uid || message.modseq <= self.highest_modseq {
                continue;
            }
            if self.own.contains(&(message.uid, message.modseq)) {
                continue;
            }
            if let Some(seq) = self.uids.seq(message.uid) {
                changes.flags_changed.push(FlagUpdate {
                    seq,
                    uid: message.uid,
                    flags: message.flags,
                    keywords: message.keywords.clone(),
                    modseq: message.modseq,
                    recent: self.is_recent(message.uid),
                });
            }
        }
        self.own.clear();
        self.uid_next = mailbox.uid_next;
        self.highest_modseq = mailbox.highest_modseq;
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{BlobId, FLAG_SEEN};
    use proptest::prelude::*;
    use std::num::NonZeroU32;

    fn message(uid: u32, flags: Flags, modseq: u64) -> Message {
        Message {
            uid,
            blob: BlobId([0; 32]),
            size: 10,
            internal_date: 0,
            flags,
            keywords: Vec::new(),
            modseq,
        }
    }

    fn mailbox(uid_next: u32, modseq: u64) -> Mailbox {
        Mailbox {
            id: 1,
            account: 1,
            name: "INBOX".into(),
            uid_validity: 7,
            uid_next,
            highest_modseq: modseq,
            special_use: None,
        }
    }

    fn set(text: &str) -> SequenceSet {
        let line = format!("a FETCH {text} FLAGS\r\n");
        let parsed = proto_imap::parse_command(line.as_bytes()).expect("valid set");
        match parsed.body {
            proto_imap::CommandBody::Fetch { set, .. } => set.clone(),
            _ => unreachable!(),
        }
    }

    fn uids(view: &MailboxView) -> Vec<u32> {
        view.iter().map(|(_, uid)| uid).collect()
    }

    #[test]
    fn resolves_sequence_and_uid_sets() {
        let messages: Vec<Message> = [3, 5, 9, 10, 12]
            .iter()
            .map(|&u| message(u, 0, 1))
            .collect();
        let view = MailboxView::open(&mailbox(13, 1), &messages, false);
        assert_eq!(view.resolve(&set("2:*"), false), [2, 3, 4, 5]);
        assert_eq!(view.resolve(&set("4:2,1"), false), [1, 2, 3, 4]);
        assert_eq!(view.resolve(&set("9"), false), Vec::<u32>::new());
        assert_eq!(view.resolve(&set("5:10"), true), [2, 3, 4]);
        assert_eq!(view.resolve(&set("*"), true), [5]);
        assert_eq!(view.resolve(&set("100:*"), true), [5], "100:* is 12:100");
        assert_eq!(view.seq_of(9), Some(3));
        assert_eq!(view.seq_of(4), None);
        assert_eq!(view.uid(4), Some(10));
        assert_eq!(view.uid(6), None);
    }

    #[test]
    fn runs_keep_memory_small() {
        let messages: Vec<Message> = (1..=10_000).map(|u| message(u, 0, 1)).collect();
        let view = MailboxView::open(&mailbox(10_001, 1), &messages, false);
        assert_eq!(view.uids.runs.len(), 1);
        assert_eq!(view.len(), 10_000);
        assert_eq!(view.uid(7_777), Some(7_777));
    }

    #[test]
    fn expunges_wait_until_allowed() {
        let all: Vec<Message> = (1..=4).map(|u| message(u, 0, 1)).collect();
        let mut view = MailboxView::open(&mailbox(5, 1), &all, false);
        let after = vec![all[0].clone(), all[2].clone()];
        let changes = view.sync(&mailbox(5, 2), &after, false);
        assert!(changes.expunged_seqs.is_empty());
        assert_eq!(view.len(), 4, "sequence numbers stay valid during FETCH");
        assert!(view.is_expunged(2));
        let changes = view.sync(&mailbox(5, 2), &after, true);
        assert_eq!(changes.expunged_seqs, [4, 2]);
        assert_eq!(changes.expunged_uids, [2, 4]);
        assert_eq!(uids(&view), [1, 3]);
    }

    #[test]
    fn reports_new_messages_and_flag_changes() {
        let all: Vec<Message> = (1..=3).map(|u| message(u, 0, 1)).collect();
        let mut view = MailboxView::open(&mailbox(4, 1), &all, false);
        let mut now = all.clone();
        now[2] = message(3, FLAG_SEEN, 5);
        now.remove(0);
        now.push(message(4, 0, 6));
        let changes = view.sync(&mailbox(5, 6), &now, true);
        assert_eq!(changes.expunged_seqs, [1]);
        assert_eq!(changes.flags_changed.len(), 1);
        assert_eq!(
            changes.flags_changed[0].seq, 2,
            "message 3 is now at sequence 2"
        );
        assert_eq!(changes.flags_changed[0].flags, FLAG_SEEN);
        assert_eq!(changes.exists, Some(3));
        assert_eq!(uids(&view), [2, 3, 4]);
        assert!(view.sync(&mailbox(5, 6), &now, true).is_empty());
    }

    #[test]
    fn own_appends_need_no_sync() {
        let all = vec![message(1, 0, 1)];
        let mut view = MailboxView::open(&mailbox(2, 1), &all, false);
        view.append_own(&[2, 3], &[], &mailbox(4, 3));
        assert_eq!(uids(&view), [1, 2, 3]);
        let now = vec![message(1, 0, 1), message(2, 0, 2), message(3, 0, 3)];
        assert!(view.sync(&mailbox(4, 3), &now, true).is_empty());
    }

    #[test]
    fn own_store_is_not_reported_back() {
        let all = vec![message(1, 0, 1)];
        let mut view = MailboxView::open(&mailbox(2, 1), &all, false);
        view.record_own(1, 2);
        let changes = view.sync(&mailbox(2, 2), &[message(1, FLAG_SEEN, 2)], true);
        assert!(changes.is_empty());
    }

    #[test]
    fn recent_ranges_count_messages_in_the_view() {
        let all: Vec<Message> = [1, 2, 5, 6, 7, 9]
            .iter()
            .map(|&u| message(u, 0, 1))
            .collect();
        let mut view = MailboxView::open(&mailbox(10, 1), &all, false);
        assert_eq!(view.recent_count(), 0);
        view.add_recent(5, 8);
        view.add_recent(8, 8);
        assert_eq!(view.recent(), [(5, 7)]);
        assert_eq!(view.recent_count(), 3);
        view.add_recent(8, 10);
        assert_eq!(view.recent(), [(5, 9)], "adjacent claims merge");
        assert_eq!(view.recent_count(), 4);
        assert!(view.is_recent(9) && view.is_recent(5) && !view.is_recent(2));
        view.sync(&mailbox(12, 2), &all[..5], true);
        assert_eq!(
            view.recent_count(),
            3,
            "an expunged message is no longer counted"
        );
        let mut now = all[..5].to_vec();
        now.push(message(12, 0, 3));
        view.sync(&mailbox(13, 3), &now, true);
        view.add_recent(12, 13);
        assert_eq!(view.recent(), [(5, 9), (12, 12)]);
        view.sync(&mailbox(13, 4), &now[..2], true);
        assert!(view.recent().is_empty(), "ranges with no message left go");
    }

    #[test]
    fn saved_results_follow_uids() {
        let all: Vec<Message> = (1..=3).map(|u| message(u * 10, 0, 1)).collect();
        let mut view = MailboxView::open(&mailbox(40, 1), &all, false);
        view.save(&[2, 3]);
        view.sync(&mailbox(40, 2), &all[1..], true);
        assert_eq!(view.resolve(&SequenceSet::Saved, false), [1, 2]);
        let one = SequenceSet::single(NonZeroU32::new(1).unwrap());
        assert_eq!(view.resolve(&one, false), [1]);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Arrive { keyword: bool },
        Flag(usize),
        Expunge(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => any::<bool>().prop_map(|keyword| Op::Arrive { keyword }),
            1 => any::<usize>().prop_map(Op::Flag),
            1 => any::<usize>().prop_map(Op::Expunge),
        ]
    }

    /// A mailbox as the store keeps it: its messages, the removals with their modseqs,
    /// and its counters.
    struct Stored {
        current: Vec<Message>,
        vanished: Vec<(u32, u64)>,
        uid_next: u32,
        modseq: u64,
    }

    impl Stored {
        fn with(initial: u32) -> Self {
            Stored {
                current: (1..=initial).map(|u| message(u, 0, u64::from(u))).collect(),
                vanished: Vec::new(),
                uid_next: initial + 1,
                modseq: u64::from(initial),
            }
        }

        fn mailbox(&self) -> Mailbox {
            mailbox(self.uid_next, self.modseq)
        }

        /// Applies `op`; each takes a modseq, one that changes nothing too.
        fn apply(&mut self, op: &Op) {
            self.modseq += 1;
            let len = self.current.len();
            match *op {
                Op::Arrive { keyword } => {
                    let mut new = message(self.uid_next, 0, self.modseq);
                    if keyword {
                        new.keywords.push(format!("$k{}", self.uid_next));
                    }
                    self.current.push(new);
                    self.uid_next += 1;
                }
                Op::Flag(i) if len > 0 => {
                    let changed = &mut self.current[i % len];
                    changed.flags ^= FLAG_SEEN;
                    changed.modseq = self.modseq;
                }
                Op::Expunge(i) if len > 0 => {
                    let gone = self.current.remove(i % len);
                    self.vanished.push((gone.uid, self.modseq));
                }
                Op::Flag(_) | Op::Expunge(_) => {}
            }
        }
    }

    proptest! {
        /// When only new messages came, reading them alone brings a view where reading the
        /// whole mailbox does, with the same report; when anything else changed too, the
        /// shortcut declines.
        #[test]
        fn arrivals_alone_sync_as_a_full_sync_would(
            initial in 0u32..20,
            ops in proptest::collection::vec(op(), 0..6),
        ) {
            let mut stored = Stored::with(initial);
            let mut shortcut = MailboxView::open(&stored.mailbox(), &stored.current, false);
            let mut full = MailboxView::open(&stored.mailbox(), &stored.current, false);
            let first_new = stored.uid_next;
            for op in &ops {
                stored.apply(op);
            }
            let (now, current) = (stored.mailbox(), &stored.current);
            let arrived: Vec<Message> = current.iter().filter(|m| m.uid >= first_new).cloned().collect();
            let only_arrivals = ops.iter().all(|op| matches!(op, Op::Arrive { .. }));
            match shortcut.sync_arrivals(&now, &arrived) {
                Some(changes) => {
                    prop_assert!(only_arrivals);
                    prop_assert_eq!(changes, full.sync(&now, current, true));
                    prop_assert_eq!(uids(&shortcut), uids(&full));
                    prop_assert_eq!(shortcut.highest_modseq, full.highest_modseq);
                }
                None => prop_assert!(!only_arrivals),
            }
        }

        /// Reading only what changed since the view's modseq (messages added or changed,
        /// UIDs expunged) brings the view where reading the whole mailbox does, with the same
        /// report, whether expunges may be reported or must wait, over two syncs.
        #[test]
        fn changes_alone_sync_as_a_full_sync_would(
            initial in 0u32..20,
            rounds in proptest::collection::vec(
                (proptest::collection::vec(op(), 0..6), any::<bool>()), 1..3),
        ) {
            let mut stored = Stored::with(initial);
            let mut delta = MailboxView::open(&stored.mailbox(), &stored.current, false);
            let mut full = MailboxView::open(&stored.mailbox(), &stored.current, false);
            for (ops, allow_expunge) in &rounds {
                for op in ops {
                    stored.apply(op);
                }
                let now = stored.mailbox();
                let since = delta.highest_modseq;
                let changed: Vec<Message> = stored.current.iter().filter(|m| m.modseq > since).cloned().collect();
                let mut gone: Vec<u32> = stored.vanished.iter().filter(|(_, at)| *at > since).map(|(u, _)| *u).collect();
                gone.sort_unstable();
                prop_assert_eq!(
                    delta.sync_changes(&now, &changed, &gone, *allow_expunge),
                    full.sync(&now, &stored.current, *allow_expunge)
                );
                prop_assert_eq!(uids(&delta), uids(&full));
                prop_assert_eq!(&delta.expunged, &full.expunged);
                prop_assert_eq!(delta.highest_modseq, full.highest_modseq);
            }
        }

        /// Whatever happens in the store, a sync with expunges allowed leaves exactly the
        /// stored messages, and the reported expunges turn the old view into the new one.
        #[test]
        fn sync_converges(initial in proptest::collection::btree_set(1u32..60, 0..30),
                          keep in proptest::collection::vec(any::<bool>(), 30),
                          added in 0u32..5) {
            let old: Vec<Message> = initial.iter().map(|&u| message(u, 0, 1)).collect();
            let mut view = MailboxView::open(&mailbox(61, 1), &old, false);
            let mut now: Vec<Message> = old.iter().zip(keep.iter().cycle()).filter(|(_, k)| **k).map(|(m, _)| m.clone()).collect();
            now.extend((0..added).map(|i| message(100 + i, 0, 2)));
            let mut client: Vec<u32> = uids(&view);
            let changes = view.sync(&mailbox(200, 2), &now, true);
            for seq in &changes.expunged_seqs {
                client.remove(*seq as usize - 1);
            }
            if let Some(exists) = changes.exists {
                prop_assert!(exists as usize >= client.len());
            }
            let expected: Vec<u32> = now.iter().map(|m| m.uid).collect();
            prop_assert_eq!(uids(&view), expected.clone());
            prop_assert_eq!(&client[..], &expected[..client.len()]);
            for (seq, uid) in view.iter() {
                prop_assert_eq!(view.uid(seq), Some(uid));
                prop_assert_eq!(view.seq_of(uid), Some(seq));
                prop_assert_eq!(view.uids.rank(uid), seq - 1);
                prop_assert_eq!(view.uids.rank(uid + 1), seq);
            }
        }
    }
}
