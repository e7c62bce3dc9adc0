"""A flood of client addresses for bench/flood.sh, on the MX port, each connection from its
own loopback address (127.1.0.0 upwards: Linux routes all of 127/8 to lo).

  flood.py PORT N CONCURRENCY [FIRST [PID]]
                                        N conversations (FIRST .. FIRST+N-1), CONCURRENCY
                                        at once, each with its own envelope sender, so each
                                        is greylisted as a new triplet; prints progress
                                        (with PID's RSS) every 100,000 and "replies CODE
                                        COUNT" lines last
  flood.py hold PORT N                  N connections held open, then one more from
                                        127.0.0.1 says EHLO: prints how many were greeted
                                        with 220 and what the extra client was answered

Loopback only; every read has a timeout, and the flood ends after N conversations.
"""

import asyncio
import collections
import sys
import time

HOST = "127.0.0.1"
TIMEOUT = 30


def source(i):
    n = (1 << 16) + i  # 127.1.0.0 + i: never 127.0.0.x
    return f"127.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


async def reply(reader):
    while True:
        line = await asyncio.wait_for(reader.readline(), TIMEOUT)
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            return line[:3].decode()


async def conversation(port, i, counts):
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(HOST, port, local_addr=(source(i), 0)), TIMEOUT
        )
    except (OSError, asyncio.TimeoutError):
        counts["connect failed"] += 1
        return
    try:
        code = await reply(reader)
        if code == "220":
            writer.write(
                f"EHLO flood{i}.test\r\nMAIL FROM:<s{i}@flood.test>\r\n"
                "RCPT TO:<u0@example.test>\r\n".encode()
            )
            for _ in range(3):
                code = await reply(reader)
        counts[code] += 1
        writer.write(b"QUIT\r\n")
        await writer.drain()
        await asyncio.wait_for(reader.read(), TIMEOUT)
    except (OSError, ConnectionError, asyncio.TimeoutError):
        counts["broken"] += 1
    finally:
        writer.close()


def rss_kib(pid):
    if pid is None:
        return "?"
    with open(f"/proc/{pid}/status") as f:
        return next(line.split()[1] for line in f if line.startswith("VmRSS:"))


async def main(port, total, concurrency, first, pid):
    counts = collections.Counter()
    next_i = first
    total += first
    started = time.monotonic()

    async def worker():
        nonlocal next_i
        while next_i < total:
            i = next_i
            next_i += 1
            await conversation(port, i, counts)
            done = i + 1 - first
            if done % 100_000 == 0:
                rate = done / (time.monotonic() - started)
                print(f"{done} conversations, {rate:.0f}/s, RSS {rss_kib(pid)} KiB", flush=True)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    for code, count in sorted(counts.items()):
        print(f"replies {code} {count}")


async def hold(port, total):
    held, greeted = [], collections.Counter()
    for i in range(total):
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(HOST, port, local_addr=(source(i), 0)), TIMEOUT
            )
            greeted[await reply(reader)] += 1
            held.append(writer)
        except (OSError, ConnectionError, asyncio.TimeoutError):
            greeted["failed"] += 1
    for code, count in sorted(greeted.items()):
        print(f"held {count} greeted {code}")
    reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), TIMEOUT)
    codes = [await reply(reader)]
    writer.write(b"EHLO client.test\r\nQUIT\r\n")
    codes += [await reply(reader), await reply(reader)]
    print(f"a client beside them: {' '.join(codes)}")
    for writer in held:
        writer.close()


if sys.argv[1] == "hold":
    asyncio.run(hold(int(sys.argv[2]), int(sys.argv[3])))
else:
    port, total, concurrency = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    pid = int(sys.argv[5]) if len(sys.argv) > 5 else None
    asyncio.run(main(port, total, concurrency, first, pid))
