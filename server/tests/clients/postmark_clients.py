"""Postmark's API as Postern serves it (POST /email, /email/batch), driven by postmarker,
a Postmark client from PyPI we did not write, pointed at the server by its base URL: what
a program written against Postmark sees when it switches.

    python3 postmark_clients.py HTTP_PORT IMAP_PORT ALICE_TOKEN
"""

import sys

from inbox import inbox
from postmarker.core import PostmarkClient
from postmarker.exceptions import ClientError

HTTP, IMAP, TOKEN = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
client = PostmarkClient(server_token=TOKEN, root_api_url=f"http://127.0.0.1:{HTTP}/")

sent = client.emails.send(
    From="Alice <alice@example.test>",
    To="bob@example.test",
    Cc="carol@elsewhere.test",
    Subject="Order 1042 shipped",
    TextBody="Your order is on its way.",
    HtmlBody="<p>Your order is on its <b>way</b>.</p>",
    Headers={"X-Order": "1042"},
    Attachments=[("label.txt", "VHJhY2tpbmc6IDEyMzQ=", "text/plain")],
    Tag="shipping",
    TrackOpens=True,
)
assert sent["ErrorCode"] == 0 and sent["Message"] == "OK", sent
assert sent["To"] == "bob@example.test" and sent["MessageID"], sent

batch = client.emails.send_batch(
    {"From": "alice@example.test", "To": "bob@example.test", "Subject": "one", "TextBody": "1"},
    {"From": "alice@example.test", "To": "nobody@example.test", "Subject": "two", "TextBody": "2"},
)
assert [b["ErrorCode"] for b in batch] == [0, 406], batch

try:
    client.emails.send(From="bob@example.test", To="bob@example.test", Subject="x", TextBody="x")
    raise AssertionError("someone else's address must be refused")
except ClientError as e:
    assert e.error_code == 300, e
try:
    PostmarkClient(server_token="pst_wrong", root_api_url=f"http://127.0.0.1:{HTTP}/").emails.send(
        From="alice@example.test", To="bob@example.test", Subject="x", TextBody="x")
    raise AssertionError("a bad token must be refused")
except ClientError as e:
    assert e.error_code == 10, e

messages = inbox(IMAP, "bob@example.test", "bob-secret")
assert sorted(x["Subject"] for x in messages) == ["Order 1042 shipped", "one"]
shipped = next(x for x in messages if x["Subject"] == "Order 1042 shipped")
assert shipped["Message-ID"] == f"<{sent['MessageID']}>", shipped["Message-ID"]
assert shipped["X-Order"] == "1042" and shipped["Cc"] == "carol@elsewhere.test"
[label] = list(shipped.iter_attachments())
assert label.get_filename() == "label.txt" and label.get_payload(decode=True) == b"Tracking: 1234"
print("postmark api ok")
