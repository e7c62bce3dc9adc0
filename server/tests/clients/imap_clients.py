"""Talks to a running postern with Python's imaplib, as scripts, sync tools and libraries do.

Usage: imap_clients.py MX_PORT IMAP_PORT IMAPS_PORT
Expects domain example.test with alice@example.test / alice-secret (empty mailboxes).
"""

import imaplib
import re
import select
import smtplib
import socket
import ssl
import sys
import time

MX, IMAP, IMAPS = (int(p) for p in sys.argv[1:4])
HOST = "127.0.0.1"
USER, PASSWORD = "alice@example.test", "alice-secret"
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE

MULTIPART = (
    "From: Bob Example <bob@remote.test>\r\n"
    "To: alice@example.test\r\n"
    "Subject: Holiday photos\r\n"
    "Message-ID: <photos@remote.test>\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/mixed; boundary="b1"\r\n'
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Gr=C3=BC=C3=9Fe from the seaside, see the attachment.\r\n"
    "--b1\r\n"
    'Content-Type: image/png; name="beach.png"\r\n'
    "Content-Transfer-Encoding: base64\r\n"
    'Content-Disposition: attachment; filename="beach.png"\r\n'
    "\r\n"
    "iVBORw0KGgo=\r\n"
    "--b1--\r\n"
)


def deliver(subject, body="Hello.\r\n", raw=None):
    with smtplib.SMTP(HOST, MX) as s:
        message = raw or (
            f"From: carol@remote.test\r\nTo: {USER}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@remote.test>\r\n\r\n{body}"
        )
        s.sendmail("carol@remote.test", [USER], message)


def login():
    m = imaplib.IMAP4(HOST, IMAP, timeout=30)
    m.starttls(ssl_context=INSECURE)
    m.login(USER, PASSWORD)
    return m


def ok(result):
    typ, data = result
    assert typ == "OK", (typ, data)
    return data


def cleartext_refused():
    m = imaplib.IMAP4(HOST, IMAP, timeout=30)
    assert "LOGINDISABLED" in m.capabilities and "STARTTLS" in m.capabilities, m.capabilities
    try:
        m.login(USER, PASSWORD)
    except imaplib.IMAP4.error:
        pass
    else:
        raise AssertionError("LOGIN before STARTTLS must be refused")
    m.logout()
    print("ok LOGINDISABLED before STARTTLS")


def capabilities_and_mailboxes():
    m = login()
    caps = m.capabilities
    for cap in ("IMAP4REV1", "IMAP4REV2", "IDLE", "UIDPLUS", "MOVE", "CONDSTORE", "QRESYNC",
                "SPECIAL-USE", "LIST-STATUS", "ESEARCH", "SORT", "THREAD=REFERENCES", "QUOTA"):
        assert cap in caps, (cap, caps)
    names = ok(m.list())
    text = b"\n".join(names)
    for special, name in ((b"\\Sent", b"Sent"), (b"\\Drafts", b"Drafts"), (b"\\Trash", b"Trash")):
        assert special in text and name in text, text
    ok(m.create("Work/Projects"))
    ok(m.subscribe("Work/Projects"))
    assert any(b"Work/Projects" in line for line in ok(m.lsub()))
    ok(m.rename("Work/Projects", "Work/Done"))
    assert any(b"Work/Done" in line for line in ok(m.list("\"\"", "Work/*")))
    ok(m.delete("Work/Done"))
    status = ok(m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)"))[0]
    assert b"MESSAGES 0" in status, status
    m.logout()
    print("ok CAPABILITY, LIST with special-use, CREATE, SUBSCRIBE, RENAME, DELETE, STATUS")


def fetch_search_store():
    deliver("first note", "Alpha bravo charlie.\r\n")
    deliver("second note", "Delta echo foxtrot.\r\n")
    deliver("photos", raw=MULTIPART)
    m = login()
    count = int(ok(m.select("INBOX"))[0])
    assert count == 3, count
    data = ok(m.fetch("1:*", "(FLAGS ENVELOPE BODYSTRUCTURE RFC822.SIZE INTERNALDATE)"))
    text = b" ".join(d if isinstance(d, bytes) else b" ".join(d) for d in data)
    assert b'"first note"' in text and b'"Holiday photos"' in text, text
    lower = text.lower()
    assert b'("image" "png" ("name" "beach.png") nil nil "base64" 12' in lower, text
    assert b'"mixed" ("boundary" "b1")' in lower, text
    body = ok(m.fetch("1", "(BODY.PEEK[TEXT])"))[0][1]
    assert body == b"Alpha bravo charlie.\r\n", body
    part = ok(m.fetch("3", "(BODY.PEEK[1])"))[0][1]
    assert b"Gr=C3=BC=C3=9Fe" in part, part
    header = ok(m.fetch("2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))[0][1]
    assert header == b"Subject: second note\r\n\r\n", header
    assert ok(m.search(None, "ALL"))[0] == b"1 2 3"
    assert ok(m.search(None, "SUBJECT", "note"))[0] == b"1 2"
    assert ok(m.search(None, "BODY", "echo"))[0] == b"2"
    assert ok(m.search(None, "TEXT", "seaside"))[0] == b"3", "TEXT searches decoded text parts"
    assert ok(m.search(None, "FROM", "bob"))[0] == b"3"
    assert ok(m.search(None, "UNSEEN"))[0] == b"1 2 3"
    ok(m.store("1", "+FLAGS", "(\\Seen $Important)"))
    assert ok(m.search(None, "SEEN"))[0] == b"1"
    assert ok(m.search(None, "KEYWORD", "$Important"))[0] == b"1"
    flags = ok(m.fetch("1", "(FLAGS)"))[0]
    assert b"\\Seen" in flags and b"$Important" in flags, flags
    uids = ok(m.uid("SEARCH", None, "ALL"))[0].split()
    assert len(uids) == 3
    sorted_ids = ok(m.sort("(REVERSE SIZE)", "UTF-8", "ALL"))[0]
    assert sorted_ids == b"3 2 1", sorted_ids
    m.logout()
    print("ok FETCH ENVELOPE/BODYSTRUCTURE/sections, SEARCH, STORE, SORT")


def copy_move_expunge_append():
    m = login()
    ok(m.select("INBOX"))
    typ, data = m.copy("1", "Archive")
    assert typ == "OK" and b"COPYUID" in data[0], data
    typ, data = m.uid("MOVE", ok(m.uid("SEARCH", None, "SUBJECT", "second"))[0].decode(), "Trash")
    assert typ == "OK", (typ, data)
    assert int(ok(m.select("INBOX"))[0]) == 2
    ok(m.store("1", "+FLAGS", "\\Deleted"))
    expunged = ok(m.expunge())
    assert expunged == [b"1"], expunged
    assert int(ok(m.select("INBOX"))[0]) == 1
    typ, data = m.append("Drafts", "(\\Draft)", imaplib.Time2Internaldate(time.time()),
                         b"Subject: draft\r\n\r\nunfinished\r\n")
    assert typ == "OK" and b"APPENDUID" in data[0], data
    big = b"Subject: big\r\n\r\n" + b"".join(b"line %07d of a large message\r\n" % i for i in range(80000))
    ok(m.append("Drafts", None, None, big))
    assert int(ok(m.select("Drafts", readonly=True))[0]) == 2
    fetched = ok(m.fetch("2", "(BODY.PEEK[])"))[0][1]
    assert fetched == big, ("large message streamed back intact", len(fetched), len(big))
    m.select("Drafts")
    ok(m.store("2", "+FLAGS", "\\Deleted"))
    ok(m.expunge())
    assert int(ok(m.select("Archive"))[0]) == 1
    assert int(ok(m.select("Trash"))[0]) == 1
    m.logout()
    print("ok COPY (COPYUID), UID MOVE, EXPUNGE, APPEND (APPENDUID), EXAMINE, 2.6 MB FETCH streamed")


def idle_push():
    """IDLE over a raw TLS socket: a delivery must reach the idling session promptly."""
    raw = socket.create_connection((HOST, IMAPS), timeout=30)
    sock = INSECURE.wrap_socket(raw)
    f = sock.makefile("rb")

    def command(tag, text):
        sock.sendall(f"{tag} {text}\r\n".encode())
        while True:
            line = f.readline()
            if line.startswith(tag.encode() + b" "):
                assert line.split()[1] == b"OK", line
                return

    assert f.readline().startswith(b"* OK")
    command("a", f"LOGIN {USER} {PASSWORD}")
    command("b", "SELECT INBOX")
    sock.sendall(b"c IDLE\r\n")
    assert f.readline().startswith(b"+"), "IDLE continuation"
    start = time.monotonic()
    deliver("pushed")
    ready, _, _ = select.select([sock], [], [], 10)
    assert ready or sock.pending(), "no push within 10 s"
    line = f.readline()
    elapsed = time.monotonic() - start
    assert re.match(rb"\* \d+ EXISTS", line), line
    sock.sendall(b"DONE\r\n")
    while not f.readline().startswith(b"c OK"):
        pass
    command("d", "LOGOUT")
    print(f"ok IDLE push ({elapsed * 1000:.0f} ms after the SMTP delivery started)")


def two_sessions():
    a, b = login(), login()
    ok(a.select("INBOX"))
    ok(b.select("INBOX"))
    ok(b.store("1", "+FLAGS", "\\Flagged"))
    typ, data = a.noop()
    untagged = a.untagged_responses.get("FETCH", [])
    assert any(b"\\Flagged" in d for d in untagged), (typ, data, a.untagged_responses)
    a.logout()
    b.logout()
    print("ok a flag change in one session reaches another")


def imaps_authenticate():
    m = imaplib.IMAP4_SSL(HOST, IMAPS, ssl_context=INSECURE, timeout=30)
    m.authenticate("PLAIN", lambda _: f"\0{USER}\0{PASSWORD}".encode())
    ok(m.select("INBOX"))
    m.logout()
    print("ok IMAPS with AUTHENTICATE PLAIN")


def logout_ends_with_close_notify():
    # RFC 8446 §6.1: the server closes its side with a close_notify, so a client that
    # refuses to take a cut connection for an end (suppress_ragged_eofs=False) reads a clean
    # end after BYE, in TLS 1.3 and 1.2.
    for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.minimum_version = context.maximum_version = version
        raw = socket.create_connection((HOST, IMAPS), timeout=30)
        tls = context.wrap_socket(raw, suppress_ragged_eofs=False)
        tls.sendall(b"a1 LOGOUT\r\n")
        received = b""
        while True:
            chunk = tls.recv(4096)  # SSLEOFError if the connection were cut
            if not chunk:
                break
            received += chunk
        assert received.startswith(b"* OK") and b"a1 OK" in received, received
        tls.close()
    print("ok LOGOUT over IMAPS ends with a close_notify (TLS 1.3 and 1.2)")


def compress_deflate():
    # RFC 4978 with Python's zlib on a bare TLS socket (imaplib has no COMPRESS): raw
    # DEFLATE both ways after the OK, every response flushed so it can be read at once.
    import zlib
    deliver("compressed", "Zip " * 2000 + "\r\n")
    sock = INSECURE.wrap_socket(socket.create_connection((HOST, IMAPS), timeout=30))
    plain = b""

    def until(tag, read):
        nonlocal plain
        while not re.search(rb"(^|\n)" + tag + rb" ", plain):
            chunk = sock.recv(65536)
            assert chunk, plain
            plain += read(chunk)
        answer, plain = plain, b""
        return answer

    same = lambda chunk: chunk
    until(rb"\*", same)
    sock.sendall(f"a LOGIN {USER} {PASSWORD}\r\n".encode())
    assert b"COMPRESS=DEFLATE" in until(b"a", same)
    sock.sendall(b"b COMPRESS DEFLATE\r\n")
    assert b"b OK" in until(b"b", same)
    out, inflate = zlib.compressobj(wbits=-15), zlib.decompressobj(wbits=-15)

    def send(line):
        sock.sendall(out.compress(line) + out.flush(zlib.Z_SYNC_FLUSH))

    send(b"c SELECT INBOX\r\n")
    assert b"c OK" in until(b"c", inflate.decompress)
    send(b"d UID SEARCH SUBJECT compressed\r\n")
    found = until(b"d", inflate.decompress)
    uid = re.search(rb"\* SEARCH (\d+)", found).group(1)
    send(b"e UID FETCH " + uid + b" BODY.PEEK[TEXT]\r\n")
    fetched = until(b"e", inflate.decompress)
    assert fetched.count(b"Zip ") == 2000, fetched[:200]
    send(b"f COMPRESS DEFLATE\r\n")
    assert b"f BAD" in until(b"f", inflate.decompress)
    send(b"g LOGOUT\r\n")
    assert b"g OK" in until(b"g", inflate.decompress)
    sock.close()
    print("ok COMPRESS=DEFLATE with zlib")


def authenticate_login_and_recent():
    # LOGIN answers "Username:" then "Password:", as older desktop clients expect.
    answers = iter([USER.encode(), PASSWORD.encode()])
    m = imaplib.IMAP4_SSL(HOST, IMAPS, ssl_context=INSECURE, timeout=30)
    m.authenticate("LOGIN", lambda _: next(answers))
    ok(m.select("Drafts"))
    ok(m.append("Drafts", None, None, b"Subject: draft\r\n\r\nlater\r\n"))
    # Appended to the selected mailbox: recent in this session (RFC 3501 2.3.2).
    count = m.untagged_responses["EXISTS"][-1]
    assert m.untagged_responses["RECENT"][-1] == b"1", m.untagged_responses
    assert ok(m.search(None, "RECENT"))[0] == count
    m.logout()
    other = login()
    typ, data = other.status("Drafts", "(RECENT)")
    assert data == [b'"Drafts" (RECENT 0)'], data
    other.logout()
    print("ok AUTHENTICATE LOGIN, \\Recent")


def large_attachment():
    # A message over a MiB: each section is streamed from storage, several in one response,
    # and BINARY decodes the base64 attachment as it streams (RFC 3516); imaplib reads the
    # literals, `~{n}` included, like any client.
    import base64
    import hashlib
    attachment = b"".join(hashlib.sha256(b"%d" % n).digest() for n in range(50_000))
    encoded = base64.b64encode(attachment).decode()
    lines = "\r\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))
    text = "Gr=C3=BC=C3=9Fe, the archive is attached.\r\n"
    raw = (
        f"From: carol@remote.test\r\nTo: {USER}\r\nSubject: large attachment\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b2\r\n\r\n"
        "--b2\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        f"{text}--b2\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{lines}\r\n--b2--\r\n"
    )
    assert len(raw) > 2_000_000
    deliver("large attachment", raw=raw)
    m = login()
    ok(m.select("INBOX", readonly=True))
    (uids,) = ok(m.uid("SEARCH", None, "SUBJECT", '"large attachment"'))
    assert len(uids.split()) == 1, uids
    data = ok(m.uid("FETCH", uids.decode(),
                    "(BINARY.SIZE[2] BODY.PEEK[1] BINARY.PEEK[2] BODY.PEEK[2]<0.100> RFC822.SIZE)"))
    literals = [part for part in data if isinstance(part, tuple)]
    heads = b"".join(head for head, _ in literals) + b"".join(p for p in data if isinstance(p, bytes))
    assert b"BINARY.SIZE[2] %d" % len(attachment) in heads, heads
    # Stored with the trace fields put first.
    assert int(re.search(rb"RFC822.SIZE (\d+)", heads).group(1)) > len(raw), heads
    sections = {re.search(rb"(BODY\[1\]|BINARY\[2\]|BODY\[2\]<0>) ~?\{\d+\}$", head).group(1): value
                for head, value in literals}
    # The line end before a boundary belongs to the boundary (RFC 2046 5.1.1).
    assert sections[b"BODY[1]"] == text.removesuffix("\r\n").encode(), sections[b"BODY[1]"]
    assert sections[b"BINARY[2]"] == attachment, len(sections[b"BINARY[2]"])
    assert sections[b"BODY[2]<0>"] == lines[:100].encode()
    m.logout()
    print(f"ok a {len(raw):,}-octet message: sections streamed, its attachment decoded")


def search_a_large_mailbox():
    """Past 1,024 UIDs a mailbox's search index answers text searches: the same answers."""
    m = login()
    ok(m.create("Archive/2025"))
    for n in range(1, 1101):
        word = "quarterly" if n in (3, 700, 1050) else "ordinary"
        message = (f"From: carol@remote.test\r\nSubject: report {n}\r\n\r\n"
                   f"The {word} figures, number {n}.\r\n")
        ok(m.append("Archive/2025", None, None, message.encode()))
    ok(m.select("Archive/2025", readonly=True))
    for _ in range(2):  # the first may make the index, the second reads it
        assert ok(m.uid("SEARCH", None, "TEXT", "Quarterly"))[0] == b"3 700 1050"
        assert ok(m.uid("SEARCH", None, "BODY", '"number 1023."'))[0] == b"1023"
        assert ok(m.uid("SEARCH", None, "OR", "SUBJECT", '"report 1000"', "TEXT", "quarterly"))[0] \
            == b"3 700 1000 1050"
        assert len(ok(m.uid("SEARCH", None, "NOT", "TEXT", "quarterly"))[0].split()) == 1097
    m.logout()
    print("ok SEARCH over 1,100 messages, their search index made and read")


for test in (cleartext_refused, capabilities_and_mailboxes, fetch_search_store,
             copy_move_expunge_append, idle_push, two_sessions, imaps_authenticate,
             logout_ends_with_close_notify,
             authenticate_login_and_recent, compress_deflate, large_attachment,
             search_a_large_mailbox):
    test()
