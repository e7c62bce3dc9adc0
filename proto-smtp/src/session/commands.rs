//! What each command does to the session: sequence checks, policy checks that
//! need no engine, and the replies.

use proto_core::sasl::{Exchange, Mechanism, Names};

use super::{Chunk, Pending, Phase, ServerSession};
use crate::data::Body;
use crate::envelope::{MailParams, RcptParams, Recipient};
use crate::reply::write_reply;
use crate::{Command, Mode};

/// The SASL mechanisms offered, in the order EHLO lists them.
const MECHANISMS: &[Mechanism] = &[Mechanism::Plain, Mechanism::Login];

impl ServerSession {
    pub(super) fn handle_command(&mut self, command: Command<'_>) {
        match command {
            Command::Ehlo(domain) => self.ehlo(domain, true),
            Command::Helo(domain) => self.ehlo(domain, false),
            Command::Mail { from, params } => self.mail(from, params),
            Command::Rcpt { to, params } => self.rcpt(to, params),
            Command::Data => self.data_command(),
            Command::Bdat { size, last } => self.bdat(size, last),
            Command::Rset => {
                self.reset_transaction();
                self.reply(250, (2, 0, 0), "Ok");
            }
            Command::Noop => self.reply(250, (2, 0, 0), "Ok"),
            Command::Quit => {
                self.reply(221, (2, 0, 0), "Bye");
                self.close();
            }
            // Answering VRFY truthfully would let anyone harvest addresses
            // (RFC 5321 7.3); 252 is the sanctioned non-answer.
            Command::Vrfy(_) => self.reply(
                252,
                (2, 5, 0),
                "Cannot VRFY user, but will accept message and attempt delivery",
            ),
            Command::Expn(_) => self.reply(502, (5, 5, 1), "Error: command not implemented"),
            Command::Help(_) => self.reply(
                214,
                (2, 0, 0),
                "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH",
            ),
            Command::StartTls => self.starttls(),
            Command::Auth { mechanism, initial } => self.auth(mechanism, initial),
        }
    }

    fn ehlo(&mut self, domain: &str, extended: bool) {
        self.reset_transaction();
        self.helo = Some(domain.to_owned());
        self.esmtp = extended;
        let config = &*self.config;
        let host = &config.hostname;
        if extended {
            let size = config.max_message_size;
            let starttls = if config.starttls && !self.common.is_tls() {
                "\nSTARTTLS"
            } else {
                ""
            };
            // REQUIRETLS only where TLS is on (RFC 8689 4).
            let requiretls = if self.common.is_tls() {
                "\nREQUIRETLS"
            } else {
                ""
            };
            let (auth, mechanisms) = if self.common.is_tls() || config.auth_without_tls {
                ("\nAUTH ", Names(MECHANISMS))
            } else {
                ("", Names(&[]))
            };
            write_reply(
                self.common.out(),
                250,
                None,
                format_args!(
                    "{host}\nPIPELINING\nSIZE {size}\n8BITMIME\nSMTPUTF8\n\
                     ENHANCEDSTATUSCODES\nCHUNKING\nDSN{requiretls}{starttls}{auth}{mechanisms}"
                ),
            );
        } else {
            write_reply(self.common.out(), 250, None, format_args!("{host}"));
        }
    }

    fn mail(&mut self, from: &str, params: MailParams) {
        if self.helo.is_none() {
            self.error(503, (5, 5, 1), "Error: send HELO/EHLO first");
        } else if self.envelope.mail_from.is_some() {
            self.error(503, (5, 5, 1), "Error: nested MAIL command");
        } else if self.config.mode == Mode::Submission && self.authenticated.is_none() {
            self.reply(530, (5, 7, 0), "Authentication required");
        } else if !params.smtputf8 && !from.is_ascii() {
            self.reply(553, (5, 6, 7), "Non-ASCII address requires SMTPUTF8");
        } else if params.require_tls && !self.common.is_tls() {
            self.reply(530, (5, 7, 10), "REQUIRETLS needs a TLS connection");
        } else if params
            .size
            .is_some_and(|size| size > self.config.max_message_size)
        {
            self.reply(
                552,
                (5, 3, 4),
                "Message size exceeds fixed maximum message size",
            );
        } else {
            self.common.ask(Pending::Mail {
                from: from.to_owned(),
                params,
            });
        }
    }

    fn rcpt(&mut self, to: &str, params: RcptParams) {
        if self.envelope.mail_from.is_none() {
            self.error(503, (5, 5, 1), "Error: need MAIL command");
        } else if self.bdat.is_some() {
            self.error(503, (5, 5, 1), "Error: RCPT after BDAT");
        } else if !self.envelope.mail_params.smtputf8 && !to.is_ascii() {
            self.reply(553, (5, 6, 7), "Non-ASCII address requires SMTPUTF8");
        } else if self.envelope.rcpts.len() >= self.config.max_recipients {
            self.reply(452, (4, 5, 3), "Too many recipients");
        } else {
            self.common.ask(Pending::Rcpt(Recipient {
                addr: to.to_owned(),
                params,
            }));
        }
    }

    fn data_command(&mut self) {
        if self.envelope.mail_from.is_none() {
            self.error(503, (5, 5, 1), "Error: need MAIL command");
        } else if self.bdat.is_some() {
            self.error(503, (5, 5, 1), "Error: DATA after BDAT");
        } else if self.envelope.rcpts.is_empty() {
            self.reply(554, (5, 5, 1), "No valid recipients");
        } else {
            write_reply(
                self.common.out(),
                354,
                None,
                format_args!("End data with <CR><LF>.<CR><LF>"),
            );
            self.start_body();
            self.phase = Phase::Data(Body::dot(&self.config));
        }
    }

    /// Starts reading a chunk. Its octets are always read, even when the command
    /// is refused, since they cannot be told apart from commands otherwise.
    fn bdat(&mut self, size: u64, last: bool) {
        let in_transaction = self.envelope.mail_from.is_some() && !self.envelope.rcpts.is_empty();
        let body = in_transaction.then(|| {
            let mut body = match self.bdat.take() {
                Some(body) => body,
                None => {
                    self.start_body();
                    Body::chunked(&self.config)
                }
            };
            body.expect(size);
            body
        });
        self.phase = Phase::Chunk(Chunk {
            remaining: size,
            size,
            last,
            body,
        });
    }

    fn starttls(&mut self) {
        if self.common.is_tls() {
            self.error(503, (5, 5, 1), "Error: TLS already active");
        } else if !self.config.starttls {
            self.reply(454, (4, 7, 0), "TLS not available");
        } else if self.envelope.mail_from.is_some() {
            self.error(503, (5, 5, 1), "Error: MAIL transaction in progress");
        } else {
            self.reply(220, (2, 0, 0), "Ready to start TLS");
            self.common.start_tls();
        }
    }

    fn auth(&mut self, mechanism: &str, initial: Option<&str>) {
        if !self.common.is_tls() && !self.config.auth_without_tls {
            self.reply(
                538,
                (5, 7, 11),
                "Encryption required for requested authentication mechanism",
            );
        } else if self.helo.is_none() {
            self.error(503, (5, 5, 1), "Error: send HELO/EHLO first");
        } else if self.authenticated.is_some() {
            self.error(503, (5, 5, 1), "Error: already authenticated");
        } else if self.envelope.mail_from.is_some() {
            self.error(503, (5, 5, 1), "Error: MAIL transaction in progress");
        } else if let Some(mechanism) =
            Mechanism::from_name(mechanism).filter(|m| MECHANISMS.contains(m))
        {
            let next = Exchange::start(mechanism, initial.map(str::as_bytes));
            self.sasl(next);
        } else {
            self.error(504, (5, 5, 4), "Unrecognized authentication type");
        }
    }
}
