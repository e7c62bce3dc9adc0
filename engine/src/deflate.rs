//! IMAP COMPRESS=DEFLATE (RFC 4978): a connection that, once told to, inflates what it reads
//! and deflates what it writes, raw DEFLATE (RFC 1951) both ways, each write flushed to a
//! byte boundary so the client can act on every response at once.
//!
//! The DEFLATE state is large (about 300 KB a connection, most of it the compressor's
//! window and hash chains), so it exists only on connections that asked for it, and at most
//! [`MAX_COMPRESSED`] of those compress at once; beyond that COMPRESS is refused and the
//! client goes on uncompressed, as RFC 4978 lets it.

use std::io;
use std::ops::Range;
use std::time::Instant;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::io::{Connection, ReadOutcome};

/// Connections compressing at once, in all.
pub const MAX_COMPRESSED: usize = 64;

/// Compressed bytes read from the socket at a time.
const READ_CHUNK: usize = 4096;

/// A connection that can start compressing (see the [module docs](self)).
pub struct Compressible<'c, C> {
    inner: &'c mut C,
    deflate: Option<Box<Deflate>>,
}

/// The state of a compressing connection.
struct Deflate {
    compress: Compress,
    decompress: Decompress,
    /// Compressed bytes read and not inflated yet: `input[pending]`.
    input: Vec<u8>,
    pending: Range<usize>,
    /// Deflated output, reused between writes.
    output: Vec<u8>,
}

impl<'c, C: Connection> Compressible<'c, C> {
    pub fn new(inner: &'c mut C) -> Self {
        Compressible {
            inner,
            deflate: None,
        }
    }
}

impl Deflate {
    fn new() -> Self {
        Deflate {
            // Level 6, zlib's default: most of the gain for phones on slow links at a small
            // cost in CPU.
            compress: Compress::new(Compression::new(6), false),
            decompress: Decompress::new(false),
            input: vec![0; READ_CHUNK],
            pending: 0..0,
            output: Vec::new(),
        }
    }

    /// Deflates `data` into `output`, ending with a sync flush.
    fn deflate(&mut self, data: &[u8]) -> io::Result<()> {
        self.output.clear();
        let mut rest = data;
        loop {
            self.output.reserve(rest.len() / 2 + 64);
            let before = self.compress.total_in();
            self.compress
                .compress_vec(rest, &mut self.output, FlushCompress::Sync)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let taken = usize::try_from(self.compress.total_in() - before).unwrap_or(rest.len());
            rest = rest.get(taken..).unwrap_or_default();
            // Done once everything went in and the flush fit: room was left over.
            if rest.is_empty() && self.output.len() < self.output.capacity() {
                return Ok(());
            }
        }
    }

    /// Inflates pending input into `buf`; how many bytes came out. None means more input is
    /// needed: what is still pending then starts `input`, and more goes after it.
    fn inflate(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let input = self.input.get(self.pending.clone()).unwrap_or_default();
            let (before_in, before_out) = (self.decompress.total_in(), self.decompress.total_out());
            let status = self
                .decompress
                .decompress(input, buf, FlushDecompress::None)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let taken = usize::try_from(self.decompress.total_in() - before_in).unwrap_or(0);
            let produced = usize::try_from(self.decompress.total_out() - before_out).unwrap_or(0);
            self.pending.start = (self.pending.start + taken).min(self.pending.end);
            if produced > 0 {
                return Ok(produced);
            }
            if status == Status::StreamEnd {
                // The client ended its DEFLATE stream: nothing more can come.
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client ended its compressed stream",
                ));
            }
            if taken == 0 || self.pending.is_empty() {
                let len = self.pending.len();
                self.input.copy_within(self.pending.clone(), 0);
                self.pending = 0..len;
                return Ok(0);
            }
        }
    }
}

impl<C: Connection> Connection for Compressible<'_, C> {
    async fn read(
        &mut self,
        buf: &mut [u8],
        deadline: Option<Instant>,
        watch_shutdown: bool,
    ) -> io::Result<ReadOutcome> {
        // With no room to inflate into, a read is what it is uncompressed: a wait for the
        // deadline or the end, taking nothing.
        let Some(deflate) = self.deflate.as_mut().filter(|_| !buf.is_empty()) else {
            return self.inner.read(buf, deadline, watch_shutdown).await;
        };
        loop {
            let produced = deflate.inflate(buf)?;
            if produced > 0 {
                return Ok(ReadOutcome::Data(produced));
            }
            let Some(room) = deflate
                .input
                .get_mut(deflate.pending.end..)
                .filter(|room| !room.is_empty())
            else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "compressed input that inflates to nothing",
                ));
            };
            match self.inner.read(room, deadline, watch_shutdown).await? {
                ReadOutcome::Data(n) => deflate.pending.end += n,
                other => return Ok(other),
            }
        }
    }

    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self.deflate.as_mut() {
            None => self.inner.write_all(data).await,
            Some(deflate) => {
                deflate.deflate(data)?;
                self.inner.write_all(&deflate.output).await?;
                if deflate.output.capacity() > 4 * READ_CHUNK {
                    deflate.output = Vec::new();
                }
                Ok(())
            }
        }
    }

    async fn start_tls(&mut self) -> io::Result<()> {
        self.inner.start_tls().await
    }

    async fn close(&mut self) -> io::Result<()> {
        self.inner.close().await
    }

    fn start_compression(&mut self) -> io::Result<()> {
        if self.deflate.is_none() {
            self.deflate = Some(Box::new(Deflate::new()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::DeflateDecoder;
    use flate2::write::DeflateEncoder;
    use proptest::prelude::*;
    use std::io::{Read, Write};

    proptest! {
        /// Whatever is written in whatever pieces comes out, each piece whole at once, as a
        /// standard raw-DEFLATE reader reads it; and what a standard writer compresses, fed
        /// in any chunking, inflates back.
        #[test]
        fn round_trips(pieces in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 1..6),
                       split in 1usize..700) {
            let mut deflate = Deflate::new();
            let mut stream = Vec::new();
            let mut plain = Vec::new();
            for piece in &pieces {
                deflate.deflate(piece).unwrap();
                stream.extend_from_slice(&deflate.output);
                plain.extend_from_slice(piece);
                // Each write is flushed: what was sent so far decodes to all written so far.
                let mut decoded = Vec::new();
                let _ = DeflateDecoder::new(&stream[..]).read_to_end(&mut decoded);
                prop_assert_eq!(&decoded, &plain);
            }

            let mut encoder = DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(&plain).unwrap();
            let compressed = encoder.finish().unwrap();
            let mut inflate = Deflate::new();
            let mut back = Vec::new();
            let mut buf = [0u8; 512];
            for chunk in compressed.chunks(split) {
                let end = inflate.pending.end;
                inflate.input[end..end + chunk.len()].copy_from_slice(chunk);
                inflate.pending.end += chunk.len();
                loop {
                    match inflate.inflate(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => back.extend_from_slice(&buf[..n]),
                        Err(_) => break,
                    }
                }
            }
            prop_assert_eq!(back, plain);
        }
    }
}
