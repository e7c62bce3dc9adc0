"""The web side with parsers we did not write: Prometheus's own parser of /metrics (the
OpenMetrics text format), counters checked before and after real SMTP and IMAP traffic
(smtplib, imaplib); Thunderbird's autoconfig and Outlook's autodiscover read with
xml.etree; Apple's profile with plistlib; /health/detailed with json.

Arguments: the ports of http, smtp, imaps, submissions, https.
"""

import base64
import imaplib
import json
import plistlib
import smtplib
import ssl
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

from prometheus_client.openmetrics.parser import text_string_to_metric_families

http, smtp, imaps, submissions, https = (int(p) for p in sys.argv[1:6])
BASE = f"http://127.0.0.1:{http}"


def get(path, headers=None, data=None):
    request = urllib.request.Request(BASE + path, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.headers, response.read()


def samples():
    """Every sample of /metrics, as {(name, sorted labels): value}."""
    status, headers, body = get("/metrics")
    assert status == 200, status
    assert headers["Content-Type"].startswith("application/openmetrics-text"), headers
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found, name, **labels):
    return found.get((name, tuple(sorted(labels.items()))), 0)


before = samples()
assert value(before, "process_resident_memory_bytes") > 0, "process memory is reported"
assert value(before, "postern_active_connections", protocol="http") >= 1

# One message in, one unknown recipient refused, one failed IMAP login.
with smtplib.SMTP("127.0.0.1", smtp, timeout=30) as client:
    client.ehlo("client.test")
    code, _ = client.docmd("MAIL FROM:<sender@client.test>")
    assert code == 250, code
    code, _ = client.docmd("RCPT TO:<nobody@example.test>")
    assert code == 550, code
    client.rset()
    client.sendmail("sender@client.test", ["alice@example.test"], b"Subject: hi\r\n\r\nhello\r\n")
context = ssl._create_unverified_context()
imap = imaplib.IMAP4_SSL("127.0.0.1", imaps, ssl_context=context, timeout=30)
try:
    imap.login("alice@example.test", "wrong")
    raise AssertionError("a wrong password was accepted")
except imaplib.IMAP4.error:
    pass
imap.logout()

after = samples()
def moved(name, **labels):
    return value(after, name, **labels) - value(before, name, **labels)

assert moved("postern_messages_received_total") == 1, moved("postern_messages_received_total")
assert moved("postern_messages_rejected_total", reason="unknown_recipient") == 1
assert moved("postern_auth_attempts_total", protocol="imap", result="failure") == 1
assert value(after, "postern_queue_depth") == 0
assert value(after, "postern_disk_available_bytes") > 0
print("metrics ok")

# Thunderbird: the servers it would set up for alice.
status, headers, body = get("/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40example.test")
assert status == 200 and headers["Content-Type"].startswith("application/xml")
config = ET.fromstring(body)
assert config.tag == "clientConfig" and config.get("version") == "1.1"
provider = config.find("emailProvider")
assert provider.findtext("domain") == "example.test"
incoming = provider.findall("incomingServer")
first = incoming[0]
assert (first.get("type"), first.findtext("socketType"), int(first.findtext("port"))) == ("imap", "SSL", imaps)
outgoing = provider.find("outgoingServer")
assert (outgoing.findtext("socketType"), int(outgoing.findtext("port"))) == ("SSL", submissions)
assert outgoing.findtext("username") == "%EMAILADDRESS%"
assert config.find("calendar").findtext("serverURL") == f"https://mx.test:{https}/dav/"
try:
    get("/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=bob%40elsewhere.test")
    raise AssertionError("another domain was described")
except urllib.error.HTTPError as error:
    assert error.code == 404
print("autoconfig ok")

# Outlook.
request = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">'
    "<Request><EMailAddress>alice@example.test</EMailAddress>"
    "<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>"
    "</Request></Autodiscover>"
)
status, _, body = get("/autodiscover/autodiscover.xml", {"Content-Type": "text/xml"}, request.encode())
ns = {"a": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"}
protocols = ET.fromstring(body).findall("a:Response/a:Account/a:Protocol", ns)
kinds = {p.findtext("a:Type", namespaces=ns): p for p in protocols}
assert int(kinds["IMAP"].findtext("a:Port", namespaces=ns)) == imaps
assert kinds["SMTP"].findtext("a:LoginName", namespaces=ns) == "alice@example.test"
print("autodiscover ok")

# Apple: a profile alice downloads with her password.
auth = base64.b64encode(b"alice@example.test:alice-secret").decode()
status, headers, body = get("/mobileconfig", {"Authorization": "Basic " + auth})
assert headers["Content-Type"] == "application/x-apple-aspen-config"
profile = plistlib.loads(body)
assert profile["PayloadType"] == "Configuration"
payloads = {p["PayloadType"]: p for p in profile["PayloadContent"]}
mail = payloads["com.apple.mail.managed"]
assert mail["IncomingMailServerPortNumber"] == imaps and mail["IncomingMailServerUseSSL"] is True
assert payloads["com.apple.caldav.account"]["CalDAVPort"] == https
uuids = [p["PayloadUUID"] for p in profile["PayloadContent"]] + [profile["PayloadUUID"]]
assert len(set(uuids)) == len(uuids), "each payload has its own UUID"
print("mobileconfig ok")

# MTA-STS, as a sender fetches it (RFC 8461 §3.3), with its CRLF lines.
status, headers, body = get("/.well-known/mta-sts.txt", {"Host": "mta-sts.example.test"})
assert headers["Content-Type"] == "text/plain"
policy = dict(line.split(": ", 1) for line in body.decode().split("\r\n") if line)
assert policy == {"version": "STSv1", "mode": "testing", "mx": "mx.test", "max_age": "604800"}, policy
print("mta-sts ok")

status, _, body = get("/health/detailed")
health = json.loads(body)
assert health["status"] == "ok" and health["storage"]["ok"] is True, health
names = {listener["name"] for listener in health["listeners"]}
assert {"smtp", "imaps", "https", "http"} <= names, names
assert health["certificate"]["days_left"] > 0
assert 0 < health["storage"]["disk"]["available_bytes"] <= health["storage"]["disk"]["total_bytes"], health
print("health ok")
print("web clients ok")
