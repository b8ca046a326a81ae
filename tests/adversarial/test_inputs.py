"""Hostile input (the adversarial suite): each attack that once hung, grew without bound or lost state.

Every test here sends what an adversarial run sent and states the bound the emulator now keeps (in time,
memory or what is left standing). The bounds are generous against the machine's speed: each attack took
seconds to minutes, or gigabytes, before its fix.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import re
import signal
import socket
import subprocess
import threading
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from lro_emulator import Emulator
from lro_emulator.core.globs import Glob  # internal: the matcher under test

from ..helpers import console_script, until, wall

# -- wildcards in linear time ------------------------------------------------------------------------------

#: The name the attack targets: it nearly matches the pattern, so a backtracking matcher tries every split.
NEARLY = "projects/p/operations/" + "a" * 60
ATTACK = "*a" * 10 + "b"  # ten wildcards; the regular expression took over two minutes
BOUND_SECONDS = 1.0


def test_a_filter_with_many_wildcards_answers_at_once(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation(NEARLY)
    started = wall()

    response = Client(lro_emulator.wsgi_app).get(f'/v1/projects/p/operations?filter=name="{ATTACK}"')

    assert wall() - started < BOUND_SECONDS
    assert (response.status_code, response.get_json()) == (200, {})


def test_a_fault_aimed_by_a_wildcard_name_costs_nothing_per_call(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation(NEARLY)
    lro_emulator.fault(name=ATTACK).error("UNAVAILABLE")
    started = wall()

    responses = [Client(lro_emulator.wsgi_app).get(f"/v1/{op.name}") for _ in range(20)]

    assert wall() - started < BOUND_SECONDS * 5
    assert {response.status_code for response in responses} == {200}


def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(map(re.escape, pattern.split("*"))), re.DOTALL)


@settings(max_examples=500, deadline=None)
@given(pattern=st.text(alphabet="ab*/", max_size=12), text=st.text(alphabet="ab/", max_size=16))
def test_the_glob_matches_what_the_regular_expression_did(pattern: str, text: str) -> None:
    assert Glob.of(pattern).fullmatch(text) == (_regex(pattern).fullmatch(text) is not None)


@pytest.mark.parametrize(("pattern", "text", "expected"), [
    ("a*a", "a", False), ("a*a", "aa", True), ("*", "", True), ("**", "x", True), ("ab*ba", "aba", False),
])
def test_the_glob_does_not_count_a_character_twice(pattern: str, text: str, expected: bool) -> None:
    assert Glob.of(pattern).fullmatch(text) is expected


# -- YAML aliases ----------------------------------------------------------------------------------------

#: 306 bytes that expand to 9^9 (387 million) values: a "billion laughs".
LAUGHS = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n" for previous, name in zip("abcdefgh", "bcdefghi",
                                                                                       strict=True))


def _load(emu: Emulator, text: str) -> Any:
    return Client(emu.wsgi_app).post("/_emulator/v1/scenario:load", data=text,
                                     headers={"Content-Type": "application/yaml"})


def test_a_billion_laughs_is_refused_at_once_in_little_memory(lro_emulator: Emulator) -> None:
    tracemalloc.start()
    started = wall()
    try:
        response = _load(lro_emulator, LAUGHS)
        elapsed, peak = wall() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert len(LAUGHS) < 400
    assert response.status_code == 400
    assert "expands to more than 100,000 values through its aliases" in response.get_json()["error"]["message"]
    assert elapsed < BOUND_SECONDS
    assert peak < 20 * 2**20
    assert lro_emulator.problems == []


def test_an_alias_inside_itself_is_a_bad_scenario_and_keeps_nothing(lro_emulator: Emulator) -> None:
    responses = [_load(lro_emulator, "a: &a {b: *a}") for _ in range(200)]

    assert {response.status_code for response in responses} == {400}
    assert "an alias refers to a value that contains it" in responses[0].get_json()["error"]["message"]
    assert lro_emulator.problems == []  # was: 500 EMULATOR_BUG, and ~1.3 MB kept per request


def test_aliases_that_expand_modestly_still_load(lro_emulator: Emulator) -> None:
    metadata = '{"@type": type.googleapis.com/google.protobuf.Struct, value: {team: ml}}'
    text = (f"operations:\n  - {{parent: projects/p, metadata: &m {metadata}}}\n"
            "  - {parent: projects/p, metadata: *m}\n")

    response = _load(lro_emulator, text)

    assert response.status_code == 200, response.get_json()
    assert [op.snapshot()["metadata"]["value"] for op in lro_emulator.operations] == [{"team": "ml"}] * 2


# -- routing cost bounded by the path's length ----------------------------------------------------------------


@pytest.mark.parametrize("profile", ["generic", "vertex"])
def test_a_path_of_thousands_of_segments_is_refused_before_it_is_routed(profile: str) -> None:
    emu = Emulator(profile=profile)
    op = emu.add_operation(parent=emu.profile.default_parent)
    http = Client(emu.wsgi_app)
    started = wall()

    response = http.post("/v1/" + "operations/" * 4000 + "x:cancel")  # 44 KB: five seconds in the matcher before

    assert wall() - started < BOUND_SECONDS
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == ("the path is 44,012 characters long; the emulator routes "
                                                       "paths of at most 2,048")
    assert http.get(f"/v1/{op.name}").status_code == 200


def test_a_name_past_its_bound_is_refused_over_grpc_too(lro_emulator: Emulator) -> None:
    import grpc
    from google.longrunning import operations_pb2, operations_pb2_grpc

    with grpc.insecure_channel(lro_emulator.grpc_target) as channel:
        stub = operations_pb2_grpc.OperationsStub(channel)
        with pytest.raises(grpc.RpcError) as error:
            stub.GetOperation(operations_pb2.GetOperationRequest(name="operations/" + "x" * 5000), timeout=30)

    assert error.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "operation names are at most 1,024" in error.value.details()


# -- the near-miss search, bounded and outside the lock ------------------------------------------------------


def test_a_miss_searches_for_near_names_without_holding_the_lock(
    lro_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for index in range(3000):
        lro_emulator.add_operation(f"projects/p/operations/op-{index}")
    state = lro_emulator._current()
    searched: list[tuple[bool, int]] = []
    original = difflib.get_close_matches

    def searching(word: str, possibilities: list[str], *args: Any, **kwargs: Any) -> list[str]:
        def another_client() -> None:  # what any other request would need meanwhile
            taken = state.lock.acquire(timeout=5)
            if taken:
                state.lock.release()
            searched.append((taken, len(possibilities)))

        other = threading.Thread(target=another_client)
        other.start()
        other.join()
        return original(word, possibilities, *args, **kwargs)

    monkeypatch.setattr(difflib, "get_close_matches", searching)
    response = Client(lro_emulator.wsgi_app).get("/v1/projects/p/operations/op-99999")

    assert response.status_code == 404
    assert "did you mean" in response.get_json()["error"]["message"]
    assert searched == [(True, 2000)]  # another thread took the lock meanwhile; at most 2,000 names compared


# -- the call log: bounded, without credentials, valid JSON ------------------------------------------


def test_the_call_log_keeps_the_last_calls_and_counts_the_others() -> None:
    emu = Emulator(max_calls=100)
    op = emu.add_operation()
    http = Client(emu.wsgi_app)

    for _ in range(1000):
        http.get(f"/v1/{op.name}")

    assert 90 <= len(emu.calls) <= 100
    assert emu.calls.dropped + len(emu.calls) == 1000
    page = http.get("/_emulator/v1/calls?since=995").get_json()
    assert (page["next"], page["dropped"], len(page["calls"])) == (1000, emu.calls.dropped, 5)
    assert len(http.get("/_emulator/v1/calls?since=0").get_json()["calls"]) == len(emu.calls)


def test_what_the_log_keeps_of_a_call_is_bounded(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()
    http = Client(lro_emulator.wsgi_app)

    http.post(f"/v1/{op.name}:cancel", json={"padding": "x" * 500_000},
              headers={f"X-Header-{index}": "v" * 10_000 for index in range(200)})

    call = lro_emulator.calls.last
    assert call.body == "(a body of 500,014 characters, not kept)"
    assert len(call.headers) <= 64
    assert max(len(value) for value in call.headers.values()) < 1100


def test_the_control_plane_never_shows_credentials(lro_emulator: Emulator) -> None:
    lro_emulator.require_auth(token="secret-token", api_key="secret-key")
    op = lro_emulator.add_operation()
    http = Client(lro_emulator.wsgi_app)
    http.get(f"/v1/{op.name}", headers={"Authorization": "Bearer secret-token"})
    http.get(f"/v1/{op.name}?key=secret-key")

    shown = http.get("/_emulator/v1/calls").get_data(as_text=True)

    assert "secret" not in shown
    assert shown.count("(redacted)") == 2
    assert lro_emulator.calls[0].headers["authorization"] == "Bearer secret-token"  # the test's own process sees it


def test_an_infinite_number_in_a_refused_body_leaves_the_log_valid_json(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()
    http = Client(lro_emulator.wsgi_app)

    refused = http.post(f"/v1/{op.name}:wait", data='{"timeout": 1e400}', content_type="application/json")
    shown = http.get("/_emulator/v1/calls")

    assert refused.status_code == 400
    assert shown.status_code == 200
    assert json.loads(shown.get_data(as_text=True))["calls"][0]["body"] == {"timeout": "Infinity"}


# -- log lines cannot be forged -------------------------------------------------------------------------------


def test_a_path_with_control_characters_prints_one_escaped_line() -> None:
    from ..test_cli import Server

    server = Server(["serve", "--port", "0", "--no-demo"])
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
            connection.sendall(b"GET /v1/x%0a%1b%5b31mFORGED HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            while connection.recv(65536):
                pass
        found = server.expect(r"\[.*\] http GET .*")
        line = found.group(0)
    finally:
        server.close()

    assert "/v1/x\\x0a\\x1b[31mFORGED -> 404 NOT_FOUND" in line
    assert "\n" not in line
    assert "\x1b" not in line


# -- page tokens bound to the state that issued them ---------------------------------------------------------------


def _first_page_token(http: Client, parent: str, filter_text: str = "") -> str:
    query = f"?pageSize=1&filter={filter_text}" if filter_text else "?pageSize=1"
    token = http.get(f"/v1/{parent}/operations{query}").get_json()["nextPageToken"]
    assert isinstance(token, str)
    return token


def _refused(http: Client, url: str) -> None:
    answer = http.get(url)
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["details"][0]["reason"] == "INVALID_PAGE_TOKEN"


def test_a_page_token_from_before_a_reset_is_refused(lro_emulator: Emulator) -> None:
    http = Client(lro_emulator.wsgi_app)
    for _ in range(3):
        lro_emulator.add_operation(parent="projects/p")
    token = _first_page_token(http, "projects/p")
    lro_emulator.reset()
    for _ in range(3):
        lro_emulator.add_operation(parent="projects/p")

    _refused(http, f"/v1/projects/p/operations?pageSize=1&pageToken={token}")


def _forged(token: str, parent: str) -> str:
    """``token`` rebound to ``parent`` the way a client who read an unkeyed scheme would rebind it."""
    import base64
    import hashlib

    version, after, _ = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(".")
    binding = base64.urlsafe_b64encode(hashlib.sha256(f"{parent}\x00".encode()).digest()[:9]).decode()
    return base64.urlsafe_b64encode(f"{version}.{after}.{binding}".encode()).decode().rstrip("=")


def test_a_page_token_cannot_be_forged_for_another_parent(lro_emulator: Emulator) -> None:
    http = Client(lro_emulator.wsgi_app)
    for parent in ("projects/a", "projects/b"):
        for _ in range(3):
            lro_emulator.add_operation(parent=parent)
    token = _first_page_token(http, "projects/a")

    _refused(http, f"/v1/projects/b/operations?pageSize=1&pageToken={_forged(token, 'projects/b')}")
    _refused(http, f"/v1/projects/b/operations?pageSize=1&pageToken={token}")
    _refused(http, f'/v1/projects/a/operations?pageSize=1&filter=done=false&pageToken={token}')
    assert http.get(f"/v1/projects/a/operations?pageSize=1&pageToken={token}").status_code == 200


# -- a log nobody reads ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _serve(tmp_path: Any, *, stdout: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``lro-emulator serve`` with its stdout a pipe nobody reads (``"unread"``) or closed outright (``"closed"``):
    the process and its REST address once its ready file appears; killed, however the test ends."""
    ready = tmp_path / "ready.json"
    command = [console_script(), "serve", "--port", "0", "--no-demo", "--ready-file", str(ready)]
    if stdout == "closed":  # a daemon started with >&-: Python then has no sys.stdout at all
        command = ["/bin/sh", "-c", 'exec "$0" "$@" >&-', *command]
    server = subprocess.Popen(command, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              stdout=subprocess.PIPE if stdout == "unread" else None)
    watchdog = threading.Timer(120, server.kill)
    watchdog.start()
    try:
        assert until(lambda: ready.exists() or server.poll() is not None, 30)
        yield server, json.loads(ready.read_text())["rest"]
    finally:
        watchdog.cancel()
        server.kill()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()


def test_a_server_whose_output_nobody_reads_keeps_serving(tmp_path: Any) -> None:
    # stdout is a pipe nobody reads: it fills after 64 KiB, a few hundred log lines.
    with _serve(tmp_path, stdout="unread") as (server, url), requests.Session() as session:
        session.post(f"{url}/_emulator/v1/operations", json={"name": "projects/p/operations/x"}, timeout=10)
        statuses = {session.get(f"{url}/v1/projects/p/operations/x", timeout=10).status_code
                    for _ in range(3000)}  # about 300 KB of log lines
        server.send_signal(signal.SIGTERM)
        status = server.wait(timeout=20)

    assert statuses == {200}
    assert status == 0


def test_a_server_started_without_standard_output_serves_and_removes_its_ready_file(tmp_path: Any) -> None:
    with _serve(tmp_path, stdout="closed") as (server, url):
        answer = requests.get(f"{url}/_emulator/v1", timeout=10)
        server.send_signal(signal.SIGTERM)
        status = server.wait(timeout=20)

    assert answer.status_code == 200
    assert status == 0
    assert not (tmp_path / "ready.json").exists()
