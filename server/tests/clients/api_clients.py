"""The JSON API against its OpenAPI description (docs/openapi.json): the document is
checked with openapi-spec-validator, and every response of a run through every operation
is checked with jsonschema against what the document says for its path, method and
status. urllib is the client.

Arguments: the http port, the document's path, an admin token, alice's token.
"""

import json
import re
import sys
import time
import urllib.error
import urllib.request

import jsonschema
from openapi_spec_validator import validate as validate_spec

port, spec_path, admin, alice = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
spec = json.load(open(spec_path))
validate_spec(spec)
schemas = spec["components"]["schemas"]


def resolved(schema):
    """`schema` with each $ref to a component replaced by the component (ours have no cycles)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return resolved(schemas[schema["$ref"].rsplit("/", 1)[1]])
        return {key: resolved(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [resolved(item) for item in schema]
    return schema


def operation(path, method):
    """The document's path template matching `path`, and its operation for `method`."""
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    raise AssertionError(f"{method} {path} is not in the document")


exercised = set()


def call(method, path, body=None, token=admin, query=""):
    template, documented = operation(path, method)
    exercised.add((template, method.lower()))
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1{path}{query}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    responses = documented["responses"]
    assert str(status) in responses, f"{method} {path}: {status} is not documented: {raw!r}"
    content = responses[str(status)].get("content", {})
    if "message/rfc822" in content:
        return status, raw
    media = content.get("application/json")
    if media is None:
        assert raw == b"", f"{method} {path}: {status} has a body: {raw!r}"
        return status, None
    value = json.loads(raw)
    jsonschema.validate(value, resolved(media["schema"]))
    return status, value


status, _ = call("POST", "/domains", {"name": "api.test"})
assert status == 201
assert call("POST", "/domains", {"name": "api.test"})[0] == 409
assert call("POST", "/domains", {"nam": "x"})[0] == 400
status, listed = call("GET", "/domains")
assert {"name": "api.test"} in listed["domains"], listed

status, user = call("POST", "/users", {"email": "Carol@api.test", "password": "carol-secret", "quota": 1000})
assert status == 201 and user == {"email": "carol@api.test", "quota": 1000, "used": 0, "disabled": False, "admin": False}, user
assert call("POST", "/users", {"email": "dave@nowhere.test", "password": "dave-secret"})[0] == 422
status, user = call("PATCH", "/users/carol@api.test", {"quota": None, "admin": True, "disabled": True})
assert user["quota"] is None and user["admin"] and user["disabled"], user
assert call("PATCH", "/users/carol@api.test", {"quota": "lots"})[0] == 400
assert call("GET", "/users/carol@api.test")[1]["disabled"] is True
assert call("GET", "/users/nobody@api.test")[0] == 404
assert "carol@api.test" in [u["email"] for u in call("GET", "/users", query="?domain=api.test")[1]["users"]]

status, alias = call("POST", "/aliases", {"source": "info@api.test", "target": "carol@api.test"})
assert status == 201 and alias == {"source": "info@api.test", "target": "carol@api.test"}
assert alias in call("GET", "/aliases")[1]["aliases"]
assert call("DELETE", "/aliases", query="?source=info@api.test&target=carol@api.test")[0] == 204
assert call("DELETE", "/aliases", query="?source=info@api.test&target=carol@api.test")[0] == 404

status, made = call("POST", "/dkim", {"domain": "api.test", "algorithm": "ed25519", "selector": "s1"})
assert status == 201 and made["keys"][0]["record"]["name"] == "s1._domainkey.api.test.", made
assert made["keys"][0]["record"]["value"].startswith("v=DKIM1; k=ed25519; p="), made
assert call("POST", "/dkim", {"domain": "api.test", "algorithm": "ed25519", "selector": "s1"})[0] == 422
assert call("POST", "/dkim", {"domain": "nowhere.test"})[0] == 422
assert [k["selector"] for k in call("GET", "/dkim", query="?domain=api.test")[1]["keys"]] == ["s1"]
assert call("DELETE", "/dkim/api.test/s1")[0] == 204
assert call("DELETE", "/dkim/api.test/s1")[0] == 404

status, dns = call("GET", "/domains/api.test/dns")
kinds = {(r["name"], r["type"]) for r in dns["records"]}
assert ("api.test.", "MX") in kinds and ("_dmarc.api.test.", "TXT") in kinds, kinds
assert call("GET", "/domains/nowhere.test/dns")[0] == 422

assert call("GET", "/queue")[1] == {"messages": []}
assert call("POST", "/queue/retry")[1] == {"due": 0}
assert call("GET", "/queue/abc")[0] == 404
assert call("POST", "/queue/abc/retry")[0] == 404
assert call("DELETE", "/queue/abc")[0] == 404

status, ban = call("POST", "/bans", {"network": "192.0.2.7", "seconds": 600, "reason": "test"})
assert status == 201 and ban["network"] == "192.0.2.7/32" and ban["until"], ban
assert ban in call("GET", "/bans")[1]["bans"]
assert call("POST", "/bans", {"network": "not a network"})[0] == 422
assert call("DELETE", "/bans", query="?network=192.0.2.7")[0] == 204
assert call("DELETE", "/bans", query="?network=192.0.2.7")[0] == 404

entries = call("GET", "/audit", query="?since=0")[1]["entries"]
assert any(e["actor"].startswith("api:") and e["detail"] == "user add carol@api.test" for e in entries), entries

# A user's token: their own account only.
status, me = call("GET", "/me", token=alice)
assert status == 200 and me["email"] == "alice@example.test", me
assert call("PUT", "/me/password", {"password": "alice-new-secret"}, token=alice)[0] == 204
assert call("GET", "/users", token=alice)[0] == 403

# Her Sieve scripts: checked when stored, one active at a time.
filters = 'require "fileinto";\nif header :contains "subject" "[news]" { fileinto "News"; }\n'
assert call("PUT", "/me/sieve/filters", {"source": filters, "active": True}, token=alice)[0] == 204
status, refused = call("PUT", "/me/sieve/broken", {"source": "fileinto;"}, token=alice)
assert status == 422 and "line 1" in refused["error"], refused
assert call("PUT", "/me/sieve/broken", {}, token=alice)[0] == 400
status, listed = call("GET", "/me/sieve", token=alice)
assert listed["scripts"] == [{"name": "filters", "active": True, "size": len(filters)}], listed
status, script = call("GET", "/me/sieve/filters", token=alice)
assert script == {"name": "filters", "active": True, "source": filters}, script
assert call("PUT", "/me/sieve/filters", {"active": False}, token=alice)[0] == 204
assert call("GET", "/me/sieve/filters", token=alice)[1]["active"] is False
assert call("PUT", "/me/sieve/missing", {"active": True}, token=alice)[0] == 404
assert call("DELETE", "/me/sieve/filters", token=alice)[0] == 204
assert call("DELETE", "/me/sieve/filters", token=alice)[0] == 404
assert call("GET", "/me/sieve/filters", token=alice)[0] == 404
message = {"from": "alice@example.test", "to": "bob@example.test", "subject": "api", "text": "hi"}
status, sent = call("POST", "/send", message, token=alice)
assert status == 202 and sent["recipients"] == ["bob@example.test"], sent
assert call("POST", "/send", {"from": "alice@example.test", "to": "bob@example.test"}, token=alice)[0] == 400
status, refused = call("POST", "/send", dict(message, to="nobody@example.test"), token=alice)
assert status == 422 and refused["recipient"] == "nobody@example.test", refused
assert call("POST", "/send", message)[0] == 403
status, results = call("POST", "/send/batch", [message, {"from": "alice@example.test"}], token=alice)
assert status == 200 and [r["status"] for r in results] == [202, 400], results
assert call("POST", "/send/batch", message, token=alice)[0] == 400
status, made = call("POST", "/me/aliases", {"note": "the shoe shop"}, token=alice)
assert status == 201 and made["enabled"] and made["last_used"] is None, made
status, listed = call("GET", "/me/aliases", token=alice)
assert status == 200 and [a["address"] for a in listed["aliases"]] == [made["address"]], listed
status, off = call("PATCH", "/me/aliases/" + made["address"], {"enabled": False}, token=alice)
assert status == 200 and off["enabled"] is False, off
assert call("PATCH", "/me/aliases/nobody@example.test", {"enabled": True}, token=alice)[0] == 404
assert call("PATCH", "/me/aliases/" + made["address"], {}, token=alice)[0] == 400
assert call("POST", "/me/aliases", {"note": "two\nlines"}, token=alice)[0] == 422
status, added = call("POST", "/me/vips", {"address": "Boss@Boss.test"}, token=alice)
assert status == 201 and added == {"address": "boss@boss.test"}, added
assert call("GET", "/me/vips", token=alice)[1] == {"senders": ["boss@boss.test"]}
assert call("POST", "/me/vips", {"address": "not an address"}, token=alice)[0] == 422
assert call("DELETE", "/me/vips/boss@boss.test", token=alice)[0] == 204
assert call("DELETE", "/me/vips/boss@boss.test", token=alice)[0] == 404
assert call("GET", "/me/screener", token=alice)[1]["on"] is False
assert call("PUT", "/me/screener", {"on": True}, token=alice)[0] == 204
status, judged = call("PUT", "/me/screener/Shop@Shop.test", {"verdict": "rejected"}, token=alice)
assert status == 200 and judged == {"moved": 0}, judged
assert call("PUT", "/me/screener/shop@shop.test", {"verdict": "maybe"}, token=alice)[0] == 400
assert call("PUT", "/me/screener/not-an-address", {"verdict": "approved"}, token=alice)[0] == 422
status, screen = call("GET", "/me/screener", token=alice)
assert screen == {"on": True, "waiting": [], "approved": [], "rejected": ["shop@shop.test"]}, screen
assert call("PUT", "/me/screener", {"on": False}, token=alice)[0] == 204
to_self = dict(message, to="alice@example.test", subject="to myself")
assert call("POST", "/send", to_self, token=alice)[0] == 202
status, listed = call("GET", "/me/messages", token=alice, query="?mailbox=INBOX&limit=5")
mine = next(m for m in listed["messages"] if m["subject"] == "to myself")
status, read = call("GET", f"/me/messages/{mine['uid']}", token=alice)
assert status == 200 and read["text"].strip() == "hi", read
status, raw = call("GET", f"/me/messages/{mine['uid']}/raw", token=alice)
assert status == 200 and b"Subject: to myself" in raw, raw
assert call("DELETE", f"/me/messages/{mine['uid']}", token=alice)[0] == 204
assert call("GET", f"/me/messages/{mine['uid']}", token=alice)[0] == 404
assert call("GET", "/me/messages", token=alice, query="?mailbox=Nowhere")[0] == 404
assert call("POST", "/send", dict(message, to="alice@example.test", subject="snooze me"), token=alice)[0] == 202
status, listed = call("GET", "/me/messages", token=alice)
later = next(m for m in listed["messages"] if m["subject"] == "snooze me")
status, snoozed = call("POST", f"/me/messages/{later['uid']}/snooze", {"until": "2099-01-01T08:00Z"}, token=alice)
assert status == 200 and snoozed["mailbox"] == "Snoozed" and snoozed["until"] == "2099-01-01T08:00:00Z", snoozed
assert call("POST", f"/me/messages/{later['uid']}/snooze", {"until": "2099-01-01T08:00Z"}, token=alice)[0] == 404
assert call("POST", f"/me/messages/{snoozed['uid']}/snooze", {"until": "soon"}, token=alice, query="?mailbox=Snoozed")[0] == 400
assert call("POST", f"/me/messages/{snoozed['uid']}/snooze", {"until": "2000-01-01T08:00Z"}, token=alice, query="?mailbox=Snoozed")[0] == 422
status, listed = call("GET", "/me/snoozed", token=alice)
assert listed["messages"] == [{"uid": snoozed["uid"], "until": "2099-01-01T08:00:00Z",
    "from": "alice@example.test", "subject": "snooze me"}], listed
status, woken = call("DELETE", f"/me/snoozed/{snoozed['uid']}", token=alice)
assert status == 200 and woken["mailbox"] == "INBOX" and woken["uid"] > later["uid"], woken
assert call("DELETE", f"/me/snoozed/{snoozed['uid']}", token=alice)[0] == 404
assert call("GET", "/me/snoozed", token=alice)[1] == {"messages": []}
assert call("GET", "/me/undo-send", token=alice)[1] == {"seconds": 0}
assert call("PUT", "/me/undo-send", {"seconds": 31}, token=alice)[0] == 422
assert call("PUT", "/me/undo-send", {"seconds": "ten"}, token=alice)[0] == 400
status, later = call("POST", "/send", dict(message, send_at="2099-01-01T08:00:00Z"), token=alice)
assert status == 422, later
status, later = call("POST", "/send", dict(message, subject="later", send_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))), token=alice)
assert status == 202 and later["held"]["id"] > 0, later
status, outbox = call("GET", "/me/outbox", token=alice)
assert [m["subject"] for m in outbox["messages"]] == ["later"], outbox
assert call("DELETE", f"/me/outbox/{later['held']['id']}", token=alice)[1]["subject"] == "later"
assert call("DELETE", f"/me/outbox/{later['held']['id']}", token=alice)[0] == 404
assert call("DELETE", "/me/outbox/x", token=alice)[0] == 404
assert call("PUT", "/me/undo-send", {"seconds": 0}, token=alice)[1] == {"seconds": 0}
assert call("GET", "/me")[0] == 404
assert call("PUT", "/me/password", {"password": "x"})[0] == 404
assert call("GET", "/domains", token="pst_not-a-token")[0] == 401

status, hook = call("POST", "/webhooks", {"domain": "api.test", "url": "https://hooks.api.test/in"})
assert status == 201 and len(hook["secret"]) == 64 and hook["domain"] == "api.test", hook
assert call("POST", "/webhooks", {"domain": "api.test", "url": "https://x.test/"})[0] == 409
assert call("POST", "/webhooks", {"url": "https://x.test/"})[0] == 400
assert call("POST", "/webhooks", {"domain": "nowhere.test", "url": "https://x.test/"})[0] == 422
status, listed = call("GET", "/webhooks")
assert [(h["id"], h["waiting"]) for h in listed["webhooks"]] == [(hook["id"], 0)], listed
assert call("GET", f"/webhooks/{hook['id']}/log", query="?limit=5")[1] == {"attempts": []}
assert call("GET", "/webhooks/999/log")[0] == 404
assert call("POST", f"/webhooks/{hook['id']}/retry")[1] == {"retried": 0}
assert call("POST", "/webhooks/999/retry")[0] == 404
assert call("PUT", "/webhooks/webhook-only/api.test")[0] == 204
assert call("GET", "/webhooks")[1]["webhook_only_domains"] == ["api.test"]
assert call("DELETE", "/domains/api.test")[0] == 409, "a domain with webhooks stays"
assert call("DELETE", "/webhooks/webhook-only/api.test")[0] == 204
assert call("PUT", "/webhooks/webhook-only/nowhere.test")[0] == 404
assert call("DELETE", f"/webhooks/{hook['id']}")[0] == 204
assert call("DELETE", f"/webhooks/{hook['id']}")[0] == 404
assert call("GET", "/webhooks", token=alice)[0] == 403
assert call("DELETE", "/users/carol@api.test")[0] == 204
assert call("DELETE", "/domains/api.test")[0] == 204
assert call("DELETE", "/domains/api.test")[0] == 404

documented = {(template, method) for template, item in spec["paths"].items() for method in item}
missing = documented - exercised
assert not missing, f"operations not exercised: {sorted(missing)}"
print(f"{len(exercised)} operations checked against the document")
print("api ok")
