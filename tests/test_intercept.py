"""Interception: what is redirected and what is not, faults without a connection, and the genuine functions back.

Real client libraries throughout (requests, httplib2, aiohttp through google-api-core's async REST transport,
grpcio through google-api-core's Operations client); only the hosts they are aimed at are Google's.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from collections.abc import Iterator
from typing import Any

import google.auth
import google.auth.exceptions
import grpc
import grpc.aio
import httplib2
import pytest
import requests
from google.api_core import operations_v1
from google.auth.aio.credentials import AnonymousCredentials as AsyncAnonymousCredentials
from google.longrunning import operations_pb2, operations_pb2_grpc
from pytest_httpserver import HTTPServer

from lro_emulator import Emulator, Interception, ScenarioError, ScriptError
from lro_emulator.intercept.hosts import HostMatcher, grpc_host  # internal: host matching is checked directly

from .helpers import WALL_GUARD_SECONDS, wall

pytestmark = pytest.mark.usefixtures("loopback_only")

VERTEX = "https://us-central1-aiplatform.googleapis.com"
PARENT = "projects/p/locations/us-central1"

#: The functions interception replaces, as this process had them before any test.
GENUINE = {
    "requests.Session.get_adapter": requests.Session.get_adapter,
    "requests.Session.merge_environment_settings": requests.Session.merge_environment_settings,
    "httplib2.Http.request": httplib2.Http.request,
    "grpc.secure_channel": grpc.secure_channel,
    "grpc.aio.secure_channel": grpc.aio.secure_channel,
    "google.auth.default": google.auth.default,
}


def current() -> dict[str, Any]:
    return {"requests.Session.get_adapter": requests.Session.get_adapter,
            "requests.Session.merge_environment_settings": requests.Session.merge_environment_settings,
            "httplib2.Http.request": httplib2.Http.request,
            "grpc.secure_channel": grpc.secure_channel,
            "grpc.aio.secure_channel": grpc.aio.secure_channel,
            "google.auth.default": google.auth.default}


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(profile="vertex") as emulator:
        yield emulator


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch, loopback_only: list[str]) -> list[Any]:
    """Every socket connection the test opens (after the loopback guard let it through)."""
    opened: list[Any] = []
    guarded = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        opened.append(address)
        guarded(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return opened


# -- what is redirected ---------------------------------------------------------------------------------


def test_requests_to_google_are_answered_in_process_without_a_socket(emu: Emulator, connects: list[Any]) -> None:
    op = emu.add_operation(parent=PARENT)

    with emu.intercept():
        answer = requests.get(f"{VERTEX}/v1/{op.name}", timeout=5)

    assert answer.status_code == 200
    assert answer.json()["name"] == op.name
    assert answer.headers["content-type"].startswith("application/json")
    assert connects == []
    (call,) = emu.calls
    assert (call.rpc, call.transport, call.path) == ("GetOperation", "http", f"/v1/{op.name}")


def test_an_error_in_process_is_the_aip_193_envelope(emu: Emulator) -> None:
    with emu.intercept():
        answer = requests.get(f"{VERTEX}/v1/{PARENT}/operations/missing", timeout=5)

    assert answer.status_code == 404
    assert answer.json()["error"]["status"] == "NOT_FOUND"


def test_httplib2_to_google_is_answered_in_process(emu: Emulator, connects: list[Any]) -> None:
    op = emu.add_operation(parent=PARENT)

    with emu.intercept():
        response, content = httplib2.Http().request(f"{VERTEX}/v1/{op.name}:cancel", "POST", body=b"{}",
                                                    headers={"content-type": "application/json"})

    assert (response.status, content) == (200, b"{}")
    assert op.snapshot()["error"]["code"] == 1
    assert connects == []


def test_an_encoded_slash_stays_part_of_the_name_in_process(emu: Emulator) -> None:
    emu.add_operation(f"{PARENT}/operations/a")

    with emu.intercept():
        answer = requests.get(f"{VERTEX}/v1/{PARENT}/operations%2Fa", timeout=5)

    assert answer.status_code == 404


def test_a_body_over_the_limit_is_refused_in_process_as_over_the_socket(emu: Emulator) -> None:
    op = emu.add_operation(parent=PARENT)
    huge = {"data": b"x" * (2 << 20), "headers": {"content-type": "application/json"}, "timeout": 5}

    over_the_socket = requests.post(f"{emu.url}/v1/{op.name}:cancel", **huge)
    with emu.intercept():
        in_process = requests.post(f"{VERTEX}/v1/{op.name}:cancel", **huge)

    assert in_process.status_code == over_the_socket.status_code == 400
    assert in_process.json()["error"]["message"] == "the request body is larger than 1048576 bytes"
    assert not op.snapshot().get("done", False)


def test_credentials_are_checked_in_process(emu: Emulator) -> None:
    op = emu.add_operation(parent=PARENT)
    emu.require_auth(token="secret")

    with emu.intercept():
        refused = requests.get(f"{VERTEX}/v1/{op.name}", timeout=5)
        allowed = requests.get(f"{VERTEX}/v1/{op.name}", headers={"Authorization": "Bearer secret"}, timeout=5)

    assert refused.status_code == 401
    assert allowed.status_code == 200


def test_grpc_channels_to_google_go_to_the_emulator(emu: Emulator) -> None:
    op = emu.add_operation(parent=PARENT)

    with emu.intercept():
        channel = grpc.secure_channel("us-central1-aiplatform.googleapis.com:443", grpc.ssl_channel_credentials())
        got = operations_v1.OperationsClient(channel).get_operation(op.name)
        channel.close()

    assert got.name == op.name
    assert [call.transport for call in emu.calls] == ["grpc"]


@pytest.mark.asyncio
async def test_grpc_aio_channels_and_aiohttp_sessions_to_google_go_to_the_emulator(emu: Emulator) -> None:
    from google.api_core.operations_v1.transports.rest_asyncio import AsyncOperationsRestTransport

    op = emu.add_operation(parent=PARENT)
    with emu.intercept():
        channel = grpc.aio.secure_channel("aiplatform.googleapis.com:443", grpc.ssl_channel_credentials())
        over_grpc = await operations_v1.OperationsAsyncClient(channel).get_operation(op.name)
        await channel.close()
        # google-api-core's async REST transport sends through aiohttp, to its default host.
        transport = AsyncOperationsRestTransport(credentials=AsyncAnonymousCredentials())
        rest = operations_v1.AsyncOperationsRestClient(transport=transport)
        over_rest = await rest.get_operation(op.name)
        await transport._session.close()  # the transport's own close() is not implemented

    assert over_grpc.name == over_rest.name == op.name
    assert [call.transport for call in emu.calls] == ["grpc", "http"]


def test_google_auth_default_names_the_project_given(emu: Emulator) -> None:
    with emu.intercept(project="billing-prod"):
        credentials, project = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])

    assert project == "billing-prod"
    assert credentials.valid
    credentials.refresh(None)  # what Earth Engine does to check them: no network, no error


# -- what is not -----------------------------------------------------------------------------------------


def test_other_hosts_are_untouched(emu: Emulator, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/elsewhere").respond_with_json({"served": "by its own server"})

    with emu.intercept():
        answer = requests.get(httpserver.url_for("/elsewhere"), timeout=5)
        response, content = httplib2.Http().request(httpserver.url_for("/elsewhere"))

    assert answer.json() == json.loads(content) == {"served": "by its own server"}
    assert response.status == 200
    assert len(emu.calls) == 0


@pytest.mark.asyncio
async def test_grpc_and_aiohttp_traffic_to_other_hosts_is_untouched(emu: Emulator, httpserver: HTTPServer) -> None:
    import aiohttp

    httpserver.expect_request("/elsewhere").respond_with_json({"served": "by its own server"})
    with emu.intercept():
        async with aiohttp.ClientSession() as session, session.get(httpserver.url_for("/elsewhere")) as answer:
            served = await answer.json()
        # Nothing listens on port 9 of the loopback: the genuine channel fails there instead of reaching the emulator.
        channel = grpc.secure_channel("127.0.0.1:9", grpc.ssl_channel_credentials())
        with pytest.raises(grpc.RpcError) as refused:  # the bare stub: api-core's client would retry for minutes
            operations_pb2_grpc.OperationsStub(channel).GetOperation(
                operations_pb2.GetOperationRequest(name=f"{PARENT}/operations/x"), timeout=5)
        channel.close()

    assert served == {"served": "by its own server"}
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert len(emu.calls) == 0


@pytest.mark.usefixtures("no_google_credentials")
def test_a_replacement_put_back_after_its_interception_behaves_as_the_genuine_function(emu: Emulator) -> None:
    interception = emu.intercept()
    with interception:
        left_behind = google.auth.default  # what a test's own monkeypatch of it would put back after the end

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(google.auth, "default", left_behind)
        with pytest.raises(google.auth.exceptions.DefaultCredentialsError):
            left_behind()
        with Emulator() as other, other.intercept():  # and it does not pass for an interception still in force
            assert google.auth.default()[1] == "test-project"


def test_only_the_hosts_given_are_answered(emu: Emulator, loopback_only: list[str]) -> None:
    op = emu.add_operation(parent=PARENT)

    with emu.intercept(hosts=["api.example.test"]):
        served = requests.get(f"https://API.example.test/v1/{op.name}", timeout=5)
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{VERTEX}/v1/{op.name}", timeout=5)

    assert served.status_code == 200
    assert "us-central1-aiplatform.googleapis.com" in loopback_only


@pytest.mark.parametrize(("hosts", "wrong"), [
    ("*.googleapis.com", "a list of host globs"),
    (["https://aiplatform.googleapis.com"], "no scheme, port or path"),
    (["aiplatform.googleapis.com:443"], "no scheme, port or path"),
    ([], "at least one host glob"),
])
def test_host_globs_that_cannot_match_a_host_are_refused(emu: Emulator, hosts: Any, wrong: str) -> None:
    with pytest.raises(ScriptError, match=wrong):
        emu.intercept(hosts=hosts)


@pytest.mark.parametrize(("target", "host"), [
    ("aiplatform.googleapis.com:443", "aiplatform.googleapis.com"),
    ("aiplatform.googleapis.com", "aiplatform.googleapis.com"),
    ("dns:///aiplatform.googleapis.com:443", "aiplatform.googleapis.com"),
    ("dns://8.8.8.8/aiplatform.googleapis.com:443", "aiplatform.googleapis.com"),
    ("[::1]:443", "::1"),
    ("google-c2p:///aiplatform.googleapis.com", "aiplatform.googleapis.com"),
    ("passthrough:///aiplatform.googleapis.com:443", "aiplatform.googleapis.com"),
    ("unix:/tmp/socket", None),
    ("ipv4:10.0.0.1:443", None),
])
def test_grpc_targets_name_their_host(target: str, host: str | None) -> None:
    assert grpc_host(target) == host


def test_host_globs_match_whole_names_without_case() -> None:
    hosts = HostMatcher(None)

    assert hosts.url("https://AIPLATFORM.googleapis.com./v1/x")
    assert hosts.url("https://us-central1-aiplatform.googleapis.com:443/v1/x")
    assert not hosts.url("https://googleapis.com.evil.test/v1/x")
    assert not hosts.url("https://example.test/?next=x.googleapis.com")
    assert not hosts.url("http://[::1/")


# -- faults that need a connection ---------------------------------------------------------------------


@pytest.mark.parametrize("effect", ["reset", "disconnect", "hang"])
def test_a_fault_that_needs_a_connection_is_refused_while_intercepting(emu: Emulator, effect: str) -> None:
    with emu.intercept(), pytest.raises(ScriptError, match=r"emu\.url"):
        getattr(emu.fault(rpc="GetOperation"), effect)()

    assert emu.faults == []
    with emu.intercept(), pytest.raises(ScriptError, match=r"acts on the connection"):
        emu.fault(rpc="GetOperation", transport="http").reset()
    getattr(emu.fault(rpc="GetOperation"), effect)()  # after the interception, over the socket, it is fine
    assert len(emu.faults) == 1


def test_a_connection_fault_aimed_at_grpc_and_other_faults_work_in_process(emu: Emulator) -> None:
    op = emu.add_operation(parent=PARENT)

    with emu.intercept():
        emu.fault(rpc="GetOperation", transport="grpc").reset()
        emu.fault(rpc="GetOperation", first=1).error("UNAVAILABLE", "try again")
        first = requests.get(f"{VERTEX}/v1/{op.name}", timeout=5)
        second = requests.get(f"{VERTEX}/v1/{op.name}", timeout=5)

    assert (first.status_code, first.json()["error"]["message"]) == (503, "try again")
    assert second.status_code == 200


def test_a_connection_fault_scripted_before_intercepting_refuses_the_interception(emu: Emulator) -> None:
    emu.fault(rpc="GetOperation").disconnect()

    with pytest.raises(ScriptError, match=r"disconnect\(\)"), emu.intercept():
        pass  # pragma: no cover - never entered

    assert current() == GENUINE


def test_a_scenario_with_a_connection_fault_loads_nothing_while_intercepting(emu: Emulator) -> None:
    scenario = {"operations": [{"name": f"{PARENT}/operations/x"}], "faults": [{"reset": True}]}
    with emu.intercept(), pytest.raises(ScenarioError, match=r"/faults/0.*acts on the connection"):
        emu.load_scenario(scenario)

    assert emu.operations == []
    assert emu.load_scenario(scenario).faults  # the same scenario loads without an interception


def test_a_reset_keeps_faults_refused_while_intercepting(emu: Emulator) -> None:
    with emu.intercept():
        emu.reset()
        with pytest.raises(ScriptError, match=r"hang\(\) acts on the connection"):
            emu.fault().hang()


# -- lifting -------------------------------------------------------------------------------------------------


def test_leaving_restores_the_genuine_functions_even_after_an_error(emu: Emulator) -> None:
    interception = emu.intercept()
    seen: dict[str, Any] = {}

    def fails() -> None:
        with interception:
            seen.update(current())
            raise RuntimeError("the block failed")

    with pytest.raises(RuntimeError):
        fails()

    assert all(seen[name] is not genuine for name, genuine in GENUINE.items())
    assert set(interception.patched) >= set(GENUINE)

    assert current() == GENUINE
    with interception:  # and it can be entered again
        assert google.auth.default()[1] == "test-project"
    assert current() == GENUINE


def test_one_interception_at_a_time(emu: Emulator) -> None:
    with Emulator() as other, emu.intercept():
        with pytest.raises(ScriptError, match="already active"), other.intercept():
            pass  # pragma: no cover - never entered
        assert google.auth.default()[1] == "test-project"  # the first one still stands
    assert current() == GENUINE


def test_concurrent_clients_are_all_answered_in_process(emu: Emulator, connects: list[Any]) -> None:
    ops = [emu.add_operation(parent=PARENT) for _ in range(8)]
    answers: dict[str, int] = {}

    def poll(name: str) -> None:
        with requests.Session() as session:
            for _ in range(25):
                answers[name] = session.get(f"{VERTEX}/v1/{name}", timeout=5).status_code

    with emu.intercept():
        threads = [threading.Thread(target=poll, args=(op.name,)) for op in ops]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    assert answers == {op.name: 200 for op in ops}
    assert len(emu.calls) == 8 * 25
    assert connects == []


def test_the_fixture_lifts_interception_after_each_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import socket
        import google.auth, grpc, requests
        import pytest

        GENUINE = (requests.Session.get_adapter, grpc.secure_channel, google.auth.default)

        @pytest.mark.lro_emulator(intercept=True, project="p1")
        def test_intercepts(lro_emulator):
            assert google.auth.default()[1] == "p1"
            assert (requests.Session.get_adapter, grpc.secure_channel, google.auth.default) != GENUINE

        @pytest.mark.lro_emulator(intercept=True)
        def test_fails_inside(lro_emulator):
            raise AssertionError("a failing test still lifts it")

        def test_after(lro_emulator):
            assert (requests.Session.get_adapter, grpc.secure_channel, google.auth.default) == GENUINE

        @pytest.mark.lro_emulator(project="p2")
        def test_project_without_intercept(lro_emulator):
            pass

        @pytest.mark.lro_emulator(intercept=["api.example.test"])
        def test_globs(lro_emulator):
            op = lro_emulator.add_operation()
            assert requests.get(f"https://api.example.test/v1/{op.name}").json()["name"] == op.name
            with pytest.raises(OSError, match="lro-emulator intercepts api.example.test"):
                socket.getaddrinfo("api.example.test", 443)

        @pytest.mark.lro_emulator(intercept="*.googleapis.com")
        def test_one_string(lro_emulator):
            pass
    """)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=3, failed=1, errors=2)
    result.stdout.fnmatch_lines(["*project=...) names what google.auth.default() returns while intercepting*"])
    result.stdout.fnmatch_lines(["*intercept=...) takes True or a list of host globs*"])


def test_interception_says_what_it_answers_for(emu: Emulator) -> None:
    interception = emu.intercept(hosts=["*.example.test"], project="p")

    assert isinstance(interception, Interception)
    assert (interception.hosts, interception.project) == (("*.example.test",), "p")
    assert repr(interception) == "<Interception inactive hosts=['*.example.test'] project='p'>"


# -- what an adversarial run found ---------------------------------------------------------------------------


def test_a_body_sent_in_chunks_reaches_the_app_whole(emu: Emulator) -> None:
    starter = emu.on_start(http="POST /v1/{parent=projects/*/locations/*}/widgets", body="widget",
                           script=lambda op, request: None)

    def chunks() -> Iterator[bytes]:
        yield b'{"displayName": '
        yield b'"w"}'

    with emu.intercept():
        answer = requests.post(f"{VERTEX}/v1/{PARENT}/widgets", data=chunks(), timeout=5,
                               headers={"content-type": "application/json"})
        huge = requests.post(f"{VERTEX}/v1/{PARENT}/widgets", data=iter([b"x" * (2 << 20)]), timeout=5,
                             headers={"content-type": "application/json"})

    assert answer.status_code == 200
    assert starter.requests[0].message == {"parent": PARENT, "widget": {"displayName": "w"}}
    assert huge.status_code == 400
    assert len(starter.requests) == 1


def test_a_head_request_in_process_answers_without_a_body(emu: Emulator) -> None:
    op = emu.add_operation(parent=PARENT)

    with emu.intercept():
        answer = requests.head(f"{VERTEX}/v1/{op.name}", timeout=5)

    assert (answer.status_code, answer.content) == (404, b"")


def test_httplib2_with_a_non_ascii_query_is_answered_as_over_the_socket(emu: Emulator) -> None:
    url = f"/v1/{PARENT}/operations?filter=name%3D%22%C3%A9%22"
    socket_client = httplib2.Http()
    over_the_socket, _ = socket_client.request(f"{emu.url}{url}")
    socket_client.close()

    with emu.intercept():
        in_process, content = httplib2.Http().request(f"{VERTEX}/v1/{PARENT}/operations?filter=name=\"é\"")

    assert in_process.status == over_the_socket.status == 200
    assert json.loads(content) == {}


def test_header_names_and_values_given_as_bytes_are_read_as_text(emu: Emulator) -> None:
    op = emu.add_operation(parent=PARENT)

    with emu.intercept():
        by_requests = requests.post(f"{VERTEX}/v1/{op.name}:cancel", data=b"{}", timeout=5,
                                    headers={"Content-Type": b"application/json"})
        by_httplib2, _ = httplib2.Http().request(f"{VERTEX}/v1/{op.name}:cancel", "POST", body=b"{}",
                                                 headers={b"content-type": b"application/json"})

    assert (by_requests.status_code, by_httplib2.status) == (200, 200)


def test_hosts_reached_through_a_library_that_is_not_redirected_are_refused_not_reached(
    emu: Emulator, loopback_only: list[str]
) -> None:
    import urllib.error
    import urllib.request

    with emu.intercept(), pytest.raises(urllib.error.URLError, match="lro-emulator intercepts"):
        urllib.request.urlopen("https://storage.googleapis.com/bucket/object", timeout=5)

    assert loopback_only == []  # no lookup of the name went out
    assert urllib.request.urlopen  # and the genuine resolver is back afterwards
    assert socket.getaddrinfo("localhost", 80)


@pytest.mark.asyncio
async def test_aiohttp_sessions_with_a_base_url_and_their_own_host_header_are_redirected(emu: Emulator) -> None:
    import aiohttp

    op = emu.add_operation(parent=PARENT)
    with emu.intercept():
        async with aiohttp.ClientSession(base_url="https://aiplatform.googleapis.com") as session:
            async with session.get(f"/v1/{op.name}") as relative:
                by_base = await relative.json()
            async with session.get(f"https://aiplatform.googleapis.com/v1/{op.name}",
                                   headers={"Host": "aiplatform.googleapis.com"}) as hosted:
                by_host = (hosted.status, await hosted.json())

    assert by_base["name"] == op.name
    assert by_host == (200, by_base)


def test_an_in_process_call_on_a_paced_emulator_keeps_the_clients_timeout() -> None:
    with Emulator(profile="vertex", speed=1) as emu:
        op = emu.add_operation(parent=PARENT)
        emu.fault(rpc="GetOperation").delay(30)
        started = wall()
        with emu.intercept(), pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(f"{VERTEX}/v1/{op.name}", timeout=0.2)
        with emu.intercept(), pytest.raises(requests.exceptions.ReadTimeout):
            requests.post(f"{VERTEX}/v1/{op.name}:wait", json={}, params={"timeout": "30s"}, timeout=0.2)

    assert wall() - started < WALL_GUARD_SECONDS


def test_interceptions_entered_from_two_threads_at_once_leave_the_genuine_functions(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "getswitchinterval", sys.getswitchinterval)  # restored by the monkeypatch's undo
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: where a race is, it shows
    monkeypatch.setattr(sys, "setswitchinterval", sys.setswitchinterval)
    lost: list[int] = []
    with Emulator() as other:
        for trial in range(1000):
            interceptions = [emu.intercept(), other.intercept()]
            entered = [False, False]
            barrier = threading.Barrier(2)

            def enter(index: int, interceptions: list[Interception] = interceptions,
                      entered: list[bool] = entered, barrier: threading.Barrier = barrier) -> None:
                barrier.wait(5)
                with contextlib.suppress(ScriptError):
                    interceptions[index].__enter__()
                    entered[index] = True

            threads = [threading.Thread(target=enter, args=(index,)) for index in (0, 1)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
            for index in (0, 1):  # left in the order entered: the wrong order, were both patches stacked
                if entered[index]:
                    interceptions[index].__exit__(None, None, None)
            if current() != GENUINE:
                lost.append(trial)
                break
            assert entered.count(True) == 1  # one got in, the other was refused

    assert lost == []
