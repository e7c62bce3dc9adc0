//! Message bodies: `DATA` dot-unstuffing with strict end-of-data detection,
//! `BDAT` chunk decoding, the bare LF policy and the size limit.
//!
//! Bodies stream through: each decoder keeps a few bits of state across input
//! chunks and never buffers message content.

use crate::{BareLf, Reply, ServerConfig};

/// Why the session itself refuses a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// More than `max_message_size` octets.
    TooBig,
    /// A bare LF under [`BareLf::Reject`].
    BareLf,
}

impl BodyError {
    pub(crate) fn reply(self) -> Reply {
        match self {
            Self::TooBig => Reply::new(
                552,
                (5, 3, 4),
                "Message size exceeds fixed maximum message size",
            ),
            // No enhanced code is registered for bare LFs; 5.5.2 (syntax error)
            // is what Postfix answers for them too.
            Self::BareLf => Reply::new(
                550,
                (5, 5, 2),
                "Bare LF line endings are not accepted; use CRLF",
            ),
        }
    }
}

/// Result of [`Body::feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fed {
    /// Input bytes used; never past the end-of-data marker.
    pub(crate) consumed: usize,
    /// The `DATA` end marker was reached (always false for `BDAT`).
    pub(crate) end: bool,
}

/// One message body being received, with its limits.
#[derive(Debug)]
pub(crate) struct Body {
    decoder: Decoder,
    size: u64,
    max: u64,
    reject_bare_lf: bool,
    too_big: bool,
}

#[derive(Debug)]
enum Decoder {
    Dot(DotUnstuffer),
    Chunked(ChunkDecoder),
}

impl Body {
    /// A body sent with `DATA`.
    pub(crate) fn dot(config: &ServerConfig) -> Self {
        Self::new(config, Decoder::Dot(DotUnstuffer::default()))
    }

    /// A body sent as `BDAT` chunks.
    pub(crate) fn chunked(config: &ServerConfig) -> Self {
        Self::new(config, Decoder::Chunked(ChunkDecoder::default()))
    }

    fn new(config: &ServerConfig, decoder: Decoder) -> Self {
        Self {
            decoder,
            size: 0,
            max: config.max_message_size,
            reject_bare_lf: config.bare_lf == BareLf::Reject,
            too_big: false,
        }
    }

    /// Decodes `input` into `out` (cleared first). Once the body is known to be
    /// refused, decoding goes on (to find the end) but `out` stays empty.
    pub(crate) fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Fed {
        out.clear();
        let fed = match &mut self.decoder {
            Decoder::Dot(d) => d.decode(input, out),
            Decoder::Chunked(d) => {
                d.decode(input, out);
                Fed {
                    consumed: input.len(),
                    end: false,
                }
            }
        };
        self.size = self.size.saturating_add(out.len() as u64);
        self.too_big |= self.size > self.max;
        if self.error().is_some() {
            out.clear();
        }
        fed
    }

    /// Announces a `BDAT` chunk of `n` octets, so an oversized chunk is refused
    /// without waiting for its bytes.
    pub(crate) fn expect(&mut self, n: u64) {
        self.too_big |= self.size.saturating_add(n) > self.max;
    }

    /// Whether the body will be refused. Size wins over bare LFs.
    pub(crate) fn error(&self) -> Option<BodyError> {
        let bare_lf_seen = match &self.decoder {
            Decoder::Dot(d) => d.bare_lf_seen,
            Decoder::Chunked(d) => d.bare_lf_seen,
        };
        if self.too_big {
            Some(BodyError::TooBig)
        } else if self.reject_bare_lf && bare_lf_seen {
            Some(BodyError::BareLf)
        } else {
            None
        }
    }
}

/// Where the `DATA` decoder is within the current line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DotState {
    /// At the start of a line. `after_bare_lf`: the previous line ended in a bare
    /// LF, so this line cannot end the body.
    LineStart { after_bare_lf: bool },
    /// Inside a line.
    Text,
    /// Just after a CR, already written out.
    Cr,
    /// After a `.` at the start of a line, dropped (dot-unstuffing, RFC 5321 4.5.2).
    Dot { after_bare_lf: bool },
    /// After `.` CR at the start of a line. The CR is held back: with an LF it
    /// completes the end marker and is not content.
    DotCr { after_bare_lf: bool },
}

/// Decodes a `DATA` body.
///
/// Exactly the raw bytes CR LF `.` CR LF end the body (the first CR LF may be the
/// one ending the `DATA` command). A `.` line after a bare LF, or ended by a
/// bare LF, or preceded by a bare CR, is content: every SMTP smuggling variant
/// (CVE-2023-51764) relies on some server accepting one of those as the end.
/// Bare LFs are written out as CRLF and remembered for the policy check.
#[derive(Debug)]
struct DotUnstuffer {
    state: DotState,
    bare_lf_seen: bool,
}

impl Default for DotUnstuffer {
    fn default() -> Self {
        Self {
            state: DotState::LineStart {
                after_bare_lf: false,
            },
            bare_lf_seen: false,
        }
    }
}

impl DotUnstuffer {
    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Fed {
        let mut rest = input;
        loop {
            if self.state == DotState::Text {
                // Fast path: copy up to the next line-ending byte at once.
                let run = rest
                    .iter()
                    .position(|&b| b == b'\r' || b == b'\n')
                    .unwrap_or(rest.len());
                let (text, tail) = rest.split_at(run);
                out.extend_from_slice(text);
                rest = tail;
            }
            let Some((&b, tail)) = rest.split_first() else {
                return Fed {
                    consumed: input.len(),
                    end: false,
                };
            };
            rest = tail;
            self.state = match (self.state, b) {
                (DotState::LineStart { after_bare_lf }, b'.') => DotState::Dot { after_bare_lf },
                (DotState::LineStart { .. } | DotState::Text, b) => self.byte(b, false, out),
                (DotState::Cr, b) => self.byte(b, true, out),
                (DotState::Dot { after_bare_lf }, b'\r') => DotState::DotCr { after_bare_lf },
                (DotState::Dot { .. }, b) => self.byte(b, false, out),
                (
                    DotState::DotCr {
                        after_bare_lf: false,
                    },
                    b'\n',
                ) => {
                    return Fed {
                        // `rest` is a suffix of `input`: this never saturates.
                        consumed: input.len().saturating_sub(rest.len()),
                        end: true,
                    };
                }
                (DotState::DotCr { .. }, b) => {
                    out.push(b'\r');
                    self.byte(b, true, out)
                }
            };
        }
    }

    /// Writes an ordinary content byte; `after_cr` tells whether an LF ends the
    /// line properly.
    fn byte(&mut self, b: u8, after_cr: bool, out: &mut Vec<u8>) -> DotState {
        match b {
            b'\r' => {
                out.push(b'\r');
                DotState::Cr
            }
            b'\n' if after_cr => {
                out.push(b'\n');
                DotState::LineStart {
                    after_bare_lf: false,
                }
            }
            b'\n' => {
                self.bare_lf_seen = true;
                out.extend_from_slice(b"\r\n");
                DotState::LineStart {
                    after_bare_lf: true,
                }
            }
            b => {
                out.push(b);
                DotState::Text
            }
        }
    }
}

/// Decodes `BDAT` chunk content: raw bytes, except that bare LFs become CRLF
/// and are remembered for the policy check. A CR at the end of one chunk pairs
/// with an LF at the start of the next.
#[derive(Debug, Default)]
struct ChunkDecoder {
    after_cr: bool,
    bare_lf_seen: bool,
}

impl ChunkDecoder {
    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut rest = input;
        while let Some(lf) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = rest.split_at(lf);
            out.extend_from_slice(line);
            let after_cr = match line.last() {
                Some(&last) => last == b'\r',
                None => self.after_cr,
            };
            if !after_cr {
                self.bare_lf_seen = true;
                out.push(b'\r');
            }
            out.push(b'\n');
            self.after_cr = false;
            rest = tail.get(1..).unwrap_or_default();
        }
        out.extend_from_slice(rest);
        if let Some(&last) = rest.last() {
            self.after_cr = last == b'\r';
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes; returns output and bytes used.
    fn dot(input: &[u8], step: usize) -> (Vec<u8>, Option<usize>, bool) {
        let mut decoder = DotUnstuffer::default();
        let mut all = Vec::new();
        let mut out = Vec::new();
        let mut used = 0;
        for piece in input.chunks(step) {
            out.clear();
            let fed = decoder.decode(piece, &mut out);
            all.extend_from_slice(&out);
            used += fed.consumed;
            if fed.end {
                return (all, Some(used), decoder.bare_lf_seen);
            }
        }
        (all, None, decoder.bare_lf_seen)
    }

    #[test]
    fn unstuffs_and_stops_at_marker() {
        for step in 1..8 {
            let (out, end, bare) = dot(b"a\r\n..b\r\n.\r\nQUIT\r\n", step);
            assert_eq!(out, b"a\r\n.b\r\n");
            assert_eq!(end, Some(11));
            assert!(!bare);
        }
    }

    #[test]
    fn empty_body() {
        assert_eq!(dot(b".\r\n", 1), (vec![], Some(3), false));
    }

    #[test]
    fn smuggling_variants_are_content() {
        for input in [
            &b"a\n.\nb"[..],
            b"a\r\n.\nb",
            b"a\n.\r\nb",
            b"a\r.\r\nb",
            b"a\r\n.\rb",
        ] {
            let (_, end, _) = dot(input, 1);
            assert_eq!(end, None, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn bare_lf_is_normalized_and_noted() {
        let (out, end, bare) = dot(b"a\nb\r\n.\r\n", 3);
        assert_eq!(
            (out.as_slice(), end, bare),
            (&b"a\r\nb\r\n"[..], Some(8), true)
        );
    }

    #[test]
    fn chunk_decoder_pairs_cr_across_chunks() {
        let mut decoder = ChunkDecoder::default();
        let mut out = Vec::new();
        decoder.decode(b"a\r", &mut out);
        decoder.decode(b"\nb\n", &mut out);
        assert_eq!(out, b"a\r\nb\r\n");
        assert!(decoder.bare_lf_seen);
    }

    #[test]
    fn body_limit() {
        let mut config = ServerConfig::new("h");
        config.max_message_size = 4;
        let mut body = Body::dot(&config);
        let mut out = Vec::new();
        body.feed(b"abcd", &mut out);
        assert_eq!((out.len(), body.error()), (4, None));
        body.feed(b"e", &mut out);
        assert_eq!((out.len(), body.error()), (0, Some(BodyError::TooBig)));
        let mut body = Body::chunked(&config);
        body.expect(5);
        assert_eq!(body.error(), Some(BodyError::TooBig));
    }
}
