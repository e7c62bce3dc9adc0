//! The parse budget: its bound holds against mail-parser itself, ordinary mail fits it, and
//! messages past it are summarized as their header and one opaque part.

use base64::Engine as _;
use mail_parser::{Message, MessageParser, PartType};
use proptest::collection::vec;
use proptest::prelude::*;

use super::{MIXED, crlf, show};
use crate::mail::budget::{BUDGET, FIELD, PART, estimate};
use crate::mail::decoded::{SearchText, text_parser};
use crate::mail::parsed::Parsed;
use crate::mail::summary::parser;
use crate::mail::text::fold;
use crate::mail::{PartKind, Summary};

/// Parts and header fields of a parse, encapsulated messages included.
fn units(message: &Message<'_>) -> u64 {
    let mut units = 0;
    let mut pending = vec![message];
    while let Some(message) = pending.pop() {
        for part in &message.parts {
            units += PART + FIELD * part.headers.len() as u64;
            if let PartType::Message(inner) = &part.body {
                pending.push(inner);
            }
        }
    }
    units
}

/// mail-parser's parse; `None` where its debug assertions fail (some digests holding
/// messages: compiled out of release builds).
fn parse<'x>(parser: &MessageParser, message: &'x [u8]) -> Option<Parsed<'x>> {
    let parse = std::panic::AssertUnwindSafe(|| parser.parse(message));
    std::panic::catch_unwind(parse)
        .ok()
        .flatten()
        .map(Parsed::new)
}

fn base64_lines(text: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(crlf(text));
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|l| std::str::from_utf8(l).unwrap_or_default())
        .collect();
    lines.join("\n")
}

/// Lines that mean something to mail-parser, and some that nearly do.
fn fragments() -> Vec<String> {
    let mut fragments: Vec<String> = [
        "Content-Type: multipart/mixed; boundary=b",
        "Content-Type: multipart/digest; boundary=b",
        "Content-Type: multipart/alternative; boundary=\"c\"",
        "Content-Type: message/rfc822",
        "Content-Type: message/global",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Type: multipart/mixed;",
        " boundary=\"b\"",
        "Content-Transfer-Encoding: base64",
        "Content-Transfer-Encoding: quoted-printable",
        "--b",
        "--b--",
        "--c",
        "--c--",
        "text--b",
        "--b junk",
        "--bContent-Type: message/rfc822",
        "",
        "",
        "",
        " ",
        "\t",
        "\r",
        "\u{b}",
        "From: a@b, \"c\" <c@d>",
        "To: x",
        "Subject: =?utf-8?q?hi?=",
        "References: <a> <b>",
        "Received: from x by y",
        "x: y",
        " folded: z",
        "\tcontinued",
        ":::",
        "no colon -- here",
        "Con tent-Type: message/rfc822",
        "content-type:MESSAGE/RFC822",
        "Content-Transfer-Encoding: BASE64",
        "=43ontent-Type: message/rfc822",
        "=41=42 soft=",
        "--b\t",
        "----b",
        "--b--junk",
        "X: --b",
        " \t",
        "\r\r",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    fragments.push(base64_lines(
        "Content-Type: multipart/digest; boundary=d\n\n--d\n\n\n--d\n\nFrom: a\n\nx\n--d--\n",
    ));
    fragments.push(base64_lines(
        "Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\nSubject: x\n\nbody\n",
    ));
    fragments
}

prop_compose! {
    /// A message made of fragments, each line ended by CRLF or LF.
    fn mime_ish()(lines in vec((any::<prop::sample::Index>(), any::<bool>()), 0..120)) -> Vec<u8> {
        let fragments = fragments();
        let mut message = String::new();
        for (fragment, crlf) in lines {
            let fragment: &String = fragment.get(&fragments);
            message.push_str(fragment);
            message.push_str(if crlf { "\r\n" } else { "\n" });
        }
        message.into_bytes()
    }
}

proptest! {
    #[test]
    fn the_bound_covers_what_mail_parser_makes(message in mime_ish()) {
        let bound = estimate(&message).cost;
        for parser in [parser(), text_parser()] {
            if let Some(parsed) = parse(&parser, &message) {
                prop_assert!(units(&parsed) <= bound, "{} > {bound}", units(&parsed));
            }
        }
    }

    #[test]
    fn the_fitting_header_is_a_prefix_of_the_header(message in mime_ish()) {
        let estimate = estimate(&message);
        prop_assert!(estimate.header_fits <= estimate.header_end);
        prop_assert!(estimate.header_end <= message.len());
    }
}

#[test]
fn ordinary_mail_costs_little() {
    let estimate = estimate(&crlf(MIXED));
    assert!(estimate.cost < 1 << 20, "{estimate:?}");
    assert_eq!(estimate.header_end, 332);
    assert_eq!(estimate.header_fits, 332);
}

/// The HTML that Outlook writes: quoted-printable, a style sheet in a comment, colons on
/// most lines and no blank line. The `<!--` could be a boundary delimiter, so what follows
/// could be a header: only its lines that mail-parser would name cost much.
#[test]
fn large_html_with_comments_fits() {
    let mut html = String::from(
        "Content-Type: multipart/alternative; boundary=\"_000_\"\n\n--_000_\n\
         Content-Type: text/html; charset=\"us-ascii\"\n\
         Content-Transfer-Encoding: quoted-printable\n\n\
         <html><head><style><!--\n@font-face\n\t{font-family:\"Cambria Math\";}\n\
         p.MsoNormal\n\t{margin:0cm;\n\tfont-size:11.0pt;}\n--></style></head><body>\n",
    );
    while html.len() < 2 << 20 {
        html.push_str(
            "<p class=3D\"MsoNormal\" style=3D\"margin:0cm;font-family:Calibri\">Hello: =\n\
             world</p>\n",
        );
    }
    html.push_str("</body></html>\n--_000_--\n");
    let estimate = estimate(&crlf(&html));
    assert!(estimate.fits(), "{estimate:?}");
}

/// A message as it arrives today: a long trace, signatures, list fields, two alternatives.
fn realistic(n: usize) -> String {
    let mut m = String::new();
    for hop in 0..8 {
        m.push_str(&format!(
            "Received: from mx{hop}.example.net (mx{hop}.example.net [192.0.2.{hop}])\n\t\
             by mx.example.org (Postfix) with ESMTPS id 4Xyz{hop}\n\tfor <alice@example.org>; \
             Tue, 15 Apr 2025 23:30:0{hop} -0700\n"
        ));
    }
    m.push_str(&format!(
        "DKIM-Signature: v=1; a=rsa-sha256; d=example.net; s=s1;\n\t{}\n",
        "b".repeat(400)
    ));
    for i in 1..=3 {
        m.push_str(&format!(
            "ARC-Seal: i={i}; a=rsa-sha256; d=example.net; s=arc;\n\tb={}\n",
            "c".repeat(300)
        ));
    }
    m.push_str(
        "Authentication-Results: mx.example.org; dkim=pass; spf=pass; dmarc=pass\n\
        From: \"Bob Example\" <bob@example.net>\nTo: Alice <alice@example.org>, carol@example.org\n\
        Cc: \"Team\" <team@example.org>\nList-Id: <team.example.org>\n\
        List-Unsubscribe: <https://example.org/unsubscribe?id=12345>, <mailto:leave@example.org>\n",
    );
    m.push_str(&format!(
        "Subject: Re: notes {n}\nDate: Tue, 15 Apr 2025 23:30:00 -0700\nMessage-ID: <m{n}@example.net>\n\
         References: <a1@example.net> <a2@example.net> <a3@example.net> <a4@example.net>\n\
         X-Mailer: Example 1.0\nX-Spam-Score: 0.1\nMIME-Version: 1.0\n\
         Content-Type: multipart/alternative; boundary=\"alt{n}\"\n\n\
         --alt{n}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n\
         Hello Alice,\n\nsee below.\n\n-- \nBob\n\
         --alt{n}\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n\
         <p style=3D\"margin:0\">Hello Alice,</p><p>see below.</p>\n--alt{n}--\n"
    ));
    m
}

/// Forwarding a hundred messages as attachments makes a message of a hundred full headers:
/// it is parsed whole.
#[test]
fn a_hundred_forwarded_messages_fit() {
    let mut text = String::from(
        "From: alice@example.org\nSubject: the thread\n\
        Content-Type: multipart/mixed; boundary=\"fwd\"\n\n--fwd\n\nHere they are.\n",
    );
    for n in 0..100 {
        text.push_str("--fwd\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\n");
        text.push_str(&realistic(n));
    }
    text.push_str("--fwd--\n");
    let message = crlf(&text);
    let estimate = estimate(&message);
    assert!(estimate.fits(), "{estimate:?}");
    assert_eq!(Summary::derive(&message).parts.len(), 1 + 100 * 3);
}

#[test]
fn dashes_delimit_nothing_before_a_boundary_is_declared() {
    let mut text = String::from("Subject: notes\n\n");
    for _ in 0..100_000 {
        text.push_str("-- a: b\n\n");
    }
    assert!(estimate(&crlf(&text)).cost < 1 << 20);
    let multipart = format!("Content-Type: multipart/mixed; boundary=x\n\n{text}");
    assert!(!estimate(&crlf(&multipart)).fits());
}

#[test]
fn encoded_boundaries_have_no_bound() {
    for header in [
        "Content-Type: multipart/mixed; boundary=\"=?utf-8?q?a=0A=0Ab?=\"",
        "Content-Type: multipart/mixed; boundary*=us-ascii''a%0A%0Ab",
        "Content-Type: multipart/mixed;\n boundary*0*=us-ascii''a;\n boundary*1*=%0A",
    ] {
        let message = crlf(&format!("{header}\n\nbody\n"));
        assert_eq!(estimate(&message).cost, u64::MAX, "{header}");
    }
}

#[test]
fn a_header_too_costly_for_the_budget_is_cut() {
    let mut text = String::from("From: a@example.org\nSubject: many\n");
    text.push_str(&"To: a,b,c,d,e,f\n".repeat(20_000));
    text.push_str("\nbody\n");
    let message = crlf(&text);
    let estimate = estimate(&message);
    assert!(!estimate.fits());
    assert_eq!(estimate.header_end, message.len() - 6);
    assert!(estimate.header_fits < estimate.header_end);
    let summary = Summary::derive(&message);
    assert_eq!(summary.header_end as usize, estimate.header_end);
    assert!(show(&summary.envelope).contains("\"many\""));
}

#[test]
fn a_message_past_the_budget_is_its_header_and_one_opaque_part() {
    let mut text = String::from(
        "From: Mallory <m@example.org>\nSubject: bomb\nContent-Type: multipart/mixed; boundary=x\n\n",
    );
    for _ in 0..(BUDGET / PART) {
        text.push_str("--x\n\nx\n");
    }
    text.push_str("--x--\n");
    let message = crlf(&text);
    let summary = Summary::derive(&message);
    assert_eq!(
        show(&summary.envelope),
        "(NIL \"bomb\" ((\"Mallory\" NIL \"m\" \"example.org\")) ((\"Mallory\" NIL \"m\" \"example.org\")) \
         ((\"Mallory\" NIL \"m\" \"example.org\")) NIL NIL NIL NIL NIL)"
    );
    let body = message.len() as u32 - summary.header_end;
    assert_eq!(
        show(&summary.body_structure),
        format!(
            "(\"APPLICATION\" \"OCTET-STREAM\" (\"BOUNDARY\" \"x\") NIL NIL \"7BIT\" {body} NIL NIL NIL NIL)"
        )
    );
    assert_eq!(summary.parts.len(), 1);
    assert_eq!(summary.parts[0].kind, PartKind::Leaf);
    assert_eq!(summary.parts[0].end as usize, message.len());
    assert_eq!(summary.search.subject, fold("bomb"));
    let search = SearchText::of_message(&message);
    assert!(search.body.is_empty());
    assert!(
        search
            .header
            .iter()
            .any(|(_, value)| *value == fold("bomb"))
    );
}

#[test]
fn a_field_too_costly_for_the_budget_leaves_the_header_ending_where_it_does() {
    let message = crlf(&format!(
        "To: {}a\nSubject: x\n\nbody\n",
        "a,".repeat(200_000)
    ));
    let summary = Summary::derive(&message);
    assert_eq!(summary.header_end as usize, message.len() - 6);
    assert_eq!(summary.parts.len(), 1);
    assert_eq!(summary.parts[0].body_start, summary.header_end);
    assert_eq!(
        show(&summary.envelope),
        "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
    );
}
