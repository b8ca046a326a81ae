"""The benchmarks, measured side by side in one run and printed as one table of ratios.

Run: ``python bench/run.py`` (with ``pip install -e '.[bench]'``); it takes minutes (the scale benchmark adds
100k operations). ``--quick`` shrinks every size and loop, and the hour of benchmark 3 to ten minutes: seconds
in all (the smoke test, tests/test_bench.py, runs it; ``--quick --million`` shrinks the million to 10k).
``--only 1,3`` runs some. ``--profile N`` runs the emulator's side of benchmark N under py-spy (pyinstrument if
py-spy is missing) and prints the functions with the most own time.

Absolute numbers vary between machines; the ratios are what we compare. Targets:

1. GET throughput over loopback, one keep-alive client: the emulator vs a bare werkzeug app served by
   the same server machinery (`lro_emulator.server.HttpServer`) returning the same bytes and headers, vs a
   pytest-httpserver handler. Target: at least 0.8x the bare app and faster than pytest-httpserver.
2. gRPC GetOperation on one channel: the emulator vs a bare Operations servicer returning the same
   Operation. Target: the emulator's time per call at most 1.10x the bare servicer's.
3. An operation that takes one virtual hour, driven to completion by google-api-core's default polling
   (``operation.from_gapic``) under `VirtualTime`, over REST and over gRPC: wall time (best of 5) and
   polls. Target: under 0.3 s each.
4. Fixture cost: a generated suite of 500 tests using ``lro_emulator`` vs the same tests without it,
   each suite one pytest run in a subprocess (best of 7), less the same suites of one test (what the first use
   of the fixture costs once per run is reported apart). Target: under 1 ms per test.
5. Scale: full pagination (page size 1000) through 1k, 10k and 100k operations, with and without a
   filter. Target: linear growth (each 10x more operations costs about 10x, under 15x); the time to add
   them and the memory per stored operation are reported. ``--million`` (not with the others by default:
   minutes, and a few GB) also measures 100k against 1M operations, each size alone in the process: adding
   them, the first and a repeated full listing, and ``emu.operations``. Target: at most 12x, with the cyclic
   GC's share of the time (timed with ``gc.callbacks``) under 10%; memory and GC-tracked objects per
   operation are reported.
6. Zero-change testing: the REST hour of benchmark 3, four ways interleaved: a client that names no endpoint,
   answered in-process through ``emu.intercept()``; the same client pointed at ``emu.url`` over loopback; at a
   do-nothing WSGI app on the same keep-alive server, answering the same bytes on the same virtual clock; and
   the `responses` library answering them. Targets: in-process at most 0.55x the socket and below 1.0x
   responses; the socket at most 1.15x the do-nothing stub.
7. The plugin's cost to every pytest run once the package is installed, in a fresh venv with only pytest and the
   package (``--quick``: in this environment): ``pytest --collect-only`` of a one-test folder with the plugin vs
   ``-p no:lro_emulator`` (target: at most 1.10x), ``import lro_emulator`` (under 80 ms), and the first test that
   uses the fixture against one that does not (reported, with the emulator's import separated out).

Contenders are measured in interleaved rounds (A B C A B C ...) and the best round counts. Every answer
is checked (status and bytes), and the client counts the TCP connections it had to open: a server that
closes connections after each answer is reported below the table. Loopback only; every loop is bounded.
The exit status is 0 whatever the targets say (timings are not tests); an error in a benchmark is 1.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import gc
import http.client
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import freezegun.api
import grpc
from google.api_core import operation, operations_v1
from google.api_core.operations_v1.transports.rest import OperationsRestTransport
from google.auth.credentials import AnonymousCredentials
from google.cloud.workflows_v1.types import workflows
from google.longrunning import operations_pb2, operations_pb2_grpc
from profiling import profile_benchmark
from pytest_httpserver import HTTPServer

from lro_emulator import Emulator, VirtualTime
from lro_emulator.rest.server import HttpServer

STRUCT = "type.googleapis.com/google.protobuf.Struct"
METADATA = {"@type": STRUCT, "value": {"progress": 50, "state": "RUNNING", "target": "workflows/w"}}
RESPONSE = {"@type": STRUCT, "value": {"name": "workflows/w", "state": "ACTIVE"}}


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark does (``--quick`` shrinks all of it)."""

    get_requests: int = 1000
    get_rounds: int = 5
    grpc_calls: int = 200
    grpc_rounds: int = 100
    round_budget: float = 3.0
    hour_runs: int = 5
    hour_seconds: int = 3600
    suite_tests: int = 500
    suite_runs: int = 7
    scale: tuple[int, int, int] = (1_000, 10_000, 100_000)
    scale_repeats: int = 5
    list_budget: float = 0.3
    memory_sample: int = 10_000
    #: ``--million``: benchmark 5 also compares these two sizes, each alone in the process (minutes).
    million: bool = False
    million_sizes: tuple[int, int] = (100_000, 1_000_000)
    million_repeats: int = 3


QUICK = Sizes(get_requests=100, get_rounds=2, grpc_calls=100, grpc_rounds=2, round_budget=0.5, hour_runs=1,
              hour_seconds=600, suite_tests=50, suite_runs=1, scale=(10, 100, 1_000), scale_repeats=1, list_budget=0.05,
              memory_sample=100, million_sizes=(1_000, 10_000), million_repeats=1)


@dataclass
class Row:
    """One line of the table: ``ok`` None is information without a target."""

    bench: int
    name: str
    measured: str
    ratio: str = ""
    target: str = ""
    ok: bool | None = None


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check(condition: bool, context: object) -> None:
    """A benchmark that got a wrong answer measured nothing: stop it (not an assert: ``python -O`` drops those)."""
    if not condition:
        raise AssertionError(f"unexpected: {context!r}")


def duration_text(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def ratio_text(value: float) -> str:
    return f"{value:.2f}x"


# -- a keep-alive HTTP client that counts its connections -------------------------------------------


class KeepAliveClient:
    """One ``http.client`` connection reused for every request; it counts the TCP connections it opened.

    http.client reopens the connection by itself when a server closed it (``Connection: close``), so the
    count is exact: one for a server that keeps connections alive, one per request for one that does not.
    """

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        check(parts.hostname == "127.0.0.1", url)
        self._connection = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=30)
        self.connections = 0
        self.requests = 0
        self.closing_answers = 0

    def get(self, path: str) -> tuple[int, http.client.HTTPMessage, bytes]:
        if self._connection.sock is None:
            self.connections += 1
        self.requests += 1
        self._connection.request("GET", path)
        answer = self._connection.getresponse()
        body = answer.read()
        if (answer.getheader("Connection") or "").lower() == "close":
            self.closing_answers += 1
        return answer.status, answer.headers, body

    def close(self) -> None:
        self._connection.close()


def constant_app(body: bytes, headers: list[tuple[str, str]]) -> Callable[..., Iterable[bytes]]:
    """A WSGI app answering every request with ``body`` and ``headers``: the bare app of benchmark 1."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", headers)
        return [body]

    return app


def interleaved(contenders: Mapping[str, Callable[[], float]], rounds: int,
                best: Callable[[float, float], float] = min) -> dict[str, float]:
    """Run each contender once per round, in turn (A B C A B C ...); the best round of each."""
    results: dict[str, float] = {}
    for _ in range(rounds):
        for label, run in contenders.items():
            value = run()
            results[label] = best(results[label], value) if label in results else value
    return results


def throughput(call: Callable[[], None], count: int, budget: float) -> float:
    """Calls per second of ``count`` sequential calls, or of as many as fit in ``budget`` seconds."""
    started = time.perf_counter()
    done = 0
    while done < count:
        call()
        done += 1
        if time.perf_counter() - started > budget:
            break
    return done / (time.perf_counter() - started)


# -- 1. GET throughput ----------------------------------------------------------------------------


def bench_get(sizes: Sizes, report: Report, emulator_only: bool = False) -> None:
    logging.getLogger("werkzeug").addHandler(logging.NullHandler())  # pytest-httpserver's access log: not to the tty
    with Emulator() as emu, contextlib.ExitStack() as stack:
        op = emu.add_operation(metadata=METADATA)
        path = f"/v1/{op.name}"
        probe = KeepAliveClient(emu.url)
        status, answer_headers, expected = probe.get(path)
        probe.close()
        check(status == 200, (status, expected))
        content_type = answer_headers["Content-Type"]
        bare = HttpServer(constant_app(expected, [("Content-Type", content_type),
                                                  ("Content-Length", str(len(expected)))]))
        bare.start()
        stack.callback(bare.stop)
        httpserver = HTTPServer(host="127.0.0.1")
        httpserver.expect_request(path, method="GET").respond_with_data(expected, content_type=content_type)
        httpserver.start()
        stack.callback(httpserver.stop)
        urls = {"emulator": emu.url, "bare werkzeug": bare.url, "pytest-httpserver": httpserver.url_for("/")}
        if emulator_only:
            urls = {"emulator": emu.url}
        clients = {label: KeepAliveClient(url) for label, url in urls.items()}
        for client in clients.values():
            stack.callback(client.close)
        for label, client in clients.items():
            status, headers, body = client.get(path)
            check(status == 200 and body == expected, (label, status, body))
            if label == "bare werkzeug":
                emulator_headers = {k: v for k, v in answer_headers.items() if k != "Date"}
                bare_headers = {k: v for k, v in headers.items() if k != "Date"}
                check(bare_headers == emulator_headers, (bare_headers, emulator_headers))

        def caller(client: KeepAliveClient) -> Callable[[], None]:
            def call() -> None:
                status, _headers, body = client.get(path)
                if status != 200 or body != expected:
                    raise AssertionError(f"unexpected answer {status}: {body[:200]!r}")
            return call

        calls = {label: caller(client) for label, client in clients.items()}
        for call in calls.values():
            throughput(call, sizes.get_requests // 10, sizes.round_budget / 10)  # warm-up
        rounds = {label: functools.partial(throughput, call, sizes.get_requests, sizes.round_budget)
                  for label, call in calls.items()}
        rate = interleaved(rounds, sizes.get_rounds, max)
        check(op.polls == 1 + clients["emulator"].requests, (op.polls, clients["emulator"].requests))
    if emulator_only:
        return
    against_bare = rate["emulator"] / rate["bare werkzeug"]
    against_httpserver = rate["emulator"] / rate["pytest-httpserver"]
    report.rows.append(Row(1, "GET keep-alive: emulator vs bare werkzeug app",
                           f"{rate['emulator']:,.0f} vs {rate['bare werkzeug']:,.0f} req/s",
                           ratio_text(against_bare), ">= 0.80x", against_bare >= 0.8))
    report.rows.append(Row(1, "GET keep-alive: emulator vs pytest-httpserver",
                           f"{rate['emulator']:,.0f} vs {rate['pytest-httpserver']:,.0f} req/s",
                           ratio_text(against_httpserver), "> 1.00x", against_httpserver > 1.0))
    for label, client in clients.items():
        if client.connections > 1:
            report.notes.append(
                f"1: {label} opened {client.connections} TCP connections for {client.requests} GETs on one "
                f"keep-alive client ({client.closing_answers} answers said 'Connection: close'): no keep-alive")
        else:
            report.notes.append(f"1: {label} kept one TCP connection alive for {client.requests} GETs")
    report.notes.append(f"1: answer: {len(expected)} bytes, {content_type}; {sizes.get_requests} GETs per round "
                        f"(or {sizes.round_budget:g} s), {sizes.get_rounds} interleaved rounds, best round")


# -- 2. gRPC GetOperation --------------------------------------------------------------------------


class ConstantOperations(operations_pb2_grpc.OperationsServicer):  # type: ignore[misc]
    """The bare servicer of benchmark 2: GetOperation answers the same Operation every time."""

    def __init__(self, answer: operations_pb2.Operation) -> None:
        self._answer = answer

    def GetOperation(self, request: operations_pb2.GetOperationRequest, context: grpc.ServicerContext) -> Any:
        return self._answer


def bench_grpc(sizes: Sizes, report: Report, emulator_only: bool = False) -> None:
    with Emulator() as emu, contextlib.ExitStack() as stack:
        op = emu.add_operation(metadata=METADATA)
        request = operations_pb2.GetOperationRequest(name=op.name)
        targets = {"emulator": emu.grpc_target}
        with grpc.insecure_channel(targets["emulator"]) as channel:
            answer = operations_pb2_grpc.OperationsStub(channel).GetOperation(request, timeout=10)
        if not emulator_only:
            # The emulator's own server settings (grpcserver.GrpcServer.start).
            bare = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=[("grpc.so_reuseport", 0)])
            operations_pb2_grpc.add_OperationsServicer_to_server(ConstantOperations(answer), bare)
            targets["bare servicer"] = f"127.0.0.1:{bare.add_insecure_port('127.0.0.1:0')}"
            bare.start()
            stack.callback(lambda: bare.stop(grace=None).wait())
        expected = answer.SerializeToString()

        def runner(target: str) -> Callable[[], float]:
            channel = stack.enter_context(grpc.insecure_channel(target))
            stub = operations_pb2_grpc.OperationsStub(channel)
            got = stub.GetOperation(request, timeout=10)
            check(got.SerializeToString() == expected, (target, got))

            def call() -> None:
                if stub.GetOperation(request, timeout=10).name != answer.name:
                    raise AssertionError("unexpected answer")

            throughput(call, sizes.grpc_calls // 10, sizes.round_budget / 10)  # warm-up
            return functools.partial(throughput, call, sizes.grpc_calls, sizes.round_budget)

        runners = {label: runner(target) for label, target in targets.items()}
        rounds: dict[str, list[float]] = {label: [] for label in runners}
        order = list(runners)
        for _ in range(sizes.grpc_rounds):
            for label in order:
                rounds[label].append(runners[label]())
            order.reverse()  # each goes first in half the rounds: whatever going first costs, both pay it
    if emulator_only:
        return
    # Time per call, the emulator's over the bare servicer's, in each round: the median of these paired ratios. A
    # round of each is a fraction of a second apart, so both meet the same load on the machine; the best round of
    # each (the former method) rode whichever quiet moment one of them happened to get.
    paired = sorted(bare / emulator for emulator, bare in zip(rounds["emulator"], rounds["bare servicer"], strict=True))
    slower = statistics.median(paired)
    best = max(rounds["bare servicer"]) / max(rounds["emulator"])
    report.rows.append(Row(2, "gRPC GetOperation, time per call: emulator / bare servicer",
                           f"{1e6 / statistics.median(rounds['emulator']):,.0f} vs "
                           f"{1e6 / statistics.median(rounds['bare servicer']):,.0f} us (medians)",
                           ratio_text(slower), "<= 1.10x", slower <= 1.10))
    report.notes.append(f"2: {sizes.grpc_calls} unary calls per round (or {sizes.round_budget:g} s) on one channel, "
                        f"{sizes.grpc_rounds} interleaved rounds; the ratio is the median of the rounds' paired ratios "
                        f"(from {paired[0]:.2f}x to {paired[-1]:.2f}x; best round against best round {best:.2f}x); "
                        f"answer {len(expected)} bytes")


# -- 3. one virtual hour -----------------------------------------------------------------------------


@contextlib.contextmanager
def api_core_client(kind: str, emu: Emulator) -> Iterator[Any]:
    if kind == "REST":
        transport = OperationsRestTransport(host=emu.url, credentials=AnonymousCredentials())
        yield operations_v1.AbstractOperationsClient(transport=transport)
    else:
        with grpc.insecure_channel(emu.grpc_target) as channel:
            yield operations_v1.OperationsClient(channel)


def hour_long(emu: Emulator, kind: str, runs: int, duration: int) -> tuple[float, int, int]:
    """Best wall time of waiting on the future of an operation that succeeds after ``duration`` virtual seconds,
    its polls, and the runs done (fewer than ``runs`` once they have taken 15 s: a slow transport misses anyway)."""
    best, polls, done = float("inf"), 0, 0
    spent = 0.0
    while done < runs and spent < 15:
        emu.reset()
        with VirtualTime(emu.clock, seed=0), api_core_client(kind, emu) as client:
            op = emu.add_operation().succeed(workflows.Workflow(name="w"), at=duration)
            # perf_counter is frozen under VirtualTime; freezegun keeps the real one.
            started = freezegun.api.real_perf_counter()
            first = client.get_operation(op.name)
            future = operation.from_gapic(first, client, workflows.Workflow)
            future.result(timeout=3 * duration)
            seconds = freezegun.api.real_perf_counter() - started
            check(future.done() and op.done, op)
        best, polls, done, spent = min(best, seconds), op.polls, done + 1, spent + seconds
    return best, polls, done


def bench_hour(sizes: Sizes, report: Report, emulator_only: bool = False) -> None:
    with Emulator() as emu:
        for kind in ("REST", "gRPC"):
            seconds, polls, runs = hour_long(emu, kind, sizes.hour_runs, sizes.hour_seconds)
            virtual = "1 h" if sizes.hour_seconds == 3600 else f"{sizes.hour_seconds / 60:g} min"
            report.rows.append(Row(3, f"{virtual} virtual, api-core default polling, {kind}",
                                   f"{seconds:.3f} s wall, {polls} polls, best of {runs}",
                                   f"{sizes.hour_seconds / seconds:,.0f}x", "< 0.300 s", seconds < 0.3))
    report.notes.append("3: ratio = virtual time / wall time; google-api-core's sync Operations clients, "
                        "operation.from_gapic(...).result() under VirtualTime(seed=0)")


# -- 4. fixture cost ---------------------------------------------------------------------------------

SUITE_HEADER = f"""\
META = {METADATA!r}
RESPONSE = {RESPONSE!r}


class Store:
    \"\"\"The same work as the emulator's Python API, on a plain object.\"\"\"

    def __init__(self):
        self.operations = {{}}

    def add(self, metadata):
        name = f"projects/p/locations/l/operations/op-{{len(self.operations) + 1}}"
        self.operations[name] = {{"name": name, "metadata": metadata}}
        return name

    def succeed(self, name, response):
        self.operations[name].update(done=True, response=response)

    def snapshot(self, name):
        return dict(self.operations[name])
"""

SUITE_TESTS = {
    "without": """
def test_{n}():
    store = Store()
    name = store.add(META)
    store.succeed(name, RESPONSE)
    assert store.snapshot(name)["response"] == RESPONSE
""",
    "fixture only": """
def test_{n}(lro_emulator):
    store = Store()
    name = store.add(META)
    store.succeed(name, RESPONSE)
    assert store.snapshot(name)["response"] == RESPONSE
""",
    "with": """
def test_{n}(lro_emulator):
    op = lro_emulator.add_operation(metadata=META)
    op.succeed(RESPONSE)
    assert lro_emulator.operation(op.name).snapshot()["response"] == RESPONSE
""",
}

FILES = 10


def write_suite(root: Path, kind: str, tests: int) -> Path:
    suite = root / f"{kind.replace(' ', '-')}-{tests}"
    suite.mkdir()
    (suite / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    per_file = -(-tests // FILES)
    for index in range(FILES):
        numbers = range(index * per_file, min(tests, (index + 1) * per_file))
        if numbers:
            body = "".join(SUITE_TESTS[kind].format(n=n) for n in numbers)
            (suite / f"test_generated_{index}.py").write_text(SUITE_HEADER + body)
    return suite


def run_suite(suite: Path, tests: int) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=suite,
                          capture_output=True, text=True, timeout=600, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or f"{tests} passed" not in done.stdout:
        raise RuntimeError(f"the generated suite {suite.name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def bench_fixture(sizes: Sizes, report: Report, emulator_only: bool = False) -> None:
    """Each kind of suite at one test and at ``suite_tests``: the difference is what the tests after the first cost,
    apart from what the first use of the fixture costs once per run (importing the emulator, freezegun's scan,
    starting the server), which benchmark 7 breaks down."""
    kinds = ["with"] if emulator_only else list(SUITE_TESTS)
    counts = (1, sizes.suite_tests)
    with tempfile.TemporaryDirectory(prefix="lro-bench-") as tmp:
        suites = {(kind, count): write_suite(Path(tmp), kind, count) for kind in kinds for count in counts}
        best = interleaved({f"{kind} {count}": functools.partial(run_suite, suite, count)
                            for (kind, count), suite in suites.items()}, sizes.suite_runs)
    if emulator_only:
        return
    many = sizes.suite_tests

    def later(kind: str) -> float:
        """The seconds the tests after the first take in a suite of ``kind``."""
        return best[f"{kind} {many}"] - best[f"{kind} 1"]

    per_test = {kind: (later(kind) - later("without")) / (many - 1) * 1000 for kind in ("with", "fixture only")}
    first = (best["with 1"] - best["without 1"]) * 1000
    report.rows.append(Row(4, f"fixture cost per test: {many} tests with vs without, beyond the first",
                           f"{later('with'):.2f} s vs {later('without'):.2f} s",
                           f"{per_test['with']:.2f} ms/test", "< 1.00 ms/test", per_test["with"] < 1.0))
    report.rows.append(Row(4, "  the fixture alone (the tests script nothing)",
                           f"{later('fixture only'):.2f} s vs {later('without'):.2f} s",
                           f"{per_test['fixture only']:.2f} ms/test"))
    report.rows.append(Row(4, "  once per run: a one-test suite with vs without",
                           f"{best['with 1']:.2f} s vs {best['without 1']:.2f} s", f"{first:.0f} ms"))
    report.notes.append(f"4: each suite is one `pytest -q -p no:cacheprovider` subprocess, {FILES} files (one with a "
                        f"single test), best of {sizes.suite_runs}; the tests beyond the first = the {many}-test "
                        "suite's time less the one-test suite's; 'with' adds an operation, succeeds it and reads it "
                        "back per test")


# -- 5. scale ----------------------------------------------------------------------------------------

#: Each size is listed once without a filter first (that list renders every operation and checks it against
#: the schema once), then again, without and with a filter, in interleaved rounds across the sizes.
FIRST = "first list, no filter"
AGAIN = {"again, no filter": "", "again, filter done=true": "done=true"}


def fill(emu: Emulator, count: int) -> float:
    """Add ``count`` operations, every second one done; the seconds it took."""
    started = time.perf_counter()
    for index in range(count):
        op = emu.add_operation(metadata=METADATA)
        if index % 2:
            op.succeed(RESPONSE)
    return time.perf_counter() - started


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def size_label(count: int) -> str:
    if count >= 1_000_000 and count % 1_000_000 == 0:
        return f"{count // 1_000_000}M"
    return f"{count // 1000}k" if count >= 1000 and count % 1000 == 0 else str(count)


def bench_scale(sizes: Sizes, report: Report, emulator_only: bool = False) -> None:
    """Three sizes side by side and, with ``--million``, 100k against 1M one after the other."""
    bench_scale_together(sizes, report, emulator_only)
    if sizes.million:
        bench_million(sizes, report, emulator_only)


def bench_scale_together(sizes: Sizes, report: Report, emulator_only: bool = False) -> None:
    """One emulator per size, all alive at once, so the repeated lists can be measured in interleaved rounds."""
    add_seconds: dict[int, float] = {}
    list_seconds: dict[tuple[str, int], float] = {}
    rss_per_op = 0.0
    with contextlib.ExitStack() as stack:
        clients: dict[int, tuple[str, str]] = {}  # the url and parent of each size's emulator
        for count in sizes.scale:
            emu = stack.enter_context(Emulator())
            before = rss_bytes()
            add_seconds[count] = fill(emu, count)
            rss_per_op = (rss_bytes() - before) / count  # the largest size's is reported
            clients[count] = emu.url, emu.profile.default_parent

        def lister(count: int, label: str, filter_: str, budget: float) -> Callable[[], float]:
            def run() -> float:
                """The best of as many lists as fit in ``budget`` seconds (at least one, at most 50), by a client
                in a process of its own (`bench/lister.py`: parsing pages here, the client's own objects would make
                the collector walk every emulator's operations again and again, its cost and not theirs)."""
                url, parent = clients[count]
                found = listings(url, parent, count // 2 if filter_ else count, 50, filter_, budget)
                return min(timing.seconds for timing in found)
            return run

        for count in sizes.scale:
            list_seconds[FIRST, count] = lister(count, FIRST, "", budget=0)()
        for label, filter_ in AGAIN.items():
            best = interleaved({str(count): lister(count, label, filter_, sizes.list_budget) for count in sizes.scale},
                               sizes.scale_repeats)
            list_seconds.update({(label, count): best[str(count)] for count in sizes.scale})
        emu = stack.enter_context(Emulator())
        tracemalloc.start()
        try:
            before_traced = tracemalloc.get_traced_memory()[0]
            fill(emu, sizes.memory_sample)
            traced_per_op = (tracemalloc.get_traced_memory()[0] - before_traced) / sizes.memory_sample
        finally:
            tracemalloc.stop()
    if emulator_only:
        return
    small, middle, large = sizes.scale

    def growth(name: str, seconds: dict[int, float]) -> None:
        measured = ", ".join(f"{size_label(c)} {duration_text(seconds[c])}" for c in sizes.scale)
        for low, high in ((small, middle), (middle, large)):
            factor = seconds[high] / seconds[low]
            report.rows.append(Row(5, f"{name}: {size_label(high)} / {size_label(low)}", measured, ratio_text(factor),
                                   "~10x, < 15x", factor < 15))
            measured = ""

    for list_label in (FIRST, *AGAIN):
        growth(f"paginate, {list_label}", {c: list_seconds[list_label, c] for c in sizes.scale})
    report.rows.append(Row(5, "add_operation (Python API), per operation",
                           ", ".join(f"{size_label(c)} {add_seconds[c] / c * 1e6:,.0f} us" for c in sizes.scale)))
    report.rows.append(Row(5, "memory per stored operation",
                           f"{traced_per_op:,.0f} B traced ({size_label(sizes.memory_sample)}), "
                           f"{rss_per_op:,.0f} B RSS ({size_label(large)})"))
    report.notes.append("5: half the operations are done (succeeded with a small Struct), each has Struct metadata; "
                        "pages of 1000 over one keep-alive connection by bench/lister.py, a client in a process of its "
                        "own (one per list and round; in this one, its parsed pages would make the collector walk every"
                        " emulator's operations: its cost), every operation listed exactly once; the first "
                        "list of each size is one run (it renders and schema-checks each operation once); the "
                        f"others: {sizes.scale_repeats} rounds interleaved across the sizes, each the best of the "
                        f"lists that fit in {sizes.list_budget:g} s, best round")


# -- 5, --million: 100k against 1M, one after the other ---------------------------------------------

#: What each size may cost against the smaller: linear growth with room for noise, and how much of it the
#: cyclic garbage collector may take.
MILLION_FACTOR = 12.0
MILLION_GC_SHARE = 0.10


class GcTimer:
    """The time the cyclic GC takes while entered, from `gc.callbacks` (a collection on any thread counts)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._started: float | None = None

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.seconds += time.perf_counter() - self._started
            self.collections[info["generation"]] += 1
            self._started = None

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


@dataclass(frozen=True)
class Timing:
    """Some runs of one step: their mean, and the GC's share of their time.

    The mean, not the best: a run at 1M spans seconds, and other load on the machine always takes its share of
    them, while the best of several short runs at 100k would pick quiet moments that no 1M run gets.
    """

    seconds: float  # all runs
    runs: int
    gc_seconds: float
    full_collections: int
    #: The collections the runs left due, run at the first allocation after each (see `timed`).
    after_seconds: float = 0.0
    #: The CPU time this process (all its threads) spent in the runs: what other load on the machine moves less.
    cpu: float = 0.0

    @property
    def mean(self) -> float:
        return self.seconds / self.runs

    @property
    def cpu_mean(self) -> float:
        return self.cpu / self.runs

    @property
    def gc_share(self) -> float:
        return self.gc_seconds / self.seconds if self.seconds else 0.0

    def text(self) -> str:
        after = f" + {duration_text(self.after_seconds / self.runs)} after" if self.after_seconds >= 0.0005 else ""
        return f"{duration_text(self.mean)} (GC {self.gc_share:.0%}{after})"


class _Probe:
    """An object allocated after a timed call: CPython collects at an allocation once its counts pass a threshold."""


def _probe() -> _Probe:
    # A Python call: where CPythons that schedule a due collection rather than run it at once (3.12+) run it.
    return _Probe()


def timed(call: Callable[[], object], runs: int = 1) -> Timing:
    """``runs`` calls, and the GC's share of their time.

    A call may leave collections due (had it paused the collector while it built its answer, the young collection
    visiting what it built would run at the next allocation, in the caller's code): they are timed apart, as
    ``after_seconds``, by allocating once after the call.
    """
    total, after, cpu = 0.0, 0.0, 0.0
    with GcTimer() as timer:
        for _ in range(runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            result = call()
            total, cpu = total + time.perf_counter() - started, cpu + time.process_time() - cpu_started
            inside = timer.seconds
            due = _probe()
            after += timer.seconds - inside
            del due, result  # freeing what the call built is not its cost
    return Timing(total, runs, timer.seconds - after, timer.collections[2], after, cpu)


LISTER = Path(__file__).resolve().parent / "lister.py"


def listings(url: str, parent: str, count: int, runs: int, filter_: str = "",
             budget: float = float("inf")) -> list[Timing]:
    """``runs`` full listings by `lister.py` in a process of its own (see there why), fewer once they took
    ``budget`` seconds, each with the GC and CPU time this process spent while it ran (the child reports each
    listing as it ends)."""
    found: list[Timing] = []
    command = [sys.executable, str(LISTER), url, parent, str(runs), filter_, str(budget)]
    with GcTimer() as timer, subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        gc_seconds, full, cpu = timer.seconds, timer.collections[2], time.process_time()
        for line in child.stdout:
            run = json.loads(line)
            check(run["listed"] == count, (count, run))
            found.append(Timing(run["seconds"], 1, timer.seconds - gc_seconds, timer.collections[2] - full,
                                cpu=time.process_time() - cpu))
            gc_seconds, full, cpu = timer.seconds, timer.collections[2], time.process_time()
    check(child.returncode == 0 and 0 < len(found) <= runs, (child.returncode, found))
    return found


def together(timings: list[Timing]) -> Timing:
    return Timing(sum(t.seconds for t in timings), sum(t.runs for t in timings), sum(t.gc_seconds for t in timings),
                  sum(t.full_collections for t in timings), sum(t.after_seconds for t in timings),
                  sum(t.cpu for t in timings))


def tracked_objects() -> int:
    """How many objects the cyclic GC tracks, after a full collection."""
    gc.collect()
    return len(gc.get_objects())


@dataclass(frozen=True)
class MillionSize:
    add: Timing
    first: Timing
    again: Timing
    operations: Timing
    rss_per_op: float
    tracked_per_op: float


def million_size(count: int, repeats: int) -> MillionSize:
    """Fill one emulator with ``count`` operations, then list them and take their handles, timing each step.

    Nothing is collected between the steps: the collector meets each one as it finds it after the one before, as
    in a test that adds operations and then lists them.
    """
    with Emulator() as emu:
        tracked = tracked_objects()
        rss = rss_bytes()
        add = timed(lambda: fill(emu, count))
        rss_per_op = (rss_bytes() - rss) / count
        first, *again = listings(emu.url, emu.profile.default_parent, count, 1 + repeats)

        def handles() -> int:
            # Taken and read through, as a test does: each handle is made as it is read.
            found = emu.operations
            done = sum(1 for operation in found if operation.done)
            check(len(found) == count and done == count // 2, (count, len(found), done))  # see fill()
            return done

        operations = timed(handles, repeats)
        tracked_per_op = (tracked_objects() - tracked) / count
    return MillionSize(add, first, together(again), operations, rss_per_op, tracked_per_op)


def bench_million(sizes: Sizes, report: Report, emulator_only: bool = False) -> None:
    """Each size alone in the process (the smaller one gone before the larger is filled), so that neither pays
    for collecting the other's objects."""
    measured: dict[int, MillionSize] = {}
    for count in sizes.million_sizes:
        print(f"   5. --million: {size_label(count)} operations ...", file=sys.stderr, flush=True)
        measured[count] = million_size(count, sizes.million_repeats)
        gc.collect()
    if emulator_only:
        return
    small, large = sizes.million_sizes
    names = f"{size_label(large)} / {size_label(small)}"
    for label, step in (("add_operation, all of them", "add"), ("first listing", "first"),
                        ("listing again", "again"), ("emu.operations", "operations")):
        low, high = getattr(measured[small], step), getattr(measured[large], step)
        factor = high.mean / low.mean
        ok = factor <= MILLION_FACTOR and max(low.gc_share, high.gc_share) < MILLION_GC_SHARE
        report.rows.append(Row(5, f"{label}: {names}",
                               f"{size_label(small)} {low.text()}, {size_label(large)} {high.text()}",
                               ratio_text(factor), f"<= {MILLION_FACTOR:g}x, GC < {MILLION_GC_SHARE:.0%}", ok))
    report.rows.append(Row(5, "memory per stored operation, GC-tracked objects per operation",
                           "; ".join(f"{size_label(c)} {m.rss_per_op:,.0f} B RSS, {m.tracked_per_op:.2f} tracked"
                                     for c, m in measured.items())))
    cpu = ", ".join(f"{step} {getattr(measured[large], step).cpu_mean / getattr(measured[small], step).cpu_mean:.1f}x"
                    for step in ("add", "first", "again", "operations") if getattr(measured[small], step).cpu)
    fulls = ", ".join(f"{size_label(c)} " + "/".join(str(getattr(m, step).full_collections)
                                                    for step in ("add", "first", "again", "operations"))
                      for c, m in measured.items())
    report.notes.append(
        f"5: --million: {size_label(small)} and then {size_label(large)} operations, each size alone in the process "
        "(the smaller freed first). The operations above, added with add_operation; listed in pages of 1000 by "
        "bench/lister.py, a client in a process of its own (parsing pages in this one, a client makes the collector "
        "run full collections over the whole heap for its own objects); the handles taken with emu.operations. "
        f"First listing one run, again and emu.operations the mean of {sizes.million_repeats}. GC = the share of "
        "the time (all runs) this process spent in collections, timed with gc.callbacks; '+ x after' = a "
        "collection a call left due, run at the first allocation after it and timed apart (emu.operations, "
        "here read through asking each handle whether it is done, makes each handle as it is read); "
        f"full collections (add/first/again/operations): {fulls}; tracked = objects the GC tracks per operation "
        "once listed and polled for handles, after a full collection; the same ratios in CPU time of this process "
        f"(which other load on the machine moves less): {cpu}")


# -- 6. zero-change testing: the same REST virtual hour four ways ------------------------------------

ZERO_CHANGE_NAME = "projects/p/locations/l/operations/op-1"
#: api-core's Operations REST transport's own default host: the client names no endpoint of its own.
GOOGLE_HOST = "longrunning.googleapis.com"


def canned_operation(done: bool) -> bytes:
    """What a stub answers for the hour-long operation: running, then done with a Workflow."""
    document: dict[str, Any] = {"name": ZERO_CHANGE_NAME, "metadata": METADATA}
    if done:
        document.update(done=True, response={"@type": "type.googleapis.com/google.cloud.workflows.v1.Workflow",
                                             "name": "w"})
    return json.dumps(document, separators=(",", ":")).encode()


def hour_wait(client: Any, clock: Any) -> tuple[float, int]:
    """Wall time of api-core's default polling waiting out the hour-long operation, and the polls it took."""
    polls = [0]
    get = client.get_operation

    def counted(*args: Any, **kwargs: Any) -> Any:
        polls[0] += 1
        return get(*args, **kwargs)

    started = freezegun.api.real_perf_counter()
    with VirtualTime(clock, seed=0):
        client.get_operation = counted
        first = client.get_operation(ZERO_CHANGE_NAME)
        future = operation.from_gapic(first, client, workflows.Workflow)
        result = future.result(timeout=3 * 3600)
    check(result.name == "w", result)
    return freezegun.api.real_perf_counter() - started, polls[0]


def bench_zero_change(sizes: Sizes, report: Report, emulator_only: bool = False) -> None:
    import responses  # the alternative compared: library-level interception of requests

    from lro_emulator import DEFAULT_START, VirtualClock

    duration = sizes.hour_seconds
    polls: dict[str, int] = {}
    with Emulator() as emu, emu.bypass_proxies():
        clocks = [VirtualClock(DEFAULT_START)]  # the stubs' clock: a fresh one for each run
        deadline = clocks[0].now() + timedelta(seconds=duration)
        running, done = canned_operation(False), canned_operation(True)

        def stub(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            body = done if clocks[0].now() >= deadline else running
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]

        stub_server = HttpServer(stub, "127.0.0.1", 0)
        stub_server.start()

        def client(host: str | None) -> Any:
            transport = (OperationsRestTransport(host=host, credentials=AnonymousCredentials()) if host
                         else OperationsRestTransport(credentials=AnonymousCredentials()))
            return operations_v1.AbstractOperationsClient(transport=transport)

        def emulator_run(label: str, intercept: bool) -> Callable[[], float]:
            def run() -> float:
                emu.reset()
                emu.add_operation(ZERO_CHANGE_NAME, METADATA).succeed(workflows.Workflow(name="w"), at=duration)
                with emu.intercept() if intercept else contextlib.nullcontext():
                    seconds, polls[label] = hour_wait(client(None if intercept else emu.url), emu.clock)
                return seconds
            return run

        def stub_run() -> float:
            clocks[0] = VirtualClock(DEFAULT_START)
            seconds, polls["stub"] = hour_wait(client(stub_server.url), clocks[0])
            return seconds

        def responses_run() -> float:
            clocks[0] = VirtualClock(DEFAULT_START)

            def answer(request: Any) -> tuple[int, dict[str, str], bytes]:
                return 200, {"Content-Type": "application/json"}, done if clocks[0].now() >= deadline else running

            with responses.RequestsMock() as mock:
                mock.add_callback(responses.GET, f"https://{GOOGLE_HOST}/v1/{ZERO_CHANGE_NAME}", callback=answer)
                seconds, polls["responses"] = hour_wait(client(None), clocks[0])
            return seconds

        try:
            contenders = {"in-process": emulator_run("in-process", True), "socket": emulator_run("socket", False),
                          "stub": stub_run, "responses": responses_run}
            if emulator_only:
                contenders = {"in-process": contenders["in-process"], "socket": contenders["socket"]}
            # At least two rounds: the first pays for warming up (imports, the first connection, caches).
            rounds = max(2, sizes.hour_runs)
            best = interleaved(contenders, rounds)
        finally:
            stub_server.stop()
    check(len(set(polls.values())) == 1, polls)  # the same polls every way: the same work was timed
    if emulator_only:
        return
    virtual = "1 h" if duration == 3600 else f"{duration / 60:g} min"
    count = next(iter(polls.values()))
    for label, target, limit, against in (("in-process", "<= 0.55x socket", 0.55, "socket"),
                                          ("in-process", "< 1.00x responses", 1.0, "responses"),
                                          ("socket", "<= 1.15x stub", 1.15, "stub")):
        ratio = best[label] / best[against]
        ok = ratio < limit if limit == 1.0 else ratio <= limit
        report.rows.append(Row(6, f"{virtual} virtual over REST, {label} vs {against}",
                               f"{best[label]:.3f} s vs {best[against]:.3f} s, {count} polls",
                               ratio_text(ratio), target, ok))
    report.notes.append("6: api-core's REST Operations client waits out the same operation with its default "
                        "polling under VirtualTime: in-process through emu.intercept() (no endpoint named), over "
                        "loopback to emu.url, to a do-nothing WSGI app on the same keep-alive server, and to "
                        f"responses answering the same bytes; best of {rounds} interleaved rounds; "
                        "ratio = wall time / the other's")



# -- 7. the plugin's cost to a pytest run ------------------------------------------------------------

ONE_TEST = "def test_one():\n    assert True\n"
ONE_FIXTURE_TEST = "def test_one(lro_emulator):\n    assert lro_emulator.operations == []\n"


def minimal_environment(root: Path) -> str:
    """A fresh virtual environment holding only this package (from this checkout) and pytest: its python."""
    import venv

    environment = root / "venv"
    venv.create(environment, with_pip=True)
    python = str(environment / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    str(Path(__file__).resolve().parent.parent), "pytest"], check=True, capture_output=True,
                   timeout=600)
    return python


def command_seconds(command: list[str], cwd: Path) -> float:
    """Wall time of one run of ``command`` (which must succeed)."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False, env=environ)
    seconds = time.perf_counter() - started
    check(done.returncode == 0, done.stdout + done.stderr)
    return seconds


def bench_plugin_cost(sizes: Sizes, report: Report, emulator_only: bool = False) -> None:
    quick = sizes is QUICK
    rounds = 1 if quick else 15
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        # Quick mode measures in this environment (its other plugins included): building one takes a minute.
        python = sys.executable if quick else minimal_environment(root)
        where = "this environment" if quick else "a venv with only pytest and lro-emulator"
        plain, fixture = root / "plain", root / "fixture"
        for folder, text in ((plain, ONE_TEST), (fixture, ONE_FIXTURE_TEST)):
            folder.mkdir()
            (folder / "test_one.py").write_text(text)
        pytest_command = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        contenders = {
            "collect, plugin": lambda: command_seconds([*pytest_command, "--collect-only"], plain),
            "collect, -p no:lro_emulator": lambda: command_seconds(
                [*pytest_command, "--collect-only", "-p", "no:lro_emulator"], plain),
            "import lro_emulator": lambda: command_seconds([python, "-c", "import lro_emulator"], root),
            "python alone": lambda: command_seconds([python, "-c", "pass"], root),
            "import the emulator": lambda: command_seconds([python, "-c", "import lro_emulator.emulator"], root),
            "run, no fixture": lambda: command_seconds(pytest_command, plain),
            "run, fixture": lambda: command_seconds(pytest_command, fixture),
        }
        if emulator_only:
            contenders = {"collect, plugin": contenders["collect, plugin"]}
        elif quick:  # seconds, not a minute: the fixture's first use is measured in full runs only
            for label in ("import the emulator", "run, no fixture", "run, fixture"):
                del contenders[label]
        runs: dict[str, list[float]] = {label: [] for label in contenders}
        for _ in range(rounds):
            for label, run in contenders.items():
                runs[label].append(run())
    if emulator_only:
        return
    median = {label: statistics.median(seconds) for label, seconds in runs.items()}
    collect = median["collect, plugin"] / median["collect, -p no:lro_emulator"]
    # The target holds in the minimal venv; this environment's other plugins make the quick ratio noise.
    report.rows.append(Row(7, f"pytest --collect-only, one test, {where}: plugin vs -p no:lro_emulator",
                           f"{duration_text(median['collect, plugin'])} vs "
                           f"{duration_text(median['collect, -p no:lro_emulator'])}", ratio_text(collect),
                           "<= 1.10x", None if quick else collect <= 1.10))
    imported = median["import lro_emulator"] - median["python alone"]
    report.rows.append(Row(7, "import lro_emulator (a process's time beyond python -c pass)",
                           duration_text(max(imported, 0.0)), "", "< 80 ms", imported < 0.080))
    if not quick:
        first = median["run, fixture"] - median["run, no fixture"]
        emulator_import = median["import the emulator"] - median["python alone"]
        report.rows.append(Row(7, "the first test using the fixture, beyond a test without it",
                               f"{duration_text(first)}: {duration_text(emulator_import)} importing the emulator, "
                               f"{duration_text(max(first - emulator_import, 0.0))} the rest"))
    report.notes.append(f"7: medians of {rounds} interleaved rounds of whole commands in {where}; the first "
                        "fixture use's rest is freezegun's first scan of the loaded modules, starting the HTTP "
                        "server and one test's setup")

# -- the table ---------------------------------------------------------------------------------------

BENCHMARKS: dict[int, tuple[str, Callable[[Sizes, Report, bool], None]]] = {
    1: ("GET throughput", bench_get),
    2: ("gRPC GetOperation", bench_grpc),
    3: ("one virtual hour", bench_hour),
    4: ("fixture cost", bench_fixture),
    5: ("scale", bench_scale),
    6: ("zero-change REST hour", bench_zero_change),
    7: ("the plugin's cost to a pytest run", bench_plugin_cost),
}


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def machine() -> str:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = []
    for package in ("lro-emulator", "werkzeug", "grpcio", "pytest-httpserver", "google-api-core", "pytest"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    load = f" load average {load_average()};" if hasattr(os, "getloadavg") else ""
    return (f"machine: {model}, {usable} cores usable of {os.cpu_count()}, {platform.system()} {platform.release()};"
            f"{load}\n"
            f"python: {platform.python_implementation()} {platform.python_version()}; {', '.join(versions)}")


def format_table(rows: list[Row]) -> str:
    header = ("#", "benchmark", "measured", "ratio", "target", "result")
    cells = [header] + [(str(r.bench), r.name, r.measured, r.ratio, r.target,
                         "-" if r.ok is None else "PASS" if r.ok else "MISS") for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for index, row in enumerate(cells):
        lines.append("  ".join(cell.rjust(w) if i == 3 else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def parse_only(text: str) -> list[int]:
    numbers = sorted({int(part) for part in text.split(",") if part.strip()})
    unknown = [n for n in numbers if n not in BENCHMARKS]
    if unknown or not numbers:
        raise argparse.ArgumentTypeError(f"benchmarks are numbered 1 to {len(BENCHMARKS)}, not {text!r}")
    return numbers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and loops: a few seconds in all")
    parser.add_argument("--only", type=parse_only, default=list(BENCHMARKS), metavar="N[,N]",
                        help="run only these benchmarks (1-7)")
    parser.add_argument("--profile", type=int, choices=list(BENCHMARKS), metavar="N",
                        help="profile benchmark N's emulator side and print the frames with the most own time")
    parser.add_argument("--million", action="store_true",
                        help="benchmark 5 also compares 100k against 1M operations (minutes, and a few GB)")
    parser.add_argument("--emulator-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    if args.million:
        sizes = dataclasses.replace(sizes, million=True)
    if args.profile is not None:
        return profile_benchmark(Path(__file__), args.profile, args.quick,
                                 lambda: BENCHMARKS[args.profile][1](sizes, Report(), True))
    print(machine(), flush=True)
    report = Report()
    failed = False
    for number in args.only:
        title, bench = BENCHMARKS[number]
        print(f"running {number}. {title} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            bench(sizes, report, args.emulator_only)
        except Exception as error:  # one broken benchmark must not hide the others' numbers
            failed = True
            report.rows.append(Row(number, f"{title}: ERROR", type(error).__name__, ok=False))
            report.notes.append(f"{number}: ERROR {type(error).__name__}: {error}")
        print(f"   {number}. {title}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    if args.emulator_only:
        return 1 if failed else 0
    print()
    print(format_table(report.rows))
    if report.notes:
        print()
        print("\n".join(report.notes))
    misses = [row for row in report.rows if row.ok is False]
    print()
    if hasattr(os, "getloadavg"):
        print(f"load average at the end: {load_average()} (other processes' load makes the numbers noisy)")
    print(f"{len(misses)} of {sum(row.ok is not None for row in report.rows)} targets missed"
          if misses else "every target met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
