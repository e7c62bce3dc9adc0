//! IMAP against a real store, where a script cannot reach. FETCH and SEARCH: a message expunged
//! by another session while they are under way (RFC 2180 §4.1: what still exists is served,
//! the rest is reported as expunged, and nothing the store uses inside, body hashes or ids,
//! reaches the client), and the items of a message too large for one response streamed from
//! storage, BINARY decoded as it goes. Push: what one woken session read of new mail, taken
//! by the others woken with it.

use std::io::Write;

use engine::imap::fetch::{FetchCursor, FetchRequest, read_message};
use engine::imap::mailboxes::Names;
use engine::imap::selected::Client;
use engine::imap::view::MailboxView;
use engine::store::{Message, Store};
use proto_imap::{CommandBody, EncodeOptions};
use store_redb::RedbStore;

/// A store with one account whose INBOX holds `bodies`; the account and its INBOX.
fn inbox_with(dir: &tempfile::TempDir, bodies: &[String]) -> (RedbStore, Client, u64) {
    let store = RedbStore::open(dir.path()).expect("store");
    store.add_domain("example.test").expect("domain");
    let account = store
        .create_account(engine::store::NewAccount {
            email: "alice@example.test".into(),
            password_hash: "x".into(),
            quota: None,
            admin: false,
        })
        .expect("account");
    let inbox = store
        .mailboxes(account.id)
        .expect("mailboxes")
        .into_iter()
        .find(|m| m.name == "INBOX")
        .expect("INBOX");
    for body in bodies {
        let mut spool = store.create_spool().expect("spool");
        spool.write_all(body.as_bytes()).expect("spooled");
        store.append(spool, inbox.id, 0, &[], 0).expect("appended");
    }
    let client = Client {
        account: account.id,
        names: Names { utf8: false },
        condstore: false,
        qresync: false,
        rev2: false,
    };
    (store, client, inbox.id)
}

/// The messages of `inbox` and a session's view of them.
fn selected(store: &RedbStore, inbox: u64) -> (Vec<Message>, MailboxView) {
    let mailbox = store.mailbox(inbox).expect("read").expect("INBOX");
    let messages = store.messages(inbox).expect("messages");
    let view = MailboxView::open(&mailbox, &messages, false);
    (messages, view)
}

fn fetch_request(line: &str) -> FetchRequest {
    let command = proto_imap::parse_command(line.as_bytes()).expect("a FETCH");
    let CommandBody::Fetch {
        uid,
        set,
        attrs,
        modifiers,
    } = command.body
    else {
        panic!("not a FETCH: {line}");
    };
    FetchRequest {
        uid,
        set,
        attrs: attrs.into_owned(),
        modifiers,
        options: EncodeOptions::default(),
    }
}

/// Runs a FETCH to its end; the output and the completion.
fn run_fetch(
    store: &RedbStore,
    client: Client,
    view: &MailboxView,
    mut cursor: FetchCursor<<RedbStore as Store>::BlobReader>,
) -> (Vec<u8>, engine::imap::reply::Reply) {
    let mut out = Vec::new();
    while let Some(chunk) = cursor
        .next_chunk(store, client, view)
        .expect("no storage error")
    {
        out.extend_from_slice(&chunk);
    }
    (out, cursor.finish())
}

fn hex(message: &Message) -> String {
    message.blob.0.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn fetch_serves_what_is_left_when_a_body_goes_away_under_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    // One small body kept in the database, one large enough to live in a file.
    let bodies = [
        "Subject: small\r\n\r\nsmall\r\n".to_owned(),
        format!("Subject: large\r\n\r\n{}\r\n", "x".repeat(100_000)),
        "Subject: kept\r\n\r\nkept\r\n".to_owned(),
    ];
    let (store, client, inbox) = inbox_with(&dir, &bodies);
    let (messages, mut view) = selected(&store, inbox);

    let cursor = FetchCursor::start(
        &store,
        &mut view,
        fetch_request("a FETCH 1:3 (BODY.PEEK[] ENVELOPE)\r\n"),
    )
    .expect("started");
    // Another session expunges the first two; their bodies are released.
    store.expunge(inbox, &[1, 2]).expect("expunged");
    assert!(read_message(&store, &messages[0]).is_err(), "body released");

    let (out, reply) = run_fetch(&store, client, &view, cursor);
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("Subject: kept"), "{text}");
    assert!(!text.contains("Subject: small") && !text.contains("Subject: large"));
    assert_eq!(
        reply.code,
        Some(proto_imap::Code::Plain(
            proto_imap::PlainCode::ExpungeIssued
        ))
    );
    for message in &messages {
        assert!(!text.contains(&hex(message)) && !reply.text.contains(&hex(message)));
    }
}

/// SEARCH numbers by the session's view, which still holds the expunged message until the
/// session may be told: it does not match, and the others keep their numbers.
#[test]
fn search_skips_a_message_expunged_elsewhere() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bodies = [
        "Subject: one\r\n\r\nfind me\r\n".to_owned(),
        "Subject: two\r\n\r\nfind me\r\n".to_owned(),
    ];
    let (store, _client, inbox) = inbox_with(&dir, &bodies);
    let (_, mut view) = selected(&store, inbox);
    // Gone from the store, still in the view: the session has not been told yet.
    store.expunge(inbox, &[1]).expect("expunged");
    let command = proto_imap::parse_command(b"s SEARCH BODY \"find me\"\r\n").expect("SEARCH");
    let CommandBody::Search { keys, .. } = &command.body else {
        panic!("not a SEARCH");
    };
    let keys: Vec<_> = keys.iter().cloned().map(|k| k.into_owned()).collect();
    let request = engine::imap::search::SearchRequest {
        uid: false,
        returns: None,
        charset: None,
        keys: &keys,
    };
    let tag = proto_imap::Tag::new("s").expect("tag");
    let reply = engine::imap::search::search(&store, &mut view, &tag, false, &request, 0)
        .expect("no storage error");
    let data: Vec<String> = reply
        .data
        .iter()
        .map(|d| {
            let mut out = Vec::new();
            d.encode(&mut out, EncodeOptions::default());
            String::from_utf8_lossy(&out).into_owned()
        })
        .collect();
    assert_eq!(data, ["* SEARCH 2\r\n"]);
}

/// A body streamed whole (BODY[] of a message over a MiB) goes out in a `{n}` literal, so a
/// NUL in it is sent as 0x80 (RFC 3501 §9), as in the responses built whole.
#[test]
fn a_streamed_body_carries_no_nul() {
    let dir = tempfile::tempdir().expect("temp dir");
    let line = format!("{}\0{}\r\n", "a".repeat(500), "b".repeat(500));
    let body = format!("Subject: large\r\n\r\n{}", line.repeat(2_000));
    let (store, client, inbox) = inbox_with(&dir, std::slice::from_ref(&body));
    let (_, mut view) = selected(&store, inbox);
    let cursor = FetchCursor::start(
        &store,
        &mut view,
        fetch_request("a FETCH 1 BODY.PEEK[]\r\n"),
    )
    .expect("started");
    let (out, reply) = run_fetch(&store, client, &view, cursor);
    assert_eq!(reply.code, None, "{}", reply.text);
    let header = format!("* 1 FETCH (BODY[] {{{}}}\r\n", body.len());
    assert!(out.starts_with(header.as_bytes()));
    let sent = &out[header.len()..header.len() + body.len()];
    assert!(!sent.contains(&0));
    let expected: Vec<u8> = body
        .bytes()
        .map(|b| if b == 0 { 0x80 } else { b })
        .collect();
    assert_eq!(sent, &expected[..]);
    assert_eq!(&out[header.len() + body.len()..], b")\r\n");
}

/// A FETCH that reads bodies without PEEK sets `\Seen` on all its messages in one write, one
/// fsync however many there are, and reports the new flags with each.
#[test]
fn fetch_sets_seen_on_every_message_in_one_commit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bodies: Vec<String> = (1..=20)
        .map(|n| format!("Subject: {n}\r\n\r\nbody {n}\r\n"))
        .collect();
    let (store, client, inbox) = inbox_with(&dir, &bodies);
    let (_, mut view) = selected(&store, inbox);
    // The first FETCH derives and keeps each message's summary (writes without an fsync).
    let peek = fetch_request("a FETCH 1:* BODY.PEEK[TEXT]\r\n");
    let cursor = FetchCursor::start(&store, &mut view, peek).expect("started");
    run_fetch(&store, client, &view, cursor);
    let commits = store.commit_count();
    let read = fetch_request("a FETCH 1:* BODY[TEXT]\r\n");
    let cursor = FetchCursor::start(&store, &mut view, read).expect("started");
    let (out, reply) = run_fetch(&store, client, &view, cursor);
    assert_eq!(reply.code, None, "{}", reply.text);
    assert_eq!(
        store.commit_count() - commits,
        1,
        "one write for 20 messages"
    );
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text.matches("FLAGS (\\Seen)").count(), 20, "{text}");
    let seen = store.messages(inbox).expect("messages");
    assert!(seen.iter().all(|m| m.flags & engine::store::FLAG_SEEN != 0));
}

/// A large part, or a large piece of a message's text, is streamed from storage (not read
/// whole into memory): what arrives is exactly the section, under the section's name.
#[test]
fn large_sections_are_streamed_exactly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let line = format!("{}\r\n", "y".repeat(78));
    let body = format!(
        "From: a@example.org\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nsmall\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
         {}\r\n--b--\r\n",
        line.repeat(20_000)
    );
    let (store, client, inbox) = inbox_with(&dir, std::slice::from_ref(&body));
    let (_, mut view) = selected(&store, inbox);
    let bytes = body.as_bytes();
    let summary = engine::mail::Summary::derive(bytes);
    let request = "a FETCH 1 (BODY.PEEK[2] BODY.PEEK[1] BODY.PEEK[TEXT]<100.1200000>)\r\n";
    let cursor = FetchCursor::start(&store, &mut view, fetch_request(request)).expect("started");
    let (out, reply) = run_fetch(&store, client, &view, cursor);
    assert_eq!(reply.code, None, "{}", reply.text);
    // Each is streamed, one after the other in the same response.
    for (label, item) in [
        ("BODY[2]", "BODY.PEEK[2]"),
        ("BODY[TEXT]<100>", "BODY.PEEK[TEXT]<100.1200000>"),
    ] {
        let line = format!("a FETCH 1 {item}\r\n");
        let command = proto_imap::parse_command(line.as_bytes()).expect("FETCH");
        let CommandBody::Fetch { attrs, .. } = command.body else {
            panic!("not a FETCH");
        };
        let attrs = attrs.into_owned().expand().into_owned();
        let proto_imap::FetchAttr::BodySection {
            section, partial, ..
        } = &attrs[0]
        else {
            panic!("not a section");
        };
        let expected = engine::mail::body_section(bytes, &summary, section.as_ref(), *partial);
        let expected = expected.bytes(bytes);
        assert!(expected.len() > 1024 * 1024, "{label} is large");
        let header = format!("{label} {{{}}}\r\n", expected.len());
        let at = out
            .windows(header.len())
            .position(|w| w == header.as_bytes())
            .unwrap_or_else(|| panic!("{label} not found"));
        let sent = &out[at + header.len()..at + header.len() + expected.len()];
        assert!(sent == expected, "{label} differs");
    }
}

/// One item of a FETCH response: its name and its value (a literal's octets, or the atom).
fn items_of(response: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut rest = response
        .strip_prefix(b"* 1 FETCH (")
        .expect("one FETCH response");
    let mut items = Vec::new();
    // A name ends at the first space outside its brackets (`HEADER.FIELDS (A B)`).
    let name_end = |rest: &[u8]| {
        let mut depth = 0i32;
        rest.iter().position(|&b| {
            depth += i32::from(b == b'[') - i32::from(b == b']');
            b == b' ' && depth == 0
        })
    };
    while let Some(space) = name_end(rest) {
        let name = String::from_utf8_lossy(&rest[..space]).into_owned();
        rest = &rest[space + 1..];
        let literal = rest.strip_prefix(b"~").unwrap_or(rest);
        let value = match literal.strip_prefix(b"{") {
            Some(after) => {
                let close = after.iter().position(|&b| b == b'}').expect("}");
                let len: usize = std::str::from_utf8(&after[..close])
                    .unwrap()
                    .parse()
                    .unwrap();
                let start = close + 3; // "}\r\n"
                rest = &after[start + len..];
                after[start..start + len].to_vec()
            }
            None => {
                let end = rest
                    .iter()
                    .position(|&b| b == b' ' || b == b')')
                    .expect("end");
                let value = rest[..end].to_vec();
                rest = &rest[end..];
                value
            }
        };
        items.push((name, value));
        rest = rest.strip_prefix(b" ").unwrap_or(rest);
    }
    assert_eq!(rest, b")\r\n", "the response ends");
    items
}

/// Every content item of a message over a MiB is streamed from storage, several in one
/// response, decoded BINARY of a base64 or quoted-printable part among them, and BINARY.SIZE
/// counted without the part in memory: each answers exactly what the same item answers for
/// the message read whole.
#[test]
fn every_item_of_a_large_message_answers_as_read_whole() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let attachment: Vec<u8> = (0..1_200_000u32).map(|n| (n * 7 % 251) as u8).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&attachment);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let quoted = "caf=C3=A9 and a soft =\r\nbreak, trailing  \r\n".repeat(30_000);
    let body = format!(
        "From: a@example.org\r\nSubject: large\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nsmall\r\n\
         --b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {}\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
         {quoted}\r\n\
         --b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nX-Extra: 1\r\n\r\ninner body\r\n\
         --b--\r\n",
        lines.join("\r\n")
    );
    let (store, client, inbox) = inbox_with(&dir, std::slice::from_ref(&body));
    let (_, mut view) = selected(&store, inbox);
    let bytes = body.as_bytes();
    let summary = engine::mail::Summary::derive(bytes);

    let asked = [
        ("BODY.PEEK[]", "BODY[]"),
        ("BODY.PEEK[TEXT]", "BODY[TEXT]"),
        ("BINARY.PEEK[2]", "BINARY[2]"),
        ("BINARY.SIZE[2]", "BINARY.SIZE[2]"),
        ("BINARY.PEEK[2]<1000.5000>", "BINARY[2]<1000>"),
        ("BINARY.PEEK[3]", "BINARY[3]"),
        ("BINARY.SIZE[3]", "BINARY.SIZE[3]"),
        ("BINARY.PEEK[3]<7.30>", "BINARY[3]<7>"),
        ("BINARY.PEEK[1]", "BINARY[1]"),
        ("BINARY.PEEK[9]", "BINARY[9]"),
        ("BODY.PEEK[2]<0.100>", "BODY[2]<0>"),
        ("BODY.PEEK[2.MIME]", "BODY[2.MIME]"),
        (
            "BODY.PEEK[HEADER.FIELDS (SUBJECT)]",
            "BODY[HEADER.FIELDS (SUBJECT)]",
        ),
        (
            "BODY.PEEK[4.HEADER.FIELDS.NOT (SUBJECT)]",
            "BODY[4.HEADER.FIELDS.NOT (SUBJECT)]",
        ),
        ("BODY.PEEK[4.TEXT]", "BODY[4.TEXT]"),
        ("RFC822.HEADER", "RFC822.HEADER"),
    ];
    let list: Vec<&str> = asked.iter().map(|(item, _)| *item).collect();
    let request = format!("a FETCH 1 ({})\r\n", list.join(" "));
    let cursor = FetchCursor::start(&store, &mut view, fetch_request(&request)).expect("started");
    let (out, reply) = run_fetch(&store, client, &view, cursor);
    assert_eq!(reply.code, None, "{}", reply.text);
    let sent = items_of(&out);
    assert_eq!(sent.len(), asked.len(), "one answer per item");

    for (item, label) in asked {
        let line = format!("a FETCH 1 {item}\r\n");
        let command = proto_imap::parse_command(line.as_bytes()).expect("FETCH");
        let CommandBody::Fetch { attrs, .. } = command.body else {
            panic!("not a FETCH");
        };
        let attrs = attrs.into_owned().expand().into_owned();
        let expected: Vec<u8> = match &attrs[0] {
            proto_imap::FetchAttr::BodySection {
                section, partial, ..
            } => engine::mail::body_section(bytes, &summary, section.as_ref(), *partial)
                .bytes(bytes)
                .to_vec(),
            proto_imap::FetchAttr::Rfc822Header => {
                let header = proto_imap::Section::Header(None);
                engine::mail::body_section(bytes, &summary, Some(&header), None)
                    .bytes(bytes)
                    .to_vec()
            }
            proto_imap::FetchAttr::Binary { part, partial, .. } => {
                engine::mail::binary_section(bytes, &summary, part, *partial)
                    .expect("decodes")
                    .bytes(bytes)
                    .to_vec()
            }
            proto_imap::FetchAttr::BinarySize { part } => {
                let size = engine::mail::binary_size(bytes, &summary, part).expect("decodes");
                size.to_string().into_bytes()
            }
            other => panic!("not asked: {other:?}"),
        };
        let (_, value) = sent
            .iter()
            .find(|(name, _)| name == label)
            .unwrap_or_else(|| panic!("{label} not in the response"));
        assert!(
            value == &expected,
            "{label}: {} octets sent, {} expected",
            value.len(),
            expected.len()
        );
    }
    let binary = &sent.iter().find(|(name, _)| name == "BINARY[2]").unwrap().1;
    assert_eq!(binary, &attachment, "the attachment, decoded");
}

/// A large part in an encoding nobody knows: its BINARY is `NO [UNKNOWN-CTE]` (RFC 3516),
/// and what else was asked is still sent.
#[test]
fn a_large_part_that_cannot_be_decoded_is_unknown_cte() {
    let dir = tempfile::tempdir().expect("temp dir");
    let body = format!(
        "Subject: odd\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
         --b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n\
         {}\r\n--b--\r\n",
        "begin 644 f\r\n".repeat(100_000)
    );
    let (store, client, inbox) = inbox_with(&dir, std::slice::from_ref(&body));
    let (_, mut view) = selected(&store, inbox);
    let request = "a FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1] RFC822.SIZE)\r\n";
    let cursor = FetchCursor::start(&store, &mut view, fetch_request(request)).expect("started");
    let (out, reply) = run_fetch(&store, client, &view, cursor);
    assert_eq!(
        reply.code,
        Some(proto_imap::Code::Plain(proto_imap::PlainCode::UnknownCte))
    );
    assert_eq!(
        String::from_utf8_lossy(&out),
        format!("* 1 FETCH (RFC822.SIZE {})\r\n", body.len())
    );
}

/// Updates encoded as the client reads them.
fn wire(updates: engine::imap::selected::Updates) -> String {
    let mut out = Vec::new();
    for data in updates.into_data() {
        data.encode(&mut out, EncodeOptions::default());
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// New mail wakes every session idling on the mailbox; the first reads what arrived and
/// claims `\Recent` for it, and the others, whose views stood where its did, take what it
/// read: each tells its client exactly what reading the store itself would have told it,
/// and is left in the same state.
#[test]
fn sessions_woken_together_take_what_the_first_read() {
    use engine::imap::selected::{updates, updates_from, updates_read};
    let dir = tempfile::tempdir().expect("temp dir");
    let bodies: Vec<String> = (1..=3)
        .map(|n| format!("Subject: {n}\r\n\r\n{n}\r\n"))
        .collect();
    let (store, rev1, inbox) = inbox_with(&dir, &bodies);
    let rev2 = Client { rev2: true, ..rev1 };
    let view = || selected(&store, inbox).1;
    let (mut reader, mut taker, mut own_read) = (view(), view(), view());
    let mut spool = store.create_spool().expect("spool");
    spool
        .write_all(b"Subject: new\r\n\r\nnew\r\n")
        .expect("spooled");
    store
        .append(spool, inbox, 0, &["$Label".to_owned()], 0)
        .expect("appended");

    let (told, arrivals) = updates_read(&store, rev1, &mut reader, true).expect("read");
    let arrivals = arrivals.expect("only mail arrived: shared");
    assert!(arrivals.recent_claimed);
    assert_eq!(
        wire(told),
        "* 4 EXISTS\r\n* 1 RECENT\r\n* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label)\r\n* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label \\*)] Flags permitted\r\n"
    );

    let taken = updates_from(rev1, &mut taker, &arrivals, true).expect("taken");
    let read = updates(&store, rev1, &mut own_read, true).expect("read");
    assert_eq!(wire(taken), wire(read));
    assert_eq!(
        format!("{taker:?}"),
        format!("{own_read:?}"),
        "the same view after"
    );
    assert!(!taker.is_recent(4), "one session holds \\Recent: the first");

    // A view that did not stand there (it is up to date now) takes nothing.
    assert!(updates_from(rev1, &mut taker, &arrivals, true).is_none());

    // Read by an IMAP4rev2 session, nothing was claimed: an IMAP4rev1 session must claim
    // for itself, and an IMAP4rev2 one may take it.
    let (mut rev2_reader, mut rev1_taker, mut rev2_taker, mut rev2_own) =
        (view(), view(), view(), view());
    let mut spool = store.create_spool().expect("spool");
    spool
        .write_all(b"Subject: newer\r\n\r\nnewer\r\n")
        .expect("spooled");
    store.append(spool, inbox, 0, &[], 0).expect("appended");
    let (_, arrivals) = updates_read(&store, rev2, &mut rev2_reader, true).expect("read");
    let arrivals = arrivals.expect("shared");
    assert!(!arrivals.recent_claimed);
    assert!(updates_from(rev1, &mut rev1_taker, &arrivals, true).is_none());
    let taken = updates_from(rev2, &mut rev2_taker, &arrivals, true).expect("taken");
    let read = updates(&store, rev2, &mut rev2_own, true).expect("read");
    assert_eq!(wire(taken), "* 5 EXISTS\r\n");
    assert_eq!(wire(read), "* 5 EXISTS\r\n");
}
