//! SORT and THREAD over small mailboxes.

use std::num::NonZeroU32;

use proptest::collection::vec;
use proptest::prelude::*;
use proto_imap::{Data, EncodeOptions, Response, SortCriterion, SortKey, Thread, ThreadAlgorithm};

use super::crlf;
use crate::mail::{Entry, Summary, sort, thread};

/// A mailbox: message `n` (1-based) is the `n`th summary, arrived `n` hours after the epoch
/// and `100 - n` octets long.
struct Mailbox(Vec<Summary>);

impl Mailbox {
    fn new(headers: &[&str]) -> Self {
        Mailbox(
            headers
                .iter()
                .map(|h| Summary::derive(&crlf(&format!("{h}\n\nbody\n"))))
                .collect(),
        )
    }

    fn entries(&self) -> Vec<Entry<'_>> {
        (1u32..)
            .zip(&self.0)
            .filter_map(|(n, summary)| {
                Some(Entry {
                    id: NonZeroU32::new(n)?,
                    summary,
                    internal_date: i64::from(n) * 3600,
                    size: u64::from(100 - n),
                })
            })
            .collect()
    }

    fn sort(&self, criteria: &[(bool, SortKey)]) -> Vec<u32> {
        let criteria: Vec<SortCriterion> = criteria
            .iter()
            .map(|&(reverse, key)| SortCriterion { reverse, key })
            .collect();
        sort(&self.entries(), &criteria)
            .iter()
            .map(|n| n.get())
            .collect()
    }

    /// The THREAD response as the client sees it.
    fn thread(&self, algorithm: ThreadAlgorithm) -> String {
        let mut out = Vec::new();
        Response::Untagged(Data::Thread(thread(&self.entries(), algorithm)))
            .encode(&mut out, EncodeOptions::default());
        String::from_utf8_lossy(&out).trim_end().to_string()
    }
}

#[test]
fn sort_by_each_key() {
    let mailbox = Mailbox::new(&[
        "Subject: Re: beta\nFrom: Zed <zed@example.org>\nTo: b@x\nDate: Thu, 03 Apr 2025 10:00:00 +0000",
        "Subject: alpha\nFrom: =?utf-8?q?Zo=C3=AB?= <ann@example.org>\nTo: a@x\nCc: c@x\nDate: Tue, 01 Apr 2025 10:00:00 +0000",
        "Subject: [list] BETA\nFrom: mia@example.org\nTo: Cy <c@x>\nDate: Wed, 02 Apr 2025 10:00:00 +0200",
        "Subject: gamma (fwd)\nFrom: bob@example.org",
    ]);
    use SortKey::*;
    assert_eq!(mailbox.sort(&[(false, Subject)]), [2, 1, 3, 4]);
    assert_eq!(mailbox.sort(&[(true, Subject)]), [4, 1, 3, 2]);
    // Message 4 has no Date: its internal date (4 h after the epoch) stands in.
    assert_eq!(mailbox.sort(&[(false, Date)]), [4, 2, 3, 1]);
    assert_eq!(mailbox.sort(&[(false, Arrival)]), [1, 2, 3, 4]);
    assert_eq!(mailbox.sort(&[(false, Size)]), [4, 3, 2, 1]);
    assert_eq!(mailbox.sort(&[(false, From)]), [2, 4, 3, 1]);
    assert_eq!(mailbox.sort(&[(false, To)]), [4, 2, 1, 3]);
    assert_eq!(mailbox.sort(&[(false, Cc)]), [1, 3, 4, 2]);
    // DISPLAYFROM: decoded names, else addresses: bob@, mia@, Zed, Zoë.
    assert_eq!(mailbox.sort(&[(false, DisplayFrom)]), [4, 3, 1, 2]);
    assert_eq!(mailbox.sort(&[(false, DisplayTo)]), [4, 2, 1, 3]);
    // Ties keep mailbox order whatever REVERSE says; later keys break them.
    assert_eq!(mailbox.sort(&[(true, Cc)]), [2, 1, 3, 4]);
    assert_eq!(
        mailbox.sort(&[(false, Subject), (true, Arrival)]),
        [2, 3, 1, 4]
    );
}

#[test]
fn ordered_subject() {
    let mailbox = Mailbox::new(&[
        "Subject: A\nDate: Tue, 01 Apr 2025 10:00:00 +0000",
        "Subject: Re: A\nDate: Thu, 03 Apr 2025 10:00:00 +0000",
        "Subject: B\nDate: Wed, 02 Apr 2025 10:00:00 +0000",
        "Subject: re: a\nDate: Fri, 04 Apr 2025 10:00:00 +0000",
        "Subject: b\nDate: Mon, 31 Mar 2025 10:00:00 +0000",
        "Subject: A\nDate: Fri, 04 Apr 2025 09:00:00 +0000",
    ]);
    assert_eq!(
        mailbox.thread(ThreadAlgorithm::OrderedSubject),
        "* THREAD (5 3)(1 (2)(6)(4))"
    );
}

#[test]
fn references_links_replies_under_their_parents() {
    let mailbox = Mailbox::new(&[
        "Message-ID: <1@x>\nSubject: topic\nDate: Tue, 01 Apr 2025 10:00:00 +0000",
        "Message-ID: <2@x>\nReferences: <1@x>\nSubject: Re: topic\nDate: Tue, 01 Apr 2025 11:00:00 +0000",
        "Message-ID: <3@x>\nReferences: <1@x> <2@x>\nSubject: Re: topic\nDate: Tue, 01 Apr 2025 12:00:00 +0000",
        // In-Reply-To stands in for a missing References.
        "Message-ID: <4@x>\nIn-Reply-To: <1@x>\nSubject: Re: topic\nDate: Tue, 01 Apr 2025 11:30:00 +0000",
        // The replies arrived before their parent: order is by sent date.
        "Message-ID: <5@x>\nReferences: <6@x>\nSubject: other\nDate: Mon, 31 Mar 2025 12:00:00 +0000",
        "Message-ID: <6@x>\nSubject: other\nDate: Mon, 31 Mar 2025 11:00:00 +0000",
    ]);
    assert_eq!(
        mailbox.thread(ThreadAlgorithm::References),
        "* THREAD (6 5)(1 (2 3)(4))"
    );
}

#[test]
fn references_dummies_are_pruned() {
    let mailbox = Mailbox::new(&[
        // Two replies to a message we do not have: a dummy root keeps them together.
        "Message-ID: <1@x>\nReferences: <gone@x>\nSubject: one\nDate: Tue, 01 Apr 2025 10:00:00 +0000",
        "Message-ID: <2@x>\nReferences: <gone@x>\nSubject: two\nDate: Tue, 01 Apr 2025 09:00:00 +0000",
        // One reply to a missing message, under a missing grandparent: promoted to the root.
        "Message-ID: <3@x>\nReferences: <lost1@x> <lost2@x>\nSubject: three\nDate: Wed, 02 Apr 2025 10:00:00 +0000",
        // A reply to a missing message in a thread: the dummy between goes.
        "Message-ID: <4@x>\nSubject: four\nDate: Thu, 03 Apr 2025 10:00:00 +0000",
        "Message-ID: <5@x>\nReferences: <4@x> <missing@x>\nSubject: five\nDate: Thu, 03 Apr 2025 11:00:00 +0000",
    ]);
    assert_eq!(
        mailbox.thread(ThreadAlgorithm::References),
        "* THREAD ((2)(1))(3)(4 5)"
    );
}

#[test]
fn references_merges_threads_by_subject() {
    let mailbox = Mailbox::new(&[
        "Message-ID: <1@x>\nSubject: Plans\nDate: Tue, 01 Apr 2025 10:00:00 +0000",
        // A reply without references joins the original below it.
        "Message-ID: <2@x>\nSubject: Re: plans\nDate: Tue, 01 Apr 2025 11:00:00 +0000",
        // Two originals with the same subject go under a new dummy.
        "Message-ID: <3@x>\nSubject: Status\nDate: Wed, 02 Apr 2025 10:00:00 +0000",
        "Message-ID: <4@x>\nSubject: [team] status\nDate: Wed, 02 Apr 2025 11:00:00 +0000",
        // A reply first in date order still goes below the original.
        "Message-ID: <5@x>\nSubject: Re: Lunch\nDate: Thu, 03 Apr 2025 09:00:00 +0000",
        "Message-ID: <6@x>\nSubject: Lunch\nDate: Thu, 03 Apr 2025 10:00:00 +0000",
        // Empty subjects are never merged.
        "Message-ID: <7@x>\nDate: Fri, 04 Apr 2025 10:00:00 +0000",
        "Message-ID: <8@x>\nSubject: \nDate: Fri, 04 Apr 2025 11:00:00 +0000",
    ]);
    assert_eq!(
        mailbox.thread(ThreadAlgorithm::References),
        "* THREAD (1 2)((3)(4))(6 5)(7)(8)"
    );
}

#[test]
fn references_survive_duplicates_loops_and_missing_ids() {
    let mailbox = Mailbox::new(&[
        "Message-ID: <a@x>\nReferences: <b@x>\nSubject: s1\nDate: Tue, 01 Apr 2025 10:00:00 +0000",
        "Message-ID: <b@x>\nReferences: <a@x>\nSubject: s2\nDate: Tue, 01 Apr 2025 11:00:00 +0000",
        // The same Message-ID again: a message of its own.
        "Message-ID: <a@x>\nSubject: s3\nDate: Tue, 01 Apr 2025 12:00:00 +0000",
        "Subject: s4\nDate: Tue, 01 Apr 2025 13:00:00 +0000",
        "Message-ID: <self@x>\nReferences: <self@x>\nSubject: s5\nDate: Tue, 01 Apr 2025 14:00:00 +0000",
    ]);
    // <a> is made a child of <b> first; <b> then cannot become a child of <a>.
    assert_eq!(
        mailbox.thread(ThreadAlgorithm::References),
        "* THREAD (2 1)(3)(4)(5)"
    );
}

#[test]
fn empty_mailbox() {
    let mailbox = Mailbox::new(&[]);
    assert_eq!(mailbox.thread(ThreadAlgorithm::References), "* THREAD");
    assert!(mailbox.sort(&[(false, SortKey::Date)]).is_empty());
}

/// Every id in a thread forest, in output order.
fn ids(threads: &[Thread], out: &mut Vec<u32>) {
    for thread in threads {
        out.extend(thread.messages.iter().map(|n| n.get()));
        ids(&thread.children, out);
    }
}

/// Chains are flattened into `messages` and only a dummy root has no message of its own,
/// with two or more branches (RFC 5256 pruning).
fn canonical(threads: &[Thread]) -> bool {
    threads.iter().all(|t| {
        t.children.len() != 1
            && (!t.messages.is_empty() || t.children.len() >= 2)
            && t.children.iter().all(|c| !c.messages.is_empty())
            && canonical(&t.children)
    })
}

prop_compose! {
    /// A summary whose IDs, references and subjects come from tiny alphabets, so that
    /// duplicates, loops, self-references and subject merges are common.
    fn tangled()(
        message_id in proptest::option::of("[a-e]"),
        references in vec("[a-f]", 0..4),
        subject in "(Re: )?[xy]?",
        sent in proptest::option::of(0i64..5),
    ) -> Summary {
        let mut summary = Summary::derive(format!("Subject: {subject}\r\n\r\n").as_bytes());
        summary.thread.message_id = message_id;
        summary.thread.references = references;
        summary.sort.sent = sent.map(|unix| crate::mail::SentDate { unix, offset_seconds: 0 });
        summary
    }
}

proptest! {
    #[test]
    fn threads_hold_every_message_once(summaries in vec(tangled(), 0..12)) {
        let mailbox = Mailbox(summaries);
        for algorithm in [ThreadAlgorithm::References, ThreadAlgorithm::OrderedSubject] {
            let threads = thread(&mailbox.entries(), algorithm);
            prop_assert!(canonical(&threads), "{:?}", threads);
            let mut seen = Vec::new();
            ids(&threads, &mut seen);
            seen.sort_unstable();
            let all: Vec<u32> = (1..=mailbox.0.len() as u32).collect();
            prop_assert_eq!(seen, all);
        }
    }
}
