"""Bench client for bench/imap.sh: the same raw IMAP conversations against any server.

  imap_client.py fetch PORT            seconds for FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)
  imap_client.py search PORT WORD      seconds for UID SEARCH TEXT WORD
  imap_client.py append PORT N [C]     seconds to APPEND N messages to INBOX over C
                                       connections at once (1 by default)
  imap_client.py idle PORT N SECONDS   opens N connections, LOGIN + SELECT + IDLE on each,
                                       prints "ready", holds them SECONDS, then exits
  imap_client.py push PORT N [flag]    N connections in IDLE, then one APPEND on another
                                       (with "flag": a STORE of \Flagged on message 1):
                                       milliseconds until each idler hears of it, as
                                       "p50 p99 max" (and how many heard within 60 s)
With IMAP_TLS=1 in the environment every connection is implicit TLS (IMAPS), the
server's certificate taken unchecked. Loopback only; user alice@example.test, password
secret.
"""

import os
import selectors
import socket
import ssl
import sys
import threading
import time

HOST = "127.0.0.1"
USER, PASSWORD = "alice@example.test", "secret"
TLS = os.environ.get("IMAP_TLS") == "1"


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection((HOST, port), timeout=600)
        if TLS:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self.sock = context.wrap_socket(self.sock)
        self.file = self.sock.makefile("rb", buffering=1 << 16)
        self.tag = 0
        self.file.readline()

    def command(self, text, literal=None):
        """Sends a command (optionally with a LITERAL+ literal) and reads to its completion."""
        self.tag += 1
        tag = b"t%d" % self.tag
        if literal is None:
            self.sock.sendall(tag + b" " + text + b"\r\n")
        else:
            self.sock.sendall(tag + b" " + text + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        lines = 0
        while True:
            line = self.file.readline()
            if not line:
                raise SystemExit("connection closed")
            # Skip literal contents announced at the end of a line.
            if line.endswith(b"}\r\n") and b"{" in line:
                size = int(line[line.rindex(b"{") + 1 : -3])
                self.file.read(size)
                continue
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise SystemExit(f"{text!r}: {line!r}")
                return lines
            lines += 1

    def login(self):
        self.command(b"LOGIN " + USER.encode() + b" " + PASSWORD.encode())


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


APPENDED = b"From: a@remote.test\r\nTo: alice@example.test\r\nSubject: appended\r\n\r\n" + b"x" * 2000 + b"\r\n"


def append(port, count, connections):
    """Seconds for `connections` clients, logged in beforehand, to APPEND `count` messages
    between them, each its share one after another."""
    conns = []
    for _ in range(connections):
        c = Conn(port)
        c.login()
        conns.append(c)
    start = threading.Barrier(connections + 1)
    def work(c, share):
        start.wait()
        for _ in range(share):
            c.command(b"APPEND INBOX (\\Seen)", APPENDED)
    shares = [count // connections + (i < count % connections) for i in range(connections)]
    threads = [threading.Thread(target=work, args=(c, n)) for c, n in zip(conns, shares)]
    for t in threads:
        t.start()
    begun = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - begun
    for c in conns:
        c.command(b"LOGOUT")
    return seconds


def idlers(port, count):
    """`count` connections logged in, with INBOX selected, in IDLE."""
    conns = []
    for _ in range(count):
        c = Conn(port)
        c.login()
        c.command(b"SELECT INBOX")
        c.sock.sendall(b"i IDLE\r\n")
        c.file.readline()
        conns.append(c)
    return conns


def push(port, count, change="append"):
    """Milliseconds from a change's completion until each idler hears of it: an APPEND
    (its EXISTS) or, with change "flag", a STORE of a flag on the first message (its FETCH)."""
    conns = idlers(port, count)
    selector = selectors.DefaultSelector()
    for c in conns:
        c.sock.setblocking(False)
        selector.register(c.sock, selectors.EVENT_READ, c)
    pending = {c.sock: b"" for c in conns}
    appender = Conn(port)
    appender.login()
    if change == "flag":
        appender.command(b"SELECT INBOX")
        heard = b" FETCH"
        appender.command(b"STORE 1 +FLAGS.SILENT (\\Flagged)")
    else:
        heard = b" EXISTS"
        message = b"From: a@remote.test\r\nTo: alice@example.test\r\nSubject: pushed\r\n\r\nnew\r\n"
        appender.command(b"APPEND INBOX", message)
    start = time.perf_counter()
    delays = []
    while pending and time.perf_counter() - start < 60:
        for key, _ in selector.select(timeout=1):
            data = key.fileobj.recv(4096)
            seen = pending.get(key.fileobj)
            if seen is None:
                continue
            seen += data
            if heard in seen or not data:
                if data:
                    delays.append((time.perf_counter() - start) * 1000)
                del pending[key.fileobj]
                selector.unregister(key.fileobj)
            else:
                pending[key.fileobj] = seen
    delays.sort()
    if not delays:
        raise SystemExit("no idler heard of the change")
    def quantile(q):
        return delays[min(len(delays) - 1, int(q * len(delays)))]
    print(f"{quantile(0.5):.1f} {quantile(0.99):.1f} {delays[-1]:.1f} {len(delays)}")
    appender.command(b"LOGOUT")


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "idle":
        count, hold = int(sys.argv[3]), float(sys.argv[4])
        conns = idlers(port, count)
        print("ready", len(conns), flush=True)
        time.sleep(hold)
        return
    if mode == "push":
        push(port, int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "append")
        return
    if mode == "append":
        connections = int(sys.argv[4]) if len(sys.argv) > 4 else 1
        print(f"{append(port, int(sys.argv[3]), connections):.4f}")
        return
    c = Conn(port)
    c.login()
    c.command(b"SELECT INBOX")
    if mode == "fetch":
        seconds, lines = timed(lambda: c.command(b"FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)"))
        print(f"{seconds:.4f} {lines}")
    elif mode == "headers":
        # What mail clients list a mailbox with.
        fields = b"BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)]"
        seconds, lines = timed(lambda: c.command(b"FETCH 1:* (UID FLAGS " + fields + b")"))
        print(f"{seconds:.4f} {lines}")
    elif mode == "bodies":
        seconds, lines = timed(lambda: c.command(b"FETCH 1:* BODY.PEEK[]"))
        print(f"{seconds:.4f} {lines}")
    elif mode == "search":
        word = sys.argv[3].encode()
        seconds, _ = timed(lambda: c.command(b"UID SEARCH TEXT " + word))
        print(f"{seconds:.4f}")
    c.command(b"LOGOUT")


main()
