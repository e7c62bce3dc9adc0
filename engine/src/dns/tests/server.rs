//! A tiny authoritative name server on 127.0.0.1 for the network resolver's tests. Its
//! answers are built with hickory-proto's message types; it holds the zone `test.`:
//!
//! | name | answers |
//! |---|---|
//! | `mx.test` | MX 20 b.mx.test, 10 A.MX.test., 30 c.mx.test, 10 a2.mx.test |
//! | `null.test` | MX 0 . (RFC 7505) |
//! | `host.test` | A 192.0.2.1, 192.0.2.2; AAAA 2001:db8::1 |
//! | `v4only.test` | A 192.0.2.3 |
//! | `txt.test` | TXT "v=spf1 " "ip4:192.0.2.1 -all"; TXT "second" |
//! | `nodata.test`, `test` | exist, with no records |
//! | `fail.test` | SERVFAIL |
//! | `silent.test` | never answered |
//! | anything else | NXDOMAIN |

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use hickory_resolver::proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, AAAA, MX, SOA, TXT};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};

pub(super) struct FakeDns {
    addr: SocketAddr,
    queries: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeDns {
    pub(super) fn start() -> FakeDns {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        // Wakes the loop now and then to see whether the test has finished.
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let queries = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (queries, stop) = (queries.clone(), stop.clone());
            move || serve(&socket, &queries, &stop)
        });
        FakeDns {
            addr,
            queries,
            stop,
            thread: Some(thread),
        }
    }

    pub(super) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queries received so far.
    pub(super) fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(socket: &UdpSocket, queries: &AtomicUsize, stop: &AtomicBool) {
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        let Ok((len, peer)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let Ok(request) = Message::from_vec(&buf[..len]) else {
            continue;
        };
        queries.fetch_add(1, Ordering::SeqCst);
        if let Some(response) = respond(&request) {
            let _ = socket.send_to(&response.to_vec().unwrap(), peer);
        }
    }
}

fn respond(request: &Message) -> Option<Message> {
    let query = request.queries.first()?.clone();
    let owner = query.name().to_ascii().to_ascii_lowercase();
    let kind = query.query_type();
    let mut response = Message::new(request.metadata.id, MessageType::Response, OpCode::Query);
    response.metadata.authoritative = true;
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.metadata.recursion_available = true;
    response.add_query(query.clone());
    let answers: Vec<RData> = match (owner.as_str(), kind) {
        ("silent.test.", _) => return None,
        ("fail.test.", _) => {
            response.metadata.response_code = ResponseCode::ServFail;
            return Some(response);
        }
        ("mx.test.", RecordType::MX) => vec![
            mx(20, "b.mx.test."),
            mx(10, "A.MX.test."),
            mx(30, "c.mx.test."),
            mx(10, "a2.mx.test."),
        ],
        ("null.test.", RecordType::MX) => vec![mx(0, ".")],
        ("host.test.", RecordType::A) => vec![a(192, 0, 2, 1), a(192, 0, 2, 2)],
        ("host.test.", RecordType::AAAA) => {
            vec![RData::AAAA(AAAA(
                "2001:db8::1".parse::<Ipv6Addr>().unwrap(),
            ))]
        }
        ("v4only.test.", RecordType::A) => vec![a(192, 0, 2, 3)],
        ("txt.test.", RecordType::TXT) => vec![
            RData::TXT(TXT::new(vec![
                "v=spf1 ".into(),
                "ip4:192.0.2.1 -all".into(),
            ])),
            RData::TXT(TXT::new(vec!["second".into()])),
        ],
        ("mx.test." | "null.test." | "host.test." | "v4only.test." | "txt.test.", _)
        | ("nodata.test." | "test.", _) => Vec::new(),
        _ => {
            response.metadata.response_code = ResponseCode::NXDomain;
            Vec::new()
        }
    };
    if answers.is_empty() {
        // Negative answers carry the zone's SOA (RFC 2308), which resolvers cache by.
        response.add_authority(Record::from_rdata(name("test."), 60, soa()));
    }
    for data in answers {
        response.add_answer(Record::from_rdata(query.name().clone(), 60, data));
    }
    Some(response)
}

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

fn mx(preference: u16, exchange: &str) -> RData {
    RData::MX(MX::new(preference, name(exchange)))
}

fn a(a: u8, b: u8, c: u8, d: u8) -> RData {
    RData::A(A(Ipv4Addr::new(a, b, c, d)))
}

fn soa() -> RData {
    RData::SOA(SOA::new(
        name("ns.test."),
        name("hostmaster.test."),
        1,
        3600,
        600,
        86400,
        60,
    ))
}
