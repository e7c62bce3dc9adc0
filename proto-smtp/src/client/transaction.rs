//! One message on its way: its envelope, the commands that carry it, and what
//! became of each recipient.

use std::borrow::Cow;

use super::Expect;
use super::extensions::Extensions;
use super::failure::{Failure, Stage};
use crate::envelope::{MailParams, RcptParams, Recipient};
use crate::path::{forward_path, reverse_path};
use crate::{Command, Reply};

/// Most text kept of a reply stored for a recipient. Results are kept per
/// recipient until the message is settled, so the 64 KiB a reply may have
/// would add up; a refusal longer than this says nothing more of use.
const KEPT_TEXT: usize = 2048;

/// A message for the session to send: the envelope, and what its body needs
/// of the server.
///
/// Parameters the server did not offer are left out of the commands: `SIZE`
/// without `SIZE`, `BODY` without `8BITMIME` (an 8-bit body then goes out as
/// it is, as Postfix sends it), `RET`, `ENVID`, `NOTIFY` and `ORCPT` without
/// `DSN` (the queue, seeing [`Extensions::dsn`] false, owes the sender a
/// "relayed" notice where success was asked for, RFC 3461 4.1), `AUTH=`
/// unless the session authenticated. What cannot be left out fails the
/// message before `MAIL`; see [`ClientSession::send`](super::ClientSession::send).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// The reverse-path, without angle brackets; `""` for the null sender of
    /// bounces.
    pub from: String,
    /// What `MAIL FROM` may say: `size` the body's size in octets, `body`
    /// `EightBitMime` when the body has 8-bit octets, `smtputf8` when the
    /// header needs it (non-ASCII addresses in the envelope need it anyway),
    /// `require_tls` when the sender asked for `REQUIRETLS` (RFC 8689): the
    /// message then goes only to a server that offers it, over TLS.
    pub params: MailParams,
    /// The recipients, with their DSN parameters.
    pub recipients: Vec<Recipient>,
}

impl Message {
    /// Whether the envelope or the header is not ASCII (RFC 6531).
    fn needs_smtputf8(&self) -> bool {
        self.params.smtputf8
            || !self.from.is_ascii()
            || self.recipients.iter().any(|r| !r.addr.is_ascii())
    }
}

/// A recipient's or a message's fate: the server's acceptance, or a failure.
pub type Status = Result<Reply, Failure>;

/// What became of a message, handed out with [`ClientAction::Sent`](super::ClientAction::Sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The message, as it was given to the session.
    pub message: Message,
    /// One status per recipient, in the message's order: the server's final
    /// reply to the message for those it accepted, else why not.
    pub recipients: Vec<Status>,
    /// The message as a whole: the server's final reply when it took the body
    /// for the recipients it accepted. When no recipient was accepted, the
    /// failure of one of them, a temporary one if there is any, so a queue
    /// that looks only here retries exactly when some recipient might still
    /// be reached.
    pub status: Status,
}

impl Outcome {
    /// The recipients the server accepted the message for.
    pub fn delivered(&self) -> usize {
        self.recipients.iter().filter(|s| s.is_ok()).count()
    }
}

/// Where the transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// `RSET` is due: the connection carried a message before.
    Rset,
    /// `MAIL FROM` is due.
    Mail,
    /// The `RCPT TO` of this recipient (or of the next one still to be asked)
    /// is due.
    Rcpt(usize),
    /// `DATA` is due, if anyone is to get the message.
    Data,
    /// `DATA` was sent; its reply decides.
    AwaitData,
    /// The runtime supplies the body.
    Body,
    /// The end of data was sent; its reply is the verdict.
    AwaitEnd { body: bool },
    /// Nothing more to send; the transaction ends once the replies are in.
    Done,
}

/// What the session does after the reply to `DATA`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterData {
    /// Ask the runtime for the body.
    Body,
    /// The server wants a body nobody is to get: end it at once, empty
    /// (RFC 2920 3.1), and ignore the reply.
    Discard,
    /// Nothing: the reply ended the transaction.
    Nothing,
}

/// One message being sent.
#[derive(Debug)]
pub(crate) struct Transaction {
    message: Message,
    /// Per recipient: `None` until its `RCPT` was answered, then the RCPT
    /// reply (accepted) or its failure; invalid addresses fail up front.
    results: Vec<Option<Status>>,
    step: Step,
    /// The message's own verdict, once known: the refusal of `MAIL` or
    /// `DATA`, or the final reply.
    verdict: Option<Status>,
}

impl Transaction {
    /// Starts a transaction; `reused`: the connection carried a message
    /// before. A recipient whose address cannot be written in a command
    /// fails alone, up front.
    pub(crate) fn new(message: Message, reused: bool) -> Self {
        let results = message
            .recipients
            .iter()
            .map(|r| {
                (!is_path(forward_path, &r.addr)).then(|| {
                    Err(Failure::local(
                        Stage::Rcpt,
                        553,
                        (5, 1, 3),
                        "Bad recipient address syntax",
                    ))
                })
            })
            .collect();
        Self {
            message,
            results,
            step: if reused { Step::Rset } else { Step::Mail },
            verdict: None,
        }
    }

    /// Why the server cannot take the message at all, if it cannot: then
    /// the message fails before `MAIL` (RFC 6531 3.4, RFC 1870 6, RFC 8689
    /// 4.2.1).
    pub(crate) fn refusal(&self, extensions: &Extensions, tls: bool) -> Option<Failure> {
        let message = &self.message;
        let refuse =
            |code, enhanced, text: String| Some(Failure::local(Stage::Mail, code, enhanced, text));
        if message.recipients.is_empty() {
            return refuse(554, (5, 5, 1), "No recipients".into());
        }
        if !is_path(reverse_path, &message.from) {
            return refuse(553, (5, 1, 7), "Bad sender address syntax".into());
        }
        if message.needs_smtputf8() && !extensions.smtputf8 {
            return refuse(
                553,
                (5, 6, 7),
                "SMTPUTF8 is required, but was not offered by the server".into(),
            );
        }
        if let (Some(size), Some(limit)) = (message.params.size, extensions.size_limit())
            && size > limit
        {
            return refuse(
                552,
                (5, 3, 4),
                format!("Message size {size} exceeds the server's limit of {limit}"),
            );
        }
        if message.params.require_tls && !(tls && extensions.requiretls) {
            return refuse(
                550,
                (5, 7, 30),
                "REQUIRETLS support required, but not offered by the server".into(),
            );
        }
        None
    }

    /// Writes the next command when one is due: each as soon as the one
    /// before it is answered, or, with `PIPELINING`, all of them up to
    /// `DATA` at once (RFC 2920 3.1). `answered`: no reply is outstanding.
    /// Returns the reply the command awaits.
    pub(crate) fn next_command(
        &mut self,
        extensions: &Extensions,
        authenticated: bool,
        answered: bool,
        out: &mut Vec<u8>,
    ) -> Option<Expect> {
        if !(answered || extensions.pipelining) {
            return None;
        }
        loop {
            match self.step {
                Step::Rset => {
                    Command::Rset.encode(out);
                    self.step = Step::Mail;
                    return Some(Expect::Rset);
                }
                Step::Mail => {
                    self.write_mail(extensions, authenticated, out);
                    self.step = Step::Rcpt(0);
                    return Some(Expect::Mail);
                }
                Step::Rcpt(_) if self.verdict.is_some() => self.step = Step::Done,
                Step::Rcpt(index) => {
                    // An index into `results`: one more cannot overflow.
                    let next = index.saturating_add(1);
                    match self.results.get(index) {
                        None => self.step = Step::Data,
                        Some(Some(_)) => self.step = Step::Rcpt(next),
                        Some(None) => {
                            self.write_rcpt(index, extensions, out);
                            self.step = Step::Rcpt(next);
                            return Some(Expect::Rcpt(index));
                        }
                    }
                }
                Step::Data => {
                    // Without pipelining every RCPT is answered by now; with it,
                    // DATA goes out unless the answers already say nobody
                    // takes the message.
                    let someone = self.results.iter().any(|r| !matches!(r, Some(Err(_))));
                    if self.verdict.is_some() || !someone {
                        self.step = Step::Done;
                        continue;
                    }
                    Command::Data.encode(out);
                    self.step = Step::AwaitData;
                    return Some(Expect::Data);
                }
                Step::AwaitData | Step::Body | Step::AwaitEnd { .. } | Step::Done => return None,
            }
        }
    }

    fn write_mail(&self, extensions: &Extensions, authenticated: bool, out: &mut Vec<u8>) {
        let wanted = &self.message.params;
        let params = MailParams {
            size: extensions.size.and(wanted.size),
            body: wanted.body.filter(|_| extensions.eight_bit_mime),
            smtputf8: self.message.needs_smtputf8(),
            ret: wanted.ret.filter(|_| extensions.dsn),
            envid: wanted.envid.clone().filter(|_| extensions.dsn),
            auth: wanted.auth.clone().filter(|_| authenticated),
            require_tls: wanted.require_tls,
        };
        out.extend_from_slice(b"MAIL FROM:<");
        out.extend_from_slice(self.message.from.as_bytes());
        out.push(b'>');
        params.encode(out);
        out.extend_from_slice(b"\r\n");
    }

    fn write_rcpt(&self, index: usize, extensions: &Extensions, out: &mut Vec<u8>) {
        if let Some(recipient) = self.message.recipients.get(index) {
            let params = if extensions.dsn {
                recipient.params.clone()
            } else {
                RcptParams::default()
            };
            Command::Rcpt {
                to: &recipient.addr,
                params,
            }
            .encode(out);
        }
    }

    /// The reply to `MAIL`: a refusal fails every recipient; with pipelining,
    /// the replies to the `RCPT`s and `DATA` already sent are read and
    /// ignored.
    pub(crate) fn mail_reply(&mut self, reply: Reply) {
        if !reply.is_positive() {
            self.verdict = Some(Err(Failure::remote(Stage::Mail, kept(reply))));
        }
    }

    /// The reply to one `RCPT`.
    pub(crate) fn rcpt_reply(&mut self, index: usize, reply: Reply) {
        if self.verdict.is_some() {
            return;
        }
        let status = if reply.is_positive() {
            Ok(kept(reply))
        } else {
            Err(Failure::remote(Stage::Rcpt, kept(reply)))
        };
        if let Some(slot) = self.results.get_mut(index) {
            *slot = Some(status);
        }
    }

    /// The reply to `DATA`: `354` (`go_ahead`) or a refusal.
    pub(crate) fn data_reply(&mut self, reply: Reply, go_ahead: bool) -> AfterData {
        let accepted = self.results.iter().any(|r| matches!(r, Some(Ok(_))));
        match (go_ahead, self.verdict.is_none() && accepted) {
            (true, true) => {
                self.step = Step::Body;
                AfterData::Body
            }
            (true, false) => {
                self.step = Step::AwaitEnd { body: false };
                AfterData::Discard
            }
            (false, wanted) => {
                if wanted {
                    self.verdict = Some(Err(Failure::remote(Stage::Data, kept(reply))));
                }
                self.step = Step::Done;
                AfterData::Nothing
            }
        }
    }

    /// The body is complete and its end written.
    pub(crate) fn body_sent(&mut self) {
        if self.step == Step::Body {
            self.step = Step::AwaitEnd { body: true };
        }
    }

    /// The reply after the end of data: the verdict on the message, unless
    /// it ended a body nobody was to get.
    pub(crate) fn end_reply(&mut self, reply: Reply) {
        if self.step == (Step::AwaitEnd { body: true }) {
            self.verdict = Some(if reply.is_positive() {
                Ok(kept(reply))
            } else {
                Err(Failure::remote(Stage::EndOfData, kept(reply)))
            });
        }
        self.step = Step::Done;
    }

    /// Whether nothing more is to be sent: the transaction is over once the
    /// replies still outstanding are in.
    pub(crate) fn is_done(&self) -> bool {
        self.step == Step::Done
    }

    /// Ends the transaction: every recipient still waiting, or accepted,
    /// shares the message's verdict: the one the replies gave, else
    /// `verdict` (the connection failed first), else the failure of the
    /// recipients, none of whom was accepted.
    pub(crate) fn settle(self, verdict: Option<Status>) -> Outcome {
        let status = self
            .verdict
            .or(verdict)
            .unwrap_or_else(|| Err(nobody(&self.results)));
        let recipients = self
            .results
            .into_iter()
            .map(|result| match result {
                Some(Err(failure)) => Err(failure),
                _ => status.clone(),
            })
            .collect();
        Outcome {
            message: self.message,
            recipients,
            status,
        }
    }
}

/// The message's failure when no recipient was accepted: a temporary
/// refusal if there is one, else the first.
fn nobody(results: &[Option<Status>]) -> Failure {
    let failures = || results.iter().filter_map(|r| r.as_ref()?.as_ref().err());
    failures()
        .find(|f| !f.is_permanent())
        .or_else(|| failures().next())
        .cloned()
        .unwrap_or_else(|| Failure::local(Stage::Rcpt, 554, (5, 5, 1), "No recipients"))
}

/// `forward_path` or `reverse_path`.
type PathParser = fn(&[u8]) -> Option<(&[u8], &str)>;

/// Whether `address` written in angle brackets is exactly one path: nothing a
/// command could be smuggled in.
fn is_path(parse: PathParser, address: &str) -> bool {
    let bracketed = format!("<{address}>");
    parse(bracketed.as_bytes()) == Some((&[][..], address))
}

/// The reply, with its text cut to [`KEPT_TEXT`] at a character boundary.
fn kept(mut reply: Reply) -> Reply {
    if reply.text.len() > KEPT_TEXT {
        let end = reply.text.floor_char_boundary(KEPT_TEXT);
        reply.text = Cow::Owned(reply.text.get(..end).unwrap_or_default().to_owned());
    }
    reply
}
