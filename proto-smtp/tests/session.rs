//! Behaviour of `ServerSession`, driven through its public API.

mod common;

use std::time::Duration;

use common::{Ev, Harness, config};
use proto_smtp::{BareLf, Mode, Notify, Peer, Reply, Ret, Session};

const EHLO_PLAIN: &str = "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 26214400\r\n\
    250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250 DSN\r\n";

fn tls_config() -> proto_smtp::ServerConfig {
    let mut c = config();
    c.starttls = true;
    c
}

// ---- greeting, EHLO, HELO ------------------------------------------------

#[test]
fn ehlo_lists_extensions() {
    let mut h = Harness::new();
    assert_eq!(h.feed("EHLO client.example\r\n"), EHLO_PLAIN);
    assert_eq!(h.session.helo(), Some("client.example"));
}

#[test]
fn ehlo_offers_starttls_then_auth() {
    let mut h = Harness::with(tls_config());
    let reply = h.feed("EHLO c\r\n");
    assert!(reply.ends_with("250-DSN\r\n250 STARTTLS\r\n"), "{reply}");
    h.feed("STARTTLS\r\n");
    let reply = h.feed("EHLO c\r\n");
    assert!(
        reply.ends_with("250-DSN\r\n250-REQUIRETLS\r\n250 AUTH PLAIN LOGIN\r\n"),
        "{reply}"
    );
}

#[test]
fn requiretls_only_over_tls() {
    let mut h = Harness::with(tls_config());
    assert!(!h.feed("EHLO c\r\n").contains("REQUIRETLS"));
    assert_eq!(
        h.feed("MAIL FROM:<a@b> REQUIRETLS\r\n"),
        "530 5.7.10 REQUIRETLS needs a TLS connection\r\n"
    );
    h.feed("STARTTLS\r\n");
    assert!(h.feed("EHLO c\r\n").contains("250-REQUIRETLS\r\n"));
    assert_eq!(h.feed("MAIL FROM:<a@b> REQUIRETLS\r\n"), "250 2.1.0 Ok\r\n");
    assert!(h.session.envelope().mail_params.require_tls);
    assert_eq!(
        h.feed("RSET\r\nMAIL FROM:<a@b> REQUIRETLS REQUIRETLS\r\n"),
        "250 2.0.0 Ok\r\n501 5.5.4 Syntax error in parameters or arguments\r\n"
    );
}

#[test]
fn ehlo_offers_auth_on_implicit_tls_or_when_allowed() {
    let mut h = Harness::start(tls_config(), true);
    let reply = h.feed("EHLO c\r\n");
    assert!(!reply.contains("STARTTLS"));
    assert!(reply.ends_with("250 AUTH PLAIN LOGIN\r\n"), "{reply}");
    assert!(h.session.is_tls());

    let mut c = config();
    c.auth_without_tls = true;
    let mut h = Harness::with(c);
    assert!(h.feed("EHLO c\r\n").ends_with("250 AUTH PLAIN LOGIN\r\n"));
}

#[test]
fn helo() {
    let mut h = Harness::new();
    assert_eq!(h.feed("HELO client.example\r\n"), "250 mx.example.org\r\n");
    assert_eq!(
        h.feed("EHLO\r\n"),
        "501 5.5.4 Syntax error in parameters or arguments\r\n"
    );
}

#[test]
fn mail_requires_helo() {
    let mut h = Harness::new();
    assert_eq!(
        h.feed("MAIL FROM:<a@b>\r\n"),
        "503 5.5.1 Error: send HELO/EHLO first\r\n"
    );
}

#[test]
fn ehlo_resets_transaction_but_keeps_auth() {
    let mut c = config();
    c.auth_without_tls = true;
    let mut h = Harness::ehlo_with(c);
    h.feed("AUTH PLAIN AHVzZXIAc2VjcmV0\r\n");
    h.in_transaction();
    h.feed("EHLO again\r\n");
    assert_eq!(h.session.envelope().mail_from, None);
    assert_eq!(h.session.helo(), Some("again"));
    assert_eq!(h.session.authenticated(), Some("user"));
}

// ---- simple commands ---------------------------------------------------------

#[test]
fn simple_commands() {
    let mut h = Harness::ehlo();
    assert_eq!(h.feed("NOOP\r\n"), "250 2.0.0 Ok\r\n");
    assert_eq!(h.feed("RSET\r\n"), "250 2.0.0 Ok\r\n");
    assert_eq!(
        h.feed("VRFY bob\r\n"),
        "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n"
    );
    assert_eq!(
        h.feed("EXPN staff\r\n"),
        "502 5.5.1 Error: command not implemented\r\n"
    );
    assert!(h.feed("HELP\r\n").starts_with("214 2.0.0 "));
    assert_eq!(h.feed("QUIT\r\n"), "221 2.0.0 Bye\r\n");
    assert_eq!(h.events().last(), Some(&Ev::Close));
    assert!(h.session.is_closed());
}

#[test]
fn error_replies() {
    let mut h = Harness::ehlo();
    assert_eq!(
        h.feed("FOO\r\n"),
        "500 5.5.1 Error: command not recognized\r\n"
    );
    assert_eq!(
        h.feed("DATA x\r\n"),
        "501 5.5.4 Syntax error in parameters or arguments\r\n"
    );
    assert_eq!(
        h.feed("MAIL FROM:a@b\r\n"),
        "501 5.1.7 Bad sender address syntax\r\n"
    );
    assert_eq!(
        h.feed("MAIL FROM:<a@b> X=1\r\n"),
        "555 5.5.4 Unsupported parameter\r\n"
    );
    h.feed("MAIL FROM:<a@b>\r\n");
    assert_eq!(
        h.feed("RCPT TO:<b>\r\n"),
        "501 5.1.3 Bad recipient address syntax\r\n"
    );
}

#[test]
fn commands_are_case_insensitive_and_bare_lf_ends_lines() {
    let mut h = Harness::new();
    let out = h.feed("ehlo c\nmail from: <a@b>\nrcpt to:<c@d>\n");
    assert!(
        out.ends_with("250 DSN\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"),
        "{out}"
    );
}

// ---- line limits -------------------------------------------------------------

#[test]
fn long_line_is_refused_once_and_discarded() {
    let mut h = Harness::ehlo();
    let mut line = vec![b'A'; 5000];
    line.extend_from_slice(b"\r\nNOOP\r\n");
    assert_eq!(h.feed(&line), "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
}

#[test]
fn endless_line_stays_bounded() {
    let mut h = Harness::ehlo();
    for _ in 0..100 {
        h.feed([b'x'; 1000]);
        assert!(h.session.buffered_input() < 1000);
    }
    assert_eq!(h.feed("\r\nNOOP\r\n"), "250 2.0.0 Ok\r\n");
}

#[test]
fn line_of_exactly_1000_octets_is_accepted() {
    let mut h = Harness::ehlo();
    let line = format!("NOOP {}\r\n", "x".repeat(1000 - 7));
    assert_eq!(line.len(), 1000);
    assert_eq!(h.feed(&line), "250 2.0.0 Ok\r\n");
    let line = format!("NOOP {}\r\n", "x".repeat(1000 - 6));
    assert_eq!(h.feed(&line), "500 5.5.2 Line too long\r\n");
}

// ---- MAIL and RCPT -------------------------------------------------------------

#[test]
fn mail_variants() {
    let mut h = Harness::ehlo();
    assert_eq!(h.feed("MAIL FROM:<>\r\n"), "250 2.1.0 Ok\r\n");
    assert_eq!(h.session.envelope().mail_from.as_deref(), Some(""));
    assert_eq!(
        h.feed("MAIL FROM:<a@b>\r\n"),
        "503 5.5.1 Error: nested MAIL command\r\n"
    );
    h.feed("RSET\r\n");
    h.feed("MAIL FROM: <@relay.example:alice@example.com>\r\n");
    assert_eq!(
        h.session.envelope().mail_from.as_deref(),
        Some("alice@example.com")
    );
    assert_eq!(
        h.events(),
        [Ev::Mail("".into()), Ev::Mail("alice@example.com".into())]
    );
}

#[test]
fn mail_refused_by_engine() {
    let mut h = Harness::ehlo();
    h.mail_verdicts
        .push_back(Err(Reply::new(550, (5, 7, 1), "Sender blocked")));
    assert_eq!(
        h.feed("MAIL FROM:<spam@x>\r\n"),
        "550 5.7.1 Sender blocked\r\n"
    );
    assert_eq!(h.session.envelope().mail_from, None);
    assert_eq!(h.feed("MAIL FROM:<ok@x>\r\n"), "250 2.1.0 Ok\r\n");
}

#[test]
fn utf8_addresses_need_smtputf8() {
    let mut h = Harness::ehlo();
    assert_eq!(
        h.feed("MAIL FROM:<j\u{f6}rg@example.com>\r\n"),
        "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n"
    );
    h.feed("MAIL FROM:<a@b>\r\n");
    assert_eq!(
        h.feed("RCPT TO:<j\u{f6}rg@example.com>\r\n"),
        "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n"
    );
    h.feed("RSET\r\n");
    assert_eq!(
        h.feed("MAIL FROM:<j\u{f6}rg@example.com> SMTPUTF8\r\n"),
        "250 2.1.0 Ok\r\n"
    );
    assert_eq!(
        h.feed("RCPT TO:<\u{e9}@b\u{fc}cher.example>\r\n"),
        "250 2.1.5 Ok\r\n"
    );
}

#[test]
fn overlong_address_is_refused() {
    let mut h = Harness::ehlo();
    let line = format!("MAIL FROM:<{}@example.com>\r\n", "a".repeat(250));
    assert_eq!(h.feed(line), "501 5.1.7 Bad sender address syntax\r\n");
}

#[test]
fn declared_size_over_limit() {
    let mut h = Harness::ehlo();
    assert_eq!(
        h.feed("MAIL FROM:<a@b> SIZE=26214401\r\n"),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
    assert_eq!(
        h.feed("MAIL FROM:<a@b> SIZE=26214400\r\n"),
        "250 2.1.0 Ok\r\n"
    );
}

#[test]
fn dsn_parameters_reach_the_envelope() {
    let mut h = Harness::ehlo();
    h.feed("MAIL FROM:<a@b> RET=HDRS ENVID=QQ+2BA1 BODY=8BITMIME AUTH=<>\r\n");
    h.feed("RCPT TO:<c@d> NOTIFY=FAILURE,DELAY ORCPT=rfc822;c+2Bx@d\r\n");
    let envelope = h.session.envelope();
    assert_eq!(envelope.mail_params.ret, Some(Ret::Hdrs));
    assert_eq!(envelope.mail_params.envid.as_deref(), Some("QQ+A1"));
    assert_eq!(envelope.mail_params.auth.as_deref(), Some("<>"));
    let rcpt = &envelope.rcpts[0];
    assert_eq!(rcpt.addr, "c@d");
    let notify = Notify {
        failure: true,
        delay: true,
        ..Notify::default()
    };
    assert_eq!(rcpt.params.notify, Some(notify));
    assert_eq!(rcpt.params.orcpt.as_deref(), Some("rfc822;c+x@d"));
}

#[test]
fn rcpt_sequence_and_limits() {
    let mut c = config();
    c.max_recipients = 2;
    let mut h = Harness::ehlo_with(c);
    assert_eq!(
        h.feed("RCPT TO:<c@d>\r\n"),
        "503 5.5.1 Error: need MAIL command\r\n"
    );
    h.feed("MAIL FROM:<a@b>\r\n");
    assert_eq!(
        h.feed("RCPT TO:<unknown@d>\r\n"),
        "550 5.1.1 No such user\r\n"
    );
    let out = h.feed("RCPT TO:<c1@d>\r\nRCPT TO:<c2@d>\r\nRCPT TO:<c3@d>\r\n");
    assert_eq!(
        out,
        "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n452 4.5.3 Too many recipients\r\n"
    );
    let rcpts: Vec<_> = h
        .session
        .envelope()
        .rcpts
        .iter()
        .map(|r| r.addr.as_str())
        .collect();
    assert_eq!(rcpts, ["c1@d", "c2@d"]);
    // RCPT TO:<postmaster> is always acceptable syntax.
    h.feed("RSET\r\nMAIL FROM:<a@b>\r\n");
    assert_eq!(h.feed("RCPT TO:<Postmaster>\r\n"), "250 2.1.5 Ok\r\n");
}

#[test]
fn data_needs_recipients() {
    let mut h = Harness::ehlo();
    assert_eq!(h.feed("DATA\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
    h.feed("MAIL FROM:<a@b>\r\nRCPT TO:<unknown@x>\r\n");
    assert_eq!(h.feed("DATA\r\n"), "554 5.5.1 No valid recipients\r\n");
}

// ---- pipelining and decisions ------------------------------------------------------

#[test]
fn pipelined_transaction_is_answered_in_one_send() {
    let mut h = Harness::ehlo();
    let sends = h.sends();
    let out = h.feed(
        "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<unknown@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n",
    );
    assert_eq!(
        out,
        "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 No such user\r\n250 2.1.5 Ok\r\n\
         354 End data with <CR><LF>.<CR><LF>\r\n"
    );
    assert_eq!(h.sends(), sends + 1);
    let events = h.events();
    let tail = &events[events.len() - 5..];
    assert_eq!(
        tail,
        [
            Ev::Mail("a@b".into()),
            Ev::Rcpt("c@d".into()),
            Ev::Rcpt("unknown@d".into()),
            Ev::Rcpt("e@f".into()),
            Ev::DataStart
        ]
    );
}

#[test]
fn processing_pauses_until_decision_is_answered() {
    let mut h = Harness::ehlo();
    h.auto = false;
    let now = h.now;
    assert_eq!(
        h.session
            .handle_input(b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n", now),
        32
    );
    assert!(matches!(
        h.session.poll_action(),
        Some(proto_smtp::Action::Request(proto_smtp::Request::Mail {
            from: "a@b",
            ..
        }))
    ));
    assert!(h.session.poll_action().is_none());
    assert_eq!(h.session.input_capacity(), 0);
    assert_eq!(h.session.poll_timeout(), None);
    assert_eq!(h.session.handle_input(b"NOOP\r\n", now), 0);
    h.session.mail_result(Ok(()), h.now);
    match h.session.poll_action() {
        Some(proto_smtp::Action::Request(proto_smtp::Request::Rcpt { to, params })) => {
            assert_eq!((to, params.notify), ("c@d", None));
        }
        other => panic!("expected Rcpt, got {other:?}"),
    }
    h.session.rcpt_result(Ok(()), h.now);
    assert_eq!(h.drive(), "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
    assert!(h.session.input_capacity() > 0);
}

#[test]
fn output_is_bounded_under_a_flood_of_commands() {
    let mut h = Harness::ehlo();
    let sends = h.sends();
    let out = h.feed("NOOP\r\n".repeat(5000));
    assert_eq!(out, "250 2.0.0 Ok\r\n".repeat(5000));
    assert!(h.sends() > sends + 5);
}

#[test]
fn capacity_is_zero_until_output_is_taken() {
    let now = std::time::Instant::now();
    let config = std::sync::Arc::new(config());
    let mut s = proto_smtp::ServerSession::new(
        config,
        Peer {
            addr: common::peer(),
            implicit_tls: false,
        },
        now,
    );
    assert_eq!(s.input_capacity(), 0);
    assert!(matches!(s.poll_action(), Some(proto_smtp::Action::Send(_))));
    assert!(s.poll_action().is_none());
    assert_eq!(s.input_capacity(), common::MAX_BUFFERED);
    assert_eq!(s.peer(), common::peer());
}

// ---- DATA -------------------------------------------------------------------------------

#[test]
fn data_transaction() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    assert_eq!(
        h.feed("DATA\r\n"),
        "354 End data with <CR><LF>.<CR><LF>\r\n"
    );
    let out = h.feed("Subject: hi\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n");
    assert_eq!(out, "250 2.0.0 Queued\r\n221 2.0.0 Bye\r\n");
    assert_eq!(
        h.messages,
        [b"Subject: hi\r\n\r\n.leading dot\r\n".to_vec()]
    );
    assert_eq!(
        h.events(),
        [
            Ev::Mail("alice@example.com".into()),
            Ev::Rcpt("bob@example.org".into()),
            Ev::DataStart,
            Ev::DataEnd,
            Ev::Close
        ]
    );
}

#[test]
fn data_is_streamed_in_chunks() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    h.feed("DATA\r\n");
    let line = "0123456789".repeat(9) + "\r\n";
    for _ in 0..1000 {
        assert_eq!(h.feed(&line), "");
    }
    h.feed(".\r\n");
    assert_eq!(h.messages[0].len(), 92_000);
    let chunks = h.log.iter().filter(|e| matches!(e, Ev::Data(_))).count();
    assert!(chunks >= 1000);
}

#[test]
fn empty_body_ends_at_once() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    assert_eq!(
        h.feed("DATA\r\n.\r\nNOOP\r\n"),
        "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Queued\r\n250 2.0.0 Ok\r\n"
    );
    assert_eq!(h.messages, [Vec::<u8>::new()]);
}

#[test]
fn transaction_is_reset_after_message() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    h.feed("DATA\r\nx\r\n.\r\n");
    assert_eq!(h.session.envelope(), &proto_smtp::Envelope::default());
    assert_eq!(h.session.helo(), Some("client.example"));
    h.in_transaction();
}

#[test]
fn bare_lf_is_normalized() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    h.feed("DATA\r\n");
    assert_eq!(h.feed("a\nb\r\n.\r\n"), "250 2.0.0 Queued\r\n");
    assert_eq!(h.messages, [b"a\r\nb\r\n".to_vec()]);
}

#[test]
fn bare_lf_is_rejected_at_the_real_end() {
    let mut c = config();
    c.bare_lf = BareLf::Reject;
    let mut h = Harness::ehlo_with(c);
    h.in_transaction();
    h.feed("DATA\r\n");
    assert_eq!(h.feed("a\nb\r\n"), "");
    assert_eq!(
        h.feed(".\r\nNOOP\r\n"),
        "550 5.5.2 Bare LF line endings are not accepted; use CRLF\r\n250 2.0.0 Ok\r\n"
    );
    assert!(h.messages.is_empty());
    assert_eq!(h.count(&Ev::DataAbort), 1);
    assert_eq!(h.count(&Ev::DataEnd), 0);
    assert_eq!(h.session.envelope().mail_from, None);
}

#[test]
fn oversized_data_is_consumed_and_refused() {
    let mut c = config();
    c.max_message_size = 10;
    let mut h = Harness::ehlo_with(c);
    h.in_transaction();
    h.feed("DATA\r\n");
    let out = h.feed("0123456789\r\nmore\r\n.\r\nNOOP\r\n");
    assert_eq!(
        out,
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n250 2.0.0 Ok\r\n"
    );
    assert_eq!(h.count(&Ev::DataAbort), 1);
    assert!(h.messages.is_empty());
}

// ---- BDAT -------------------------------------------------------------------------------------

#[test]
fn bdat_chunks() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    let out = h.feed("BDAT 7\r\nhello\r\nBDAT 9 LAST\r\n.\r\nworld\0");
    assert_eq!(out, "250 2.0.0 7 octets received\r\n250 2.0.0 Queued\r\n");
    assert_eq!(h.messages, [b"hello\r\n.\r\nworld\0".to_vec()]);
    assert_eq!(h.count(&Ev::DataStart), 1);
    assert_eq!(h.session.envelope().mail_from, None);
}

#[test]
fn bdat_split_across_reads() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    let out = h.feed_in("BDAT 12 LAST\r\nhello\r\nworld", 1);
    assert_eq!(out, "250 2.0.0 Queued\r\n");
    assert_eq!(h.messages, [b"hello\r\nworld".to_vec()]);
}

#[test]
fn bdat_zero_last() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    assert_eq!(h.feed("BDAT 0 LAST\r\n"), "250 2.0.0 Queued\r\n");
    assert_eq!(h.messages, [Vec::<u8>::new()]);
    h.in_transaction();
    let out = h.feed("BDAT 3\r\nabcBDAT 0\r\nBDAT 0 LAST\r\n");
    assert_eq!(
        out,
        "250 2.0.0 3 octets received\r\n250 2.0.0 0 octets received\r\n250 2.0.0 Queued\r\n"
    );
}

#[test]
fn bdat_out_of_sequence_consumes_its_octets() {
    let mut h = Harness::ehlo();
    assert_eq!(
        h.feed("BDAT 6\r\nQUIT\r\nNOOP\r\n"),
        "503 5.5.1 Error: need MAIL and RCPT before BDAT\r\n250 2.0.0 Ok\r\n"
    );
    assert_eq!(h.count(&Ev::DataStart), 0);
}

#[test]
fn data_after_bdat_is_refused() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    h.feed("BDAT 2\r\nab");
    assert_eq!(h.feed("DATA\r\n"), "503 5.5.1 Error: DATA after BDAT\r\n");
    assert_eq!(h.feed("BDAT 1 LAST\r\nc"), "250 2.0.0 Queued\r\n");
    assert_eq!(h.messages, [b"abc".to_vec()]);
}

#[test]
fn oversized_bdat_fails_the_transaction() {
    let mut c = config();
    c.max_message_size = 10;
    let mut h = Harness::ehlo_with(c);
    h.in_transaction();
    let out = h.feed("BDAT 6\r\n123456BDAT 6\r\n123456BDAT 1 LAST\r\nxNOOP\r\n");
    assert_eq!(
        out,
        "250 2.0.0 6 octets received\r\n\
         552 5.3.4 Message size exceeds fixed maximum message size\r\n\
         503 5.5.1 Error: need MAIL and RCPT before BDAT\r\n250 2.0.0 Ok\r\n"
    );
    assert_eq!(h.count(&Ev::DataAbort), 1);
    assert!(h.messages.is_empty());
}

#[test]
fn bdat_bare_lf_policy() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    h.feed("BDAT 3\r\na\nbBDAT 3 LAST\r\n\r\nc");
    assert_eq!(h.messages, [b"a\r\nb\r\nc".to_vec()]);

    let mut c = config();
    c.bare_lf = BareLf::Reject;
    let mut h = Harness::ehlo_with(c);
    h.in_transaction();
    let out = h.feed("BDAT 2\r\na\nBDAT 1 LAST\r\nb");
    assert_eq!(
        out,
        "250 2.0.0 2 octets received\r\n\
         550 5.5.2 Bare LF line endings are not accepted; use CRLF\r\n"
    );
    assert_eq!(h.count(&Ev::DataAbort), 1);
    assert!(h.messages.is_empty());
}

#[test]
fn rset_between_bdat_chunks_aborts() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    h.feed("BDAT 2\r\nab");
    assert_eq!(h.feed("RSET\r\n"), "250 2.0.0 Ok\r\n");
    let events = h.events();
    assert_eq!(events[events.len() - 2..], [Ev::DataStart, Ev::DataAbort]);
    assert_eq!(
        h.feed("BDAT 1 LAST\r\nx"),
        "503 5.5.1 Error: need MAIL and RCPT before BDAT\r\n"
    );
}

// ---- STARTTLS -----------------------------------------------------------------------------

#[test]
fn starttls_unavailable() {
    let mut h = Harness::ehlo();
    assert_eq!(h.feed("STARTTLS\r\n"), "454 4.7.0 TLS not available\r\n");
}

#[test]
fn starttls_discards_pipelined_input_and_resets_state() {
    let mut h = Harness::with(tls_config());
    h.feed("EHLO c\r\n");
    let out = h.feed("STARTTLS\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\n");
    assert_eq!(out, "220 2.0.0 Ready to start TLS\r\n");
    let n = h.log.len();
    assert_eq!(
        h.log[n - 2..],
        [
            Ev::Send("220 2.0.0 Ready to start TLS\r\n".into()),
            Ev::StartTls
        ]
    );
    assert!(h.session.is_tls());
    assert_eq!(h.session.helo(), None);
    assert_eq!(h.count(&Ev::Mail("evil@x".into())), 0);
    assert_eq!(
        h.feed("MAIL FROM:<a@b>\r\n"),
        "503 5.5.1 Error: send HELO/EHLO first\r\n"
    );
    h.feed("EHLO c\r\n");
    assert_eq!(
        h.feed("STARTTLS\r\n"),
        "503 5.5.1 Error: TLS already active\r\n"
    );
}

#[test]
fn starttls_waits_for_handshake() {
    let mut h = Harness::with(tls_config());
    h.auto_tls = false;
    h.feed("EHLO c\r\nSTARTTLS\r\n");
    assert_eq!(h.session.input_capacity(), 0);
    assert_eq!(h.session.poll_timeout(), None);
    assert!(!h.session.is_tls());
    h.session.tls_started(h.now);
    assert!(h.session.is_tls());
    assert!(h.session.input_capacity() > 0);
}

#[test]
fn starttls_refused_in_transaction() {
    let mut h = Harness::ehlo_with(tls_config());
    h.in_transaction();
    assert_eq!(
        h.feed("STARTTLS\r\n"),
        "503 5.5.1 Error: MAIL transaction in progress\r\n"
    );
}

// ---- AUTH ---------------------------------------------------------------------------------

fn auth_config() -> proto_smtp::ServerConfig {
    let mut c = config();
    c.auth_without_tls = true;
    c
}

#[test]
fn auth_plain_initial_response() {
    let mut h = Harness::ehlo_with(auth_config());
    // "user\0user\0secret": an authorization identity that is the user's own.
    assert_eq!(
        h.feed("AUTH PLAIN dXNlcgB1c2VyAHNlY3JldA==\r\n"),
        "235 2.7.0 Authentication successful\r\n"
    );
    assert_eq!(h.session.authenticated(), Some("user"));
    let auth = Ev::Login {
        authzid: "user".into(),
        username: "user".into(),
        password: "secret".into(),
    };
    assert_eq!(h.count(&auth), 1);
    assert_eq!(
        h.feed("AUTH PLAIN AHVzZXIAc2VjcmV0\r\n"),
        "503 5.5.1 Error: already authenticated\r\n"
    );
}

#[test]
fn auth_plain_refuses_acting_for_someone_else() {
    let mut c = auth_config();
    c.max_errors = 2;
    let mut h = Harness::ehlo_with(c);
    // "admin\0user\0secret": refused before the engine is asked, and counted.
    let refusal = "535 5.7.8 Authorization identity must be empty or the user's own\r\n";
    assert_eq!(h.feed("AUTH PLAIN YWRtaW4AdXNlcgBzZWNyZXQ=\r\n"), refusal);
    assert_eq!(h.feed("AUTH PLAIN\r\n"), "334 \r\n");
    assert_eq!(
        h.feed("YWRtaW4AdXNlcgBzZWNyZXQ=\r\n"),
        format!("{refusal}421 4.7.0 mx.example.org Too many errors\r\n")
    );
    assert!(!h.events().iter().any(|e| matches!(e, Ev::Login { .. })));
    assert_eq!(h.session.authenticated(), None);
}

#[test]
fn auth_plain_challenge() {
    let mut h = Harness::ehlo_with(auth_config());
    assert_eq!(h.feed("AUTH PLAIN\r\n"), "334 \r\n");
    assert_eq!(
        h.feed("AHVzZXIAc2VjcmV0\r\n"),
        "235 2.7.0 Authentication successful\r\n"
    );
}

#[test]
fn auth_login() {
    let mut h = Harness::ehlo_with(auth_config());
    assert_eq!(h.feed("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
    assert_eq!(h.feed("dXNlcg==\r\n"), "334 UGFzc3dvcmQ6\r\n");
    assert_eq!(
        h.feed("c2VjcmV0\r\n"),
        "235 2.7.0 Authentication successful\r\n"
    );
    let auth = Ev::Login {
        authzid: String::new(),
        username: "user".into(),
        password: "secret".into(),
    };
    assert_eq!(h.count(&auth), 1);
}

#[test]
fn a_temporary_login_refusal_is_454_and_not_counted() {
    let mut c = auth_config();
    c.max_errors = 1;
    let mut h = Harness::ehlo_with(c);
    // "\0user\0unavailable"
    for _ in 0..3 {
        assert_eq!(
            h.feed("AUTH PLAIN AHVzZXIAdW5hdmFpbGFibGU=\r\n"),
            "454 4.7.0 Temporary authentication failure\r\n"
        );
    }
    assert_eq!(h.session.authenticated(), None);
    assert!(!h.session.is_closed());
}

#[test]
fn auth_failures() {
    let mut h = Harness::ehlo_with(auth_config());
    h.feed("AUTH LOGIN\r\n");
    assert_eq!(h.feed("*\r\n"), "501 5.0.0 Authentication cancelled\r\n");
    assert_eq!(
        h.feed("AUTH PLAIN !!!\r\n"),
        "501 5.5.2 Invalid base64 data\r\n"
    );
    assert_eq!(
        h.feed("AUTH PLAIN /w==\r\n"),
        "501 5.5.2 Malformed authentication response\r\n"
    );
    assert_eq!(
        h.feed("AUTH CRAM-MD5\r\n"),
        "504 5.5.4 Unrecognized authentication type\r\n"
    );
    assert_eq!(
        h.feed("AUTH PLAIN AHVzZXIAd3Jvbmc=\r\n"),
        "535 5.7.8 Authentication credentials invalid\r\n"
    );
    assert_eq!(h.session.authenticated(), None);
    h.in_transaction();
    assert_eq!(
        h.feed("AUTH LOGIN\r\n"),
        "503 5.5.1 Error: MAIL transaction in progress\r\n"
    );
}

#[test]
fn auth_requires_tls_by_default() {
    let mut h = Harness::ehlo_with(tls_config());
    assert_eq!(
        h.feed("AUTH PLAIN AHVzZXIAc2VjcmV0\r\n"),
        "538 5.7.11 Encryption required for requested authentication mechanism\r\n"
    );
    assert_eq!(
        h.count(&Ev::Login {
            authzid: String::new(),
            username: "user".into(),
            password: "secret".into(),
        }),
        0
    );
}

#[test]
fn sasl_lines_are_bounded() {
    let mut h = Harness::ehlo_with(auth_config());
    h.feed("AUTH PLAIN\r\n");
    let mut line = vec![b'A'; 3000];
    line.extend_from_slice(b"\r\nNOOP\r\n");
    assert_eq!(h.feed(line), "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
}

#[test]
fn failed_auths_close_the_connection() {
    let mut c = auth_config();
    c.max_errors = 3;
    let mut h = Harness::ehlo_with(c);
    let bad = "AUTH PLAIN AHVzZXIAd3Jvbmc=\r\n";
    let out = h.feed(bad.repeat(5));
    assert_eq!(
        out,
        "535 5.7.8 Authentication credentials invalid\r\n".repeat(3)
            + "421 4.7.0 mx.example.org Too many errors\r\n"
    );
    assert!(h.session.is_closed());
}

#[test]
fn submission_requires_auth() {
    let mut c = auth_config();
    c.mode = Mode::Submission;
    let mut h = Harness::ehlo_with(c);
    assert_eq!(
        h.feed("MAIL FROM:<user@example.org>\r\n"),
        "530 5.7.0 Authentication required\r\n"
    );
    h.feed("AUTH PLAIN AHVzZXIAc2VjcmV0\r\n");
    assert_eq!(
        h.feed("MAIL FROM:<user@example.org>\r\n"),
        "250 2.1.0 Ok\r\n"
    );
}

// ---- timeouts, errors, shutdown, close ------------------------------------------------------------

#[test]
fn command_timeout() {
    let mut h = Harness::ehlo();
    let deadline = h.session.poll_timeout().unwrap();
    assert_eq!(deadline, h.now + Duration::from_secs(300));
    h.session.handle_timeout(deadline - Duration::from_secs(1));
    assert_eq!(h.drive(), "");
    h.session.handle_timeout(deadline);
    assert_eq!(
        h.drive(),
        "421 4.4.2 mx.example.org Error: timeout exceeded\r\n"
    );
    assert!(h.session.is_closed());
    assert_eq!(h.session.poll_timeout(), None);
}

#[test]
fn data_timeout_aborts_the_body() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    h.feed("DATA\r\npartial");
    h.advance(Duration::from_secs(10));
    h.feed(" body");
    let deadline = h.session.poll_timeout().unwrap();
    assert_eq!(deadline, h.now + Duration::from_secs(180));
    h.session.handle_timeout(deadline);
    assert_eq!(
        h.drive(),
        "421 4.4.2 mx.example.org Error: timeout exceeded\r\n"
    );
    let events = h.events();
    assert_eq!(events[events.len() - 2..], [Ev::DataAbort, Ev::Close]);
}

#[test]
fn a_trickled_body_still_ends_at_the_data_limit() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    let start = h.now;
    h.feed("DATA\r\n");
    // A byte a minute keeps within the 3-minute silence, not within the 10 minutes.
    for _ in 0..9 {
        h.advance(Duration::from_secs(60));
        h.feed("x");
        h.session.handle_timeout(h.now);
        assert_eq!(h.drive(), "");
    }
    let deadline = h.session.poll_timeout().unwrap();
    assert_eq!(deadline, start + Duration::from_secs(600));
    h.session.handle_timeout(deadline);
    assert_eq!(
        h.drive(),
        "421 4.4.2 mx.example.org Error: timeout exceeded\r\n"
    );
    let events = h.events();
    assert_eq!(events[events.len() - 2..], [Ev::DataAbort, Ev::Close]);
}

#[test]
fn the_data_limit_holds_only_while_a_body_is_received() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    h.feed("BDAT 3\r\nabc");
    h.advance(Duration::from_secs(599));
    h.feed("BDAT 0 LAST\r\n");
    let events = h.events();
    assert_eq!(events.last(), Some(&Ev::DataEnd));
    h.session
        .data_result(Reply::new(250, (2, 0, 0), "Ok"), h.now);
    h.drive();
    // Between messages only the command timeout counts.
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(300))
    );
}

#[test]
fn too_many_errors() {
    let mut h = Harness::ehlo();
    let out = h.feed("BOGUS\r\n".repeat(12));
    assert_eq!(
        out,
        "500 5.5.1 Error: command not recognized\r\n".repeat(10)
            + "421 4.7.0 mx.example.org Too many errors\r\n"
    );
    assert_eq!(h.events().last(), Some(&Ev::Close));
}

#[test]
fn nothing_after_close() {
    let mut h = Harness::ehlo();
    h.feed("QUIT\r\nNOOP\r\n");
    assert_eq!(h.session.input_capacity(), 0);
    assert_eq!(h.session.handle_input(b"NOOP\r\n", h.now), 0);
    assert!(h.session.poll_action().is_none());
    h.session.shutdown();
    h.session.handle_timeout(h.now + Duration::from_secs(3600));
    assert!(h.session.poll_action().is_none());
    assert_eq!(h.count(&Ev::Close), 1);
}

#[test]
fn shutdown_when_idle() {
    let mut h = Harness::ehlo();
    h.session.shutdown();
    assert_eq!(
        h.drive(),
        "421 4.3.2 mx.example.org Service shutting down\r\n"
    );
    assert!(h.session.is_closed());
}

#[test]
fn shutdown_waits_for_the_message() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    h.feed("DATA\r\nhello");
    h.session.shutdown();
    assert_eq!(h.drive(), "");
    assert!(!h.session.is_closed());
    let out = h.feed("\r\n.\r\nMAIL FROM:<a@b>\r\n");
    assert_eq!(
        out,
        "250 2.0.0 Queued\r\n421 4.3.2 mx.example.org Service shutting down\r\n"
    );
    assert_eq!(h.messages.len(), 1);
    assert!(h.session.is_closed());
}

#[test]
fn shutdown_waits_for_data_result() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    h.auto = false;
    h.feed("DATA\r\nhello\r\n.\r\n");
    assert_eq!(h.events().last(), Some(&Ev::DataEnd));
    h.session.shutdown();
    assert!(h.session.poll_action().is_none());
    h.session
        .data_result(Reply::new(451, (4, 3, 0), "Try later"), h.now);
    assert_eq!(
        h.drive(),
        "451 4.3.0 Try later\r\n421 4.3.2 mx.example.org Service shutting down\r\n"
    );
}

#[test]
fn shutdown_between_bdat_chunks_waits() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    h.feed("BDAT 1\r\na");
    h.session.shutdown();
    assert_eq!(h.drive(), "");
    let out = h.feed("BDAT 1 LAST\r\nb");
    assert_eq!(
        out,
        "250 2.0.0 Queued\r\n421 4.3.2 mx.example.org Service shutting down\r\n"
    );
}

#[test]
fn shutdown_while_engine_decides_mail() {
    let mut h = Harness::ehlo();
    h.auto = false;
    h.feed("MAIL FROM:<a@b>\r\n");
    h.session.shutdown();
    h.session.mail_result(Ok(()), h.now); // too late: ignored
    assert_eq!(
        h.drive(),
        "421 4.3.2 mx.example.org Service shutting down\r\n"
    );
    assert!(h.session.is_closed());
}

#[test]
fn quit_between_bdat_chunks_aborts() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    h.feed("BDAT 1\r\na");
    assert_eq!(h.feed("QUIT\r\n"), "221 2.0.0 Bye\r\n");
    let events = h.events();
    assert_eq!(events[events.len() - 2..], [Ev::DataAbort, Ev::Close]);
}

#[test]
fn stray_results_are_ignored() {
    let mut h = Harness::ehlo();
    h.session.mail_result(Ok(()), h.now);
    h.session.rcpt_result(Ok(()), h.now);
    h.session.login_result(Ok(()), h.now);
    h.session.data_result(Reply::ok(), h.now);
    h.session.tls_started(h.now);
    assert_eq!(h.drive(), "");
    assert_eq!(h.session.envelope().mail_from, None);
    assert_eq!(h.session.authenticated(), None);
    assert!(!h.session.is_tls());
}
