"""The HTTP server keeps connections alive: polling clients reuse one connection for hundreds of polls.

Each test talks to the emulator over a raw `http.client` connection on loopback and watches whether
the server kept or closed it, including after requests whose body the emulator never read.
"""

from __future__ import annotations

import http.client
import inspect
import json
import re
import socket
import socketserver
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer, WSGIRequestHandler

from lro_emulator import Emulator
from lro_emulator.rest.server import _QuietHandler, _Server  # internal: the werkzeug internals they lean on


@pytest.fixture
def connection(lro_emulator: Emulator) -> Iterator[http.client.HTTPConnection]:
    port = urllib.parse.urlsplit(lro_emulator.url).port
    assert port is not None
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    client.connect()
    yield client
    client.close()


def _ask(
    connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    connection.request(method, path, body=body, headers=headers or {})
    answer = connection.getresponse()
    return answer.status, {key.lower(): value for key, value in answer.getheaders()}, answer.read()


def test_many_polls_share_one_connection(lro_emulator: Emulator, connection: http.client.HTTPConnection) -> None:
    op = lro_emulator.add_operation()
    sock = connection.sock

    answers = [_ask(connection, "GET", f"/v1/{op.name}") for _ in range(20)]

    assert [status for status, _, _ in answers] == [200] * 20
    assert all("connection" not in headers for _, headers, _ in answers)
    assert connection.sock is sock
    assert op.polls == 20


def test_an_unread_body_is_drained_so_the_next_request_is_read_correctly(
    lro_emulator: Emulator, connection: http.client.HTTPConnection
) -> None:
    op = lro_emulator.add_operation()
    sock = connection.sock

    # No route takes this POST, so the emulator answers without reading its 64 KiB body.
    missed, _, body = _ask(connection, "POST", "/v1/projects/p/jobs/x", body=b"x" * 65536,
                           headers={"Content-Type": "application/json"})
    polled, headers, operation = _ask(connection, "GET", f"/v1/{op.name}")

    assert missed == 404
    assert json.loads(body)["error"]["status"] == "NOT_FOUND"
    assert (polled, json.loads(operation)["name"]) == (200, op.name)
    assert "connection" not in headers
    assert connection.sock is sock


def test_an_oversized_body_is_refused_and_the_connection_stays_usable(
    lro_emulator: Emulator, connection: http.client.HTTPConnection
) -> None:
    op = lro_emulator.add_operation()

    refused, _, body = _ask(connection, "POST", f"/v1/{op.name}:cancel", body=b"{" + b" " * (2 << 20) + b"}",
                            headers={"Content-Type": "application/json"})
    polled, _, _ = _ask(connection, "GET", f"/v1/{op.name}")

    assert refused == 400
    assert "larger than 1048576 bytes" in json.loads(body)["error"]["message"]
    assert polled == 200
    assert not op.done


@pytest.mark.parametrize(
    ("request_line", "headers"),
    [
        pytest.param("GET {path} HTTP/1.1", "Host: 127.0.0.1\r\nConnection: close\r\n", id="client-says-close"),
        pytest.param("GET {path} HTTP/1.0", "", id="http-1.0"),
    ],
)
def test_a_client_that_does_not_keep_alive_gets_connection_close(
    lro_emulator: Emulator, request_line: str, headers: str
) -> None:
    op = lro_emulator.add_operation()
    port = urllib.parse.urlsplit(lro_emulator.url).port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(f"{request_line.format(path='/v1/' + op.name)}\r\n{headers}\r\n".encode())
        received = b""
        while chunk := raw.recv(65536):  # the server closes the connection after its answer
            received += chunk

    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nConnection: close" in head
    assert json.loads(body)["name"] == op.name


def _raw_exchange(lro_emulator: Emulator, request: bytes, *, then: bytes = b"") -> bytes:
    """Send ``request``, read the first answer bytes, send ``then``, and read until the server closes."""
    port = urllib.parse.urlsplit(lro_emulator.url).port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(request)
        received = raw.recv(65536)
        if then:
            raw.sendall(then)
        raw.shutdown(socket.SHUT_WR)
        while chunk := raw.recv(65536):
            received += chunk
    return received


def test_expect_100_continue_is_answered_once(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()

    received = _raw_exchange(lro_emulator, (f"POST /v1/{op.name}:cancel HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                            "application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
                                            ).encode(), then=b"{}")

    assert received.count(b"100 Continue") == 1
    assert b"HTTP/1.1 200 OK" in received
    assert op.done


def test_a_content_length_that_is_not_ascii_digits_is_refused_with_an_envelope(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()

    received = _raw_exchange(lro_emulator, (f"POST /v1/{op.name}:cancel HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                            "application/json\r\nContent-Length: \xb2\r\n\r\n{}").encode("latin-1"))

    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body)["error"]["status"] == "INVALID_ARGUMENT"
    assert not op.done


@pytest.mark.parametrize("version", [b"HTTP/9.9", b"HTTP/2.0"])
def test_an_http_version_the_server_does_not_speak_is_answered_505(lro_emulator: Emulator, version: bytes) -> None:
    received = _raw_exchange(lro_emulator,
                             b"GET /v1/projects/p/operations/x " + version + b"\r\nHost: 127.0.0.1\r\n\r\n")

    head, _, body = received.partition(b"\r\n\r\n")
    error = json.loads(body)["error"]
    assert head.startswith(b"HTTP/1.1 505 HTTP Version Not Supported\r\n")
    assert (error["code"], error["status"], error["details"][0]["reason"]) == (
        505, "UNIMPLEMENTED", "HTTP_VERSION_NOT_SUPPORTED")
    assert f"{version.decode()} is not spoken here" in error["message"]
    assert lro_emulator.problems == []


def test_a_chunked_body_is_read_and_the_connection_closed_after_the_answer(lro_emulator: Emulator) -> None:
    """Where a chunked body ends is only known by reading it: werkzeug's make_environ marks it, the handler closes."""
    op = lro_emulator.add_operation()

    received = _raw_exchange(lro_emulator, (f"POST /v1/{op.name}:cancel HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                            "application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                                            "2\r\n{}\r\n0\r\n\r\n").encode())

    head, _, _ = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nConnection: close" in head
    assert op.done


# -- the werkzeug internals the handler is written against (pyproject.toml bounds werkzeug for them) ----------

#: Each method `_QuietHandler` overrides or calls: the class below ours that defines it, and its parameters
#: (without annotations). handle_one_request, send_error, parse_request, handle_expect_100, setup and finish are the
#: standard library's; werkzeug must not take them over.
LEANED_ON: dict[str, tuple[type, list[str]]] = {
    "run_wsgi": (WSGIRequestHandler, ["self"]),
    "make_environ": (WSGIRequestHandler, ["self"]),
    "connection_dropped": (WSGIRequestHandler, ["self", "error", "environ=None"]),
    "handle": (WSGIRequestHandler, ["self"]),
    "log": (WSGIRequestHandler, ["self", "type", "message", "*args"]),
    "send_error": (BaseHTTPRequestHandler, ["self", "code", "message=None", "explain=None"]),
    "parse_request": (BaseHTTPRequestHandler, ["self"]),
    "handle_one_request": (BaseHTTPRequestHandler, ["self"]),
    "handle_expect_100": (BaseHTTPRequestHandler, ["self"]),
    "setup": (socketserver.StreamRequestHandler, ["self"]),
    "finish": (socketserver.StreamRequestHandler, ["self"]),
}
#: The same for the server, `_Server`: werkzeug's constructor it calls, and the standard library's hooks.
SERVER_LEANED_ON: dict[str, tuple[type, list[str]]] = {
    "__init__": (BaseWSGIServer, ["self", "host", "port", "app", "handler=None", "passthrough_errors=False",
                                  "ssl_context=None", "fd=None"]),
    "server_bind": (HTTPServer, ["self"]),
    "verify_request": (socketserver.BaseServer, ["self", "request", "client_address"]),
    "shutdown_request": (socketserver.TCPServer, ["self", "request"]),
    "close_request": (socketserver.TCPServer, ["self", "request"]),
}


@pytest.mark.parametrize(("ours", "name"), [(_QuietHandler, name) for name in sorted(LEANED_ON)]
                         + [(_Server, name) for name in sorted(SERVER_LEANED_ON)])
def test_werkzeug_still_has_the_handler_methods_the_server_overrides(ours: type, name: str) -> None:
    owner, parameters = (LEANED_ON if ours is _QuietHandler else SERVER_LEANED_ON)[name]

    defined_by = next(cls for cls in ours.__mro__[1:] if name in vars(cls))
    signature = inspect.signature(getattr(defined_by, name))

    assert defined_by is owner, f"{name} moved to {defined_by.__qualname__}: re-read werkzeug/serving.py"
    assert [str(parameter.replace(annotation=inspect.Parameter.empty))
            for parameter in signature.parameters.values()] == parameters


def test_werkzeug_sends_every_http_method_to_run_wsgi() -> None:
    handler = object.__new__(_QuietHandler)  # __getattr__ needs no connection

    for method in ("GET", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS", "BREW"):
        assert getattr(handler, f"do_{method}") == handler.run_wsgi


def test_werkzeug_threaded_server_is_still_a_threading_base_server() -> None:
    """`_Server` builds on it as make_server(threaded=True) does: a thread per connection, daemonic."""
    assert ThreadedWSGIServer.__mro__[1:3] == (socketserver.ThreadingMixIn, BaseWSGIServer)
    assert ThreadedWSGIServer.daemon_threads is True


def test_the_installed_werkzeug_is_within_the_bound_pyproject_declares() -> None:
    """The signature tests above speak for the installed version; the bound says which versions that covers."""
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    line = re.search(r'^ *"(werkzeug\b[^"]*)",', pyproject, re.MULTILINE)  # (tomllib is Python 3.11+)
    assert line is not None
    werkzeug = Requirement(line[1])

    assert werkzeug.specifier.contains(metadata.version("werkzeug"))
    assert any(spec.operator == "<" for spec in werkzeug.specifier), "werkzeug is used beyond its public API"
