//! ENVELOPE and BODYSTRUCTURE in wire form, written once when a message is summarized.
//!
//! proto-imap has no public encoder for these values on their own, only for whole
//! responses, so they are written as the only item of a FETCH response and cut out of it:
//! the string rules (atom, quoted, literal) stay proto-imap's alone. UTF-8 is never sent
//! quoted (`utf8: false`), so 8-bit header bytes always come out as literals, valid whether
//! or not the client enabled `UTF8=ACCEPT`.

use std::num::NonZeroU32;

use proto_imap::{BodyStructure, Data, EncodeOptions, Envelope, FetchItem, Response};

/// `(...)` of an ENVELOPE.
pub(super) fn envelope(envelope: Envelope<'static>) -> Vec<u8> {
    item(FetchItem::Envelope(Box::new(envelope)), b"ENVELOPE")
}

/// `(...)` of a BODYSTRUCTURE (`extended`) or of a BODY.
pub(super) fn body(structure: BodyStructure<'static>, extended: bool) -> Vec<u8> {
    if extended {
        item(
            FetchItem::BodyStructure(Box::new(structure)),
            b"BODYSTRUCTURE",
        )
    } else {
        item(FetchItem::Body(Box::new(structure)), b"BODY")
    }
}

/// Encodes `* 1 FETCH (NAME value)\r\n` and keeps `value`.
fn item(item: FetchItem<'static>, name: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    Response::Untagged(Data::Fetch {
        seq: NonZeroU32::MIN,
        items: vec![item],
    })
    .encode(&mut out, EncodeOptions { utf8: false });
    let prefix = [b"* 1 FETCH (".as_slice(), name, b" "].concat();
    out.strip_prefix(prefix.as_slice())
        .and_then(|rest| rest.strip_suffix(b")\r\n"))
        .map_or_else(Vec::new, <[u8]>::to_vec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_the_value_out_of_the_response() {
        let empty = envelope(Envelope::default());
        assert_eq!(empty, b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
        let subject = envelope(Envelope {
            subject: Some(b"caf\xc3\xa9".as_slice().into()),
            ..Envelope::default()
        });
        assert_eq!(
            subject,
            b"(NIL {5}\r\ncaf\xc3\xa9 NIL NIL NIL NIL NIL NIL NIL NIL)"
        );
    }
}
