//! Parsing of every command form, awkward cases included, and the `BAD`
//! responses for malformed ones.

use std::borrow::Cow;
use std::num::{NonZeroU32, NonZeroU64};

use proto_imap::*;

fn parse(line: &[u8]) -> CommandBody<'_> {
    match parse_command(line) {
        Ok(command) => command.body,
        Err(rejected) => panic!("{:?}: {}", String::from_utf8_lossy(line), rejected.error),
    }
}

/// The response line a malformed command earns.
fn refusal(line: &[u8]) -> String {
    let rejected = parse_command(line).expect_err("should be refused");
    let mut out = Vec::new();
    rejected
        .response()
        .encode(&mut out, EncodeOptions::default());
    String::from_utf8(out).unwrap()
}

fn b(s: &str) -> Cow<'_, [u8]> {
    Cow::Borrowed(s.as_bytes())
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

/// A sequence set, by way of the parser.
fn set(s: &str) -> SequenceSet {
    let line = format!("t UID EXPUNGE {s}\r\n");
    match parse(line.as_bytes()) {
        CommandBody::UidExpunge(set) => set,
        other => panic!("{other:?}"),
    }
}

fn atom(s: &str) -> Atom<'_> {
    Atom::new(s).unwrap()
}

#[test]
fn simple_commands_any_case() {
    assert_eq!(parse(b"a capability\r\n"), CommandBody::Capability);
    assert_eq!(parse(b"a NOOP\r\n"), CommandBody::Noop);
    assert_eq!(parse(b"a Logout\n"), CommandBody::Logout);
    assert_eq!(parse(b"a STARTTLS\r\n"), CommandBody::StartTls);
    assert_eq!(parse(b"a NAMESPACE\r\n"), CommandBody::Namespace);
    assert_eq!(parse(b"a IDLE\r\n"), CommandBody::Idle);
    assert_eq!(parse(b"a CHECK\r\n"), CommandBody::Check);
    assert_eq!(parse(b"a CLOSE\r\n"), CommandBody::Close);
    assert_eq!(parse(b"a UNSELECT\r\n"), CommandBody::Unselect);
    assert_eq!(parse(b"a EXPUNGE\r\n"), CommandBody::Expunge);
    let expected = SeqRanges::new(vec![
        SeqRange {
            from: SeqNum::Value(nz(1)),
            to: SeqNum::Value(nz(5)),
        },
        SeqRange::single(SeqNum::Largest),
    ])
    .unwrap();
    assert_eq!(
        parse(b"a uid expunge 1:5,*\r\n"),
        CommandBody::UidExpunge(SequenceSet::Ranges(expected))
    );
    assert_eq!(
        refusal(b"a UID EXPUNGE 1,$\r\n"),
        "a BAD Syntax error in UID EXPUNGE arguments\r\n"
    );
    let command = parse_command(b"A.0]1 NOOP\r\n").unwrap();
    assert_eq!(command.tag.as_str(), "A.0]1");
}

#[test]
fn authenticate_with_and_without_initial_response() {
    assert_eq!(
        parse(b"a AUTHENTICATE PLAIN\r\n"),
        CommandBody::Authenticate {
            mechanism: atom("PLAIN"),
            initial: None
        }
    );
    assert_eq!(
        parse(b"a AUTHENTICATE PLAIN AGEAYg==\r\n"),
        CommandBody::Authenticate {
            mechanism: atom("PLAIN"),
            initial: Some(b"\0a\0b".to_vec())
        }
    );
    assert_eq!(
        parse(b"a AUTHENTICATE EXTERNAL =\r\n"),
        CommandBody::Authenticate {
            mechanism: atom("EXTERNAL"),
            initial: Some(Vec::new())
        }
    );
    assert_eq!(
        refusal(b"a AUTHENTICATE PLAIN AGE*\r\n"),
        "a BAD Syntax error in AUTHENTICATE arguments\r\n"
    );
}

#[test]
fn login_with_atoms_quoted_and_literal_in_the_middle() {
    assert_eq!(
        parse(b"a LOGIN alice \"p a\\\"ss\"\r\n"),
        CommandBody::Login {
            username: b("alice"),
            password: Cow::Owned(b"p a\"ss".to_vec())
        }
    );
    assert_eq!(
        parse(b"a LOGIN {5}\r\nalice {3+}\r\n\r\n \r\n"),
        CommandBody::Login {
            username: b("alice"),
            password: b("\r\n ")
        }
    );
}

#[test]
fn enable_and_id() {
    assert_eq!(
        parse(b"a ENABLE CONDSTORE UTF8=ACCEPT\r\n"),
        CommandBody::Enable(vec![atom("CONDSTORE"), atom("UTF8=ACCEPT")])
    );
    assert_eq!(parse(b"a ID NIL\r\n"), CommandBody::Id(None));
    assert_eq!(parse(b"a ID ()\r\n"), CommandBody::Id(Some(Vec::new())));
    assert_eq!(
        parse(b"a ID (\"name\" \"Thunderbird\" \"version\" NIL)\r\n"),
        CommandBody::Id(Some(vec![
            (b("name"), Some(b("Thunderbird"))),
            (b("version"), None)
        ]))
    );
}

#[test]
fn select_with_condstore_and_qresync() {
    assert_eq!(
        parse(b"a SELECT inbox\r\n"),
        CommandBody::Select {
            mailbox: Mailbox::Inbox,
            params: SelectParams::default()
        }
    );
    assert_eq!(
        parse(b"a EXAMINE \"Sent Items\" (CONDSTORE)\r\n"),
        CommandBody::Examine {
            mailbox: Mailbox::new(&b"Sent Items"[..]),
            params: SelectParams {
                condstore: true,
                qresync: None
            },
        }
    );
    let CommandBody::Select { params, .. } = parse(
        b"a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541 (1:3 1,5:6)))\r\n",
    ) else {
        panic!()
    };
    let q = params.qresync.unwrap();
    assert_eq!(q.uid_validity, nz(67890007));
    assert_eq!(q.modseq, NonZeroU64::new(20050715194045000).unwrap());
    assert_eq!(q.known_uids, Some(set("41,43:211,214:541")));
    assert_eq!(q.seq_match, Some((set("1:3"), set("1,5:6"))));
    let CommandBody::Select { params, .. } = parse(b"a SELECT INBOX (QRESYNC (1 2))\r\n") else {
        panic!()
    };
    assert_eq!(params.qresync.unwrap().known_uids, None);
    assert_eq!(
        refusal(b"a SELECT INBOX (CONDSTORE CONDSTORE)\r\n"),
        "a BAD Syntax error in SELECT arguments\r\n"
    );
}

#[test]
fn mailbox_management() {
    assert_eq!(
        parse(b"a CREATE Archive (USE (\\Archive \\X-Custom))\r\n"),
        CommandBody::Create {
            mailbox: Mailbox::new(&b"Archive"[..]),
            special_use: vec![
                MailboxAttr::Known(KnownAttr::Archive),
                MailboxAttr::Extension(atom("X-Custom"))
            ],
        }
    );
    assert_eq!(
        parse(b"a DELETE {3}\r\nfoo\r\n"),
        CommandBody::Delete(Mailbox::new(&b"foo"[..]))
    );
    assert_eq!(
        parse(b"a RENAME INBOX \"&AOk-t&AOk-\"\r\n"),
        CommandBody::Rename {
            from: Mailbox::Inbox,
            to: Mailbox::new(&b"&AOk-t&AOk-"[..])
        }
    );
    assert_eq!(
        parse(b"a SUBSCRIBE x\r\n"),
        CommandBody::Subscribe(Mailbox::new(&b"x"[..]))
    );
    assert_eq!(
        parse(b"a UNSUBSCRIBE x\r\n"),
        CommandBody::Unsubscribe(Mailbox::new(&b"x"[..]))
    );
    assert_eq!(
        parse(b"a STATUS INBOX (MESSAGES UIDNEXT uidvalidity UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ APPENDLIMIT)\r\n"),
        CommandBody::Status { mailbox: Mailbox::Inbox, items: StatusItem::ALL.to_vec() }
    );
    assert_eq!(
        parse(b"a LSUB \"\" %/x*\r\n"),
        CommandBody::Lsub {
            reference: Mailbox::new(&b""[..]),
            pattern: b("%/x*")
        }
    );
    assert_eq!(
        refusal(b"a STATUS INBOX ()\r\n"),
        "a BAD Syntax error in STATUS: expected status items\r\n"
    );
}

#[test]
fn list_basic_and_extended() {
    assert_eq!(
        parse(b"a LIST \"\" *\r\n"),
        CommandBody::List(ListCommand {
            selection: Vec::new(),
            reference: Mailbox::new(&b""[..]),
            patterns: vec![b("*")],
            returns: Vec::new(),
        })
    );
    assert_eq!(
        parse(b"a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX \"Other Users/%\" {2}\r\n*]) RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN) SUBSCRIBED)\r\n"),
        CommandBody::List(ListCommand {
            selection: vec![ListSelect::Subscribed, ListSelect::RecursiveMatch],
            reference: Mailbox::new(&b""[..]),
            patterns: vec![b("INBOX"), b("Other Users/%"), b("*]")],
            returns: vec![
                ListReturn::Children,
                ListReturn::SpecialUse,
                ListReturn::Status(vec![StatusItem::Messages, StatusItem::Unseen]),
                ListReturn::Subscribed,
            ],
        })
    );
    assert_eq!(
        refusal(b"a LIST (RECURSIVEMATCH) \"\" *\r\n"),
        "a BAD Syntax error in LIST: expected selection options\r\n"
    );
}

#[test]
fn append_whole_with_flags_date_and_multiappend() {
    let CommandBody::Append { mailbox, messages } = parse(
        b"a APPEND Drafts (\\Draft $x) \"05-Jan-2024 09:08:07 -0500\" {5}\r\nHello (\\Seen) ~{3}\r\na\0b\r\n",
    ) else {
        panic!()
    };
    assert_eq!(mailbox, Mailbox::new(&b"Drafts"[..]));
    assert_eq!(messages.len(), 2);
    assert_eq!(
        messages[0].options.flags,
        vec![Flag::Draft, Flag::Keyword(atom("$x"))]
    );
    let date = messages[0].options.date.unwrap();
    assert_eq!(
        (date.date().day(), date.time(), date.offset_minutes()),
        (5, (9, 8, 7), -300)
    );
    assert_eq!(messages[0].data, b("Hello"));
    assert!(!messages[0].binary);
    assert_eq!(messages[1].options.flags, vec![Flag::Seen]);
    assert!(messages[1].binary);
    assert_eq!(&*messages[1].data, b"a\0b");
}

#[test]
fn append_whole_in_the_utf8_form() {
    // RFC 6855 4, with a plain literal inside too, mixed with the usual form.
    let line = "a APPEND INBOX UTF8 (~{14}\r\nSubject: \u{e9}t\u{e9}) (\\Seen) UTF8 ({2}\r\nhi) {1}\r\nx\r\n";
    let CommandBody::Append { messages, .. } = parse(line.as_bytes()) else {
        panic!()
    };
    let forms: Vec<_> = messages.iter().map(|m| (m.utf8, m.binary)).collect();
    assert_eq!(forms, [(true, true), (true, false), (false, false)]);
    assert_eq!(&*messages[0].data, "Subject: \u{e9}t\u{e9}".as_bytes());
    assert_eq!(messages[1].options.flags, vec![Flag::Seen]);
    assert_eq!(messages[1].data, b("hi"));
    // Written back the same way.
    let command = parse_command(line.as_bytes()).unwrap();
    let mut out = Vec::new();
    command.encode(&mut out);
    assert_eq!(out, line.as_bytes());

    assert_eq!(
        refusal(b"a APPEND INBOX UTF8 (~{1}\r\nx\r\n"),
        "a BAD Syntax error in APPEND: expected \")\" after the UTF8 message\r\n"
    );
    assert_eq!(
        refusal(b"a APPEND INBOX UTF8 ~{1}\r\nx\r\n"),
        "a BAD Syntax error in APPEND: expected message literal\r\n"
    );
}

#[test]
fn search_nested_or_not_lists_and_charset() {
    use SearchKey as K;
    let body = parse(
        b"a UID SEARCH RETURN (MIN COUNT SAVE) CHARSET UTF-8 OR (FROM {3}\r\nbob NOT SEEN) NOT (1:3 UID $) \
          HEADER X-Spam \"yes\" SINCE 1-Feb-1994 BEFORE \"02-Mar-2020\" LARGER 100 KEYWORD $Junk \
          MODSEQ \"/flags/\\\\draft\" all 620162338 MODSEQ 0 OLDER 60 YOUNGER 5 undeleted\r\n",
    );
    let CommandBody::Search {
        uid,
        returns,
        charset,
        keys,
    } = body
    else {
        panic!()
    };
    assert!(uid);
    assert_eq!(
        returns,
        Some(vec![
            SearchReturn::Min,
            SearchReturn::Count,
            SearchReturn::Save
        ])
    );
    assert_eq!(charset, Some(b("UTF-8")));
    assert_eq!(
        keys,
        vec![
            K::Or(
                Box::new(K::And(vec![K::From(b("bob")), K::Not(Box::new(K::Seen))])),
                Box::new(K::Not(Box::new(K::And(vec![
                    K::SequenceSet(set("1:3")),
                    K::Uid(SequenceSet::Saved)
                ]))))
            ),
            K::Header(b("X-Spam"), b("yes")),
            K::Since(Date::new(1994, 2, 1).unwrap()),
            K::Before(Date::new(2020, 3, 2).unwrap()),
            K::Larger(100),
            K::Keyword(atom("$Junk")),
            K::ModSeq {
                entry: Some((Cow::Owned(b"/flags/\\draft".to_vec()), EntryType::All)),
                modseq: 620162338
            },
            K::ModSeq {
                entry: None,
                modseq: 0
            },
            K::Older(nz(60)),
            K::Younger(nz(5)),
            K::Undeleted,
        ]
    );
    assert_eq!(
        parse(b"a SEARCH RETURN () ALL\r\n"),
        CommandBody::Search {
            uid: false,
            returns: Some(Vec::new()),
            charset: None,
            keys: vec![K::All]
        }
    );
    assert_eq!(
        parse(b"a SEARCH $\r\n"),
        CommandBody::Search {
            uid: false,
            returns: None,
            charset: None,
            keys: vec![K::SequenceSet(SequenceSet::Saved)]
        }
    );
}

#[test]
fn search_refusals_name_what_was_expected() {
    assert_eq!(
        refusal(b"a SEARCH\r\n"),
        "a BAD Syntax error in SEARCH arguments\r\n"
    );
    assert_eq!(
        refusal(b"a SEARCH FOO\r\n"),
        "a BAD Syntax error in SEARCH: expected search key\r\n"
    );
    assert_eq!(
        refusal(b"a SEARCH SINCE 31-Feb-2020\r\n"),
        "a BAD Syntax error in SEARCH: expected date\r\n"
    );
    assert_eq!(
        refusal(b"a SEARCH (SEEN\r\n"),
        "a BAD Syntax error in SEARCH arguments\r\n"
    );
    assert_eq!(
        refusal(b"a UID SEARCH UID 0\r\n"),
        "a BAD Syntax error in UID SEARCH: expected sequence set\r\n"
    );
}

#[test]
fn fetch_attributes_sections_and_partials() {
    use FetchAttr as A;
    let body = parse(
        b"a FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From \"To\" {2}\r\nCc)]<0.1024> BODY[1.2.MIME] BODY[] \
          BODY[2.HEADER.FIELDS.NOT (X-A)] BODY[3] BODY[TEXT]<5.10> BINARY.PEEK[1]<0.100> BINARY[] BINARY.SIZE[2.1] \
          RFC822 RFC822.HEADER RFC822.SIZE RFC822.TEXT ENVELOPE BODY BODYSTRUCTURE INTERNALDATE UID MODSEQ)\r\n",
    );
    let CommandBody::Fetch {
        uid: false,
        set: s,
        attrs: FetchAttrs::List(attrs),
        modifiers,
    } = body
    else {
        panic!()
    };
    assert_eq!(s, set("1:*"));
    assert_eq!(modifiers, FetchModifiers::default());
    let part = |p: &[u32]| Part::new(p.iter().map(|&n| nz(n)).collect()).unwrap();
    let partial = |offset, length| {
        Some(Partial {
            offset,
            length: NonZeroU64::new(length).unwrap(),
        })
    };
    assert_eq!(
        attrs,
        vec![
            A::Flags,
            A::BodySection {
                peek: true,
                section: Some(Section::HeaderFields(
                    None,
                    vec![b("From"), b("To"), b("Cc")]
                )),
                partial: partial(0, 1024),
            },
            A::BodySection {
                peek: false,
                section: Some(Section::Mime(part(&[1, 2]))),
                partial: None
            },
            A::BodySection {
                peek: false,
                section: None,
                partial: None
            },
            A::BodySection {
                peek: false,
                section: Some(Section::HeaderFieldsNot(Some(part(&[2])), vec![b("X-A")])),
                partial: None,
            },
            A::BodySection {
                peek: false,
                section: Some(Section::Part(part(&[3]))),
                partial: None
            },
            A::BodySection {
                peek: false,
                section: Some(Section::Text(None)),
                partial: partial(5, 10)
            },
            A::Binary {
                peek: true,
                part: vec![nz(1)],
                partial: partial(0, 100)
            },
            A::Binary {
                peek: false,
                part: Vec::new(),
                partial: None
            },
            A::BinarySize {
                part: vec![nz(2), nz(1)]
            },
            A::Rfc822,
            A::Rfc822Header,
            A::Rfc822Size,
            A::Rfc822Text,
            A::Envelope,
            A::Body,
            A::BodyStructure,
            A::InternalDate,
            A::Uid,
            A::ModSeq,
        ]
    );
}

#[test]
fn fetch_macros_single_items_and_modifiers() {
    let fetch = |line: &'static [u8]| match parse(line) {
        CommandBody::Fetch {
            uid,
            attrs,
            modifiers,
            ..
        } => (uid, attrs, modifiers),
        other => panic!("{other:?}"),
    };
    assert_eq!(fetch(b"a FETCH 1 all\r\n").1, FetchAttrs::All);
    assert_eq!(fetch(b"a FETCH 1 FAST\r\n").1, FetchAttrs::Fast);
    assert_eq!(fetch(b"a FETCH 1 FULL\r\n").1, FetchAttrs::Full);
    assert_eq!(
        fetch(b"a FETCH 1 uid\r\n").1,
        FetchAttrs::List(vec![FetchAttr::Uid])
    );
    let (uid, _, modifiers) =
        fetch(b"a UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n");
    assert!(uid);
    assert_eq!(
        modifiers,
        FetchModifiers {
            changed_since: NonZeroU64::new(12345),
            vanished: true
        }
    );
    assert_eq!(FetchAttrs::Fast.expand().len(), 3);
    assert_eq!(
        refusal(b"a FETCH 1 BODY[MIME]\r\n"),
        "a BAD Syntax error in FETCH: expected section\r\n"
    );
    assert_eq!(
        refusal(b"a FETCH 1 BODY[1]<0.0>\r\n"),
        "a BAD Syntax error in FETCH: expected partial\r\n"
    );
    assert_eq!(
        refusal(b"a FETCH 1 ALLX\r\n"),
        "a BAD Syntax error in FETCH: expected fetch attribute\r\n"
    );
    assert_eq!(
        refusal(b"a FETCH 1 FLAGS (VANISHED VANISHED)\r\n"),
        "a BAD Syntax error in FETCH arguments\r\n"
    );
}

#[test]
fn store_forms() {
    assert_eq!(
        parse(b"a UID STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS.SILENT (\\Deleted $Seen)\r\n"),
        CommandBody::Store {
            uid: true,
            set: set("1:3"),
            unchanged_since: Some(0),
            mode: StoreMode::Add,
            silent: true,
            flags: vec![Flag::Deleted, Flag::Keyword(atom("$Seen"))],
        }
    );
    assert_eq!(
        parse(b"a STORE 2 -flags \\Seen \\Flagged\r\n"),
        CommandBody::Store {
            uid: false,
            set: set("2"),
            unchanged_since: None,
            mode: StoreMode::Remove,
            silent: false,
            flags: vec![Flag::Seen, Flag::Flagged],
        }
    );
    let CommandBody::Store { mode, flags, .. } = parse(b"a STORE $ FLAGS ()\r\n") else {
        panic!()
    };
    assert_eq!((mode, flags), (StoreMode::Replace, Vec::new()));
    assert_eq!(
        refusal(b"a STORE 1 XFLAGS (\\Seen)\r\n"),
        "a BAD Syntax error in STORE: expected store item\r\n"
    );
}

#[test]
fn copy_move_sort_thread() {
    assert_eq!(
        parse(b"a UID COPY 1:2 Trash\r\n"),
        CommandBody::Copy {
            uid: true,
            set: set("1:2"),
            mailbox: Mailbox::new(&b"Trash"[..])
        }
    );
    assert_eq!(
        parse(b"a MOVE $ inbox\r\n"),
        CommandBody::Move {
            uid: false,
            set: SequenceSet::Saved,
            mailbox: Mailbox::Inbox
        }
    );
    assert_eq!(
        parse(
            b"a UID SORT (REVERSE ARRIVAL subject DISPLAYFROM) UTF-8 SINCE 1-Jan-2024 UNSEEN\r\n"
        ),
        CommandBody::Sort {
            uid: true,
            criteria: vec![
                SortCriterion {
                    reverse: true,
                    key: SortKey::Arrival
                },
                SortCriterion {
                    reverse: false,
                    key: SortKey::Subject
                },
                SortCriterion {
                    reverse: false,
                    key: SortKey::DisplayFrom
                },
            ],
            charset: b("UTF-8"),
            keys: vec![
                SearchKey::Since(Date::new(2024, 1, 1).unwrap()),
                SearchKey::Unseen
            ],
        }
    );
    assert_eq!(
        parse(b"a THREAD REFERENCES US-ASCII ALL\r\n"),
        CommandBody::Thread {
            uid: false,
            algorithm: ThreadAlgorithm::References,
            charset: b("US-ASCII"),
            keys: vec![SearchKey::All],
        }
    );
    assert_eq!(
        refusal(b"a THREAD X UTF-8 ALL\r\n"),
        "a BAD Syntax error in THREAD: expected thread algorithm\r\n"
    );
    assert_eq!(
        refusal(b"a SORT () UTF-8 ALL\r\n"),
        "a BAD Syntax error in SORT: expected sort criteria\r\n"
    );
}

#[test]
fn quota_commands() {
    assert_eq!(parse(b"a GETQUOTA \"\"\r\n"), CommandBody::GetQuota(b("")));
    assert_eq!(
        parse(b"a GETQUOTAROOT INBOX\r\n"),
        CommandBody::GetQuotaRoot(Mailbox::Inbox)
    );
    assert_eq!(
        parse(b"a SETQUOTA \"\" (STORAGE 512 MESSAGE 1000)\r\n"),
        CommandBody::SetQuota {
            root: b(""),
            limits: vec![(atom("STORAGE"), 512), (atom("MESSAGE"), 1000)]
        }
    );
}

#[test]
fn general_refusals() {
    assert_eq!(refusal(b"\r\n"), "* BAD Missing or invalid tag\r\n");
    assert_eq!(refusal(b"a+b NOOP\r\n"), "* BAD Missing or invalid tag\r\n");
    assert_eq!(refusal(b"a FROB\r\n"), "a BAD Unknown command\r\n");
    assert_eq!(refusal(b"a UID NOOP\r\n"), "a BAD Unknown command\r\n");
    assert_eq!(
        refusal(b"a NOOP extra\r\n"),
        "a BAD Syntax error in NOOP arguments\r\n"
    );
    assert_eq!(
        refusal(b"a NOOP"),
        "a BAD Syntax error in NOOP arguments\r\n"
    );
    assert_eq!(
        refusal(b"a LOGIN a b\r\nextra"),
        "a BAD Syntax error in LOGIN arguments\r\n"
    );
    assert_eq!(
        refusal(b"a LOGIN a  b\r\n"),
        "a BAD Syntax error in LOGIN arguments\r\n"
    );
    assert_eq!(
        refusal(b"a LOGIN {5}\r\nab\r\n"),
        "a BAD Syntax error in LOGIN arguments\r\n"
    );
    assert_eq!(
        refusal(b"a SELECT\r\n"),
        "a BAD Syntax error in SELECT arguments\r\n"
    );
    assert_eq!(
        refusal(b"a APPEND INBOX \"31-Feb-2024 00:00:00 +0000\" {1}\r\nx\r\n"),
        "a BAD Syntax error in APPEND: expected date-time\r\n"
    );
}
