//! Every section form of BODY[...] and BINARY[...].

use std::borrow::Cow;
use std::num::{NonZeroU32, NonZeroU64};

use proptest::collection::vec;
use proptest::prelude::*;
use proto_imap::{Part, Partial, Section};

use super::stored::summary;
use super::{FORWARD, MIXED, crlf, show};
use crate::mail::{Content, Summary, UnknownCte, binary_section, binary_size, body_section};

fn numbers(path: &[u32]) -> Vec<NonZeroU32> {
    path.iter().filter_map(|&n| NonZeroU32::new(n)).collect()
}

fn part(path: &[u32]) -> Part {
    Part::new(numbers(path)).expect("a part number")
}

fn names(list: &[&'static str]) -> Vec<Cow<'static, [u8]>> {
    list.iter().map(|n| Cow::Borrowed(n.as_bytes())).collect()
}

/// A message with its summary, answering sections as text.
struct Fixture {
    message: Vec<u8>,
    summary: Summary,
}

impl Fixture {
    fn new(text: &str) -> Self {
        let message = crlf(text);
        let summary = Summary::derive(&message);
        Fixture { message, summary }
    }

    fn body(&self, section: Option<Section<'_>>) -> String {
        self.partial(section, None)
    }

    fn partial(&self, section: Option<Section<'_>>, partial: Option<(u64, u64)>) -> String {
        let partial = partial.and_then(|(offset, length)| {
            Some(Partial {
                offset,
                length: NonZeroU64::new(length)?,
            })
        });
        let content = body_section(&self.message, &self.summary, section.as_ref(), partial);
        show(content.bytes(&self.message))
    }

    fn binary(&self, path: &[u32]) -> Result<Vec<u8>, UnknownCte> {
        let content = binary_section(&self.message, &self.summary, &numbers(path), None)?;
        Ok(content.bytes(&self.message).to_vec())
    }
}

#[test]
fn whole_message_header_and_text() {
    let f = Fixture::new(MIXED);
    let message = show(&f.message);
    assert_eq!(f.body(None), message);
    let header = f.body(Some(Section::Header(None)));
    assert!(header.starts_with("From: \"Doe, Jane\""));
    assert!(header.ends_with("boundary=\"outer\"\r\n\r\n"));
    assert_eq!(header.len(), 332);
    let text = f.body(Some(Section::Text(None)));
    assert_eq!(format!("{header}{text}"), message);
    // Large sections are ranges of the stored bytes, not copies.
    let content = body_section(&f.message, &f.summary, Some(&Section::Text(None)), None);
    assert_eq!(content, Content::Range(332..996));
}

#[test]
fn numbered_parts_and_their_mime_headers() {
    let f = Fixture::new(MIXED);
    assert!(
        f.body(Some(Section::Part(part(&[1]))))
            .starts_with("--inner\r\n")
    );
    assert_eq!(
        f.body(Some(Section::Mime(part(&[1])))),
        "Content-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n"
    );
    assert_eq!(
        f.body(Some(Section::Part(part(&[1, 1])))),
        "Gr=C3=BC=C3=9Fe aus Berlin,\r\neine lange Zeile, die umbrochen =\r\nwird."
    );
    assert_eq!(
        f.body(Some(Section::Mime(part(&[1, 1])))),
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    );
    assert_eq!(
        f.body(Some(Section::Part(part(&[2])))),
        "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoK"
    );
}

#[test]
fn nonexistent_parts_and_misapplied_specifiers_are_empty() {
    let f = Fixture::new(MIXED);
    for section in [
        Section::Part(part(&[3])),
        Section::Part(part(&[1, 3])),
        Section::Part(part(&[2, 1])),
        Section::Mime(part(&[7, 1])),
        Section::Header(Some(part(&[1]))),
        Section::Text(Some(part(&[2]))),
        Section::HeaderFields(Some(part(&[1, 1])), names(&["Content-Type"])),
    ] {
        assert_eq!(f.body(Some(section.clone())), "", "{section:?}");
    }
    assert_eq!(f.binary(&[9]), Ok(Vec::new()));
}

#[test]
fn encapsulated_message_sections() {
    let f = Fixture::new(FORWARD);
    let inner_header = "From: Carol <carol@example.com>\r\nTo: alice@example.org\r\nSubject: Lunch\r\n\
                        Date: Tue, 15 Apr 2025 11:00:00 +0200\r\nMessage-ID: <lunch@example.com>\r\n\r\n";
    assert_eq!(
        f.body(Some(Section::Header(Some(part(&[2]))))),
        inner_header
    );
    assert_eq!(
        f.body(Some(Section::Text(Some(part(&[2]))))),
        "Lunch at noon?\r\nCarol"
    );
    assert_eq!(
        f.body(Some(Section::Part(part(&[2])))),
        format!("{inner_header}Lunch at noon?\r\nCarol")
    );
    // The encapsulated message is not multipart: its body is part 2.1.
    assert_eq!(
        f.body(Some(Section::Part(part(&[2, 1])))),
        "Lunch at noon?\r\nCarol"
    );
    assert_eq!(f.body(Some(Section::Mime(part(&[2, 1])))), inner_header);
    assert_eq!(
        f.body(Some(Section::Mime(part(&[2])))),
        "Content-Type: message/rfc822\r\nContent-Description: forwarded message\r\n\r\n"
    );
    assert_eq!(
        f.body(Some(Section::HeaderFields(
            Some(part(&[2])),
            names(&["SUBJECT"])
        ))),
        "Subject: Lunch\r\n\r\n"
    );
    assert_eq!(f.body(Some(Section::Part(part(&[1])))), "See below.");
    assert_eq!(
        f.binary(&[2]).map(|b| show(&b)),
        Ok(format!("{inner_header}Lunch at noon?\r\nCarol"))
    );
}

#[test]
fn header_fields_keep_whole_fields_in_order_and_the_blank_line() {
    let f = Fixture::new(
        "Subject: a long\n  folded subject\nFrom: x@example.org\nX-Empty:\nto : y@example.org\n\nbody\n",
    );
    assert_eq!(
        f.body(Some(Section::HeaderFields(
            None,
            names(&["to", "subject", "x-missing"])
        ))),
        "Subject: a long\r\n  folded subject\r\nto : y@example.org\r\n\r\n"
    );
    assert_eq!(
        f.body(Some(Section::HeaderFieldsNot(
            None,
            names(&["TO", "Subject"])
        ))),
        "From: x@example.org\r\nX-Empty:\r\n\r\n"
    );
    assert_eq!(
        f.body(Some(Section::HeaderFields(None, names(&["Cc"])))),
        "\r\n"
    );

    // No body and no blank line: no blank line either (RFC 3501 6.4.5).
    let f = Fixture::new("Subject: x\nFrom: y");
    assert_eq!(
        f.body(Some(Section::HeaderFields(None, names(&["from"])))),
        "From: y\r\n"
    );
    assert_eq!(f.body(Some(Section::Header(None))), "Subject: x\r\nFrom: y");
    assert_eq!(f.body(Some(Section::Text(None))), "");
}

#[test]
fn partials() {
    let f = Fixture::new(MIXED);
    assert_eq!(
        f.partial(Some(Section::Text(None)), Some((0, 10))),
        "This is a "
    );
    assert_eq!(f.partial(None, Some((990, 100))), "er--\r\n");
    assert_eq!(f.partial(None, Some((996, 5))), "");
    assert_eq!(f.partial(None, Some((u64::MAX, u64::MAX))), "");
    assert_eq!(
        f.partial(
            Some(Section::HeaderFields(None, names(&["Subject"]))),
            Some((9, 12))
        ),
        "=?UTF-8?B?R3"
    );
    let content = binary_section(
        &f.message,
        &f.summary,
        &numbers(&[1, 2]),
        Some(Partial {
            offset: 3,
            length: NonZeroU64::MIN.saturating_add(6),
        }),
    );
    assert_eq!(
        content.map(|c| c.bytes(&f.message).to_vec()),
        Ok("Grüße".as_bytes().to_vec())
    );
}

#[test]
fn binary_undoes_transfer_encodings() {
    let f = Fixture::new(MIXED);
    assert_eq!(
        f.binary(&[1, 1]).map(|b| show(&b)),
        Ok("Grüße aus Berlin,\r\neine lange Zeile, die umbrochen wird.".to_string())
    );
    assert_eq!(
        f.binary(&[1, 2]).map(|b| show(&b)),
        Ok("<p>Grüße aus Berlin</p>".to_string())
    );
    assert_eq!(
        binary_size(&f.message, &f.summary, &numbers(&[1, 2])),
        Ok(25)
    );
    let pdf = b"%PDF-1.4\n%\xc7\xec\x8f\xa2\n1 0 obj\n<</Type/Catalog>>\nendobj\n";
    assert_eq!(f.binary(&[2]), Ok(pdf.to_vec()));
    assert_eq!(
        binary_size(&f.message, &f.summary, &numbers(&[2])),
        Ok(pdf.len() as u64)
    );
    // BINARY[] is the message as stored.
    assert_eq!(f.binary(&[]), Ok(f.message.clone()));
    assert_eq!(binary_size(&f.message, &f.summary, &[]), Ok(996));
}

#[test]
fn undecodable_content_is_unknown_cte() {
    let f = Fixture::new(
        "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Transfer-Encoding: x-uuencode\n\n\
         begin 644 a\n--x\nContent-Transfer-Encoding: base64\n\n!!!! not base64 ????\n--x--\n",
    );
    assert_eq!(f.binary(&[1]), Err(UnknownCte));
    assert_eq!(
        binary_size(&f.message, &f.summary, &numbers(&[1])),
        Err(UnknownCte)
    );
    assert_eq!(f.binary(&[2]), Err(UnknownCte));
}

proptest! {
    /// Offsets come from disk: whatever the summary says, no section slices out of bounds.
    #[test]
    fn sections_never_panic(
        summary in summary(),
        message in vec(any::<u8>(), 0..256),
        path in vec(1u32..4, 0..3),
        partial in proptest::option::of((any::<u64>(), 1u64..)),
    ) {
        let partial = partial.and_then(|(offset, length)| {
            Some(Partial { offset, length: NonZeroU64::new(length)? })
        });
        let part = Part::new(numbers(&path));
        let mut sections = vec![
            None,
            Some(Section::Header(part.clone())),
            Some(Section::Text(part.clone())),
            Some(Section::HeaderFields(part.clone(), names(&["subject"]))),
            Some(Section::HeaderFieldsNot(part.clone(), names(&["to"]))),
        ];
        if let Some(part) = part {
            sections.push(Some(Section::Part(part.clone())));
            sections.push(Some(Section::Mime(part)));
        }
        for section in &sections {
            let content = body_section(&message, &summary, section.as_ref(), partial);
            // The literal announced is the literal sent.
            prop_assert_eq!(content.bytes(&message).len(), content.len());
        }
        if let Ok(content) = binary_section(&message, &summary, &numbers(&path), partial) {
            prop_assert_eq!(content.bytes(&message).len(), content.len());
        }
        let _ = binary_size(&message, &summary, &numbers(&path));
    }
}
