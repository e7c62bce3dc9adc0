//! Parsing and running conversation scripts (the format is described at the crate root).

use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use engine::Engine;
use engine::directory::password_rules::PasswordRules;
use engine::directory::tokens;
use engine::listener::{self, Listener, Protocol};
use engine::store::dav::{Access, CollectionKind};
use engine::store::{ApiToken, Delivery, Store, Stored, TokenScope};
use engine::web::{Endpoint, Security, Service, WebConfig};
use proto_smtp::{BareLf, Mode};
use store_redb::RedbStore;

use crate::expect::{Expect, Member, Stated};
use crate::wire::{Conversation, Event, InlineExecutor, SessionFuture, glob};

/// Runs the script in `path`; the error names the file and the failing line.
pub fn run_file(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    run_script(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The protocols a script can talk.
#[derive(Clone, Copy)]
enum Kind {
    Smtp,
    Pop3,
    Imap,
    Http,
    ManageSieve,
}

/// The sessions a script can talk to, as `@protocol` selects and `@config` adjusts.
struct Sessions {
    kind: Kind,
    smtp: proto_smtp::ServerConfig,
    pop3: proto_pop3::ServerConfig,
    imap: proto_imap::ServerConfig,
    managesieve: proto_managesieve::ServerConfig,
    implicit_tls: bool,
}

impl Sessions {
    fn listener(self) -> Listener {
        let protocol = match self.kind {
            Kind::Smtp => Protocol::Smtp(Arc::new(self.smtp)),
            Kind::Pop3 => Protocol::Pop3(Arc::new(self.pop3)),
            Kind::Imap => Protocol::Imap(Arc::new(self.imap)),
            Kind::Http => Protocol::Http(Arc::new(proto_dav::ServerConfig::new("Postern"))),
            Kind::ManageSieve => Protocol::ManageSieve(Arc::new(self.managesieve)),
        };
        Listener::new(protocol, self.implicit_tls, None, usize::MAX)
    }
}

/// The conversation as parsed: the sessions' names and every turn in script order.
#[derive(Default)]
struct Turns {
    names: Vec<String>,
    current: Option<usize>,
    turns: Vec<(usize, usize, Event)>,
}

impl Turns {
    /// `@session NAME`: the turns that follow belong to this connection.
    fn switch(&mut self, name: &str) {
        let index = match self.names.iter().position(|n| n == name) {
            Some(index) => index,
            None => {
                self.names.push(name.to_string());
                self.names.len() - 1
            }
        };
        self.current = Some(index);
    }

    fn push(&mut self, line: usize, event: Event) {
        if self.current.is_none() {
            self.switch("main");
        }
        let session = self.current.unwrap_or(0);
        self.turns.push((session, line, event));
    }

    /// A `U:`/`U?:` line: joins the group right before it in the same session, or starts one.
    fn push_member(&mut self, line: usize, member: Member) {
        if let Some((session, _, Event::Expect(expect))) = self.turns.last_mut()
            && Some(*session) == self.current
            && expect.join(member.clone())
        {
            return;
        }
        self.push(line, Event::Expect(Expect::AnyOrder(vec![member])));
    }
}

/// Runs one conversation script (SMTP unless it says `@protocol pop3` or `@protocol imap`)
/// against a fresh store.
pub fn run_script(text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut engine = Engine::new(
        RedbStore::open(dir.path()).map_err(|e| e.to_string())?,
        "mx.test",
    );
    engine.set_web(standard_ports());
    // Scripts' fixtures log in with short passwords (`@user alice@example.test secret`);
    // `@password_rules default` puts the server's rules back for a script that checks them.
    engine.set_password_rules(PasswordRules {
        min_length: 1,
        refuse_guessable: false,
    });
    let mut engine = Arc::new(engine);
    let mut sessions = Sessions {
        kind: Kind::Smtp,
        smtp: proto_smtp::ServerConfig::new("mx.test"),
        pop3: proto_pop3::ServerConfig::new("mx.test"),
        imap: proto_imap::ServerConfig::new("mx.test"),
        managesieve: engine::managesieve::session_config("mx.test"),
        implicit_tls: false,
    };
    let mut turns = Turns::default();
    let mut checks = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let fail = |msg: &str| format!("line {line}: {msg}: {raw:?}");
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(stated) = Stated::of(raw) {
            match stated {
                Stated::Line(pattern) => {
                    turns.push(line, Event::Expect(Expect::Line(pattern.into())))
                }
                Stated::Repeated(pattern) => {
                    turns.push(line, Event::Expect(Expect::Repeated(pattern.into())));
                }
                Stated::Member(member) => turns.push_member(line, member),
            }
        } else if let Some(text) = raw.strip_prefix("C: ").or(raw.strip_prefix("C:")) {
            // As written: IMAP's `\Seen` and `\Recent` are not escapes.
            let mut bytes = text.as_bytes().to_vec();
            bytes.extend_from_slice(b"\r\n");
            turns.push(line, Event::Send(bytes));
        } else if let Some(text) = raw.strip_prefix("R: ") {
            turns.push(line, Event::Send(unescape(text)));
        } else if let Some(directive) = trimmed.strip_prefix('@') {
            let words: Vec<&str> = directive.split_whitespace().collect();
            let in_conversation = !turns.turns.is_empty();
            match words.as_slice() {
                // Where another server answers otherwise: for runs against it.
                ["differs", ..] => {}
                ["timeout"] => turns.push(line, Event::Timeout),
                ["shutdown"] => turns.push(line, Event::Shutdown),
                ["session", name] => turns.switch(name),
                ["mailbox" | "message" | "queued" | "queue", ..] => {
                    checks.push((line, directive));
                }
                ["share", owner, collection, sharee, access] => {
                    let access = match *access {
                        "read" => Some(Access::Read),
                        "read-write" => Some(Access::ReadWrite),
                        "none" => None,
                        _ => return Err(fail("the access is read, read-write or none")),
                    };
                    let engine = engine.clone();
                    let [owner, collection, sharee] =
                        [owner, collection, sharee].map(|w| w.to_string());
                    let action = move || {
                        engine
                            .share(
                                &owner,
                                CollectionKind::Calendar,
                                &collection,
                                &sharee,
                                access,
                            )
                            .map_err(|e| e.to_string())
                    };
                    if in_conversation {
                        turns.push(line, Event::Run(Box::new(action)));
                    } else {
                        action().map_err(|e| fail(&e))?;
                    }
                }
                // The rest of the line, escapes turned into bytes, is the user's active
                // Sieve script.
                ["sieve", email, ..] if !in_conversation => {
                    let source = unescape(directive.splitn(3, ' ').nth(2).unwrap_or(""));
                    let source = String::from_utf8(source).map_err(|_| fail("not UTF-8"))?;
                    engine
                        .put_sieve_script(email, "testkit", &source, true)
                        .map_err(|e| fail(&e.to_string()))?;
                }
                // Another script of the user, not active: one an `include` names.
                ["sieve_script", email, name, ..] if !in_conversation => {
                    let source = unescape(directive.splitn(4, ' ').nth(3).unwrap_or(""));
                    let source = String::from_utf8(source).map_err(|_| fail("not UTF-8"))?;
                    engine
                        .put_sieve_script(email, name, &source, false)
                        .map_err(|e| fail(&e.to_string()))?;
                }
                ["screener", email] if !in_conversation => {
                    engine
                        .set_screener(email, true)
                        .map_err(|e| fail(&e.to_string()))?;
                }
                ["webhook", scope, url] if !in_conversation => {
                    engine
                        .add_webhook(&engine::store::WebhookScope::from_key(scope), url, "")
                        .map_err(|e| fail(&e.to_string()))?;
                }
                ["webhook_only", domain] if !in_conversation => {
                    engine
                        .set_webhook_only(domain, true)
                        .map_err(|e| fail(&e.to_string()))?;
                }
                ["undo_send", email, seconds] if !in_conversation => {
                    let seconds = seconds.parse().map_err(|_| fail("seconds are a number"))?;
                    engine
                        .set_undo_seconds(email, seconds)
                        .map_err(|e| fail(&e.to_string()))?;
                }
                ["vip", email, sender] if !in_conversation => {
                    engine
                        .set_vip_sender(email, sender, true)
                        .map_err(|e| fail(&e.to_string()))?;
                }
                // A disposable alias with a known address (the engine makes random ones), on
                // or off.
                ["disposable", address, email, state @ ("on" | "off")] if !in_conversation => {
                    let account = engine
                        .store()
                        .account(email)
                        .map_err(|e| fail(&e.to_string()))?
                        .ok_or_else(|| fail("no such account"))?;
                    let alias = engine::store::DisposableAlias {
                        address: address.to_string(),
                        account: account.id,
                        created: 0,
                        uses: 0,
                        last_used: None,
                        enabled: *state == "on",
                        note: String::new(),
                    };
                    engine
                        .store()
                        .add_disposable_alias(&alias)
                        .map_err(|e| fail(&e.to_string()))?;
                }
                ["deliver", email, ..] => {
                    let body = unescape(directive.splitn(3, ' ').nth(2).unwrap_or(""));
                    let (engine, email) = (engine.clone(), email.to_string());
                    let action = move || deliver(&engine, &email, &body);
                    if in_conversation {
                        turns.push(line, Event::Run(Box::new(action)));
                    } else {
                        action().map_err(|e| fail(&e))?;
                    }
                }
                _ if in_conversation => {
                    return Err(fail("set-up directives must come before the conversation"));
                }
                words => set_up(&mut engine, &mut sessions, words).map_err(|e| fail(&e))?,
            }
        } else {
            return Err(fail("a line must start with S:, U:, U?:, C:, R:, @ or #"));
        }
    }

    let http = matches!(sessions.kind, Kind::Http);
    let listener = sessions.listener();
    let conversation = Conversation::new(turns.names.clone(), turns.turns, http);
    let mut connections: Vec<_> = (0..turns.names.len())
        .map(|session| conversation.connection(session))
        .collect();
    let futures = connections
        .iter_mut()
        .zip(40000u16..)
        .map(|(conn, port)| {
            let peer = SocketAddr::from(([192, 0, 2, 1], port));
            Box::pin(listener::serve(
                engine.clone(),
                InlineExecutor,
                &listener,
                peer,
                conn,
            )) as SessionFuture<'_>
        })
        .collect();
    conversation.run(futures)?;
    for (line, directive) in checks {
        check(&engine, directive).map_err(|e| format!("line {line}: {e}"))?;
    }
    Ok(())
}

/// Whether a set-up call worked, as a script error.
fn done<T>(result: Result<T, engine::Error>) -> Result<(), String> {
    result.map(drop).map_err(|e| e.to_string())
}

/// What the web pages describe in scripts: a server listening on the standard ports of
/// each service, as a real one would.
fn standard_ports() -> WebConfig {
    let endpoints = [
        ("smtp", Service::Mx, Security::StartTls, 25),
        ("submission", Service::Submission, Security::StartTls, 587),
        ("submissions", Service::Submission, Security::Tls, 465),
        ("imap", Service::Imap, Security::StartTls, 143),
        ("imaps", Service::Imap, Security::Tls, 993),
        ("pop3s", Service::Pop3, Security::Tls, 995),
        ("https", Service::Http, Security::Tls, 443),
    ];
    WebConfig {
        endpoints: endpoints
            .into_iter()
            .map(|(name, service, security, port)| Endpoint {
                name,
                service,
                security,
                address: SocketAddr::from(([192, 0, 2, 25], port)),
            })
            .collect(),
        ..WebConfig::default()
    }
}

/// Carries out a set-up directive: `@domain`, `@user`, `@alias`, `@disabled`, `@postmaster`, `@config`,
/// `@admin`, `@token`, `@admin_network`, `@password_rules default`, `@protocol`.
fn set_up(
    engine: &mut Arc<Engine<RedbStore>>,
    sessions: &mut Sessions,
    words: &[&str],
) -> Result<(), String> {
    match words {
        ["domain", name] => done(engine.add_domain(name)),
        ["user", email, password] => done(engine.add_user(email, password, None, false)),
        ["user", email, password, quota] => {
            let quota = quota.parse().map_err(|_| "quota must be a number")?;
            done(engine.add_user(email, password, Some(quota), false))
        }
        ["alias", source, target] => done(engine.add_alias(source, target)),
        ["disabled", email] => done(engine.set_disabled(email, true)),
        ["admin", email] => engine.set_admin(email, true).map_err(|e| e.to_string()),
        ["postmaster", email] => Arc::get_mut(engine)
            .ok_or("@postmaster must come before @deliver")?
            .set_postmaster(email)
            .map_err(|e| e.to_string()),
        ["config", key, value] => configure(sessions, key, value),
        ["password_rules", "default"] => {
            Arc::get_mut(engine)
                .ok_or("@password_rules must come before @deliver")?
                .set_password_rules(PasswordRules::default());
            Ok(())
        }
        ["token", scope, secret] => {
            let scope = match *scope {
                "admin" => TokenScope::Admin,
                email => TokenScope::User(email.to_string()),
            };
            let token = ApiToken {
                digest: tokens::digest(secret),
                scope,
                note: String::new(),
                created: 0,
            };
            engine.store().put_token(&token).map_err(|e| e.to_string())
        }
        ["admin_network", network] => {
            let network = network
                .parse()
                .map_err(|e| format!("@admin_network: {e}"))?;
            let engine = Arc::get_mut(engine).ok_or("@admin_network must come first")?;
            let mut web = engine.web().clone();
            web.admin_networks.push(network);
            engine.set_web(web);
            Ok(())
        }
        ["protocol", name] => {
            sessions.kind = match *name {
                "smtp" => Kind::Smtp,
                "pop3" => Kind::Pop3,
                "imap" => Kind::Imap,
                "http" => Kind::Http,
                "managesieve" => Kind::ManageSieve,
                _ => return Err("unknown protocol".into()),
            };
            Ok(())
        }
        _ => Err("unknown directive".into()),
    }
}

/// Session settings a script can change with `@config KEY VALUE`: `starttls`,
/// `auth_without_tls` and `implicit_tls` (true or false) for every protocol;
/// `max_message_size` for SMTP and IMAP (APPENDLIMIT); `mode`, `bare_lf` and
/// `max_recipients` for SMTP; `literal_plus` and `max_errors` for IMAP.
fn configure(sessions: &mut Sessions, key: &str, value: &str) -> Result<(), String> {
    let flag = || match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{key} takes true or false")),
    };
    let number = || {
        value
            .parse::<usize>()
            .map_err(|_| format!("{key} takes a number"))
    };
    let smtp = &mut sessions.smtp;
    let pop3 = &mut sessions.pop3;
    let imap = &mut sessions.imap;
    let managesieve = &mut sessions.managesieve;
    match key {
        "mode" => {
            smtp.mode = match value {
                "mx" => Mode::Mx,
                "submission" => Mode::Submission,
                _ => return Err("mode is mx or submission".into()),
            }
        }
        "bare_lf" => {
            smtp.bare_lf = match value {
                "normalize" => BareLf::Normalize,
                "reject" => BareLf::Reject,
                _ => return Err("bare_lf is normalize or reject".into()),
            }
        }
        "auth_without_tls" => {
            smtp.auth_without_tls = flag()?;
            pop3.auth_without_tls = flag()?;
            imap.auth_without_tls = flag()?;
            managesieve.auth_without_tls = flag()?;
        }
        "starttls" => {
            smtp.starttls = flag()?;
            pop3.stls = flag()?;
            imap.starttls = flag()?;
            managesieve.starttls = flag()?;
        }
        "implicit_tls" => sessions.implicit_tls = flag()?,
        "max_message_size" => {
            smtp.max_message_size = number()? as u64;
            imap.framer.max_message = u32::try_from(number()?).unwrap_or(u32::MAX);
        }
        "literal_plus" => imap.framer.literal_plus = flag()?,
        "max_errors" => imap.max_errors = u32::try_from(number()?).unwrap_or(u32::MAX),
        "max_recipients" => smtp.max_recipients = number()?,
        _ => return Err(format!("unknown setting {key}")),
    }
    Ok(())
}

/// `@deliver EMAIL TEXT`: puts a message straight into the account's INBOX, without the
/// summary an SMTP delivery attaches (IMAP derives it on first use).
fn deliver<S: Store>(engine: &Engine<S>, email: &str, body: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let store = engine.store();
    let account = store
        .account(email)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no account {email}"))?;
    let mut spool = store.create_spool().map_err(|e| e.to_string())?;
    spool.write_all(body).map_err(|e| e.to_string())?;
    let delivery = Delivery {
        account: account.id,
        mailbox: "INBOX".into(),
        flags: 0,
        keywords: Vec::new(),
        internal_date: 0,
    };
    let stored = store
        .deliver(spool, &[delivery])
        .and_then(Stored::all_or_over_quota)
        .map_err(|e| e.to_string())?;
    // An IDLE session on the mailbox hears of it, as of a delivery over SMTP.
    for d in stored.delivered {
        engine.changes().notify(d.mailbox);
    }
    Ok(())
}

/// `@queued SENDER RECIPIENT...`: a queued message from `SENDER` to exactly these
/// recipients, all still pending.
fn check_queued<S: Store>(engine: &Engine<S>, envelope: &str) -> Result<(), String> {
    let mut words = envelope.split_whitespace();
    let sender = match words.next().unwrap_or("") {
        "<>" => "",
        sender => sender,
    };
    let recipients: Vec<&str> = words.collect();
    let queue = engine.store().queue().map_err(|e| e.to_string())?;
    let found = queue.iter().any(|message| {
        message.envelope.sender == sender
            && message
                .recipients
                .iter()
                .map(|r| r.address.as_str())
                .eq(recipients.iter().copied())
            && message
                .recipients
                .iter()
                .all(|r| r.state == engine::queue::State::Pending)
    });
    if found {
        Ok(())
    } else {
        let queued: Vec<String> = queue
            .iter()
            .map(|m| {
                let to: Vec<&str> = m.recipients.iter().map(|r| r.address.as_str()).collect();
                format!("{} -> {}", m.envelope.sender, to.join(" "))
            })
            .collect();
        Err(format!(
            "no queued message from {sender} to {recipients:?}; the queue holds {queued:?}"
        ))
    }
}

/// `@mailbox EMAIL MAILBOX COUNT` and `@message EMAIL MAILBOX N PATTERN`.
fn check<S: Store>(engine: &Engine<S>, directive: &str) -> Result<(), String> {
    if let Some(envelope) = directive.strip_prefix("queued ") {
        return check_queued(engine, envelope);
    }
    if let Some(count) = directive.strip_prefix("queue ") {
        let held = engine.store().queue_len().map_err(|e| e.to_string())?;
        return match count.trim().parse::<u64>() {
            Ok(count) if count == held => Ok(()),
            Ok(count) => Err(format!("the queue holds {held} messages, not {count}")),
            Err(_) => Err(format!("{count:?} is not a number")),
        };
    }
    let mut words = directive.splitn(5, ' ');
    let (kind, email, mailbox, number) = (
        words.next().unwrap_or(""),
        words.next().unwrap_or(""),
        words.next().unwrap_or(""),
        words.next().unwrap_or(""),
    );
    let store = engine.store();
    let account = store
        .account(email)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no account {email}"))?;
    let mailbox_id = store
        .mailboxes(account.id)
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|m| m.name == mailbox)
        .ok_or_else(|| format!("no mailbox {mailbox}"))?
        .id;
    let messages = store.messages(mailbox_id).map_err(|e| e.to_string())?;
    let number: usize = number
        .parse()
        .map_err(|_| format!("{number:?} is not a number"))?;
    match kind {
        "mailbox" if messages.len() == number => Ok(()),
        "mailbox" => Err(format!(
            "{email} {mailbox} holds {} messages, not {number}",
            messages.len()
        )),
        _ => {
            let pattern =
                String::from_utf8_lossy(&unescape(words.next().unwrap_or("*"))).into_owned();
            let message = messages
                .get(number.wrapping_sub(1))
                .ok_or_else(|| format!("{email} {mailbox} has no message {number}"))?;
            let mut body = Vec::new();
            store
                .read_blob(&message.blob)
                .map_err(|e| e.to_string())?
                .read_to_end(&mut body)
                .map_err(|e| e.to_string())?;
            let body = String::from_utf8_lossy(&body);
            if glob(&pattern, &body) {
                Ok(())
            } else {
                Err(format!(
                    "message {number} of {email} {mailbox} does not match {pattern:?}:\n{body}"
                ))
            }
        }
    }
}

/// Turns `\r`, `\n`, `\t`, `\0` and `\\` into the bytes they name.
pub(crate) fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut utf8 = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('0') => out.push(0),
            Some(other) => {
                let mut utf8 = [0; 4];
                out.extend_from_slice(other.encode_utf8(&mut utf8).as_bytes());
            }
            None => out.push(b'\\'),
        }
    }
    out
}
