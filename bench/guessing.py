"""Password guessing from one address: CONNECTIONS parallel IMAP connections on loopback
keep sending LOGIN with wrong passwords for SECONDS, reconnecting when the server closes
one. Prints how many guesses the server answered as failed (each one a real check),
how many it refused for now without checking ([UNAVAILABLE]), and the rate of real checks.

Usage: guessing.py PORT [CONNECTIONS] [SECONDS]
"""

import socket
import sys
import threading
import time

port = int(sys.argv[1])
connections = int(sys.argv[2]) if len(sys.argv) > 2 else 100
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 20.0
deadline = time.monotonic() + seconds
counts = {"failed": 0, "unavailable": 0, "other": 0}
lock = threading.Lock()


def count(kind):
    with lock:
        counts[kind] += 1


def guesser(n):
    guess = 0
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
                reader = s.makefile("rb")
                reader.readline()  # greeting
                while time.monotonic() < deadline:
                    guess += 1
                    s.sendall(b"a LOGIN victim@example.test guess-%d-%d\r\n" % (n, guess))
                    line = reader.readline()
                    while line.startswith(b"*"):
                        line = reader.readline()
                    if not line:
                        break
                    if b"AUTHENTICATIONFAILED" in line:
                        count("failed")
                    elif b"UNAVAILABLE" in line:
                        count("unavailable")
                    else:
                        count("other")
        except OSError:
            time.sleep(0.1)


threads = [threading.Thread(target=guesser, args=(n,)) for n in range(connections)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(
    f"{connections} connections, {seconds:.0f} s: {counts['failed']} guesses checked "
    f"({counts['failed'] / seconds:.2f}/s), {counts['unavailable']} refused for now, "
    f"{counts['other']} other answers"
)
