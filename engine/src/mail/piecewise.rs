//! A part's content decoded from its transfer encoding a piece at a time, so that BINARY
//! of a large attachment is sent (and its BINARY.SIZE counted) without the part, or what it
//! decodes to, ever being in memory whole.
//!
//! Each piece is decoded by mail-parser's own decoder, the one [`binary_section`] uses for
//! a part decoded whole. The pieces are cut where that decoder carries no state from one
//! byte to the next: in base64 after a whole group of four characters, in quoted-printable
//! after a line's end or after a character that is neither white space nor inside an
//! `=XX` escape. What was cut off waits for the next input. Decoded piece by piece, a part
//! gives what it gives decoded whole (a property test holds it to that).
//!
//! [`binary_section`]: super::binary_section

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;

use super::parts::TransferEncoding;
use super::section::UnknownCte;

/// Undecoded input held back at most: a quoted-printable line with no place to cut in it
/// (white space, say) longer than this is taken as undecodable. RFC 2045 allows 76 octets.
const HELD_MAX: usize = 64 * 1024;

/// Decodes one part's content as it is read.
#[derive(Debug)]
pub struct Piecewise {
    kind: Kind,
    /// Input not decoded yet: it ends inside a group or an escape.
    held: Vec<u8>,
    /// Quoted-printable: a CR was seen, after which mail-parser ends every decoded line
    /// with CRLF (it learns this from the first CR and keeps it).
    crlf: bool,
    /// Base64: the input stopped at mail-parser's stop byte; the rest is ignored.
    stopped: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Base64,
    QuotedPrintable,
}

impl Piecewise {
    /// A decoder for content in `encoding`; `None` for encodings that need no decoding.
    /// An encoding we do not know is [`UnknownCte`].
    pub fn new(encoding: &TransferEncoding) -> Result<Option<Piecewise>, UnknownCte> {
        let kind = match encoding {
            TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary => {
                return Ok(None);
            }
            TransferEncoding::Base64 => Kind::Base64,
            TransferEncoding::QuotedPrintable => Kind::QuotedPrintable,
            TransferEncoding::Other(_) => return Err(UnknownCte),
        };
        Ok(Some(Piecewise {
            kind,
            held: Vec::new(),
            crlf: false,
            stopped: false,
        }))
    }

    /// Decodes what `input` completes, appending it to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), UnknownCte> {
        if self.stopped {
            return Ok(());
        }
        self.held.extend_from_slice(input);
        let cut = match self.kind {
            Kind::Base64 => self.base64_cut()?,
            Kind::QuotedPrintable => quoted_printable_cut(&self.held),
        };
        if cut > 0 {
            let rest = self.held.split_off(cut);
            let piece = std::mem::replace(&mut self.held, rest);
            self.decode(&piece, out)?;
        }
        if self.kind == Kind::Base64 {
            // What is held is at most three characters of a group, and the white space
            // between them, which the decoder skips anyway.
            self.held
                .retain(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
        }
        if self.held.len() > HELD_MAX {
            return Err(UnknownCte);
        }
        Ok(())
    }

    /// Decodes what is still held: the content ended.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), UnknownCte> {
        let held = std::mem::take(&mut self.held);
        match self.stopped || held.is_empty() {
            true => Ok(()),
            false => self.decode(&held, out),
        }
    }

    fn decode(&mut self, piece: &[u8], out: &mut Vec<u8>) -> Result<(), UnknownCte> {
        let decoded = match self.kind {
            Kind::Base64 => base64_decode(piece),
            Kind::QuotedPrintable if self.crlf => {
                // A lone CR decodes to nothing and makes the decoder end lines with CRLF,
                // as it would have from the CR an earlier piece held.
                let mut with_cr = Vec::with_capacity(piece.len() + 1);
                with_cr.push(b'\r');
                with_cr.extend_from_slice(piece);
                quoted_printable_decode(&with_cr)
            }
            Kind::QuotedPrintable => quoted_printable_decode(piece),
        };
        if self.kind == Kind::QuotedPrintable && piece.contains(&b'\r') {
            self.crlf = true;
        }
        out.extend_from_slice(&decoded.ok_or(UnknownCte)?);
        Ok(())
    }

    /// Where the held base64 can be cut: after the last byte that ends a group of four
    /// characters (or that `=` padding ends early), or just after the stop byte, past
    /// which mail-parser reads nothing. A byte that is not base64 makes the whole part
    /// undecodable, as it does decoded whole.
    fn base64_cut(&mut self) -> Result<usize, UnknownCte> {
        let mut in_group = 0u8;
        let mut cut = 0;
        for (at, &byte) in self.held.iter().enumerate() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' => {
                    in_group = (in_group + 1) % 4;
                }
                b'=' => in_group = 0,
                b' ' | b'\t' | b'\r' | b'\n' => {}
                // mail-parser's "stop character" when it decodes a slice whole.
                u8::MAX => {
                    self.stopped = true;
                    return Ok(at + 1);
                }
                _ => return Err(UnknownCte),
            }
            if in_group == 0 {
                cut = at + 1;
            }
        }
        Ok(cut)
    }
}

/// Where held quoted-printable can be cut: after the last line end, or after the last
/// character that is neither white space (trailing white space is dropped at a line's end)
/// nor part of an `=XX` escape or a soft line break.
fn quoted_printable_cut(held: &[u8]) -> usize {
    #[derive(Clone, Copy)]
    enum State {
        Text,
        /// After `=`: white space, a line end or the first hex digit follows.
        Equals,
        /// After `=X` (line ends included).
        Hex,
    }
    let mut state = State::Text;
    let mut cut = 0;
    for (at, &byte) in held.iter().enumerate() {
        state = match (state, byte) {
            // mail-parser ends a line inside `=X` without leaving the escape.
            (State::Hex, b'\n' | b'\r') => State::Hex,
            (_, b'\n') => {
                cut = at + 1;
                State::Text
            }
            (state, b'\r') => state,
            (State::Text, b'=') => State::Equals,
            (State::Text, byte) => {
                if !byte.is_ascii_whitespace() {
                    cut = at + 1;
                }
                State::Text
            }
            (State::Equals, byte) if byte.is_ascii_whitespace() => State::Equals,
            (State::Equals, _) => State::Hex,
            (State::Hex, _) => {
                cut = at + 1;
                State::Text
            }
        };
    }
    cut
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// `content` decoded in pieces cut at `cuts` (fractions of its length).
    fn in_pieces(
        encoding: &TransferEncoding,
        content: &[u8],
        cuts: &[usize],
    ) -> Result<Vec<u8>, UnknownCte> {
        let mut decoder = Piecewise::new(encoding)?.expect("an encoding to undo");
        let mut out = Vec::new();
        let mut from = 0;
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (content.len() + 1)).collect();
        cuts.sort_unstable();
        for cut in cuts.into_iter().chain([content.len()]) {
            decoder.feed(&content[from..cut], &mut out)?;
            from = cut;
        }
        decoder.finish(&mut out)?;
        Ok(out)
    }

    fn whole(encoding: &TransferEncoding, content: &[u8]) -> Option<Vec<u8>> {
        match encoding {
            TransferEncoding::Base64 => base64_decode(content),
            _ => quoted_printable_decode(content),
        }
    }

    #[test]
    fn pieces_decode_as_the_whole() {
        let base64 = TransferEncoding::Base64;
        let qp = TransferEncoding::QuotedPrintable;
        for (encoding, content) in [
            (&base64, &b"AAEC\r\nAwQF\r\nBgc=\r\n"[..]),
            (&base64, b"QUJD RE\tVG\r\nR0g="),
            (&base64, b"QQ==QkM=RA"),
            (&base64, b"QUJD\xffgarbage after the stop"),
            (&qp, b"caf=C3=A9 =\r\nsoft break\r\ntrailing   \r\nend"),
            (&qp, b"no cr=\nline\nthen\r\ncr\nlf only\n"),
            (&qp, b"=3D= \r\nx"),
        ] {
            let expected = whole(encoding, content).expect("valid");
            for at in 0..=content.len() {
                assert_eq!(
                    in_pieces(encoding, content, &[at]).ok(),
                    Some(expected.clone()),
                    "{encoding:?} {:?} cut at {at}",
                    String::from_utf8_lossy(content)
                );
            }
        }
    }

    #[test]
    fn what_the_whole_refuses_the_pieces_refuse() {
        assert_eq!(
            in_pieces(&TransferEncoding::Base64, b"QUJD\r\n*!*\r\n", &[3]),
            Err(UnknownCte)
        );
        assert_eq!(
            in_pieces(&TransferEncoding::QuotedPrintable, b"a==b", &[2]),
            Err(UnknownCte)
        );
        assert_eq!(
            Piecewise::new(&TransferEncoding::Other("X-UUENCODE".into())).err(),
            Some(UnknownCte)
        );
        assert!(matches!(
            Piecewise::new(&TransferEncoding::SevenBit),
            Ok(None)
        ));
    }

    #[test]
    fn a_line_with_nowhere_to_cut_is_bounded() {
        let mut decoder = Piecewise::new(&TransferEncoding::QuotedPrintable)
            .unwrap()
            .unwrap();
        let spaces = vec![b' '; 16 * 1024];
        let mut out = Vec::new();
        let fed = (0..8).try_for_each(|_| decoder.feed(&spaces, &mut out));
        assert_eq!(fed, Err(UnknownCte));
        assert!(out.is_empty());
    }

    proptest! {
        /// Any content, valid or not, cut anywhere: the pieces give what the whole gives,
        /// or both refuse it.
        #[test]
        fn any_cuts_agree_with_the_whole(
            base64 in any::<bool>(),
            content in proptest::collection::vec(
                prop_oneof![
                    Just(b'='), Just(b'\r'), Just(b'\n'), Just(b' '), Just(b'\t'),
                    Just(b'A'), Just(b'z'), Just(b'0'), Just(b'+'), Just(b'/'), Just(b'f'),
                    Just(b'G'), Just(0xffu8), any::<u8>(),
                ],
                0..200,
            ),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
        ) {
            let encoding = match base64 {
                true => TransferEncoding::Base64,
                false => TransferEncoding::QuotedPrintable,
            };
            let expected = whole(&encoding, &content);
            let pieces = in_pieces(&encoding, &content, &cuts).ok();
            prop_assert_eq!(pieces, expected);
        }
    }
}
