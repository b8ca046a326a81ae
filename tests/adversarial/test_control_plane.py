"""Who may drive the emulator (the adversarial suite): the control plane's token, cross-site requests, DNS rebinding
and servers bound beyond loopback.

A web page the developer has open can send simple requests to 127.0.0.1 (form posts and ``text/plain`` bodies need
no CORS preflight), and a page whose name resolves to 127.0.0.1 sends its own ``Host``. Each test sends what such a
page or another local client would, and checks that nothing changed.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
import requests
from google.longrunning import operations_pb2, operations_pb2_grpc
from werkzeug.test import Client

from lro_emulator import Emulator
from lro_emulator.wire.addresses import is_loopback  # internal: the one test of what counts as loopback

from ..test_cli import Server

NAME = "projects/p/operations/keep-me"
TOKEN = "control-s3cret"


@pytest.fixture
def guarded() -> Iterator[Emulator]:
    with Emulator(control_token=TOKEN) as emu:
        emu.add_operation(NAME)
        yield emu


def _envelope(answer: requests.Response, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["status"]) == (status, code)
    message: str = error["message"]
    return message


# -- a control token --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN, "Bearer "])
def test_the_control_plane_refuses_calls_without_its_token(guarded: Emulator, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    url = f"{guarded.url}/_emulator/v1"

    for answer in (requests.get(f"{url}/calls", headers=headers, timeout=10),
                   requests.post(f"{url}:reset", json={}, headers=headers, timeout=10),
                   requests.post(f"{url}/scenario:load", json={"auth": {"token": "mine"}}, headers=headers,
                                 timeout=10)):
        message = _envelope(answer, 401, "UNAUTHENTICATED")
        assert "Authorization: Bearer" in message
        assert TOKEN not in message

    assert [op.name for op in guarded.operations] == [NAME]  # not reset
    assert requests.get(f"{guarded.url}/v1/{NAME}", timeout=10).status_code == 200  # no auth was loaded


def test_the_control_plane_serves_calls_with_its_token(guarded: Emulator) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url = f"{guarded.url}/_emulator/v1"

    assert requests.get(f"{url}/calls", headers=headers, timeout=10).status_code == 200
    assert requests.post(f"{url}:reset", json={}, headers=headers, timeout=10).status_code == 200
    assert guarded.operations == []


def test_the_operations_api_does_not_ask_for_the_control_token(guarded: Emulator) -> None:
    assert requests.get(f"{guarded.url}/v1/{NAME}", timeout=10).status_code == 200


def test_serve_takes_a_control_token() -> None:
    server = Server(["serve", "--port", "0", "--no-demo", "--quiet", "--control-token", TOKEN])
    try:
        url = f"{server.url}/_emulator/v1/calls"
        refused = requests.get(url, timeout=10)
        served = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    finally:
        server.close()

    _envelope(refused, 401, "UNAUTHENTICATED")
    assert served.status_code == 200


# -- cross-site requests and DNS rebinding -------------------------------------------------------------------


@pytest.fixture
def local() -> Iterator[Emulator]:
    with Emulator() as emu:
        emu.add_operation(NAME)
        yield emu


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          None])
def test_a_control_post_needs_a_json_or_yaml_body(local: Emulator, content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}

    answer = requests.post(f"{local.url}/_emulator/v1:reset", data=b"{}", headers=headers, timeout=10)

    message = _envelope(answer, 400, "INVALID_ARGUMENT")
    assert "application/json" in message
    assert [op.name for op in local.operations] == [NAME]


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1.evil.example:8089"])
def test_a_request_from_a_web_page_elsewhere_is_refused(local: Emulator, origin: str) -> None:
    headers = {"Origin": origin}

    refused = [
        requests.post(f"{local.url}/_emulator/v1:reset", json={}, headers=headers, timeout=10),
        requests.post(f"{local.url}/v1/{NAME}:cancel", json={}, headers=headers, timeout=10),
        requests.get(f"{local.url}/_emulator/v1/calls", headers=headers, timeout=10),
    ]

    for answer in refused:
        assert "Origin" in _envelope(answer, 403, "PERMISSION_DENIED")
    assert [op.name for op in local.operations] == [NAME]
    assert not local.operation(NAME).done


def test_a_request_a_browser_marks_cross_site_is_refused_even_without_an_origin(local: Emulator) -> None:
    # <img src="http://127.0.0.1:PORT/v1/..."> on a page elsewhere: a no-cors GET, no Origin, and it counts as a poll.
    answer = requests.get(f"{local.url}/v1/{NAME}", headers={"Sec-Fetch-Site": "cross-site"}, timeout=10)

    _envelope(answer, 403, "PERMISSION_DENIED")
    assert local.operation(NAME).polls == 0
    same_site = requests.get(f"{local.url}/v1/{NAME}", headers={"Sec-Fetch-Site": "same-site"}, timeout=10)
    assert same_site.status_code == 200


@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:8089", "http://[::1]:5173"])
def test_a_request_from_a_local_page_is_served(local: Emulator, origin: str) -> None:
    answer = requests.get(f"{local.url}/_emulator/v1/clock", headers={"Origin": origin}, timeout=10)

    assert answer.status_code == 200


@pytest.mark.parametrize("path", ["/_emulator/v1/calls", "/$discovery/rest?version=v1", "/_emulator/openapi.json",
                                  f"/v1/{NAME}"])
def test_a_request_for_another_host_is_refused(local: Emulator, path: str) -> None:
    port = local.url.rsplit(":", 1)[1]

    answer = requests.get(f"{local.url}{path}", headers={"Host": f"rebound.example:{port}"}, timeout=10)

    message = _envelope(answer, 403, "PERMISSION_DENIED")
    assert "rebound.example" not in answer.text.replace(message, "")  # never echoed into a document
    assert "Host" in message


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
def test_a_request_for_the_served_address_is_served(local: Emulator, host: str) -> None:
    port = local.url.rsplit(":", 1)[1]

    answer = requests.get(f"{local.url}/$discovery/rest?version=v1", headers={"Host": host.format(port=port)},
                          timeout=10)

    assert answer.status_code == 200
    assert answer.json()["rootUrl"] == f"http://{host.format(port=port).lower()}/"


@pytest.mark.parametrize("host", ["127.0.0.1:0{port}", "127.0.0.1:{port}/evil", "localhost#x:{port}",
                                  "user@127.0.0.1:{port}", "[::ffff:127.0.0.1]:{port}"])
def test_a_host_the_documents_could_not_echo_is_refused(local: Emulator, host: str) -> None:
    port = local.url.rsplit(":", 1)[1]

    answer = requests.get(f"{local.url}/$discovery/rest?version=v1", headers={"Host": host.format(port=port)},
                          timeout=10)

    _envelope(answer, 403, "PERMISSION_DENIED")


@pytest.mark.parametrize(("host", "loopback"), [
    ("localhost", True), ("LOCALHOST.", True), ("127.0.0.1", True), ("127.9.8.7", True), ("::1", True),
    ("[::1]", True), ("0.0.0.0", False), ("::", False), ("10.0.0.1", False), ("rebound.example", False),
    # Python 3.13's ipaddress counts an IPv4-mapped address as loopback, 3.10 to 3.12 do not: the same on each here.
    ("::ffff:127.0.0.1", False), ("[::ffff:127.0.0.1]", False),
])
def test_what_counts_as_loopback_is_the_same_on_every_python(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("token", ["tökén", " padded", "two words", ""])
def test_a_control_token_no_client_could_send_is_refused_at_once(token: str) -> None:
    with pytest.raises(ValueError, match="control_token must be printable ASCII without spaces"):
        Emulator(control_token=token)


def test_a_request_for_another_port_is_refused(local: Emulator) -> None:
    answer = requests.get(f"{local.url}/_emulator/v1/calls", headers={"Host": "127.0.0.1:1"}, timeout=10)

    _envelope(answer, 403, "PERMISSION_DENIED")


# -- beyond loopback ------------------------------------------------------------------------------------------


def test_serving_beyond_loopback_warns_and_says_how_to_protect_it() -> None:
    from ..test_cli import run

    # 192.0.2.1 is reserved for documentation: no machine has it, so the bind fails after the warning, and nothing
    # ever listens beyond loopback during the suite.
    done = run("serve", "--host", "192.0.2.1", "--port", "0", "--no-demo", "--quiet")

    assert done.returncode == 2
    warning = done.stderr.splitlines()[0]
    assert "--host 192.0.2.1 is beyond loopback" in warning
    assert "--control-token" in warning


def test_beyond_loopback_pages_elsewhere_are_not_told_apart() -> None:
    emu = Emulator(host="192.0.2.1")  # never started: its WSGI app is what it would serve
    emu.add_operation(NAME)

    answer = Client(emu.wsgi_app).get(f"/v1/{NAME}", headers={"Origin": "https://dashboard.example"})

    assert answer.status_code == 200  # other machines reach it by other names, and their pages are expected


def test_grpc_binds_where_rest_binds() -> None:
    # 127.0.0.2 is loopback too (Linux answers all of 127/8), and a server bound to it alone is not at 127.0.0.1.
    try:
        emu = Emulator(host="127.0.0.2").start()
    except OSError:
        pytest.skip("this machine does not answer 127.0.0.2")
    try:
        target = emu.grpc_target
        port = target.rsplit(":", 1)[1]
        request = operations_pb2.ListOperationsRequest(name="projects/p")
        with grpc.insecure_channel(target) as there:
            operations_pb2_grpc.OperationsStub(there).ListOperations(request, timeout=10)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as elsewhere, pytest.raises(grpc.RpcError) as missed:
            operations_pb2_grpc.OperationsStub(elsewhere).ListOperations(request, timeout=2)
    finally:
        emu.stop()

    assert target.startswith("127.0.0.2:")
    assert missed.value.code() is grpc.StatusCode.UNAVAILABLE
