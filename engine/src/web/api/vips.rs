//! A user's important senders (`/api/v1/me/vips`), for their own token: list them, add one
//! (`POST {"address"}`), remove one (`DELETE /api/v1/me/vips/{address}`).

use proto_dav::Method;
use serde_json::json;

use super::{Answer, Call, failed, json_response, method_not_allowed, no_content, problem, text};
use crate::store::{Account, Store};

pub(super) fn vips<S: Store>(call: &Call<'_, S>, account: &Account, rest: &[&str]) -> Answer {
    let engine = call.engine;
    let email = account.email.as_str();
    match (rest, call.method()) {
        ([], Method::Get) => {
            let senders = engine.vip_senders(email).map_err(failed)?;
            Ok(json_response(200, &json!({ "senders": senders })))
        }
        ([], Method::Post) => {
            let object = call.object()?;
            let address = text(&object, "address")?;
            let sender = engine
                .set_vip_sender(email, address, true)
                .map_err(failed)?;
            call.audit(&format!("vip add {email} {sender}"));
            Ok(json_response(201, &json!({ "address": sender })))
        }
        ([], _) => Err(method_not_allowed("GET, POST")),
        ([address], Method::Delete) => {
            let sender = engine
                .set_vip_sender(email, address, false)
                .map_err(failed)?;
            call.audit(&format!("vip remove {email} {sender}"));
            Ok(no_content())
        }
        ([_], _) => Err(method_not_allowed("DELETE")),
        _ => Err(problem(404, "no such resource")),
    }
}
