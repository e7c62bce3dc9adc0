//! MIME bombs — messages of a few bytes per MIME part or header field, nested or side by
//! side — cost a bounded amount of memory to summarize and to search, and their summaries
//! stay within the structure limits.
//!
//! Each case runs in a child process (this test binary again, with [`CHILD`] set) so that
//! its peak resident memory is its own: the child builds the message, resets its high-water
//! mark (`/proc/self/clear_refs`), derives the summary (or searches the text) and reports
//! `VmHWM`. The project forbids `unsafe`, which a counting global allocator would need.
//!
//! `POSTERN_MIME_BOMB_SPEC=nested:340000 cargo test -p engine --release --test mime_bomb
//! -- --exact measure_one --nocapture` prints the figures of one bomb.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::process::Command;
use std::time::Instant;

use base64::Engine as _;
use engine::mail::{LazyContent, MessageFacts, ResolvedSets, SearchScope, Summary, matches};
use engine::store::{BlobId, Message};
use proto_imap::SearchKey;

/// Names the bomb a child process builds and measures.
const CHILD: &str = "POSTERN_MIME_BOMB";
/// Names the bomb [`measure_one`] measures.
const SPEC: &str = "POSTERN_MIME_BOMB_SPEC";
/// The most parts a summary describes (`MAX_PARTS` of the structure module).
const MAX_PARTS: usize = 10_000;
/// The deepest part number a summary has: `MAX_DEPTH` nested containers, then a leaf.
const MAX_NUMBER_LEN: usize = 65;
/// What a parse may cost (`BUDGET` of the budget module).
const BUDGET: u64 = 32 << 20;
/// What the rest of a derivation may add to the parse: the summary itself, allocator slack.
const SLACK: u64 = 4 << 20;

const HEADER: &str = "From: Mallory <mallory@example.org>\r\nTo: alice@example.org\r\n\
    Subject: bomb\r\nDate: Tue, 15 Apr 2025 23:30:00 -0700\r\nMessage-ID: <bomb@example.org>\r\n\
    MIME-Version: 1.0\r\n";

/// The top-level header, then `body` under `content_type`.
fn message(content_type: &str, body: &str) -> Vec<u8> {
    format!("{HEADER}Content-Type: {content_type}\r\n\r\n{body}").into_bytes()
}

/// `levels` multiparts, each the only part of the one before, with distinct boundaries:
/// 75 bytes a level.
fn nested_multiparts(levels: usize) -> Vec<u8> {
    let mut body = String::new();
    for i in 0..levels {
        let next = i + 1;
        let _ = write!(
            body,
            "--b{i}\r\nContent-Type: multipart/mixed; boundary=\"b{next}\"\r\n\r\n"
        );
    }
    let _ = write!(body, "--b{levels}\r\n\r\nleaf\r\n");
    for i in (0..=levels).rev() {
        let _ = write!(body, "--b{i}--\r\n");
    }
    message("multipart/mixed; boundary=\"b0\"", &body)
}

/// One multipart of `count` parts holding `part` each.
fn siblings(subtype: &str, part: &str, count: usize) -> Vec<u8> {
    let body = format!("{}--x--\r\n", format!("--x\r\n{part}").repeat(count));
    message(&format!("multipart/{subtype}; boundary=x"), &body)
}

/// `levels` `message/rfc822` parts, each the body of the one before.
fn nested_messages(levels: usize) -> Vec<u8> {
    let body = "Content-Type: message/rfc822\r\n\r\n".repeat(levels) + "Subject: deep\r\n\r\nx\r\n";
    message("message/rfc822", &body)
}

/// `fields` header fields of `field` each.
fn header_fields(field: &str, fields: usize) -> Vec<u8> {
    format!(
        "{HEADER}{}\r\nbody\r\n",
        format!("{field}\r\n").repeat(fields)
    )
    .into_bytes()
}

/// A base64 `message/rfc822` attachment (which RFC 2046 forbids) holding `inner`.
fn encoded_message(inner: &[u8]) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(inner);
    let mut body = String::from(
        "--x\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    for line in encoded.as_bytes().chunks(76) {
        body.push_str(&String::from_utf8_lossy(line));
        body.push_str("\r\n");
    }
    body.push_str("--x--\r\n");
    message("multipart/mixed; boundary=x", &body)
}

/// The bomb named `kind:count`, or `encoded-` and a bomb.
fn bomb(spec: &str) -> Vec<u8> {
    if let Some(inner) = spec.strip_prefix("encoded-") {
        return encoded_message(&bomb(inner));
    }
    let (kind, count) = spec.split_once(':').expect("kind:count");
    let n: usize = count.parse().expect("a count");
    match kind {
        "nested" => nested_multiparts(n),
        "siblings" => siblings("mixed", "\r\nx\r\n", n),
        "digest" => siblings("digest", "\r\n\r\n", n),
        "messages" => nested_messages(n),
        "fields" => header_fields("a:", n),
        "addresses" => header_fields(&format!("Cc: {}a", "a,".repeat(n)), 1),
        "parameters" => header_fields(&format!("Content-Type: text/plain{}", ";a=b".repeat(n)), 1),
        "references" => header_fields(&format!("References:{}", "<a>".repeat(n)), 1),
        _ => panic!("unknown bomb {kind}"),
    }
}

/// A `/proc/self/status` figure in bytes, where there is one (Linux).
fn status(name: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())?;
    Some(kib * 1024)
}

/// What a child measured.
#[derive(Debug)]
struct Figures {
    /// Bytes of the messages.
    size: usize,
    /// Peak resident memory while summarizing beyond what was resident before; `None` when
    /// it could not be measured (no `/proc`, or the high-water mark could not be reset).
    extra: Option<u64>,
    /// Parts described, in all messages.
    parts: usize,
    /// The longest part number.
    deepest: usize,
    millis: u128,
}

/// The child's side: builds the bomb of `spec` (`x4-` four at once, on four threads;
/// `search-` searched rather than summarized), measures, reports on stdout.
fn child(spec: &str) {
    let (copies, spec) = spec.strip_prefix("x4-").map_or((1, spec), |s| (4, s));
    let (search, spec) = spec
        .strip_prefix("search-")
        .map_or((false, spec), |s| (true, s));
    let messages: Vec<Vec<u8>> = (0..copies).map(|_| bomb(spec)).collect();
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = status("VmRSS");
    let started = Instant::now();
    let summaries: Vec<Summary> = std::thread::scope(|s| {
        let threads: Vec<_> = messages
            .iter()
            .map(|m| {
                s.spawn(move || {
                    if search {
                        searched(m)
                    } else {
                        Summary::derive(m)
                    }
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("no panic"))
            .collect()
    });
    let millis = started.elapsed().as_millis();
    let extra = status("VmHWM")
        .zip(before)
        .filter(|_| reset)
        .map_or(u64::MAX, |(peak, before)| peak.saturating_sub(before));
    for summary in &summaries {
        assert!(summary.body_structure.ends_with(b")"));
        assert!(summary.envelope.windows(6).any(|w| w == b"\"bomb\""));
    }
    let parts: usize = summaries.iter().map(|s| s.parts.len()).sum();
    let deepest = summaries
        .iter()
        .flat_map(|s| &s.parts)
        .map(|p| p.number.len());
    let size: usize = messages.iter().map(Vec::len).sum();
    println!(
        "FIGURES {size} {extra} {parts} {} {millis}",
        deepest.max().unwrap_or(0),
    );
}

/// Searches `message` for text that needs its body decoded; returns the summary of a small
/// message, which the search consults but does not measure.
fn searched(message: &[u8]) -> Summary {
    let summary = Summary::derive(&message[..HEADER.len()]);
    let record = Message {
        uid: 1,
        blob: BlobId([0; 32]),
        size: message.len() as u64,
        internal_date: 0,
        flags: 0,
        keywords: Vec::new(),
        modseq: 1,
    };
    let facts = MessageFacts {
        seq: 1,
        message: &record,
        summary: &summary,
        content: LazyContent::new(|| Some(Cow::Borrowed(message))),
        scope: SearchScope {
            messages: 1,
            max_uid: 1,
            saved: &[],
            recent: &[],
            now: 0,
            sets: &ResolvedSets::NONE,
        },
    };
    assert!(!matches(
        &SearchKey::Body("\u{fc}ber".as_bytes().into()),
        &facts
    ));
    drop(facts);
    summary
}

/// Runs `test` (the caller's own name) in a child process building `spec`.
fn measure(test: &str, spec: &str) -> Figures {
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, spec)
        .output()
        .expect("a child process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{spec}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // libtest writes its own "test ... " before the child's output on the same line.
    let (_, line) = stdout.split_once("FIGURES ").expect("figures");
    let n: Vec<u128> = line
        .lines()
        .next()
        .unwrap_or_default()
        .split(' ')
        .filter_map(|f| f.parse().ok())
        .collect();
    let figures = Figures {
        size: n[0] as usize,
        extra: u64::try_from(n[1]).ok().filter(|&e| e != u64::MAX),
        parts: n[2] as usize,
        deepest: n[3] as usize,
        millis: n[4],
    };
    eprintln!(
        "{spec}: {} bytes, {} KiB more at the peak, {} parts, depth {}, {} ms",
        figures.size,
        figures.extra.map_or("?".into(), |e| (e / 1024).to_string()),
        figures.parts,
        figures.deepest,
        figures.millis
    );
    figures
}

/// In a child process, builds and measures its bomb and says so: the test then has
/// nothing else to do.
fn in_child() -> bool {
    let spec = std::env::var(CHILD);
    if let Ok(spec) = &spec {
        child(spec);
    }
    spec.is_ok()
}

/// Measures `spec` in a child running `test` (the caller's own name), checks the summary
/// stayed within the structure limits and the memory within `most` bytes (if it could be
/// measured).
fn bounded(test: &str, spec: &str, most: u64) -> Figures {
    let figures = measure(test, spec);
    assert!(figures.parts <= 4 * MAX_PARTS, "{figures:?}");
    assert!(figures.deepest <= MAX_NUMBER_LEN, "{figures:?}");
    match figures.extra {
        Some(extra) => assert!(extra <= most, "{spec}: {figures:?}"),
        None => eprintln!("{spec}: peak memory not measured (no /proc/self)"),
    }
    figures
}

/// A bomb past the budget: summarized as its header and one opaque part, for little more
/// than nothing.
fn opaque(test: &str, spec: &str) {
    if !in_child() {
        let figures = bounded(test, spec, SLACK);
        assert_eq!(figures.parts, 1, "{figures:?}");
    }
}

#[test]
fn deeply_nested_multiparts() {
    opaque("deeply_nested_multiparts", "nested:50000");
}

#[test]
fn hundreds_of_thousands_of_sibling_parts() {
    opaque("hundreds_of_thousands_of_sibling_parts", "siblings:300000");
}

#[test]
fn deeply_nested_messages() {
    opaque("deeply_nested_messages", "messages:100000");
}

#[test]
fn a_digest_of_empty_messages() {
    opaque("a_digest_of_empty_messages", "digest:300000");
}

#[test]
fn a_bomb_inside_an_encoded_message() {
    opaque("a_bomb_inside_an_encoded_message", "encoded-nested:50000");
}

#[test]
fn searching_a_bomb() {
    opaque("searching_a_bomb", "search-nested:50000");
}

/// The bomb of the issue: 25 MB, 340 000 nested multiparts.
#[test]
fn the_bomb_of_the_issue() {
    opaque("the_bomb_of_the_issue", "nested:340000");
}

/// Four at once, as four clients fetching them would.
#[test]
fn four_bombs_at_once() {
    if !in_child() {
        let figures = bounded("four_bombs_at_once", "x4-nested:100000", SLACK);
        assert_eq!(figures.parts, 4, "{figures:?}");
    }
}

/// A header too costly for the budget is read as far as it fits.
#[test]
fn hundreds_of_thousands_of_header_fields() {
    if !in_child() {
        let test = "hundreds_of_thousands_of_header_fields";
        let figures = bounded(test, "fields:750000", BUDGET + SLACK);
        assert_eq!(figures.parts, 1, "{figures:?}");
    }
}

/// Bombs a little smaller than the budget allows are parsed whole, for at most the budget.
#[test]
fn bombs_just_within_the_budget() {
    if in_child() {
        return;
    }
    for (spec, parts) in [
        ("siblings:30000", Some(MAX_PARTS)),
        ("digest:15000", Some(MAX_PARTS)),
        ("fields:75000", None),
        ("addresses:85000", None),
        ("parameters:100000", None),
        ("references:270000", None),
        ("encoded-digest:750", None),
        ("search-digest:15000", None),
    ] {
        let figures = bounded("bombs_just_within_the_budget", spec, BUDGET + SLACK);
        if let Some(parts) = parts {
            assert_eq!(figures.parts, parts, "{figures:?}");
        }
    }
}

/// Prints the figures of the bomb named by `POSTERN_MIME_BOMB_SPEC`, if set.
#[test]
fn measure_one() {
    if !in_child()
        && let Ok(spec) = std::env::var(SPEC)
    {
        measure("measure_one", &spec);
    }
}
