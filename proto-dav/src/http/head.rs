//! A request head as the engine sees it: method, target, header fields, and
//! what the session decided about its body and its connection.

use std::fmt;

/// A request method (RFC 9110 9, RFC 4918 9, RFC 4791 5.3.1). Methods are
/// case-sensitive: `get` is [`Method::Other`], not [`Method::Get`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`: the session writes no body, only its length.
    Head,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
    /// `PATCH` (RFC 5789).
    Patch,
    /// `OPTIONS`; the only method the asterisk-form target `*` goes with.
    Options,
    /// WebDAV `PROPFIND`.
    Propfind,
    /// WebDAV `PROPPATCH`.
    Proppatch,
    /// WebDAV `MKCOL`.
    Mkcol,
    /// CalDAV `MKCALENDAR`.
    Mkcalendar,
    /// WebDAV `REPORT` (RFC 3253).
    Report,
    /// WebDAV `COPY`.
    Copy,
    /// WebDAV `MOVE`.
    Move,
    /// WebDAV `LOCK`.
    Lock,
    /// WebDAV `UNLOCK`.
    Unlock,
    /// Any other method token, as sent.
    Other(String),
}

impl Method {
    /// The method named by a request line's token (httparse checked that it
    /// is one).
    pub(crate) fn parse(token: &str) -> Self {
        match token {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "DELETE" => Self::Delete,
            "PATCH" => Self::Patch,
            "OPTIONS" => Self::Options,
            "PROPFIND" => Self::Propfind,
            "PROPPATCH" => Self::Proppatch,
            "MKCOL" => Self::Mkcol,
            "MKCALENDAR" => Self::Mkcalendar,
            "REPORT" => Self::Report,
            "COPY" => Self::Copy,
            "MOVE" => Self::Move,
            "LOCK" => Self::Lock,
            "UNLOCK" => Self::Unlock,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The method's token, as on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Patch => "PATCH",
            Self::Options => "OPTIONS",
            Self::Propfind => "PROPFIND",
            Self::Proppatch => "PROPPATCH",
            Self::Mkcol => "MKCOL",
            Self::Mkcalendar => "MKCALENDAR",
            Self::Report => "REPORT",
            Self::Copy => "COPY",
            Self::Move => "MOVE",
            Self::Lock => "LOCK",
            Self::Unlock => "UNLOCK",
            Self::Other(token) => token,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request head, parsed and checked: its framing is known and valid, and
/// the Basic credentials it carried, if any, were accepted.
///
/// `Debug` hides the values of `Authorization` and `Proxy-Authorization`, so
/// a head can be logged as it is.
#[derive(Clone, PartialEq, Eq)]
pub struct Head {
    /// The method.
    pub method: Method,
    /// The request-target exactly as sent: origin-form (`/path?query`),
    /// absolute-form (`https://host/path`), or `*` with `OPTIONS`.
    pub target: String,
    /// The minor version of HTTP/1.x: 0 or 1.
    pub minor_version: u8,
    /// The header fields in order: names lower-cased, values trimmed, bytes
    /// that are not UTF-8 replaced.
    pub headers: Vec<(String, String)>,
    /// The body's length when `Content-Length` frames it (`None` when chunked
    /// or absent).
    pub content_length: Option<u64>,
    /// The body is chunked; the session undoes the chunking.
    pub chunked: bool,
    /// The client waits for `100 Continue` before it sends the body
    /// (HTTP/1.1 only); the session writes it when the body is asked for.
    pub expect_continue: bool,
    /// The client wants the connection kept open after the response:
    /// HTTP/1.1 unless `Connection: close`, HTTP/1.0 only with
    /// `Connection: keep-alive`.
    pub keep_alive: bool,
    /// The user whose Basic credentials came with this request and were
    /// accepted by the runtime; `None` without credentials or with another
    /// scheme than Basic (the engine reads `Authorization` itself then).
    pub user: Option<String>,
}

impl Head {
    /// The first value of the header field `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The target's path: without the query, and for the absolute-form
    /// without scheme and authority (`/` if it has no path). `*` stays `*`.
    pub fn path(&self) -> &str {
        let target = self.target.as_str();
        let target = target.split_once('?').map_or(target, |(path, _)| path);
        if target.starts_with('/') || target == "*" {
            return target;
        }
        let after_scheme = target.split_once("://").map_or(target, |(_, rest)| rest);
        after_scheme
            .find('/')
            .and_then(|slash| after_scheme.get(slash..))
            .unwrap_or("/")
    }

    /// The target's query, without its `?`.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, query)| query)
    }

    /// Whether a body follows the head: chunked, or a `Content-Length` above
    /// zero.
    pub fn has_body(&self) -> bool {
        self.chunked || self.content_length.is_some_and(|length| length > 0)
    }
}

/// Header fields whose values `Debug` leaves out: they carry passwords and
/// tokens.
const SECRET: [&str; 2] = ["authorization", "proxy-authorization"];

impl fmt::Debug for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| match SECRET.contains(&name.as_str()) {
                true => (name.as_str(), "<hidden>"),
                false => (name.as_str(), value.as_str()),
            })
            .collect();
        f.debug_struct("Head")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("minor_version", &self.minor_version)
            .field("headers", &headers)
            .field("content_length", &self.content_length)
            .field("chunked", &self.chunked)
            .field("expect_continue", &self.expect_continue)
            .field("keep_alive", &self.keep_alive)
            .field("user", &self.user)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(target: &str) -> Head {
        Head {
            method: Method::Get,
            target: target.into(),
            minor_version: 1,
            headers: vec![
                ("host".into(), "example.org".into()),
                ("authorization".into(), "Basic c2VjcmV0".into()),
                ("Accept".into(), "*/*".into()),
            ],
            content_length: None,
            chunked: false,
            expect_continue: false,
            keep_alive: true,
            user: None,
        }
    }

    #[test]
    fn methods_round_trip_and_are_case_sensitive() {
        for token in ["GET", "PROPFIND", "MKCALENDAR", "UNLOCK", "BREW"] {
            assert_eq!(Method::parse(token).as_str(), token);
        }
        assert_eq!(Method::parse("get"), Method::Other("get".into()));
        assert_eq!(Method::Report.to_string(), "REPORT");
    }

    #[test]
    fn path_and_query_of_every_form() {
        let cases = [
            ("/cal/home/?depth=1", "/cal/home/", Some("depth=1")),
            ("/", "/", None),
            ("*", "*", None),
            ("https://example.org/dav/x?a=b", "/dav/x", Some("a=b")),
            ("https://example.org", "/", None),
            ("http://example.org?q", "/", Some("q")),
        ];
        for (target, path, query) in cases {
            let head = head(target);
            assert_eq!((head.path(), head.query()), (path, query), "{target}");
        }
    }

    #[test]
    fn header_lookup_ignores_case() {
        let head = head("/");
        assert_eq!(head.header("HOST"), Some("example.org"));
        assert_eq!(head.header("accept"), Some("*/*"));
        assert_eq!(head.header("depth"), None);
    }

    #[test]
    fn a_body_is_chunked_or_of_some_length() {
        let mut head = head("/");
        assert!(!head.has_body());
        head.content_length = Some(0);
        assert!(!head.has_body());
        head.content_length = Some(1);
        assert!(head.has_body());
        head.content_length = None;
        head.chunked = true;
        assert!(head.has_body());
    }

    #[test]
    fn debug_hides_credentials() {
        let debug = format!("{:?}", head("/"));
        assert!(debug.contains("example.org") && debug.contains("<hidden>"));
        assert!(!debug.contains("c2VjcmV0"));
    }
}
