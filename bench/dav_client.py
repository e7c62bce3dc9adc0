"""Times what calendar and contacts apps do against one CalDAV/CardDAV server, over one
kept-alive HTTP connection (http.client): PUT of events and of vCards, PROPFIND depth 1,
calendar-query for one month, calendar-multiget of 200, sync-collection from empty.

Usage: dav_client.py PORT CALENDAR_PATH ADDRESSBOOK_PATH EVENTS
Prints one line per measurement: `name seconds`. The collections must not exist yet; the
script makes them (MKCALENDAR, extended MKCOL).
"""

import base64
import http.client
import sys
import time

PORT = int(sys.argv[1])
CALENDAR, BOOK = sys.argv[2], sys.argv[3]
COUNT = int(sys.argv[4])
AUTH = "Basic " + base64.b64encode(b"alice@example.test:secret").decode()
conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=600)


def call(method, path, body=b"", headers=None, expect=(200, 201, 204, 207)):
    all_headers = {"Authorization": AUTH, "Content-Type": "application/xml; charset=utf-8"}
    all_headers.update(headers or {})
    conn.request(method, path, body=body, headers=all_headers)
    response = conn.getresponse()
    data = response.read()
    if response.status not in expect:
        raise SystemExit(f"{method} {path}: {response.status} {data[:300]!r}")
    return data


def timed(name, work):
    start = time.perf_counter()
    result = work()
    print(f"{name} {time.perf_counter() - start:.4f}", flush=True)
    return result


def event(i):
    day = 1 + i % 28
    month = 1 + (i // 28) % 12
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:event-{i}@bench.test\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART:2026{month:02}{day:02}T{9 + i % 8:02}0000Z\r\n"
        f"DTEND:2026{month:02}{day:02}T{10 + i % 8:02}0000Z\r\n"
        f"SUMMARY:Meeting number {i}\r\nDESCRIPTION:Agenda for meeting {i}: plans\\, budget\\, people.\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def card(i):
    return (
        "BEGIN:VCARD\r\nVERSION:3.0\r\n"
        f"UID:card-{i}@bench.test\r\nFN:Person {i}\r\nN:{i};Person;;;\r\n"
        f"EMAIL;TYPE=INTERNET:person{i}@example.org\r\nTEL;TYPE=CELL:+1555{i:07}\r\n"
        "END:VCARD\r\n"
    ).encode()


call("MKCALENDAR", CALENDAR, b'<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" '
     b'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>Bench</D:displayname>'
     b'</D:prop></D:set></C:mkcalendar>')
call("MKCOL", BOOK, b'<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" '
     b'xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/>'
     b'<C:addressbook/></D:resourcetype><D:displayname>Bench</D:displayname></D:prop></D:set></D:mkcol>')

timed("put_events", lambda: [
    call("PUT", f"{CALENDAR}e{i}.ics", event(i), {"Content-Type": "text/calendar", "If-None-Match": "*"})
    for i in range(COUNT)])
timed("put_cards", lambda: [
    call("PUT", f"{BOOK}c{i}.vcf", card(i), {"Content-Type": "text/vcard", "If-None-Match": "*"})
    for i in range(COUNT)])

listing = timed("propfind_depth1", lambda: call(
    "PROPFIND", CALENDAR,
    b'<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/><getcontenttype/></prop></propfind>',
    {"Depth": "1"}))
assert listing.count(b"getetag>") >= 2 * COUNT, "PROPFIND did not list every event"

month = timed("query_month", lambda: call(
    "REPORT", CALENDAR,
    b'<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    b'<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR">'
    b'<C:comp-filter name="VEVENT"><C:time-range start="20260301T000000Z" end="20260401T000000Z"/>'
    b'</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>',
    {"Depth": "1"}))
assert month.count(b"BEGIN:VEVENT") > 0, "the month query found nothing"

hrefs = "".join(f"<D:href>{CALENDAR}e{i}.ics</D:href>" for i in range(0, min(COUNT, 200)))
got = timed("multiget_200", lambda: call(
    "REPORT", CALENDAR,
    ('<?xml version="1.0"?><C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
     f'<D:prop><D:getetag/><C:calendar-data/></D:prop>{hrefs}</C:calendar-multiget>').encode(),
    {"Depth": "1"}))
assert got.count(b"BEGIN:VEVENT") == min(COUNT, 200), "multiget missed items"

synced = timed("sync_from_empty", lambda: call(
    "REPORT", CALENDAR,
    b'<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token/>'
    b'<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>'))
assert synced.count(b"getetag>") >= 2 * COUNT, "sync did not list every event"
