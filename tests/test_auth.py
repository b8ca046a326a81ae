"""Optional authentication, as the emulator's front end promises it over REST and gRPC.

With ``emu.require_auth(...)`` (or the marker's ``auth=``, or a scenario's ``auth:``), every call
must carry a known bearer token (``Authorization`` header, gRPC ``authorization`` metadata) or API
key (``x-goog-api-key`` header or metadata, or REST's ``?key=``): missing credentials are
UNAUTHENTICATED with reason CREDENTIALS_MISSING and a message saying what to send, a malformed
Authorization header or an unknown token or key is UNAUTHENTICATED with its own reason, and a known
but forbidden credential is PERMISSION_DENIED. ``key`` is a system parameter, never an unknown query
parameter. Discovery documents and the control plane stay public; a refused call changes nothing and
is logged; reset forgets the requirement. Bad arguments are ScriptErrors (UsageErrors in the marker).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from google.longrunning import operations_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from lro_emulator import Emulator, ScenarioError, ScriptError

from .helpers import Stub, struct

NAME = "projects/p/operations/export-1"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
GUARD = 10.0
#: Two tokens and two keys; one of each is known but lacks permission.
POLICY: dict[str, Any] = {"token": ["good", "read-only"], "api_key": ["k1", "k-ro"], "forbidden": ["read-only", "k-ro"]}


def get(emu: Emulator, headers: dict[str, str] | None = None, query: dict[str, str] | None = None,
        name: str = NAME) -> requests.Response:
    return requests.get(f"{emu.url}/v1/{name}", headers=headers, params=query, timeout=GUARD)


def reason_of(response: requests.Response) -> str:
    details = response.json()["error"]["details"]
    [info] = [detail for detail in details if detail["@type"] == ERROR_INFO]
    assert info["domain"] == "lro-emulator"
    reason: str = info["reason"]
    return reason


def grpc_outcome(stub: Stub, metadata: list[tuple[str, str]], name: str = NAME) -> tuple[grpc.StatusCode, str | None]:
    """The status code of a GetOperation carrying ``metadata``, and the ErrorInfo reason when it failed."""
    try:
        stub.GetOperation(operations_pb2.GetOperationRequest(name=name), metadata=metadata, timeout=GUARD)
    except grpc.RpcError as error:
        status = rpc_status.from_call(error)
        assert status is not None, "no google.rpc.Status in the trailing metadata"
        reasons = []
        for packed in status.details:
            info = error_details_pb2.ErrorInfo()
            if packed.Unpack(info):
                reasons.append(info.reason)
        assert len(reasons) == 1, status
        code: grpc.StatusCode = error.code()
        return code, reasons[0]
    return grpc.StatusCode.OK, None


# -- REST --------------------------------------------------------------------------------------------------

REST_CASES = [
    pytest.param({}, {}, 401, "UNAUTHENTICATED", "CREDENTIALS_MISSING", id="nothing"),
    pytest.param({"Authorization": "Bearer good"}, {}, 200, None, None, id="known-token"),
    pytest.param({"Authorization": "bearer good"}, {}, 200, None, None, id="scheme-is-case-insensitive"),
    pytest.param({"Authorization": "Bearer nope"}, {}, 401, "UNAUTHENTICATED", "ACCESS_TOKEN_INVALID",
                 id="unknown-token"),
    pytest.param({"Authorization": "Basic Z29vZDp4"}, {}, 401, "UNAUTHENTICATED", "ACCESS_TOKEN_TYPE_UNSUPPORTED",
                 id="basic"),
    pytest.param({"Authorization": "Bearer "}, {}, 401, "UNAUTHENTICATED", "ACCESS_TOKEN_TYPE_UNSUPPORTED",
                 id="bearer-without-token"),
    pytest.param({"Authorization": "good"}, {}, 401, "UNAUTHENTICATED", "ACCESS_TOKEN_TYPE_UNSUPPORTED",
                 id="token-without-scheme"),
    pytest.param({"Authorization": "Bearer read-only"}, {}, 403, "PERMISSION_DENIED", "IAM_PERMISSION_DENIED",
                 id="forbidden-token"),
    pytest.param({"x-goog-api-key": "k1"}, {}, 200, None, None, id="known-key-header"),
    pytest.param({"x-goog-api-key": "nope"}, {}, 401, "UNAUTHENTICATED", "API_KEY_INVALID", id="unknown-key-header"),
    pytest.param({"x-goog-api-key": "k-ro"}, {}, 403, "PERMISSION_DENIED", "IAM_PERMISSION_DENIED",
                 id="forbidden-key-header"),
    pytest.param({}, {"key": "k1"}, 200, None, None, id="known-key-query"),
    pytest.param({}, {"key": "nope"}, 401, "UNAUTHENTICATED", "API_KEY_INVALID", id="unknown-key-query"),
    pytest.param({}, {"key": "k-ro"}, 403, "PERMISSION_DENIED", "IAM_PERMISSION_DENIED", id="forbidden-key-query"),
    pytest.param({}, {"key": "good"}, 401, "UNAUTHENTICATED", "API_KEY_INVALID", id="a-token-is-not-a-key"),
    pytest.param({"x-goog-api-key": "good"}, {}, 401, "UNAUTHENTICATED", "API_KEY_INVALID",
                 id="a-token-in-the-key-header-is-not-a-key"),
    pytest.param({"Authorization": "Bearer k1"}, {}, 401, "UNAUTHENTICATED", "ACCESS_TOKEN_INVALID",
                 id="a-key-is-not-a-token"),
]


@pytest.mark.parametrize(("headers", "query", "status", "code", "reason"), REST_CASES)
def test_rest_credentials_are_checked(
    lro_emulator: Emulator, headers: dict[str, str], query: dict[str, str], status: int, code: str | None,
    reason: str | None,
) -> None:
    op = lro_emulator.add_operation(NAME)
    lro_emulator.require_auth(**POLICY)

    response = get(lro_emulator, headers, query)

    assert response.status_code == status, response.text
    if code is None:
        assert response.json()["name"] == op.name
    else:
        assert response.json()["error"]["status"] == code
        assert response.json()["error"]["code"] == status
        assert reason_of(response) == reason
    assert (lro_emulator.calls.last.status, lro_emulator.calls.last.code) == (status, code or "OK")


def test_a_forbidden_credential_gets_a_permission_denied_envelope(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.require_auth(token=["good", "read-only"], forbidden="read-only")

    response = get(lro_emulator, {"Authorization": "Bearer read-only"})

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["status"] == "PERMISSION_DENIED"
    assert "GetOperation" in error["message"]
    assert error["details"] == [{"@type": ERROR_INFO, "reason": "IAM_PERMISSION_DENIED", "domain": "lro-emulator",
                                 "metadata": {"permission": "GetOperation"}}]


@pytest.mark.parametrize(
    ("policy", "named", "not_named"),
    [
        pytest.param({"token": "t"}, ["Authorization: Bearer"], ["x-goog-api-key", "key="], id="token"),
        pytest.param({"api_key": "k"}, ["x-goog-api-key", "key="], ["Authorization"], id="api-key"),
        pytest.param({"token": "t", "api_key": "k"}, ["Authorization: Bearer", "x-goog-api-key", "key="], [],
                     id="either"),
    ],
)
def test_missing_credentials_say_what_to_send(
    lro_emulator: Emulator, policy: dict[str, str], named: list[str], not_named: list[str]
) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.require_auth(**policy)

    response = get(lro_emulator)

    assert response.status_code == 401
    message = response.json()["error"]["message"]
    assert reason_of(response) == "CREDENTIALS_MISSING"
    assert "GetOperation" in message
    for text in named:
        assert text in message
    for text in not_named:
        assert text not in message


def test_an_unknown_long_token_is_not_echoed_whole(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.require_auth(token="good")
    secret = "ya29." + "s" * 60

    response = get(lro_emulator, {"Authorization": f"Bearer {secret}"})

    assert reason_of(response) == "ACCESS_TOKEN_INVALID"
    assert secret not in response.text


REST_METHODS = [
    pytest.param("GET", "/v1/{name}", id="GetOperation"),
    pytest.param("GET", "/v1/projects/p/operations", id="ListOperations"),
    pytest.param("POST", "/v1/{name}:wait", id="WaitOperation"),
    pytest.param("POST", "/v1/{name}:cancel", id="CancelOperation"),
    pytest.param("DELETE", "/v1/{name}", id="DeleteOperation"),
]


@pytest.mark.parametrize(("method", "path"), REST_METHODS)
def test_the_key_query_parameter_is_a_credential_on_every_method_not_an_unknown_parameter(
    lro_emulator: Emulator, method: str, path: str
) -> None:
    lro_emulator.add_operation(NAME).succeed(struct(rows=1), at=5)
    lro_emulator.require_auth(api_key="k1")
    target = lro_emulator.url + path.format(name=NAME)

    accepted = requests.request(method, target, params={"key": "k1"}, timeout=GUARD)
    refused = requests.request(method, target, params={"key": "nope"}, timeout=GUARD)

    assert accepted.status_code == 200, accepted.text
    assert refused.status_code == 401
    assert reason_of(refused) == "API_KEY_INVALID"


def test_without_auth_the_key_query_parameter_is_still_accepted(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation(NAME)

    assert get(lro_emulator, query={"key": "anything"}).status_code == 200


def test_the_key_query_parameter_never_reaches_a_start_request(lro_emulator: Emulator) -> None:
    starter = lro_emulator.on_start(http="POST /v1/{parent=projects/*/locations/*}/workflows", body="workflow")
    lro_emulator.require_auth(api_key="k1")

    response = requests.post(f"{lro_emulator.url}/v1/projects/p/locations/l/workflows", params={"key": "k1"},
                             json={"description": "d"}, timeout=GUARD)

    assert response.status_code == 200, response.text
    [request] = starter.requests
    assert "key" not in request.message
    assert request.message["workflow"] == {"description": "d"}


def test_discovery_documents_and_the_control_plane_stay_public(lro_emulator: Emulator) -> None:
    lro_emulator.require_auth(token="good", api_key="k1")
    base = lro_emulator.url

    public = [
        requests.get(f"{base}/$discovery/rest", params={"version": "v1"}, timeout=GUARD),
        requests.get(f"{base}/discovery/v1/apis/longrunning/v1/rest", timeout=GUARD),
        requests.get(f"{base}/_emulator/v1", timeout=GUARD),
        requests.post(f"{base}/_emulator/v1/operations", json={"name": NAME}, timeout=GUARD),
        requests.post(f"{base}/_emulator/v1/clock:advance", json={"duration": "5s"}, timeout=GUARD),
        requests.get(f"{base}/_emulator/v1/calls", timeout=GUARD),
    ]

    assert [response.status_code for response in public] == [200] * len(public)
    assert get(lro_emulator).status_code == 401


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "UNAUTHENTICATED"), ({"Authorization": "Bearer nope"}, "UNAUTHENTICATED"),
     ({"Authorization": "Bearer read-only"}, "PERMISSION_DENIED")],
)
def test_a_refused_cancel_or_delete_changes_nothing_and_is_logged(
    lro_emulator: Emulator, headers: dict[str, str], code: str
) -> None:
    op = lro_emulator.add_operation(NAME, metadata=struct(state="RUNNING"))
    lro_emulator.require_auth(**POLICY)

    cancel = requests.post(f"{lro_emulator.url}/v1/{NAME}:cancel", headers=headers, timeout=GUARD)
    delete = requests.delete(f"{lro_emulator.url}/v1/{NAME}", headers=headers, timeout=GUARD)

    assert {cancel.json()["error"]["status"], delete.json()["error"]["status"]} == {code}
    assert op.done is False
    assert [operation.name for operation in lro_emulator.operations] == [NAME]
    assert [(call.rpc, call.code, call.name) for call in lro_emulator.calls] == [
        ("CancelOperation", code, NAME), ("DeleteOperation", code, NAME)]
    assert op.calls.polls.call_count == 0


def test_reset_forgets_the_requirement(lro_emulator: Emulator) -> None:
    lro_emulator.require_auth(token="good")
    lro_emulator.reset()
    lro_emulator.add_operation(NAME)

    assert get(lro_emulator).status_code == 200


def test_require_auth_again_replaces_the_credentials(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.require_auth(token="old")
    lro_emulator.require_auth(token="new")

    assert get(lro_emulator, {"Authorization": "Bearer new"}).status_code == 200
    assert reason_of(get(lro_emulator, {"Authorization": "Bearer old"})) == "ACCESS_TOKEN_INVALID"


# -- gRPC --------------------------------------------------------------------------------------------------

GRPC_CASES = [
    pytest.param([], grpc.StatusCode.UNAUTHENTICATED, "CREDENTIALS_MISSING", id="nothing"),
    pytest.param([("authorization", "Bearer good")], grpc.StatusCode.OK, None, id="known-token"),
    pytest.param([("authorization", "Bearer nope")], grpc.StatusCode.UNAUTHENTICATED, "ACCESS_TOKEN_INVALID",
                 id="unknown-token"),
    pytest.param([("authorization", "Basic Z29vZDp4")], grpc.StatusCode.UNAUTHENTICATED,
                 "ACCESS_TOKEN_TYPE_UNSUPPORTED", id="basic"),
    pytest.param([("authorization", "Bearer read-only")], grpc.StatusCode.PERMISSION_DENIED, "IAM_PERMISSION_DENIED",
                 id="forbidden-token"),
    pytest.param([("x-goog-api-key", "k1")], grpc.StatusCode.OK, None, id="known-key"),
    pytest.param([("x-goog-api-key", "nope")], grpc.StatusCode.UNAUTHENTICATED, "API_KEY_INVALID", id="unknown-key"),
    pytest.param([("x-goog-api-key", "k-ro")], grpc.StatusCode.PERMISSION_DENIED, "IAM_PERMISSION_DENIED",
                 id="forbidden-key"),
]


@pytest.mark.parametrize(("metadata", "code", "reason"), GRPC_CASES)
def test_grpc_credentials_are_checked_from_metadata(
    lro_emulator: Emulator, stub: Stub, metadata: list[tuple[str, str]], code: grpc.StatusCode, reason: str | None
) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.require_auth(**POLICY)

    assert grpc_outcome(stub, metadata) == (code, reason)
    assert lro_emulator.calls.last.code == code.name
    assert lro_emulator.calls.last.transport == "grpc"


def test_a_grpc_cancel_without_credentials_changes_nothing(lro_emulator: Emulator, stub: Stub) -> None:
    op = lro_emulator.add_operation(NAME, metadata=struct(state="RUNNING"))
    lro_emulator.require_auth(token="good")

    with pytest.raises(grpc.RpcError) as caught:
        stub.CancelOperation(operations_pb2.CancelOperationRequest(name=NAME), timeout=GUARD)

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "authorization" in caught.value.details().lower()
    assert op.done is False
    assert lro_emulator.calls.last.code == "UNAUTHENTICATED"
    stub.CancelOperation(operations_pb2.CancelOperationRequest(name=NAME), timeout=GUARD,
                         metadata=[("authorization", "Bearer good")])
    assert op.done is True


# -- scripting errors --------------------------------------------------------------------------------------

SCRIPT_ERRORS = [
    pytest.param({}, r"require_auth\(\) needs token= or api_key= \(or both\)", id="nothing"),
    pytest.param({"token": None, "api_key": None}, r"needs token= or api_key=", id="nones"),
    pytest.param({"token": []}, r"needs token= or api_key=", id="empty-list"),
    pytest.param({"token": ""}, r"require_auth\(token=\) takes non-empty strings without surrounding spaces, got ''",
                 id="empty-token"),
    pytest.param({"api_key": ""}, r"require_auth\(api_key=\) takes non-empty strings", id="empty-key"),
    pytest.param({"token": "  "}, r"require_auth\(token=\) takes non-empty strings", id="blank-token"),
    pytest.param({"token": " good"}, r"without surrounding spaces, got ' good'", id="spaced-token"),
    pytest.param({"token": ["good", ""]}, r"require_auth\(token=\) takes non-empty strings", id="empty-in-a-list"),
    pytest.param({"token": 5}, r"require_auth\(token=\) takes non-empty strings", id="a-number"),
    pytest.param({"api_key": [b"k"]}, r"require_auth\(api_key=\) takes non-empty strings", id="bytes"),
    pytest.param({"token": "good", "forbidden": ""}, r"require_auth\(forbidden=\) takes non-empty strings",
                 id="empty-forbidden"),
    pytest.param({"forbidden": "other"}, r"require_auth\(\) needs token= or api_key=", id="forbidden-alone"),
]


@pytest.mark.parametrize(("arguments", "message"), SCRIPT_ERRORS)
def test_bad_require_auth_arguments_are_script_errors_that_change_nothing(
    lro_emulator: Emulator, arguments: dict[str, Any], message: str
) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.require_auth(token="before")

    with pytest.raises(ScriptError, match=message):
        lro_emulator.require_auth(**arguments)

    assert reason_of(get(lro_emulator)) == "CREDENTIALS_MISSING"
    assert get(lro_emulator, {"Authorization": "Bearer before"}).status_code == 200


# -- the marker and scenario files -------------------------------------------------------------------------

MARKER_TESTS = '''
import pytest
import requests

NAME = "projects/p/operations/export-1"


def status(emu, **headers):
    return requests.get(f"{emu.url}/v1/{NAME}", headers=headers, timeout=10).status_code


@pytest.mark.lro_emulator(auth="tok")
def test_a_string_is_a_bearer_token(lro_emulator):
    lro_emulator.add_operation(NAME)
    assert status(lro_emulator) == 401
    assert status(lro_emulator, Authorization="Bearer tok") == 200
    assert status(lro_emulator, **{"x-goog-api-key": "tok"}) == 401


@pytest.mark.lro_emulator(auth={"token": ["a", "b"], "api_key": "k", "forbidden": ["b"]})
def test_a_dict_gives_tokens_keys_and_forbidden(lro_emulator):
    lro_emulator.add_operation(NAME)
    assert status(lro_emulator, Authorization="Bearer a") == 200
    assert status(lro_emulator, Authorization="Bearer b") == 403
    assert status(lro_emulator, **{"x-goog-api-key": "k"}) == 200
    assert status(lro_emulator) == 401


@pytest.mark.lro_emulator(auth={"api_key": "k"})
def test_a_dict_with_a_key_only(lro_emulator):
    lro_emulator.add_operation(NAME)
    assert status(lro_emulator, **{"x-goog-api-key": "k"}) == 200
    assert status(lro_emulator, Authorization="Bearer k") == 401


def test_the_next_test_needs_no_credentials(lro_emulator):
    lro_emulator.add_operation(NAME)
    assert status(lro_emulator) == 200
'''


def test_the_marker_auth_option_takes_a_token_or_a_dict(users_project: pytest.Pytester) -> None:
    users_project.makepyfile(test_user=MARKER_TESTS)

    result = users_project.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(passed=4)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param("5", "@pytest.mark.lro_emulator(auth=...) takes a bearer token or a dict with token=, api_key=, "
                          "forbidden=; got 5", id="a-number"),
        pytest.param('["tok"]', "@pytest.mark.lro_emulator(auth=...) takes a bearer token or a dict*'tok'*",
                     id="a-list"),
        pytest.param('{"tokens": "tok"}', "@pytest.mark.lro_emulator(auth=...) takes*got {'tokens': 'tok'}",
                     id="an-unknown-key"),
        pytest.param('""', "@pytest.mark.lro_emulator(auth=...): require_auth(token=) takes non-empty strings*",
                     id="an-empty-token"),
        pytest.param("{}", "@pytest.mark.lro_emulator(auth=...): require_auth() needs token= or api_key=*",
                     id="an-empty-dict"),
        pytest.param('{"forbidden": ["u"]}', "@pytest.mark.lro_emulator(auth=...): require_auth() needs token=*",
                     id="forbidden-alone"),
    ],
)
def test_a_bad_marker_auth_option_is_a_usage_error(users_project: pytest.Pytester, value: str, shown: str) -> None:
    users_project.makepyfile(f'''
        import pytest

        @pytest.mark.lro_emulator(auth={value})
        def test_never_runs(lro_emulator):
            raise AssertionError("the body ran")
    ''')

    result = users_project.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*UsageError: {shown}*"])
    result.stdout.no_fnmatch_line("*the body ran*")


AUTH_SCENARIO = """\
operations:
  - name: projects/p/operations/export-1
auth:
  token: t
  apiKey: [k1, k2]
  forbidden: k2
"""


def test_a_scenarios_auth_section_requires_credentials(lro_emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "auth.yaml"
    path.write_text(AUTH_SCENARIO)

    lro_emulator.load_scenario(path)

    assert get(lro_emulator).status_code == 401
    assert get(lro_emulator, {"Authorization": "Bearer t"}).status_code == 200
    assert get(lro_emulator, query={"key": "k1"}).status_code == 200
    assert get(lro_emulator, {"x-goog-api-key": "k2"}).status_code == 403


@pytest.mark.parametrize(
    ("auth", "pointer", "message"),
    [
        pytest.param("{}", "/auth", "", id="no-credentials"),
        pytest.param("{forbidden: u}", "/auth", "", id="forbidden-alone"),
        pytest.param("{token: ''}", "/auth/token", "", id="empty-token"),
        pytest.param("{token: t, apikey: k}", "/auth", "apikey", id="misspelt-key"),
    ],
)
def test_a_bad_auth_section_loads_nothing(
    lro_emulator: Emulator, tmp_path: Path, auth: str, pointer: str, message: str
) -> None:
    path = tmp_path / "auth.yaml"
    path.write_text(f"operations:\n  - name: {NAME}\nauth: {auth}\n")

    with pytest.raises(ScenarioError) as caught:
        lro_emulator.load_scenario(path)

    [problem] = caught.value.problems
    assert problem.pointer == pointer
    assert problem.line == 3
    assert message in problem.message
    assert lro_emulator.operations == []
    assert requests.get(f"{lro_emulator.url}/v1/projects/p/operations", timeout=GUARD).status_code == 200
