//! The web side with clients we did not write: Prometheus's parser on `/metrics` after
//! real SMTP and IMAP traffic, autoconfig and autodiscover documents read by Python's XML
//! parser, Apple's profile by plistlib, and curl on `/health` and the admin-network check.

mod common;

use std::process::Command;

use common::{TestServer, external_tool, python_with, run};

#[test]
fn metrics_autoconfig_and_health_with_python() {
    let server = TestServer::start("");
    server.add_test_users();
    let Some(python) = python_with(
        "prometheus_client",
        "Prometheus's Python client",
        "pip install prometheus-client",
    ) else {
        return;
    };
    let out = run(Command::new(python)
        .arg(common::test_file("clients/web_clients.py"))
        .args(
            ["http", "smtp", "imaps", "submissions", "https"].map(|s| server.port(s).to_string()),
        ));
    assert!(out.contains("web clients ok"), "{out}");
}

#[test]
fn health_for_anyone_metrics_for_admin_networks_only() {
    let server = TestServer::start("[http]\nadmin_networks = [\"10.0.0.0/8\"]\n");
    let Some(curl) = external_tool("curl") else {
        return;
    };
    let get = |path: &str| {
        run(Command::new(&curl)
            .args(["--silent", "--show-error", "--insecure", "--include"])
            .arg(format!("https://127.0.0.1:{}{path}", server.port("https"))))
    };
    let health = get("/health");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.ends_with("\r\n\r\nok\n"), "{health}");
    for path in ["/metrics", "/health/detailed"] {
        let refused = get(path);
        assert!(refused.starts_with("HTTP/1.1 403"), "{path}: {refused}");
    }
}

#[test]
fn json_api_answers_as_its_openapi_document_says() {
    let server = TestServer::start("");
    server.add_test_users();
    let Some(python) = python_with(
        "jsonschema, openapi_spec_validator",
        "jsonschema and openapi-spec-validator",
        "pip install openapi-spec-validator",
    ) else {
        return;
    };
    let admin = server.token(&["--admin", "--note", "tests"]);
    let alice = server.token(&["--user", "alice@example.test"]);
    let document = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    let out = run(Command::new(python)
        .arg(common::test_file("clients/api_clients.py"))
        .arg(server.port("http").to_string())
        .args([document, &admin, &alice]));
    assert!(out.contains("api ok"), "{out}");
    // The token list names tokens by id, never by secret.
    let listed = server.cli(&["token", "list"], "");
    assert!(
        listed.contains("admin") && listed.contains("user alice@example.test"),
        "{listed}"
    );
    assert!(
        !listed.contains(&admin) && !listed.contains(&alice),
        "{listed}"
    );
}

#[test]
fn admin_panel_and_account_page_in_a_browser_without_javascript() {
    let server = TestServer::start("");
    server.add_test_users();
    server.cli(&["user", "admin", "alice@example.test", "on"], "");
    let Some(python) = external_tool("python3") else {
        return;
    };
    let out = run(Command::new(python)
        .arg(common::test_file("clients/panel_clients.py"))
        .arg(server.port("http").to_string()));
    assert!(out.contains("panel ok"), "{out}");
}

#[test]
fn the_admin_panel_is_only_for_admin_networks() {
    let server = TestServer::start("[http]\nadmin_networks = [\"10.0.0.0/8\"]\n");
    let Some(curl) = external_tool("curl") else {
        return;
    };
    let get = |path: &str| {
        run(Command::new(&curl)
            .args(["--silent", "--show-error", "--include"])
            .arg(format!("http://127.0.0.1:{}{path}", server.port("http"))))
    };
    assert!(get("/admin/login").starts_with("HTTP/1.1 403"));
    // A user's own page is for every network.
    assert!(get("/account/login").starts_with("HTTP/1.1 200"));
}

#[test]
fn admin_panel_in_headless_chromium() {
    let server = TestServer::start("");
    server.add_test_users();
    server.cli(&["user", "admin", "alice@example.test", "on"], "");
    let Some(python) = python_with("selenium", "Selenium", "pip install selenium") else {
        return;
    };
    let (Some(_), Some(driver)) = (external_tool("chromium"), external_tool("chromedriver")) else {
        return;
    };
    let out = run(Command::new(python)
        .arg(common::test_file("clients/browser_panel.py"))
        .arg(server.port("http").to_string())
        .arg(driver));
    assert!(out.contains("browser ok"), "{out}");
}

#[test]
fn the_records_a_domain_needs_are_checked_against_dns() {
    // The static table stands in for DNS: the MX is published, SPF is another policy, and
    // the rest is missing.
    let server = TestServer::start(
        "[dns]\nnameservers = []\n[dns.static]\n\
         \"example.test\" = { mx = [\"10 mx.test\"], txt = [\"v=spf1 a -all\"] }\n\
         \"mx.test\" = { a = [\"192.0.2.10\"] }\n\
         \"_dmarc.example.test\" = { }\n",
    );
    server.add_test_users();
    let token = server.token(&["--admin"]);
    let Some(curl) = external_tool("curl") else {
        return;
    };
    let body = run(Command::new(curl)
        .args(["--silent", "--show-error", "--header"])
        .arg(format!("Authorization: Bearer {token}"))
        .arg(format!(
            "http://127.0.0.1:{}/api/v1/domains/example.test/dns",
            server.port("http")
        )));
    let answer: serde_json::Value = serde_json::from_str(&body).expect(&body);
    let state = |name: &str, kind: &str| {
        let record = answer["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name && r["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} {name} in {body}"));
        (
            record["now"]["state"].as_str().unwrap().to_string(),
            record["now"]["detail"].as_str().unwrap_or("").to_string(),
        )
    };
    assert_eq!(state("example.test.", "MX").0, "matches");
    assert_eq!(
        state("example.test.", "TXT"),
        ("differs".into(), "v=spf1 a -all".into())
    );
    assert_eq!(state("_dmarc.example.test.", "TXT").0, "missing");
    assert_eq!(
        state("mx.test.", "A/AAAA"),
        ("resolves".into(), "192.0.2.10".into())
    );
    assert_eq!(state("_imaps._tcp.example.test.", "SRV").0, "unchecked");
    // RFC 5804 §1.8: ManageSieve clients find the server by its SRV record.
    let sieve = answer["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "_sieve._tcp.example.test." && r["type"] == "SRV")
        .unwrap_or_else(|| panic!("no _sieve SRV record in {body}"));
    let port = server.port("managesieve");
    assert!(
        sieve["value"]
            .as_str()
            .unwrap()
            .contains(&format!(" {port} ")),
        "{sieve}"
    );
}
