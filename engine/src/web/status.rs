//! What the server reports about itself: Prometheus's `/metrics`, `/health` for load
//! balancers and service managers (200 while the store answers), and `/health/detailed`
//! for a person or a monitoring check (storage, queue, listeners, certificate, as JSON).

use proto_dav::Response;
use serde_json::json;

use super::{Security, text};
use crate::Engine;
use crate::mail::date::{rfc3339, unix_now};
use crate::metrics::{CONTENT_TYPE, Scraped};
use crate::store::Store;

/// A certificate this close to its end makes the detailed health say `warning`.
const EXPIRY_WARNING_DAYS: i64 = 14;

pub(super) fn metrics<S: Store>(engine: &Engine<S>) -> Response {
    // What cannot be read shows as 0; the error is logged and `/health` fails.
    let store = engine.store();
    let queue_depth = store.queue_len().unwrap_or_else(|error| {
        tracing::error!(%error, "cannot read the queue's length");
        0
    });
    let disk_available = store.disk_space().map_or(0, |disk| disk.available);
    let now = Scraped {
        queue_depth,
        disk_available,
    };
    Response::new(200).body(CONTENT_TYPE, engine.metrics().encode(now).into_bytes())
}

pub(super) fn health<S: Store>(engine: &Engine<S>) -> Response {
    match engine.store().queue_len() {
        Ok(_) => text(200, "ok\n"),
        Err(error) => {
            tracing::error!(%error, "health check: the store does not answer");
            text(503, "storage is failing\n")
        }
    }
}

pub(super) fn detailed<S: Store>(engine: &Engine<S>) -> Response {
    let report = report(engine);
    let storage_ok = report["storage"]["ok"] == true;
    let mut bytes = serde_json::to_vec_pretty(&report).unwrap_or_default();
    bytes.push(b'\n');
    Response::new(if storage_ok { 200 } else { 503 }).body("application/json", bytes)
}

/// What `/health/detailed` says (and `postern doctor` reads through the control socket):
/// the status in a word, storage, disk, queue, the listeners as bound, the certificate and,
/// with `[acme]`, its renewal.
pub fn report<S: Store>(engine: &Engine<S>) -> serde_json::Value {
    let web = engine.web();
    let now = unix_now();
    let store = engine.store();
    let queue = store.queue_len().and_then(|depth| {
        let next = store.queue_next_due()?;
        Ok(json!({
            "depth": depth,
            "next_attempt": next.map(rfc3339),
            // Negative when overdue: deliveries are not keeping up.
            "next_attempt_in_seconds": next.map(|next| next - now),
        }))
    });
    let storage_ok = queue.is_ok();
    let disk = store
        .disk_space()
        .ok()
        .map(|disk| json!({ "total_bytes": disk.total, "available_bytes": disk.available }));
    let queue = queue.unwrap_or_else(|error| json!({ "error": error.to_string() }));
    let listeners: Vec<_> = web
        .endpoints
        .iter()
        .map(|e| {
            json!({
                "name": e.name,
                "address": e.address.to_string(),
                "tls": match e.security {
                    Security::Tls => "implicit",
                    Security::StartTls => "starttls",
                    Security::Plain => "none",
                },
            })
        })
        .collect();
    let presented = engine.certificate();
    let days_left = presented
        .as_ref()
        .map(|c| (c.not_after - now).div_euclid(86_400));
    let certificate = presented.as_ref().map(|c| {
        json!({
            "names": c.names,
            "not_after": rfc3339(c.not_after),
            "days_left": days_left,
        })
    });
    let acme = engine.acme_status().map(|acme| {
        let (error, next) = acme.failed.unzip();
        json!({
            "renews_at": acme.renews_at.map(rfc3339),
            "last_error": error,
            "next_attempt": next.map(rfc3339),
        })
    });
    let status = match (storage_ok, days_left) {
        (false, _) => "failing",
        (true, Some(days)) if days < EXPIRY_WARNING_DAYS => "warning",
        (true, _) => "ok",
    };
    json!({
        "status": status,
        "version": env!("CARGO_PKG_VERSION"),
        "hostname": engine.hostname(),
        "uptime_seconds": now.saturating_sub(web.started).max(0),
        "storage": { "ok": storage_ok, "disk": disk },
        "queue": queue,
        "listeners": listeners,
        "certificate": certificate,
        "acme": acme,
    })
}
