//! Property tests: any input in any pieces neither panics nor grows the
//! input past its bound nor gets stuck, and a valid request means the same
//! however it is split.

#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use proptest::prelude::*;

use super::tests::{Harness, config};
use super::*;

/// Fragments that reach every state, mixed with arbitrary bytes.
fn hostile_input() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        Just(b"HEAD /h HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".to_vec()),
        Just(b"PUT /f HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n".to_vec()),
        Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
        Just(b"Expect: 100-continue\r\n".to_vec()),
        Just(b"Authorization: Basic YTpzZWNyZXQ=\r\n".to_vec()),
        Just(b"Authorization: Basic YTp3cm9uZw==\r\n".to_vec()),
        Just(b"Authorization: Basic YTpidXN5\r\n".to_vec()),
        Just(b"Content-Length: 3\r\n".to_vec()),
        Just(b"Connection: close\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"5;x=y\r\nhello\r\n".to_vec()),
        Just(b"0\r\nTrailer: z\r\n\r\n".to_vec()),
        Just(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(
            prop_oneof![Just(b'x'), Just(b':'), Just(b' '), Just(b'\r'), Just(b'\n')],
            0..600
        ),
    ];
    proptest::collection::vec(token, 0..40).prop_map(|parts| parts.concat())
}

/// A request with a body, valid and within bounds, followed by a `GET`.
fn valid_requests() -> impl Strategy<Value = Vec<u8>> {
    let body = proptest::collection::vec(any::<u8>(), 0..300);
    let chunks = proptest::collection::vec(1usize..50, 1..10);
    (body, chunks, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(body, chunks, chunked, expect, auth)| {
            let mut request = b"PUT /f HTTP/1.1\r\nHost: x\r\n".to_vec();
            if expect {
                request.extend_from_slice(b"Expect: 100-continue\r\n");
            }
            if auth {
                request.extend_from_slice(b"Authorization: Basic YTpzZWNyZXQ=\r\n");
            }
            if !chunked {
                request.extend_from_slice(
                    format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes(),
                );
                request.extend_from_slice(&body);
            } else {
                request.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                let mut rest = &body[..];
                for size in chunks.iter().cycle() {
                    if rest.is_empty() {
                        break;
                    }
                    let (chunk, tail) = rest.split_at((*size).min(rest.len()));
                    request.extend_from_slice(format!("{:x};n=v\r\n", chunk.len()).as_bytes());
                    request.extend_from_slice(chunk);
                    request.extend_from_slice(b"\r\n");
                    rest = tail;
                }
                request.extend_from_slice(b"0\r\nX-Sum: 1\r\n\r\n");
            }
            request.extend_from_slice(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
            request
        },
    )
}

proptest! {
    #[test]
    fn any_input_in_any_pieces_stays_bounded_and_ends(
        input in hostile_input(),
        steps in proptest::collection::vec(1usize..3000, 1..8),
        chunk in 1usize..=9000,
        respond_at_head in any::<bool>(),
        max_head in 64usize..2048,
    ) {
        let mut c = config();
        c.max_head = max_head;
        c.max_body = 1000;
        c.max_errors = 50;
        let bound = max_head + INPUT_SLACK;
        let mut h = Harness::with(c);
        h.chunk = chunk;
        h.respond_at_head = respond_at_head;
        let mut rest = &input[..];
        let mut i = 0;
        while !rest.is_empty() && !h.session.is_closed() {
            let step = steps[i % steps.len()].min(rest.len());
            i += 1;
            h.feed(&rest[..step]);
            rest = &rest[step..];
            prop_assert!(h.session.buffered_input() <= bound);
            // Never stuck: whatever was sent is taken, or the session closed.
            prop_assert!(h.inbox.is_empty() || h.session.is_closed());
        }
        h.session.shutdown();
        h.run();
        h.wait(3600);
        prop_assert!(h.closed());
    }

    #[test]
    fn a_request_means_the_same_however_split(
        input in valid_requests(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let mut whole = Harness::new();
        let out = whole.feed(&input);
        prop_assert!(out.contains("X-Path: /next"), "{}", out);
        let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut.index(input.len())).collect();
        cuts.sort_unstable();
        let mut split = Harness::new();
        let mut from = 0;
        for cut in cuts.into_iter().chain([input.len()]) {
            split.feed(&input[from..cut]);
            from = cut;
        }
        prop_assert_eq!(split.out, whole.out);
        prop_assert_eq!(split.seen, whole.seen);
    }
}
