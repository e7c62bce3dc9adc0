//! SEARCH over a mailbox large enough for its search index (blocks of 1,024 UIDs): the
//! first text search indexes the full blocks, later ones read only the candidates the index
//! leaves, and every answer is what reading each message gives (RFC 3501 §6.4.4: substrings,
//! case-insensitive; NOT and OR over text keys included). A block whose messages were
//! mostly expunged loses its index, and the answers stay the same. Delivery that fills a
//! block has it indexed in the background, before any search.

use std::io::Write;

use engine::Engine;
use engine::imap::search::{SearchRequest, search};
use engine::imap::view::MailboxView;
use engine::mail::search_index::{BLOCK_UIDS, Candidates};
use engine::store::{NewAccount, NewMessage, Store};
use proto_imap::{CommandBody, EncodeOptions, Tag};
use store_redb::RedbStore;

const MESSAGES: u32 = 2_600;
/// UIDs whose text holds the string searched for.
const QUARTERLY: [u32; 3] = [5, 1_500, 2_500];

fn body(uid: u32) -> String {
    let extra = if QUARTERLY.contains(&uid) {
        "The QUARTERLY report is attached."
    } else {
        "Nothing to see here."
    };
    format!("Subject: note {uid}\r\nFrom: a@example.test\r\n\r\nordinary words {uid}. {extra}\r\n")
}

/// A store whose INBOX holds [`MESSAGES`] messages appended in one commit, without the
/// search filters delivery makes: the first search makes them.
fn inbox(dir: &tempfile::TempDir) -> (RedbStore, u64) {
    let store = RedbStore::open(dir.path()).expect("store");
    store.add_domain("example.test").expect("domain");
    let account = store
        .create_account(NewAccount {
            email: "alice@example.test".into(),
            password_hash: "x".into(),
            quota: None,
            admin: false,
        })
        .expect("account");
    let inbox = store.mailboxes(account.id).expect("mailboxes")[0].id;
    let messages = (1..=MESSAGES)
        .map(|uid| {
            let mut spool = store.create_spool().expect("spool");
            spool.write_all(body(uid).as_bytes()).expect("spooled");
            NewMessage {
                spool,
                flags: 0,
                keywords: Vec::new(),
                internal_date: 0,
            }
        })
        .collect();
    store.append_all(inbox, messages).expect("appended");
    (store, inbox)
}

/// `UID SEARCH keys` in a fresh view of the mailbox; the UIDs found.
fn uid_search(store: &RedbStore, inbox: u64, keys: &str) -> Vec<u32> {
    let mailbox = store.mailbox(inbox).expect("read").expect("INBOX");
    let mut view = MailboxView::open(&mailbox, &store.messages(inbox).expect("messages"), false);
    let line = format!("s UID SEARCH {keys}\r\n");
    let command = proto_imap::parse_command(line.as_bytes()).expect("a SEARCH");
    let CommandBody::Search { keys, .. } = &command.body else {
        panic!("not a SEARCH");
    };
    let keys: Vec<_> = keys.iter().cloned().map(|k| k.into_owned()).collect();
    let request = SearchRequest {
        uid: true,
        returns: None,
        charset: None,
        keys: &keys,
    };
    let tag = Tag::new("s").expect("tag");
    let reply = search(store, &mut view, &tag, false, &request, 0).expect("searched");
    let mut out = Vec::new();
    for data in &reply.data {
        data.encode(&mut out, EncodeOptions::default());
    }
    let text = String::from_utf8(out).expect("ASCII");
    let found = text
        .trim_end()
        .strip_prefix("* SEARCH")
        .expect("a SEARCH response");
    found
        .split_whitespace()
        .map(|n| n.parse().expect("a UID"))
        .collect()
}

/// Whether each complete block has its index.
fn indexed(store: &RedbStore, inbox: u64) -> Vec<bool> {
    let blocks = 0..MESSAGES.div_ceil(BLOCK_UIDS) - 1;
    let read = store.search_index_rows(inbox, blocks, &[]).expect("read");
    read.iter().map(Option::is_some).collect()
}

#[test]
fn the_index_answers_as_reading_every_message_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, inbox) = inbox(&dir);
    assert_eq!(indexed(&store, inbox), [false, false]);
    assert_eq!(
        uid_search(&store, inbox, "TEXT \"quarterly report\""),
        QUARTERLY
    );
    assert_eq!(
        indexed(&store, inbox),
        [true, true],
        "the full blocks, not the last"
    );

    // Read with the index now.
    assert_eq!(uid_search(&store, inbox, "BODY Quarterly"), QUARTERLY);
    assert_eq!(uid_search(&store, inbox, "TEXT \"words 1500.\""), [1_500]);
    assert_eq!(uid_search(&store, inbox, "SUBJECT \"note 2047\""), [2_047]);
    assert_eq!(
        uid_search(&store, inbox, "OR BODY quarterly SUBJECT \"note 7\""),
        [5, 7]
            .into_iter()
            .chain(70..=79)
            .chain(700..=799)
            .chain([1_500, 2_500])
            .collect::<Vec<_>>()
    );
    let not_quarterly = uid_search(&store, inbox, "NOT TEXT quarterly");
    assert_eq!(not_quarterly.len(), (MESSAGES - 3) as usize);
    assert!(not_quarterly.iter().all(|uid| !QUARTERLY.contains(uid)));
    assert_eq!(uid_search(&store, inbox, "TEXT zebra"), Vec::<u32>::new());

    // The index itself leaves few candidates for a string few messages hold.
    let command = proto_imap::parse_command(b"s SEARCH TEXT quarterly\r\n").expect("SEARCH");
    let CommandBody::Search { keys, .. } = &command.body else {
        panic!("not a SEARCH");
    };
    let rows = engine::mail::index_rows(keys);
    let read = store.search_index_rows(inbox, 0..1, &rows).expect("read");
    let candidates = Candidates::of_rows(read[0].as_deref().expect("indexed"));
    let left = (1..BLOCK_UIDS)
        .filter(|&uid| candidates.contains(uid))
        .count();
    assert!(candidates.contains(5));
    assert!(left < 50, "{left} candidates of 1,023");
}

#[test]
fn a_block_mostly_expunged_loses_its_index() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, inbox) = inbox(&dir);
    assert_eq!(uid_search(&store, inbox, "TEXT quarterly"), QUARTERLY);
    // Block 0 keeps 100 messages, fewer than an eighth of its UIDs.
    let gone: Vec<u32> = (101..BLOCK_UIDS).collect();
    store.expunge(inbox, &gone).expect("expunged");
    assert_eq!(uid_search(&store, inbox, "TEXT quarterly"), QUARTERLY);
    assert_eq!(indexed(&store, inbox), [false, true]);
    assert_eq!(uid_search(&store, inbox, "TEXT \"words 99.\""), [99]);
}

#[test]
fn delivery_that_fills_a_block_has_it_indexed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::new(RedbStore::open(dir.path()).expect("store"), "mx.test");
    engine.add_domain("example.test").expect("domain");
    engine
        .add_user("alice@example.test", "a long passphrase", None, false)
        .expect("user");
    let account = engine
        .store()
        .account("alice@example.test")
        .unwrap()
        .unwrap();
    let inbox = engine.store().mailboxes(account.id).unwrap()[0].id;
    for uid in 1..BLOCK_UIDS {
        let message = body(uid);
        let reply = testkit::mx::deliver(
            &engine,
            "a@example.test",
            &account.email,
            message.as_bytes(),
        );
        assert_eq!(reply.code, 250, "{reply:?}");
    }
    let probe = || engine.store().search_index_rows(inbox, 0..1, &[]).unwrap();
    assert_eq!(probe(), [None], "not indexed while delivering");
    // What the background task does when the last delivery wakes it.
    engine.index_filled_blocks();
    assert_eq!(probe(), [Some(Vec::new())]);
    assert_eq!(uid_search(engine.store(), inbox, "TEXT quarterly"), [5]);
}
