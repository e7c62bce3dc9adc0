"""Load and measurement for bench/memory.sh: the same conversations against any server.

  memory_load.py mem MODE PID                    one reading in KiB (MODE rss: VmRSS of PID;
                                                 pss: summed PSS of PID and its descendants)
  memory_load.py sample MODE PID OUT STOP SECS   appends "unix-time KiB" to OUT every SECS
                                                 until the file STOP exists or PID is gone
  memory_load.py idle PORT N USERS PASS STOP     N connections, LOGIN + SELECT INBOX + IDLE,
                                                 prints "ready", reads and discards until the
                                                 file STOP exists, then DONE + LOGOUT on each
  memory_load.py ingest smtp|lmtp PORT N USERS THREADS   N messages over SMTP or LMTP
  memory_load.py bulk PORT USER PASS N CONNS     APPEND N messages over CONNS connections, then
                                                 FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE),
                                                 FETCH 1:* BODY.PEEK[], SEARCH TEXT needle,
                                                 STORE 1:* +FLAGS (\\Seen)
  memory_load.py logins PORT N USERS PASS        N connections at once, each LOGIN + LOGOUT

Accounts are u0..u{USERS-1}@example.test. Load commands print "failures K" last (and
progress lines before it). Loopback only; every socket has a timeout, every wait a bound.
"""

import asyncio
import os
import random
import selectors
import smtplib
import socket
import sys
import threading
import time

HOST = "127.0.0.1"
TIMEOUT = 120  # seconds any single read may take
MAX_HOLD = 4 * 3600  # the longest the idle connections and the sampler run

WORDS = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
    "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu invoice "
    "meeting schedule report budget quarter project deadline review garden kitchen window "
    "harbour mountain river valley letter parcel weather morning evening coffee bicycle "
    "concert library museum station airport holiday birthday question answer summary"
).split()


def user(i, users):
    return f"u{i % users}@example.test"


def message(i, to, needle=False):
    """About 4 KiB of text, different for every i; "needle" in the body when asked."""
    rnd = random.Random(i)
    lines, size = [], 0
    while size < 3600:
        line = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(8, 12)))
        lines.append(line)
        size += len(line) + 2
    if needle:
        lines.insert(rnd.randrange(len(lines)), "the needle is here")
    head = (
        f"From: Sender {i % 37} <sender{i % 37}@remote.test>\r\nTo: {to}\r\n"
        f"Subject: {rnd.choice(WORDS)} {rnd.choice(WORDS)} number {i}\r\n"
        f"Message-ID: <{i}.{rnd.getrandbits(32)}@bench.test>\r\n"
        f"Date: Sat, 21 Nov 2026 {i % 24:02d}:{i % 60:02d}:00 +0000\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    return (head + "\r\n".join(lines) + "\r\n").encode()


# ---- memory ---------------------------------------------------------------------------


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise OSError("no VmRSS")


def pss_tree_kib(root):
    """PSS of a process and all its descendants (Dovecot forks per service and per login)."""
    parents = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parents[int(pid)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            pass
    if root not in parents:
        raise OSError("gone")
    children = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in tree:
            tree.add(pid)
            todo.extend(children.get(pid, ()))
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                total += sum(int(l.split()[1]) for l in f if l.startswith("Pss:"))
        except OSError:
            pass
    return total


def memory(mode, pid):
    return rss_kib(pid) if mode == "rss" else pss_tree_kib(pid)


def sample(mode, pid, out, stop, every):
    deadline = time.monotonic() + MAX_HOLD
    with open(out, "a") as f:
        while not os.path.exists(stop) and time.monotonic() < deadline:
            start = time.monotonic()
            try:
                value = memory(mode, pid)
            except OSError:
                return
            f.write(f"{time.time():.3f} {value}\n")
            f.flush()
            time.sleep(max(0.0, every - (time.monotonic() - start)))


# ---- IMAP -----------------------------------------------------------------------------


class Imap:
    def __init__(self, port):
        self.sock = socket.create_connection((HOST, port), timeout=TIMEOUT)
        self.file = self.sock.makefile("rb", buffering=1 << 16)
        self.tag = 0
        greeting = self.file.readline()
        if not greeting.startswith(b"* OK"):
            raise IOError(f"greeting {greeting!r}")
        self.caps = b""

    def response(self):
        """One response line with its literals; (text, literal bytes read)."""
        line = self.file.readline()
        if not line:
            raise IOError("connection closed")
        text, size = [line], 0
        while line.endswith(b"}\r\n") and b"{" in line:
            n = int(line[line.rindex(b"{") + 1 : -3].rstrip(b"+"))
            data = self.file.read(n)
            if len(data) != n:
                raise IOError("connection closed in a literal")
            size += n
            line = self.file.readline()
            if not line:
                raise IOError("connection closed")
            text.append(line)
        return b"".join(text), size

    def command(self, text, literal=None, plus=True):
        """Runs a command to its tagged reply; returns (untagged lines, literal bytes).
        Raises IOError on anything but OK."""
        self.tag += 1
        tag = b"t%d" % self.tag
        if literal is None:
            self.sock.sendall(tag + b" " + text + b"\r\n")
        elif plus:
            self.sock.sendall(tag + b" " + text + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        else:
            self.sock.sendall(tag + b" " + text + b" {%d}\r\n" % len(literal))
            line = self.file.readline()
            if not line.startswith(b"+"):
                raise IOError(f"{text!r}: {line!r}")
            self.sock.sendall(literal + b"\r\n")
        untagged, size = [], 0
        while True:
            line, n = self.response()
            size += n
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise IOError(f"{text[:60]!r}: {line[:200]!r}")
                return untagged, size
            untagged.append(line)

    def login(self, name, password):
        untagged, _ = self.command(b"LOGIN " + name.encode() + b" " + password.encode())
        caps, _ = self.command(b"CAPABILITY")
        self.caps = b" ".join(caps).upper()

    def select(self):
        untagged, _ = self.command(b"SELECT INBOX")
        for line in untagged:
            if line.endswith(b" EXISTS\r\n"):
                return int(line.split()[1])
        raise IOError("SELECT without EXISTS")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def idle(port, count, users, password, stop):
    conns, failures = [], 0
    for i in range(count):
        try:
            c = Imap(port)
            c.login(user(i, users), password)
            c.select()
            c.sock.sendall(b"i IDLE\r\n")
            line = c.file.readline()
            if not line.startswith(b"+"):
                raise IOError(f"IDLE: {line!r}")
            conns.append(c)
        except (OSError, IOError) as e:
            failures += 1
            print(f"idle connection {i}: {e}", file=sys.stderr)
    print(f"ready {len(conns)}", flush=True)
    # Read and discard (untagged EXISTS, keepalives); a connection the server closes fails.
    sel = selectors.DefaultSelector()
    for c in conns:
        c.sock.setblocking(False)
        sel.register(c.sock, selectors.EVENT_READ, c)
    live, exists = set(conns), 0
    deadline = time.monotonic() + MAX_HOLD
    while not os.path.exists(stop) and time.monotonic() < deadline and live:
        for key, _ in sel.select(timeout=0.5):
            c = key.data
            try:
                data = c.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                failures += 1
                print("idle connection closed by the server", file=sys.stderr)
                sel.unregister(c.sock)
                live.discard(c)
                continue
            exists += data.count(b" EXISTS\r\n")
    sel.close()
    print(f"untagged EXISTS seen: {exists}", flush=True)
    # End IDLE and log out on every connection still open.
    for c in conns:
        if c not in live:
            continue
        try:
            c.sock.setblocking(True)
            c.sock.settimeout(TIMEOUT)
            # The reader above used recv(); its buffered file may hold nothing stale.
            c.file = c.sock.makefile("rb", buffering=1 << 16)
            c.sock.sendall(b"DONE\r\n")
            while True:
                line = c.file.readline()
                if not line:
                    raise IOError("closed before DONE's reply")
                if line.startswith(b"i "):
                    if not line.startswith(b"i OK"):
                        raise IOError(f"IDLE: {line!r}")
                    break
            c.command(b"LOGOUT")
        except (OSError, IOError) as e:
            failures += 1
            print(f"idle connection end: {e}", file=sys.stderr)
        finally:
            c.close()
    print(f"failures {failures}", flush=True)


def ingest(proto, port, count, users, threads):
    lock, state = threading.Lock(), {"next": 0, "failures": 0}
    per_connection = 10

    def take():
        with lock:
            i = state["next"]
            state["next"] += 1
            return i if i < count else None

    def fail(i, e):
        with lock:
            state["failures"] += 1
            if state["failures"] <= 20:
                print(f"message {i}: {e!r}", file=sys.stderr)

    def worker():
        client, sent = None, 0
        while True:
            i = take()
            if i is None:
                break
            to = user(i, users)
            try:
                if client is None:
                    cls = smtplib.LMTP if proto == "lmtp" else smtplib.SMTP
                    client = cls(HOST, port, timeout=TIMEOUT)
                    sent = 0
                refused = client.sendmail(f"sender{i % 37}@remote.test", [to], message(i, to))
                if refused:
                    raise smtplib.SMTPException(f"refused {refused}")
                sent += 1
                if sent >= per_connection:
                    client.quit()
                    client = None
            except (OSError, smtplib.SMTPException) as e:
                fail(i, e)
                try:
                    if client is not None:
                        client.close()
                except OSError:
                    pass
                client = None
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                pass

    start = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    print(f"sent {count - state['failures']} of {count} in {time.monotonic() - start:.1f} s")
    print(f"failures {state['failures']}", flush=True)


def bulk(port, name, password, count, conns):
    failures, lock = [0], threading.Lock()

    def fail(what, e):
        with lock:
            failures[0] += what
            print(f"bulk: {e}", file=sys.stderr)

    def appender(k):
        todo = list(range(k, count, conns))
        done = 0
        try:
            c = Imap(port)
            c.login(name, password)
            plus = b"LITERAL+" in c.caps
            for i in todo:
                c.command(b"APPEND INBOX", message(i, name, needle=i % 97 == 0), plus)
                done += 1
            c.command(b"LOGOUT")
            c.close()
        except (OSError, IOError) as e:
            fail(max(1, len(todo) - done), f"APPEND connection {k} after {done}: {e}")

    start = time.monotonic()
    pool = [threading.Thread(target=appender, args=(k,)) for k in range(conns)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    print(f"append {count}: {time.monotonic() - start:.1f} s", flush=True)
    needles = len(range(0, count, 97))
    try:
        c = Imap(port)
        c.login(name, password)
        exists = c.select()
        steps = [
            ("fetch_summary", b"FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)"),
            ("fetch_body", b"FETCH 1:* BODY.PEEK[]"),
            ("search", b"SEARCH TEXT needle"),
            ("store", b"STORE 1:* +FLAGS (\\Seen)"),
        ]
        for step, text in steps:
            t0 = time.monotonic()
            try:
                untagged, size = c.command(text)
            except IOError as e:
                if "closed" in str(e):
                    raise
                fail(1, f"{step}: {e}")
                continue
            fetches = sum(1 for l in untagged if l.startswith(b"* ") and b" FETCH " in l[:40])
            extra = ""
            if step.startswith("fetch") and fetches != exists:
                fail(1, f"{step}: {fetches} FETCH responses for {exists} messages")
            if step == "fetch_body":
                extra = f", {size} bytes"
            if step == "search":
                hits = sum(len(l.split()) - 2 for l in untagged if l.startswith(b"* SEARCH"))
                extra = f", {hits} hits"
                if hits != needles:
                    fail(1, f"search: {hits} hits, {needles} expected")
            print(f"{step}: {time.monotonic() - t0:.2f} s, {fetches} FETCH of {exists}{extra}", flush=True)
        c.command(b"LOGOUT")
        c.close()
    except (OSError, IOError) as e:
        fail(1, f"after APPEND: {e}")
    print(f"failures {failures[0]}", flush=True)


def logins(port, count, users, password):
    async def tagged(r, tag):
        while True:
            line = await asyncio.wait_for(r.readline(), TIMEOUT)
            if not line:
                raise IOError("connection closed")
            if line.startswith(tag + b" "):
                return line.startswith(tag + b" OK")

    async def one(i):
        r, w = await asyncio.wait_for(asyncio.open_connection(HOST, port), TIMEOUT)
        try:
            greeting = await asyncio.wait_for(r.readline(), TIMEOUT)
            if not greeting.startswith(b"* OK"):
                return False
            w.write(f"a LOGIN {user(i, users)} {password}\r\n".encode())
            await w.drain()
            if not await tagged(r, b"a"):
                return False
            w.write(b"b LOGOUT\r\n")
            await w.drain()
            return await tagged(r, b"b")
        finally:
            w.close()

    async def main():
        start = time.monotonic()
        results = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
        ok = sum(1 for r in results if r is True)
        errors = {}
        for r in results:
            if r is not True:
                errors[repr(r)[:120]] = errors.get(repr(r)[:120], 0) + 1
        for e, n in sorted(errors.items(), key=lambda x: -x[1])[:5]:
            print(f"logins: {n} x {e}", file=sys.stderr)
        print(f"logged in and out: {ok} of {count} in {time.monotonic() - start:.2f} s")
        print(f"failures {count - ok}", flush=True)

    asyncio.run(main())


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "mem":
        try:
            print(memory(args[0], int(args[1])))
        except OSError:
            print(0)
    elif mode == "sample":
        sample(args[0], int(args[1]), args[2], args[3], float(args[4]))
    elif mode == "idle":
        idle(int(args[0]), int(args[1]), int(args[2]), args[3], args[4])
    elif mode == "ingest":
        ingest(args[0], int(args[1]), int(args[2]), int(args[3]), int(args[4]))
    elif mode == "bulk":
        bulk(int(args[0]), args[1], args[2], int(args[3]), int(args[4]))
    elif mode == "logins":
        logins(int(args[0]), int(args[1]), int(args[2]), args[3])
    else:
        raise SystemExit(__doc__)


main()
