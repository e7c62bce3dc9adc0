//! A queued message as Redis keeps it: JSON, so that an operator can read it with
//! `redis-cli GET postern:queue:msg:N`. The id is the key's; the lease is a key of its own.

use engine::queue::{Body, Notify, Outbound, OutboundEnvelope, QueueId, QueuedMessage, Ret, State};
use engine::store::{BlobId, StoreError, StoreResult};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Record {
    /// The body's SHA-256, hex: the same id the body has in any node's store.
    blob: String,
    size: u64,
    created: i64,
    sender: String,
    /// `7bit`, `8bitmime` or absent.
    body: Option<String>,
    smtputf8: bool,
    /// `full`, `hdrs` or absent.
    ret: Option<String>,
    envid: Option<String>,
    require_tls: bool,
    recipients: Vec<Recipient>,
}

#[derive(Serialize, Deserialize)]
struct Recipient {
    address: String,
    orcpt: Option<String>,
    /// `NOTIFY=` as its keywords, comma-separated (`never`, or some of `success`,
    /// `failure`, `delay`).
    notify: Option<String>,
    /// `pending`, `delivered` or `failed`.
    state: String,
    attempts: u32,
    next_attempt: i64,
    last_result: Option<String>,
    delay_reported: bool,
}

/// `message` as stored, without its id and lease.
pub(crate) fn encode(message: &QueuedMessage) -> String {
    let envelope = &message.envelope;
    let record = Record {
        blob: message.blob.to_string(),
        size: message.size,
        created: message.created,
        sender: envelope.sender.clone(),
        body: envelope.body.map(|body| {
            match body {
                Body::SevenBit => "7bit",
                Body::EightBitMime => "8bitmime",
            }
            .to_string()
        }),
        smtputf8: envelope.smtputf8,
        ret: envelope.ret.map(|ret| {
            match ret {
                Ret::Full => "full",
                Ret::Hdrs => "hdrs",
            }
            .to_string()
        }),
        envid: envelope.envid.clone(),
        require_tls: envelope.require_tls,
        recipients: message.recipients.iter().map(recipient).collect(),
    };
    // Strings and numbers only: serializing cannot fail.
    serde_json::to_string(&record).unwrap_or_default()
}

fn recipient(outbound: &Outbound) -> Recipient {
    Recipient {
        address: outbound.address.clone(),
        orcpt: outbound.orcpt.clone(),
        notify: outbound.notify.map(|notify| {
            let words = [
                (notify.never, "never"),
                (notify.success, "success"),
                (notify.failure, "failure"),
                (notify.delay, "delay"),
            ];
            let on: Vec<&str> = words
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, w)| *w)
                .collect();
            on.join(",")
        }),
        state: match outbound.state {
            State::Pending => "pending",
            State::Delivered => "delivered",
            State::Failed => "failed",
        }
        .to_string(),
        attempts: outbound.attempts,
        next_attempt: outbound.next_attempt,
        last_result: outbound.last_result.clone(),
        delay_reported: outbound.delay_reported,
    }
}

/// The message stored under `id`.
pub(crate) fn decode(id: QueueId, text: &str) -> StoreResult<QueuedMessage> {
    let bad = |what: &str| StoreError::Io(format!("queue entry {id} in Redis: {what}"));
    let record: Record = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    let blob = parse_blob(&record.blob).ok_or_else(|| bad("a bad body id"))?;
    let body = match record.body.as_deref() {
        None => None,
        Some("7bit") => Some(Body::SevenBit),
        Some("8bitmime") => Some(Body::EightBitMime),
        Some(_) => return Err(bad("a bad BODY")),
    };
    let ret = match record.ret.as_deref() {
        None => None,
        Some("full") => Some(Ret::Full),
        Some("hdrs") => Some(Ret::Hdrs),
        Some(_) => return Err(bad("a bad RET")),
    };
    let recipients = record
        .recipients
        .into_iter()
        .map(|r| {
            let state = match r.state.as_str() {
                "pending" => State::Pending,
                "delivered" => State::Delivered,
                "failed" => State::Failed,
                _ => return Err(bad("a bad recipient state")),
            };
            let notify = r.notify.as_deref().map(|words| {
                let has = |word| words.split(',').any(|w| w == word);
                Notify {
                    never: has("never"),
                    success: has("success"),
                    failure: has("failure"),
                    delay: has("delay"),
                }
            });
            Ok(Outbound {
                address: r.address,
                orcpt: r.orcpt,
                notify,
                state,
                attempts: r.attempts,
                next_attempt: r.next_attempt,
                last_result: r.last_result,
                delay_reported: r.delay_reported,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(QueuedMessage {
        id,
        blob,
        size: record.size,
        created: record.created,
        envelope: OutboundEnvelope {
            sender: record.sender,
            body,
            smtputf8: record.smtputf8,
            ret,
            envid: record.envid,
            require_tls: record.require_tls,
        },
        recipients,
        lease: None,
    })
}

fn parse_blob(hex: &str) -> Option<BlobId> {
    let mut id = [0; 32];
    if hex.len() != 64 {
        return None;
    }
    for (byte, pair) in id.iter_mut().zip(hex.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(BlobId(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn notify() -> impl Strategy<Value = Option<Notify>> {
        proptest::option::of(
            any::<[bool; 4]>().prop_map(|[never, success, failure, delay]| Notify {
                never,
                success,
                failure,
                delay,
            }),
        )
    }

    fn outbound() -> impl Strategy<Value = Outbound> {
        (
            "[a-z]{1,8}@[a-z]{1,8}\\.test",
            proptest::option::of("rfc822;[a-z]{1,8}@x\\.test"),
            notify(),
            0..3u8,
            any::<u32>(),
            any::<i64>(),
            proptest::option::of("\\PC{0,40}"),
            any::<bool>(),
        )
            .prop_map(
                |(address, orcpt, notify, state, attempts, next_attempt, last_result, delay)| {
                    Outbound {
                        address,
                        orcpt,
                        notify,
                        state: [State::Pending, State::Delivered, State::Failed]
                            [usize::from(state)]
                        .clone(),
                        attempts,
                        next_attempt,
                        last_result,
                        delay_reported: delay,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn a_record_reads_back_as_written(
            blob in any::<[u8; 32]>(),
            size in any::<u64>(),
            created in any::<i64>(),
            sender in "([a-z]{1,8}@[a-z]{1,8}\\.test)?",
            body in 0..3u8,
            ret in 0..3u8,
            smtputf8 in any::<bool>(),
            envid in proptest::option::of("[!-~]{1,20}"),
            require_tls in any::<bool>(),
            recipients in proptest::collection::vec(outbound(), 0..4),
        ) {
            let message = QueuedMessage {
                id: QueueId(engine::queue::SHARED_IDS + 7),
                blob: BlobId(blob),
                size,
                created,
                envelope: OutboundEnvelope {
                    sender,
                    body: [None, Some(Body::SevenBit), Some(Body::EightBitMime)][usize::from(body)],
                    smtputf8,
                    ret: [None, Some(Ret::Full), Some(Ret::Hdrs)][usize::from(ret)],
                    envid,
                    require_tls,
                },
                recipients,
                lease: None,
            };
            let text = encode(&message);
            prop_assert_eq!(decode(message.id, &text).unwrap(), message);
        }
    }

    #[test]
    fn a_damaged_record_is_an_error_not_a_panic() {
        let id = QueueId(engine::queue::SHARED_IDS);
        for bad in ["", "{}", "[1,2]", r#"{"blob":"zz"}"#] {
            assert!(decode(id, bad).is_err(), "{bad}");
        }
    }
}
