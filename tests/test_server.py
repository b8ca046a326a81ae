"""The HTTP server keeps connections alive: polling clients reuse one connection for hundreds of polls.

Each test talks to the emulator over a raw `http.client` connection on loopback and watches whether
the server kept or closed it, including after requests whose body the emulator never read.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from collections.abc import Iterator

import pytest

from lro_emulator import Emulator


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
        pytest.param("GET {path} HTTP/1.1", "Host: x\r\nConnection: close\r\n", id="client-says-close"),
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

    received = _raw_exchange(lro_emulator, (f"POST /v1/{op.name}:cancel HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                            "application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
                                            ).encode(), then=b"{}")

    assert received.count(b"100 Continue") == 1
    assert b"HTTP/1.1 200 OK" in received
    assert op.done


def test_a_content_length_that_is_not_ascii_digits_is_refused_with_an_envelope(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()

    received = _raw_exchange(lro_emulator, (f"POST /v1/{op.name}:cancel HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                            "application/json\r\nContent-Length: \xb2\r\n\r\n{}").encode("latin-1"))

    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body)["error"]["status"] == "INVALID_ARGUMENT"
    assert not op.done
