//! The envelope of one mail transaction: who sends, to whom, with which
//! ESMTP parameters.

/// Sender, parameters and recipients collected by `MAIL` and `RCPT`.
///
/// Cleared by `RSET`, `EHLO`/`HELO`, `STARTTLS` and after every message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope {
    /// `None` until a `MAIL` command was accepted; `Some("")` for the null
    /// sender `<>` used by bounces.
    pub mail_from: Option<String>,
    /// Parameters of the accepted `MAIL` command.
    pub mail_params: MailParams,
    /// Accepted recipients, in the order given.
    pub rcpts: Vec<Recipient>,
}

impl Envelope {
    /// Forgets the transaction, keeping the recipient list's allocation.
    pub(crate) fn clear(&mut self) {
        self.mail_from = None;
        self.mail_params = MailParams::default();
        self.rcpts.clear();
    }
}

/// One accepted recipient.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recipient {
    /// The address, without angle brackets or source route.
    pub addr: String,
    /// Its `RCPT` parameters.
    pub params: RcptParams,
}

/// Parameters of `MAIL FROM:`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailParams {
    /// `SIZE=n` (RFC 1870): the client's estimate of the message size.
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152).
    pub body: Option<Body>,
    /// `SMTPUTF8` (RFC 6531): addresses and headers may be UTF-8.
    pub smtputf8: bool,
    /// `RET=` (RFC 3461): what a DSN should return.
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461), xtext-decoded.
    pub envid: Option<String>,
    /// `AUTH=` (RFC 4954 5), xtext-decoded; `"<>"` when the client does not vouch
    /// for the sender.
    pub auth: Option<String>,
    /// `REQUIRETLS` (RFC 8689): the message may only travel over TLS with a verified
    /// certificate, to servers that offer `REQUIRETLS`.
    pub require_tls: bool,
}

/// `BODY=` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body {
    /// `BODY=7BIT`.
    SevenBit,
    /// `BODY=8BITMIME`.
    EightBitMime,
}

/// `RET=` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ret {
    /// Return the full message in a DSN.
    Full,
    /// Return only the headers.
    Hdrs,
}

/// Parameters of `RCPT TO:`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RcptParams {
    /// `NOTIFY=` (RFC 3461).
    pub notify: Option<Notify>,
    /// `ORCPT=` (RFC 3461) as `addr-type;address`, the address xtext-decoded,
    /// e.g. `rfc822;user@example.com`.
    pub orcpt: Option<String>,
}

/// `NOTIFY=` value: `NEVER`, or any non-empty set of the three others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Notify {
    /// No DSN at all.
    pub never: bool,
    /// DSN on successful delivery.
    pub success: bool,
    /// DSN on failure.
    pub failure: bool,
    /// DSN on delay.
    pub delay: bool,
}
