"""Talks to a running postern with Python's poplib, as mail fetchers and old clients do.

Usage: pop3_clients.py MX_PORT POP3_PORT POP3S_PORT
Expects domain example.test with alice@example.test / alice-secret and an empty INBOX.
"""

import poplib
import smtplib
import socket
import ssl
import sys
import time

MX, POP3, POP3S = (int(p) for p in sys.argv[1:4])
HOST = "127.0.0.1"
USER, PASSWORD = "alice@example.test", "alice-secret"
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE


def deliver(n):
    with smtplib.SMTP(HOST, MX) as s:
        for i in range(n):
            body = (
                f"From: sender@remote.test\r\nTo: {USER}\r\nSubject: pop {i}\r\n\r\n"
                f"line one of {i}\r\n.starts with a dot\r\nline three\r\n"
            )
            s.sendmail("sender@remote.test", [USER], body)


def login_stls():
    p = poplib.POP3(HOST, POP3, timeout=30)
    p.stls(context=INSECURE)
    p.user(USER)
    p.pass_(PASSWORD)
    return p


def cleartext_refused():
    p = poplib.POP3(HOST, POP3, timeout=30)
    caps = p.capa()
    assert "STLS" in caps and "USER" not in caps, caps
    try:
        p.user(USER)
    except poplib.error_proto as e:
        assert b"[AUTH]" in e.args[0], e
    else:
        raise AssertionError("USER before STLS must be refused")
    p.quit()
    print("ok cleartext login refused before STLS")


def stls_commands():
    p = login_stls()
    caps = p.capa()
    for cap in ("TOP", "UIDL", "RESP-CODES", "PIPELINING"):
        assert cap in caps, (cap, caps)
    count, size = p.stat()
    assert count == 3, count
    listing = p.list()[1]
    assert len(listing) == 3 and sum(int(l.split()[1]) for l in listing) == size
    resp, lines, octets = p.retr(1)
    assert b"Subject: pop 0" in lines, lines
    assert b".starts with a dot" in lines, "byte-stuffing must be undone by the client"
    resp, top, _ = p.top(2, 1)
    assert b"Subject: pop 1" in top and b"line one of 1" in top and b"line three" not in top, top
    uidls = p.uidl()[1]
    p.dele(1)
    p.quit()
    p = login_stls()
    assert p.stat()[0] == 2, "DELE + QUIT removes the message"
    assert p.uidl()[1] == [b"%d %s" % (i + 1, u.split()[1]) for i, u in enumerate(uidls[1:])], "UIDLs are stable"
    p.quit()
    print("ok STLS, STAT, LIST, RETR, TOP, UIDL, DELE + QUIT")


def login_after_drop():
    """The server releases a dropped session's maildrop when it sees the close; until then a
    new login is (rightly) told the maildrop is in use."""
    for _ in range(50):
        try:
            return login_stls()
        except poplib.error_proto as e:
            assert b"[IN-USE]" in e.args[0], e
            time.sleep(0.1)
    raise AssertionError("the maildrop of a dropped connection was never released")


def dropped_connection_deletes_nothing():
    p = login_stls()
    p.dele(1)
    p.sock.shutdown(socket.SHUT_RDWR)
    p.sock.close()
    p = login_after_drop()
    assert p.stat()[0] == 2, "a dropped connection must delete nothing"
    p.quit()
    print("ok dropped connection deletes nothing")


def in_use():
    first = login_stls()
    second = poplib.POP3(HOST, POP3, timeout=30)
    second.stls(context=INSECURE)
    second.user(USER)
    try:
        second.pass_(PASSWORD)
    except poplib.error_proto as e:
        assert b"[IN-USE]" in e.args[0], e
    else:
        raise AssertionError("a second session on the same maildrop must be refused")
    second.quit()
    first.quit()
    print("ok second session gets [IN-USE]")


def pop3s_and_rset():
    p = poplib.POP3_SSL(HOST, POP3S, context=INSECURE, timeout=30)
    p.user(USER)
    p.pass_(PASSWORD)
    p.dele(1)
    p.rset()
    p.quit()
    p = poplib.POP3_SSL(HOST, POP3S, context=INSECURE, timeout=30)
    p.user(USER)
    p.pass_(PASSWORD)
    assert p.stat()[0] == 2, "RSET undoes DELE"
    p.quit()
    print("ok POP3S with RSET")


def bad_password():
    p = poplib.POP3_SSL(HOST, POP3S, context=INSECURE, timeout=30)
    p.user(USER)
    try:
        p.pass_("wrong")
    except poplib.error_proto as e:
        assert b"[AUTH]" in e.args[0], e
    else:
        raise AssertionError("a wrong password was accepted")
    print("ok wrong password refused with [AUTH]")


deliver(3)
for test in (cleartext_refused, stls_commands, dropped_connection_deletes_nothing, in_use, pop3s_and_rset, bad_password):
    test()
