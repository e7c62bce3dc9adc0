//! xtext (RFC 3461 4): the encoding of the DSN `ENVID` and `ORCPT` and of the
//! `AUTH=` parameter (RFC 4954 5), which lets any byte travel in an ESMTP value.

use std::io::Write as _;

/// Decodes `+XX` hex escapes. Bytes 0x80 and up pass through, so SMTPUTF8
/// clients that send raw UTF-8 are understood. `None` if an escape is malformed,
/// a `+`/`=`/control byte appears unescaped, or the result is not UTF-8.
pub(crate) fn decode(input: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(input.len());
    let mut bytes = input.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'+' => {
                let hi = hex(*bytes.next()?)?;
                let lo = hex(*bytes.next()?)?;
                out.push(hi << 4 | lo);
            }
            b'!'..=b'~' if b != b'=' => out.push(b),
            0x80.. => out.push(b),
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

/// Encodes `text` as xtext: printable ASCII other than `+` and `=` is kept, every
/// other byte becomes `+XX` (upper-case hex, as RFC 3461 requires).
pub(crate) fn encode(text: &str, out: &mut Vec<u8>) {
    for b in text.bytes() {
        if matches!(b, b'!'..=b'~') && b != b'+' && b != b'=' {
            out.push(b);
        } else {
            // Writing into a `Vec` cannot fail.
            let _ = write!(out, "+{b:02X}");
        }
    }
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let text = "a+b=c d\u{e9}\u{7f}";
        let mut out = Vec::new();
        encode(text, &mut out);
        assert_eq!(out, b"a+2Bb+3Dc+20d+C3+A9+7F");
        assert_eq!(decode(&out).as_deref(), Some(text));
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(decode(b"a+2"), None);
        assert_eq!(decode(b"a+zz"), None);
        assert_eq!(decode(b"a=b"), None);
        assert_eq!(decode(b"+FF"), None); // not UTF-8
    }
}
