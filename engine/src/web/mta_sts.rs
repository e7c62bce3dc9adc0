//! The MTA-STS policy (RFC 8461 §3.2) senders fetch from
//! `https://mta-sts.<domain>/.well-known/mta-sts.txt` before they deliver to the domain:
//! our hostname as its one exchanger, in the mode the operator chose. The `_mta-sts` TXT
//! record that announces it is published with the rest of the domain's DNS.

use proto_dav::{Head, Response};

use super::{MtaStsMode, host, local_domain, text};
use crate::Engine;
use crate::store::Store;

pub(super) fn policy<S: Store>(engine: &Engine<S>, head: &Head) -> Response {
    let policy = engine.web().mta_sts;
    let mode = match policy.mode {
        MtaStsMode::Testing => "testing",
        MtaStsMode::Enforce => "enforce",
        MtaStsMode::None => return text(404, "no MTA-STS policy here\n"),
    };
    // The policy host is `mta-sts.` and the domain (RFC 8461 §3.3).
    let domain = host(head).and_then(|h| h.strip_prefix("mta-sts.").map(str::to_string));
    if domain.and_then(|d| local_domain(engine, &d)).is_none() {
        return text(404, "no such domain here\n");
    }
    // Lines end in CRLF (§3.2's grammar).
    let body = format!(
        "version: STSv1\r\nmode: {mode}\r\nmx: {}\r\nmax_age: {}\r\n",
        engine.hostname(),
        policy.max_age
    );
    Response::new(200).body("text/plain", body.into_bytes())
}
