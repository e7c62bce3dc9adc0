//! Conversation scripts against any server over TCP: the same `C:`/`R:`/`S:` lines, sent to
//! and read from a real connection (plain, STARTTLS or implicit TLS), so the expectations
//! Postern's scripts hold can be checked against Dovecot, Postfix or any other server.
//!
//! What only the in-process engine can do is not tried: a script that sets the server's
//! configuration (`@config`, but for `implicit_tls` and `starttls`, which the URL's scheme
//! must match, and `mode submission`, which [`Options::submission`] must say), delivers or
//! shares during the conversation, waits out a timeout or shuts down is skipped, saying
//! why; the store's checks after the conversation (`@mailbox`, `@queue`,
//! `@message`, `@queued`) are left out, the conversation itself checked. Set-up directives
//! (`@domain`, `@user`, `@alias`, …) describe what the server must hold, the messages a
//! set-up delivers too once a harness put them there ([`Options::prepared`], [`Fixture`]);
//! `@differs KIND reason` skips a script on that kind of server. The first `@user`'s address
//! and password are replaced in client lines by `--user` and `--password` when given,
//! inside base64 words too, and a literal announced before them announces their new length.
//! A client line ending in `STARTTLS` (IMAP, SMTP) or `STLS` (POP3) that the server accepts
//! starts TLS right after its answer, as a client does.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use engine::client_tls::ClientTls;
use engine::io::TlsCheck;
use rustls::{ClientConnection, StreamOwned};
use rustls_pki_types::ServerName;

use crate::expect::{Expect, Stated, Verdict};
use crate::script::unescape;
use crate::wire::substitute;

/// What a script is run against: `imap://host:143`, `imaps://host:993`, `smtp://…`,
/// `smtps://…`, `pop3://…`, `pop3s://…`, `sieve://host:4190` (ManageSieve).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub protocol: &'static str,
    /// TLS from the first byte.
    pub implicit_tls: bool,
    pub host: String,
    pub port: u16,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            format!("{url:?}: expected scheme://host:port, such as imap://127.0.0.1:143")
        })?;
        let (protocol, implicit_tls, default_port) = match scheme {
            "smtp" => ("smtp", false, 25),
            "smtps" => ("smtp", true, 465),
            "imap" => ("imap", false, 143),
            "imaps" => ("imap", true, 993),
            "pop3" => ("pop3", false, 110),
            "pop3s" => ("pop3", true, 995),
            "sieve" => ("managesieve", false, 4190),
            _ => {
                return Err(format!(
                    "{scheme:?}: use smtp, smtps, imap, imaps, pop3, pop3s or sieve"
                ));
            }
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(':') => (
                host,
                port.parse()
                    .map_err(|_| format!("{url:?}: {port:?} is not a port"))?,
            ),
            _ => (rest, default_port),
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if host.is_empty() {
            return Err(format!("{url:?}: no host"));
        }
        Ok(Target {
            protocol,
            implicit_tls,
            host,
            port,
        })
    }
}

/// The longest server line read: a server that never ends one is a failure, not a client
/// that grows without end.
const MAX_LINE: usize = 1 << 20;

/// How scripts are run against a target.
#[derive(Clone, Debug)]
pub struct Options {
    /// Accept any certificate (a self-signed test server's).
    pub insecure: bool,
    /// Put in place of the script's first `@user` address and password.
    pub user: Option<String>,
    pub password: Option<String>,
    /// The longest wait for a line from the server.
    pub wait: Duration,
    /// The account holds the messages each script delivers in its set-up (a harness put
    /// them there, see [`Fixture`]); otherwise such scripts are skipped.
    pub prepared: bool,
    /// The kind of server run against (`dovecot`, `postfix`, …): scripts marked
    /// `@differs KIND reason` are skipped with that reason.
    pub server: Option<String>,
    /// On a plain URL, take up TLS (STARTTLS, or STLS) right after the greeting, so that
    /// scripts written for TLS from the start run on a port that offers it; a script that
    /// takes up TLS itself (`@config starttls true`) is left to do so.
    pub starttls: bool,
    /// The SMTP port is a submission port (RFC 6409): the scripts written for one
    /// (`@config mode submission`) run, those for a mail exchanger are skipped.
    pub submission: bool,
}

/// What a script's set-up says the server holds: its first account, and the messages
/// delivered before the conversation starts, for a harness that prepares a server before
/// running the script with [`Options::prepared`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fixture {
    /// The first `@user`: address and password.
    pub user: Option<(String, String)>,
    /// Each set-up `@deliver`: the account and the message, in script order.
    pub messages: Vec<(String, Vec<u8>)>,
}

impl Fixture {
    pub fn of(text: &str) -> Fixture {
        let mut fixture = Fixture::default();
        for raw in text.lines() {
            let trimmed = raw.trim_start();
            if Stated::of(raw).is_some() || raw.starts_with("C:") || raw.starts_with("R: ") {
                break;
            }
            let Some(directive) = trimmed.strip_prefix('@') else {
                continue;
            };
            match directive.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["user", email, password, ..] if fixture.user.is_none() => {
                    fixture.user = Some((email.to_string(), password.to_string()));
                }
                ["deliver", email, ..] => {
                    let message = unescape(directive.splitn(3, ' ').nth(2).unwrap_or(""));
                    fixture.messages.push((email.to_string(), message));
                }
                _ => {}
            }
        }
        fixture
    }
}

/// How one script went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// Not run against a remote server, and why.
    Skipped(String),
    /// Which line, what was expected and what came.
    Failed(String),
}

/// One script line to act on: in a session, on a script line.
enum Step {
    Send(Vec<u8>),
    Expect(Expect),
}

/// A script ready to run remotely.
struct Parsed {
    /// Its lines, by session.
    steps: Vec<(usize, String, Step)>,
    /// It takes up TLS itself (`@config starttls true`).
    own_tls: bool,
}

pub fn run_script(text: &str, target: &Target, options: &Options) -> Outcome {
    let parsed = match parse(text, target, options) {
        Ok(parsed) => parsed,
        Err(skipped) => return Outcome::Skipped(skipped),
    };
    let options = Options {
        starttls: options.starttls && !parsed.own_tls,
        ..options.clone()
    };
    match Run::new(target, &options).and_then(|mut run| run.steps(parsed.steps)) {
        Ok(()) => Outcome::Passed,
        Err(failed) => Outcome::Failed(failed),
    }
}

/// The script as steps of named sessions, or why it cannot be run remotely.
fn parse(text: &str, target: &Target, options: &Options) -> Result<Parsed, String> {
    let (mut own_tls, mut for_submission) = (false, false);
    let mut steps = Vec::new();
    let mut session = String::new();
    let mut protocol = "smtp".to_string();
    let mut fixture: Option<(String, String)> = None;
    // Each session's last client bytes as written, and where they are in `steps`: a literal
    // they announce is the next bytes, whose length may change with the credentials.
    let mut announced: HashMap<String, (usize, Vec<u8>)> = HashMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let replace = |bytes: Vec<u8>| match &fixture {
            Some((email, password)) => {
                let swap = |text: &str| {
                    let text = (options.user.as_ref())
                        .map_or(text.to_string(), |u| text.replace(email, u));
                    (options.password.as_ref()).map_or(text.clone(), |p| text.replace(password, p))
                };
                replace_credentials(&bytes, &swap)
            }
            None => bytes,
        };
        if let Some(stated) = Stated::of(raw) {
            match stated {
                Stated::Line(pattern) => {
                    steps.push((
                        line,
                        session.clone(),
                        Step::Expect(Expect::Line(pattern.into())),
                    ));
                }
                Stated::Repeated(pattern) => {
                    let repeated = Expect::Repeated(pattern.into());
                    steps.push((line, session.clone(), Step::Expect(repeated)));
                }
                Stated::Member(member) => {
                    let joined = match steps.last_mut() {
                        Some((_, owner, Step::Expect(group))) if *owner == session => {
                            group.join(member.clone())
                        }
                        _ => false,
                    };
                    if !joined {
                        let group = Expect::AnyOrder(vec![member]);
                        steps.push((line, session.clone(), Step::Expect(group)));
                    }
                }
            }
        } else if let Some(bytes) = raw
            .strip_prefix("C: ")
            .or(raw.strip_prefix("C:"))
            .map(|text| [text.as_bytes(), b"\r\n"].concat())
            .or_else(|| raw.strip_prefix("R: ").map(unescape))
        {
            if let Some((at, previous)) = announced.get(&session)
                && let Some((length, plus)) = literal(previous)
                && let Some(content) = bytes.get(..length)
                && let (_, _, Step::Send(sent)) = &mut steps[*at]
            {
                let new = replace(content.to_vec()).len();
                let cut = sent.iter().rposition(|&b| b == b'{').unwrap_or(sent.len());
                sent.truncate(cut);
                sent.extend_from_slice(format!("{{{new}{plus}}}\r\n").as_bytes());
            }
            announced.insert(session.clone(), (steps.len(), bytes.clone()));
            steps.push((line, session.clone(), Step::Send(replace(bytes))));
        } else if let Some(directive) = trimmed.strip_prefix('@') {
            let words: Vec<&str> = directive.split_whitespace().collect();
            match words.as_slice() {
                ["session", name] => session = name.to_string(),
                ["protocol", name] => protocol = name.to_string(),
                ["user", email, password, ..] if fixture.is_none() => {
                    fixture = Some((email.to_string(), password.to_string()));
                }
                // How the connection is protected is what the URL says.
                ["config", "implicit_tls", "true"] if !target.implicit_tls && !options.starttls => {
                    return Err(format!(
                        "line {line}: a script for TLS from the start ({}s://)",
                        target.protocol
                    ));
                }
                ["config", "starttls", "true"] if target.implicit_tls => {
                    return Err(format!(
                        "line {line}: a script for STARTTLS ({}://)",
                        target.protocol
                    ));
                }
                ["config", "starttls", "true"] => own_tls = true,
                ["config", "implicit_tls", "true"] => {}
                ["config", "mode", "submission"] if !options.submission => {
                    return Err(format!(
                        "line {line}: a script for a submission port (--submission)"
                    ));
                }
                ["config", "mode", "submission"] => for_submission = true,
                ["differs", server, ..] if options.server.as_deref() == Some(*server) => {
                    let reason = directive.splitn(3, ' ').nth(2).unwrap_or("").trim();
                    return Err(format!("line {line}: differs on {server}: {reason}"));
                }
                ["differs", ..] => {}
                ["deliver", ..] if steps.is_empty() && options.prepared => {}
                ["deliver", ..] if steps.is_empty() => {
                    return Err(format!(
                        "line {line}: the account must hold the script's messages first \
                         (prepare them and pass --prepared)"
                    ));
                }
                // What the engine's store holds afterwards: the conversation is checked.
                ["mailbox" | "message" | "queued" | "queue", ..] => {}
                [
                    kind @ ("config" | "deliver" | "share" | "timeout" | "shutdown"),
                    ..,
                ] => {
                    return Err(format!("line {line}: @{kind} needs the in-process engine"));
                }
                // What the server must hold: prepared by whoever runs the script.
                _ => {}
            }
        } else {
            return Err(format!("line {line}: not a script line"));
        }
    }
    if protocol != target.protocol {
        return Err(format!("a script for {protocol}, not {}", target.protocol));
    }
    if options.submission && !for_submission {
        return Err("a script for a mail exchanger's port (run without --submission)".into());
    }
    Ok(Parsed { steps, own_tls })
}

/// The length a client line's closing literal announces (`{18}` or `{18+}` before its
/// CRLF), with its `+`.
fn literal(line: &[u8]) -> Option<(usize, &'static str)> {
    let text = std::str::from_utf8(line).ok()?.strip_suffix("\r\n")?;
    let inside = text.strip_suffix('}')?.rsplit_once('{')?.1;
    match inside.strip_suffix('+') {
        Some(digits) => Some((digits.parse().ok()?, "+")),
        None => Some((inside.parse().ok()?, "")),
    }
}

/// `bytes` with `swap` applied to the text and to what each base64 word of it decodes to
/// (a SASL response carries the user and password encoded).
fn replace_credentials(bytes: &[u8], swap: &dyn Fn(&str) -> String) -> Vec<u8> {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    let text = String::from_utf8_lossy(bytes);
    let words = text.split(' ').map(|word| {
        let (word, end) = match word.strip_suffix("\r\n") {
            Some(word) => (word, "\r\n"),
            None => (word, ""),
        };
        // ManageSieve sends SASL responses as quoted strings.
        let (word, quote) = match word.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
            Some(inner) => (inner, "\""),
            None => (word, ""),
        };
        let decoded = (word.len() >= 8)
            .then(|| STANDARD.decode(word).ok())
            .flatten()
            .and_then(|decoded| String::from_utf8(decoded).ok());
        match decoded {
            Some(decoded) if swap(&decoded) != decoded => {
                format!("{quote}{}{quote}{end}", STANDARD.encode(swap(&decoded)))
            }
            _ => format!("{quote}{}{quote}{end}", swap(word)),
        }
    });
    words.collect::<Vec<_>>().join(" ").into_bytes()
}

/// A connection, before or after TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
    /// Between the two, for an instant.
    Gone,
}

impl Stream {
    fn io(&mut self) -> Result<&mut dyn ReadWrite, String> {
        match self {
            Stream::Plain(tcp) => Ok(tcp),
            Stream::Tls(tls) => Ok(tls.as_mut()),
            Stream::Gone => Err("the connection was lost starting TLS".into()),
        }
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// One named connection of the script.
struct Connection {
    stream: Stream,
    /// Bytes read past the last line.
    pending: Vec<u8>,
    /// The last command sent, to know when TLS starts.
    last_sent: String,
}

struct Run<'a> {
    target: &'a Target,
    tls: Arc<rustls::ClientConfig>,
    /// Take up TLS after each connection's greeting (`--starttls`).
    starttls: bool,
    wait: Duration,
    connections: HashMap<String, Connection>,
    vars: HashMap<String, String>,
}

impl<'a> Run<'a> {
    fn new(target: &'a Target, options: &Options) -> Result<Self, String> {
        let check = if options.insecure {
            TlsCheck::Any
        } else {
            TlsCheck::WebPki
        };
        let tls = ClientTls::load(None)?
            .config(&check)
            .map_err(|e| e.to_string())?;
        if options.starttls && target.implicit_tls {
            return Err(format!(
                "--starttls is for {0}:// URLs; {0}s:// is TLS from the start",
                target.protocol
            ));
        }
        Ok(Run {
            target,
            tls,
            starttls: options.starttls,
            wait: options.wait,
            connections: HashMap::new(),
            vars: HashMap::new(),
        })
    }

    fn steps(&mut self, steps: Vec<(usize, String, Step)>) -> Result<(), String> {
        let mut outgoing: Option<(String, Vec<u8>)> = None;
        // An expectation met but for lines that may still come (`U?:`, `S*:`) when the
        // client had to go on: the lines it takes are read before the next expectation's.
        let mut open: Option<(String, Expect)> = None;
        let mut steps = steps.into_iter().peekable();
        while let Some((line, session, step)) = steps.next() {
            // Consecutive client lines of a session go out as one write.
            if let Some((to, bytes)) =
                outgoing.take_if(|(to, _)| !matches!(step, Step::Send(_)) || *to != session)
            {
                self.send(&to, &bytes)?;
            }
            match step {
                Step::Send(bytes) => {
                    let bytes =
                        substitute(&bytes, &self.vars).map_err(|e| format!("line {line}: {e}"))?;
                    match &mut outgoing {
                        Some((_, pending)) => pending.extend_from_slice(&bytes),
                        None => outgoing = Some((session, bytes)),
                    }
                }
                Step::Expect(mut expect) => loop {
                    let received = self.read_line(&session).map_err(|e| {
                        format!("line {line}: expected {}: {e}", expect.describe_missing())
                    })?;
                    if let Some((_, earlier)) = open.as_mut().filter(|(owner, _)| *owner == session)
                    {
                        let taken = match earlier.offer(&received, &self.vars) {
                            Verdict::Met(captured) => Some((captured, true)),
                            Verdict::Taken(captured) => Some((captured, false)),
                            Verdict::Passed | Verdict::Mismatch(_) => None,
                        };
                        if let Some((captured, met)) = taken {
                            self.vars.extend(captured);
                            if met {
                                open = None;
                            }
                            self.after_reply(&session, &received)
                                .map_err(|e| format!("line {line}: {e}"))?;
                            continue;
                        }
                        open = None;
                    }
                    let (captured, done) = match expect.offer(&received, &self.vars) {
                        Verdict::Met(captured) => (captured, true),
                        Verdict::Taken(captured) => (captured, false),
                        Verdict::Passed => {
                            self.unread(&session, &received)?;
                            break;
                        }
                        Verdict::Mismatch(why) => {
                            return Err(format!("line {line}: {why}, received {received:?}"));
                        }
                    };
                    self.vars.extend(captured);
                    self.after_reply(&session, &received)
                        .map_err(|e| format!("line {line}: {e}"))?;
                    if done {
                        break;
                    }
                    let client_goes_on = matches!(
                        steps.peek(),
                        Some((_, next, Step::Send(_))) if *next == session
                    );
                    if expect.is_satisfied() && client_goes_on {
                        open = Some((session.clone(), expect));
                        break;
                    }
                },
            }
        }
        if let Some((to, bytes)) = outgoing {
            self.send(&to, &bytes)?;
        }
        Ok(())
    }

    /// The connection of `session`, made on first use.
    fn connection(&mut self, session: &str) -> Result<&mut Connection, String> {
        if !self.connections.contains_key(session) {
            let address = (self.target.host.as_str(), self.target.port);
            let tcp = TcpStream::connect(address).map_err(|e| {
                format!(
                    "cannot connect to {}:{}: {e}",
                    self.target.host, self.target.port
                )
            })?;
            tcp.set_read_timeout(Some(self.wait))
                .map_err(|e| e.to_string())?;
            tcp.set_write_timeout(Some(self.wait))
                .map_err(|e| e.to_string())?;
            let stream = match self.target.implicit_tls {
                true => self.handshake(tcp)?,
                false => Stream::Plain(tcp),
            };
            self.connections.insert(
                session.to_string(),
                Connection {
                    stream,
                    pending: Vec::new(),
                    last_sent: String::new(),
                },
            );
            if self.starttls {
                self.take_up_tls(session)?;
            }
        }
        self.connections
            .get_mut(session)
            .ok_or_else(|| "no connection".into())
    }

    fn handshake(&self, tcp: TcpStream) -> Result<Stream, String> {
        let name = ServerName::try_from(self.target.host.clone()).map_err(|e| e.to_string())?;
        let client = ClientConnection::new(self.tls.clone(), name).map_err(|e| e.to_string())?;
        let mut tls = StreamOwned::new(client, tcp);
        while tls.conn.is_handshaking() {
            tls.conn
                .complete_io(&mut tls.sock)
                .map_err(|e| format!("TLS handshake: {e}"))?;
        }
        Ok(Stream::Tls(Box::new(tls)))
    }

    fn send(&mut self, session: &str, bytes: &[u8]) -> Result<(), String> {
        let connection = self.connection(session)?;
        let text = String::from_utf8_lossy(bytes);
        if let Some(last) = text.lines().last() {
            connection.last_sent = last.trim().to_ascii_uppercase();
        }
        let io = connection.stream.io()?;
        io.write_all(bytes)
            .and_then(|()| io.flush())
            .map_err(|e| format!("cannot send: {e}"))
    }

    /// Puts a line back, for the next expectation to read.
    fn unread(&mut self, session: &str, line: &str) -> Result<(), String> {
        let connection = self.connection(session)?;
        let mut pending = format!("{line}\r\n").into_bytes();
        pending.append(&mut connection.pending);
        connection.pending = pending;
        Ok(())
    }

    fn read_line(&mut self, session: &str) -> Result<String, String> {
        let connection = self.connection(session)?;
        loop {
            if let Some(end) = connection.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = connection.pending.drain(..=end).collect();
                let text = String::from_utf8_lossy(&line);
                return Ok(text.trim_end_matches(['\r', '\n']).to_string());
            }
            if connection.pending.len() > MAX_LINE {
                return Err(format!("a line longer than {MAX_LINE} bytes"));
            }
            let mut buffer = [0; 4096];
            let n = connection
                .stream
                .io()?
                .read(&mut buffer)
                .map_err(|e| format!("nothing came ({e})"))?;
            if n == 0 {
                return Err("the server closed the connection".into());
            }
            connection.pending.extend_from_slice(&buffer[..n]);
        }
    }

    /// Starts TLS when the reply accepts a STARTTLS (or STLS) just sent.
    fn after_reply(&mut self, session: &str, reply: &str) -> Result<(), String> {
        let protocol = self.target.protocol;
        let connection = self.connection(session)?;
        let asked = &connection.last_sent;
        let accepted = match protocol {
            "smtp" => asked == "STARTTLS" && reply.starts_with("220"),
            "pop3" => asked == "STLS" && reply.starts_with("+OK"),
            "managesieve" => asked == "STARTTLS" && reply.starts_with("OK"),
            _ => {
                asked.ends_with(" STARTTLS") && {
                    let tag = asked.split(' ').next().unwrap_or_default();
                    reply.to_ascii_uppercase().starts_with(&format!("{tag} OK"))
                }
            }
        };
        if !accepted || !connection.pending.is_empty() {
            return Ok(());
        }
        connection.last_sent.clear();
        self.start_tls(session)
    }

    /// The client's side of the TLS handshake, on a plain connection.
    fn start_tls(&mut self, session: &str) -> Result<(), String> {
        let connection = self.connection(session)?;
        let Stream::Plain(tcp) = std::mem::replace(&mut connection.stream, Stream::Gone) else {
            return Err("STARTTLS accepted on a connection already under TLS".into());
        };
        let upgraded = self.handshake(tcp)?;
        self.connection(session)?.stream = upgraded;
        Ok(())
    }

    /// `--starttls`: reads the greeting, takes up TLS as the protocol does (SMTP's EHLO and
    /// STARTTLS, IMAP's and ManageSieve's STARTTLS, POP3's STLS), and puts the greeting back
    /// for the script. A ManageSieve server greets again under TLS (RFC 5804 §2.2), with
    /// what the script expects: that greeting is left to it.
    fn take_up_tls(&mut self, session: &str) -> Result<(), String> {
        let protocol = self.target.protocol;
        // The last line of a reply: SMTP's continues while its fourth byte is '-'; IMAP's
        // is the tagged one (the greeting is one line); POP3's replies here are one line.
        let last = |line: &str, tag: Option<&str>| match (protocol, tag) {
            ("smtp", _) => line.as_bytes().get(3) != Some(&b'-'),
            ("imap", Some(tag)) => line.starts_with(tag),
            ("managesieve", _) => ["OK", "NO", "BYE"]
                .iter()
                .any(|status| line.to_ascii_uppercase().starts_with(status)),
            _ => true,
        };
        let mut greeting = Vec::new();
        loop {
            let line = self.read_line(session)?;
            let done = last(&line, None);
            greeting.push(line);
            if done {
                break;
            }
        }
        let exchange: &[(&str, &str)] = match protocol {
            "smtp" => &[("EHLO testkit.invalid", "250"), ("STARTTLS", "220")],
            "pop3" => &[("STLS", "+OK")],
            "managesieve" => &[("STARTTLS", "OK")],
            _ => &[("T0 STARTTLS", "T0 OK")],
        };
        for (command, accepted) in exchange {
            self.send(session, format!("{command}\r\n").as_bytes())?;
            let reply = loop {
                let line = self.read_line(session)?;
                if last(&line, Some("T0 ")) {
                    break line;
                }
            };
            if !reply.to_ascii_uppercase().starts_with(accepted) {
                return Err(format!("--starttls: {command} was answered {reply:?}"));
            }
        }
        let connection = self.connection(session)?;
        connection.last_sent.clear();
        if !connection.pending.is_empty() {
            return Err("--starttls: the server spoke before the TLS handshake".into());
        }
        self.start_tls(session)?;
        if protocol == "managesieve" {
            return Ok(());
        }
        let connection = self.connection(session)?;
        for line in greeting {
            connection.pending.extend_from_slice(line.as_bytes());
            connection.pending.extend_from_slice(b"\r\n");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_without_end_is_a_failure_at_its_bound() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                let chunk = vec![b'x'; 64 * 1024];
                for _ in 0..(2 * MAX_LINE / chunk.len()) {
                    if stream.write_all(&chunk).is_err() {
                        break;
                    }
                }
            }
        });
        let target = Target::parse(&format!("smtp://127.0.0.1:{port}")).unwrap();
        let options = Options {
            insecure: true,
            user: None,
            password: None,
            wait: Duration::from_secs(10),
            prepared: false,
            server: None,
            starttls: false,
            submission: false,
        };
        let outcome = run_script("S: 220 *\n", &target, &options);
        assert_eq!(
            outcome,
            Outcome::Failed(format!(
                "line 1: expected \"220 *\": a line longer than {MAX_LINE} bytes"
            ))
        );
    }

    #[test]
    fn targets_are_read_from_urls() {
        let target = Target::parse("imaps://127.0.0.1:1993").unwrap();
        assert_eq!(
            (target.protocol, target.implicit_tls, target.port),
            ("imap", true, 1993)
        );
        assert_eq!(Target::parse("smtp://mx.example.org").unwrap().port, 25);
        assert_eq!(Target::parse("pop3://[::1]:1110/").unwrap().host, "::1");
        assert!(Target::parse("http://x").is_err());
        assert!(Target::parse("imap://x:port").is_err());
        assert!(Target::parse("127.0.0.1:25").is_err());
    }

    #[test]
    fn what_needs_the_engine_is_skipped_with_why() {
        let target = Target::parse("smtp://127.0.0.1:1").unwrap();
        let options = Options {
            insecure: true,
            user: None,
            password: None,
            wait: Duration::from_secs(1),
            prepared: false,
            server: None,
            starttls: false,
            submission: false,
        };
        let outcome = run_script(
            "@domain example.test\nS: 220 *\n@timeout\n",
            &target,
            &options,
        );
        assert_eq!(
            outcome,
            Outcome::Skipped("line 3: @timeout needs the in-process engine".into())
        );
        // The messages a script's set-up delivers must be there: a harness says so.
        let delivering = "@deliver a@example.test Subject: x\\r\\n\\r\\nx\\r\\n\nS: 220 *\n";
        let outcome = run_script(delivering, &target, &options);
        assert!(matches!(outcome, Outcome::Skipped(why) if why.contains("--prepared")));
        let prepared = Options {
            prepared: true,
            ..options.clone()
        };
        assert!(parse(delivering, &target, &prepared).is_ok());
        // A difference marked for the server run against.
        let differing = "@differs postfix says 503 here\nS: 220 *\n";
        assert!(parse(differing, &target, &options).is_ok());
        let postfix = Options {
            server: Some("postfix".into()),
            ..options.clone()
        };
        assert_eq!(
            run_script(differing, &target, &postfix),
            Outcome::Skipped("line 1: differs on postfix: says 503 here".into())
        );
        // --starttls: a script for TLS from the start runs on a plain URL; one that takes up
        // TLS itself does not.
        let starttls = Options {
            starttls: true,
            ..options.clone()
        };
        let implicit = "@config implicit_tls true\nS: 220 *\n";
        assert!(parse(implicit, &target, &options).is_err());
        assert!(parse(implicit, &target, &starttls).is_ok());
        let own = "@config starttls true\nS: 220 *\n";
        assert!(parse(own, &target, &starttls).is_ok_and(|parsed| parsed.own_tls));
        // A submission port's scripts run on one, the mail exchanger's elsewhere.
        let submission = "@config mode submission\nS: 220 *\n";
        assert!(
            parse(submission, &target, &options).is_err_and(|why| why.contains("--submission"))
        );
        let on_submission = Options {
            submission: true,
            ..options.clone()
        };
        assert!(parse(submission, &target, &on_submission).is_ok());
        assert!(parse("S: 220 *\n", &target, &on_submission).is_err());
        // The store's checks after the conversation are the engine's: the conversation runs.
        let checked = "S: 220 *\nC: QUIT\nS: 221 *\n@mailbox a@example.test INBOX 1\n";
        assert_eq!(
            parse(checked, &target, &options).map(|parsed| parsed.steps.len()),
            Ok(3)
        );
        let outcome = run_script("@protocol imap\nS: * OK*\n", &target, &options);
        assert_eq!(
            outcome,
            Outcome::Skipped("a script for imap, not smtp".into())
        );
    }

    #[test]
    fn the_fixture_user_is_replaced_in_client_lines() {
        let target = Target::parse("imap://127.0.0.1:1").unwrap();
        let options = Options {
            insecure: true,
            user: Some("me@x.test".into()),
            password: Some("pw".into()),
            wait: Duration::from_secs(1),
            prepared: false,
            server: None,
            starttls: false,
            submission: false,
        };
        let steps = parse("@protocol imap\n@user alice@example.test secret\nC: a LOGIN alice@example.test secret\n", &target, &options).unwrap().steps;
        let Step::Send(bytes) = &steps[0].2 else {
            panic!("a send")
        };
        assert_eq!(bytes, b"a LOGIN me@x.test pw\r\n");
        // Inside a SASL PLAIN response too.
        let steps = parse(
            "@protocol imap\n@user alice@example.test secret\n\
             C: a AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=\n",
            &target,
            &options,
        )
        .unwrap()
        .steps;
        let Step::Send(bytes) = &steps[0].2 else {
            panic!("a send")
        };
        assert_eq!(bytes, b"a AUTHENTICATE PLAIN AG1lQHgudGVzdABwdw==\r\n");
        // In literals, whose announced lengths follow.
        let steps = parse(
            "@protocol imap\n@user alice@example.test secret\n\
             C: c LOGIN {18+}\n\
             C: alice@example.test {6}\n\
             S: + *\n\
             C: secret\n",
            &target,
            &options,
        )
        .unwrap()
        .steps;
        let sent: Vec<&[u8]> = steps
            .iter()
            .filter_map(|(_, _, step)| match step {
                Step::Send(bytes) => Some(bytes.as_slice()),
                Step::Expect(_) => None,
            })
            .collect();
        assert_eq!(
            sent,
            [&b"c LOGIN {9+}\r\n"[..], b"me@x.test {2}\r\n", b"pw\r\n"]
        );
    }
}
