//! Calendars and contacts with clients we did not write: Python's `caldav` library (from
//! PyPI) and http.client, and curl.

mod common;

use std::process::Command;

use common::{TestServer, external_tool, python_with, run};

#[test]
fn python_caldav_and_http_client() {
    let server = TestServer::start("");
    server.add_test_users();
    let Some(python) = python_with("caldav", "the caldav library", "pip install caldav") else {
        return;
    };
    let script = common::test_file("clients/dav_clients.py");
    let out = run(Command::new(python)
        .arg(script)
        .arg(server.port("https").to_string())
        .arg(server.port("http").to_string()));
    assert!(out.contains("dav clients ok"), "{out}");
}

#[test]
fn curl_dav() {
    let server = TestServer::start("");
    server.add_test_users();
    let Some(curl) = external_tool("curl") else {
        return;
    };
    let base = format!("https://127.0.0.1:{}", server.port("https"));
    let curl = |args: &[&str]| {
        run(Command::new(&curl)
            .args(["--silent", "--show-error", "--insecure", "--include"])
            .args(["--user", "alice@example.test:alice-secret"])
            .args(args))
    };
    // Discovery from the well-known name, following the redirect.
    let found = curl(&[
        "--location",
        "--request",
        "PROPFIND",
        "--header",
        "Depth: 0",
        "--data",
        r#"<propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>"#,
        &format!("{base}/.well-known/caldav"),
    ]);
    assert!(found.contains("HTTP/1.1 301"), "{found}");
    assert!(
        found.contains("<d:href>/dav/principals/alice@example.test/</d:href>"),
        "{found}"
    );
    let item = format!("{base}/dav/calendars/alice@example.test/default/lunch.ics");
    let event = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:lunch\r\n\
                 DTSTART:20261210T120000Z\r\nDTEND:20261210T130000Z\r\nSUMMARY:Lunch\r\n\
                 END:VEVENT\r\nEND:VCALENDAR\r\n";
    let created = curl(&[
        "--request",
        "PUT",
        "--data-binary",
        event,
        "--header",
        "Content-Type: text/calendar",
        "--header",
        "If-None-Match: *",
        &item,
    ]);
    assert!(created.contains("HTTP/1.1 201"), "{created}");
    let etag = created
        .lines()
        .find_map(|line| line.strip_prefix("ETag: "))
        .expect("an ETag")
        .trim()
        .to_string();
    let listed = curl(&[
        "--request",
        "REPORT",
        "--header",
        "Depth: 1",
        "--data",
        r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20261210T000000Z" end="20261211T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#,
        &format!("{base}/dav/calendars/alice@example.test/default/"),
    ]);
    assert!(
        listed.contains(&format!("<d:getetag>{etag}</d:getetag>")),
        "{listed}"
    );
    let stale = curl(&[
        "--request",
        "DELETE",
        "--header",
        "If-Match: \"stale\"",
        &item,
    ]);
    assert!(stale.contains("HTTP/1.1 412"), "{stale}");
    let deleted = curl(&[
        "--request",
        "DELETE",
        "--header",
        &format!("If-Match: {etag}"),
        &item,
    ]);
    assert!(deleted.contains("HTTP/1.1 204"), "{deleted}");
}

#[test]
fn share_from_the_cli() {
    let server = TestServer::start("");
    server.add_test_users();
    let Some(curl) = external_tool("curl") else {
        return;
    };
    // Alice's default calendar is made by the share itself if she never looked at it.
    let said = server.cli(
        &[
            "share",
            "add",
            "alice@example.test",
            "default",
            "bob@example.test",
            "--read-only",
        ],
        "",
    );
    assert!(said.contains("bob@example.test can now read"), "{said}");
    let listed = server.cli(&["share", "list", "alice@example.test"], "");
    assert_eq!(listed, "calendar default -> bob@example.test (read)\n");
    let home = format!(
        "https://127.0.0.1:{}/dav/calendars/bob@example.test/",
        server.port("https")
    );
    let bob_sees = || {
        run(Command::new(&curl)
            .args(["--silent", "--show-error", "--insecure"])
            .args(["--user", "bob@example.test:bob-secret"])
            .args(["--request", "PROPFIND", "--header", "Depth: 1", &home]))
    };
    let listing = bob_sees();
    assert!(
        listing.contains(
            "<d:href>/dav/calendars/bob@example.test/alice@example.test:default/</d:href>"
        ),
        "{listing}"
    );
    server.cli(
        &[
            "share",
            "remove",
            "alice@example.test",
            "default",
            "bob@example.test",
        ],
        "",
    );
    assert!(!bob_sees().contains("alice@example.test:default"));
    let missing = server.cli_output(
        &[
            "share",
            "add",
            "alice@example.test",
            "nope",
            "bob@example.test",
        ],
        "",
    );
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("calendar nope of alice@example.test"),
        "{missing:?}"
    );
}
