//! Mailbox names and the modified UTF-7 of IMAP4rev1 (RFC 3501 5.1.3).
//!
//! Names are kept as the bytes the client sent: in IMAP4rev1 they are
//! modified UTF-7 and only the session knows whether the client enabled
//! `UTF8=ACCEPT` or `IMAP4rev2` (which send UTF-8), so conversion is left to
//! it through [`decode_utf7`] and [`encode_utf7`]. Only `INBOX` is special
//! here: it is case-insensitive (RFC 9051 5.1), so it becomes its own variant.

use std::borrow::Cow;

use base64::Engine as _;
use base64::alphabet::IMAP_MUTF7;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// A mailbox name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Mailbox<'a> {
    /// `INBOX`, in any case.
    Inbox,
    /// Any other name, as sent. Build it with [`Mailbox::new`], which never
    /// puts a spelling of `INBOX` here.
    Other(Cow<'a, [u8]>),
}

impl<'a> Mailbox<'a> {
    /// A mailbox from its wire bytes, recognising `INBOX` in any case.
    pub fn new(name: impl Into<Cow<'a, [u8]>>) -> Self {
        let name = name.into();
        if name.eq_ignore_ascii_case(b"INBOX") {
            Self::Inbox
        } else {
            Self::Other(name)
        }
    }

    /// The name's bytes (`INBOX` upper-case).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inbox => b"INBOX",
            Self::Other(name) => name,
        }
    }

    /// Copies the name so it can outlive its input.
    pub fn into_owned(self) -> Mailbox<'static> {
        match self {
            Self::Inbox => Mailbox::Inbox,
            Self::Other(name) => Mailbox::Other(Cow::Owned(name.into_owned())),
        }
    }
}

/// Modified base64: `,` for `/`, no padding.
const MUTF7: GeneralPurpose = GeneralPurpose::new(
    &IMAP_MUTF7,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// Decodes a modified UTF-7 name; `None` if it is not valid modified UTF-7
/// (8-bit or control bytes, a bad base64 run, broken UTF-16, or a run that
/// encodes printable ASCII, which RFC 3501 forbids so that each name has one
/// spelling).
pub fn decode_utf7(name: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'&' => {
                let end = rest.iter().position(|&c| c == b'-')?;
                let (run, tail) = rest.split_at(end);
                rest = tail.get(1..)?;
                if run.is_empty() {
                    out.push('&');
                } else {
                    decode_run(run, &mut out)?;
                }
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => return None,
        }
    }
    Some(out)
}

fn decode_run(run: &[u8], out: &mut String) -> Option<()> {
    let bytes = MUTF7.decode(run).ok()?;
    let (pairs, []) = bytes.as_chunks::<2>() else {
        return None;
    };
    let units = pairs.iter().map(|&pair| u16::from_be_bytes(pair));
    for c in char::decode_utf16(units) {
        let c = c.ok()?;
        if (' '..='~').contains(&c) {
            return None;
        }
        out.push(c);
    }
    Some(())
}

/// Encodes a name as modified UTF-7.
pub fn encode_utf7(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u8> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush_run(&mut pending, &mut out);
            out.push(c);
            if c == '&' {
                out.push('-');
            }
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                pending.extend_from_slice(&unit.to_be_bytes());
            }
        }
    }
    flush_run(&mut pending, &mut out);
    out
}

fn flush_run(pending: &mut Vec<u8>, out: &mut String) {
    if !pending.is_empty() {
        out.push('&');
        MUTF7.encode_string(&*pending, out);
        out.push('-');
        pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbox_is_case_insensitive() {
        assert_eq!(Mailbox::new(&b"iNbOx"[..]), Mailbox::Inbox);
        assert_eq!(Mailbox::new(&b"INBOX.x"[..]).as_bytes(), b"INBOX.x");
    }

    #[test]
    fn utf7_examples_from_rfc3501() {
        let name = "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}";
        let wire = "~peter/mail/&U,BTFw-/&ZeVnLIqe-";
        assert_eq!(encode_utf7(name), wire);
        assert_eq!(decode_utf7(wire.as_bytes()).as_deref(), Some(name));
        assert_eq!(encode_utf7("a&b"), "a&-b");
        assert_eq!(decode_utf7(b"a&-b").as_deref(), Some("a&b"));
        assert_eq!(encode_utf7("\u{1f600}"), "&2D3eAA-");
        assert_eq!(decode_utf7(b"&2D3eAA-").as_deref(), Some("\u{1f600}"));
    }

    #[test]
    fn utf7_rejects_malformed() {
        assert_eq!(decode_utf7(b"&U,BTFw"), None, "unterminated run");
        assert_eq!(decode_utf7(b"&AGE-"), None, "encoded ASCII");
        assert_eq!(decode_utf7(b"&2D0-"), None, "lone surrogate");
        assert_eq!(decode_utf7("\u{e9}".as_bytes()), None, "8-bit");
        assert_eq!(decode_utf7(b"&U/BTFw-"), None, "plain base64 slash");
    }
}
