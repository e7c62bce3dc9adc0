//! A logged-in user's sending is limited per hour (`[limits] messages_per_hour`,
//! `recipients_per_hour`), seen by Python's smtplib: past a limit, `451 4.7.1`.

mod common;

use common::{TestServer, run_python_source};

#[test]
fn a_user_past_the_hours_limits_is_told_to_wait() {
    let server = TestServer::start(
        "[smtp]\nauth_without_tls = true\n[limits]\nmessages_per_hour = 2\nrecipients_per_hour = 3\n",
    );
    server.add_test_users();
    let script = r#"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.login("alice@example.test", "alice-secret")
body = b"From: alice@example.test\r\nSubject: hi\r\n\r\nhi\r\n"
s.sendmail("alice@example.test", ["bob@example.test", "alice@example.test"], body)
refused = s.sendmail("alice@example.test", ["bob@example.test", "alice@example.test"], body)
assert list(refused) == ["alice@example.test"], refused
code, text = refused["alice@example.test"]
assert code == 451 and b"recipients" in text, (code, text)
try:
    s.sendmail("alice@example.test", ["bob@example.test"], body)
except smtplib.SMTPSenderRefused as e:
    assert e.smtp_code == 451 and b"messages" in e.smtp_error, e
    print("third message refused:", e.smtp_code, e.smtp_error.decode())
else:
    raise AssertionError("a third message in the hour was accepted")
s.quit()
"#;
    if !run_python_source(&server, script, &["submission"]) {
        return;
    }
    assert_eq!(server.export("bob@example.test").len(), 2);
}
