"""The ``lro-emulator`` console script, run as a person would: subprocesses answering over loopback.

``serve`` loads scenario files (or the demo), prints where it serves and a line per request, answers
urllib and curl, keeps a real clock by default that the control plane moves (``--manual`` keeps it
still, ``--speed`` hurries it, and waits block in real time), serves gRPC from the same state, and
stops cleanly on SIGINT and SIGTERM, releasing its port. Bad input (a conflicting ``--profile``, a
broken or missing scenario, a bad option) exits 2 with the reason on stderr and serves nothing.
``validate`` prints an ``ok`` line per good file and each fault as ``file:line: /pointer: message``.
Every process is bounded by a watchdog and read by threads; nothing sleeps to wait for it.
"""

from __future__ import annotations

import json
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import pytest

import lro_emulator

from .helpers import STRUCT, console_script

DEMO_PARENT = "projects/demo/locations/global"
START = "2030-01-01T00:00:00Z"
# A generous bound on anything that should take about a second; the watchdog kills a hung server.
GUARD_SECONDS = 10.0
WATCHDOG_SECONDS = 60.0

SCENARIO = f"""\
# yaml-language-server: $schema=../schemas/scenario.schema.json
description: An hour-long export and one that is ten hours long.
profile: generic
start: "{START}"
operations:
  - name: projects/my-project/operations/export-hour
    metadata: {{"@type": {STRUCT}, value: {{state: RUNNING}}}}
    steps:
      - at: 3600s
        metadata: {{"@type": {STRUCT}, value: {{state: SUCCEEDED}}}}
        response: {{"@type": {STRUCT}, value: {{rows: 1000}}}}
  - name: projects/my-project/operations/export-ten-hours
    metadata: {{"@type": {STRUCT}, value: {{state: RUNNING}}}}
    steps:
      - at: 36000s
        done: true
"""
HOUR_OP = "projects/my-project/operations/export-hour"
TEN_HOURS_OP = "projects/my-project/operations/export-ten-hours"
FIRST_LINE = re.compile(r"lro-emulator \((?P<profile>[\w-]+) profile, (?P<clock>[^)]+)\) serving on "
                        r"(?P<url>http://127\.0\.0\.1:(?P<port>\d+))(?: and gRPC on (?P<grpc>127\.0\.0\.1:\d+))?")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The script run to completion (bounded), its output captured."""
    return subprocess.run([console_script(), *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


class Server:
    """A running ``lro-emulator serve``: its output lines as they come (read by threads), its addresses."""

    def __init__(self, args: list[str]) -> None:
        self.process = subprocess.Popen([console_script(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        stdin=subprocess.DEVNULL, text=True)
        self.watchdog = threading.Timer(WATCHDOG_SECONDS, self.process.kill)  # a hung server must not hang the suite
        self.watchdog.start()
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.errors: list[str] = []
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self.readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.lines.put), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.errors.append), daemon=True),
        ]
        for reader in self.readers:
            reader.start()
        self.first_line = self.next_line()
        found = FIRST_LINE.fullmatch(self.first_line)
        assert found, f"unexpected first line {self.first_line!r}; stderr: {self.stderr()}"
        self.profile, self.clock_mode = found["profile"], found["clock"]
        self.url, self.port, self.grpc_target = found["url"], int(found["port"]), found["grpc"]

    @staticmethod
    def _read(stream: IO[str], put: Callable[[Any], None]) -> None:
        for line in stream:
            put(line.rstrip("\n"))
        put(None)

    def next_line(self, timeout: float = GUARD_SECONDS) -> str:
        """The next line printed on stdout; fails if none comes within ``timeout`` or the output ended."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no output line within {timeout}s; lines so far: {self.seen}")
        assert line is not None, f"stdout closed; lines so far: {self.seen}; stderr: {self.stderr()}"
        self.seen.append(line)
        return line

    def expect(self, pattern: str) -> re.Match[str]:
        """Read lines until one matches ``pattern`` entirely (within the guard); its match."""
        deadline = time.monotonic() + GUARD_SECONDS
        while True:
            line = self.next_line(timeout=max(deadline - time.monotonic(), 0.01))
            found = re.fullmatch(pattern, line)
            if found:
                return found

    def stop(self, signum: int) -> tuple[int, list[str]]:
        """Send ``signum``; the exit status and the rest of stdout."""
        self.process.send_signal(signum)
        status = self.process.wait(timeout=GUARD_SECONDS)
        rest = []
        while (line := self.lines.get(timeout=GUARD_SECONDS)) is not None:
            rest.append(line)
        return status, rest

    def stderr(self) -> str:
        return "\n".join(line for line in self.errors if line is not None)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.watchdog.cancel()
        for reader in self.readers:
            reader.join(timeout=GUARD_SECONDS)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    """Start ``lro-emulator ARGS... --port 0`` (bound to loopback); every server is killed after the test."""
    servers: list[Server] = []

    def start(*args: str, port: bool = True) -> Server:
        server = Server([*args, "--port", "0"] if port else list(args))
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.close()


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    """The scenario file the servers load."""
    path = tmp_path / "exports.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def call(url: str, method: str = "GET", body: Any = None, timeout: float = GUARD_SECONDS) -> Any:
    """One JSON request with urllib; the decoded answer (an HTTP error raises)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def instant(timestamp: str) -> datetime:
    """An RFC 3339 timestamp with ``Z``, as the control plane writes it."""
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def port_is_closed(port: int) -> bool:
    """Whether nothing accepts connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except OSError:
        return True


# -- serve ---------------------------------------------------------------------------------------------


def test_serve_prints_its_addresses_and_what_it_loaded(serve: Callable[..., Server], scenario: Path) -> None:
    server = serve("serve", str(scenario))

    control = server.next_line()
    loaded = server.next_line()

    assert (server.profile, server.clock_mode, server.grpc_target) == ("generic", "real-time clock", None)
    assert control == (f"  control plane: {server.url}/_emulator/v1  "
                       f"(OpenAPI: {server.url}/_emulator/openapi.json)")
    assert loaded == f"  loaded {scenario}"
    status = call(f"{server.url}/_emulator/v1")
    assert (status["profile"], status["operations"], status["clock"], status["http"]) == (
        "generic", 2, {"mode": "real", "speed": 1.0}, server.url)


def test_serve_answers_urllib_and_prints_a_line_per_request(serve: Callable[..., Server], scenario: Path) -> None:
    server = serve("serve", str(scenario))

    got = call(f"{server.url}/v1/{HOUR_OP}")
    listed = call(f"{server.url}/v1/projects/my-project/operations")
    with pytest.raises(urllib.error.HTTPError) as missing:
        call(f"{server.url}/v1/projects/my-project/operations/nope")

    assert got == {"name": HOUR_OP, "metadata": {"@type": STRUCT, "value": {"state": "RUNNING"}}}
    assert [op["name"] for op in listed["operations"]] == [HOUR_OP, TEN_HOURS_OP]
    assert missing.value.code == 404
    missing.value.close()
    when = r"\[2030-01-01T00:00:\d\d(?:\.\d+)?Z\]"
    server.expect(rf"{when} http GET /v1/{HOUR_OP} -> 200 OK  GetOperation {HOUR_OP}")
    server.expect(rf"{when} http GET /v1/projects/my-project/operations -> 200 OK  ListOperations projects/my-project")
    server.expect(rf"{when} http GET /v1/projects/my-project/operations/nope -> 404 NOT_FOUND  GetOperation "
                  r"projects/my-project/operations/nope")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_serve_answers_curl(serve: Callable[..., Server], scenario: Path) -> None:
    server = serve("serve", str(scenario), "--manual")
    curl = shutil.which("curl")
    assert curl is not None

    advanced = subprocess.run([curl, "-s", f"{server.url}/_emulator/v1/clock:advance",
                               "--json", '{"duration": "3600s"}'], capture_output=True, text=True, timeout=30)
    got = subprocess.run([curl, "-s", f"{server.url}/v1/{HOUR_OP}"], capture_output=True, text=True, timeout=30)

    assert (advanced.returncode, json.loads(advanced.stdout)) == (0, {"time": "2030-01-01T01:00:00Z"})
    assert got.returncode == 0
    assert json.loads(got.stdout) == {
        "name": HOUR_OP, "done": True,
        "metadata": {"@type": STRUCT, "value": {"state": "SUCCEEDED"}},
        "response": {"@type": STRUCT, "value": {"rows": 1000}},
    }
    server.expect(rf"\[2030-01-01T01:00:00Z\] http GET /v1/{HOUR_OP} -> 200 OK  GetOperation {HOUR_OP}")


def test_the_control_plane_moves_the_real_time_clock(serve: Callable[..., Server], scenario: Path) -> None:
    server = serve("serve", str(scenario))
    before = call(f"{server.url}/v1/{HOUR_OP}")

    advanced = call(f"{server.url}/_emulator/v1/clock:advance", "POST", {"duration": "3600s"})
    after = call(f"{server.url}/v1/{HOUR_OP}")
    other = call(f"{server.url}/v1/{TEN_HOURS_OP}")

    assert before.get("done", False) is False
    assert advanced["time"].startswith("2030-01-01T01:00:")
    assert (after["done"], after["response"]) == (True, {"@type": STRUCT, "value": {"rows": 1000}})
    assert other.get("done", False) is False


@pytest.mark.parametrize(("mode", "moves"), [pytest.param([], True, id="real-time"),
                                             pytest.param(["--manual"], False, id="manual")])
def test_only_a_real_time_clock_moves_by_itself(
    serve: Callable[..., Server], scenario: Path, mode: list[str], moves: bool
) -> None:
    server = serve("serve", str(scenario), "--quiet", *mode)
    first = call(f"{server.url}/_emulator/v1/clock")["time"]
    for _ in range(20):  # real time passes while the server answers these
        call(f"{server.url}/v1/{HOUR_OP}")

    second = call(f"{server.url}/_emulator/v1/clock")["time"]

    if moves:
        assert instant(first) < instant(second)
    else:
        assert first == second == START
        assert call(f"{server.url}/_emulator/v1")["clock"] == {"mode": "manual"}


def test_speed_finishes_an_hour_long_operation_within_seconds(serve: Callable[..., Server], scenario: Path) -> None:
    server = serve("serve", str(scenario), "--speed", "3600", "--quiet")
    began = time.monotonic()

    seen = call(f"{server.url}/v1/{HOUR_OP}")
    while not seen.get("done") and time.monotonic() - began < GUARD_SECONDS:
        time.sleep(0.05)  # polling a condition, as a client does; the guard bounds it
        seen = call(f"{server.url}/v1/{HOUR_OP}")
    other = call(f"{server.url}/v1/{TEN_HOURS_OP}")

    assert server.clock_mode == "clock at 3600x"
    assert seen.get("done") is True, f"not done after {GUARD_SECONDS}s of real time"
    assert seen["response"] == {"@type": STRUCT, "value": {"rows": 1000}}
    assert other.get("done", False) is False  # ten virtual hours are ten real seconds: not yet


def test_the_manual_banner_says_waits_block_until_the_control_plane_moves_the_clock(
    serve: Callable[..., Server], scenario: Path
) -> None:
    server = serve("serve", str(scenario), "--manual")

    control = server.next_line()
    manual = server.next_line()
    hint = shlex.split(manual.split(": ", 1)[1].split("; ", 1)[1], comments=True)
    ran = subprocess.run(hint, capture_output=True, text=True, timeout=30)

    assert server.clock_mode == "manual clock"
    assert control.startswith(f"  control plane: {server.url}/_emulator/v1")
    assert manual == (f"  manual clock: it moves only through the control plane, so a :wait (WaitOperation) blocks "
                      f"until its timeout or until the clock is moved to the operation's next step; "
                      f"curl -s {server.url}/_emulator/v1/clock:advance --json '{{\"duration\": \"60s\"}}'"
                      f"   # a minute passes (clock:set sets it)")
    assert (ran.returncode, json.loads(ran.stdout)) == (0, {"time": "2030-01-01T00:01:00Z"})


def test_a_wait_in_manual_mode_returns_not_done_at_its_timeout(serve: Callable[..., Server], scenario: Path) -> None:
    server = serve("serve", str(scenario), "--manual")
    began = time.monotonic()

    waited = call(f"{server.url}/v1/{HOUR_OP}:wait?timeout=0.2s", "POST")

    assert 0.2 <= time.monotonic() - began < GUARD_SECONDS  # it blocked, for real, as long as it was told
    assert waited == {"name": HOUR_OP, "metadata": {"@type": STRUCT, "value": {"state": "RUNNING"}}}
    assert call(f"{server.url}/_emulator/v1/clock")["time"] == START
    server.expect(rf"\[{re.escape(START)}\] http POST /v1/{HOUR_OP}:wait -> 200 OK  WaitOperation {HOUR_OP}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_server_cleanly_and_frees_its_port(
    serve: Callable[..., Server], scenario: Path, signum: int
) -> None:
    server = serve("serve", str(scenario))
    assert call(f"{server.url}/v1/{HOUR_OP}")["name"] == HOUR_OP

    status, rest = server.stop(signum)

    assert status == 0
    assert rest[-1] == "lro-emulator: stopped"
    assert server.stderr() == ""
    assert port_is_closed(server.port)


def test_serve_without_a_scenario_runs_the_demo_whose_hints_work(serve: Callable[..., Server]) -> None:
    server = serve("serve")
    control = server.next_line()
    hints = []
    while (line := server.next_line()) != "Press Ctrl-C to stop.":
        hints.append(line)

    assert (server.profile, server.clock_mode) == ("generic", "real-time clock")
    assert control.startswith(f"  control plane: {server.url}/_emulator/v1")
    assert hints[:3] == ["", "Try:", f"  curl -s {server.url}/v1/{DEMO_PARENT}/operations"]
    curl = shutil.which("curl")
    assert curl is not None
    answers = []
    for hint in hints[2:]:  # each run as it is printed
        words = shlex.split(hint, comments=True)
        assert words[:2] == ["curl", "-s"], hint
        ran = subprocess.run([curl, *words[1:]], capture_output=True, text=True, timeout=30)
        answers.append(json.loads(ran.stdout))
    listed, training, cancelled, filtered, advanced, hour_long = answers
    assert [op["name"] for op in listed["operations"]] == [
        f"{DEMO_PARENT}/operations/{name}" for name in ("export-done", "training", "quota-failed", "hour-long",
                                                        "cancel-me")]
    assert training["metadata"]["value"]["state"] == "PENDING"  # the first of the polls the hint speaks of
    assert cancelled == {}
    assert [op["name"].rsplit("/", 1)[1] for op in filtered["operations"]] == ["export-done", "quota-failed"]
    assert advanced["time"].startswith("2030-01-01T01:00:")
    assert (hour_long["done"], hour_long["response"]["value"]) == (True, {"rows": 1000})


@pytest.mark.parametrize("args", [pytest.param(["--port", "0"], id="no-subcommand"),
                                  pytest.param(["serve", "--port", "0"], id="serve")])
def test_serve_is_the_default_command_and_serves_the_demo(serve: Callable[..., Server], args: list[str]) -> None:
    server = serve(*args, port=False)

    polls = [call(f"{server.url}/v1/{DEMO_PARENT}/operations/training") for _ in range(4)]

    assert [p["metadata"]["value"]["state"] for p in polls] == ["PENDING", "RUNNING", "RUNNING", "SUCCEEDED"]
    assert polls[-1]["response"]["value"] == {"accuracy": 0.93}


def test_no_demo_serves_no_operations(serve: Callable[..., Server]) -> None:
    server = serve("serve", "--no-demo", "--profile", "vertex")

    assert server.profile == "vertex"
    assert call(f"{server.url}/v1/projects/p/locations/us-central1/operations") == {}


def test_grpc_port_serves_grpc_from_the_same_state(serve: Callable[..., Server], scenario: Path) -> None:
    import grpc
    from google.longrunning import operations_pb2, operations_pb2_grpc
    from google.protobuf import json_format, struct_pb2

    server = serve("serve", str(scenario), "--manual", "--grpc-port", "0")
    assert server.grpc_target is not None, server.first_line
    call(f"{server.url}/_emulator/v1/clock:advance", "POST", {"duration": "3600s"})

    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = operations_pb2_grpc.OperationsStub(channel)
        over_grpc = stub.GetOperation(operations_pb2.GetOperationRequest(name=HOUR_OP), timeout=GUARD_SECONDS)
    over_rest = call(f"{server.url}/v1/{HOUR_OP}")

    assert over_grpc.done
    response = struct_pb2.Struct()
    assert over_grpc.response.Unpack(response)
    assert json_format.MessageToDict(response) == over_rest["response"]["value"] == {"rows": 1000}
    server.expect(rf"\[2030-01-01T01:00:00Z\] grpc POST /google\.longrunning\.Operations/GetOperation -> 200 OK  "
                  rf"GetOperation {HOUR_OP}")


# -- serve: refusals -----------------------------------------------------------------------------------


def test_serve_refuses_a_profile_the_scenario_contradicts(scenario: Path) -> None:
    result = run("serve", str(scenario), "--profile", "vertex", "--port", "0")

    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"lro-emulator: the profile differs between --profile: vertex, {scenario}: generic; "
                             "they must agree\n")


def test_serve_refuses_a_broken_scenario_and_serves_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(SCENARIO.replace("        response:", "        respnse:"), encoding="utf-8")

    result = run("serve", str(broken), "--port", "0")

    assert (result.returncode, result.stdout) == (2, "")
    lines = result.stderr.splitlines()
    assert lines == [f"lro-emulator: scenario {broken} has 1 fault, so nothing was loaded:",
                     f"  {broken}:11: /operations/0/steps/0: Additional properties are not allowed "
                     "('respnse' was unexpected) (did you mean 'response'?)"]


def test_serve_refuses_a_missing_scenario(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"

    result = run("serve", str(missing), "--port", "0")

    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"lro-emulator: scenario {missing} has 1 fault, so nothing was loaded:\n"
                             f"  {missing}: /: cannot read the file: No such file or directory\n")


def test_a_bad_option_is_a_clear_error() -> None:
    result = run("--start", "yesterday", "--port", "0")

    assert (result.returncode, result.stdout) == (2, "")
    assert "not an RFC 3339 timestamp" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--manaul"], "lro-emulator: error: unrecognized arguments: --manaul (did you mean --manual?)",
                     id="flag"),
        pytest.param(["serve", "--prot=9000"],
                     "lro-emulator: error: unrecognized arguments: --prot=9000 (did you mean --port?)",
                     id="flag-value"),
        pytest.param(["validate", "x.yaml", "--grcp"],
                     "lro-emulator: error: unrecognized arguments: --grcp (did you mean --grpc?)", id="validate-flag"),
        pytest.param(["--profile", "vertx"],
                     "lro-emulator serve: error: argument --profile: unknown profile 'vertx' (did you mean 'vertex'?); "
                     "use one of generic, earthengine, vertex, cancel-get-list", id="profile"),
    ],
)
def test_a_misspelt_flag_names_the_closest(args: list[str], message: str) -> None:
    result = run(*args)

    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines()[-1] == message


@pytest.mark.parametrize(
    ("args", "content"),
    [
        pytest.param(["--zzzzzz"], "lro-emulator: error: unrecognized arguments: --zzzzzz", id="flag"),
        pytest.param(["--profile", "zzzzzz"], "unknown profile 'zzzzzz'; use one of ", id="profile"),
        pytest.param(["validate", "SCENARIO"], "Additional properties are not allowed ('zzzzzz' was unexpected)",
                     id="scenario-key"),
    ],
)
def test_a_far_off_word_gets_no_suggestion(tmp_path: Path, args: list[str], content: str) -> None:
    scenario = tmp_path / "far.yaml"
    scenario.write_text("zzzzzz: 1\n", encoding="utf-8")

    result = run(*[str(scenario) if arg == "SCENARIO" else arg for arg in args])

    assert result.returncode in (1, 2)
    assert content in result.stderr
    assert "did you mean" not in result.stderr


def test_version_prints_the_package_version() -> None:
    result = run("--version")

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"lro-emulator {lro_emulator.__version__}\n"


# -- validate ------------------------------------------------------------------------------------------


def test_validate_passes_good_files(scenario: Path, tmp_path: Path) -> None:
    other = tmp_path / "one.json"
    other.write_text(json.dumps({"operations": [{"name": "operations/x", "steps": [{"done": True}]}]}),
                     encoding="utf-8")

    result = run("validate", str(scenario), str(other))

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (f"{scenario}: ok (2 operations, 0 starting methods)\n"
                             f"{other}: ok (1 operation, 0 starting methods)\n")


def test_validate_reports_each_fault_with_file_line_and_pointer(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("profile: generic\n"
                      "operations:\n"
                      "  - name: projects/p/operations/a\n"
                      "    steps:\n"
                      "      - at: -5\n"
                      "        done: true\n"
                      "  - name: projects/p/operations/b\n"
                      "    cancel: {mode: later}\n", encoding="utf-8")

    result = run("validate", str(broken))

    assert (result.returncode, result.stdout) == (1, "")
    lines = result.stderr.splitlines()
    assert lines[0] == f"scenario {broken} has 2 faults, so nothing was loaded:"
    assert lines[1].startswith(f"  {broken}:5: /operations/0/steps/0/at: ")
    assert lines[2] == f"  {broken}:8: /operations/1/cancel/mode: 'later' is not one of ['accept', 'ignore', 'refuse']"
    assert len(lines) == 3


def test_validate_reports_every_file_and_fails_if_any_is_bad(scenario: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"profile": "generic",\n "operations": [{"name": "operations/x", "steps": [{"done": false}]}]}\n',
                   encoding="utf-8")

    result = run("validate", str(bad), str(scenario))

    assert result.returncode == 1
    assert result.stdout == f"{scenario}: ok (2 operations, 0 starting methods)\n"
    assert result.stderr.splitlines() == [f"scenario {bad} has 1 fault, so nothing was loaded:",
                                          f"  {bad}:2: /operations/0/steps/0/done: true was expected"]


@pytest.mark.parametrize("key", ["name", "parent"])
@pytest.mark.parametrize("metadata", [True, False], ids=["with-metadata", "without-metadata"])
def test_validate_points_at_an_operation_name_or_parent_the_profile_does_not_serve(
    tmp_path: Path, key: str, metadata: bool
) -> None:
    bad = tmp_path / "bad.yaml"
    entry = [f"  - {key}: locations/x/operations/y"]
    if metadata:
        entry = ["  - metadata: {'@type': type.googleapis.com/google.protobuf.Empty}",
                 f"    {key}: locations/x/operations/y"]
    bad.write_text("\n".join(["profile: earthengine", "operations:", *entry]) + "\n", encoding="utf-8")

    result = run("validate", str(bad))

    assert (result.returncode, result.stdout) == (1, "")
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    line = 4 if metadata else 3
    assert lines[1].startswith(f"  {bad}:{line}: /operations/0/{key}: 'locations/x/operations/y' is not ")


def test_validate_without_files_is_a_usage_error() -> None:
    result = run("validate")

    assert (result.returncode, result.stdout) == (2, "")
    assert "the following arguments are required: FILE" in result.stderr
