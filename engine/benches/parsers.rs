//! Micro-benchmarks of every parser a peer's bytes go through: SMTP, IMAP and POP3 command
//! lines, a SASL response, an HTTP request through the HTTP session, WebDAV request bodies, addresses, a
//! message's summary (what IMAP's FETCH and SEARCH answer from), and the iCalendar objects
//! and vCards clients PUT. `cargo bench -p engine --bench parsers`; the figures in
//! docs/PERFORMANCE.md come from it.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use engine::address::Address;
use engine::dav::content::index;
use engine::mail::{Summary, search_filter};
use engine::store::dav::CollectionKind;
use proto_core::sasl::{Exchange, Mechanism};
use proto_dav::{Action, Peer, Request, Response, ServerConfig, ServerSession, Session};

const MESSAGE: &[u8] = b"Return-Path: <alice@example.org>\r\n\
Received: from mx.example.org (mx.example.org [192.0.2.1]) by mx.test with ESMTPS;\r\n\
\tSat, 5 Dec 2026 10:00:00 +0000\r\n\
From: Alice Example <alice@example.org>\r\n\
To: Bob <bob@example.test>, \"Carol, C.\" <carol@example.test>\r\n\
Cc: team@example.test\r\n\
Subject: =?UTF-8?Q?Quarterly_plans_=E2=80=94_draft?=\r\n\
Date: Sat, 5 Dec 2026 10:00:00 +0000\r\n\
Message-ID: <plans-42@example.org>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
\r\n\
--outer\r\n\
Content-Type: multipart/alternative; boundary=\"inner\"\r\n\
\r\n\
--inner\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Here are the plans for the quarter, with the budget attached.\r\n\
--inner\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>Here are the plans for the quarter, with the budget attached.</p>\r\n\
--inner--\r\n\
--outer\r\n\
Content-Type: application/pdf; name=\"budget.pdf\"\r\n\
Content-Disposition: attachment; filename=\"budget.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFIvRmlsdGVyIC9GbGF0ZURlY29kZT4+\r\n\
c3RyZWFtCnicK+QyNDFVMABCXUMrBTMjQz1LEwsjBXMzCxsQx8XXqLc1MzkxNSEzNSs1LTE5NzcxO\r\n\
--outer--\r\n";

const EVENT: &[u8] = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n\
BEGIN:VEVENT\r\nUID:weekly-42@example.org\r\nDTSTAMP:20260101T000000Z\r\n\
DTSTART;TZID=Europe/Berlin:20260105T090000\r\nDTEND;TZID=Europe/Berlin:20260105T100000\r\n\
RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=52\r\nSUMMARY:Weekly planning\r\n\
DESCRIPTION:Agenda\\, notes and decisions.\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

const CARD: &[u8] = b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card-7@example.org\r\n\
FN:Carol Example\r\nN:Example;Carol;;;\r\nEMAIL;TYPE=INTERNET:carol@example.org\r\n\
TEL;TYPE=CELL:+15555550123\r\nADR;TYPE=HOME:;;1 Main St;Springfield;;12345;US\r\nEND:VCARD\r\n";

const PROPFIND: &[u8] = br#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/">
  <d:prop><d:resourcetype/><d:displayname/><d:getetag/><cs:getctag/><d:sync-token/>
  <c:supported-calendar-component-set/><d:current-user-privilege-set/></d:prop>
</d:propfind>"#;

const QUERY: &[u8] = br#"<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">
    <c:time-range start="20260301T000000Z" end="20260401T000000Z"/>
  </c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"#;

const HTTP_REQUEST: &[u8] = b"PROPFIND /dav/calendars/alice@example.test/work/ HTTP/1.1\r\n\
Host: mail.example.test\r\nUser-Agent: DAVx5/4.4 (okhttp/4.12)\r\n\
Authorization: Basic YWxpY2VAZXhhbXBsZS50ZXN0OnNlY3JldA==\r\nDepth: 1\r\n\
Content-Type: application/xml; charset=utf-8\r\nAccept-Encoding: gzip\r\nContent-Length: 0\r\n\r\n";

fn commands(c: &mut Criterion) {
    let mut group = c.benchmark_group("command lines");
    group.bench_function("smtp RCPT TO", |b| {
        b.iter(|| {
            proto_smtp::parse_command(black_box(b"RCPT TO:<bob@example.test> NOTIFY=FAILURE"))
        })
    });
    group.bench_function("imap UID FETCH", |b| {
        b.iter(|| {
            proto_imap::parse_command(black_box(
                b"a12 UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])\r\n",
            ))
        })
    });
    group.bench_function("pop3 RETR", |b| {
        b.iter(|| proto_pop3::parse_command(black_box(b"RETR 42")))
    });
    group.bench_function("sasl PLAIN initial response", |b| {
        b.iter(|| {
            Exchange::start(
                Mechanism::Plain,
                Some(black_box(
                    b"AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQgcGFzc3dvcmQ=",
                )),
            )
        })
    });
    group.finish();
}

fn http(c: &mut Criterion) {
    let config = Arc::new(ServerConfig::new("bench"));
    let peer = Peer {
        addr: ([127, 0, 0, 1], 80).into(),
        implicit_tls: false,
    };
    c.bench_function("http request head through the session", |b| {
        b.iter(|| {
            let now = Instant::now();
            let mut session = ServerSession::new(Arc::clone(&config), peer, now);
            session.handle_input(black_box(HTTP_REQUEST), now);
            while let Some(action) = session.poll_action() {
                if let Action::Request(Request::Head(head)) = action {
                    black_box(head.path());
                    session.respond(Response::new(204), now);
                }
            }
        })
    });
}

fn bodies(c: &mut Criterion) {
    let mut group = c.benchmark_group("webdav bodies");
    group.bench_function("propfind", |b| {
        b.iter(|| proto_dav::dav::request::propfind(black_box(PROPFIND)))
    });
    group.bench_function("calendar-query", |b| {
        b.iter(|| proto_dav::dav::request::report(black_box(QUERY)))
    });
    group.finish();
}

fn mail(c: &mut Criterion) {
    c.bench_function("address", |b| {
        b.iter(|| Address::parse(black_box("Carol.Example+lists@Example.TEST")))
    });
    let mut group = c.benchmark_group("message summary");
    group.throughput(Throughput::Bytes(MESSAGE.len() as u64));
    group.bench_function("derive (multipart, 3 parts)", |b| {
        b.iter(|| Summary::derive(black_box(MESSAGE)))
    });
    group.bench_function("search filter (multipart, 3 parts)", |b| {
        b.iter(|| search_filter(black_box(MESSAGE)))
    });
    group.finish();
}

fn calendars(c: &mut Criterion) {
    let mut group = c.benchmark_group("dav content");
    group.bench_function("weekly event, 52 occurrences", |b| {
        b.iter(|| index(CollectionKind::Calendar, black_box(EVENT), &[]))
    });
    group.bench_function("vcard", |b| {
        b.iter(|| index(CollectionKind::AddressBook, black_box(CARD), &[]))
    });
    group.finish();
}

criterion_group!(parsers, commands, http, bodies, mail, calendars);
criterion_main!(parsers);
