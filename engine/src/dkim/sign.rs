//! The `DKIM-Signature` fields of one message, computed over the message as it is sent.

use std::io::{self, Read};

use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256, SigningKey as MailAuthKey};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner, DkimSigningStream, Done, Signature};

use super::DkimKey;
use super::keys::{SigningKey, signing_key};
use crate::address::normalize_domain;
use crate::store::StoreError;

/// The header fields signed: those that say who wrote the message, to whom, what about and
/// how to read it. `From` is named twice, once more than a message has it, so no second
/// `From` can be added without breaking the signature (oversigning, RFC 6376 §8.15);
/// mail-auth also names every field the message lacks, so none can be added either.
const SIGNED_FIELDS: [&str; 13] = [
    "From",
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Reply-To",
];
/// Bytes read from the message at a time.
const CHUNK: usize = 64 * 1024;

/// Reads `message` (as it goes out: without the stored `Return-Path:` line; its line ends
/// are taken as the SMTP client writes them, see [`WireLineEnds`]) and returns the
/// `DKIM-Signature` fields to send before it, CRLF-terminated, one per key of the author's
/// domain (the RFC 5322 `From:`), or else of the envelope `sender`'s; `keys_for` gives a
/// domain's keys. Empty when neither domain has a key, and then only the header section was
/// read. A key that cannot sign is logged and left out, so the message still goes.
///
/// Blocking. Memory: the header section is held until it ends (by each key's signer too),
/// which for a message that is all header is its whole size, at most the largest message
/// submission accepts; the body goes through the hashes a chunk at a time.
pub(crate) fn signatures(
    message: &mut impl Read,
    sender: &str,
    mut keys_for: impl FnMut(&str) -> Result<Vec<DkimKey>, StoreError>,
) -> io::Result<Vec<u8>> {
    let mut chunk = vec![0; CHUNK];
    let mut wire = WireLineEnds::default();
    let mut head = Vec::new();
    let header_end = loop {
        let searched = head.len().saturating_sub(3);
        let n = read_some(message, &mut chunk)?;
        if n == 0 {
            break None;
        }
        wire.feed(chunk.get(..n).unwrap_or_default(), &mut head);
        let tail = head.get(searched..).unwrap_or_default();
        if let Some(at) = tail.windows(4).position(|w| w == b"\r\n\r\n") {
            break Some(searched + at + 4);
        }
    };

    let header = head
        .get(..header_end.unwrap_or(head.len()))
        .unwrap_or_default();
    let mut domains: Vec<String> = [author_domain(header), domain_of(sender)]
        .into_iter()
        .flatten()
        .collect();
    domains.dedup();
    let mut keys = Vec::new();
    for domain in domains {
        keys = keys_for(&domain).map_err(io::Error::other)?;
        if !keys.is_empty() {
            break;
        }
    }

    let signers: Vec<Signer<'_>> = keys.iter().filter_map(Signer::new).collect();
    if signers.is_empty() {
        return Ok(Vec::new());
    }
    let mut streams: Vec<(&DkimKey, Stream<'_>)> = signers
        .iter()
        .map(|signer| (signer.key, signer.stream()))
        .collect();
    for (_, stream) in &mut streams {
        stream.write(&head);
    }
    // The signers keep what they need of it.
    drop(head);
    let mut bytes = Vec::with_capacity(CHUNK);
    loop {
        let n = read_some(message, &mut chunk)?;
        if n == 0 {
            break;
        }
        bytes.clear();
        wire.feed(chunk.get(..n).unwrap_or_default(), &mut bytes);
        for (_, stream) in &mut streams {
            stream.write(&bytes);
        }
    }

    let mut fields = Vec::new();
    for (key, stream) in streams {
        match stream.finish() {
            Ok(signature) => fields.extend_from_slice(signature.to_header().as_bytes()),
            Err(error) => cannot_sign(key, &error),
        }
    }
    Ok(fields)
}

/// Line ends as the SMTP client sends a body (proto-smtp's `client::body`): every bare CR and
/// bare LF becomes CRLF, so the signature covers the bytes the receiver gets. Stored
/// submissions have CRLF already (bare LFs are converted as they arrive); this keeps a bare
/// CR from breaking the signature.
#[derive(Default)]
struct WireLineEnds {
    /// The last byte was a CR, already written as CRLF: an LF right after it is that line end.
    after_cr: bool,
}

impl WireLineEnds {
    /// Appends `data` to `out` with its line ends as they go out.
    fn feed(&mut self, data: &[u8], out: &mut Vec<u8>) {
        for &byte in data {
            match byte {
                b'\n' if self.after_cr => {}
                b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
                _ => out.push(byte),
            }
            self.after_cr = byte == b'\r';
        }
    }
}

fn read_some(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            done => return done,
        }
    }
}

/// The domain of the first address of the first `From:` field. Only that field is parsed,
/// so a huge header section costs no more than its scan.
fn author_domain(header: &[u8]) -> Option<String> {
    let parsed = mail_parser::MessageParser::new().parse_headers(from_field(header)?)?;
    domain_of(parsed.from()?.first()?.address()?)
}

/// The first `From:` field of a header section, with its continuation lines.
fn from_field(header: &[u8]) -> Option<&[u8]> {
    let mut start = None;
    let mut at = 0;
    for line in header.split_inclusive(|&b| b == b'\n') {
        let continues = line.first().is_some_and(|&b| b == b' ' || b == b'\t');
        if !continues {
            if let Some(start) = start {
                return header.get(start..at);
            }
            if line
                .get(..5)
                .is_some_and(|name| name.eq_ignore_ascii_case(b"From:"))
            {
                start = Some(at);
            }
        }
        at += line.len();
    }
    header.get(start?..)
}

fn domain_of(address: &str) -> Option<String> {
    let (_, domain) = address.rsplit_once('@')?;
    normalize_domain(domain).ok()
}

fn cannot_sign(key: &DkimKey, error: &mail_auth::Error) {
    tracing::error!(
        domain = %key.domain,
        selector = %key.selector,
        %error,
        "cannot sign with this DKIM key; the message goes without its signature"
    );
}

/// One key, set up to sign.
struct Signer<'k> {
    key: &'k DkimKey,
    with: With,
}

enum With {
    Ed25519(DkimSigner<Ed25519Key, Done>),
    Rsa(DkimSigner<RsaKey<Sha256>, Done>),
}

impl<'k> Signer<'k> {
    /// `None` (logged) for a key that does not load.
    fn new(key: &'k DkimKey) -> Option<Self> {
        let with = match signing_key(key.algorithm, &key.private_key) {
            Ok(SigningKey::Ed25519(signing)) => With::Ed25519(configure(signing, key)),
            Ok(SigningKey::Rsa(signing)) => With::Rsa(configure(signing, key)),
            Err(error) => {
                cannot_sign(key, &error);
                return None;
            }
        };
        Some(Signer { key, with })
    }

    fn stream(&self) -> Stream<'_> {
        match &self.with {
            With::Ed25519(signer) => Stream::Ed25519(signer.sign_streaming()),
            With::Rsa(signer) => Stream::Rsa(signer.sign_streaming()),
        }
    }
}

/// Relaxed canonicalization of header and body: what survives the whitespace and line
/// folding changes relays make (RFC 6376 §3.4).
fn configure<T: MailAuthKey>(signing: T, key: &DkimKey) -> DkimSigner<T, Done> {
    DkimSigner::from_key(signing)
        .domain(key.domain.as_str())
        .selector(key.selector.as_str())
        .headers(SIGNED_FIELDS)
        .header_canonicalization(Canonicalization::Relaxed)
        .body_canonicalization(Canonicalization::Relaxed)
}

/// A signature being computed.
enum Stream<'a> {
    Ed25519(DkimSigningStream<'a, Ed25519Key>),
    Rsa(DkimSigningStream<'a, RsaKey<Sha256>>),
}

impl Stream<'_> {
    fn write(&mut self, bytes: &[u8]) {
        match self {
            Stream::Ed25519(stream) => stream.write(bytes),
            Stream::Rsa(stream) => stream.write(bytes),
        }
    }

    fn finish(self) -> mail_auth::Result<Signature> {
        match self {
            Stream::Ed25519(stream) => stream.finish(),
            Stream::Rsa(stream) => stream.finish(),
        }
    }
}
