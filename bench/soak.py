"""Soak: does the standalone server's memory stay flat once its call log is full?

Run: ``python bench/soak.py`` (with the package installed); it takes ten minutes (``--seconds 60`` for one).

It starts ``lro-emulator serve --port 0 --no-demo --ready-file ...`` as a subprocess on 127.0.0.1, creates one
finished operation over the control plane, and polls it with GetOperation (``GET /v1/{name}``) at full rate from a
few client threads, each on its own keep-alive connection, for ``--seconds``. Every few seconds it samples the
server's resident memory (VmRSS from /proc/PID/status, or psutil where /proc is missing) and the size of its call
log (the control plane's ``calls`` endpoint, whose ``dropped`` turns positive once the log reached ``--max-calls``).

It prints RSS at start, when the cap was reached, at the peak after it and at the end, with the request rate. RSS
is *flat* when it grew after the cap by at most ``--tolerance-percent`` of its value at the cap (default 10%) or
``--tolerance-mb`` (default 8 MiB), whichever is larger: an allocator keeps some slack, a leak keeps growing.

Exit status: 0 flat, 1 not flat, 2 inconclusive (the cap was never reached) or an error. Loopback only; the run
is bounded in time and the server is stopped whatever happens.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OPERATION = "projects/soak/locations/l/operations/polled"
STRUCT = "type.googleapis.com/google.protobuf.Struct"
CONTROL = "/_emulator/v1"
READY_TIMEOUT = 30.0
MIB = 1024 * 1024


@dataclass
class Sample:
    """One look at the server: seconds since polling began, resident bytes, calls answered, calls dropped."""

    elapsed: float
    rss: int
    calls: int
    dropped: int


@dataclass
class Tally:
    """What the client threads did, under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    connections: int = 0
    errors: list[str] = field(default_factory=list)


def check(condition: bool, context: object) -> None:
    """A soak that got a wrong answer measured nothing: stop it (not an assert: ``python -O`` drops those)."""
    if not condition:
        raise RuntimeError(f"unexpected: {context!r}")


def console_script() -> list[str]:
    """The installed ``lro-emulator`` beside this interpreter (a venv need not be activated), else on PATH."""
    found = shutil.which("lro-emulator", path=sysconfig.get_path("scripts")) or shutil.which("lro-emulator")
    if found is None:
        raise RuntimeError("the lro-emulator console script is not installed")
    return [found]


def rss_bytes(pid: int) -> int:
    """The resident set size of process ``pid``."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024  # the kernel writes kB
    except FileNotFoundError:
        pass
    import psutil  # only where /proc is missing (macOS); an ImportError then says what to install

    return int(psutil.Process(pid).memory_info().rss)


@contextlib.contextmanager
def server(max_calls: int, log: Path) -> Iterator[tuple[str, int, subprocess.Popen[bytes]]]:
    """``lro-emulator serve`` on a free loopback port: its URL, its pid and the process; stopped on exit.

    Its output (a line per request) goes to ``log``: a pipe nobody reads would fill and block the server.
    """
    with tempfile.TemporaryDirectory() as folder:
        ready = Path(folder) / "ready.json"
        command = [*console_script(), "serve", "--host", "127.0.0.1", "--port", "0", "--no-demo",
                   "--max-calls", str(max_calls), "--ready-file", str(ready)]
        with open(log, "wb") as output:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + READY_TIMEOUT
            while not ready.exists():
                check(process.poll() is None, f"the server exited with {process.returncode}; see {log}")
                check(time.monotonic() < deadline, f"no ready file after {READY_TIMEOUT} s; see {log}")
                time.sleep(0.05)
            addresses = json.loads(ready.read_text(encoding="utf-8"))
            url = addresses["rest"]
            check(urllib.parse.urlsplit(url).hostname == "127.0.0.1", url)
            yield url, int(addresses["pid"]), process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def connect(url: str) -> http.client.HTTPConnection:
    """A keep-alive connection to the server at ``url`` (loopback only: `server` checked the address)."""
    return http.client.HTTPConnection("127.0.0.1", urllib.parse.urlsplit(url).port, timeout=30)


def request(connection: http.client.HTTPConnection, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
    """One request (``body`` as JSON, if any) on ``connection``: the status and the whole body."""
    data = None if body is None else json.dumps(body).encode()
    headers = {} if data is None else {"Content-Type": "application/json"}
    connection.request(method, path, body=data, headers=headers)
    answer = connection.getresponse()
    return answer.status, answer.read()


def look(url: str, pid: int, elapsed: float) -> Sample:
    """RSS and the call log's counts, asked on a connection of its own (control calls are not logged)."""
    connection = connect(url)
    try:
        # A `since` past the end (the int32 maximum) returns the counts alone, not the 20,000 calls.
        status, body = request(connection, "GET", f"{CONTROL}/calls?since=2147483647")
    finally:
        connection.close()
    check(status == 200, (status, body[:300]))
    counts = json.loads(body)
    return Sample(elapsed, rss_bytes(pid), int(counts["next"]), int(counts.get("dropped", 0)))


def poll(url: str, expected: bytes, stop: threading.Event, tally: Tally) -> None:
    """GetOperation as fast as the server answers, on one keep-alive connection (reopened if it is closed)."""
    path = f"/v1/{OPERATION}"
    connection = connect(url)
    done = 0
    try:
        while not stop.is_set():
            if connection.sock is None:
                with tally.lock:
                    tally.connections += 1
            status, body = request(connection, "GET", path)
            if status != 200 or body != expected:
                with tally.lock:
                    tally.errors.append(f"{status}: {body[:200]!r}")
                stop.set()
                return
            done += 1
            if done % 256 == 0:  # the lock is taken rarely, so the threads do not queue on it
                with tally.lock:
                    tally.requests += 256
    except Exception as error:  # a soak that stops answering is the finding: report it, do not hang
        with tally.lock:
            tally.errors.append(f"{type(error).__name__}: {error}")
        stop.set()
    finally:
        with tally.lock:
            tally.requests += done % 256
        connection.close()


def mib(value: int) -> str:
    """``value`` bytes in MiB, for the report."""
    return f"{value / MIB:.1f} MiB"


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print its report; the exit status says whether RSS stayed flat (see the module)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=600.0, help="how long to poll (default: 600)")
    parser.add_argument("--threads", type=int, default=3, help="client threads, one connection each (default: 3)")
    parser.add_argument("--max-calls", type=int, default=20_000, help="the server's call-log cap (default: 20,000)")
    parser.add_argument("--sample-every", type=float, default=3.0, help="seconds between samples (default: 3)")
    parser.add_argument("--tolerance-percent", type=float, default=10.0,
                        help="allowed RSS growth after the cap, in percent of RSS at the cap (default: 10)")
    parser.add_argument("--tolerance-mb", type=float, default=8.0,
                        help="allowed RSS growth after the cap, in MiB, if larger (default: 8)")
    args = parser.parse_args(argv)
    check(0 < args.seconds <= 24 * 3600 and args.threads >= 1 and args.max_calls >= 1, vars(args))

    with tempfile.TemporaryDirectory() as folder, server(args.max_calls, Path(folder) / "server.log") as (
            url, pid, process):
        setup = connect(url)
        operation = {"name": OPERATION, "metadata": {"@type": STRUCT, "value": {"state": "DONE"}},
                     "steps": [{"response": {"@type": STRUCT, "value": {"rows": 1000}}}]}
        status, body = request(setup, "POST", f"{CONTROL}/operations", operation)
        check(status == 200, (status, body[:300]))
        status, expected = request(setup, "GET", f"/v1/{OPERATION}")
        check(status == 200 and json.loads(expected).get("done") is True, (status, expected[:300]))
        setup.close()

        tally, stop = Tally(), threading.Event()
        samples = [look(url, pid, 0.0)]
        started = time.monotonic()
        threads = [threading.Thread(target=poll, args=(url, expected, stop, tally), daemon=True)
                   for _ in range(args.threads)]
        for thread in threads:
            thread.start()
        try:
            while not stop.wait(args.sample_every):
                elapsed = time.monotonic() - started
                samples.append(look(url, pid, elapsed))
                check(process.poll() is None, f"the server exited with {process.returncode}")
                if elapsed >= args.seconds:
                    break
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        elapsed = time.monotonic() - started
        samples.append(look(url, pid, elapsed))

    if tally.errors:
        print(f"soak: a client failed: {tally.errors[0]}", file=sys.stderr)
        return 2
    start, end = samples[0], samples[-1]
    print(f"lro-emulator serve, GetOperation over {args.threads} keep-alive connections for {elapsed:.0f} s: "
          f"{tally.requests:,} requests ({tally.requests / elapsed:,.0f}/s), {tally.connections} connection(s)"
          f" opened; call log capped at {args.max_calls:,}, {end.dropped:,} calls dropped")
    print(f"RSS at start {mib(start.rss)}")
    capped = next((sample for sample in samples if sample.dropped > 0), None)
    if capped is None:
        print(f"soak: the call log never reached its cap of {args.max_calls:,} ({end.calls:,} calls): "
              "poll longer or lower --max-calls", file=sys.stderr)
        return 2
    after = [sample for sample in samples if sample.elapsed >= capped.elapsed]
    peak = max(after, key=lambda sample: sample.rss)
    allowed = max(capped.rss * args.tolerance_percent / 100, args.tolerance_mb * MIB)
    growth = end.rss - capped.rss
    flat = growth <= allowed and peak.rss - capped.rss <= allowed
    print(f"RSS at the cap ({capped.elapsed:.0f} s, {capped.calls:,} calls) {mib(capped.rss)}; "
          f"peak after it {mib(peak.rss)} at {peak.elapsed:.0f} s; at the end {mib(end.rss)}")
    print(f"growth after the cap {growth / MIB:+.1f} MiB ({growth / capped.rss:+.1%}); allowed {mib(int(allowed))} "
          f"(max of {args.tolerance_percent:g}% and {args.tolerance_mb:g} MiB): {'flat' if flat else 'NOT FLAT'}")
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
