//! Tests over whole messages, shared by every area of the module.

mod body;
mod budget;
mod criteria;
mod gate;
mod section;
mod sort_thread;
mod stored;
mod structure;

/// A message written with `\n` line ends, stored as the engine stores mail: CRLF.
pub(super) fn crlf(text: &str) -> Vec<u8> {
    text.replace('\n', "\r\n").into_bytes()
}

/// Text as an IMAP response shows it, for comparing with expected wire text.
pub(super) fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// multipart/mixed: a multipart/alternative (quoted-printable text, base64 HTML) and a
/// base64 PDF attachment with an RFC 2231 non-ASCII file name; RFC 2047 headers.
pub(super) const MIXED: &str = "\
From: \"Doe, Jane\" <jane@example.org>
To: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@example.net>, bob@example.net
Cc: Team: carol@example.com;
Subject: =?UTF-8?B?R3LDvMOfZQ==?= from the team
Date: Tue, 15 Apr 2025 23:30:00 -0700
Message-ID: <m1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"outer\"

This is a multi-part message in MIME format.

--outer
Content-Type: multipart/alternative; boundary=\"inner\"

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Gr=C3=BC=C3=9Fe aus Berlin,
eine lange Zeile, die umbrochen =
wird.
--inner
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

PHA+R3LDvMOfZSBhdXMgQmVybGluPC9wPg==
--inner--

--outer
Content-Type: application/pdf; name=\"report.pdf\"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename*=utf-8''R%C3%A9sum%C3%A9.pdf

JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoK
--outer--
";

/// A note with a forwarded message/rfc822 whose body is a single text part.
pub(super) const FORWARD: &str = "\
From: alice@example.org
To: bob@example.net
Subject: Fwd: Lunch
Date: Wed, 16 Apr 2025 12:00:00 +0000
Message-ID: <fwd1@example.org>
References: <lunch@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"b1\"

--b1
Content-Type: text/plain

See below.
--b1
Content-Type: message/rfc822
Content-Description: forwarded message

From: Carol <carol@example.com>
To: alice@example.org
Subject: Lunch
Date: Tue, 15 Apr 2025 11:00:00 +0200
Message-ID: <lunch@example.com>

Lunch at noon?
Carol
--b1--
";
