"""Crash torture: mixed traffic on every protocol, SIGKILL at a random moment, restart,
and the invariants checked, ROUNDS times; then a disk that fills up.

Usage: torture.py POSTERN_BINARY [--rounds N] [--seed S] [--no-disk-full]

Each round starts `postern serve` on the same data directory (fresh ports on loopback) and
runs, at once, until the kill:
  - two MX connections delivering to alice and carol (smtplib);
  - bob submitting to remote recipients, delivered to a sink run here that takes most
    recipients and defers every third one, so the queue holds some (smtplib, AUTH);
  - alice in IMAP: APPEND into Work, STORE \\Flagged, UID MOVE to Archive, EXPUNGE
    (imaplib);
  - carol in POP3: TOP, DELE, QUIT (poplib);
  - alice's calendar: PUT new events, PUT over existing ones, DELETE (http.client).
After 0.2 to 2 seconds of that the server gets SIGKILL; it is started again and must open
its database, and then:
  - every message acknowledged (250, APPEND OK, a completed MOVE) is where it was last
    put, exactly once; what was refused is nowhere; what was in flight is in one of the
    places it could be; nothing appears that was never sent;
  - a \\Flagged acknowledged is set;
  - POP3 deletions happen only after QUIT was sent, and all of them once it was answered;
  - UIDVALIDITY never changes; a UID once seen never names another message; UIDNEXT is
    past every UID seen; HIGHESTMODSEQ never goes down;
  - every submission acknowledged is in the queue or was received by the sink;
  - every event acknowledged is there with the content of its last acknowledged PUT.
The disk-full phase (root, tmpfs) runs the server on a 24 MiB tmpfs and sends until the
server refuses, then takes what room is left: refusals must be `452`, an APPEND `NO
[OVERQUOTA]`, a calendar PUT `507`; everything acknowledged must be stored, and mail and
events taken again once space is freed.

Prints one line per round and a summary; exits 1 at the first violated invariant, with the
server's log. Loopback only; every loop is bounded.
"""

import argparse
import base64
import http.client
import imaplib
import os
import poplib
import random
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from scratch import PASSWORD, Failure, Server, Sink

USERS = ("alice@example.test", "bob@example.test", "carol@example.test")
GONE = "gone"
# Bounds on each worker's loop per round; the kill normally comes first.
MAX_OPS = 400


class Violation(Failure):
    """An invariant that did not hold."""


class State:
    """What the clients were told, shared by the worker threads.

    `where[token]` is the set of places a message may be after a restart: a mailbox as
    "user/Mailbox", or GONE (never stored, refused or deleted). One place once the server
    said yes or no; more while a command was in flight when the server died.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.where = {}
        self.flagged = {}  # token -> True / None (either: the STORE was in flight)
        self.submitted = {}  # recipient -> "acked" / "maybe" / "refused"
        self.events = {}  # href -> set of allowed versions (None: absent)
        self.counter = 0
        # Acknowledgements per kind of work, so a run that did nothing cannot pass.
        self.acks = dict.fromkeys(("delivered", "submitted", "appended", "flagged", "moved",
                                   "expunged", "pop3 deleted", "events put", "events deleted"), 0)
        # Mailbox invariants across restarts.
        self.uidvalidity = {}
        self.uid_token = {}
        self.max_uid = {}
        self.modseq = {}
        # Invariants a worker found broken while the traffic ran (raised after the round).
        self.broken = []
        # Messages a POP3 client deleted (QUIT sent).
        self.pop3_deleted = set()

    def ack(self, kind, count=1):
        with self.lock:
            self.acks[kind] += count

    def token(self, kind):
        with self.lock:
            self.counter += 1
            return f"{kind}{self.counter}"

    def set(self, token, places):
        with self.lock:
            self.where[token] = set(places)

    def add(self, token, place):
        with self.lock:
            self.where[token].add(place)

    def delivered(self, token, mailbox):
        """The server took a message for `mailbox`. A POP3 client may have seen it, deleted
        it and quit before this thread got the reply: then that deletion is the newer news."""
        with self.lock:
            if token not in self.pop3_deleted:
                self.where[token] = {mailbox}

    def pop3_deleting(self, token):
        """A POP3 client is about to send QUIT with this message deleted."""
        with self.lock:
            self.pop3_deleted.add(token)
            self.where[token].add(GONE)

    def definite(self, mailbox):
        """Tokens that are certainly in `mailbox` now."""
        with self.lock:
            return [t for t, places in self.where.items() if places == {mailbox}]


def message(token, rcpt, rng, sender="load@remote.test"):
    padding = "".join(f"line {i} of {token} with some words to fill it\r\n"
                      for i in range(rng.choice((0, 5, 50, 2000))))
    return (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: torture {token}\r\n"
            f"Message-ID: <{token}@torture.test>\r\n\r\nbody of {token}\r\n{padding}").encode()


def token_of(header_bytes):
    found = re.search(rb"<([a-z]+\d+)@torture\.test>", header_bytes)
    return found.group(1).decode() if found else None


# --- the workers ------------------------------------------------------------------------

def mx_worker(server, state, stop, rng):
    client = smtplib.SMTP("127.0.0.1", server.ports["smtp"], timeout=20)
    client.ehlo("load.test")
    for _ in range(MAX_OPS):
        if stop.is_set():
            return
        rcpt = rng.choice(("alice@example.test", "carol@example.test"))
        token = state.token("mx")
        state.set(token, {GONE, f"{rcpt.split('@')[0]}/INBOX"})
        try:
            client.sendmail("load@remote.test", [rcpt], message(token, rcpt, rng))
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused):
            state.set(token, {GONE})
            continue
        state.delivered(token, f"{rcpt.split('@')[0]}/INBOX")
        state.ack("delivered")


def submission_worker(server, state, stop, rng):
    client = smtplib.SMTP("127.0.0.1", server.ports["submission"], timeout=20)
    client.ehlo("client.test")
    client.login("bob@example.test", PASSWORD)
    for _ in range(MAX_OPS):
        if stop.is_set():
            return
        token = state.token("sub")
        rcpt = f"r{token[3:]}@remote.test"
        with state.lock:
            state.submitted[rcpt] = "maybe"
        try:
            client.sendmail("bob@example.test", [rcpt], message(token, rcpt, rng, "bob@example.test"))
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused):
            with state.lock:
                state.submitted[rcpt] = "refused"
            continue
        with state.lock:
            state.submitted[rcpt] = "acked"
        state.ack("submitted")


def imap_uid(client, token):
    typ, data = client.uid("SEARCH", "HEADER", "Message-ID", f"<{token}@torture.test>")
    uids = data[0].split() if typ == "OK" and data and data[0] else []
    return uids[0].decode() if len(uids) == 1 else None


def imap_worker(server, state, stop, rng):
    client = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=20)
    client.login("alice@example.test", PASSWORD)
    client.select("Work")
    for _ in range(MAX_OPS):
        if stop.is_set():
            return
        action = rng.random()
        if action < 0.4:
            token = state.token("ap")
            state.set(token, {GONE, "alice/Work"})
            typ, _ = client.append("Work", None, None, message(token, "alice@example.test", rng))
            state.set(token, {"alice/Work"} if typ == "OK" else {GONE})
            if typ == "OK":
                state.ack("appended")
            continue
        box = "Work" if action < 0.8 else "Archive"
        candidates = state.definite(f"alice/{box}")
        if not candidates:
            continue
        token = rng.choice(candidates)
        client.select(box)
        uid = imap_uid(client, token)
        if uid is None:
            raise Violation(f"{token}, acknowledged in {box}, is not found there by SEARCH")
        if action < 0.55:
            with state.lock:
                state.flagged[token] = None
            typ, _ = client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Flagged)")
            if typ == "OK":
                with state.lock:
                    state.flagged[token] = True
                state.ack("flagged")
        elif action < 0.7 and box == "Work":
            state.add(token, "alice/Archive")
            typ, _ = client.uid("MOVE", uid, "Archive")
            if typ == "OK":
                state.set(token, {"alice/Archive"})
                state.ack("moved")
        else:
            typ, _ = client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
            state.add(token, GONE)
            typ, _ = client.uid("EXPUNGE", uid)
            if typ == "OK":
                state.set(token, {GONE})
                state.ack("expunged")
        client.select("Work")


def pop3_worker(server, state, stop, rng):
    for _ in range(MAX_OPS):
        if stop.is_set():
            return
        client = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=20)
        client.user("carol@example.test")
        client.pass_(PASSWORD)
        count = client.stat()[0]
        deleted = []
        for number in rng.sample(range(1, count + 1), min(count, 3)):
            token = token_of(b"\n".join(client.top(number, 0)[1]))
            if token is None:
                raise Violation(f"carol's POP3 message {number} has no torture token")
            client.dele(number)
            deleted.append(token)
        for token in deleted:
            state.pop3_deleting(token)
        client.quit()
        for token in deleted:
            state.set(token, {GONE})
        state.ack("pop3 deleted", len(deleted))
        time.sleep(0.05)


CALENDAR = "/dav/calendars/alice@example.test/torture/"


def event(href, version):
    uid = href.rsplit("/", 1)[1].removesuffix(".ics")
    return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//torture//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}@torture.test\r\nDTSTAMP:20260101T000000Z\r\n"
            f"DTSTART:20260301T100000Z\r\nDTEND:20260301T110000Z\r\n"
            f"SUMMARY:version {version}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").encode()


def dav(port, method, path, body=b"", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    all_headers = {"Authorization": "Basic " + base64.b64encode(
        f"alice@example.test:{PASSWORD}".encode()).decode()}
    all_headers.update(headers or {})
    conn.request(method, path, body=body, headers=all_headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def dav_worker(server, state, stop, rng):
    port = server.ports["http"]
    for _ in range(MAX_OPS):
        if stop.is_set():
            return
        with state.lock:
            known = [h for h, versions in state.events.items() if len(versions) == 1 and None not in versions]
        action = rng.random()
        if action < 0.5 or not known:
            href = f"{CALENDAR}{state.token('ev')}.ics"
            with state.lock:
                state.events[href] = {None, 1}
            status, _ = dav(port, "PUT", href, event(href, 1),
                            {"Content-Type": "text/calendar", "If-None-Match": "*"})
            with state.lock:
                state.events[href] = {1} if status == 201 else {None}
            state.ack("events put")
        elif action < 0.75:
            href = rng.choice(known)
            with state.lock:
                old = next(iter(state.events[href]))
                state.events[href] = {old, old + 1}
            status, _ = dav(port, "PUT", href, event(href, old + 1), {"Content-Type": "text/calendar"})
            if status in (200, 201, 204):
                with state.lock:
                    state.events[href] = {old + 1}
                state.ack("events put")
        else:
            href = rng.choice(known)
            with state.lock:
                state.events[href].add(None)
            status, _ = dav(port, "DELETE", href)
            if status in (200, 204):
                with state.lock:
                    state.events[href] = {None}
                state.ack("events deleted")


def run_worker(target, server, state, stop, rng):
    try:
        target(server, state, stop, rng)
    except (OSError, EOFError, smtplib.SMTPException, imaplib.IMAP4.error, poplib.error_proto,
            http.client.HTTPException):
        # The server was killed under it: what was in flight stays undecided.
        pass
    except Violation as violation:
        with state.lock:
            state.broken.append(violation)


# --- the checks after a restart ---------------------------------------------------------

def check_mailboxes(server, state):
    seen = {}
    for user, boxes in (("alice", ("INBOX", "Work", "Archive")), ("carol", ("INBOX",))):
        client = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=60)
        client.login(f"{user}@example.test", PASSWORD)
        for box in boxes:
            typ, data = client.status(box, "(UIDVALIDITY UIDNEXT HIGHESTMODSEQ)")
            if typ != "OK":
                raise Violation(f"STATUS {user}/{box}: {data}")
            status = dict(re.findall(rb"(UIDVALIDITY|UIDNEXT|HIGHESTMODSEQ) (\d+)", data[0]))
            key = f"{user}/{box}"
            validity, uidnext, modseq = (int(status[k]) for k in (b"UIDVALIDITY", b"UIDNEXT", b"HIGHESTMODSEQ"))
            if state.uidvalidity.setdefault(key, validity) != validity:
                raise Violation(f"UIDVALIDITY of {key} changed: {state.uidvalidity[key]} -> {validity}")
            if modseq < state.modseq.get(key, 0):
                raise Violation(f"HIGHESTMODSEQ of {key} went down: {state.modseq[key]} -> {modseq}")
            state.modseq[key] = modseq
            client.select(box, readonly=True)
            typ, data = client.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            uids = []
            for item in data:
                if not isinstance(item, tuple):
                    continue
                uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
                token = token_of(item[1])
                if token is None:
                    raise Violation(f"{key} UID {uid} holds a message nobody sent")
                uids.append(uid)
                if state.uid_token.setdefault((key, uid), token) != token:
                    raise Violation(f"{key} UID {uid} was {state.uid_token[(key, uid)]}, now {token}")
                if token in seen:
                    raise Violation(f"{token} is stored twice: {seen[token]} and {key}")
                seen[token] = key
                if state.flagged.get(token) and b"\\Flagged" not in item[0]:
                    raise Violation(f"{token} in {key} lost its acknowledged \\Flagged")
            highest = max(uids + [state.max_uid.get(key, 0)])
            if uidnext <= highest:
                raise Violation(f"UIDNEXT {uidnext} of {key} does not pass UID {highest} already used")
            state.max_uid[key] = highest
        client.logout()
    with state.lock:
        for token, places in state.where.items():
            place = seen.get(token, GONE)
            if place not in places:
                raise Violation(f"{token} is in {place}, but may only be in {sorted(places)}")
            # What is observed after the restart is now certain.
            state.where[token] = {place}
        for token in state.flagged:
            if state.flagged[token] is None:
                state.flagged[token] = False
    return len(seen)


def check_queue(server, state, sink):
    listing = server.cli("queue", "list")
    with sink.lock:
        received = set(sink.received)
    with state.lock:
        for rcpt, verdict in state.submitted.items():
            queued = rcpt in listing
            if verdict == "acked" and not (queued or rcpt in received):
                raise Violation(f"the acknowledged submission to {rcpt} is neither queued nor delivered")
            if verdict == "refused" and (queued or rcpt in received):
                raise Violation(f"the refused submission to {rcpt} was queued")
        return sum(1 for r in state.submitted if r in listing)


def check_calendar(server, state):
    port = server.ports["http"]
    status, listing = dav(port, "PROPFIND", CALENDAR,
                          b'<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/></prop></propfind>',
                          {"Depth": "1", "Content-Type": "application/xml"})
    if status != 207:
        raise Violation(f"PROPFIND of the calendar: {status}")
    present = {urllib.parse.unquote(h) for h in re.findall(r"<[^>]*href>([^<]*\.ics)</", listing.decode())}
    with state.lock:
        for href in present - set(state.events):
            raise Violation(f"{href} is in the calendar but was never PUT")
        for href, versions in state.events.items():
            if href not in present:
                found = None
            else:
                status, body = dav(port, "GET", href)
                found = int(re.search(rb"SUMMARY:version (\d+)", body).group(1))
            if found not in versions:
                raise Violation(f"{href} holds version {found}, but may only hold {versions}")
            state.events[href] = {found}
    return len(present)


# --- the disk-full phase ----------------------------------------------------------------

def disk_full(binary, work, sink_port):
    mount = os.path.join(work, "small")
    os.makedirs(mount)
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mount]).returncode != 0:
        print("SKIPPED: disk full needs root and tmpfs (mount -t tmpfs)", flush=True)
        return
    try:
        server = Server(binary, work, os.path.join(mount, "data"), sink_port)
        server.cli("setup", "--non-interactive")
        server.cli("domain", "add", "example.test")
        server.cli("user", "add", "alice@example.test", "--password-stdin", stdin=PASSWORD + "\n")
        server.start()
        if dav(server.ports["http"], "MKCALENDAR", CALENDAR)[0] != 201:
            raise Violation("MKCALENDAR on the small disk failed")
        rng = random.Random(7)
        acked, refused = [], []
        client = smtplib.SMTP("127.0.0.1", server.ports["smtp"], timeout=60)
        client.ehlo("load.test")
        # 24 MiB holds a few hundred of these; a bound well past that.
        for n in range(2000):
            token = f"full{n}"
            body = message(token, "alice@example.test", rng) + os.urandom(48 * 1024).hex().encode()
            try:
                client.sendmail("load@remote.test", ["alice@example.test"], body)
                acked.append(token)
            except smtplib.SMTPResponseException as refusal:
                if refusal.smtp_code != 452:
                    raise Violation(f"a full disk answered {refusal.smtp_code} {refusal.smtp_error!r}, not 452")
                refused.append(f"{refusal.smtp_code} {refusal.smtp_error.decode(errors='replace')}")
                if len(refused) >= 5:
                    break
            except smtplib.SMTPServerDisconnected:
                client = smtplib.SMTP("127.0.0.1", server.ports["smtp"], timeout=60)
                client.ehlo("load.test")
        if not refused:
            raise Violation("the disk never filled up")
        imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=60)
        imap.login("alice@example.test", PASSWORD)
        typ, data = imap.select("INBOX")
        stored = int(data[0])
        if stored != len(acked):
            raise Violation(f"{len(acked)} messages acknowledged on the full disk, {stored} stored")
        # What room is left, taken by a file of our own: nothing more fits anywhere.
        # Unbuffered, so that closing it has nothing left to write.
        filler = os.path.join(mount, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            # At most 24 MiB fit: a bound well past that.
            for _ in range(1024):
                os.write(fd, b"\0" * 65536)
        except OSError:
            pass
        finally:
            os.close(fd)
        typ, data = imap.append("INBOX", None, None, message("fullappend", "alice@example.test", rng)
                                + os.urandom(2 << 20).hex().encode())
        if typ != "NO" or b"[OVERQUOTA]" not in data[0]:
            raise Violation(f"APPEND of 4 MiB on a full disk: {typ} {data}")
        event_href = f"{CALENDAR}full.ics"
        # An event with a long description (1 MiB, folded): more than the database's free pages.
        description = "DESCRIPTION:" + "x" * (1 << 20)
        folded = "\r\n ".join(description[i:i + 74] for i in range(0, len(description), 74))
        big_event = event(event_href, 1).replace(b"SUMMARY:", folded.encode() + b"\r\nSUMMARY:")
        status, _ = dav(server.ports["http"], "PUT", event_href, big_event, {"Content-Type": "text/calendar"})
        if status != 507:
            raise Violation(f"a calendar PUT on a full disk answered {status}, not 507")
        os.remove(filler)
        subprocess.run(["mount", "-o", "remount,size=96m", mount], check=True)
        # The store tries its database again at most every few seconds; until then mail is
        # still refused with 452, as a client that retries later would see.
        after = message("fullafter", "alice@example.test", rng)
        for attempt in range(60):
            try:
                client.sendmail("load@remote.test", ["alice@example.test"], after)
                break
            except smtplib.SMTPServerDisconnected:
                client = smtplib.SMTP("127.0.0.1", server.ports["smtp"], timeout=60)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as refusal:
                code = (refusal.smtp_code if isinstance(refusal, smtplib.SMTPDataError)
                        else next(iter(refusal.recipients.values()))[0])
                if code != 452:
                    raise Violation(f"once space returned, mail was answered {code}")
            time.sleep(0.5)
        else:
            raise Violation("mail was still refused 30 s after space returned")
        typ, data = imap.select("INBOX")
        if int(data[0]) != len(acked) + 1:
            raise Violation("mail was not taken again once space returned")
        status, _ = dav(server.ports["http"], "PUT", event_href, event(event_href, 1),
                        {"Content-Type": "text/calendar"})
        if status != 201:
            raise Violation(f"a calendar PUT once space returned answered {status}")
        imap.logout()
        server.stop()
        print(f"disk full: {len(acked)} messages taken on 24 MiB, then {len(refused)} refused "
              f"({'; '.join(sorted(set(refused)))}), an APPEND with NO [OVERQUOTA], a calendar PUT "
              "with 507; every acknowledged message stored; mail and events taken again once the "
              "disk grew", flush=True)
    finally:
        try:
            server.process.kill()
        except Exception:
            pass
        subprocess.run(["umount", "-l", mount])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--no-disk-full", action="store_true")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="postern-torture-")
    sink = Sink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    server = Server(binary, work, os.path.join(work, "data"), sink.server_address[1])
    state = State()
    print(f"seed {args.seed}, {args.rounds} rounds, work in {work}", flush=True)
    try:
        server.cli("setup", "--non-interactive")
        server.cli("domain", "add", "example.test")
        for user in USERS:
            server.cli("user", "add", user, "--password-stdin", stdin=PASSWORD + "\n")
        server.start()
        client = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=20)
        client.login("alice@example.test", PASSWORD)
        for box in ("Work", "Archive"):
            client.create(box)
        client.logout()
        status, _ = dav(server.ports["http"], "MKCALENDAR", CALENDAR)
        if status != 201:
            raise Violation(f"MKCALENDAR: {status}")
        check_mailboxes(server, state)
        for round_number in range(1, args.rounds + 1):
            stop = threading.Event()
            workers = [mx_worker, mx_worker, submission_worker, imap_worker, pop3_worker, dav_worker]
            threads = [threading.Thread(target=run_worker, args=(w, server, state, stop, random.Random(rng.random())))
                       for w in workers]
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(0.2, 2.0))
            started = time.monotonic()
            server.kill()
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            if state.broken:
                raise state.broken[0]
            server.start()
            opened = time.monotonic() - started
            messages = check_mailboxes(server, state)
            queued = check_queue(server, state, sink)
            events = check_calendar(server, state)
            print(f"round {round_number}: restarted in {opened:.2f} s; {messages} messages, {queued} queued, "
                  f"{len(sink.received)} relayed, {events} events; invariants hold", flush=True)
        server.stop()
        with open(server.log) as log:
            panics = [line for line in log if "panicked" in line]
        if panics:
            raise Violation(f"the server panicked: {panics[0].strip()}")
        idle = [kind for kind, count in state.acks.items() if count == 0]
        # A short run may miss a rare kind by chance; ten rounds do not.
        if idle and args.rounds >= 10:
            raise Violation(f"nothing acknowledged for: {', '.join(idle)}")
        print(f"{args.rounds} rounds, every invariant held; acknowledged: "
              + ", ".join(f"{count} {kind}" for kind, count in state.acks.items()), flush=True)
        if not args.no_disk_full:
            disk_full(binary, work, sink.server_address[1])
    except Failure as violation:
        print(f"VIOLATION (seed {args.seed}): {violation}", flush=True)
        try:
            server.process.kill()
        except Exception:
            pass
        with open(server.log) as log:
            sys.stdout.write("".join(log.readlines()[-40:]))
        sys.exit(1)
    finally:
        sink.shutdown()
        if server.process and server.process.poll() is None:
            server.process.kill()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
