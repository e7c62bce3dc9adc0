//! The selected mailbox as one IMAP session sees it.
//!
//! Sequence numbers are positions in this view, not in the store: another session's expunge
//! must not renumber messages under a client that is in the middle of a FETCH. So the view
//! keeps messages that vanished from the store until the session may report them (RFC 9051
//! §7.5.1: not during FETCH, STORE or SEARCH), and reports new messages and flag changes made
//! elsewhere when it syncs.

use proto_imap::SequenceSet;

use crate::store::{Flags, Mailbox, MailboxId, Message};

/// One message as the session last reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub uid: u32,
    pub flags: Flags,
    pub keywords: Vec<String>,
    pub modseq: u64,
    /// Gone from the store, not yet reported to the client.
    pub expunged: bool,
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
    /// Sequence numbers of messages whose flags changed elsewhere (now in the view).
    pub flags_changed: Vec<u32>,
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
    pub highest_modseq: u64,
    entries: Vec<Entry>,
    /// UIDs saved by `SEARCH RETURN (SAVE)` for `$` (RFC 5182).
    saved: Vec<u32>,
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
            entries: messages.iter().map(entry).collect(),
            saved: Vec::new(),
        }
    }

    /// Messages in the view, reported expunges not yet sent included.
    pub fn len(&self) -> u32 {
        u32::try_from(self.entries.len()).unwrap_or(u32::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The message at a sequence number (1-based).
    pub fn get(&self, seq: u32) -> Option<&Entry> {
        self.entries.get(usize::try_from(seq).ok()?.checked_sub(1)?)
    }

    pub fn entries(&self) -> impl Iterator<Item = (u32, &Entry)> {
        (1u32..).zip(self.entries.iter())
    }

    /// The sequence number of a UID.
    pub fn seq_of(&self, uid: u32) -> Option<u32> {
        let index = self.entries.binary_search_by_key(&uid, |e| e.uid).ok()?;
        u32::try_from(index + 1).ok()
    }

    /// The messages a set names, as ascending sequence numbers. `uid` says whether the set
    /// holds UIDs; `*` is the last message (or the highest UID). Numbers that name no
    /// message are left out.
    pub fn resolve(&self, set: &SequenceSet, uid: bool) -> Vec<u32> {
        let ranges = match set {
            SequenceSet::Saved => {
                return self.saved.iter().filter_map(|&u| self.seq_of(u)).collect();
            }
            SequenceSet::Ranges(ranges) => ranges.as_slice(),
        };
        let mut seqs = Vec::new();
        if uid {
            let largest = self.entries.last().map_or(0, |e| e.uid);
            for range in ranges {
                let (lo, hi) = range.bounds(largest);
                let start = self.entries.partition_point(|e| e.uid < lo);
                let end = self.entries.partition_point(|e| e.uid <= hi);
                seqs.extend((start..end).filter_map(|i| u32::try_from(i + 1).ok()));
            }
        } else {
            let largest = self.len();
            for range in ranges {
                let (lo, hi) = range.bounds(largest);
                seqs.extend(lo.max(1)..=hi.min(largest));
            }
        }
        seqs.sort_unstable();
        seqs.dedup();
        seqs
    }

    /// UIDs of the search result saved for `$`, ascending.
    pub fn saved(&self) -> &[u32] {
        &self.saved
    }

    /// Keeps a search result for `$`.
    pub fn save(&mut self, seqs: &[u32]) {
        self.saved = seqs
            .iter()
            .filter_map(|&s| self.get(s).map(|e| e.uid))
            .collect();
    }

    /// Records flags this session itself just changed (STORE), so a later sync does not
    /// report them back as someone else's change.
    pub fn set_flags(&mut self, uid: u32, flags: Flags, keywords: &[String], modseq: u64) {
        if let Some(seq) = self.seq_of(uid)
            && let Some(entry) = self.entries.get_mut(seq as usize - 1)
        {
            entry.flags = flags;
            entry.keywords = keywords.to_vec();
            entry.modseq = modseq;
            self.highest_modseq = self.highest_modseq.max(modseq);
        }
    }

    /// Brings the view up to date with the mailbox as stored now. Messages gone from the
    /// store are removed (and reported) only when `allow_expunge`; otherwise they stay, marked
    /// expunged, keeping every sequence number valid.
    pub fn sync(&mut self, mailbox: &Mailbox, current: &[Message], allow_expunge: bool) -> Changes {
        let mut changes = Changes::default();
        // Both lists are in UID order: walk them together.
        let mut next = 0;
        for (index, entry) in self.entries.iter_mut().enumerate() {
            next += current[next..].partition_point(|m| m.uid < entry.uid);
            match current.get(next) {
                Some(message) if message.uid == entry.uid => {
                    if message.modseq != entry.modseq
                        && (message.flags != entry.flags || message.keywords != entry.keywords)
                    {
                        changes.flags_changed.push(index as u32 + 1);
                    }
                    entry.flags = message.flags;
                    entry.keywords.clone_from(&message.keywords);
                    entry.modseq = message.modseq;
                }
                _ => entry.expunged = true,
            }
        }
        let last_uid = self.entries.last().map_or(0, |e| e.uid);
        let added: Vec<Entry> = current
            .iter()
            .filter(|m| m.uid > last_uid)
            .map(entry)
            .collect();
        if allow_expunge {
            // Highest first, so each number is still right when the client applies it.
            for index in (0..self.entries.len()).rev() {
                if self.entries[index].expunged {
                    changes.expunged_seqs.push(index as u32 + 1);
                    changes.expunged_uids.push(self.entries[index].uid);
                    changes.flags_changed.retain(|&s| s != index as u32 + 1);
                    for seq in &mut changes.flags_changed {
                        if *seq > index as u32 + 1 {
                            *seq -= 1;
                        }
                    }
                }
            }
            changes.expunged_uids.reverse();
            self.entries.retain(|e| !e.expunged);
        }
        if !added.is_empty() {
            self.entries.extend(added);
            changes.exists = Some(self.len());
        }
        self.uid_next = mailbox.uid_next;
        self.highest_modseq = mailbox.highest_modseq;
        changes
    }
}

fn entry(message: &Message) -> Entry {
    Entry {
        uid: message.uid,
        flags: message.flags,
        keywords: message.keywords.clone(),
        modseq: message.modseq,
        expunged: false,
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
            subscribed: true,
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
        view.entries().map(|(_, e)| e.uid).collect()
    }

    #[test]
    fn resolves_sequence_and_uid_sets() {
        let messages: Vec<Message> = [3, 5, 9, 12].iter().map(|&u| message(u, 0, 1)).collect();
        let view = MailboxView::open(&mailbox(13, 1), &messages, false);
        assert_eq!(view.resolve(&set("2:*"), false), [2, 3, 4]);
        assert_eq!(view.resolve(&set("4:2,1"), false), [1, 2, 3, 4]);
        assert_eq!(view.resolve(&set("9"), false), Vec::<u32>::new());
        assert_eq!(view.resolve(&set("5:10"), true), [2, 3]);
        assert_eq!(view.resolve(&set("*"), true), [4]);
        assert_eq!(view.resolve(&set("100:*"), true), [4], "100:* is 12:100");
        assert_eq!(view.seq_of(9), Some(3));
        assert_eq!(view.seq_of(4), None);
    }

    #[test]
    fn expunges_wait_until_allowed() {
        let all: Vec<Message> = (1..=4).map(|u| message(u, 0, 1)).collect();
        let mut view = MailboxView::open(&mailbox(5, 1), &all, false);
        let after = vec![all[0].clone(), all[2].clone()];
        let changes = view.sync(&mailbox(5, 2), &after, false);
        assert!(changes.expunged_seqs.is_empty());
        assert_eq!(view.len(), 4, "sequence numbers stay valid during FETCH");
        assert!(view.get(2).unwrap().expunged);
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
        assert_eq!(changes.flags_changed, [2], "message 3 is now at sequence 2");
        assert_eq!(changes.exists, Some(3));
        assert_eq!(uids(&view), [2, 3, 4]);
        assert!(view.sync(&mailbox(5, 6), &now, true).is_empty());
    }

    #[test]
    fn own_store_is_not_reported_back() {
        let all = vec![message(1, 0, 1)];
        let mut view = MailboxView::open(&mailbox(2, 1), &all, false);
        view.set_flags(1, FLAG_SEEN, &[], 2);
        let changes = view.sync(&mailbox(2, 2), &[message(1, FLAG_SEEN, 2)], true);
        assert!(changes.is_empty());
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

    proptest! {
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
        }
    }
}
