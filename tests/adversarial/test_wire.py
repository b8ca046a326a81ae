"""Hostile traffic on the wire (the adversarial suite): connections, framings and request lines.

Every test here sends what an adversarial run sent, over loopback, and states the bound the emulator now keeps:
how many connections it holds and for how long, how much body it reads whatever the framing, which status line a
request line it cannot serve gets, and how long a gRPC status may grow. The time bounds are generous against the
machine's speed: each attack hung, or was served wrongly, before its fix.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import select
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lro_emulator import Emulator
from lro_emulator.rest.server import HttpServer  # internal: the server's limits are its constructor's arguments
from lro_emulator.wire.validation import load_schemas  # internal: the schema every envelope is checked against

from ..helpers import until, wall

#: Real seconds within which a refusal or a close that should come at once does come.
BOUND_SECONDS = 5.0
#: How long a test waits for any answer before it calls the server hung.
READ_TIMEOUT = 10.0


def _port(url: str) -> int:
    port = urllib.parse.urlsplit(url).port
    assert port is not None
    return port


def _read_until_closed(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a timeout fails the test)."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def _exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` on a new connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT) as connection:
        connection.sendall(request)
        return _read_until_closed(connection)


def _answer(received: bytes) -> tuple[bytes, dict[str, str], bytes]:
    """The status line, the headers (lower-case names) and the body of one answer."""
    head, _, body = received.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status.encode("latin-1"), headers, body


def _envelope(received: bytes, status_line: bytes) -> dict[str, object]:
    """The AIP-193 error of an answer that must carry ``status_line`` and a JSON body."""
    status, headers, body = _answer(received)
    assert status == status_line, received[:300]
    assert headers["content-type"] == "application/json; charset=UTF-8"
    assert int(headers["content-length"]) == len(body)
    error: dict[str, object] = json.loads(body)["error"]
    load_schemas().validate("error-envelope", {"error": error})
    return error


def _host(port: int) -> str:
    """The Host header of a request to the server on ``port``: the address it listens on."""
    return f"Host: 127.0.0.1:{port}"


def _get(port: int, name: str, *extra: str) -> bytes:
    return "\r\n".join([f"GET /v1/{name} HTTP/1.1", _host(port), *extra, "", ""]).encode()


@pytest.fixture
def served() -> Iterator[list[HttpServer]]:
    """Servers a test starts on the emulator's app, with its own limits; each is stopped afterwards."""
    servers: list[HttpServer] = []
    yield servers
    for server in servers:
        server.stop()


def _server(served: list[HttpServer], emu: Emulator, **limits: Any) -> HttpServer:
    server = HttpServer(emu.wsgi_app, **limits)
    served.append(server)
    server.start()
    return server


def _handler_threads() -> set[threading.Thread]:
    # socketserver starts one unnamed thread per connection; Python names it after its target.
    return {thread for thread in threading.enumerate() if "process_request_thread" in thread.name}


# -- connections: a cap per server, and an idle timeout ---------------------------------------------------------

CAP = 8


@contextlib.contextmanager
def _connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections to the server, open while inside, all closed after."""
    opened = [socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT) for _ in range(count)]
    try:
        yield opened
    finally:
        for connection in opened:
            connection.close()


def _until(condition: Callable[[], bool]) -> None:
    assert until(condition, READ_TIMEOUT), "the server did not get there"


def _serves(server: HttpServer, name: str) -> None:
    """The server answers a whole GET of ``name`` on a new connection."""
    status, _, body = _answer(_exchange(server.port, _get(server.port, name, "Connection: close")))
    assert (status, json.loads(body)["name"]) == (b"HTTP/1.1 200 OK", name)


def test_a_connection_past_the_cap_of_busy_ones_is_answered_503_at_once_and_a_freed_slot_is_served_again(
    lro_emulator: Emulator, served: list[HttpServer]
) -> None:
    op = lro_emulator.add_operation()
    held = lro_emulator.add_operation()
    lro_emulator.fault(rpc="GetOperation", name=held.name).hang(limit=60)  # each such call holds its connection
    server = _server(served, lro_emulator, max_connections=CAP)
    with _connections(server.port, CAP) as busy:
        for connection in busy:
            connection.sendall(_get(server.port, held.name))
        _until(lambda: len(held.calls) == CAP)  # each call is logged before it is held
        threads = len(_handler_threads())
        started = wall()

        refused = [_exchange(server.port, b"") for _ in range(20)]  # answered before any request is read
        client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=READ_TIMEOUT)
        client.request("GET", f"/v1/{op.name}")
        answer = client.getresponse()

        elapsed = wall() - started
        error = _envelope(refused[0], b"HTTP/1.1 503 Service Unavailable")
        assert elapsed < BOUND_SECONDS
        assert {_answer(each)[2] for each in refused} == {_answer(refused[0])[2]}
        assert b"\r\nConnection: close\r\n" in refused[0]
        assert (answer.status, json.loads(answer.read())["error"]) == (503, error)
        client.close()
        assert (error["code"], error["status"]) == (503, "UNAVAILABLE")
        assert f"{CAP} connections open" in str(error["message"])
        assert "per server" in str(error["message"])
        assert len(_handler_threads()) <= threads  # no thread was started for a refused connection

        # A client that gives up ends its held call, and its slot is free for the next connection.
        busy.pop().close()
        _until(lambda: server.open_connections < CAP)
        _serves(server, op.name)


def test_at_the_cap_a_new_connection_takes_the_place_of_the_longest_idle_one(
    lro_emulator: Emulator, served: list[HttpServer]
) -> None:
    op = lro_emulator.add_operation()
    server = _server(served, lro_emulator, max_connections=CAP)
    with _connections(server.port, CAP) as idle:
        for connection in idle:  # each answered once: now an idle keep-alive connection, oldest first
            connection.sendall(_get(server.port, op.name))
            assert connection.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
        assert server.open_connections == CAP
        _until(lambda: server.waiting_connections == CAP)  # each handler is back to reading its next request

        # A client pool that never closes its connections (a leak, or many clients over a long session) does not
        # lock the next client out: the longest idle connection is closed, as an idle timeout would close it.
        _serves(server, op.name)

        # One of them (the one whose handler went back to waiting first) was closed, without an answer to anything.
        closed, _, _ = select.select(idle, [], [], READ_TIMEOUT)
        assert len(closed) == 1
        assert closed[0].recv(65536) == b""
        kept = next(connection for connection in idle if connection is not closed[0])
        kept.sendall(_get(server.port, op.name))  # the others are still served
        assert kept.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_port_in_use_is_an_os_error_not_the_end_of_the_process(lro_emulator: Emulator) -> None:
    # werkzeug's own answer to a failed bind is to print it and exit: in a test run, the end of the session.
    taken = HttpServer(lro_emulator.wsgi_app, port=_port(lro_emulator.url))

    with pytest.raises(OSError, match="in use"):
        taken.start()
    assert not taken.running


@pytest.mark.parametrize("part", ["request line", "head", "body"])
def test_requests_that_trickle_in_at_the_cap_make_room_for_a_whole_one(
    lro_emulator: Emulator, served: list[HttpServer], part: str
) -> None:
    op = lro_emulator.add_operation()
    server = _server(served, lro_emulator, max_connections=CAP)
    whole = _get(server.port, op.name)
    partial = {
        "request line": b"\r\n",  # the empty line a server skips before a request line, then nothing
        "head": whole[:-4],  # every header, but not the blank line that ends them
        "body": (f"POST /v1/{op.name}:cancel HTTP/1.1\r\n{_host(server.port)}\r\nContent-Type: application/json"
                 "\r\nContent-Length: 10\r\n\r\n{").encode(),  # 1 of its 10 bytes
    }[part]
    with _connections(server.port, CAP) as slow:
        for connection in slow:  # a client holding the cap by sending its requests a byte at a time
            connection.sendall(partial)
        _until(lambda: server.open_connections == CAP)

        _serves(server, op.name)

        assert not op.done  # no trickled cancel was served


def test_a_body_larger_than_any_the_emulator_takes_trickling_in_at_the_cap_makes_room(
    lro_emulator: Emulator, served: list[HttpServer]
) -> None:
    op = lro_emulator.add_operation()
    server = _server(served, lro_emulator, max_connections=CAP)
    oversized = (f"POST /v1/{op.name}:cancel HTTP/1.1\r\n{_host(server.port)}\r\nContent-Type: application/json"
                 f"\r\nContent-Length: {2 << 20}\r\n\r\n{{").encode()  # 1 byte of 2 MiB, the rest never comes
    with _connections(server.port, CAP) as slow:
        for connection in slow:
            connection.sendall(oversized)
            # Refused unread at once; the server then reads the rest of the body, which is not coming.
            assert connection.recv(65536).startswith(b"HTTP/1.1 400 Bad Request\r\n")
        _until(lambda: server.waiting_connections == CAP)

        _serves(server, op.name)

        assert not op.done


def test_an_idle_connection_is_closed_after_the_idle_timeout_and_its_thread_ends(
    lro_emulator: Emulator, served: list[HttpServer]
) -> None:
    op = lro_emulator.add_operation()
    server = _server(served, lro_emulator, idle_timeout=0.5)
    before = _handler_threads()
    with socket.create_connection(("127.0.0.1", server.port), timeout=READ_TIMEOUT) as connection:
        connection.sendall(_get(server.port, op.name))
        first = connection.recv(65536)  # one small answer; the connection stays open (keep-alive)
        assert first.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"Connection: close" not in first
        handlers = _handler_threads() - before
        started = wall()

        closed = connection.recv(65536)

        elapsed = wall() - started
    assert closed == b""
    assert 0.25 < elapsed < BOUND_SECONDS
    assert server.open_connections == 0  # the slot was freed before the client saw the close
    for thread in handlers:
        thread.join(READ_TIMEOUT)
    assert handlers
    assert not any(thread.is_alive() for thread in handlers)


@pytest.mark.parametrize("part", ["head", "body"])
def test_a_request_that_stops_arriving_is_closed_after_the_idle_timeout(
    lro_emulator: Emulator, served: list[HttpServer], part: str
) -> None:
    op = lro_emulator.add_operation()
    server = _server(served, lro_emulator, idle_timeout=0.5)
    if part == "head":
        request = _get(server.port, op.name)[:-2]  # the blank line that ends the head never comes
    else:
        request = (f"POST /v1/{op.name}:cancel HTTP/1.1\r\n{_host(server.port)}\r\nContent-Type: application/json"
                   "\r\nContent-Length: 10\r\n\r\n{}").encode()  # 8 of its 10 bytes never come
    with socket.create_connection(("127.0.0.1", server.port), timeout=READ_TIMEOUT) as connection:
        connection.sendall(request)
        started = wall()

        _read_until_closed(connection)

        assert wall() - started < BOUND_SECONDS
    assert server.open_connections == 0
    assert not op.done


def test_an_answer_held_longer_than_the_idle_timeout_is_still_answered(
    lro_emulator: Emulator, served: list[HttpServer]
) -> None:
    op = lro_emulator.add_operation()
    lro_emulator.fault(rpc="GetOperation", first=1).hang(limit=1.5)  # held three idle timeouts, in real time
    server = _server(served, lro_emulator, idle_timeout=0.5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=READ_TIMEOUT) as connection:
        connection.sendall(_get(server.port, op.name))
        started = wall()
        held = connection.recv(65536)
        held_for = wall() - started
        connection.sendall(_get(server.port, op.name, "Connection: close"))  # and the connection is still open after it
        then = _read_until_closed(connection)

    assert held.startswith(b"HTTP/1.1 200 OK\r\n")
    assert 1.0 < held_for < 1.5 + BOUND_SECONDS
    assert then.startswith(b"HTTP/1.1 200 OK\r\n")
    assert op.polls == 2


# -- one body limit, whatever the framing ----------------------------------------------------------------------

LIMIT = 1 << 20  # the REST body limit, 1 MiB


def _chunked(body: bytes, size: int = 65536) -> bytes:
    chunks = [body[start:start + size] for start in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"


def _cancel(port: int, name: str, body: bytes, *, chunked: bool) -> bytes:
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
    head = "\r\n".join([f"POST /v1/{name}:cancel HTTP/1.1", _host(port), "Content-Type: application/json",
                        framing, "Connection: close", "", ""])
    return head.encode() + (_chunked(body) if chunked else body)


def test_a_chunked_body_over_the_limit_is_refused_like_a_declared_one_and_changes_nothing(
    lro_emulator: Emulator,
) -> None:
    op, within = lro_emulator.add_operation(), lro_emulator.add_operation()
    port = _port(lro_emulator.url)
    body = b" " * LIMIT + b'{"bogus": 1}'  # the first MiB alone is an empty body: a cancel with no fields

    declared = _envelope(_exchange(port, _cancel(port, op.name, body, chunked=False)), b"HTTP/1.1 400 Bad Request")
    chunked = _envelope(_exchange(port, _cancel(port, op.name, body, chunked=True)), b"HTTP/1.1 400 Bad Request")
    exactly = _exchange(port, _cancel(port, within.name, b"{}" + b" " * (LIMIT - 2), chunked=True))

    assert chunked == declared
    assert "larger than 1048576 bytes" in str(chunked["message"])
    assert not op.done
    assert _answer(exactly)[0] == b"HTTP/1.1 200 OK"  # the limit itself is within it
    assert within.done


# -- request lines: status lines and envelopes ------------------------------------------------------------------


@pytest.mark.parametrize(("header", "fragment"), [
    pytest.param("Content-Length: " + "9" * 5000, "at most 18 digits", id="content-length-of-5000-digits"),
    pytest.param("Content-Length: ", "Content-Length must be", id="content-length-empty"),
    pytest.param("Transfer-Encoding: ch unked", "Transfer-Encoding", id="transfer-encoding-with-a-space"),
    pytest.param("X-Note: a\rContent-Length: 0", "carriage return", id="a-bare-cr-in-a-value"),
    pytest.param("X-Note: a\x00b", "NUL", id="a-nul-in-a-value"),
])
def test_a_head_whose_body_framing_could_be_read_two_ways_is_400(
    lro_emulator: Emulator, header: str, fragment: str
) -> None:
    op, port = lro_emulator.add_operation(), _port(lro_emulator.url)
    request = (f"POST /v1/{op.name}:cancel HTTP/1.1\r\n{_host(port)}\r\nContent-Type: application/json\r\n"
               f"{header}\r\n\r\n{{}}").encode("latin-1")

    received = _exchange(port, request)

    error = _envelope(received, b"HTTP/1.1 400 Bad Request")
    assert fragment in str(error["message"])
    assert not op.done
    assert received.count(b"HTTP/1.1 ") == 1  # nothing after the head was read as another request


@pytest.mark.parametrize("version", ["HTTP/2.0", "HTTP/3.0", "HTTP/9.9", "HTTP/0.9"])
def test_an_http_version_the_server_does_not_speak_is_505(lro_emulator: Emulator, version: str) -> None:
    op, port = lro_emulator.add_operation(), _port(lro_emulator.url)

    received = _exchange(port, f"GET /v1/{op.name} {version}\r\n{_host(port)}\r\n\r\n".encode())

    error = _envelope(received, b"HTTP/1.1 505 HTTP Version Not Supported")
    assert (error["code"], error["status"]) == (505, "UNIMPLEMENTED")
    assert version in str(error["message"])
    assert "HTTP/1.1" in str(error["message"])
    assert op.polls == 0


def test_the_http2_preface_of_a_grpc_client_is_told_where_grpc_is_served(lro_emulator: Emulator) -> None:
    received = _exchange(_port(lro_emulator.url), b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

    error = _envelope(received, b"HTTP/1.1 505 HTTP Version Not Supported")
    assert "gRPC" in str(error["message"])


@pytest.mark.parametrize("request_line", [
    pytest.param("GET /v1/{name} HTTP/9.9x", id="version-with-a-letter"),
    pytest.param("GET /v1/{name} HTTP/1.10", id="version-of-two-digits"),
    pytest.param("GET /v1/{name} HTTPS/1.1", id="not-http"),
    pytest.param("GET /v1/{name}", id="no-version"),
    pytest.param("GET /v1/{name} HTTP/1.1 extra", id="four-words"),
    pytest.param("garbage", id="one-word"),
    pytest.param("G(E)T /v1/{name} HTTP/1.1", id="method-not-a-token"),
    pytest.param("GET http://[x/v1/{name} HTTP/1.1", id="target-whose-authority-does-not-split"),
])
def test_a_request_line_that_does_not_parse_is_400_with_a_status_line(
    lro_emulator: Emulator, request_line: str
) -> None:
    op, port = lro_emulator.add_operation(), _port(lro_emulator.url)

    received = _exchange(port, f"{request_line.format(name=op.name)}\r\n{_host(port)}\r\n\r\n".encode())

    error = _envelope(received, b"HTTP/1.1 400 Bad Request")
    load_schemas().validate("error-envelope", {"error": error})
    assert error["status"] == "INVALID_ARGUMENT"
    assert op.polls == 0


@pytest.mark.parametrize("method", ["get", "Get", "delete"])
def test_a_method_in_the_wrong_case_is_not_served(lro_emulator: Emulator, method: str) -> None:
    op, port = lro_emulator.add_operation(), _port(lro_emulator.url)

    received = _exchange(port, f"{method} /v1/{op.name} HTTP/1.1\r\n{_host(port)}\r\n\r\n".encode())

    error = _envelope(received, b"HTTP/1.1 501 Not Implemented")
    load_schemas().validate("error-envelope", {"error": error})
    assert error["status"] == "UNIMPLEMENTED"
    assert repr(method.upper()) in str(error["message"])  # methods are case-sensitive: it names the one meant
    assert op.polls == 0


@pytest.mark.parametrize("lengths", [("2", "3"), ("2", "2")], ids=["different", "identical"])
def test_a_content_length_given_twice_is_refused(lro_emulator: Emulator, lengths: tuple[str, str]) -> None:
    op, port = lro_emulator.add_operation(), _port(lro_emulator.url)
    head = [f"POST /v1/{op.name}:cancel HTTP/1.1", _host(port), "Content-Type: application/json",
            *(f"Content-Length: {length}" for length in lengths)]

    received = _exchange(port, ("\r\n".join([*head, "", ""]) + "{} ").encode())

    error = _envelope(received, b"HTTP/1.1 400 Bad Request")
    assert "Content-Length" in str(error["message"])
    assert not op.done


def _request_with_headers(port: int, name: str, count: int) -> bytes:
    """A GET of ``name`` with ``count`` header lines in all (Host and Connection among them)."""
    return _get(port, name, "Connection: close", *(f"X-Header-{index}: v" for index in range(count - 2)))


def test_exactly_100_headers_are_read_and_101_or_10_000_are_refused(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()
    port = _port(lro_emulator.url)

    accepted = _exchange(port, _request_with_headers(port, op.name, 100))
    refused = [_exchange(port, _request_with_headers(port, op.name, count)) for count in (101, 10_000)]

    assert _answer(accepted)[0] == b"HTTP/1.1 200 OK"
    for received in refused:
        error = _envelope(received, b"HTTP/1.1 400 Bad Request")
        assert "at most 100 headers" in str(error["message"])
    assert op.polls == 1


# -- a gRPC status fits its trailer, however its text encodes -----------------------------------------------------


@pytest.mark.parametrize("character", ["\N{GRINNING FACE}", "\N{CJK UNIFIED IDEOGRAPH-4E2D}"], ids=["emoji", "cjk"])
def test_a_not_found_for_a_long_name_that_percent_encodes_large_stays_not_found(
    lro_emulator: Emulator, character: str
) -> None:
    import grpc
    from google.longrunning import operations_pb2, operations_pb2_grpc
    from grpc_status import rpc_status

    lro_emulator.add_operation()
    name = "projects/p/operations/" + character * 1000  # 1,022 characters: within the 1,024 a name may have

    with grpc.insecure_channel(lro_emulator.grpc_target) as channel:
        stub = operations_pb2_grpc.OperationsStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.GetOperation(operations_pb2.GetOperationRequest(name=name), timeout=30)

    error = raised.value
    assert error.code() is grpc.StatusCode.NOT_FOUND, error.details()
    status = rpc_status.from_call(error)
    assert status is not None
    assert status.message == error.details()
    assert status.message.startswith(f"operation 'projects/p/operations/{character}")
    assert status.message.endswith(character + "…")  # clipped between characters, never inside one
    encoded = sum(1 if 0x20 <= byte <= 0x7E and byte != 0x25 else 3 for byte in status.message.encode())
    assert encoded <= 1000  # its grpc-message trailer, percent-encoded: 12 bytes an emoji, 9 a CJK ideograph


def test_details_too_large_for_the_trailer_are_left_out_and_the_code_stays(lro_emulator: Emulator) -> None:
    import grpc
    from google.longrunning import operations_pb2, operations_pb2_grpc
    from grpc_status import rpc_status

    op = lro_emulator.add_operation()
    violations = [{"field": f"field_{index}", "description": "\N{GRINNING FACE}" * 120} for index in range(40)]
    lro_emulator.fault(rpc="GetOperation").error(
        "UNAVAILABLE", "try again", details=[{"@type": "type.googleapis.com/google.rpc.BadRequest",
                                              "fieldViolations": violations}], retry_delay=2)

    with grpc.insecure_channel(lro_emulator.grpc_target) as channel:
        stub = operations_pb2_grpc.OperationsStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.GetOperation(operations_pb2.GetOperationRequest(name=op.name), timeout=30)

    error = raised.value
    assert error.code() is grpc.StatusCode.UNAVAILABLE, error.details()  # 19 KB of details, packed: 4 KB kept
    status = rpc_status.from_call(error)
    assert status is not None
    assert status.ByteSize() <= 4096
    assert [detail.type_url.rpartition(".")[2] for detail in status.details] == ["ErrorInfo", "RetryInfo"]
