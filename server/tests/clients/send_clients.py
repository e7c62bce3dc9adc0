"""The HTTP send API (POST /api/v1/send and /api/v1/send/batch) driven with Python's
urllib, the message read back with imaplib and the email package: what a program sending
transactional mail through Postern sees.

    python3 send_clients.py HTTP_PORT IMAP_PORT ALICE_TOKEN ADMIN_TOKEN
"""

import base64
import json
import sys
import urllib.error
import urllib.request

from inbox import inbox

HTTP, IMAP = int(sys.argv[1]), int(sys.argv[2])
ALICE, ADMIN = sys.argv[3], sys.argv[4]
BASE = f"http://127.0.0.1:{HTTP}/api/v1/send"
CSV = b"quarter,total\nq3,42\n"


def post(body, token=ALICE, path="", method="POST"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        text = e.read()
        return e.code, (json.loads(text) if text else None)


status, answer = post({
    "from": "Alice Example <alice@example.test>",
    "to": ["Bob <bob@example.test>"],
    "cc": "carol@elsewhere.test",
    "bcc": ["alice@example.test"],
    "reply_to": "replies@example.test",
    "subject": "Quarterly report \u2713",
    "text": "The numbers are in.\n",
    "html": "<p>The numbers are <b>in</b>.</p>",
    "headers": {"X-Campaign": "q3"},
    "attachments": [{"filename": "report.csv", "content_type": "text/csv",
                     "content": base64.b64encode(CSV).decode()}],
})
assert status == 202, (status, answer)
assert answer["message_id"].startswith("<") and answer["recipients"] == [
    "bob@example.test", "carol@elsewhere.test", "alice@example.test"], answer

[message] = inbox(IMAP, "bob@example.test", "bob-secret")
assert message["Message-ID"] == answer["message_id"], message["Message-ID"]
assert message["Subject"] == "Quarterly report \u2713", message["Subject"]
assert message["From"].addresses[0].addr_spec == "alice@example.test"
assert message["From"].addresses[0].display_name == "Alice Example"
assert message["Cc"] == "carol@elsewhere.test" and message["Bcc"] is None
assert message["Reply-To"] == "replies@example.test" and message["X-Campaign"] == "q3"
assert "with HTTP" in message["Received"], message["Received"]
assert message.get_body(("plain",)).get_content().strip() == "The numbers are in.", message.get_body(("plain",)).get_content()
assert "<b>in</b>" in message.get_body(("html",)).get_content()
[attachment] = list(message.iter_attachments())
assert attachment.get_filename() == "report.csv" and attachment.get_content_type() == "text/csv"
assert attachment.get_payload(decode=True) == CSV
# Bcc reached its recipient too.
assert any(m["Message-ID"] == answer["message_id"] for m in inbox(IMAP, "alice@example.test", "alice-secret"))

# Refusals: each says what is wrong, and nothing is sent.
status, answer = post({"from": "bob@example.test", "to": "bob@example.test", "text": "x"})
assert status == 422 and "not owned" in answer["error"], (status, answer)
status, answer = post({"from": "alice@example.test", "to": ["nobody@example.test"], "text": "x"})
assert status == 422 and answer["recipient"] == "nobody@example.test", (status, answer)
status, answer = post({"from": "alice@example.test", "to": "bob@example.test", "text": "x",
                       "send_at": "2030-01-01T00:00:00Z"})
assert status == 422 and "at most a year" in answer["error"], (status, answer)
status, answer = post({"from": "alice@example.test", "to": "bob@example.test", "text": "x",
                       "send_at": "next tuesday"})
assert status == 400 and "send_at" in answer["error"], (status, answer)
for bad, says in [
    ({"to": "bob@example.test", "text": "x"}, "from"),
    ({"from": "alice@example.test", "to": "bob@example.test"}, "text"),
    ({"from": "alice@example.test", "to": "not an address", "text": "x"}, "to"),
    ({"from": "alice@example.test", "to": "bob@example.test", "text": "x",
      "headers": {"Subject": "again"}}, "Subject"),
    ({"from": "alice@example.test", "to": "bob@example.test", "text": "x",
      "subject": "two\r\nBcc: x@y.test"}, "subject"),
    ({"from": "alice@example.test", "to": "bob@example.test", "text": "x",
      "attachments": [{"filename": "a", "content": "!!"}]}, "base64"),
]:
    status, answer = post(bad)
    assert status == 400 and says in answer["error"], (bad, status, answer)
status, answer = post(b"not json")
assert status == 400, (status, answer)
status, answer = post({"from": "alice@example.test", "to": "bob@example.test", "text": "x"}, token=ADMIN)
assert status == 403, (status, answer)
status, answer = post({"from": "alice@example.test", "to": "bob@example.test", "text": "x"}, token=None)
assert status == 401, (status, answer)
status, answer = post(None or b"", method="GET")
assert status == 405, (status, answer)

# A batch: each message answered on its own.
status, answers = post([
    {"from": "alice@example.test", "to": "bob@example.test", "subject": "one", "text": "1"},
    {"from": "alice@example.test", "to": "nobody@example.test", "subject": "two", "text": "2"},
    "not a message",
], path="/batch")
assert status == 200 and [a["status"] for a in answers] == [202, 422, 400], answers
subjects = sorted(m["Subject"] for m in inbox(IMAP, "bob@example.test", "bob-secret"))
assert subjects == ["Quarterly report \u2713", "one"], subjects
print("send api ok")
