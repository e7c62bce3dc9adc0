"""One-time codes (RFC 6238) computed as an authenticator app does, with the standard
library only: for the tests that set them up on a user's page."""

import base64
import hashlib
import hmac
import struct


def code(key, counter):
    """The six-digit code of the base32 `key` for the 30-second step `counter`."""
    secret = base64.b32decode(key + "=" * (-len(key) % 8))
    digest = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 15
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1000000:06d}"
