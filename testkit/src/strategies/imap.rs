//! IMAP (RFC 3501, RFC 9051 and the extensions Postern offers): commands as a client sends
//! them and responses as a server does, as typed values that `proto-imap` writes out
//! (`Command::encode`, `Response::encode`); [`command_line`] gives the bytes.

use std::borrow::Cow;
use std::num::{NonZeroU32, NonZeroU64};

use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proto_imap::*;

/// A command's bytes on the wire, CRLF and literals included.
pub fn command_line() -> impl Strategy<Value = Vec<u8>> {
    command().prop_map(|command| encoded(&command))
}

// ---------------------------------------------------------------- values

fn bytes() -> impl Strategy<Value = Cow<'static, [u8]>> {
    prop_oneof![
        "[a-zA-Z0-9]{1,8}".prop_map(|s| s.into_bytes()),
        "[ -~]{0,10}".prop_map(|s| s.into_bytes()),
        "\\PC{0,6}".prop_map(|s| s.into_bytes()),
        vec(any::<u8>(), 0..10),
    ]
    .prop_map(Cow::Owned)
}

fn atom() -> impl Strategy<Value = Atom<'static>> {
    "[A-Za-z0-9$_.=-]{1,8}".prop_map(|s| Atom::new(s).unwrap())
}

/// An atom that cannot be mistaken for a known `\`-name.
fn x_atom() -> impl Strategy<Value = Atom<'static>> {
    "X[a-z0-9-]{0,6}".prop_map(|s| Atom::new(s).unwrap())
}

fn tag() -> impl Strategy<Value = Tag<'static>> {
    "[A-Za-z0-9.]{1,8}".prop_map(|s| Tag::new(s).unwrap())
}

fn mailbox() -> impl Strategy<Value = Mailbox<'static>> {
    prop_oneof![
        Just(Mailbox::Inbox),
        Just(Mailbox::new(&b"iNbOx"[..])),
        bytes().prop_map(Mailbox::new)
    ]
}

fn nz32() -> impl Strategy<Value = NonZeroU32> {
    (1..=u32::MAX).prop_map(|n| NonZeroU32::new(n).unwrap())
}

fn nz64() -> impl Strategy<Value = NonZeroU64> {
    (1..=i64::MAX as u64).prop_map(|n| NonZeroU64::new(n).unwrap())
}

fn u63() -> impl Strategy<Value = u64> {
    0..=i64::MAX as u64
}

fn seq_num() -> impl Strategy<Value = SeqNum> {
    prop_oneof![Just(SeqNum::Largest), nz32().prop_map(SeqNum::Value)]
}

/// A sequence set, as a command carries it.
pub fn sequence_set() -> impl Strategy<Value = SequenceSet> {
    let range = (seq_num(), seq_num()).prop_map(|(from, to)| SeqRange { from, to });
    prop_oneof![
        1 => Just(SequenceSet::Saved),
        5 => vec(range, 1..4).prop_map(|r| SequenceSet::Ranges(SeqRanges::new(r).unwrap())),
    ]
}

fn flag() -> impl Strategy<Value = Flag<'static>> {
    prop_oneof![
        Just(Flag::Seen),
        Just(Flag::Answered),
        Just(Flag::Flagged),
        Just(Flag::Deleted),
        Just(Flag::Draft),
        atom().prop_map(Flag::Keyword),
        x_atom().prop_map(Flag::Extension),
    ]
}

fn date() -> impl Strategy<Value = Date> {
    (1u16..=9999, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| Date::new(y, m, d).unwrap())
}

fn date_time() -> impl Strategy<Value = DateTime> {
    (date(), 0u8..24, 0u8..60, 0u8..=60, -5999i16..=5999)
        .prop_map(|(d, h, m, s, z)| DateTime::new(d, (h, m, s), z).unwrap())
}

fn mailbox_attr() -> impl Strategy<Value = MailboxAttr<'static>> {
    prop_oneof![
        proptest::sample::select(KnownAttr::ALL).prop_map(MailboxAttr::Known),
        x_atom().prop_map(MailboxAttr::Extension),
    ]
}

fn status_items() -> impl Strategy<Value = Vec<StatusItem>> {
    vec(proptest::sample::select(StatusItem::ALL), 1..4)
}

// ---------------------------------------------------------------- search

fn search_key() -> impl Strategy<Value = SearchKey<'static>> {
    use SearchKey as K;
    let leaf = prop_oneof![
        Just(K::All),
        Just(K::Answered),
        Just(K::Deleted),
        Just(K::Draft),
        Just(K::Flagged),
        Just(K::New),
        Just(K::Old),
        Just(K::Recent),
        Just(K::Seen),
        Just(K::Unanswered),
        Just(K::Undeleted),
        Just(K::Undraft),
        Just(K::Unflagged),
        Just(K::Unseen),
        bytes().prop_map(K::Bcc),
        bytes().prop_map(K::Body),
        bytes().prop_map(K::Cc),
        bytes().prop_map(K::From),
        bytes().prop_map(K::Subject),
        bytes().prop_map(K::Text),
        bytes().prop_map(K::To),
        date().prop_map(K::Before),
        date().prop_map(K::On),
        date().prop_map(K::Since),
        date().prop_map(K::SentBefore),
        date().prop_map(K::SentOn),
        date().prop_map(K::SentSince),
        (bytes(), bytes()).prop_map(|(n, v)| K::Header(n, v)),
        atom().prop_map(K::Keyword),
        atom().prop_map(K::Unkeyword),
        u63().prop_map(K::Larger),
        u63().prop_map(K::Smaller),
        nz32().prop_map(K::Older),
        nz32().prop_map(K::Younger),
        sequence_set().prop_map(K::Uid),
        sequence_set().prop_map(K::SequenceSet),
        (
            of((bytes(), proptest::sample::select(EntryType::ALL))),
            u63()
        )
            .prop_map(|(entry, modseq)| K::ModSeq { entry, modseq }),
    ];
    leaf.prop_recursive(4, 16, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|k| K::Not(Box::new(k))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| K::Or(Box::new(a), Box::new(b))),
            vec(inner, 1..3).prop_map(K::And),
        ]
    })
}

fn search_keys() -> impl Strategy<Value = Vec<SearchKey<'static>>> {
    vec(search_key(), 1..3)
}

// ---------------------------------------------------------------- fetch

fn part() -> impl Strategy<Value = Part> {
    vec(nz32(), 1..4).prop_map(|p| Part::new(p).unwrap())
}

fn section() -> impl Strategy<Value = Section<'static>> {
    let names = || vec(bytes(), 1..3);
    prop_oneof![
        part().prop_map(Section::Part),
        of(part()).prop_map(Section::Header),
        (of(part()), names()).prop_map(|(p, n)| Section::HeaderFields(p, n)),
        (of(part()), names()).prop_map(|(p, n)| Section::HeaderFieldsNot(p, n)),
        of(part()).prop_map(Section::Text),
        part().prop_map(Section::Mime),
    ]
}

fn partial() -> impl Strategy<Value = Option<Partial>> {
    of((u63(), nz64()).prop_map(|(offset, length)| Partial { offset, length }))
}

fn fetch_attr() -> impl Strategy<Value = FetchAttr<'static>> {
    use FetchAttr as A;
    prop_oneof![
        Just(A::Envelope),
        Just(A::Flags),
        Just(A::InternalDate),
        Just(A::Rfc822),
        Just(A::Rfc822Header),
        Just(A::Rfc822Size),
        Just(A::Rfc822Text),
        Just(A::Body),
        Just(A::BodyStructure),
        Just(A::Uid),
        Just(A::ModSeq),
        (any::<bool>(), of(section()), partial()).prop_map(|(peek, section, partial)| {
            A::BodySection {
                peek,
                section,
                partial,
            }
        }),
        (any::<bool>(), vec(nz32(), 0..3), partial()).prop_map(|(peek, part, partial)| A::Binary {
            peek,
            part,
            partial
        }),
        vec(nz32(), 0..3).prop_map(|part| A::BinarySize { part }),
    ]
}

fn fetch_attrs() -> impl Strategy<Value = FetchAttrs<'static>> {
    prop_oneof![
        Just(FetchAttrs::All),
        Just(FetchAttrs::Fast),
        Just(FetchAttrs::Full),
        vec(fetch_attr(), 1..4).prop_map(FetchAttrs::List),
    ]
}

// ---------------------------------------------------------------- commands

fn select_params() -> impl Strategy<Value = SelectParams> {
    let qresync = (
        nz32(),
        nz64(),
        of(sequence_set()),
        of((sequence_set(), sequence_set())),
    )
        .prop_map(|(uid_validity, modseq, known_uids, seq_match)| QResync {
            uid_validity,
            modseq,
            known_uids,
            seq_match,
        });
    (any::<bool>(), of(qresync))
        .prop_map(|(condstore, qresync)| SelectParams { condstore, qresync })
}

fn list_command() -> impl Strategy<Value = ListCommand<'static>> {
    let selection = vec(proptest::sample::select(ListSelect::ALL), 0..3).prop_map(|mut s| {
        if s.contains(&ListSelect::RecursiveMatch) {
            s.push(ListSelect::Subscribed);
        }
        s
    });
    let returns = vec(
        prop_oneof![
            Just(ListReturn::Subscribed),
            Just(ListReturn::Children),
            Just(ListReturn::SpecialUse),
            status_items().prop_map(ListReturn::Status),
        ],
        0..3,
    );
    (selection, mailbox(), vec(bytes(), 1..3), returns).prop_map(
        |(selection, reference, patterns, returns)| ListCommand {
            selection,
            reference,
            patterns,
            returns,
        },
    )
}

fn append_message() -> impl Strategy<Value = AppendMessage<'static>> {
    (
        vec(flag(), 0..3),
        of(date_time()),
        any::<bool>(),
        any::<bool>(),
        vec(any::<u8>(), 0..40),
    )
        .prop_map(|(flags, date, binary, utf8, data)| AppendMessage {
            options: AppendOptions { flags, date },
            binary,
            utf8,
            data: Cow::Owned(data),
        })
}

fn command_body() -> impl Strategy<Value = CommandBody<'static>> {
    use CommandBody as C;
    let simple = prop_oneof![
        Just(C::Capability),
        Just(C::Noop),
        Just(C::Logout),
        Just(C::StartTls),
        Just(C::Namespace),
        Just(C::Idle),
        Just(C::Check),
        Just(C::Close),
        Just(C::Unselect),
        Just(C::Expunge),
        sequence_set().prop_map(C::UidExpunge),
        (atom(), of(vec(any::<u8>(), 0..20)))
            .prop_map(|(mechanism, initial)| C::Authenticate { mechanism, initial }),
        (bytes(), bytes()).prop_map(|(username, password)| C::Login { username, password }),
        vec(atom(), 1..3).prop_map(C::Enable),
        of(vec((bytes(), of(bytes())), 0..3)).prop_map(C::Id),
    ];
    let mailboxes = prop_oneof![
        (mailbox(), select_params()).prop_map(|(mailbox, params)| C::Select { mailbox, params }),
        (mailbox(), select_params()).prop_map(|(mailbox, params)| C::Examine { mailbox, params }),
        (mailbox(), vec(mailbox_attr(), 0..3)).prop_map(|(mailbox, special_use)| C::Create {
            mailbox,
            special_use
        }),
        mailbox().prop_map(C::Delete),
        (mailbox(), mailbox()).prop_map(|(from, to)| C::Rename { from, to }),
        mailbox().prop_map(C::Subscribe),
        mailbox().prop_map(C::Unsubscribe),
        list_command().prop_map(C::List),
        (mailbox(), bytes()).prop_map(|(reference, pattern)| C::Lsub { reference, pattern }),
        (mailbox(), status_items()).prop_map(|(mailbox, items)| C::Status { mailbox, items }),
        (mailbox(), vec(append_message(), 1..3))
            .prop_map(|(mailbox, messages)| C::Append { mailbox, messages }),
        bytes().prop_map(C::GetQuota),
        mailbox().prop_map(C::GetQuotaRoot),
        (bytes(), vec((atom(), u63()), 0..3))
            .prop_map(|(root, limits)| C::SetQuota { root, limits }),
    ];
    let sort_criterion = (any::<bool>(), proptest::sample::select(SortKey::ALL))
        .prop_map(|(reverse, key)| SortCriterion { reverse, key });
    let messages = prop_oneof![
        (
            any::<bool>(),
            of(vec(proptest::sample::select(SearchReturn::ALL), 0..3)),
            of(bytes()),
            search_keys()
        )
            .prop_map(|(uid, returns, charset, keys)| C::Search {
                uid,
                returns,
                charset,
                keys
            }),
        (
            any::<bool>(),
            sequence_set(),
            fetch_attrs(),
            of(nz64()),
            any::<bool>()
        )
            .prop_map(|(uid, set, attrs, changed_since, vanished)| C::Fetch {
                uid,
                set,
                attrs,
                modifiers: FetchModifiers {
                    changed_since,
                    vanished
                },
            }),
        (
            any::<bool>(),
            sequence_set(),
            of(u63()),
            prop_oneof![
                Just(StoreMode::Replace),
                Just(StoreMode::Add),
                Just(StoreMode::Remove)
            ],
            any::<bool>(),
            vec(flag(), 0..3),
        )
            .prop_map(
                |(uid, set, unchanged_since, mode, silent, flags)| C::Store {
                    uid,
                    set,
                    unchanged_since,
                    mode,
                    silent,
                    flags
                }
            ),
        (any::<bool>(), sequence_set(), mailbox()).prop_map(|(uid, set, mailbox)| C::Copy {
            uid,
            set,
            mailbox
        }),
        (any::<bool>(), sequence_set(), mailbox()).prop_map(|(uid, set, mailbox)| C::Move {
            uid,
            set,
            mailbox
        }),
        (
            any::<bool>(),
            vec(sort_criterion, 1..3),
            bytes(),
            search_keys()
        )
            .prop_map(|(uid, criteria, charset, keys)| C::Sort {
                uid,
                criteria,
                charset,
                keys
            }),
        (
            any::<bool>(),
            proptest::sample::select(ThreadAlgorithm::ALL),
            bytes(),
            search_keys()
        )
            .prop_map(|(uid, algorithm, charset, keys)| C::Thread {
                uid,
                algorithm,
                charset,
                keys
            }),
    ];
    prop_oneof![simple, mailboxes, messages]
}

/// Any command a client may send, with every argument form the grammar allows.
pub fn command() -> impl Strategy<Value = Command<'static>> {
    (tag(), command_body()).prop_map(|(tag, body)| Command { tag, body })
}

/// `command` as a client writes it.
pub fn encoded(command: &Command<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    command.encode(&mut out);
    out
}

// ---------------------------------------------------------------- responses

/// Free text; without the characters a reader would take for structure (quotes, braces,
/// parentheses: text is not structured), but with CR and LF, which the encoder must
/// neutralise.
fn text() -> impl Strategy<Value = Cow<'static, str>> {
    "[a-zA-Z0-9 .,!?\u{e9}\r\n\\[\\]]{0,12}".prop_map(Cow::Owned)
}

fn code() -> impl Strategy<Value = Code<'static>> {
    prop_oneof![
        proptest::sample::select(PlainCode::ALL).prop_map(Code::Plain),
        vec(bytes(), 0..3).prop_map(Code::BadCharset),
        vec(atom(), 1..3).prop_map(Code::Capability),
        vec(
            prop_oneof![flag().prop_map(FlagPerm::Flag), Just(FlagPerm::AnyKeyword)],
            0..3
        )
        .prop_map(Code::PermanentFlags),
        nz32().prop_map(Code::UidNext),
        (nz32(), sequence_set())
            .prop_map(|(uid_validity, uids)| Code::AppendUid { uid_validity, uids }),
        (nz32(), sequence_set(), sequence_set()).prop_map(|(uid_validity, source, destination)| {
            Code::CopyUid {
                uid_validity,
                source,
                destination,
            }
        }),
        nz64().prop_map(Code::HighestModSeq),
        sequence_set().prop_map(Code::Modified),
    ]
}

fn address() -> impl Strategy<Value = Address<'static>> {
    (of(bytes()), of(bytes()), of(bytes()), of(bytes())).prop_map(|(name, adl, mailbox, host)| {
        Address {
            name,
            adl,
            mailbox,
            host,
        }
    })
}

fn envelope() -> impl Strategy<Value = Envelope<'static>> {
    (
        of(bytes()),
        of(bytes()),
        vec(address(), 0..2),
        vec(address(), 0..2),
        of(bytes()),
    )
        .prop_map(|(date, subject, from, to, message_id)| Envelope {
            date,
            subject,
            sender: from.clone(),
            from,
            to,
            message_id,
            ..Envelope::default()
        })
}

fn body_structure() -> impl Strategy<Value = BodyStructure<'static>> {
    let params = || vec((bytes(), bytes()), 0..2);
    let extension = move || {
        let disposition =
            (bytes(), params()).prop_map(|(kind, params)| Disposition { kind, params });
        (of(disposition), vec(bytes(), 0..2), of(bytes())).prop_map(
            |(disposition, language, location)| BodyExtension {
                disposition,
                language,
                location,
            },
        )
    };
    let fields = (params(), of(bytes()), of(bytes()), bytes(), any::<u32>()).prop_map(
        |(params, id, description, encoding, size)| BodyFields {
            params,
            id,
            description,
            encoding,
            size,
        },
    );
    let leaf = (fields, bytes(), any::<u32>(), of(bytes()), extension()).prop_map(
        |(fields, subtype, lines, md5, extension)| BodyStructure::Single {
            fields,
            kind: SingleKind::Text { subtype, lines },
            md5,
            extension,
        },
    );
    leaf.prop_recursive(3, 8, 3, move |inner| {
        (vec(inner, 1..3), bytes(), params(), extension()).prop_map(
            |(parts, subtype, params, extension)| BodyStructure::Multipart {
                parts,
                subtype,
                params,
                extension,
            },
        )
    })
}

fn fetch_item() -> impl Strategy<Value = FetchItem<'static>> {
    let name = prop_oneof![
        Just(SectionName::Rfc822),
        (of(section()), of(u63()))
            .prop_map(|(section, origin)| SectionName::Body { section, origin }),
        (vec(nz32(), 0..2), of(u63()))
            .prop_map(|(part, origin)| SectionName::Binary { part, origin }),
    ];
    prop_oneof![
        vec(
            prop_oneof![flag().prop_map(FlagFetch::Flag), Just(FlagFetch::Recent)],
            0..3
        )
        .prop_map(FetchItem::Flags),
        date_time().prop_map(FetchItem::InternalDate),
        nz32().prop_map(FetchItem::Uid),
        nz64().prop_map(FetchItem::ModSeq),
        envelope().prop_map(|e| FetchItem::Envelope(Box::new(e))),
        body_structure().prop_map(|b| FetchItem::Body(Box::new(b))),
        body_structure().prop_map(|b| FetchItem::BodyStructure(Box::new(b))),
        (name, of(bytes())).prop_map(|(name, data)| FetchItem::BodySection { name, data }),
    ]
}

/// Any response a server may send: tagged, untagged data, continuation.
pub fn response() -> impl Strategy<Value = Response<'static>> {
    let list_item = (
        vec(mailbox_attr(), 0..3),
        of(any::<char>()),
        mailbox(),
        vec(mailbox().prop_map(ListExtended::OldName), 0..2),
    )
        .prop_map(|(attributes, delimiter, mailbox, extended)| ListItem {
            attributes,
            delimiter,
            mailbox,
            extended,
        });
    let data = prop_oneof![
        (of(code()), text()).prop_map(|(code, text)| Data::Condition {
            condition: Condition::Ok,
            code,
            text
        }),
        list_item.prop_map(Data::List),
        (
            mailbox(),
            vec(
                (proptest::sample::select(StatusItem::ALL), any::<u64>()),
                0..3
            )
        )
            .prop_map(|(mailbox, items)| Data::Status { mailbox, items }),
        (nz32(), vec(fetch_item(), 0..4)).prop_map(|(seq, items)| Data::Fetch { seq, items }),
        (bytes(), vec(bytes(), 0..3)).prop_map(|(root, roots)| Data::QuotaRoot {
            mailbox: Mailbox::new(root),
            roots
        }),
        of(vec((bytes(), of(bytes())), 0..3)).prop_map(Data::Id),
        vec(flag(), 0..3).prop_map(Data::Flags),
    ];
    prop_oneof![
        (tag(), of(code()), text()).prop_map(|(tag, code, text)| Response::Tagged {
            tag,
            status: Status::No,
            code,
            text
        }),
        data.prop_map(Response::Untagged),
        text().prop_map(|text| Response::Continue(Continue::Text { code: None, text })),
    ]
}
