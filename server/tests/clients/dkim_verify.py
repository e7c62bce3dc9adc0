"""Checks every DKIM signature of a message with dkimpy, a verifier we did not write, the
public keys taken from the zone file lines `postern dkim dns` printed instead of from DNS.

Usage: dkim_verify.py MESSAGE_FILE RECORDS_FILE
Prints one line per signature; exits non-zero unless there is one and each verifies.
"""

import re
import sys

import dkim

message = open(sys.argv[1], "rb").read()
records = {}
for line in open(sys.argv[2]):
    if line.startswith(";") or " IN TXT " not in line:
        continue
    name, _, strings = line.partition(" IN TXT ")
    # A verifier joins a record's strings (RFC 6376 3.6.2.2).
    records[name.strip()] = "".join(re.findall(r'"([^"]*)"', strings)).encode()


def dnsfunc(name, timeout=5):
    return records.get(name.decode(), b"")


verifier = dkim.DKIM(message)
count = sum(1 for name, _ in verifier.headers if name.lower() == b"dkim-signature")
if count == 0:
    sys.exit("no DKIM-Signature")
for index in range(count):
    if not dkim.DKIM(message).verify(idx=index, dnsfunc=dnsfunc):
        sys.exit(f"signature {index} does not verify")
    print(f"dkimpy: signature {index} verifies")
