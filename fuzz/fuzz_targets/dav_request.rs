//! WebDAV request bodies read as each method reads them (PROPFIND, PROPPATCH, MKCOL and
//! MKCALENDAR, REPORT): nothing panics, and every property name a PROPFIND names comes back
//! unchanged from a `207 Multi-Status` written with it, so no name a client sends can break
//! the XML the server writes.
//!
//! Input: one octet choosing the reader (its value mod 4), then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proto_dav::dav::request::{self, PropFind};
use proto_dav::dav::{DAV, Multistatus, PropStat, Value, xml};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            if let Ok(PropFind::Prop(names)) = request::propfind(body) {
                round_trip(&names);
            }
        }
        1 => drop(request::proppatch(body)),
        2 => drop(request::mkcol(body)),
        _ => drop(request::report(body)),
    }
});

/// Writes `names` into a multistatus, each with its name as text, and reads it back.
fn round_trip(names: &[proto_dav::dav::PropName]) {
    let props: Vec<PropStat> = names
        .iter()
        .map(|name| PropStat {
            name: name.clone(),
            status: 200,
            value: Value::Text(name.to_string()),
        })
        .collect();
    let mut body = Multistatus::new();
    body.response("/a%20b/", &props);
    let written = body.finish();
    let root = xml::parse(&written).expect("a multistatus we wrote is XML");
    let prop = root
        .child(DAV, "response")
        .and_then(|response| response.child(DAV, "propstat"))
        .and_then(|propstat| propstat.child(DAV, "prop"))
        .expect("the multistatus has its prop");
    assert_eq!(prop.children.len(), names.len());
    for (element, name) in prop.children.iter().zip(names) {
        assert_eq!(
            (element.ns.as_str(), element.name.as_str()),
            (name.ns.as_str(), name.local.as_str())
        );
        assert_eq!(element.text, name.to_string());
    }
}
