"""The inbound mail API (/api/v1/me/messages) driven with Python's urllib: mail sent with
smtplib is listed, read parsed and raw, and deleted, and IMAP (imaplib) sees the same.

    python3 read_clients.py MX_PORT HTTP_PORT IMAP_PORT ALICE_TOKEN
"""

import email
import email.policy
import json
import smtplib
import sys
import urllib.error
import urllib.request
from email.message import EmailMessage

from inbox import inbox

MX, HTTP, IMAP, TOKEN = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
BASE = f"http://127.0.0.1:{HTTP}/api/v1/me/messages"


def call(path, method="GET"):
    request = urllib.request.Request(BASE + path, method=method,
                                     headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
            kind = response.headers.get("Content-Type", "")
            return response.status, (json.loads(body) if "json" in kind else body)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


with smtplib.SMTP("127.0.0.1", MX) as s:
    for n in (1, 2):
        s.sendmail("news@lists.test", ["alice@example.test"],
                   f"From: News <news@lists.test>\r\nTo: alice@example.test\r\nSubject: issue {n}\r\n"
                   f"Message-ID: <issue{n}@lists.test>\r\n\r\nissue {n}\r\n")
    order = EmailMessage()
    order["From"] = "Shop <orders@shop.test>"
    order["To"] = "alice@example.test"
    order["Subject"] = "Your order \u2713"
    order.set_content("Thanks for your order.")
    order.add_alternative("<p>Thanks for your <b>order</b>.</p>", subtype="html")
    order.add_attachment(b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="invoice.pdf")
    s.send_message(order)

status, page = call("?limit=2")
assert status == 200 and page["mailbox"] == "INBOX", page
assert [m["subject"] for m in page["messages"]] == ["Your order \u2713", "issue 2"], page
assert page["messages"][0]["from"] == [{"name": "Shop", "address": "orders@shop.test"}], page
status, rest = call(f"?limit=2&before={page['next_before']}")
assert [m["subject"] for m in rest["messages"]] == ["issue 1"] and rest["next_before"] is None, rest

uid = page["messages"][0]["uid"]
status, order = call(f"/{uid}")
assert status == 200 and order["subject"] == "Your order \u2713", order
assert order["text"].strip() == "Thanks for your order." and "<b>order</b>" in order["html"], order
assert order["attachments"] == [{"filename": "invoice.pdf", "content_type": "application/pdf", "size": 16}], order
status, raw = call(f"/{uid}/raw")
parsed = email.message_from_bytes(raw, policy=email.policy.default)
assert status == 200 and parsed["Subject"] == "Your order \u2713", raw[:200]

issue1 = rest["messages"][0]["uid"]
assert call(f"/{issue1}", method="DELETE")[0] == 204
assert call(f"/{issue1}")[0] == 404
assert call("?mailbox=Nowhere")[0] == 404
assert sorted(m["Subject"] for m in inbox(IMAP, "alice@example.test", "alice-secret")) == ["Your order \u2713", "issue 2"]
print("read api ok")
