//! Undoing a request body's framing (RFC 9112 6, 7.1): counting out a
//! `Content-Length`, or reading chunk-size lines, chunk data and trailers.
//!
//! The decoder is pure: it looks at the input, says what its first bytes are
//! (body data, framing to drop, the end), and the session consumes them. Body
//! data is never copied here: the session hands it out from its input.

/// How a request's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    None,
    /// `Content-Length` bytes.
    Length(u64),
    /// The chunked transfer coding.
    Chunked,
}

/// Longest chunk-size line, extensions included, and longest trailer line:
/// well within the smallest input buffer, so a line always fits.
const LINE: usize = 4 * 1024;

/// Most bytes of trailer fields, which are read and dropped.
const TRAILERS: usize = 16 * 1024;

/// Why a body cannot be read to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// It grows past the largest body accepted (`413`).
    TooLarge,
    /// Its chunked framing is broken (`400`).
    Malformed,
}

/// What the input's first bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// This many bytes of body data.
    Data(usize),
    /// This many bytes of framing, to drop.
    Framing(usize),
    /// The body ends after this many bytes of framing.
    End(usize),
    /// Nothing can be said until more input arrives.
    More,
    /// The body is broken; the connection cannot go on.
    Error(BodyError),
}

/// Where the decoder is within a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// This many bytes of a `Content-Length` body are still due.
    Length(u64),
    /// A chunk-size line is due.
    Size,
    /// This many bytes of chunk data are still due.
    Chunk(u64),
    /// The CRLF after chunk data is due.
    ChunkEnd,
    /// Trailer fields (this many bytes so far), up to an empty line.
    Trailers(usize),
    /// The body ended.
    Done,
}

/// The decoder of one body; see the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decoder {
    state: State,
    /// Chunk data announced so far.
    total: u64,
    /// Most chunk data accepted.
    max: u64,
}

impl Decoder {
    /// A decoder for a body framed by `framing`, of at most `max` bytes when
    /// chunked (a `Content-Length` was checked with the head).
    pub(crate) fn new(framing: Framing, max: u64) -> Self {
        let state = match framing {
            Framing::None | Framing::Length(0) => State::Done,
            Framing::Length(length) => State::Length(length),
            Framing::Chunked => State::Size,
        };
        Self {
            state,
            total: 0,
            max,
        }
    }

    /// The body bytes still due when that is known (`Content-Length`, or an
    /// ended body); `None` within a chunked body.
    pub(crate) fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length(remaining) => Some(remaining),
            State::Done => Some(0),
            State::Size | State::Chunk(_) | State::ChunkEnd | State::Trailers(_) => None,
        }
    }

    /// What the first bytes of `input` are; the caller consumes them before
    /// the next call.
    pub(crate) fn next(&mut self, input: &[u8]) -> Next {
        match self.state {
            State::Done => Next::End(0),
            State::Length(remaining) => {
                let n = take(remaining, input);
                if n == 0 {
                    return Next::More;
                }
                self.state = match less(remaining, n) {
                    0 => State::Done,
                    rest => State::Length(rest),
                };
                Next::Data(n)
            }
            State::Chunk(remaining) => {
                let n = take(remaining, input);
                if n == 0 {
                    return Next::More;
                }
                self.state = match less(remaining, n) {
                    0 => State::ChunkEnd,
                    rest => State::Chunk(rest),
                };
                Next::Data(n)
            }
            State::ChunkEnd => match input {
                [b'\r', b'\n', ..] => {
                    self.state = State::Size;
                    Next::Framing(2)
                }
                [] | [b'\r'] => Next::More,
                _ => Next::Error(BodyError::Malformed),
            },
            State::Size => match crlf_line(input) {
                Ok(Some((line, len))) => self.size(line, len),
                Ok(None) => Next::More,
                Err(error) => Next::Error(error),
            },
            State::Trailers(read) => match crlf_line(input) {
                Ok(Some(([], len))) => {
                    self.state = State::Done;
                    Next::End(len)
                }
                Ok(Some((_, len))) => {
                    let read = read.saturating_add(len);
                    if read > TRAILERS {
                        return Next::Error(BodyError::Malformed);
                    }
                    self.state = State::Trailers(read);
                    Next::Framing(len)
                }
                Ok(None) => Next::More,
                Err(error) => Next::Error(error),
            },
        }
    }

    /// Reads a chunk-size line of `len` bytes: hex digits, then optional
    /// extensions, which are dropped.
    fn size(&mut self, line: &[u8], len: usize) -> Next {
        let Some(size) = chunk_size(line) else {
            return Next::Error(BodyError::Malformed);
        };
        let total = self.total.saturating_add(size);
        if total > self.max {
            return Next::Error(BodyError::TooLarge);
        }
        self.total = total;
        self.state = match size {
            0 => State::Trailers(0),
            size => State::Chunk(size),
        };
        Next::Framing(len)
    }
}

/// How many of `input`'s bytes belong to the `remaining` ones.
fn take(remaining: u64, input: &[u8]) -> usize {
    usize::try_from(remaining)
        .unwrap_or(usize::MAX)
        .min(input.len())
}

/// `remaining` less the `n` taken of it (never more than it).
fn less(remaining: u64, n: usize) -> u64 {
    remaining.saturating_sub(u64::try_from(n).unwrap_or(u64::MAX))
}

/// The first line of `input`, without its CRLF, and its length with it;
/// `None` until it has ended. Framing lines must end in CRLF: a bare LF is
/// read differently by different servers, which is how requests are
/// smuggled past a proxy.
fn crlf_line(input: &[u8]) -> Result<Option<(&[u8], usize)>, BodyError> {
    let window = input.get(..LINE).unwrap_or(input);
    let Some(lf) = window.iter().position(|&b| b == b'\n') else {
        return match input.len() >= LINE {
            true => Err(BodyError::Malformed),
            false => Ok(None),
        };
    };
    let line = window.get(..lf).unwrap_or_default();
    let Some(line) = line.strip_suffix(b"\r") else {
        return Err(BodyError::Malformed);
    };
    // `lf` indexes `input`: one more cannot overflow.
    Ok(Some((line, lf.saturating_add(1))))
}

/// The size of a chunk-size line: 1 to 16 hex digits, then nothing, or
/// whitespace and `;` extensions without control characters (RFC 9112 7.1.1).
fn chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let (size, rest) = line.split_at_checked(digits)?;
    if size.is_empty() || size.len() > 16 {
        return None;
    }
    let size = u64::from_str_radix(std::str::from_utf8(size).ok()?, 16).ok()?;
    let rest = rest.trim_ascii_start();
    let clean = rest.iter().all(|&b| b == b'\t' || !b.is_ascii_control());
    (rest.is_empty() || (rest.starts_with(b";") && clean)).then_some(size)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `split` bytes, as the session does:
    /// the body, or the error.
    fn decode(
        framing: Framing,
        max: u64,
        input: &[u8],
        split: usize,
    ) -> Result<Vec<u8>, BodyError> {
        let mut decoder = Decoder::new(framing, max);
        let mut buffer = Vec::new();
        let mut fed = 0;
        let mut body = Vec::new();
        loop {
            match decoder.next(&buffer) {
                Next::Data(n) => {
                    body.extend_from_slice(&buffer[..n]);
                    buffer.drain(..n);
                }
                Next::Framing(n) => {
                    buffer.drain(..n);
                }
                Next::End(n) => {
                    buffer.drain(..n);
                    assert_eq!(decoder.remaining(), Some(0));
                    return Ok(body);
                }
                Next::More => {
                    assert!(fed < input.len(), "the body never ended");
                    let end = (fed + split).min(input.len());
                    buffer.extend_from_slice(&input[fed..end]);
                    fed = end;
                }
                Next::Error(error) => return Err(error),
            }
        }
    }

    const CHUNKED: &[u8] = b"4;name=value\r\nWiki\r\n5 ; x\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\nX: y\r\n\r\n";

    #[test]
    fn content_length_in_any_pieces() {
        for split in 1..12 {
            assert_eq!(
                decode(Framing::Length(11), 100, b"hello worldGET", split).unwrap(),
                b"hello world"
            );
        }
        assert_eq!(decode(Framing::None, 100, b"", 1).unwrap(), b"");
        assert_eq!(decode(Framing::Length(0), 100, b"", 1).unwrap(), b"");
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        for split in 1..CHUNKED.len() {
            let body = decode(Framing::Chunked, 100, CHUNKED, split).unwrap();
            assert_eq!(body, b"Wikipedia in\r\n\r\nchunks.", "split {split}");
        }
    }

    #[test]
    fn a_chunked_body_stops_at_its_end() {
        let mut decoder = Decoder::new(Framing::Chunked, 100);
        assert_eq!(decoder.next(b"0\r\n\r\nGET /"), Next::Framing(3));
        assert_eq!(decoder.remaining(), None);
        assert_eq!(decoder.next(b"\r\nGET /"), Next::End(2));
        assert_eq!(decoder.next(b"GET /"), Next::End(0));
    }

    #[test]
    fn the_limit_counts_announced_sizes() {
        assert_eq!(decode(Framing::Chunked, 23, CHUNKED, 7).unwrap().len(), 23);
        assert_eq!(
            decode(Framing::Chunked, 22, CHUNKED, 7),
            Err(BodyError::TooLarge)
        );
        let huge = b"ffffffffffffffff\r\n";
        assert_eq!(
            decode(Framing::Chunked, u64::MAX - 1, huge, 100),
            Err(BodyError::TooLarge)
        );
    }

    #[test]
    fn broken_framing() {
        for input in [
            &b"\r\n"[..],
            b"x\r\n",
            b"-1\r\n",
            b"10000000000000000\r\n",
            b"4\nWiki\r\n",
            b"4 x\r\n",
            b"4;a\x01\r\n",
            b"4\r\nWikiX\r\n",
            b"4\r\nWiki\n0\r\n\r\n",
            b"0\r\nX: y\n\r\n",
        ] {
            assert_eq!(
                decode(Framing::Chunked, 100, input, 3),
                Err(BodyError::Malformed),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        let long_line = [b"1;".as_slice(), &[b'x'; LINE]].concat();
        assert_eq!(
            decode(Framing::Chunked, 100, &long_line, LINE),
            Err(BodyError::Malformed)
        );
        let trailers = [
            b"0\r\n".as_slice(),
            &b"X-Long: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n".repeat(400),
        ]
        .concat();
        assert_eq!(
            decode(Framing::Chunked, 100, &trailers, 1000),
            Err(BodyError::Malformed)
        );
    }
}
