"""Talks to a running postern with Python's smtplib, the way scripts and apps do.

Usage: smtp_clients.py MX_PORT SUBMISSION_PORT SUBMISSIONS_PORT
Expects domain example.test with alice@example.test / alice-secret and bob@example.test.
Exits non-zero with a message on the first failure.
"""

import smtplib
import socket
import ssl
import sys

MX, SUBMISSION, SUBMISSIONS = (int(p) for p in sys.argv[1:4])
HOST = "127.0.0.1"
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE


def message(subject, author="sender@remote.test"):
    return (
        f"From: {author}\r\n"
        "To: alice@example.test\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{subject}@remote.test>\r\n"
        "\r\n"
        "Hello Alice.\r\n"
        ".A line that starts with a dot.\r\n"
    )


def expect_refused(fn, code):
    try:
        fn()
    except smtplib.SMTPRecipientsRefused as e:
        got = next(iter(e.recipients.values()))[0]
    except smtplib.SMTPResponseException as e:
        got = e.smtp_code
    else:
        raise AssertionError(f"expected {code}, but it was accepted")
    assert got == code, f"expected {code}, got {got}"


def plain_mx():
    with smtplib.SMTP(HOST, MX, local_hostname="client.test") as s:
        code, caps = s.ehlo()
        assert code == 250, code
        for ext in ("pipelining", "size", "8bitmime", "smtputf8", "enhancedstatuscodes", "chunking", "starttls"):
            assert s.has_extn(ext), f"EHLO lacks {ext}: {caps!r}"
        assert not s.has_extn("auth"), "AUTH must not be offered before TLS"
        refused = s.sendmail("sender@remote.test", ["alice@example.test", "bob@example.test"], message("plain-mx"))
        assert refused == {}, refused
        expect_refused(lambda: s.sendmail("x@remote.test", ["nobody@example.test"], message("unknown")), 550)
        expect_refused(lambda: s.sendmail("x@remote.test", ["someone@elsewhere.test"], message("relay")), 554)
        code, _ = s.verify("alice@example.test")
        assert code == 252, code
    print("ok plain MX delivery, unknown user 550, relay 554, VRFY 252")


def starttls_submission():
    with smtplib.SMTP(HOST, SUBMISSION, local_hostname="client.test") as s:
        s.ehlo()
        code, _ = s.mail("alice@example.test")
        assert code == 530, f"submission without AUTH must answer 530, got {code}"
        s.rset()
    with smtplib.SMTP(HOST, SUBMISSION, local_hostname="client.test") as s:
        s.starttls(context=INSECURE)
        s.ehlo()
        assert s.has_extn("auth"), "AUTH must be offered after STARTTLS"
        assert not s.has_extn("starttls")
        try:
            s.login("alice@example.test", "wrong")
        except smtplib.SMTPAuthenticationError as e:
            assert e.smtp_code == 535, e.smtp_code
        else:
            raise AssertionError("a wrong password was accepted")
        s.login("alice@example.test", "alice-secret")
        alice = "alice@example.test"
        s.sendmail(alice, ["bob@example.test"], message("starttls-submission", alice))
        refused = s.sendmail(alice, ["carol@elsewhere.test", "bob@example.test"], message("outbound", alice))
        assert refused == {}, refused
        # Only as herself: someone else's address in MAIL FROM or From: is refused.
        try:
            s.sendmail("bob@example.test", ["bob@example.test"], message("as-bob", alice))
        except smtplib.SMTPSenderRefused as e:
            assert e.smtp_code == 553, e.smtp_code
        else:
            raise AssertionError("alice sent as bob in MAIL FROM")
        try:
            s.sendmail(alice, ["bob@example.test"], message("as-bob", "bob@example.test"))
        except smtplib.SMTPDataError as e:
            assert e.smtp_code == 550, e.smtp_code
        else:
            raise AssertionError("alice sent as bob in From:")
    print("ok STARTTLS submission with AUTH PLAIN, bad password 535, outbound queued, only as herself")


def smtps_login():
    with smtplib.SMTP_SSL(HOST, SUBMISSIONS, local_hostname="client.test", context=INSECURE) as s:
        s.ehlo()
        s.user, s.password = "alice@example.test", "alice-secret"
        code, _ = s.auth("LOGIN", s.auth_login)
        assert code == 235, code
        s.sendmail("alice@example.test", ["bob@example.test"], message("smtps-login", "alice@example.test"))
    print("ok implicit TLS with AUTH LOGIN")


def pipelining():
    """Sends a whole transaction in one packet and reads the replies in order."""
    with socket.create_connection((HOST, MX)) as sock:
        f = sock.makefile("rb")
        assert f.readline().startswith(b"220")
        sock.sendall(b"EHLO pipe.test\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        body = message("pipelined").encode()
        sock.sendall(
            b"MAIL FROM:<p@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
            b"RCPT TO:<ghost@example.test>\r\nDATA\r\n"
        )
        replies = [f.readline() for _ in range(4)]
        assert replies[0].startswith(b"250"), replies
        assert replies[1].startswith(b"250"), replies
        assert replies[2].startswith(b"550 5.1.1"), replies
        assert replies[3].startswith(b"354"), replies
        sock.sendall(body + b".\r\nQUIT\r\n")
        done, bye = f.readline(), f.readline()
        assert done.startswith(b"250 2.0.0"), done
        assert bye.startswith(b"221"), bye
    print("ok pipelined transaction")


def long_line():
    with socket.create_connection((HOST, MX)) as sock:
        f = sock.makefile("rb")
        f.readline()
        sock.sendall(b"NOOP " + b"x" * 2000 + b"\r\nNOOP\r\n")
        first, second = f.readline(), f.readline()
        assert first.startswith(b"500 5.5.2"), first
        assert second.startswith(b"250"), second
    print("ok over-long line answered 500 5.5.2, session goes on")


def bdat():
    """CHUNKING (RFC 3030): a message in two BDAT chunks, binary-safe, no dot-stuffing."""
    body = message("bdat").encode()
    first, second = body[:40], body[40:]
    with socket.create_connection((HOST, MX)) as sock:
        f = sock.makefile("rb")
        f.readline()
        sock.sendall(b"EHLO chunk.test\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        sock.sendall(b"MAIL FROM:<c@remote.test>\r\nRCPT TO:<alice@example.test>\r\n")
        assert f.readline().startswith(b"250")
        assert f.readline().startswith(b"250")
        sock.sendall(b"BDAT %d\r\n" % len(first) + first)
        assert f.readline().startswith(b"250"), "first chunk"
        sock.sendall(b"BDAT %d LAST\r\n" % len(second) + second)
        done = f.readline()
        assert done.startswith(b"250 2.0.0"), done
    print("ok BDAT in two chunks")


def large():
    """A 3 MB message: written to its spool in pieces as it comes, kept whole and in order."""
    body = "".join(f"line {i:06d} {'x' * 50}\r\n" for i in range(50_000))
    text = message("large").replace("Hello Alice.\r\n", body)
    with smtplib.SMTP(HOST, MX, local_hostname="client.test") as s:
        assert s.sendmail("sender@remote.test", ["alice@example.test"], text) == {}
    print("ok a 3 MB message")


for test in (plain_mx, starttls_submission, smtps_login, pipelining, bdat, long_line, large):
    test()
