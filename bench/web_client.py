"""Times requests to the web side on one keep-alive connection; see bench/web.sh.

Arguments: the port, an admin API token, the number of requests per path.
"""

import http.client
import sys
import time

port, token, requests = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])


def timed(name, path, headers):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    start = time.perf_counter()
    for _ in range(requests):
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 200, (path, response.status)
    per_request = (time.perf_counter() - start) / requests
    print(f"{name:<22} {per_request * 1e6:7.0f} µs per request")


connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
connection.request(
    "POST",
    "/admin/login",
    body="email=alice%40example.test&password=secret",
    headers={"Content-Type": "application/x-www-form-urlencoded"},
)
response = connection.getresponse()
response.read()
cookie = response.getheader("Set-Cookie").split(";")[0]

print(f"{requests} requests per path, one connection")
timed("/health", "/health", {})
timed("/metrics", "/metrics", {})
timed("/api/v1/users", "/api/v1/users", {"Authorization": f"Bearer {token}"})
timed("/admin/ (dashboard)", "/admin/", {"Cookie": cookie})
timed("/admin/users", "/admin/users", {"Cookie": cookie})
