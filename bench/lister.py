"""The listing client of ``bench/run.py``'s scale benchmark, in a process of its own.

``python bench/lister.py URL PARENT RUNS [FILTER [BUDGET]]`` pages through ``PARENT``'s operations (pages of 1000,
``filter=FILTER`` unless it is empty) RUNS times over one keep-alive connection, or fewer once the listings took BUDGET
seconds in all (at least one), and prints one JSON line per listing as soon as it ends: ``{"seconds", "listed",
"pages"}``.
Standard library only, so it starts in a blink. It runs apart from the emulator because parsing a page of 1000
Operations makes thousands of dicts live at once; in the emulator's process some of them reach the oldest generation
and make CPython run full collections over the whole heap, the emulator's million operations included: the client's
cost, however few objects the emulator keeps.
"""

from __future__ import annotations

import http.client
import json
import sys
import time
import urllib.parse


def listing(connection: http.client.HTTPConnection, prefix: str, parent: str, filter_: str) -> dict[str, float | int]:
    """One full listing: every page read and parsed, every name seen once."""
    names: set[str] = set()
    pages = 0
    token = ""
    started = time.perf_counter()
    for _ in range(100_000):
        query = {"pageSize": "1000", **({"filter": filter_} if filter_ else {})}
        if token:
            query["pageToken"] = token
        connection.request("GET", f"{prefix}/v1/{parent}/operations?{urllib.parse.urlencode(query)}")
        answer = connection.getresponse()
        body = answer.read()
        if answer.status != 200:
            raise SystemExit(f"list answered {answer.status}: {body[:300]!r}")
        page = json.loads(body)
        pages += 1
        for item in page.get("operations", []):
            if item["name"] in names:
                raise SystemExit(f"{item['name']} listed twice")
            names.add(item["name"])
        token = page.get("nextPageToken", "")
        if not token:
            break
    return {"seconds": time.perf_counter() - started, "listed": len(names), "pages": pages}


def main(argv: list[str]) -> int:
    url, parent, runs, *more = argv
    filter_, budget = [*more, "", "inf"][:2]
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=600)
    spent = 0.0
    try:
        for _ in range(int(runs)):
            run = listing(connection, parts.path.rstrip("/"), parent, filter_)
            print(json.dumps(run), flush=True)
            spent += float(run["seconds"])
            if spent >= float(budget):
                break
    finally:
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
