#!/usr/bin/env python3
"""Writes the committed fuzz seeds, fuzz/seeds/<target>/, from the testkit conversation
scripts (testkit/scripts/**/*.script) and a few hand-made inputs listed below.

    python3 fuzz/seeds.py          # rewrite fuzz/seeds/ (then review and commit it)

Run it again when the scripts gain interesting mail, addresses or AUTH exchanges. Seeds are
named by content (sha1, as libFuzzer names corpus files), so rewriting is idempotent.
libFuzzer's own growing corpus goes to fuzz/corpus/<target>/ (git-ignored), see README.md.

What each target gets:
  message_summary  every message in the scripts: `@deliver` bodies, SMTP DATA and BDAT
                   bodies, IMAP APPEND literals; plus MIME corner cases below
  summary_stored   the same messages behind 3 octets (damage position and mask)
  address_parse    addresses of @user/@alias/@deliver, MAIL FROM, RCPT TO, LOGIN, and the
                   address fields (From, To, Cc, ...) of those messages
  sasl             every AUTH / AUTHENTICATE response, for each protocol and framing
  config           the configuration in README.md, and variables
  smtp_session, pop3_session, imap_session, managesieve_session
                   each script's client side (C: and R: lines) behind the chunk octet(s)
  http_session     each HTTP script's client side, `Content-Length: ?` filled in, behind
                   the chunk and engine-flags octets
  dav_request      the XML bodies of the HTTP scripts, behind each reader's mode octet
  dav_content      the iCalendar objects and vCards the HTTP scripts PUT, behind the
                   collection's octet
  smtp_command, imap_command
                   the script's command lines
  smtp_client      the server sides of the made-up conversations below, behind the chunk
                   and flags octets
  sieve_script     the scripts of `@sieve` and the ones below, each alone and followed by
                   a NUL and a few header fields
  server_tls       two ClientHellos below, whole, in pieces, cut short and doubled, behind
                   the piece octet
"""

import base64
import hashlib
import pathlib
import re
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "testkit" / "scripts"
OUT = ROOT / "fuzz" / "seeds"

# Inputs the scripts do not hold: MIME corners, address-list oddities, damaged config.
EXTRA_MESSAGES = [
    # Trips mail-parser 0.11's debug assertion (message.rs) in a build with debug assertions:
    # the fuzz profile builds mail-parser without them (see Cargo.toml).
    b"Content-Type: multipart/digest; boundary=b\n\n--b\n\nCon tent-Type: message/rfc822\n\n\n--b--\n",
    b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: in digest\r\n\r\nx\r\n--d--\r\n",
    b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n--a\r\n"
    b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"caf=E9 =\r\nsoft break\r\n--a\r\nContent-Type: multipart/related; boundary=r\r\n\r\n--r\r\n"
    b"Content-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\nPGI+aGk8L2I+\r\n--r--\r\n--a--\r\n",
    b"Subject: =?utf-8?B?w6lsw6h2ZQ==?= =?iso-8859-1?Q?caf=E9?=\r\n"
    b"From: =?utf-8?Q?J=C3=B6rg?= <jorg@example.test>\r\nDate: Mon, 2 Mar 2026 25:61:00 +9999\r\n\r\nbody\r\n",
    b"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nSubject: deep\r\n\r\nx\r\n",
    b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n--x\r\n\r\n--x--\r\n--x--\r\n",
    b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64\r\n",
    b"From: \xff\xfe <a@b>\r\nSubject: 8-bit \xc3\xa9 \x00 nul\r\n\r\n\xff",
    b"no header at all",
    b"\r\n\r\n",
]
EXTRA_ADDRESSES = [
    b"undisclosed-recipients:;",
    b"Group: a@b.test, \"Q\\\"uoted\" <c@d.test>;, e@f.test (Comment (nested))",
    b"<@route.test,@other.test:user@host.test>",
    b"\"\" <@>",
    b"user@[192.0.2.1]",
    b"A\xc3\x8fS@\xc4\xb0.test",  # non-ASCII: lower-casing changes lengths
    "STRASSE@STRAẞE.TEST".encode(),
    b"a+b+c@x",
    b"@,;:<>",
]
EXTRA_CONFIG = [
    b"",
    b"hostname = \"\"\n",
    b"[listen]\nsmtp = \"not a list\"\n",
    b"[limits]\nmax_message_size = -1\nmax_connections = 0\n",
    b"listen = 1\n\x00LISTEN_SMTP=127.0.0.1:25, [::1]:25",
    b"hostname = \"a.example\"\n\x00HOSTNAME=b.example\x00LIMITS_MAX_MESSAGE_SIZE=big\x00SMTP_BARE_LF=reject",
    b"\x00POP3_AUTH_WITHOUT_TLS=yes\x00IMAP_AUTH_WITHOUT_TLS=2\x00LOG=debug",
]

# What a server says to the outbound client (smtp_client): after the chunk octet, the flags
# octet picks the TLS policy, credentials, implicit TLS and how many messages to send, as
# fuzz_targets/smtp_client.rs says.
EXTRA_CLIENT_CONVERSATIONS = [
    # Pipelined, every extension, one message.
    (0x12, b"220 mx ESMTP\r\n250-mx\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n"
     b"250-SMTPUTF8\r\n250-DSN\r\n250 ENHANCEDSTATUSCODES\r\n"
     b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 Go\r\n250 2.0.0 Queued\r\n221 2.0.0 Bye\r\n"),
    # STARTTLS, then AUTH LOGIN, then one command at a time.
    (0x14, b"220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 2.0.0 Go\r\n250-mx\r\n250 AUTH LOGIN\r\n"
     b"334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0 Ok\r\n"
     b"250 Ok\r\n250 Ok\r\n354 Go\r\n250 Ok\r\n221 Bye\r\n"),
    # HELO, two messages on one connection: RSET, refusals, a deferral.
    (0x22, b"220 mx\r\n502 5.5.2 What\r\n250 mx\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n354 Go\r\n"
     b"250 Ok\r\n250 Ok\r\n250 Ok\r\n550 5.1.1 No\r\n451 4.7.1 Later\r\n221 Bye\r\n"),
    # Three messages pipelined over implicit TLS with AUTH PLAIN: nobody accepted, a 354
    # anyway, then a 421.
    (0x3E, b"220 mx\r\n250-mx\r\n250-PIPELINING\r\n250-REQUIRETLS\r\n250-SMTPUTF8\r\n"
     b"250 AUTH PLAIN\r\n235 Ok\r\n250 Ok\r\n550 No\r\n354 Go\r\n554 No\r\n"
     b"250 Ok\r\n250 Ok\r\n250 Ok\r\n421 4.4.2 Closing\r\n"),
    # A refused greeting, and TLS required but not offered.
    (0x10, b"554 5.7.1 No service\r\n221 Bye\r\n"),
    (0x11, b"220-mx\r\n220 multi-line\r\n250 mx\r\n221 Bye\r\n"),
]


# ClientHellos from Python's ssl (OpenSSL 3), for server_tls: one offering TLS 1.3 and
# 1.2, one TLS 1.2 only; made once with ssl.MemoryBIO and kept, as each new one differs.
CLIENT_HELLOS = [
    bytes.fromhex(
    "1603010200010001fc0303845b72ae66eedffb215707358702835f868ec2fe4ca49dd3a86918b298bf98a520"
    "4af70333187ef15dad618812f0560db39f63414d28b3b93eae7d42815a1de0190024130213031301c02cc030"
    "c02bc02fcca9cca8c024c028c023c027009f009e006b006700ff0100018f0000001600140000116d61696c2e"
    "6578616d706c652e74657374000b000403000102000a00160014001d0017001e001900180100010101020103"
    "0104002300000016000000170000000d002a0028040305030603080708080809080a080b0804080508060401"
    "05010601030303010302040205020602002b00050403040303002d00020101003300260024001d0020a01bcb"
    "f3d85d7ada92c583b719a04df1d30bb8cddf7ff80f6891eeaf2a29572a001500dc0000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000"
    ),
    bytes.fromhex(
    "16030100b7010000b30303c21d870c4793e176638bf90c51af7a76ca4394f29f77fcce2ecb619102ad6bfc00"
    "001ec02cc030c02bc02fcca9cca8c024c028c023c027009f009e006b006700ff0100006c0000001600140000"
    "116d61696c2e6578616d706c652e74657374000b000403000102000a000c000a001d0017001e001900180023"
    "00000016000000170000000d002a0028040305030603080708080809080a080b080408050806040105010601"
    "030303010302040205020602"
    ),
]


def unescape(text: str) -> bytes:
    """testkit's escapes: \\r \\n \\t \\\\."""
    out = bytearray()
    chars = iter(text)
    for c in chars:
        if c != "\\":
            out += c.encode()
            continue
        nxt = next(chars, None)
        out += {"r": b"\r", "n": b"\n", "t": b"\t", None: b"\\"}.get(nxt) or nxt.encode()
    return bytes(out)


class Script:
    def __init__(self, path: pathlib.Path):
        self.path = path
        self.protocol = "smtp"
        self.client = []  # (kind, bytes): kind "C" (line, CRLF added) or "R" (raw)
        self.messages = []
        self.addresses = []
        self.sasl = []  # (protocol, mechanism, inline, [responses as sent])
        self.sieve = []
        for raw in path.read_text().splitlines():
            if raw.startswith("@"):
                self.directive(raw[1:].split(" "))
            elif raw.startswith("C:"):
                self.client.append(("C", raw[3:].encode() if raw.startswith("C: ") else b""))
            elif raw.startswith("R: "):
                self.client.append(("R", unescape(raw[3:])))
        self.conversation()

    def directive(self, words):
        if words[0] == "protocol":
            self.protocol = words[1]
        elif words[0] == "deliver" and len(words) > 2:
            self.addresses.append(words[1].encode())
            self.messages.append(unescape(" ".join(words[2:])))
        elif words[0] == "sieve" and len(words) > 2:
            self.sieve.append(unescape(" ".join(words[2:])))
        elif words[0] in ("user", "postmaster") and len(words) > 1:
            self.addresses.append(words[1].encode())
        elif words[0] == "alias":
            self.addresses += [w.encode() for w in words[1:]]

    def conversation(self):
        lines = self.client
        i = 0
        while i < len(lines):
            kind, line = lines[i]
            upper = line.upper()
            i += 1
            if kind != "C":
                continue
            m = re.match(rb"(?i)(?:MAIL FROM|RCPT TO):<([^>]*)>", line)
            if m:
                self.addresses.append(m.group(1))
            m = re.match(rb"(?i)\S+ LOGIN (\S+) ", line)
            if m and self.protocol == "imap":
                self.addresses.append(m.group(1).strip(b'"'))
            if self.protocol == "smtp" and upper == b"DATA":
                body, i = self.data(i)
                self.messages.append(body)
            elif self.protocol == "smtp" and upper.startswith(b"BDAT "):
                pass  # the R: lines carry BDAT and its chunk together
            m = re.search(rb"~?\{(\d+)\+?\}$", line)
            if m and self.protocol == "imap" and b" APPEND " in upper:
                literal, i = self.literal(i, int(m.group(1)))
                self.messages.append(literal)
            m = re.match(rb"(?i)(?:\S+ AUTHENTICATE|AUTH) (PLAIN|LOGIN)(?: (\S+))?$", line)
            if m:
                responses = [m.group(2)] if m.group(2) else []
                want = 2 if m.group(1).upper() == b"LOGIN" else 1
                while len(responses) < want and i < len(lines) and lines[i][0] == "C":
                    responses.append(lines[i][1])
                    i += 1
                self.sasl.append((self.protocol, m.group(1).upper(), m.group(2) is not None, responses))
        for kind, line in lines:
            if kind == "R" and b"\r\n\r\n" in line and not line.startswith(b"BDAT"):
                self.messages.append(line.split(b"\r\n.\r\n")[0] + b"\r\n")

    def data(self, i):
        body = []
        while i < len(self.client):
            kind, line = self.client[i]
            i += 1
            if kind == "R":
                return unescape_raw_body(line), i
            if line == b".":
                break
            body.append(line[1:] if line.startswith(b".") else line)
        return b"".join(l + b"\r\n" for l in body), i

    def literal(self, i, size):
        out = b""
        while i < len(self.client) and len(out) < size:
            out += self.client[i][1] + b"\r\n"
            i += 1
        return out[:size], i

    def client_bytes(self):
        return b"".join(line + b"\r\n" if kind == "C" else line for kind, line in self.client)


def unescape_raw_body(raw: bytes) -> bytes:
    return raw.split(b"\r\n.\r\n")[0] + b"\r\n"


def header_addresses(message: bytes):
    head = re.split(rb"\r?\n\r?\n", message, maxsplit=1)[0]
    head = re.sub(rb"\r?\n[ \t]", b" ", head)
    for line in head.split(b"\n"):
        m = re.match(rb"(?i)(from|to|cc|bcc|sender|reply-to): ?(.*)", line.rstrip(b"\r"))
        if m:
            yield m.group(2)


def sasl_seeds(protocol, mechanism, inline, responses):
    """Inputs of the sasl target (see its header): mode octet, responses separated by LF."""
    proto = {"smtp": 3 if mechanism == b"LOGIN" else 0, "pop3": 1, "imap": 2}[protocol]
    inline_bit = 4 if inline else 0
    yield bytes([proto | inline_bit]) + b"\n".join(responses)
    try:
        decoded = [b"" if r == b"=" else base64.b64decode(r, validate=True) for r in responses]
    except ValueError:
        return
    if all(b"\n" not in d and b"\r" not in d for d in decoded):
        yield bytes([proto | inline_bit | 8]) + b"\n".join(decoded)


def fill_content_lengths(convo: bytes) -> bytes:
    """Gives each `Content-Length: ?` the length of the body after its head, as testkit does
    (the body runs to the next request line or the end)."""
    out = b""
    rest = convo
    placeholder = b"Content-Length: ?\r\n"
    while placeholder in rest:
        at = rest.index(placeholder)
        head_end = rest.index(b"\r\n\r\n", at) + 4
        following = re.search(rb"[A-Z]+ /\S* HTTP/1\.1\r\n", rest[head_end:])
        body_end = head_end + following.start() if following else len(rest)
        length = str(body_end - head_end).encode()
        out += rest[:at] + b"Content-Length: " + length + b"\r\n" + rest[at + len(placeholder):head_end]
        rest = rest[head_end:]
    return out + rest


# Scripts with what the testkit ones lack: relational counts, :matches, text: strings.
EXTRA_SIEVE = [
    b'require ["relational", "comparator-i;ascii-numeric"];\r\n'
    b'if header :count "ge" :comparator "i;ascii-numeric" "received" "3" { discard; }',
    b'if anyof (header :matches "subject" "*money*fast*", not exists "date") { discard; }',
    b'require "fileinto";\nfileinto text: # mailbox\nLists\n..dots\n.\n;',
    b'if size :over 1M { stop; } /* comment */ redirect "a@b.test";',
    b'require ["variables", "fileinto", "imap4flags"];\nif header :matches "subject" "[*] *?" '
    b'{ set :upperfirst :lower "l" "${1}${2}${${1}}"; }\naddflag "f" "${l}";\n'
    b'if string :matches "${l}" "*" { fileinto "${0}"; }',
    b'require ["regex", "variables", "fileinto"];\n'
    b'if header :regex "subject" "^\\\\[([a-z]+)-([0-9]+)\\\\] (.*)$" { fileinto "${1}/${3}"; }',
]


def main():
    seeds = {}

    def add(target, data):
        seeds.setdefault(target, {})[hashlib.sha1(data).hexdigest()] = data

    scripts = [Script(p) for p in sorted(SCRIPTS.rglob("*.script"))]
    messages = [m for s in scripts for m in s.messages] + EXTRA_MESSAGES
    for m in messages:
        add("message_summary", m)
        add("summary_stored", bytes([len(m) & 0xFF, 0, 0x5A]) + m)
        for value in header_addresses(m):
            add("address_parse", value)
    for a in [a for s in scripts for a in s.addresses] + EXTRA_ADDRESSES:
        add("address_parse", a)
    for s in scripts:
        for exchange in s.sasl:
            for seed in sasl_seeds(*exchange):
                add("sasl", seed)
    # A few made-up exchanges: authzid, bad padding, cancel, empty, and a POP3 and an SMTP
    # initial response with a blank after it (each once taken for a malformed one by the
    # target).
    for seed in [b"\x08alice\x00alice\x00pw", b"\x0aother\x00alice\x00pw", b"\x18\x00u\x00p",
                 b"\x00*", b"\x04=", b"\x03dXNlcg\ncGFzcw", b"\x02AGEAYg\nAGEAYg==",
                 b"\x05AGEAYg=\t", b"\x04AGEAYg=\t"]:
        add("sasl", seed)
    for script in [x for s in scripts for x in s.sieve] + EXTRA_SIEVE:
        add("sieve_script", script)
        add("sieve_script", script + b"\x00Subject: [list] hi\nFrom: boss@boss.test\n")
    readme = (ROOT / "README.md").read_text()
    for block in re.findall(r"```toml\n(.*?)```", readme, re.S):
        add("config", block.encode())
    for c in EXTRA_CONFIG:
        add("config", c)
    verbs = {}  # at most two command seeds per verb

    def command(target, line, verb):
        key = (target, verb.upper())
        if verbs.get(key, 0) < 2:
            verbs[key] = verbs.get(key, 0) + 1
            add(target, line)

    for s in scripts:
        convo = s.client_bytes()
        if s.protocol == "smtp":
            add("smtp_session", b"\x40" + convo)
            add("smtp_session", b"\x07" + convo)
            for kind, line in s.client:
                if kind == "C" and re.match(rb"[A-Za-z]{4}", line):
                    command("smtp_command", line, line[:4])
        elif s.protocol == "pop3":
            add("pop3_session", b"\x40" + convo)
        elif s.protocol == "managesieve":
            add("managesieve_session", b"\x40" + convo)
        elif s.protocol == "http":
            convo = fill_content_lengths(convo)
            add("http_session", b"\x40\x00" + convo)
            add("http_session", b"\x07\x05" + convo)
            for kind, line in s.client:
                if kind == "R" and line.lstrip().startswith(b"<"):
                    for mode in range(4):
                        add("dav_request", bytes([mode]) + line)
            for item in re.findall(rb"BEGIN:VCALENDAR.*?END:VCALENDAR\r\n", convo, re.S):
                add("dav_content", b"\x00" + item)
                add("dav_content", b"\x02" + item)
            for item in re.findall(rb"BEGIN:VCARD.*?END:VCARD\r\n", convo, re.S):
                add("dav_content", b"\x01" + item)
        else:
            add("imap_session", b"\x40\x03" + convo)
            for kind, line in s.client:
                m = re.match(rb"[A-Za-z0-9.]+ ((?:UID )?[A-Za-z]+)", line)
                if kind == "C" and m and not line.endswith(b"}"):
                    command("imap_command", line + b"\r\n", m.group(1))

    # The hellos whole, in pieces of 7 and of 200 octets, cut short, and followed by a
    # second record.
    for hello in CLIENT_HELLOS:
        for piece in (0xFF, 7, 200):
            add("server_tls", bytes([piece]) + hello)
        add("server_tls", bytes([0x40]) + hello[: len(hello) // 2])
        add("server_tls", bytes([0xFF]) + hello + hello)

    for flags, conversation in EXTRA_CLIENT_CONVERSATIONS:
        add("smtp_client", bytes([0x40, flags]) + conversation)
        add("smtp_client", bytes([0x07, flags]) + conversation)

    if OUT.exists():
        shutil.rmtree(OUT)
    for target, files in sorted(seeds.items()):
        d = OUT / target
        d.mkdir(parents=True)
        for name, data in files.items():
            (d / name).write_bytes(data)
        print(f"{target}: {len(files)} seeds, {sum(map(len, files.values()))} octets")


if __name__ == "__main__":
    main()
