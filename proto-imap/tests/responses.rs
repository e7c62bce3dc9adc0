//! Exact wire form of every response kind.

use std::borrow::Cow;
use std::num::{NonZeroU32, NonZeroU64};

use proto_imap::*;

fn encode_with(response: &Response<'_>, utf8: bool) -> String {
    let mut out = Vec::new();
    response.encode(&mut out, EncodeOptions { utf8 });
    String::from_utf8(out).unwrap()
}

fn encode(response: &Response<'_>) -> String {
    encode_with(response, false)
}

fn data(data: Data<'_>) -> String {
    encode(&Response::Untagged(data))
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

fn nz64(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n).unwrap()
}

fn b(s: &str) -> Cow<'_, [u8]> {
    Cow::Borrowed(s.as_bytes())
}

fn atom(s: &str) -> Atom<'_> {
    Atom::new(s).unwrap()
}

fn set(ranges: &[(u32, u32)]) -> SequenceSet {
    let ranges = ranges
        .iter()
        .map(|&(a, z)| SeqRange {
            from: SeqNum::Value(nz(a)),
            to: SeqNum::Value(nz(z)),
        })
        .collect();
    SequenceSet::Ranges(SeqRanges::new(ranges).unwrap())
}

fn tagged(status: Status, code: Option<Code<'static>>, text: &'static str) -> String {
    encode(&Response::Tagged {
        tag: Tag::new("a1").unwrap(),
        status,
        code,
        text: text.into(),
    })
}

#[test]
fn status_responses_and_codes() {
    assert_eq!(tagged(Status::Ok, None, "done"), "a1 OK done\r\n");
    assert_eq!(
        tagged(
            Status::Ok,
            Some(Code::AppendUid {
                uid_validity: nz(38505),
                uids: set(&[(3955, 3955)])
            }),
            "APPEND completed"
        ),
        "a1 OK [APPENDUID 38505 3955] APPEND completed\r\n"
    );
    assert_eq!(
        tagged(
            Status::Ok,
            Some(Code::CopyUid {
                uid_validity: nz(38505),
                source: set(&[(304, 304), (319, 320)]),
                destination: set(&[(3956, 3958)])
            }),
            "Done"
        ),
        "a1 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"
    );
    assert_eq!(
        tagged(
            Status::No,
            Some(Code::Plain(PlainCode::TryCreate)),
            "no such mailbox"
        ),
        "a1 NO [TRYCREATE] no such mailbox\r\n"
    );
    assert_eq!(
        tagged(Status::Bad, None, "line1\r\nline2"),
        "a1 BAD line1  line2\r\n"
    );
    assert_eq!(
        tagged(Status::Ok, Some(Code::Plain(PlainCode::ReadWrite)), ""),
        "a1 OK [READ-WRITE]\r\n"
    );
    let code = |code: Code<'static>| tagged(Status::Ok, Some(code), "x");
    assert_eq!(
        code(Code::PermanentFlags(vec![
            FlagPerm::Flag(Flag::Deleted),
            FlagPerm::Flag(Flag::Keyword(atom("$Junk"))),
            FlagPerm::AnyKeyword
        ])),
        "a1 OK [PERMANENTFLAGS (\\Deleted $Junk \\*)] x\r\n"
    );
    assert_eq!(
        code(Code::BadCharset(vec![b("UTF-8"), b("US-ASCII")])),
        "a1 OK [BADCHARSET (UTF-8 US-ASCII)] x\r\n"
    );
    assert_eq!(
        code(Code::BadCharset(Vec::new())),
        "a1 OK [BADCHARSET] x\r\n"
    );
    assert_eq!(
        code(Code::Capability(vec![atom("IMAP4rev2"), atom("IDLE")])),
        "a1 OK [CAPABILITY IMAP4rev2 IDLE] x\r\n"
    );
    assert_eq!(code(Code::UidNext(nz(4392))), "a1 OK [UIDNEXT 4392] x\r\n");
    assert_eq!(
        code(Code::UidValidity(nz(3857529045))),
        "a1 OK [UIDVALIDITY 3857529045] x\r\n"
    );
    assert_eq!(code(Code::Unseen(nz(12))), "a1 OK [UNSEEN 12] x\r\n");
    assert_eq!(
        code(Code::HighestModSeq(nz64(715194045007))),
        "a1 OK [HIGHESTMODSEQ 715194045007] x\r\n"
    );
    assert_eq!(
        code(Code::Modified(set(&[(7, 7), (9, 9)]))),
        "a1 OK [MODIFIED 7,9] x\r\n"
    );
    for plain in PlainCode::ALL {
        assert_eq!(
            code(Code::Plain(*plain)),
            format!("a1 OK [{}] x\r\n", plain.name())
        );
    }
}

#[test]
fn untagged_conditions_and_continuations() {
    let condition = |condition, code, text: &'static str| {
        data(Data::Condition {
            condition,
            code,
            text: text.into(),
        })
    };
    assert_eq!(
        condition(Condition::Ok, Some(Code::Plain(PlainCode::Alert)), "Hi"),
        "* OK [ALERT] Hi\r\n"
    );
    assert_eq!(
        condition(Condition::PreAuth, None, "welcome"),
        "* PREAUTH welcome\r\n"
    );
    assert_eq!(
        condition(Condition::Bye, None, "Logging out"),
        "* BYE Logging out\r\n"
    );
    assert_eq!(condition(Condition::No, None, "warn"), "* NO warn\r\n");
    assert_eq!(condition(Condition::Bad, None, "bad"), "* BAD bad\r\n");
    let cont = |c| encode(&Response::Continue(c));
    assert_eq!(
        cont(Continue::Text {
            code: None,
            text: "Ready".into()
        }),
        "+ Ready\r\n"
    );
    assert_eq!(
        cont(Continue::Text {
            code: None,
            text: "".into()
        }),
        "+ \r\n"
    );
    assert_eq!(cont(Continue::Base64(b("\0a\0b"))), "+ AGEAYg==\r\n");
    assert_eq!(cont(Continue::Base64(b(""))), "+ \r\n");
}

#[test]
fn capability_enabled_and_mailbox_data() {
    assert_eq!(
        data(Data::Capability(vec![
            atom("IMAP4rev1"),
            atom("IMAP4rev2"),
            atom("AUTH=PLAIN")
        ])),
        "* CAPABILITY IMAP4rev1 IMAP4rev2 AUTH=PLAIN\r\n"
    );
    assert_eq!(
        data(Data::Enabled(vec![atom("CONDSTORE")])),
        "* ENABLED CONDSTORE\r\n"
    );
    assert_eq!(data(Data::Enabled(Vec::new())), "* ENABLED\r\n");
    assert_eq!(
        data(Data::Flags(vec![
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Seen,
            Flag::Draft
        ])),
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
    );
    assert_eq!(data(Data::Exists(23)), "* 23 EXISTS\r\n");
    assert_eq!(data(Data::Recent(0)), "* 0 RECENT\r\n");
    assert_eq!(data(Data::Expunge(nz(3))), "* 3 EXPUNGE\r\n");
    assert_eq!(
        data(Data::Vanished {
            earlier: true,
            uids: set(&[(300, 310), (405, 405)])
        }),
        "* VANISHED (EARLIER) 300:310,405\r\n"
    );
    assert_eq!(
        data(Data::Vanished {
            earlier: false,
            uids: set(&[(1, 1)])
        }),
        "* VANISHED 1\r\n"
    );
    assert_eq!(
        data(Data::Status {
            mailbox: Mailbox::new(&b"blurdybloop"[..]),
            items: vec![(StatusItem::Messages, 231), (StatusItem::UidNext, 44292)],
        }),
        "* STATUS \"blurdybloop\" (MESSAGES 231 UIDNEXT 44292)\r\n"
    );
}

#[test]
fn list_items() {
    let item = |attributes, delimiter, name: &'static [u8], extended| {
        data(Data::List(ListItem {
            attributes,
            delimiter,
            mailbox: Mailbox::new(name),
            extended,
        }))
    };
    assert_eq!(
        item(
            vec![
                MailboxAttr::Known(KnownAttr::HasNoChildren),
                MailboxAttr::Known(KnownAttr::Sent)
            ],
            Some('/'),
            b"Sent",
            vec![]
        ),
        "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n"
    );
    assert_eq!(
        item(vec![], None, b"inbox", vec![]),
        "* LIST () NIL \"INBOX\"\r\n"
    );
    assert_eq!(
        item(vec![], Some('\\'), b"a\"b", vec![]),
        "* LIST () \"\\\\\" \"a\\\"b\"\r\n"
    );
    assert_eq!(
        item(vec![], Some('/'), b"a\r\nb", vec![]),
        "* LIST () \"/\" {4}\r\na\r\nb\r\n"
    );
    assert_eq!(
        item(
            vec![
                MailboxAttr::Known(KnownAttr::NonExistent),
                MailboxAttr::Extension(atom("X"))
            ],
            Some('/'),
            b"Foo",
            vec![ListExtended::ChildInfo(vec![ListSelect::Subscribed])],
        ),
        "* LIST (\\NonExistent \\X) \"/\" \"Foo\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
    );
    assert_eq!(
        item(
            vec![],
            Some('/'),
            b"New",
            vec![ListExtended::OldName(Mailbox::new(&b"Old"[..]))]
        ),
        "* LIST () \"/\" \"New\" (\"OLDNAME\" (\"Old\"))\r\n"
    );
    let lsub = Data::Lsub(ListItem {
        attributes: vec![],
        delimiter: Some('.'),
        mailbox: Mailbox::Inbox,
        extended: vec![],
    });
    assert_eq!(data(lsub), "* LSUB () \".\" \"INBOX\"\r\n");
    let utf8 = Response::Untagged(Data::List(ListItem {
        attributes: vec![],
        delimiter: Some('/'),
        mailbox: Mailbox::new("Gel\u{f6}scht".as_bytes()),
        extended: vec![],
    }));
    assert_eq!(
        encode_with(&utf8, true),
        "* LIST () \"/\" \"Gel\u{f6}scht\"\r\n"
    );
    assert_eq!(
        encode_with(&utf8, false),
        "* LIST () \"/\" {9}\r\nGel\u{f6}scht\r\n"
    );
}

#[test]
fn search_sort_esearch_thread() {
    assert_eq!(
        data(Data::Search {
            ids: vec![],
            modseq: None
        }),
        "* SEARCH\r\n"
    );
    assert_eq!(
        data(Data::Search {
            ids: vec![nz(2), nz(84), nz(882)],
            modseq: Some(nz64(917162500))
        }),
        "* SEARCH 2 84 882 (MODSEQ 917162500)\r\n"
    );
    assert_eq!(
        data(Data::Sort {
            ids: vec![nz(5), nz(3)],
            modseq: None
        }),
        "* SORT 5 3\r\n"
    );
    assert_eq!(
        data(Data::ESearch(ESearch {
            tag: Some(Tag::new("A285").unwrap()),
            uid: true,
            min: Some(nz(7)),
            max: Some(nz(3800)),
            all: Some(set(&[(7, 7), (3800, 3800)])),
            count: Some(2),
            modseq: Some(nz64(12)),
        })),
        "* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800 ALL 7,3800 COUNT 2 MODSEQ 12\r\n"
    );
    assert_eq!(data(Data::ESearch(ESearch::default())), "* ESEARCH\r\n");
    let t = |messages: &[u32], children| Thread {
        messages: messages.iter().map(|&n| nz(n)).collect(),
        children,
    };
    assert_eq!(
        data(Data::Thread(vec![
            t(&[2], vec![]),
            t(&[3, 6], vec![t(&[4, 23], vec![]), t(&[44, 7, 96], vec![])]),
        ])),
        "* THREAD (2)(3 6 (4 23)(44 7 96))\r\n"
    );
    assert_eq!(
        data(Data::Thread(vec![
            t(&[], vec![t(&[3], vec![]), t(&[5], vec![])]),
            t(&[1], vec![t(&[2], vec![])])
        ])),
        "* THREAD ((3)(5))(1 2)\r\n"
    );
    assert_eq!(data(Data::Thread(vec![])), "* THREAD\r\n");
}

#[test]
fn namespace_quota_id() {
    assert_eq!(
        data(Data::Namespace {
            personal: vec![NamespaceDesc {
                prefix: b(""),
                delimiter: Some('/')
            }],
            other: vec![],
            shared: vec![
                NamespaceDesc {
                    prefix: b("Public/"),
                    delimiter: Some('/')
                },
                NamespaceDesc {
                    prefix: b("Flat"),
                    delimiter: None
                }
            ],
        }),
        "* NAMESPACE ((\"\" \"/\")) NIL ((\"Public/\" \"/\")(\"Flat\" NIL))\r\n"
    );
    assert_eq!(
        data(Data::Quota {
            root: b(""),
            resources: vec![QuotaResource {
                name: atom("STORAGE"),
                usage: 10,
                limit: 512
            }],
        }),
        "* QUOTA \"\" (STORAGE 10 512)\r\n"
    );
    assert_eq!(
        data(Data::QuotaRoot {
            mailbox: Mailbox::Inbox,
            roots: vec![b("")]
        }),
        "* QUOTAROOT INBOX \"\"\r\n"
    );
    assert_eq!(data(Data::Id(None)), "* ID NIL\r\n");
    assert_eq!(
        data(Data::Id(Some(vec![
            (b("name"), Some(b("Postern"))),
            (b("os"), None)
        ]))),
        "* ID (\"name\" \"Postern\" \"os\" NIL)\r\n"
    );
}

#[test]
fn fetch_simple_items_and_bodies() {
    let date = DateTime::new(Date::new(1996, 7, 17).unwrap(), (2, 44, 25), -7 * 60).unwrap();
    assert_eq!(
        data(Data::Fetch {
            seq: nz(12),
            items: vec![
                FetchItem::Flags(vec![FlagFetch::Flag(Flag::Seen), FlagFetch::Recent]),
                FetchItem::InternalDate(date),
                FetchItem::Rfc822Size(4286),
                FetchItem::Uid(nz(7)),
                FetchItem::ModSeq(nz64(65402)),
                FetchItem::BinarySize {
                    part: vec![nz(1)],
                    size: 42
                },
            ],
        }),
        "* 12 FETCH (FLAGS (\\Seen \\Recent) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 UID 7 MODSEQ (65402) BINARY.SIZE[1] 42)\r\n"
    );
    let section = |section, origin| SectionName::Body { section, origin };
    let part = Part::new(vec![nz(1), nz(2)]).unwrap();
    assert_eq!(
        data(Data::Fetch {
            seq: nz(1),
            items: vec![
                FetchItem::BodySection {
                    name: section(None, None),
                    data: Some(b("Hi"))
                },
                FetchItem::BodySection {
                    name: section(
                        Some(Section::HeaderFields(None, vec![b("From"), b("X y")])),
                        Some(0)
                    ),
                    data: None
                },
                FetchItem::BodySection {
                    name: section(Some(Section::Mime(part)), None),
                    data: Some(b(""))
                },
                FetchItem::BodySection {
                    name: SectionName::Binary {
                        part: vec![],
                        origin: None
                    },
                    data: Some(b("a\0"))
                },
                FetchItem::BodySection {
                    name: SectionName::Rfc822Header,
                    data: Some(b("h"))
                },
            ],
        }),
        "* 1 FETCH (BODY[] {2}\r\nHi BODY[HEADER.FIELDS (From \"X y\")]<0> NIL BODY[1.2.MIME] {0}\r\n BINARY[] ~{2}\r\na\0 RFC822.HEADER {1}\r\nh)\r\n"
    );
}

#[test]
fn fetch_streamed_body() {
    let mut out = Vec::new();
    Response::Untagged(Data::Fetch {
        seq: nz(3),
        items: vec![
            FetchItem::Uid(nz(9)),
            FetchItem::BodySectionHeader {
                name: SectionName::Body {
                    section: Some(Section::Text(None)),
                    origin: Some(100),
                },
                len: 5,
            },
        ],
    })
    .encode(&mut out, EncodeOptions::default());
    assert_eq!(out, b"* 3 FETCH (UID 9 BODY[TEXT]<100> {5}\r\n");
    out.extend_from_slice(b"hello"); // streamed by the caller
    encode_fetch_end(&mut out);
    assert_eq!(out, b"* 3 FETCH (UID 9 BODY[TEXT]<100> {5}\r\nhello)\r\n");
    out.clear();
    Response::Untagged(Data::Fetch {
        seq: nz(3),
        items: vec![FetchItem::BodySectionHeader {
            name: SectionName::Binary {
                part: vec![nz(2)],
                origin: None,
            },
            len: 7,
        }],
    })
    .encode(&mut out, EncodeOptions::default());
    assert_eq!(out, b"* 3 FETCH (BINARY[2] ~{7}\r\n");
    // A second streamed item in the same response.
    out.extend_from_slice(b"\0binary");
    encode_fetch_next(
        &mut out,
        SectionName::Body {
            section: Some(Section::Part(Part::new(vec![nz(1)]).unwrap())),
            origin: None,
        },
        3,
    );
    out.extend_from_slice(b"abc");
    encode_fetch_end(&mut out);
    assert_eq!(
        out,
        b"* 3 FETCH (BINARY[2] ~{7}\r\n\0binary BODY[1] {3}\r\nabc)\r\n"
    );
}

fn sample_envelope() -> Envelope<'static> {
    let address = Address {
        name: Some(b("Terry Gray")),
        adl: None,
        mailbox: Some(b("gray")),
        host: Some(b("cac.washington.edu")),
    };
    Envelope {
        date: Some(b("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)")),
        subject: Some(b("IMAP4rev1 WG mtg summary and minutes")),
        from: vec![address.clone()],
        sender: vec![address.clone()],
        reply_to: vec![address],
        to: vec![Address {
            name: None,
            adl: None,
            mailbox: Some(b("imap")),
            host: Some(b("cac.washington.edu")),
        }],
        cc: vec![],
        bcc: vec![],
        in_reply_to: None,
        message_id: Some(b("<B27397-0100000@cac.washington.edu>")),
    }
}

#[test]
fn envelope_as_in_rfc_9051() {
    assert_eq!(
        data(Data::Fetch {
            seq: nz(12),
            items: vec![FetchItem::Envelope(Box::new(sample_envelope()))]
        }),
        "* 12 FETCH (ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" \
((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) NIL NIL NIL \
\"<B27397-0100000@cac.washington.edu>\"))\r\n"
    );
}

#[test]
fn body_and_bodystructure() {
    let text = |subtype: &'static str, size, lines| BodyStructure::Single {
        fields: BodyFields {
            params: vec![(b("CHARSET"), b("US-ASCII"))],
            id: None,
            description: None,
            encoding: b("7BIT"),
            size,
        },
        kind: SingleKind::Text {
            subtype: b(subtype),
            lines,
        },
        md5: None,
        extension: BodyExtension::default(),
    };
    let attachment = BodyStructure::Single {
        fields: BodyFields {
            params: vec![],
            id: Some(b("<x@y>")),
            description: None,
            encoding: b("BASE64"),
            size: 4,
        },
        kind: SingleKind::Basic {
            media_type: b("APPLICATION"),
            subtype: b("PDF"),
        },
        md5: Some(b("Q2hlY2sgSW50ZWdyaXR5IQ==")),
        extension: BodyExtension {
            disposition: Some(Disposition {
                kind: b("attachment"),
                params: vec![(b("filename"), b("a.pdf"))],
            }),
            language: vec![b("en"), b("de")],
            location: Some(b("http://x/a.pdf")),
        },
    };
    let inner = BodyStructure::Single {
        fields: BodyFields {
            params: vec![],
            id: None,
            description: None,
            encoding: b("7BIT"),
            size: 100,
        },
        kind: SingleKind::Message {
            subtype: b("RFC822"),
            envelope: Box::new(Envelope::default()),
            body: Box::new(text("PLAIN", 10, 1)),
            lines: 5,
        },
        md5: None,
        extension: BodyExtension::default(),
    };
    let mixed = BodyStructure::Multipart {
        parts: vec![text("PLAIN", 3028, 92), attachment, inner],
        subtype: b("MIXED"),
        params: vec![(b("BOUNDARY"), b("xyz"))],
        extension: BodyExtension {
            disposition: None,
            language: vec![b("en")],
            location: None,
        },
    };
    let envelope_nil = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)";
    assert_eq!(
        data(Data::Fetch {
            seq: nz(1),
            items: vec![FetchItem::Body(Box::new(mixed.clone()))]
        }),
        format!(
            "* 1 FETCH (BODY ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92)\
(\"APPLICATION\" \"PDF\" NIL \"<x@y>\" NIL \"BASE64\" 4)\
(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 100 {envelope_nil} (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 10 1) 5) \
\"MIXED\"))\r\n"
        )
    );
    assert_eq!(
        data(Data::Fetch {
            seq: nz(1),
            items: vec![FetchItem::BodyStructure(Box::new(mixed))]
        }),
        format!(
            "* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92 NIL NIL NIL NIL)\
(\"APPLICATION\" \"PDF\" NIL \"<x@y>\" NIL \"BASE64\" 4 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"attachment\" (\"filename\" \"a.pdf\")) (\"en\" \"de\") \"http://x/a.pdf\")\
(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 100 {envelope_nil} (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 10 1 NIL NIL NIL NIL) 5 NIL NIL NIL NIL) \
\"MIXED\" (\"BOUNDARY\" \"xyz\") NIL (\"en\") NIL))\r\n"
        )
    );
}
