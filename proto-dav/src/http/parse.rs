//! Reading a request head off the input: where it ends, httparse for its
//! grammar, then what httparse leaves to the server: the version, the form of
//! the target, `Host`, and how the body is framed (RFC 9112 6).
//!
//! Everything refused here is refused with the connection closed: either the
//! head cannot be trusted to have ended where it seems to, or its body's
//! length is unknown or unwelcome, and the next request would start in the
//! middle of it.

use crate::http::ServerConfig;
use crate::http::body::Framing;
use crate::http::head::{Head, Method};

/// What the start of the input holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Read {
    /// Not a whole head yet.
    Incomplete,
    /// An empty line of this length (CRLF or LF) before a request line, which
    /// a server ignores (RFC 9112 2.2).
    Blank(usize),
    /// A head of `len` bytes.
    Head(Parsed),
    /// A head to refuse with this status, closing the connection.
    Reject(u16),
}

/// A head that passed every check.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub head: Head,
    /// Its length on the wire, blank line included.
    pub len: usize,
    pub framing: Framing,
    /// Its framing is dubious (both `Content-Length` and `Transfer-Encoding`):
    /// the connection closes after the response (RFC 9112 6.3).
    pub close: bool,
}

/// Reads the head at the start of `bytes`, at most `config.max_head` long
/// with at most `config.max_headers` fields.
pub(crate) fn read(bytes: &[u8], config: &ServerConfig) -> Read {
    match bytes {
        [b'\n', ..] => return Read::Blank(1),
        [b'\r', b'\n', ..] => return Read::Blank(2),
        [b'\r'] => return Read::Incomplete,
        _ => {}
    }
    let window = bytes.get(..config.max_head).unwrap_or(bytes);
    let Some(end) = head_end(window) else {
        return match bytes.len() >= config.max_head {
            true => Read::Reject(431),
            false => Read::Incomplete,
        };
    };
    let mut fields = vec![httparse::EMPTY_HEADER; config.max_headers];
    let mut request = httparse::Request::new(&mut fields);
    let head = window.get(..end).unwrap_or_default();
    let len = match request.parse(head) {
        Ok(httparse::Status::Complete(len)) => len,
        // The end was found, so this is a head httparse cannot end.
        Ok(httparse::Status::Partial) => return Read::Reject(400),
        Err(httparse::Error::TooManyHeaders) => return Read::Reject(431),
        Err(httparse::Error::Version) => return Read::Reject(version_status(head)),
        Err(_) => return Read::Reject(400),
    };
    match check(&request, config) {
        Ok((head, framing, close)) => Read::Head(Parsed {
            head,
            len,
            framing,
            close,
        }),
        Err(status) => Read::Reject(status),
    }
}

/// Length of the head in `bytes`, up to and including the empty line that
/// ends it (CRLF or a bare LF, which httparse accepts too).
fn head_end(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let rest = bytes.get(from..)?;
        let lf = rest.iter().position(|&b| b == b'\n')?;
        // Offsets within `bytes` are far from overflowing.
        let after = from.saturating_add(lf).saturating_add(1);
        match bytes.get(after..)? {
            [b'\n', ..] => return Some(after.saturating_add(1)),
            [b'\r', b'\n', ..] => return Some(after.saturating_add(2)),
            _ => from = after,
        }
    }
}

/// `505` for a request line that names another version of HTTP (an HTTP/2
/// preface among them), `400` for one that is not HTTP at all.
fn version_status(head: &[u8]) -> u16 {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let version = line.rsplit(|&b| b == b' ').next().unwrap_or_default();
    match version.strip_prefix(b"HTTP/") {
        Some([major, b'.', minor]) if major.is_ascii_digit() && minor.is_ascii_digit() => 505,
        Some([major]) if major.is_ascii_digit() => 505,
        _ => 400,
    }
}

/// The checks httparse leaves to the server, and the head they make.
fn check(
    request: &httparse::Request<'_, '_>,
    config: &ServerConfig,
) -> Result<(Head, Framing, bool), u16> {
    let (Some(method), Some(target), Some(minor_version)) =
        (request.method, request.path, request.version)
    else {
        return Err(400);
    };
    let method = Method::parse(method);
    if !valid_target(&method, target) {
        return Err(400);
    }
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|field| {
            let value = String::from_utf8_lossy(field.value);
            let value = value.trim_matches([' ', '\t']);
            (field.name.to_ascii_lowercase(), value.to_owned())
        })
        .collect();
    let values = |name: &'static str| {
        headers
            .iter()
            .filter(move |(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    };
    // RFC 9112 3.2: exactly one Host in HTTP/1.1, at most one before.
    let hosts = values("host").count();
    if hosts > 1 || (hosts == 0 && minor_version == 1) {
        return Err(400);
    }
    let (framing, close) = framing(
        values("transfer-encoding"),
        values("content-length"),
        minor_version,
    )?;
    if let Framing::Length(length) = framing
        && length > config.max_body
    {
        return Err(413);
    }
    let connection =
        |option: &str| list(values("connection")).any(|token| token.eq_ignore_ascii_case(option));
    let keep_alive = match minor_version {
        1 => !connection("close"),
        _ => connection("keep-alive") && !connection("close"),
    };
    // RFC 9110 10.1.1: an HTTP/1.0 client cannot mean it.
    let expect_continue = minor_version == 1
        && values("expect").any(|value| value.eq_ignore_ascii_case("100-continue"));
    let head = Head {
        method,
        target: target.to_owned(),
        minor_version,
        content_length: match framing {
            Framing::Length(length) => Some(length),
            Framing::None | Framing::Chunked => None,
        },
        chunked: framing == Framing::Chunked,
        expect_continue,
        keep_alive,
        headers,
        user: None,
    };
    Ok((head, framing, close))
}

/// Origin-form, absolute-form (`scheme://...`), or `*` for `OPTIONS` (RFC
/// 9112 3.2). The authority-form belongs to `CONNECT`, which a DAV server
/// does not do.
fn valid_target(method: &Method, target: &str) -> bool {
    if target == "*" {
        return *method == Method::Options;
    }
    if target.starts_with('/') {
        return true;
    }
    let Some((scheme, rest)) = target.split_once("://") else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
}

/// The body's framing from the `Transfer-Encoding` and `Content-Length`
/// values (RFC 9112 6.1, 6.3), and whether it makes the connection close
/// after the response.
fn framing<'a>(
    transfer_encoding: impl Iterator<Item = &'a str>,
    content_length: impl Iterator<Item = &'a str>,
    minor_version: u8,
) -> Result<(Framing, bool), u16> {
    let mut transfer_encoding = transfer_encoding.peekable();
    let mut content_length = content_length.peekable();
    if transfer_encoding.peek().is_some() {
        // HTTP/1.0 had no transfer codings: its framing would be faulty.
        if minor_version == 0 {
            return Err(400);
        }
        let mut chunked = 0usize;
        for coding in list(transfer_encoding) {
            // The only coding we undo; anything else we do not understand.
            if !coding.eq_ignore_ascii_case("chunked") {
                return Err(501);
            }
            chunked = chunked.saturating_add(1);
        }
        // Chunked exactly once (RFC 9112 6.1); zero codings is no framing.
        if chunked != 1 {
            return Err(400);
        }
        // With Content-Length too, chunked wins, but the sender is suspect
        // (smuggling): close after the response.
        return Ok((Framing::Chunked, content_length.peek().is_some()));
    }
    let mut length = None;
    for value in content_length.flat_map(|value| value.split(',')) {
        let value = value.trim_matches([' ', '\t']);
        // Digits only: `parse` would take a sign.
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(400);
        }
        let Ok(value) = value.parse::<u64>() else {
            return Err(400);
        };
        // Repeats of one value are one value (RFC 9110 8.6); others conflict.
        if length.replace(value).is_some_and(|before| before != value) {
            return Err(400);
        }
    }
    Ok((length.map_or(Framing::None, Framing::Length), false))
}

/// The elements of comma-separated list values, trimmed, empty ones left out
/// (RFC 9110 5.6.1).
fn list<'a>(values: impl Iterator<Item = &'a str>) -> impl Iterator<Item = &'a str> {
    values
        .flat_map(|value| value.split(','))
        .map(|element| element.trim_matches([' ', '\t']))
        .filter(|element| !element.is_empty())
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    fn config() -> ServerConfig {
        ServerConfig::new("test")
    }

    fn parse(text: &str) -> Read {
        read(text.as_bytes(), &config())
    }

    fn head(text: &str) -> Parsed {
        match parse(text) {
            Read::Head(parsed) => parsed,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    fn status(text: &str) -> Option<u16> {
        match parse(text) {
            Read::Reject(status) => Some(status),
            _ => None,
        }
    }

    #[test]
    fn a_simple_get() {
        let text = "GET /dav/?x=1 HTTP/1.1\r\nHost: example.org\r\nX-Name:  v \r\n\r\nNEXT";
        let parsed = head(text);
        assert_eq!(parsed.len, text.len() - 4);
        assert_eq!(parsed.framing, Framing::None);
        let head = parsed.head;
        assert_eq!(head.method, Method::Get);
        assert_eq!((head.path(), head.query()), ("/dav/", Some("x=1")));
        assert_eq!(head.minor_version, 1);
        assert_eq!(head.header("x-name"), Some("v"));
        assert_eq!(head.headers[1].0, "x-name");
        assert!(head.keep_alive && !head.has_body() && !parsed.close);
    }

    #[test]
    fn incomplete_until_the_empty_line() {
        for text in [
            "",
            "\r",
            "GET / HTTP/1.1\r\nHost: a\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n\r",
        ] {
            assert_eq!(parse(text), Read::Incomplete, "{text:?}");
        }
        // A bare LF ends lines too.
        assert_eq!(head("GET / HTTP/1.1\nHost: a\n\n").len, 24);
    }

    #[test]
    fn blank_lines_before_the_request_line() {
        assert_eq!(parse("\r\nGET"), Read::Blank(2));
        assert_eq!(parse("\nGET"), Read::Blank(1));
    }

    #[test]
    fn long_heads_and_many_fields_are_431() {
        let mut c = config();
        c.max_head = 64;
        c.max_headers = 2;
        let long = format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}", "y".repeat(60));
        assert_eq!(read(long.as_bytes(), &c), Read::Reject(431));
        let fits = "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\r\n";
        assert!(matches!(read(fits.as_bytes(), &c), Read::Head(_)));
        let many = "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\nY: c\r\n\r\n";
        assert_eq!(read(many.as_bytes(), &c), Read::Reject(431));
    }

    #[test]
    fn versions() {
        assert_eq!(status("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Some(505));
        assert_eq!(status("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), Some(505));
        assert_eq!(status("GET / HTTP/3\r\nHost: a\r\n\r\n"), Some(505));
        assert_eq!(status("GET / FTP\r\nHost: a\r\n\r\n"), Some(400));
        assert_eq!(status("GET /\r\n\r\n"), Some(400));
        let old = head("GET / HTTP/1.0\r\n\r\n").head;
        assert!(old.minor_version == 0 && !old.keep_alive);
        let kept = head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").head;
        assert!(kept.keep_alive);
    }

    #[test]
    fn malformed_heads_are_400() {
        for text in [
            "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
            "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "GET * HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET dav HTTP/1.1\r\nHost: a\r\n\r\n",
            "CONNECT example.org:443 HTTP/1.1\r\nHost: a\r\n\r\n",
            "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        ] {
            assert_eq!(status(text), Some(400), "{text:?}");
        }
        assert_eq!(
            head("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").head.path(),
            "*"
        );
        let absolute = head("GET https://a/b HTTP/1.1\r\nHost: a\r\n\r\n").head;
        assert_eq!(absolute.path(), "/b");
    }

    #[test]
    fn content_length() {
        let parsed = head("PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
        assert_eq!(parsed.framing, Framing::Length(5));
        assert_eq!(parsed.head.content_length, Some(5));
        let same =
            "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(head(same).framing, Framing::Length(5));
        for bad in [
            "-1",
            "+5",
            "5, 6",
            "",
            "0x10",
            "99999999999999999999999",
            "5,",
        ] {
            let text = format!("PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: {bad}\r\n\r\n");
            assert_eq!(status(&text), Some(400), "{bad:?}");
        }
        let conflict =
            "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n";
        assert_eq!(status(conflict), Some(400));
        let big = format!(
            "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
            config().max_body + 1
        );
        assert_eq!(status(&big), Some(413));
    }

    #[test]
    fn transfer_encoding() {
        let parsed = head("PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n");
        assert_eq!(parsed.framing, Framing::Chunked);
        assert!(parsed.head.chunked && parsed.head.has_body() && !parsed.close);
        // Both: chunked wins, and the connection closes afterwards.
        let both = head(
            "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        assert!(both.close && both.head.content_length.is_none());
        for (coding, expected) in [
            ("gzip", 501),
            ("gzip, chunked", 501),
            ("chunked, chunked", 400),
            ("", 400),
        ] {
            let text = format!("PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: {coding}\r\n\r\n");
            assert_eq!(status(&text), Some(expected), "{coding:?}");
        }
        assert_eq!(
            status("PUT /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Some(400)
        );
    }

    #[test]
    fn connection_and_expect() {
        let closing = head("GET / HTTP/1.1\r\nHost: a\r\nConnection: TE, close\r\n\r\n").head;
        assert!(!closing.keep_alive);
        let text = "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n";
        assert!(head(text).head.expect_continue);
        let old = "PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n";
        assert!(!head(old).head.expect_continue);
    }

    #[test]
    fn field_values_need_not_be_utf8() {
        let parsed = read(
            b"GET / HTTP/1.1\r\nHost: a\r\nX: caf\xe9\r\n\r\n",
            &config(),
        );
        let Read::Head(parsed) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(parsed.head.header("x"), Some("caf\u{fffd}"));
    }
}
