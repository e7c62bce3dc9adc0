//! What a Sieve `body` test sees of a message (RFC 5173 §5).

use super::crlf;
use crate::mail::body_parts;

const MESSAGE: &str = "From: a@example.org
Subject: parts
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=b

--b
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Gr=C3=BC=C3=9Fe, see the =
offer.
--b
Content-Type: text/html; charset=utf-8

<p>Hello</p>
--b
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

aGlkZGVu
--b--
";

#[test]
fn raw_text_and_content_as_rfc_5173_names_them() {
    let message = crlf(MESSAGE);
    let raw = body_parts(&message, None);
    assert_eq!(raw.len(), 1);
    assert!(
        raw[0].starts_with("--b\r\n") && raw[0].contains("=C3=BC"),
        "{raw:?}"
    );
    let text = body_parts(&message, Some(&["text".to_string()]));
    assert_eq!(text.len(), 2, "{text:?}");
    assert!(text[0].contains("Grüße, see the offer."), "{text:?}");
    assert!(text[1].contains("<p>Hello</p>"), "{text:?}");
    let html = body_parts(&message, Some(&["text/html".to_string()]));
    assert_eq!(html.len(), 1, "{html:?}");
    let binary = body_parts(&message, Some(&["application".to_string()]));
    assert_eq!(binary, vec!["hidden".to_string()]);
    assert!(body_parts(b"not a message at all", Some(&[String::new()])).len() <= 1);
}
