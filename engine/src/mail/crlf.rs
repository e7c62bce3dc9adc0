//! Line-ending normalization for mail taken from files: Maildir files usually end lines in
//! a bare LF, while stored messages use CRLF throughout, so that the sizes IMAP and POP3
//! report are exactly the octets they send.

use std::io::{self, Write};

/// A writer that turns every LF not preceded by CR into CRLF, across write boundaries.
pub struct CrlfWriter<W: Write> {
    inner: W,
    last_was_cr: bool,
}

impl<W: Write> CrlfWriter<W> {
    pub fn new(inner: W) -> Self {
        CrlfWriter {
            inner,
            last_was_cr: false,
        }
    }

    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for CrlfWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut start = 0;
        for (i, &byte) in buf.iter().enumerate() {
            if byte == b'\n'
                && !(if i == 0 {
                    self.last_was_cr
                } else {
                    buf[i - 1] == b'\r'
                })
            {
                self.inner.write_all(&buf[start..i])?;
                self.inner.write_all(b"\r\n")?;
                start = i + 1;
            }
        }
        self.inner.write_all(&buf[start..])?;
        if let Some(&last) = buf.last() {
            self.last_was_cr = last == b'\r';
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn normalize(chunks: &[&[u8]]) -> Vec<u8> {
        let mut writer = CrlfWriter::new(Vec::new());
        for chunk in chunks {
            writer.write_all(chunk).unwrap();
        }
        writer.into_inner()
    }

    #[test]
    fn bare_lf_becomes_crlf() {
        assert_eq!(normalize(&[b"a\nb\r\nc\n"]), b"a\r\nb\r\nc\r\n");
        assert_eq!(normalize(&[b"a\r", b"\nb\n"]), b"a\r\nb\r\n");
        assert_eq!(normalize(&[b"\n\n"]), b"\r\n\r\n");
        assert_eq!(normalize(&[b"lone\rcr"]), b"lone\rcr");
    }

    proptest! {
        #[test]
        fn chunking_does_not_matter(data in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'x')], 0..200), split in 0usize..200) {
            let split = split.min(data.len());
            let whole = normalize(&[&data]);
            prop_assert_eq!(&normalize(&[&data[..split], &data[split..]]), &whole);
            // Every LF in the output follows a CR.
            for (i, &b) in whole.iter().enumerate() {
                if b == b'\n' {
                    prop_assert!(i > 0 && whole[i - 1] == b'\r');
                }
            }
        }
    }
}
