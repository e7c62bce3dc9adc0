//! What each command does to the session: state checks, the commands the
//! session answers itself, and hand-over to the engine of the rest.

use std::borrow::Cow;

use proto_core::sasl::{Credentials, Exchange, Mechanism};

use super::frames::FramerOp;
use super::{Compression, Pending, Phase, ServerSession};
use crate::types::command::{Command, CommandBody};
use crate::types::core::{Atom, Tag};
use crate::types::response::{Code, Data, NamespaceDesc, PlainCode, Status};

/// The SASL mechanisms offered once TLS protects the connection: PLAIN, and
/// LOGIN for the older desktop clients that know no other.
const MECHANISMS: &[Mechanism] = &[Mechanism::Plain, Mechanism::Login];

/// The capabilities of every state, in the order advertised; LITERAL+ (or
/// LITERAL-) and APPENDLIMIT are added where they belong.
const BEFORE_LITERAL: &[&str] = &["IMAP4rev1", "IMAP4rev2"];
const AFTER_LITERAL: &[&str] = &[
    "SASL-IR",
    "ID",
    "ENABLE",
    "IDLE",
    "NAMESPACE",
    "UIDPLUS",
    "MOVE",
    "UNSELECT",
    "CHILDREN",
    "SPECIAL-USE",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "ESEARCH",
    "SEARCHRES",
    "CONDSTORE",
    "QRESYNC",
    "QUOTA",
    "QUOTA=RES-STORAGE",
    "SORT",
    "THREAD=REFERENCES",
    "THREAD=ORDEREDSUBJECT",
    "STATUS=SIZE",
    "UTF8=ACCEPT",
];
const AFTER_APPENDLIMIT: &[&str] = &["MULTIAPPEND", "BINARY", "WITHIN"];

/// The connection state a command needs (RFC 9051 3, 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    Any,
    NotAuthenticated,
    Authenticated,
    Selected,
}

fn needs(body: &CommandBody<'_>) -> Needs {
    use CommandBody as C;
    match body {
        C::Capability | C::Noop | C::Logout | C::Id(_) => Needs::Any,
        C::Compress(_) => Needs::Authenticated,
        C::StartTls | C::Authenticate { .. } | C::Login { .. } => Needs::NotAuthenticated,
        C::Check
        | C::Close
        | C::Unselect
        | C::Expunge
        | C::UidExpunge(_)
        | C::Search { .. }
        | C::Fetch { .. }
        | C::Store { .. }
        | C::Copy { .. }
        | C::Move { .. }
        | C::Sort { .. }
        | C::Thread { .. } => Needs::Selected,
        C::Enable(_)
        | C::Select { .. }
        | C::Examine { .. }
        | C::Create { .. }
        | C::Delete(_)
        | C::Rename { .. }
        | C::Subscribe(_)
        | C::Unsubscribe(_)
        | C::List(_)
        | C::Lsub { .. }
        | C::Namespace
        | C::Status { .. }
        | C::Append { .. }
        | C::Idle
        | C::GetQuota(_)
        | C::GetQuotaRoot(_)
        | C::SetQuota { .. } => Needs::Authenticated,
    }
}

impl ServerSession {
    pub(super) fn handle_command(&mut self, command: Command<'_>) -> FramerOp {
        let allowed = match needs(&command.body) {
            Needs::Any => true,
            Needs::NotAuthenticated => self.user.is_none(),
            Needs::Authenticated => self.user.is_some(),
            Needs::Selected => self.user.is_some() && self.selected.is_some(),
        };
        if !allowed {
            self.bad_state(&command.tag);
            return FramerOp::None;
        }
        let Command { tag, body } = command;
        use CommandBody as C;
        match body {
            C::Capability => {
                let capabilities = self.capabilities();
                self.encode_data(&Data::Capability(capabilities));
                self.ok(&tag, "CAPABILITY completed");
            }
            C::Noop if self.user.is_none() => self.ok(&tag, "NOOP completed"),
            C::Logout => {
                self.bye("Logging out");
                self.ok(&tag, "LOGOUT completed");
                self.close();
            }
            C::Id(_) => {
                let id = vec![(
                    Cow::Borrowed(&b"name"[..]),
                    Some(Cow::Borrowed(&b"Postern"[..])),
                )];
                self.encode_data(&Data::Id(Some(id)));
                self.ok(&tag, "ID completed");
            }
            C::StartTls => return self.starttls(&tag),
            C::Login { username, password } => self.login(tag, &username, &password),
            C::Authenticate { mechanism, initial } => {
                self.authenticate(tag, &mechanism, initial.as_deref());
            }
            C::Enable(capabilities) => self.enable(&tag, &capabilities),
            C::Namespace => {
                let personal = vec![NamespaceDesc {
                    prefix: Cow::Borrowed(&b""[..]),
                    delimiter: Some('/'),
                }];
                self.encode_data(&Data::Namespace {
                    personal,
                    other: Vec::new(),
                    shared: Vec::new(),
                });
                self.ok(&tag, "NAMESPACE completed");
            }
            C::Idle => {
                self.continuation("idling");
                self.common.notify(super::Event::IdleStart);
                self.phase = Phase::Idle {
                    tag: tag.into_owned(),
                };
            }
            // The framer streams APPEND; a whole one can only be malformed.
            C::Append { .. } => self.bad(&tag, "APPEND message must be a literal"),
            C::Compress(_) if self.compression != Compression::Off => {
                self.bad(&tag, "Compression is already active");
            }
            C::Compress(mechanism) if !mechanism.as_str().eq_ignore_ascii_case("DEFLATE") => {
                self.bad(&tag, "Unsupported compression mechanism");
            }
            // The engine decides: it bounds how many connections compress at once.
            C::Compress(_) => {
                self.compression = Compression::Asked;
                self.common.ask(Pending::Execute {
                    tag: tag.clone().into_owned(),
                    command: Some(Command { tag, body }.into_owned()),
                });
            }
            body => self.common.ask(Pending::Execute {
                tag: tag.clone().into_owned(),
                command: Some(Command { tag, body }.into_owned()),
            }),
        }
        FramerOp::None
    }

    /// `BAD` for a command the connection state does not allow.
    pub(super) fn bad_state(&mut self, tag: &Tag<'_>) {
        self.bad(tag, "Command not valid in this state");
    }

    /// What the client may use now (RFC 9051 7.2.2).
    pub(super) fn capabilities(&self) -> Vec<Atom<'static>> {
        let framer = &self.config.framer;
        let literal = if framer.literal_plus {
            "LITERAL+"
        } else {
            "LITERAL-"
        };
        let mut names: Vec<Cow<'static, str>> = Vec::with_capacity(40);
        names.extend(BEFORE_LITERAL.iter().map(|&name| Cow::Borrowed(name)));
        names.push(Cow::Borrowed(literal));
        names.extend(AFTER_LITERAL.iter().map(|&name| Cow::Borrowed(name)));
        names.push(Cow::Owned(format!("APPENDLIMIT={}", framer.max_message)));
        names.extend(AFTER_APPENDLIMIT.iter().map(|&name| Cow::Borrowed(name)));
        if self.user.is_some() && self.compression == Compression::Off {
            names.push(Cow::Borrowed("COMPRESS=DEFLATE"));
        }
        if self.user.is_none() {
            if self.config.starttls && !self.common.is_tls() {
                names.push(Cow::Borrowed("STARTTLS"));
            }
            if self.may_login() {
                names.extend(MECHANISMS.iter().map(|m| Cow::Owned(format!("AUTH={m}"))));
            } else {
                names.push(Cow::Borrowed("LOGINDISABLED"));
            }
        }
        names.into_iter().filter_map(Atom::new).collect()
    }

    /// Whether passwords may be sent now.
    fn may_login(&self) -> bool {
        self.common.is_tls() || self.config.auth_without_tls
    }

    /// `NO [PRIVACYREQUIRED]` unless passwords may be sent now.
    fn refuse_cleartext(&mut self, tag: &Tag<'_>) -> bool {
        if self.may_login() {
            return false;
        }
        let code = Code::Plain(PlainCode::PrivacyRequired);
        let text = "Login not allowed before TLS; use STARTTLS or the TLS port";
        self.tagged(tag, Status::No, Some(code), text);
        self.count_error();
        true
    }

    fn starttls(&mut self, tag: &Tag<'_>) -> FramerOp {
        if self.common.is_tls() {
            self.bad(tag, "TLS is already active");
            FramerOp::None
        } else if !self.config.starttls {
            self.bad(tag, "STARTTLS is not available");
            FramerOp::None
        } else {
            self.ok(tag, "Begin TLS negotiation now");
            self.common.start_tls();
            FramerOp::None
        }
    }

    fn login(&mut self, tag: Tag<'_>, username: &[u8], password: &[u8]) {
        if self.refuse_cleartext(&tag) {
            return;
        }
        let (Ok(username), Ok(password)) =
            (std::str::from_utf8(username), std::str::from_utf8(password))
        else {
            return self.bad(&tag, "User name and password must be UTF-8");
        };
        let credentials = Credentials::new(username.to_owned(), password.to_owned());
        self.common.ask(Pending::Login {
            tag: tag.into_owned(),
            credentials,
        });
    }

    fn authenticate(&mut self, tag: Tag<'_>, mechanism: &Atom<'_>, initial: Option<&[u8]>) {
        if self.refuse_cleartext(&tag) {
            return;
        }
        let offered = Mechanism::from_name(mechanism.as_str()).filter(|m| MECHANISMS.contains(m));
        let Some(mechanism) = offered else {
            let code = Code::Plain(PlainCode::Cannot);
            let text = "Unsupported authentication mechanism";
            return self.tagged(&tag, Status::No, Some(code), text);
        };
        let next = match initial {
            // SASL-IR (RFC 4959), base64-decoded by the parser.
            Some(message) => Exchange::new(mechanism).respond(message),
            None => Exchange::start(mechanism, None),
        };
        self.sasl(tag.into_owned(), next);
    }

    /// ENABLE (RFC 5161): turns on what we know, ignores the rest, and lists
    /// what this command turned on. UTF8=ACCEPT changes how strings are read
    /// and written, so it must come before any mailbox is selected (RFC 6855
    /// 3): asked for later, the whole command is `BAD`.
    fn enable(&mut self, tag: &Tag<'_>, requested: &[Atom<'_>]) {
        let before = self.enabled;
        let asked = |name: &str| {
            requested
                .iter()
                .any(|a| a.as_str().eq_ignore_ascii_case(name))
        };
        if asked("UTF8=ACCEPT") && self.selected.is_some() {
            return self.bad(tag, "ENABLE UTF8=ACCEPT is only valid before SELECT");
        }
        let enabled = &mut self.enabled;
        if asked("CONDSTORE") {
            enabled.condstore = true;
        }
        if asked("QRESYNC") {
            enabled.qresync = true;
            enabled.condstore = true;
        }
        if asked("IMAP4rev2") {
            enabled.imap4rev2 = true;
        }
        if asked("UTF8=ACCEPT") {
            enabled.utf8_accept = true;
        }
        let after = self.enabled;
        let turned_on = [
            ("CONDSTORE", before.condstore, after.condstore),
            ("QRESYNC", before.qresync, after.qresync),
            ("IMAP4rev2", before.imap4rev2, after.imap4rev2),
            ("UTF8=ACCEPT", before.utf8_accept, after.utf8_accept),
        ];
        let listed = turned_on
            .into_iter()
            .filter(|&(name, was, is)| asked(name) && !was && is)
            .filter_map(|(name, ..)| Atom::new(name))
            .collect();
        self.encode_data(&Data::Enabled(listed));
        self.ok(tag, "ENABLE completed");
    }
}
