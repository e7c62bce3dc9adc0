//! The session driven as a runtime and an engine would drive it.

#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::time::{Duration, Instant};

use super::*;

/// What the harness's engine saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seen {
    Login(String, String),
    Head(Head),
    End(Vec<u8>),
    Close,
}

/// A runtime and a small engine around a session. The engine checks logins
/// (password `secret` is right, `busy` is unavailable), reads every body
/// unless `respond_at_head`, and answers `200` echoing the body, with the
/// path in `X-Path`. With `manual`, it leaves the head questions to the test.
pub(super) struct Harness {
    pub session: ServerSession,
    pub now: Instant,
    pub seen: Vec<Seen>,
    /// Bytes the client sent that the session has not taken yet.
    pub inbox: Vec<u8>,
    /// Everything the session sent.
    pub out: Vec<u8>,
    /// The most input fed at once.
    pub chunk: usize,
    pub manual: bool,
    pub respond_at_head: bool,
    body: Vec<u8>,
}

pub(super) fn config() -> ServerConfig {
    ServerConfig::new("Postern \"test\"")
}

pub(super) fn peer() -> Peer {
    Peer {
        addr: ([192, 0, 2, 1], 4000).into(),
        implicit_tls: true,
    }
}

impl Harness {
    pub fn new() -> Self {
        Self::with(config())
    }

    pub fn with(config: ServerConfig) -> Self {
        let now = Instant::now();
        Self {
            session: ServerSession::new(Arc::new(config), peer(), now),
            now,
            seen: Vec::new(),
            inbox: Vec::new(),
            out: Vec::new(),
            chunk: usize::MAX,
            manual: false,
            respond_at_head: false,
            body: Vec::new(),
        }
    }

    /// Sends `bytes` and runs until the session waits; returns what it sent
    /// meanwhile.
    pub fn feed(&mut self, bytes: impl AsRef<[u8]>) -> String {
        self.inbox.extend_from_slice(bytes.as_ref());
        self.run()
    }

    /// Feeds what the session takes and answers what it asks until nothing
    /// moves; returns what it sent meanwhile.
    pub fn run(&mut self) -> String {
        let start = self.out.len();
        for _ in 0..1_000_000 {
            self.drive();
            let room = self.session.input_capacity();
            let n = room.min(self.chunk).min(self.inbox.len());
            if n == 0 || self.session.is_closed() {
                break;
            }
            let taken = self.session.handle_input(&self.inbox[..n], self.now);
            assert!(taken > 0);
            self.inbox.drain(..taken);
        }
        String::from_utf8_lossy(&self.out[start..]).into_owned()
    }

    /// Lets `seconds` pass and tells the session.
    pub fn wait(&mut self, seconds: u64) -> String {
        self.now += Duration::from_secs(seconds);
        self.session.handle_timeout(self.now);
        self.run()
    }

    pub fn drive(&mut self) {
        let now = self.now;
        while let Some(action) = self.session.poll_action() {
            match action {
                Action::Send(bytes) => self.out.extend_from_slice(bytes),
                Action::Login(credentials) => {
                    let (user, password) = (credentials.username(), credentials.password());
                    let result = match password {
                        "secret" => Ok(()),
                        "busy" => Err(LoginError::Unavailable),
                        _ => Err(LoginError::BadCredentials),
                    };
                    self.seen.push(Seen::Login(user.into(), password.into()));
                    self.session.login_result(result, now);
                }
                Action::Request(Request::Head(head)) => {
                    self.seen.push(Seen::Head(head.clone()));
                    self.body.clear();
                    if self.manual {
                        continue;
                    }
                    if self.respond_at_head {
                        let response = self.answer();
                        self.session.respond(response, now);
                    } else {
                        self.session.read_body(now);
                    }
                }
                Action::Request(Request::Body(bytes)) => {
                    assert!(!bytes.is_empty());
                    self.body.extend_from_slice(bytes);
                }
                Action::Request(Request::End) => {
                    self.seen.push(Seen::End(self.body.clone()));
                    let response = self.answer();
                    self.session.respond(response, now);
                }
                Action::StartTls => panic!("HTTP has no STARTTLS"),
                Action::Close => self.seen.push(Seen::Close),
            }
        }
    }

    /// The engine's answer: `200`, the path, the body echoed.
    pub fn answer(&self) -> Response {
        let path = self.session.head().map_or("?", Head::path).to_owned();
        Response::new(200)
            .header("X-Path", path)
            .body("text/plain", self.body.clone())
    }

    pub fn heads(&self) -> Vec<&Head> {
        self.seen
            .iter()
            .filter_map(|seen| match seen {
                Seen::Head(head) => Some(head),
                _ => None,
            })
            .collect()
    }

    pub fn ends(&self) -> Vec<&[u8]> {
        self.seen
            .iter()
            .filter_map(|seen| match seen {
                Seen::End(body) => Some(&body[..]),
                _ => None,
            })
            .collect()
    }

    pub fn logins(&self) -> usize {
        self.seen
            .iter()
            .filter(|seen| matches!(seen, Seen::Login(..)))
            .count()
    }

    pub fn closed(&self) -> bool {
        let closed = self.session.is_closed();
        assert_eq!(closed, self.seen.last() == Some(&Seen::Close));
        closed
    }
}

fn ok(path: &str, body: &str, close: bool) -> String {
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!(
        "HTTP/1.1 200 OK\r\nX-Path: {path}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{connection}\r\n{body}",
        body.len()
    )
}

fn refusal(status: &str) -> String {
    format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}

const GET: &str = "GET /a HTTP/1.1\r\nHost: example.org\r\n\r\n";

#[test]
fn two_gets_on_one_connection() {
    let mut h = Harness::new();
    assert_eq!(h.feed(GET), ok("/a", "", false));
    assert_eq!(h.session.head(), None);
    assert_eq!(
        h.feed("GET /b?x HTTP/1.1\r\nHost: example.org\r\n\r\n"),
        ok("/b", "", false)
    );
    let heads = h.heads();
    assert_eq!(heads.len(), 2);
    assert_eq!(
        (heads[1].method.clone(), heads[1].query()),
        (Method::Get, Some("x"))
    );
    assert!(heads[0].keep_alive && heads[0].user.is_none());
    assert!(!h.closed());
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut h = Harness::new();
    let pipelined = format!(
        "{GET}PUT /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /d HTTP/1.1\r\n"
    );
    let out = h.feed(pipelined);
    assert_eq!(
        out,
        [
            ok("/a", "", false),
            ok("/b", "abc", false),
            ok("/c", "", true)
        ]
        .concat()
    );
    assert_eq!(h.ends(), [&b""[..], b"abc", b""]);
    assert!(h.closed());
}

#[test]
fn a_body_in_any_pieces() {
    let request = "PUT /f HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world";
    for chunk in 1..=request.len() {
        let mut h = Harness::new();
        h.chunk = chunk;
        assert_eq!(
            h.feed(request),
            ok("/f", "hello world", false),
            "chunk {chunk}"
        );
        assert_eq!(h.heads()[0].content_length, Some(11));
        assert_eq!(h.ends(), [b"hello world"]);
    }
}

#[test]
fn a_chunked_body_with_extensions_and_trailers() {
    let request = "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
                   4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: y\r\n\r\n";
    for chunk in [1, 2, 7, 1000] {
        let mut h = Harness::new();
        h.chunk = chunk;
        let out = h.feed(format!("{request}{GET}"));
        assert_eq!(
            out,
            [ok("/c", "Wikipedia", false), ok("/a", "", false)].concat()
        );
        assert!(h.heads()[0].chunked);
        assert_eq!(h.ends()[0], b"Wikipedia");
    }
}

#[test]
fn continue_only_once_the_body_is_wanted() {
    let request = "PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    let mut h = Harness::new();
    h.manual = true;
    assert_eq!(h.feed(request), "");
    assert!(h.heads()[0].expect_continue);
    assert_eq!(h.session.head().map(Head::path), Some("/f"));
    h.session.read_body(h.now);
    assert_eq!(h.run(), "HTTP/1.1 100 Continue\r\n\r\n");
    assert_eq!(h.feed("hi"), ok("/f", "hi", false));

    // Answered without the body: no 100, and the client, which may never
    // send it, is left.
    let mut h = Harness::new();
    h.manual = true;
    h.feed(request);
    h.session.respond(Response::new(403), h.now);
    assert_eq!(
        h.run(),
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert!(h.closed());
}

#[test]
fn head_requests_get_the_length_but_no_body() {
    let mut h = Harness::new();
    h.respond_at_head = true;
    h.manual = true;
    h.feed("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n");
    let response = Response::new(200).body("text/calendar", b"BEGIN:VCALENDAR".to_vec());
    h.session.respond(response, h.now);
    assert_eq!(
        h.run(),
        "HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nContent-Length: 15\r\n\r\n"
    );
    h.manual = false;
    assert_eq!(
        h.feed("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"),
        ok("/x", "", false)
    );
}

#[test]
fn too_large_bodies_are_413() {
    let mut c = config();
    c.max_body = 10;
    let mut h = Harness::with(c.clone());
    let out = h.feed("PUT /f HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n");
    assert_eq!(out, refusal("413 Content Too Large"));
    assert!(h.heads().is_empty() && h.closed());

    let mut h = Harness::with(c);
    let chunked =
        "PUT /f HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\n";
    assert_eq!(h.feed(chunked), refusal("413 Content Too Large"));
    assert_eq!(h.heads().len(), 1);
    assert!(h.ends().is_empty() && h.closed());
}

#[test]
fn long_heads_and_many_fields_are_431() {
    let mut c = config();
    c.max_head = 100;
    c.max_headers = 3;
    let mut h = Harness::with(c.clone());
    let out = h.feed(format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
        "y".repeat(100)
    ));
    assert_eq!(out, refusal("431 Request Header Fields Too Large"));
    assert!(h.closed());
    let mut h = Harness::with(c);
    let out = h.feed("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
    assert_eq!(out, refusal("431 Request Header Fields Too Large"));
    assert!(h.closed());
}

#[test]
fn refused_heads_close_the_connection() {
    for (request, status) in [
        (
            "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n",
            "400 Bad Request",
        ),
        (
            "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "400 Bad Request",
        ),
        (
            "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            "501 Not Implemented",
        ),
        (
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "505 HTTP Version Not Supported",
        ),
        ("\u{16}\u{3}\u{1}\u{2}\u{0}\r\n\r\n", "400 Bad Request"),
    ] {
        let mut h = Harness::new();
        assert_eq!(
            h.feed(format!("{request}{GET}")),
            refusal(status),
            "{request:?}"
        );
        assert!(h.heads().is_empty() && h.closed());
    }
}

#[test]
fn both_lengths_mean_chunked_then_close() {
    let mut h = Harness::new();
    let request = "PUT /f HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
    assert_eq!(h.feed(format!("{request}{GET}")), ok("/f", "hi", true));
    assert!(h.closed());
}

#[test]
fn empty_lines_before_a_request_are_skipped_within_bounds() {
    let mut h = Harness::new();
    assert_eq!(h.feed(format!("\r\n\n\r\n{GET}")), ok("/a", "", false));
    let mut h = Harness::new();
    let out = h.feed(format!("{}{GET}", "\r\n".repeat(9)));
    assert_eq!(out, refusal("400 Bad Request"));
}

#[test]
fn basic_credentials_are_checked_once_per_connection() {
    let mut h = Harness::new();
    let alice = "GET /a HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n";
    assert_eq!(h.feed(alice), ok("/a", "", false));
    assert_eq!(h.seen[0], Seen::Login("alice".into(), "secret".into()));
    assert_eq!(h.heads()[0].user.as_deref(), Some("alice"));
    assert_eq!(h.feed(alice), ok("/a", "", false));
    assert_eq!(h.logins(), 1);
    assert_eq!(h.heads()[1].user.as_deref(), Some("alice"));
    // Other credentials are checked, and refused.
    let wrong = "GET /a HTTP/1.1\r\nHost: x\r\nAuthorization: basic YWxpY2U6d3Jvbmc=\r\n\r\n";
    assert_eq!(
        h.feed(wrong),
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"Postern \\\"test\\\"\", \
         charset=\"UTF-8\"\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(h.logins(), 2);
    assert_eq!(h.heads().len(), 2);
    // The accepted ones still are.
    h.feed(alice);
    assert_eq!(h.logins(), 2);
    // Other schemes are the engine's business.
    h.feed("GET /a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\n\r\n");
    assert_eq!(h.heads()[3].user, None);
    assert_eq!(h.heads()[3].header("authorization"), Some("Bearer abc"));
    assert!(!h.closed());
}

#[test]
fn unreadable_or_unavailable_logins() {
    let mut h = Harness::new();
    let out = h.feed("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic !!\r\n\r\n");
    assert_eq!(out, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    let busy = "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YTpidXN5\r\n\r\n";
    assert_eq!(
        h.feed(busy),
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n"
    );
    assert!(h.heads().is_empty() && !h.closed());
}

#[test]
fn a_refused_login_drops_a_small_body_and_goes_on() {
    let mut h = Harness::new();
    let put =
        "PUT /f HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YTpi\r\nContent-Length: 5\r\n\r\nhello";
    let out = h.feed(format!("{put}{GET}"));
    assert!(out.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{out}");
    assert!(out.ends_with(&ok("/a", "", false)), "{out}");
}

#[test]
fn timeouts() {
    let c = config();
    // Between requests: a silent close.
    let mut h = Harness::new();
    h.feed(GET);
    assert_eq!(h.session.poll_timeout(), Some(h.now + c.idle_timeout));
    assert_eq!(h.wait(74), "");
    assert!(!h.closed());
    assert_eq!(h.wait(1), "");
    assert!(h.closed());

    // Within a head: 408.
    let mut h = Harness::new();
    h.feed("GET / HT");
    assert_eq!(h.session.poll_timeout(), Some(h.now + c.request_timeout));
    assert_eq!(h.wait(30), refusal("408 Request Timeout"));
    assert!(h.closed());

    // Within a body: 408, and the engine sees Close instead of End.
    let mut h = Harness::new();
    h.feed("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab");
    assert_eq!(h.wait(30), refusal("408 Request Timeout"));
    assert!(h.ends().is_empty() && h.closed());

    // While the engine thinks: no deadline.
    let mut h = Harness::new();
    h.manual = true;
    h.feed(GET);
    assert_eq!(h.session.poll_timeout(), None);
}

#[test]
fn a_trickled_head_meets_its_deadline() {
    let mut h = Harness::new();
    let head =
        "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let start = h.now;
    for byte in head.bytes().take(40) {
        h.wait(1);
        if h.closed() {
            break;
        }
        h.feed([byte]);
    }
    assert!(h.closed());
    assert_eq!(
        String::from_utf8_lossy(&h.out),
        refusal("408 Request Timeout")
    );
    // The first byte came one second in.
    assert_eq!(h.now, start + Duration::from_secs(31));
}

#[test]
fn http_1_0() {
    let mut h = Harness::new();
    let out = h.feed("GET /o HTTP/1.0\r\n\r\n");
    assert_eq!(out, ok("/o", "", true));
    assert!(h.closed());
    let mut h = Harness::new();
    let out = h.feed("GET /o HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert!(out.contains("\r\nConnection: keep-alive\r\n\r\n"), "{out}");
    assert!(!h.closed());
}

#[test]
fn the_last_request_closes() {
    let mut c = config();
    c.max_requests = 2;
    let mut h = Harness::with(c);
    let out = h.feed(GET.repeat(3));
    assert_eq!(out, [ok("/a", "", false), ok("/a", "", true)].concat());
    assert_eq!(h.heads().len(), 2);
    assert!(h.closed());
}

#[test]
fn header_values_cannot_split_the_response() {
    let mut h = Harness::new();
    h.manual = true;
    h.feed(GET);
    let response = Response::new(200)
        .header("Location", "/x\r\nSet-Cookie: evil=1")
        .header("X\r\nEvil", "1")
        .header("Content-Length", "0\r\n\r\nHTTP/1.1 200 OK");
    h.session.respond(response, h.now);
    assert_eq!(
        h.run(),
        "HTTP/1.1 200 OK\r\nLocation: /x  Set-Cookie: evil=1\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn the_error_budget_closes() {
    let mut c = config();
    c.max_errors = 3;
    let mut h = Harness::with(c);
    let wrong = "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YTpi\r\n\r\n";
    let out = h.feed(wrong.repeat(4));
    assert_eq!(out.matches("401 Unauthorized").count(), 3);
    assert!(out.ends_with("Content-Length: 0\r\nConnection: close\r\n\r\n"));
    assert_eq!(h.logins(), 3);
    assert!(h.closed());
}

#[test]
fn unread_bodies() {
    // A small one is dropped, and the connection goes on.
    let mut h = Harness::new();
    h.respond_at_head = true;
    let put = "PUT /f HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n";
    assert_eq!(h.feed(put), ok("/f", "", false));
    assert_eq!(h.feed(format!("hello{GET}")), ok("/a", "", false));
    assert!(h.ends().is_empty());
    // A large or chunked one closes it.
    for put in [
        "PUT /f HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n",
        "PUT /f HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    ] {
        let mut h = Harness::new();
        h.respond_at_head = true;
        assert_eq!(h.feed(put), ok("/f", "", true));
        assert!(h.closed());
    }
}

#[test]
fn giving_up_on_a_body_halfway() {
    let mut h = Harness::new();
    h.feed("PUT /f HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc");
    assert_eq!(h.heads().len(), 1);
    assert!(h.session.busy());
    h.session.respond(Response::new(507), h.now);
    let out = h.run();
    assert_eq!(
        out,
        "HTTP/1.1 507 Insufficient Storage\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert!(h.closed());
}

#[test]
fn shutdown() {
    // Between requests: a silent close.
    let mut h = Harness::new();
    h.feed(GET);
    h.session.shutdown();
    assert_eq!(h.run(), "");
    assert!(h.closed());
    // Within one: it ends first, and says so.
    let mut h = Harness::new();
    h.manual = true;
    h.feed(GET);
    h.session.shutdown();
    assert!(!h.closed());
    h.session.respond(Response::new(204), h.now);
    assert_eq!(
        h.run(),
        "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
    );
    assert!(h.closed());
}

#[test]
fn answers_out_of_turn_are_ignored() {
    let mut h = Harness::new();
    h.manual = true;
    h.session.respond(Response::new(200), h.now);
    h.session.read_body(h.now);
    h.session.login_result(Ok(()), h.now);
    assert_eq!(h.run(), "");
    h.feed("PUT /f HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YTpzZWNyZXQ=\r\nContent-Length: 1\r\n\r\n");
    assert_eq!(h.heads().len(), 1);
    h.session.login_result(Ok(()), h.now);
    h.session.read_body(h.now);
    h.session.read_body(h.now);
    assert_eq!(h.feed("x"), ok("/f", "x", false));
}

#[test]
fn requests_debug_without_secrets() {
    assert_eq!(format!("{:?}", Request::Body(b"password")), "Body(8 bytes)");
    assert_eq!(format!("{:?}", Request::End), "End");
    let mut h = Harness::new();
    h.manual = true;
    h.feed("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0ken\r\n\r\n");
    let debug = format!("{:?}", Request::Head(h.heads()[0]));
    assert!(debug.starts_with("Head(Head {") && !debug.contains("t0ken"));
    assert!(!format!("{:?}", h.session).contains("t0ken"));
}

#[test]
fn busy_response_is_a_whole_response() {
    let text = std::str::from_utf8(crate::http::BUSY_RESPONSE).unwrap();
    assert!(text.starts_with("HTTP/1.1 503 ") && text.ends_with("\r\n\r\n"));
}
