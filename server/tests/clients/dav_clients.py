"""Talks to a running postern as calendar and contacts apps do: the `caldav` library from
PyPI for calendars (discovery, making a calendar, events, recurring events found by time
range, to-dos, updates and deletion), and Python's http.client for address books.

Usage: dav_clients.py HTTPS_PORT HTTP_PORT
Expects domain example.test with alice@example.test / alice-secret and
bob@example.test / bob-secret.
"""

import base64
import datetime
import http.client
import ssl
import sys
import warnings
import xml.etree.ElementTree as ET

import caldav

# The test server's certificate is self-signed; the library says so on every request.
warnings.simplefilter("ignore")

HTTPS, HTTP = (int(p) for p in sys.argv[1:3])
HOST = "127.0.0.1"
USER, PASSWORD = "alice@example.test", "alice-secret"
DAV = "{DAV:}"
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE

EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//postern tests//EN
BEGIN:VEVENT
UID:weekly@example.test
DTSTAMP:20261201T000000Z
DTSTART:20261207T090000Z
DTEND:20261207T093000Z
RRULE:FREQ=WEEKLY;COUNT=6
SUMMARY:Weekly planning
END:VEVENT
END:VCALENDAR
"""

ONE_OFF = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//postern tests//EN
BEGIN:VEVENT
UID:dentist@example.test
DTSTAMP:20261201T000000Z
DTSTART:20261222T150000Z
DTEND:20261222T160000Z
SUMMARY:Dentist
END:VEVENT
END:VCALENDAR
"""

TODO = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//postern tests//EN
BEGIN:VTODO
UID:taxes@example.test
DTSTAMP:20261201T000000Z
SUMMARY:File taxes
END:VTODO
END:VCALENDAR
"""


def client(port, scheme, user=USER, password=PASSWORD):
    return caldav.DAVClient(
        url=f"{scheme}://{HOST}:{port}/dav/",
        username=user,
        password=password,
        ssl_verify_cert=False,
    )


def uids(objects):
    found = []
    for o in objects:
        o.load()
        found.append(o.icalendar_component["UID"])
    return sorted(str(u) for u in found)


def calendars_over_https():
    with client(HTTPS, "https") as c:
        principal = c.principal()
        assert principal.url.path.endswith("/dav/principals/alice@example.test/"), principal.url
        names = [cal.get_display_name() for cal in principal.calendars()]
        assert names == ["Calendar"], names

        work = principal.make_calendar(name="Work", cal_id="work")
        assert work.get_display_name() == "Work"
        assert sorted(cal.get_display_name() for cal in principal.calendars()) == ["Calendar", "Work"]

        weekly = work.save_event(EVENT)
        work.save_event(ONE_OFF)
        todo = work.save_todo(TODO)

        # 21 December: the third occurrence of the weekly event; the dentist the next day.
        day = work.search(start=datetime.datetime(2026, 12, 21), end=datetime.datetime(2026, 12, 22),
                          event=True, expand=False)
        assert uids(day) == ["weekly@example.test"], uids(day)
        # A day between occurrences finds nothing; the week with both finds both.
        gap = work.search(start=datetime.datetime(2026, 12, 24), end=datetime.datetime(2026, 12, 25),
                          event=True, expand=False)
        assert uids(gap) == [], uids(gap)
        week = work.search(start=datetime.datetime(2026, 12, 21), end=datetime.datetime(2026, 12, 28),
                           event=True, expand=False)
        assert uids(week) == ["dentist@example.test", "weekly@example.test"], uids(week)
        # After the sixth and last occurrence, nothing.
        later = work.search(start=datetime.datetime(2027, 2, 1), end=datetime.datetime(2027, 3, 1),
                            event=True, expand=False)
        assert uids(later) == [], uids(later)

        assert uids(work.todos()) == ["taxes@example.test"]
        assert uids(work.events()) == ["dentist@example.test", "weekly@example.test"]

        # An edit saved back keeps the resource and changes what is read.
        weekly.load()
        weekly.icalendar_component["SUMMARY"] = "Weekly planning (moved)"
        weekly.save()
        again = work.event_by_uid("weekly@example.test")
        assert str(again.icalendar_component["SUMMARY"]) == "Weekly planning (moved)"

        todo.delete()
        assert uids(work.todos()) == []
        work.delete()
        assert [cal.get_display_name() for cal in principal.calendars()] == ["Calendar"]


def wrong_password_and_other_users():
    try:
        with client(HTTP, "http", password="wrong") as c:
            c.principal()
    except caldav.lib.error.AuthorizationError:
        pass
    else:
        raise AssertionError("a wrong password must be refused")
    # Bob sees his own calendar, not Alice's.
    with client(HTTP, "http", user="bob@example.test", password="bob-secret") as c:
        principal = c.principal()
        assert principal.url.path.endswith("/dav/principals/bob@example.test/"), principal.url
        assert [cal.get_display_name() for cal in principal.calendars()] == ["Calendar"]


def request(method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(HOST, HTTP, timeout=30)
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    all_headers = {"Authorization": f"Basic {token}"}
    all_headers.update(headers or {})
    conn.request(method, path, body=body, headers=all_headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response.headers, data


def contacts_over_http_client():
    book = "/dav/addressbooks/alice@example.test/default/"
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ann@example.test\r\nFN:Ann Example\r\nEMAIL:ann@example.org\r\nEND:VCARD\r\n"
    status, headers, _ = request("PUT", book + "ann.vcf", card, {"Content-Type": "text/vcard", "If-None-Match": "*"})
    assert status == 201, status
    etag = headers["ETag"]
    status, _, _ = request("PUT", book + "ann.vcf", card, {"If-None-Match": "*"})
    assert status == 412, status

    body = ('<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/><resourcetype/></prop></propfind>')
    status, _, data = request("PROPFIND", book, body, {"Depth": "1", "Content-Type": "application/xml"})
    assert status == 207, status
    responses = ET.fromstring(data).findall(f"{DAV}response")
    hrefs = [r.find(f"{DAV}href").text for r in responses]
    assert hrefs == [book, book + "ann.vcf"], hrefs
    assert responses[1].find(f".//{DAV}getetag").text == etag

    multiget = ('<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">'
                '<D:prop><D:getetag/><C:address-data/></D:prop>'
                f'<D:href>{book}ann.vcf</D:href></C:addressbook-multiget>')
    status, _, data = request("REPORT", book, multiget, {"Content-Type": "application/xml"})
    assert status == 207, status
    text = ET.fromstring(data).find(".//{urn:ietf:params:xml:ns:carddav}address-data").text
    assert text.replace("\r\n", "\n") == card.replace("\r\n", "\n"), text

    status, _, _ = request("DELETE", book + "ann.vcf", headers={"If-Match": '"stale"'})
    assert status == 412, status
    status, _, _ = request("DELETE", book + "ann.vcf", headers={"If-Match": etag})
    assert status == 204, status
    status, _, _ = request("GET", book + "ann.vcf")
    assert status == 404, status


calendars_over_https()
wrong_password_and_other_users()
contacts_over_http_client()
print("dav clients ok")
