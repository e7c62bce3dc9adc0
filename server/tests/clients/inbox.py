"""What a user's INBOX holds, read with imaplib after STARTTLS (the test server's
certificate is self-signed) and parsed with the email package: for the client scripts that
check what they sent arrived."""

import email
import email.policy
import imaplib
import ssl

INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE


def inbox(port, user, password):
    """Every message in `user`'s INBOX, in order, as `email.message.EmailMessage`s."""
    m = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    m.starttls(ssl_context=INSECURE)
    m.login(user, password)
    m.select("INBOX")
    typ, data = m.search(None, "ALL")
    messages = []
    for n in data[0].split():
        typ, fetched = m.fetch(n, "(BODY.PEEK[])")
        messages.append(email.message_from_bytes(fetched[0][1], policy=email.policy.default))
    m.logout()
    return messages
