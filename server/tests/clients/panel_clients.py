"""The admin panel and a user's page driven as a browser without JavaScript drives them:
urllib with a cookie jar, forms found with html.parser and sent back with their hidden
CSRF token. Logs in, adds a domain and a user, sees the queue, logs out; checks that a form
without the session's token is refused, that a user who is not an administrator cannot
enter the panel, that a user changes their own password on their page, sets their Sieve
filters (a refused script shown again with its line), and sets up one-time codes (computed here with hmac, as an authenticator app does) that log-ins then
need, until an administrator turns them off.

Argument: the http port.
"""

import http.cookiejar
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser

from totp import code

BASE = f"http://127.0.0.1:{sys.argv[1]}"


class Forms(HTMLParser):
    """Every form of a page: its action and its fields' values."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self.text = []
        self.textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "fields": {}})
        elif tag == "input" and self.forms:
            # As a browser: an unchecked box is not sent.
            if attrs.get("type") == "checkbox" and "checked" not in attrs:
                return
            self.forms[-1]["fields"][attrs.get("name")] = attrs.get("value", "")
        elif tag == "textarea" and self.forms:
            self.textarea = attrs.get("name")
            self.forms[-1]["fields"][self.textarea] = ""

    def handle_endtag(self, tag):
        if tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        self.text.append(data)
        if self.textarea is not None:
            self.forms[-1]["fields"][self.textarea] += data


class Browser:
    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def open(self, path, form=None):
        data = None if form is None else urllib.parse.urlencode(form).encode()
        try:
            with self.opener.open(BASE + path, data=data, timeout=30) as response:
                return response.status, response.geturl(), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.geturl(), error.read().decode()

    def page(self, path):
        status, url, body = self.open(path)
        parsed = Forms()
        parsed.feed(body)
        return status, url, parsed

    def submit(self, path, action, **fields):
        """Fills in the form of `path` that posts to `action`, and sends it."""
        _, _, parsed = self.page(path)
        form = next(f for f in parsed.forms if f["action"] == action)
        values = dict(form["fields"])
        values.update(fields)
        return self.open(action, values)


browser = Browser()
status, url, _ = browser.open("/admin/")
assert url.endswith("/admin/login"), url

status, _, body = browser.open("/admin/login", {"email": "alice@example.test", "password": "wrong"})
assert status == 403 and "Wrong address or password" in body, (status, body)
status, url, body = browser.open("/admin/login", {"email": "alice@example.test", "password": "alice-secret"})
assert status == 200 and url.endswith("/admin/") and "Dashboard" in body, (status, url)
cookie = next(c for c in browser.jar if c.name == "postern_session")
assert cookie.has_nonstandard_attr("HttpOnly"), "the session cookie is HttpOnly"

status, url, body = browser.submit("/admin/domains", "/admin/domains/add", name="panel.test")
assert "Added panel.test." in body and url.endswith("/admin/domains?note=Added+panel.test."), url
# DKIM keys for the new domain, their records shown; one taken out of use.
_, _, domains_page = browser.page("/admin/domains")
make = next(f for f in domains_page.forms if f["action"] == "/admin/domains/dkim" and f["fields"].get("domain") == "panel.test")
status, _, body = browser.open("/admin/domains/dkim", make["fields"])
assert "Made DKIM keys" in body and "._domainkey.panel.test. IN TXT" in body, body
_, _, domains_page = browser.page("/admin/domains")
remove = next(f for f in domains_page.forms if f["action"] == "/admin/domains/dkim-remove" and f["fields"].get("domain") == "panel.test")
status, _, body = browser.open("/admin/domains/dkim-remove", remove["fields"])
assert "is no longer signed with" in body, body
status, _, body = browser.open("/admin/dns?domain=panel.test")
assert "_dmarc.panel.test." in body and "panel.test." in body, body
status, _, body = browser.open("/admin/")
assert "Mail since start" in body, body

status, url, body = browser.submit(
    "/admin/users", "/admin/users/add", email="carol@panel.test", password="carol-secret", quota="1M"
)
assert "Added carol@panel.test." in body, body
assert "carol@panel.test" in body and "0 bytes of 1.0 MiB" in body, body
status, url, body = browser.submit("/admin/users", "/admin/users/add", email="dave@nowhere.test", password="dave-secret")
assert "is not a local domain" in body, body

status, _, parsed = browser.page("/admin/queue")
assert status == 200 and "0 messages waiting" in "".join(parsed.text)

# Webhooks: one added (its secret shown once), the domain made webhook-only and back,
# the webhook removed.
status, _, body = browser.submit("/admin/webhooks", "/admin/webhooks/add", scope="@panel.test",
    url="https://hooks.panel.test/in", secret="panel-secret")
assert "Added webhook" in body and "panel-secret" in body, body
status, _, body = browser.open("/admin/webhooks")
assert "https://hooks.panel.test/in" in body and "Deliveries of webhook" in body, body
assert "panel-secret" not in body, "the secret is shown once"
status, _, body = browser.submit("/admin/webhooks", "/admin/webhooks/only", domain="panel.test")
assert "now goes to its webhooks only" in body, body
status, _, body = browser.submit("/admin/webhooks", "/admin/webhooks/stored")
assert "is stored in mailboxes again" in body, body
status, _, body = browser.submit("/admin/webhooks", "/admin/webhooks/add", scope="@nowhere.test", url="https://x.test/")
assert "is not a local domain" in body, body
status, _, body = browser.submit("/admin/webhooks", "/admin/webhooks/remove")
assert "Removed webhook" in body and "https://hooks.panel.test/in" not in body, body

# A form without the session's token (as another site would post it) is refused.
status, _, body = browser.open("/admin/domains/add", {"name": "forged.test", "csrf": "guessed"})
assert status == 403 and "expired" in body, (status, body)
status, _, body = browser.open("/admin/domains")
assert "forged.test" not in body

status, url, _ = browser.submit("/admin/", "/admin/logout")
assert url.endswith("/admin/login"), url
status, url, _ = browser.open("/admin/users")
assert url.endswith("/admin/login"), "logged out"

# Carol is no administrator: her own page, not the panel.
carol = Browser()
status, _, body = carol.open("/admin/login", {"email": "carol@panel.test", "password": "carol-secret"})
assert status == 403 and "does not manage the server" in body, (status, body)
status, url, body = carol.open("/account/login", {"email": "carol@panel.test", "password": "carol-secret"})
assert url.endswith("/account/") and "carol@panel.test: 0 bytes used of 1048576 bytes" in body, body
status, url, body = carol.submit("/account/", "/account/password", current="wrong", password="carol-new-secret")
assert "The current password is not right." in body, body
status, url, body = carol.submit("/account/", "/account/password", current="carol-secret", password="carol-new-secret")
assert "Your password is changed." in body, body
status, _, profile = carol.open("/account/apple.mobileconfig")
assert status == 200 and "com.apple.mail.managed" in profile
status, url, _ = carol.open("/admin/")
assert url.endswith("/admin/login"), "a user's session does not open the panel"

# Her filters: a script that does not compile is shown again with why; one that does is
# saved and on, shown in the form next time, and turned off with a button.
broken = 'require "fileinto";\r\nif header :contains "subject" "x" {\r\n  fileinto;\r\n}\r\n'
status, _, body = carol.submit("/account/", "/account/sieve", script=broken)
assert status == 422 and "line 3" in body and "fileinto;" in body, (status, body)
script = 'require "fileinto";\r\nif header :contains "subject" "[news]" { fileinto "News"; }\r\n'
status, _, body = carol.submit("/account/", "/account/sieve", script=script)
assert "Your filters are saved and on." in body and "On: this Sieve script" in body, body
_, _, page = carol.page("/account/")
form = next(f for f in page.forms if f["action"] == "/account/sieve")
assert form["fields"]["script"].replace("\r\n", "\n").strip() == script.replace("\r\n", "\n").strip(), form
status, _, body = carol.submit("/account/", "/account/sieve/off")
assert "Your filters are off." in body and "Off: new mail goes to your inbox" in body, body

# Her disposable addresses: one made with a note, listed with its count, turned off and on
# again with its button.
status, _, body = carol.submit("/account/", "/account/aliases/new", note="the shoe shop")
made = re.search(r"New address: ([a-z0-9]+@panel\.test)", body).group(1)
assert "the shoe shop" in body and "Turn off" in body, body
status, _, body = carol.submit("/account/", "/account/aliases/switch")
assert f"{made} is off: mail to it is refused." in body and "Turn on" in body, body
status, _, body = carol.submit("/account/", "/account/aliases/switch")
assert f"{made} is on again." in body, body

# Snooze: nothing snoozed, nothing in her inbox to offer; a made-up message cannot be woken.
_, _, page = carol.page("/account/")
assert "Snoozed mail waits in" in "".join(page.text), page.text
assert not any(f["action"] == "/account/snooze" for f in page.forms)
csrf = next(f for f in page.forms if f["action"] == "/account/undo-send")["fields"]["csrf"]
status, _, body = carol.open("/account/snooze/wake", {"csrf": csrf, "uid": "7"})
assert "does not exist" in body, body

# Her undo delay: set, refused past 30 s, and nothing waiting to go.
status, _, body = carol.submit("/account/", "/account/undo-send", seconds="10")
assert "Your mail now waits 10 s before it goes." in body and 'value="10"' in body, body
assert "Nothing: mail you send for later" in body, body
status, _, body = carol.submit("/account/", "/account/undo-send", seconds="45")
assert "at most 30 seconds" in body, body
_, _, page = carol.page("/account/")
csrf = next(f for f in page.forms if f["action"] == "/account/undo-send")["fields"]["csrf"]
status, _, body = carol.open("/account/outbox/cancel", {"csrf": csrf, "id": "12345"})
assert "does not exist" in body or "No such" in body, body

# Her Screener: turned on (nobody waits yet) and off again.
status, _, body = carol.submit("/account/", "/account/screener")
assert "The Screener is on." in body and "Turn off" in body, body
status, _, body = carol.submit("/account/", "/account/screener")
assert "The Screener is off: all mail comes through." in body, body

# Her important senders: added, listed, removed with its button.
status, _, body = carol.submit("/account/", "/account/vips/add", address="Boss@Boss.test")
assert "Mail from boss@boss.test is marked important." in body and "Remove" in body, body
status, _, body = carol.submit("/account/", "/account/vips/remove")
assert "boss@boss.test is no longer an important sender." in body, body

# One-time codes (RFC 6238), computed by totp.py as an authenticator app does.
status, _, body = carol.submit("/account/", "/account/totp/start")
assert "<svg" in body, body
key = re.search(r"Key: <code>([A-Z2-7]+)</code>", body).group(1)
page = Forms()
page.feed(body)
confirm = next(f for f in page.forms if f["action"] == "/account/totp/confirm")
step = int(time.time()) // 30
wrong = next(c for c in ("000000", "111111", "222222") if c not in {code(key, step + d) for d in (-1, 0, 1)})
fields = dict(confirm["fields"], code=wrong)
status, _, body = carol.open("/account/totp/confirm", fields)
assert "That code is not right" in body, body
status, _, body = carol.submit("/account/", "/account/totp/start")
key = re.search(r"Key: <code>([A-Z2-7]+)</code>", body).group(1)
page = Forms()
page.feed(body)
confirm = next(f for f in page.forms if f["action"] == "/account/totp/confirm")
step = int(time.time()) // 30
status, _, body = carol.open("/account/totp/confirm", dict(confirm["fields"], code=code(key, step)))
assert "One-time codes are on." in body, body

later = Browser()
status, _, body = later.open("/account/login", {"email": "carol@panel.test", "password": "carol-new-secret"})
assert status == 403 and "Enter the one-time code" in body, (status, body)
# The code just used is not accepted again (RFC 6238 §5.2); the next one is.
status, _, body = later.open("/account/login", {"email": "carol@panel.test", "password": "carol-new-secret", "code": code(key, step)})
assert status == 403 and "not right" in body, (status, body)
status, url, body = later.open("/account/login", {"email": "carol@panel.test", "password": "carol-new-secret", "code": code(key, step + 1)})
assert url.endswith("/account/") and "On: logging in" in body, (status, url, body)

# An administrator turns them off for a user who lost their phone.
status, url, body = browser.open("/admin/login", {"email": "alice@example.test", "password": "alice-secret"})
assert "Dashboard" in body
_, _, users = browser.page("/admin/users")
off = next(f for f in users.forms if f["action"] == "/admin/users/totp-off")
status, _, body = browser.open("/admin/users/totp-off", off["fields"])
assert "carol@panel.test logs in with the password alone now." in body, body
status, url, _ = Browser().open("/account/login", {"email": "carol@panel.test", "password": "carol-new-secret"})
assert url.endswith("/account/"), url
print("panel ok")
