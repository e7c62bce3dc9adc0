"""Sends mail from outside domains to the MX port with smtplib, signed by dkimpy: a verifier
and signer we did not write. The server's [dns.static] holds each domain's SPF, DMARC and
DKIM records.

Usage: sender_checks.py keygen            prints a new Ed25519 seed and public key (base64)
       sender_checks.py send SEED PORT    sends the three messages and checks the replies
"""

import base64
import smtplib
import sys

import dkim
import nacl.signing

if sys.argv[1] == "keygen":
    key = nacl.signing.SigningKey.generate()
    print(base64.b64encode(bytes(key)).decode(), base64.b64encode(bytes(key.verify_key)).decode())
    sys.exit(0)

seed, port = sys.argv[2], int(sys.argv[3])


def message(author, subject, forged=False):
    fields = [
        f"From: Someone <someone@{author}>",
        "To: bob@example.test",
        f"Subject: {subject}",
        "Date: Sat, 05 Dec 2026 11:40:13 +0000",
        f"Message-ID: <{subject.replace(' ', '-')}@{author}>",
    ]
    body = "Hello Bob,\r\n\r\nsee you.\r\n"
    text = ("\r\n".join(fields) + "\r\n\r\n" + body).encode()
    if author == "sender.example":
        signature = dkim.sign(
            text,
            b"s1",
            author.encode(),
            seed.encode(),
            signature_algorithm=b"ed25519-sha256",
            include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
        )
        text = signature + text
    if forged:
        # Results in the receiving server's name, written by the sender itself.
        text = b"Authentication-Results: mx.test; dkim=pass header.d=bank.example\r\n" + text
    return text


def send(author, subject, forged=False):
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.ehlo("client.sender.example")
        try:
            smtp.sendmail(f"someone@{author}", ["bob@example.test"], message(author, subject, forged))
            return 250, ""
        except smtplib.SMTPDataError as error:
            return error.smtp_code, error.smtp_error.decode()


code, _ = send("sender.example", "signed and listed", forged=True)
assert code == 250, code
print("signed mail from a listed address: accepted")

code, text = send("spoof.example", "spoofed")
assert code == 550, (code, text)
assert "DMARC" in text, text
print(f"spoofed mail under p=reject: {code} {text}")

code, _ = send("doubtful.example", "doubtful")
assert code == 250, code
print("failing mail under p=quarantine: accepted (to Junk)")
