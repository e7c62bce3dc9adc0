"""A Postern of its own for the load and crash scripts (torture.py, soak.py): a scratch
configuration on loopback (every port chosen by the system, read from the banner), its
management commands, and remote.test's exchanger, a small SMTP sink run in-process.
"""

import os
import queue
import re
import signal
import socketserver
import subprocess
import threading
import time

PASSWORD = "torture-secret-42"


class Failure(Exception):
    """The server did not do what it must; the message says what."""


class Sink(socketserver.ThreadingTCPServer):
    """A minimal SMTP server, remote.test's exchanger in `[dns.static]`: records what it took, defers every
    recipient whose number is a multiple of three."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), SinkHandler)
        self.received = set()
        self.lock = threading.Lock()

    def handle_error(self, request, client_address):
        # A connection cut by the kill: what it carried was not taken, nothing to report.
        pass


class SinkHandler(socketserver.StreamRequestHandler):
    timeout = 30

    def handle(self):
        self.wfile.write(b"220 sink.test ESMTP\r\n")
        rcpts = []
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250-sink.test\r\n250 8BITMIME\r\n")
            elif verb == b"MAIL":
                rcpts = []
                self.wfile.write(b"250 ok\r\n")
            elif verb == b"RCPT":
                address = line.split(b"<", 1)[1].split(b">", 1)[0].decode()
                number = int(re.sub(r"\D", "", address.split("@")[0]) or "0")
                if number % 3 == 0:
                    self.wfile.write(b"451 4.3.0 try later\r\n")
                else:
                    rcpts.append(address)
                    self.wfile.write(b"250 ok\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 go\r\n")
                while True:
                    data = self.rfile.readline(1 << 20)
                    if not data or data == b".\r\n":
                        break
                if not data:
                    return
                with self.server.lock:
                    self.server.received.update(rcpts)
                self.wfile.write(b"250 taken\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


class Server:
    def __init__(self, binary, work, data_dir, sink_port):
        self.binary = binary
        self.config = os.path.join(work, "postern.toml")
        self.log = os.path.join(work, "postern.log")
        with open(self.config, "w") as f:
            f.write(f'hostname = "mx.test"\ndata_dir = "{data_dir}"\n'
                    "[dns]\nnameservers = []\n[dns.static]\n"
                    '"remote.test" = { mx = ["mx.remote.test"] }\n'
                    '"mx.remote.test" = { a = ["127.0.0.1"] }\n'
                    "[greylisting]\nenabled = false\n"
                    "[security]\ncheck_senders = false\nmin_password_length = 6\n"
                    "[limits]\nmessages_per_hour = 0\nrecipients_per_hour = 0\n"
                    "[smtp]\nauth_without_tls = true\n[pop3]\nauth_without_tls = true\n"
                    "[imap]\nauth_without_tls = true\n"
                    f'[delivery]\nremote_port = {sink_port}\n'
                    "[listen]\n" + "".join(
                        f'{s} = ["127.0.0.1:0"]\n' for s in ("smtp", "submission", "pop3", "imap", "http"))
                    + "".join(f"{s} = []\n" for s in ("submissions", "pop3s", "imaps", "https")))
        self.process = None
        self.ports = {}

    def cli(self, *args, stdin=None):
        done = subprocess.run([self.binary, "--config", self.config, *args], input=stdin,
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise Failure(f"postern {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self):
        log = open(self.log, "a")
        self.process = subprocess.Popen([self.binary, "--config", self.config, "serve"],
                                        stdout=subprocess.PIPE, stderr=log, text=True)
        log.close()
        # Standard output (the banner; logs go to the log file) read by a thread of its own,
        # so that a server that neither prints nor exits cannot hang the caller, and so that
        # the pipe never fills.
        banner = queue.Queue()

        def read(stdout):
            for line in stdout:
                banner.put(line)
            banner.put(None)

        threading.Thread(target=read, args=(self.process.stdout,), daemon=True).start()
        self.ports = {}
        deadline = time.monotonic() + 120
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = banner.get(timeout=left)
            except queue.Empty:
                break
            if line is None or line.startswith("Next,"):
                break
            words = line.split()
            if len(words) >= 2 and re.fullmatch(r"127\.0\.0\.1:\d+", words[1]):
                self.ports[words[0]] = int(words[1].rsplit(":", 1)[1])
        if "smtp" not in self.ports:
            raise Failure("the server did not start within 120 s (its database did not open?)")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
