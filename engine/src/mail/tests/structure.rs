//! ENVELOPE, BODYSTRUCTURE, BODY and the part table, against text written by hand from
//! RFC 3501 7.4.2 (sizes and offsets checked by splitting the messages independently).

use std::num::NonZeroU32;

use super::{FORWARD, MIXED, crlf, show};
use crate::mail::{PartInfo, PartKind, Summary, TransferEncoding};

fn derive(text: &str) -> Summary {
    Summary::derive(&crlf(text))
}

fn part(
    number: &[u32],
    (header_start, body_start, end): (u32, u32, u32),
    kind: PartKind,
) -> PartInfo {
    PartInfo {
        number: number.iter().filter_map(|&n| NonZeroU32::new(n)).collect(),
        header_start,
        body_start,
        end,
        kind,
        encoding: TransferEncoding::SevenBit,
        charset: None,
    }
}

const TEXT_PLAIN_EMPTY: &str =
    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)";

#[test]
fn multipart_alternative_inside_mixed_with_attachment() {
    let s = derive(MIXED);
    assert_eq!(
        show(&s.body_structure),
        "(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 69 2 NIL NIL NIL NIL)\
         (\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL \"BASE64\" 36 0 NIL NIL NIL NIL) \
         \"ALTERNATIVE\" (\"BOUNDARY\" \"inner\") NIL NIL NIL)\
         (\"APPLICATION\" \"PDF\" (\"NAME\" \"report.pdf\") NIL NIL \"BASE64\" 64 NIL \
         (\"ATTACHMENT\" (\"FILENAME*\" \"utf-8''R%C3%A9sum%C3%A9.pdf\")) NIL NIL) \
         \"MIXED\" (\"BOUNDARY\" \"outer\") NIL NIL NIL)"
    );
    assert_eq!(
        show(&s.body),
        "(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 69 2)\
         (\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL \"BASE64\" 36 0) \"ALTERNATIVE\")\
         (\"APPLICATION\" \"PDF\" (\"NAME\" \"report.pdf\") NIL NIL \"BASE64\" 64) \"MIXED\")"
    );
    // Header values stay as written: clients decode RFC 2047 themselves.
    assert_eq!(
        show(&s.envelope),
        "(\"Tue, 15 Apr 2025 23:30:00 -0700\" \"=?UTF-8?B?R3LDvMOfZQ==?= from the team\" \
         ((\"Doe, Jane\" NIL \"jane\" \"example.org\")) ((\"Doe, Jane\" NIL \"jane\" \"example.org\")) \
         ((\"Doe, Jane\" NIL \"jane\" \"example.org\")) \
         ((\"=?UTF-8?Q?J=C3=B6rg_M=C3=BCller?=\" NIL \"joerg\" \"example.net\")(NIL NIL \"bob\" \"example.net\")) \
         ((NIL NIL \"Team\" NIL)(NIL NIL \"carol\" \"example.com\")(NIL NIL NIL NIL)) NIL NIL \"<m1@example.org>\")"
    );
    let utf8 = |p: PartInfo, encoding| PartInfo {
        encoding,
        charset: Some("utf-8".into()),
        ..p
    };
    assert_eq!(s.header_end, 332);
    assert_eq!(
        s.parts,
        [
            part(&[1], (389, 446, 749), PartKind::Multipart),
            utf8(
                part(&[1, 1], (455, 543, 612), PartKind::Leaf),
                TransferEncoding::QuotedPrintable
            ),
            utf8(
                part(&[1, 2], (623, 700, 736), PartKind::Leaf),
                TransferEncoding::Base64
            ),
            PartInfo {
                encoding: TransferEncoding::Base64,
                ..part(&[2], (760, 919, 983), PartKind::Leaf)
            },
        ]
    );
}

#[test]
fn forwarded_message_has_its_own_envelope_structure_and_numbering() {
    let s = derive(FORWARD);
    let inner_envelope = "(\"Tue, 15 Apr 2025 11:00:00 +0200\" \"Lunch\" \
         ((\"Carol\" NIL \"carol\" \"example.com\")) ((\"Carol\" NIL \"carol\" \"example.com\")) \
         ((\"Carol\" NIL \"carol\" \"example.com\")) ((NIL NIL \"alice\" \"example.org\")) \
         NIL NIL NIL \"<lunch@example.com>\")";
    assert_eq!(
        show(&s.body_structure),
        format!(
            "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 10 0 NIL NIL NIL NIL)\
             (\"MESSAGE\" \"RFC822\" NIL NIL \"forwarded message\" \"7BIT\" 167 {inner_envelope} \
             (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 21 1 NIL NIL NIL NIL) 7 \
             NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"b1\") NIL NIL NIL)"
        )
    );
    assert_eq!(
        show(&s.body),
        format!(
            "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 10 0)\
             (\"MESSAGE\" \"RFC822\" NIL NIL \"forwarded message\" \"7BIT\" 167 {inner_envelope} \
             (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 21 1) 7) \"MIXED\")"
        )
    );
    assert_eq!(
        s.parts,
        [
            part(&[1], (244, 272, 282), PartKind::Leaf),
            part(&[2], (290, 362, 529), PartKind::Message { header_end: 508 }),
            part(&[2, 1], (362, 508, 529), PartKind::Leaf),
        ]
    );
}

/// Dovecot's own BODYSTRUCTURE test message (src/lib-imap/test-imap-bodystructure.c):
/// the same sizes, lines and values as Dovecot answers, in our upper case and with
/// Content-MD5 reported as NIL.
#[test]
fn nested_message_in_multipart_like_dovecot() {
    let s = derive(
        "From: user@domain.org
Date: Sat, 24 Mar 2007 23:00:00 +0200
Mime-Version: 1.0
Content-Type: multipart/mixed; boundary=\"foo
 bar\"

Root MIME prologue

--foo bar
Content-Type: text/x-myown; charset=us-ascii; foo=\"quoted\\\"string\"
Content-ID: <foo@example.com>
Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==
Content-Disposition: inline; foo=bar
Content-Description: hellodescription
Content-Language: en, fi, se
Content-Location: http://example.com/test.txt

hello

--foo bar
Content-Type: message/rfc822

From: sub@domain.org
To: sub-to1@domain.org, sub-to2@domain.org
Date: Sun, 12 Aug 2012 12:34:56 +0300
Subject: submsg
Content-Type: multipart/alternative; boundary=\"sub1\"

Sub MIME prologue
--sub1
Content-Type: text/html
Content-Transfer-Encoding: 8bit

<p>Hello world</p>

--sub1
Content-Type: text/plain
Content-Transfer-Encoding: ?invalid

Hello another world

--sub1--
Sub MIME epilogue

--foo bar--
Root MIME epilogue
",
    );
    assert_eq!(
        show(&s.body_structure),
        "((\"TEXT\" \"X-MYOWN\" (\"CHARSET\" \"us-ascii\" \"FOO\" \"quoted\\\"string\") \"<foo@example.com>\" \
         \"hellodescription\" \"7BIT\" 7 1 NIL (\"INLINE\" (\"FOO\" \"bar\")) (\"en\" \"fi\" \"se\") \
         \"http://example.com/test.txt\")(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 412 \
         (\"Sun, 12 Aug 2012 12:34:56 +0300\" \"submsg\" ((NIL NIL \"sub\" \"domain.org\")) \
         ((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub\" \"domain.org\")) \
         ((NIL NIL \"sub-to1\" \"domain.org\")(NIL NIL \"sub-to2\" \"domain.org\")) NIL NIL NIL NIL) \
         ((\"TEXT\" \"HTML\" (\"CHARSET\" \"us-ascii\") NIL NIL \"8BIT\" 20 1 NIL NIL NIL NIL)\
         (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 21 1 NIL NIL NIL NIL) \
         \"ALTERNATIVE\" (\"BOUNDARY\" \"sub1\") NIL NIL NIL) 21 NIL NIL NIL NIL) \
         \"MIXED\" (\"BOUNDARY\" \"foo bar\") NIL NIL NIL)"
    );
}

#[test]
fn single_part_message_is_part_one() {
    let message = "From: a@example.org\nSubject: hi\n\nHello\nWorld\n";
    let s = derive(message);
    assert_eq!(
        show(&s.body_structure),
        "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 14 2 NIL NIL NIL NIL)"
    );
    assert_eq!(
        show(&s.body),
        "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 14 2)"
    );
    assert_eq!(s.header_end, 36);
    assert_eq!(s.parts, [part(&[1], (0, 36, 50), PartKind::Leaf)]);
}

#[test]
fn top_level_message_rfc822_numbers_the_inner_body_1_1() {
    let s = derive(
        "From: a@b\nContent-Type: message/rfc822\n\nFrom: inner@b\nSubject: inner\n\ninner body\n",
    );
    assert_eq!(
        show(&s.body_structure),
        "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 45 (NIL \"inner\" ((NIL NIL \"inner\" \"b\")) \
         ((NIL NIL \"inner\" \"b\")) ((NIL NIL \"inner\" \"b\")) NIL NIL NIL NIL NIL) \
         (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 12 1 NIL NIL NIL NIL) 4 NIL NIL NIL NIL)"
    );
    assert_eq!(
        s.parts,
        [
            part(&[1], (0, 43, 88), PartKind::Message { header_end: 76 }),
            part(&[1, 1], (43, 76, 88), PartKind::Leaf),
        ]
    );
}

#[test]
fn eight_bit_headers_come_out_as_literals() {
    let s = Summary::derive(b"Subject: Gr\xc3\xbc\xc3\x9fe\r\nFrom: J\xc3\xb6rg <j@x.de>\r\nTo: caf\xe9@x.de\r\n\r\nhi\r\n");
    let name = "({5}\r\nJ\u{f6}rg NIL \"j\" \"x.de\")";
    let mut expected =
        format!("(NIL {{7}}\r\nGr\u{fc}\u{df}e ({name}) ({name}) ({name}) ((NIL NIL {{4}}\r\n")
            .into_bytes();
    expected.extend_from_slice(b"caf\xe9 \"x.de\")) NIL NIL NIL NIL)");
    assert_eq!(show(&s.envelope), show(&expected));
    assert_eq!(s.envelope, expected);
}

#[test]
fn envelopes_like_imaptest() {
    let envelope = |text: &str| show(&derive(text).envelope);
    assert_eq!(
        envelope(
            "Message-ID: <msg@id>\nIn-Reply-To: <reply@to.id>\nDate: Thu, 15 Feb 2007 01:02:03 +0200\n\
             Subject: subject header\nFrom: From Real <fromuser@fromdomain.org>\n\
             To: To Real <touser@todomain.org>\nCc: Cc Real <ccuser@ccdomain.org>\n\
             Bcc: Bcc Real <bccuser@bccdomain.org>\nSender: Sender Real <senderuser@senderdomain.org>\n\
             Reply-To: ReplyTo Real <replytouser@replytodomain.org>\n\nbody\n"
        ),
        "(\"Thu, 15 Feb 2007 01:02:03 +0200\" \"subject header\" \
         ((\"From Real\" NIL \"fromuser\" \"fromdomain.org\")) \
         ((\"Sender Real\" NIL \"senderuser\" \"senderdomain.org\")) \
         ((\"ReplyTo Real\" NIL \"replytouser\" \"replytodomain.org\")) \
         ((\"To Real\" NIL \"touser\" \"todomain.org\")) ((\"Cc Real\" NIL \"ccuser\" \"ccdomain.org\")) \
         ((\"Bcc Real\" NIL \"bccuser\" \"bccdomain.org\")) \"<reply@to.id>\" \"<msg@id>\")"
    );
    assert_eq!(
        envelope(
            "Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: user@domain (Real Name)\nSender: \nReply-To: \n\nbody\n"
        ),
        "(\"Thu, 15 Feb 2007 01:02:03 +0200\" NIL ((\"Real Name\" NIL \"user\" \"domain\")) \
         ((\"Real Name\" NIL \"user\" \"domain\")) ((\"Real Name\" NIL \"user\" \"domain\")) NIL NIL NIL NIL NIL)"
    );
    assert_eq!(
        envelope("From: <@route:user@domain>\nSubject: folded\n  subject\n\nbody\n"),
        "(NIL \"folded  subject\" ((NIL \"@route\" \"user\" \"domain\")) ((NIL \"@route\" \"user\" \"domain\")) \
         ((NIL \"@route\" \"user\" \"domain\")) NIL NIL NIL NIL NIL)"
    );
}

#[test]
fn malformed_mime_gets_a_conservative_structure() {
    // Not a message at all: read as a header with an empty text body.
    let s = Summary::derive(b"\x00\xff garbage without any header");
    assert_eq!(show(&s.body_structure), TEXT_PLAIN_EMPTY);
    assert_eq!(
        show(&s.envelope),
        "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
    );
    assert_eq!(s.header_end, 29);
    assert_eq!(s.parts, [part(&[1], (0, 29, 29), PartKind::Leaf)]);

    let s = Summary::derive(b"");
    assert_eq!(show(&s.body_structure), TEXT_PLAIN_EMPTY);

    // A multipart with no part at all still has one (empty) part.
    let s = derive("Content-Type: multipart/mixed; boundary=x\n\n--x--\n");
    assert_eq!(
        show(&s.body_structure),
        format!("({TEXT_PLAIN_EMPTY} \"MIXED\" (\"BOUNDARY\" \"x\") NIL NIL NIL)")
    );
    assert_eq!(s.parts.len(), 1);

    // A multipart whose boundary never comes is opaque.
    let s = derive("Content-Type: multipart/mixed; boundary=x\n\nno boundary at all\n");
    assert_eq!(
        show(&s.body_structure),
        "(\"APPLICATION\" \"OCTET-STREAM\" (\"BOUNDARY\" \"x\") NIL NIL \"7BIT\" 20 NIL NIL NIL NIL)"
    );

    // A last part without its closing delimiter ends with the message.
    let s = derive(
        "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nno end\n",
    );
    assert_eq!(
        show(&s.body_structure),
        "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 8 1 NIL NIL NIL NIL) \
         \"MIXED\" (\"BOUNDARY\" \"x\") NIL NIL NIL)"
    );

    // An encoded message/rfc822 (RFC 2046 forbids it) is an opaque attachment; a digest
    // part without a Content-Type is a message/rfc822.
    let s = derive(
        "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: message/rfc822\n\
         Content-Transfer-Encoding: base64\n\nRnJvbTogaW5uZXJAYg0KDQpib2R5DQo=\n--x\n\
         Content-Type: multipart/digest; boundary=y\n\n--y\n\nFrom: d@b\n\ndigest one\n--y--\n--x--\n",
    );
    assert_eq!(
        show(&s.body),
        "((\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"BASE64\" 32)((\"MESSAGE\" \"RFC822\" NIL NIL NIL \
         \"7BIT\" 23 (NIL NIL ((NIL NIL \"d\" \"b\")) ((NIL NIL \"d\" \"b\")) ((NIL NIL \"d\" \"b\")) NIL NIL NIL \
         NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 10 0) 2) \"DIGEST\") \"MIXED\")"
    );
}

#[test]
fn non_ascii_parameters_become_rfc2231() {
    let s = derive(
        "Content-Type: text/plain; charset=utf-8; name=\"=?utf-8?q?caf=C3=A9?=.txt\"\n\
         Content-Disposition: attachment; filename=\"plain.txt\"\nContent-Language: de\n\nx\n",
    );
    assert_eq!(
        show(&s.body_structure),
        "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\" \"NAME*\" \"utf-8''caf%C3%A9.txt\") NIL NIL \"7BIT\" 3 1 \
         NIL (\"ATTACHMENT\" (\"FILENAME\" \"plain.txt\")) (\"de\") NIL)"
    );
}

#[test]
fn hostile_nesting_is_bounded() {
    // 100 000 nested messages: without care, dropping mail-parser's parse overflows the stack.
    let message = "Content-Type: message/rfc822\n\n".repeat(100_000) + "Subject: deep\n\nbody\n";
    let s = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let bytes = crlf(&message);
            let s = Summary::derive(&bytes);
            let facts_text = crate::mail::decoded::SearchText::of_message(&bytes);
            assert!(facts_text.body.is_empty());
            s
        })
        .expect("a thread")
        .join()
        .expect("no stack overflow");
    assert!(s.parts.len() <= crate::mail::structure::MAX_DEPTH + 1);
    assert!(s.body_structure.ends_with(b")"));

    let mut message = String::from("Content-Type: multipart/mixed; boundary=x\n\n");
    for _ in 0..20_000 {
        message.push_str("--x\n\nx\n");
    }
    let s = derive(&message);
    assert_eq!(s.parts.len(), crate::mail::structure::MAX_PARTS);
}

/// mail-parser recovering from a broken digest placed part 1.1 past the end of part 1
/// (found by the message_summary fuzz target): every part lies within its parent.
#[test]
fn parts_lie_within_their_parents() {
    let message = b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\n\r\n\n--dbj-";
    let summary = Summary::derive(message);
    for child in &summary.parts {
        let Some((_, parent_number)) = child.number.split_last() else {
            continue;
        };
        let Some(parent) = summary.part(parent_number) else {
            continue;
        };
        assert!(
            parent.body_start <= child.header_start && child.end <= parent.end,
            "{child:?} outside {parent:?}"
        );
    }
}
