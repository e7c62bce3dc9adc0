"""Load and soak: every protocol at once for a fixed time, with latency, throughput and
memory over time.

Usage: soak.py POSTERN_BINARY [--seconds 300] [--senders 4] [--imap 4]

A scratch Postern on loopback (bench/scratch.py) gets, until the time is up:
  - SENDERS MX connections, each sending ten messages (1 to 20 KiB) to alice or carol per
    connection, then QUIT (smtplib);
  - bob submitting to remote recipients through the queue, delivered to a sink here;
  - IMAP churn, IMAP connections: LOGIN, SELECT INBOX, FETCH of the newest 20 envelopes,
    a second of IDLE, LOGOUT; one of them also keeps alice's INBOX under 500 messages
    (STORE \\Deleted, EXPUNGE) so the run reaches a steady state;
  - carol in POP3: STAT, RETR and DELE of everything, QUIT.
Every operation is timed; the server's RSS and CPU time are read every 5 s. The report:
per workload, operations, operations per second, p50/p99/max latency and failures; RSS
over time, and whether it stayed flat after the warm-up (the first fifth of the run): the
last minute's highest RSS at most 25 % above the highest between the warm-up and half-time. Exits 1 on any failed
operation or growing RSS. Loopback only; every loop is bounded by the clock.
"""

import argparse
import imaplib
import os
import poplib
import random
import shutil
import smtplib
import tempfile
import threading
import time

from scratch import PASSWORD, Server, Sink

SAMPLE_EVERY = 5


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = {}
        self.failures = {}

    def timed(self, workload, action):
        start = time.perf_counter()
        try:
            result = action()
        except Exception as error:  # noqa: BLE001 - every failure is counted and shown
            with self.lock:
                self.failures.setdefault(workload, []).append(repr(error))
            return None
        with self.lock:
            self.latencies.setdefault(workload, []).append(time.perf_counter() - start)
        return result


def body(rng, rcpt, sender="load@remote.test"):
    filler = "".join(f"line {i} of a soak message, with some words\r\n"
                     for i in range(rng.randint(20, 400)))
    return f"From: {sender}\r\nTo: {rcpt}\r\nSubject: soak\r\n\r\n{filler}".encode()


def mx(server, deadline, rec, rng):
    while time.monotonic() < deadline:
        client = rec.timed("smtp connect", lambda: smtplib.SMTP("127.0.0.1", server.ports["smtp"], timeout=30))
        if client is None:
            time.sleep(1)
            continue
        for _ in range(10):
            rcpt = rng.choice(("alice@example.test", "carol@example.test"))
            rec.timed("smtp message", lambda: client.sendmail("load@remote.test", [rcpt], body(rng, rcpt)))
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            pass


def submission(server, deadline, rec, rng):
    n = 0
    while time.monotonic() < deadline:
        client = smtplib.SMTP("127.0.0.1", server.ports["submission"], timeout=30)
        client.login("bob@example.test", PASSWORD)
        for _ in range(10):
            n += 1
            rcpt = f"s{n}@remote.test"
            rec.timed("submission", lambda: client.sendmail(
                "bob@example.test", [rcpt], body(rng, rcpt, "bob@example.test")))
        client.quit()


def idle_a_second(client):
    tag = client._new_tag()
    client.send(tag + b" IDLE\r\n")
    if not client.readline().startswith(b"+"):
        raise imaplib.IMAP4.error("IDLE refused")
    time.sleep(1)
    client.send(b"DONE\r\n")
    while True:
        line = client.readline()
        if not line:
            raise imaplib.IMAP4.error("connection closed in IDLE")
        if line.startswith(tag):
            if b" OK" not in line:
                raise imaplib.IMAP4.error(line.decode())
            return


def imap_session(server, trim):
    client = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=30)
    client.login("alice@example.test", PASSWORD)
    typ, data = client.select("INBOX")
    count = int(data[0])
    if count:
        client.fetch(f"{max(1, count - 19)}:*", "(FLAGS ENVELOPE)")
    if trim and count > 500:
        client.store(f"1:{count - 500}", "+FLAGS.SILENT", r"(\Deleted)")
        client.expunge()
    idle_a_second(client)
    client.logout()


def imap(server, deadline, rec, trim):
    while time.monotonic() < deadline:
        rec.timed("imap session", lambda: imap_session(server, trim))


def pop3_session(server):
    client = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=30)
    client.user("carol@example.test")
    client.pass_(PASSWORD)
    count = client.stat()[0]
    for number in range(1, min(count, 200) + 1):
        client.retr(number)
        client.dele(number)
    client.quit()


def pop3(server, deadline, rec):
    while time.monotonic() < deadline:
        rec.timed("pop3 session", lambda: pop3_session(server))
        time.sleep(1)


def sample(pid, deadline, samples):
    ticks = os.sysconf("SC_CLK_TCK")
    start = time.monotonic()
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/status") as f:
            rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / ticks
        samples.append((time.monotonic() - start, rss, cpu))
        time.sleep(SAMPLE_EVERY)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--imap", type=int, default=4)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="postern-soak-")
    sink = Sink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    server = Server(os.path.abspath(args.binary), work, os.path.join(work, "data"), sink.server_address[1])
    server.cli("setup", "--non-interactive")
    server.cli("domain", "add", "example.test")
    for user in ("alice", "bob", "carol"):
        server.cli("user", "add", f"{user}@example.test", "--password-stdin", stdin=PASSWORD + "\n")
    server.start()
    rec = Recorder()
    samples = []
    deadline = time.monotonic() + args.seconds
    rng = random.Random(1)
    threads = [threading.Thread(target=mx, args=(server, deadline, rec, random.Random(rng.random())))
               for _ in range(args.senders)]
    threads.append(threading.Thread(target=submission, args=(server, deadline, rec, random.Random(2))))
    threads += [threading.Thread(target=imap, args=(server, deadline, rec, i == 0)) for i in range(args.imap)]
    threads.append(threading.Thread(target=pop3, args=(server, deadline, rec)))
    threads.append(threading.Thread(target=sample, args=(server.process.pid, deadline, samples)))
    print(f"soak: {args.seconds} s, {args.senders} MX senders, {args.imap} IMAP sessions at a time, "
          "one submitter, one POP3 user", flush=True)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    server.stop()
    sink.shutdown()

    print(f"{'workload':<16} {'ops':>8} {'ops/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'failed':>7}")
    for workload in sorted(set(rec.latencies) | set(rec.failures)):
        values = rec.latencies.get(workload, [0.0])
        failed = len(rec.failures.get(workload, []))
        print(f"{workload:<16} {len(values):>8} {len(values) / args.seconds:>8.1f} "
              f"{percentile(values, 0.5) * 1000:>8.1f} {percentile(values, 0.99) * 1000:>8.1f} "
              f"{max(values) * 1000:>8.1f} {failed:>7}")
    print("RSS over time (MB), one reading a minute, and CPU seconds used:")
    for at, rss, cpu in samples[::max(1, 60 // SAMPLE_EVERY)]:
        print(f"  {at:6.0f} s  {rss / 1024:7.1f} MB  cpu {cpu:7.1f} s")
    bad = False
    for workload, errors in rec.failures.items():
        print(f"FAILED {workload}: {len(errors)}, first: {errors[0]}")
        bad = True
    settled = [rss for at, rss, _ in samples if args.seconds / 5 <= at < args.seconds / 2]
    last = [rss for at, rss, _ in samples if at >= args.seconds - 60]
    if settled and last:
        reference, end = max(settled), max(last)
        flat = end <= 1.25 * reference
        print(f"RSS from warm-up to half-time up to {reference / 1024:.1f} MB; in the last minute up to "
              f"{end / 1024:.1f} MB: {'flat' if flat else 'GROWING'}")
        bad |= not flat
    print(f"relayed to the sink: {len(sink.received)} recipients")
    shutil.rmtree(work, ignore_errors=True)
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
