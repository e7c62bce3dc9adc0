"""Greylisting lets a correspondent through: alice writes to two outside domains on the
submission port (smtplib, STARTTLS), then mail from them reaches her on the MX port at
once when it proves where it comes from — SPF passing, or a DKIM signature of the domain
made by dkimpy — and a stranger, or a correspondent's name on unproven mail, is greylisted.

Usage: correspondents.py SEED SUBMISSION_PORT MX_PORT
"""

import smtplib
import ssl
import sys

import dkim

seed, submission, mx = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
with smtplib.SMTP("127.0.0.1", submission) as smtp:
    smtp.starttls(context=context)
    smtp.login("alice@example.test", "alice-secret")
    smtp.sendmail(
        "alice@example.test",
        ["ann@friend.example", "bob@signer.example"],
        b"From: alice@example.test\r\nSubject: lunch?\r\n\r\nShall we?\r\n",
    )
print("alice wrote to friend.example and signer.example")


def message(sender, signed):
    text = (
        f"From: {sender}\r\nTo: alice@example.test\r\nSubject: re: lunch?\r\n"
        f"Message-ID: <{sender}.{signed}@test>\r\n\r\nYes!\r\n"
    ).encode()
    if signed:
        signature = dkim.sign(
            text,
            b"s1",
            b"signer.example",
            seed.encode(),
            signature_algorithm=b"ed25519-sha256",
            include_headers=[b"from", b"to", b"subject", b"message-id"],
        )
        text = signature + text
    return text


def send(sender, signed=False):
    with smtplib.SMTP("127.0.0.1", mx) as smtp:
        smtp.ehlo("client.example")
        try:
            smtp.sendmail(sender, ["alice@example.test"], message(sender, signed))
            return "250"
        except smtplib.SMTPRecipientsRefused as error:
            code, text = error.recipients["alice@example.test"]
            return f"RCPT {code} {text.decode()}"
        except smtplib.SMTPDataError as error:
            return f"DATA {error.smtp_code} {error.smtp_error.decode()}"


def expect(sender, signed, start, why):
    got = send(sender, signed)
    assert got.startswith(start), (sender, signed, got)
    print(f"{why}: {got}")


expect("ann@friend.example", False, "250", "a correspondent whose SPF passes")
expect("bob@signer.example", True, "250", "a correspondent signing with DKIM")
expect("news@mail.signer.example", True, "250", "a subdomain, signed by the correspondent")
expect("bob@signer.example", False, "DATA 451 4.7.1", "a correspondent's name, unsigned")
expect("eve@stranger.example", False, "RCPT 451 4.7.1", "a stranger whose SPF passes")
