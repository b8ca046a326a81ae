"""Contract: googleapiclient built from the discovery document the emulator serves drives its operations.

For the vertex, earthengine and cancel-get-list profiles the document is fetched over loopback
from both of Google's discovery paths, built with ``googleapiclient.discovery.build_from_document``
and used unchanged: get, list with ``list_next`` paging, cancel, delete and wait where the service
has them, with errors arriving as ``HttpError`` carrying the AIP-193 status. It proves the document
names resources, methods and patterns as the real service's document does, offers only what the
profile offers, and points ``rootUrl`` at the emulator.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httplib2
import pytest
from googleapiclient import discovery
from googleapiclient.errors import HttpError, UnknownApiNameOrVersion

from lro_emulator import PROFILES, Emulator

from .helpers import struct

HOUR = timedelta(hours=1)
METHOD_OF_RPC = {"GetOperation": "get", "ListOperations": "list", "CancelOperation": "cancel",
                 "DeleteOperation": "delete", "WaitOperation": "wait"}
OPERATION_METHODS = set(METHOD_OF_RPC.values())


@dataclasses.dataclass(frozen=True)
class Service:
    """One profile's real service, as its discovery document names it."""

    profile: str
    api: str
    versions: tuple[str, ...]
    resource: tuple[str, ...]
    parent: str
    methods: frozenset[str]
    wait_timeout: str | None  # where wait takes its timeout: "query", "body", or no wait at all
    schema_prefix: str

    @property
    def version(self) -> str:
        """The version ``$discovery/rest`` answers when none is asked for."""
        return self.versions[0]


VERTEX = Service("vertex", "aiplatform", ("v1", "v1beta1"), ("projects", "locations", "operations"),
                 "projects/p/locations/us-central1", frozenset(OPERATION_METHODS), "query", "GoogleLongrunning")
EARTH_ENGINE = Service("earthengine", "earthengine", ("v1", "v1beta", "v1alpha"), ("projects", "operations"),
                       "projects/my-project", frozenset(OPERATION_METHODS), "body", "")
CANCEL_GET_LIST = Service("cancel-get-list", "ml", ("v1",), ("projects", "operations"), "projects/p",
                          frozenset({"get", "list", "cancel"}), None, "GoogleLongrunning__")
SERVICES = (VERTEX, EARTH_ENGINE, CANCEL_GET_LIST)


def each(services: tuple[Service, ...]) -> list[Any]:
    """``services`` as parameters that also select their emulator profile."""
    return [pytest.param(s, marks=pytest.mark.lro_emulator(profile=s.profile), id=s.profile) for s in services]


ALL = each(SERVICES)
WITH_DELETE = each((VERTEX, EARTH_ENGINE))
WITH_WAIT = each((VERTEX, EARTH_ENGINE))


def fetch(url: str) -> tuple[int, dict[str, Any]]:
    """GET ``url`` over loopback: (HTTP status, JSON body)."""
    http = httplib2.Http()
    try:
        response, content = http.request(url)
    finally:
        http.close()
    return response.status, json.loads(content)


def discovery_url(emu: Emulator, version: str) -> str:
    """The path ``ee`` and other discovery clients use: ``/$discovery/rest?version=V``."""
    return f"{emu.url}/$discovery/rest?version={version}"


def apis_url(emu: Emulator, api: str, version: str) -> str:
    """The Discovery service's path: ``/discovery/v1/apis/{api}/{version}/rest``."""
    return f"{emu.url}/discovery/v1/apis/{api}/{version}/rest"


def refs(node: object) -> set[str]:
    """Every ``$ref`` inside a document."""
    if isinstance(node, dict):
        found = {node["$ref"]} if "$ref" in node else set()
        return found.union(*(refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(value) for value in node))
    return set()


def resource_of(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """The resource at ``path`` (``("projects", "operations")``) of a discovery document."""
    node = document
    for part in path:
        node = node["resources"][part]
    return node


def real_document(package: str, path: str) -> dict[str, Any]:
    """A real discovery document shipped inside an installed client library."""
    return dict(json.loads((importlib.resources.files(package) / path).read_text()))


def shape(method: dict[str, Any]) -> dict[str, Any]:
    """What a client relies on in a method: id, HTTP binding, parameters, and whether it takes a body."""
    return {
        "id": method["id"],
        "httpMethod": method["httpMethod"],
        "path": method["path"],
        "flatPath": method.get("flatPath"),
        "parameterOrder": method["parameterOrder"],
        "parameters": {
            name: {key: value for key, value in spec.items() if key != "description"}
            for name, spec in method["parameters"].items()
        },
        "request": "request" in method,
    }


@pytest.fixture
def document(lro_emulator: Emulator, service: Service) -> dict[str, Any]:
    """The discovery document served at ``/$discovery/rest`` for the service's first version."""
    status, body = fetch(discovery_url(lro_emulator, service.version))
    assert status == 200, body
    return body


@pytest.fixture
def client(document: dict[str, Any], httplib2_http: httplib2.Http) -> Any:
    """The googleapiclient service object built from the served document."""
    return discovery.build_from_document(document, http=httplib2_http)


@pytest.fixture
def operations(client: Any, service: Service) -> Any:
    """The service's operations resource (``client.projects().locations().operations()``, ...)."""
    node = client
    for part in service.resource:
        node = getattr(node, part)()
    return node


def cancel(operations: Any, service: Service, name: str) -> Any:
    """A cancel request as the service's document spells it (Earth Engine's takes a body)."""
    return operations.cancel(name=name, body={}) if service.wait_timeout == "body" else operations.cancel(name=name)


def wait(operations: Any, service: Service, name: str, timeout: str) -> Any:
    """A wait request: Vertex AI takes ``timeout`` in the query, Earth Engine in the body."""
    if service.wait_timeout == "body":
        return operations.wait(name=name, body={"timeout": timeout})
    return operations.wait(name=name, timeout=timeout)


# -- the document ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ALL)
def test_both_discovery_paths_serve_the_same_document_rooted_at_the_emulator(
    lro_emulator: Emulator, service: Service
) -> None:
    status, document = fetch(discovery_url(lro_emulator, service.version))
    other_status, other = fetch(apis_url(lro_emulator, service.api, service.version))

    assert (status, other_status) == (200, 200)
    assert other == document
    assert document["rootUrl"] == lro_emulator.url + "/"
    assert (document["kind"], document["name"], document["version"], document["id"]) == (
        "discovery#restDescription", service.api, service.version, f"{service.api}:{service.version}"
    )
    assert "auth" not in document
    assert [(call.rpc, call.method, call.path, call.status) for call in lro_emulator.calls] == [
        ("GetDiscoveryDocument", "GET", "/$discovery/rest", 200),
        ("GetDiscoveryDocument", "GET", f"/discovery/v1/apis/{service.api}/{service.version}/rest", 200),
    ]


@pytest.mark.parametrize("service", ALL)
def test_the_operations_resource_has_exactly_the_profiles_methods_named_as_the_real_service(
    document: dict[str, Any], operations: Any, service: Service
) -> None:
    methods = resource_of(document, service.resource)["methods"]
    dotted = ".".join(service.resource)

    assert set(methods) == service.methods
    assert {name: method["id"] for name, method in methods.items()} == {
        name: f"{service.api}.{dotted}.{name}" for name in service.methods
    }
    assert {name for name in OPERATION_METHODS if hasattr(operations, name)} == service.methods
    assert hasattr(operations, "list_next")
    assert methods["get"]["path"] == f"{service.version}/{{+name}}"
    assert methods["list"]["path"] == f"{service.version}/{{+name}}/operations"
    assert methods["cancel"]["path"] == f"{service.version}/{{+name}}:cancel"
    assert methods["get"]["response"] == {"$ref": f"{service.schema_prefix}Operation"}


@pytest.mark.parametrize("service", ALL)
def test_every_schema_reference_resolves_and_no_credentials_are_asked_for(
    document: dict[str, Any], service: Service
) -> None:
    assert refs(document) <= set(document["schemas"])
    assert all(schema["id"] == name for name, schema in document["schemas"].items())
    assert not any("scopes" in method for method in resource_of(document, service.resource)["methods"].values())
    assert "nextPageToken" in document["schemas"][f"{service.schema_prefix}ListOperationsResponse"]["properties"]


REAL_DOCUMENTS = [
    pytest.param(VERTEX, "v1", ("googleapiclient.discovery_cache", "documents/aiplatform.v1.json"),
                 VERTEX.resource, marks=pytest.mark.lro_emulator(profile="vertex"), id="vertex-aiplatform.v1"),
    pytest.param(VERTEX, "v1beta1", ("googleapiclient.discovery_cache", "documents/aiplatform.v1beta1.json"),
                 ("operations",), marks=pytest.mark.lro_emulator(profile="vertex"), id="vertex-global-v1beta1"),
    pytest.param(CANCEL_GET_LIST, "v1", ("googleapiclient.discovery_cache", "documents/ml.v1.json"),
                 CANCEL_GET_LIST.resource, marks=pytest.mark.lro_emulator(profile="cancel-get-list"), id="ml.v1"),
    # Earth Engine's own test fixture: its v1alpha document as ee's tests know it.
    pytest.param(EARTH_ENGINE, "v1alpha", ("ee", "tests/cloud_api_discovery_document.json"),
                 EARTH_ENGINE.resource, marks=pytest.mark.lro_emulator(profile="earthengine"), id="earthengine"),
]


@pytest.mark.parametrize(("service", "version", "real", "resource"), REAL_DOCUMENTS)
def test_each_served_method_has_the_shape_of_the_real_services_method(
    lro_emulator: Emulator, service: Service, version: str, real: tuple[str, str], resource: tuple[str, ...]
) -> None:
    _, document = fetch(apis_url(lro_emulator, service.api, version))
    served = resource_of(document, resource)["methods"]
    original = resource_of(real_document(*real), resource)["methods"]

    assert set(served) <= set(original)
    assert {name: shape(method) for name, method in served.items()} == {
        name: shape(original[name]) for name in served
    }
    if service.schema_prefix:
        assert {name: method["response"] for name, method in served.items()} == {
            name: original[name]["response"] for name in served
        }


@pytest.mark.parametrize("service", WITH_WAIT)
def test_wait_takes_its_timeout_where_the_real_service_does(document: dict[str, Any], service: Service) -> None:
    wait_method = resource_of(document, service.resource)["methods"]["wait"]

    if service.wait_timeout == "body":
        assert "timeout" not in wait_method["parameters"]
        assert wait_method["request"] == {"$ref": "WaitOperationRequest"}
        assert document["schemas"]["WaitOperationRequest"]["properties"]["timeout"]["format"] == "google-duration"
    else:
        assert "request" not in wait_method
        timeout = wait_method["parameters"]["timeout"]
        assert (timeout["location"], timeout["type"], timeout["format"]) == ("query", "string", "google-duration")


@pytest.mark.parametrize(
    ("service", "version"),
    [pytest.param(s, v, marks=pytest.mark.lro_emulator(profile=s.profile), id=f"{s.profile}-{v}")
     for s in SERVICES for v in s.versions],
)
def test_each_version_of_the_real_service_is_served_and_called_at_its_own_paths(
    lro_emulator: Emulator, httplib2_http: httplib2.Http, service: Service, version: str
) -> None:
    op = lro_emulator.add_operation(parent=service.parent)
    status, document = fetch(apis_url(lro_emulator, service.api, version))
    node = discovery.build_from_document(document, http=httplib2_http)
    for part in service.resource:
        node = getattr(node, part)()

    answer = node.get(name=op.name).execute()

    assert status == 200
    assert answer == {"name": op.name}
    assert lro_emulator.calls.filter(rpc="GetOperation")[0].path == f"/{version}/{op.name}"


@pytest.mark.parametrize(
    "profile", [pytest.param(p, marks=pytest.mark.lro_emulator(profile=p), id=p) for p in sorted(PROFILES)]
)
def test_every_profile_serves_a_document_googleapiclient_builds(
    lro_emulator: Emulator, httplib2_http: httplib2.Http, profile: str
) -> None:
    status, document = fetch(discovery_url(lro_emulator, "v1"))
    discovery.build_from_document(document, http=httplib2_http)

    def method_names(node: dict[str, Any]) -> set[str]:
        names = set(node.get("methods", {}))
        return names.union(*(method_names(child) for child in node.get("resources", {}).values()))

    assert status == 200
    assert refs(document) <= set(document["schemas"])
    assert method_names(document) == {METHOD_OF_RPC[rpc] for rpc in PROFILES[profile].rpcs}


@pytest.mark.lro_emulator(profile="vertex")
def test_discovery_build_fetches_the_document_itself(lro_emulator: Emulator, httplib2_http: httplib2.Http) -> None:
    op = lro_emulator.add_operation(parent=VERTEX.parent)
    url = lro_emulator.url + "/discovery/v1/apis/{api}/{apiVersion}/rest"

    client = discovery.build("aiplatform", "v1beta1", discoveryServiceUrl=url, http=httplib2_http,
                             cache_discovery=False)
    answer = client.projects().locations().operations().get(name=op.name).execute()

    assert answer["name"] == op.name
    assert [call.path for call in lro_emulator.calls] == [
        "/discovery/v1/apis/aiplatform/v1beta1/rest", f"/v1beta1/{op.name}"
    ]


# -- unknown versions and APIs ----------------------------------------------------------------------------


@pytest.mark.lro_emulator(profile="earthengine")
@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/$discovery/rest?version=v2", "API_VERSION_NOT_FOUND"),
        ("/$discovery/rest?version=v1beta1", "API_VERSION_NOT_FOUND"),
        ("/discovery/v1/apis/earthengine/v3/rest", "API_VERSION_NOT_FOUND"),
        ("/discovery/v1/apis/storage/v1/rest", "API_NOT_FOUND"),
    ],
)
def test_an_unknown_version_or_api_is_a_not_found_envelope_saying_what_is_served(
    lro_emulator: Emulator, path: str, reason: str
) -> None:
    status, body = fetch(lro_emulator.url + path)

    assert status == 404
    assert body["error"]["code"] == 404
    assert body["error"]["status"] == "NOT_FOUND"
    assert body["error"]["details"][0]["reason"] == reason
    assert "earthengine" in body["error"]["message"]
    assert "v1" in body["error"]["message"]
    assert lro_emulator.calls[0].rpc == "GetDiscoveryDocument"
    assert lro_emulator.calls[0].code == "NOT_FOUND"


@pytest.mark.parametrize(
    ("profile", "api", "served_by"),
    [
        pytest.param("generic", "earthengine", "earthengine", marks=pytest.mark.lro_emulator(profile="generic"),
                     id="generic-asked-for-earthengine"),
        pytest.param("generic", "aiplatform", "vertex", marks=pytest.mark.lro_emulator(profile="generic"),
                     id="generic-asked-for-aiplatform"),
        pytest.param("earthengine", "aiplatform", "vertex", marks=pytest.mark.lro_emulator(profile="earthengine"),
                     id="earthengine-asked-for-aiplatform"),
    ],
)
def test_the_api_of_another_profile_is_a_failed_precondition_naming_that_profile(
    lro_emulator: Emulator, profile: str, api: str, served_by: str
) -> None:
    status, body = fetch(apis_url(lro_emulator, api, "v1"))

    assert status == 400
    assert body["error"]["status"] == "FAILED_PRECONDITION"
    assert body["error"]["details"][0]["reason"] == "API_OF_ANOTHER_PROFILE"
    assert body["error"]["details"][0]["metadata"] == {"api": api, "profile": profile, "servedBy": served_by}
    assert body["error"]["message"] == (
        f"no discovery document for API {api!r} here: this emulator runs the {profile} profile, whose discovery "
        f"document has none of {api}'s resources; start it with the {served_by} profile: "
        f"@pytest.mark.lro_emulator(profile={served_by!r}), Emulator(profile={served_by!r}) or "
        f"`lro-emulator serve --profile {served_by}`")


@pytest.mark.lro_emulator(profile="generic")
def test_discovery_build_of_earthengine_against_the_generic_profile_says_which_profile_to_use(
    lro_emulator: Emulator, httplib2_http: httplib2.Http
) -> None:
    url = lro_emulator.url + "/discovery/v1/apis/{api}/{apiVersion}/rest"

    with pytest.raises(HttpError) as raised:
        discovery.build("earthengine", "v1", discoveryServiceUrl=url, http=httplib2_http, cache_discovery=False)

    assert raised.value.status_code == 400
    assert "this emulator runs the generic profile" in str(raised.value)
    assert "`lro-emulator serve --profile earthengine`" in str(raised.value)


@pytest.mark.lro_emulator(profile="vertex")
def test_discovery_build_of_an_unknown_version_raises_unknown_api_name_or_version(
    lro_emulator: Emulator, httplib2_http: httplib2.Http
) -> None:
    url = lro_emulator.url + "/discovery/v1/apis/{api}/{apiVersion}/rest"

    with pytest.raises(UnknownApiNameOrVersion):
        discovery.build("aiplatform", "v2", discoveryServiceUrl=url, http=httplib2_http, cache_discovery=False)


@pytest.mark.parametrize(
    "profile", [pytest.param(p, marks=pytest.mark.lro_emulator(profile=p), id=p) for p in sorted(PROFILES)
                if p != "earthengine"]
)
def test_earth_engines_algorithms_are_not_found_under_other_profiles(lro_emulator: Emulator, profile: str) -> None:
    status, body = fetch(f"{lro_emulator.url}/v1/projects/p/algorithms")

    assert status == 404
    assert body["error"]["details"][0]["reason"] == "ALGORITHMS_NOT_OFFERED"
    assert "earthengine" in body["error"]["message"]
    assert lro_emulator.calls[0].rpc == "ListAlgorithms"


@pytest.mark.lro_emulator(profile="generic")
def test_the_generic_profile_answers_for_any_api_name_and_version(
    lro_emulator: Emulator, httplib2_http: httplib2.Http
) -> None:
    op = lro_emulator.add_operation(parent="workspaces/w/jobs/j")
    status, document = fetch(apis_url(lro_emulator, "myservice", "v2beta"))

    client = discovery.build_from_document(document, http=httplib2_http)
    answer = client.operations().get(name=op.name).execute()
    _, default = fetch(discovery_url(lro_emulator, "v1"))

    assert status == 200
    assert document["id"] == "myservice:v2beta"
    assert default["id"] == "longrunning:v1"
    assert answer["name"] == op.name
    assert lro_emulator.calls.filter(rpc="GetOperation")[0].path == f"/v2beta/{op.name}"


# -- the methods --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ALL)
def test_get_reads_the_scripted_state_as_time_passes(
    lro_emulator: Emulator, operations: Any, service: Service
) -> None:
    op = lro_emulator.add_operation(parent=service.parent, metadata=struct(state="PENDING"))
    op.update(at=30, metadata=struct(state="RUNNING"))

    first = operations.get(name=op.name).execute()
    lro_emulator.clock.advance(30)
    second = operations.get(name=op.name).execute()

    assert first == {"name": op.name, "metadata": struct(state="PENDING")}
    assert second == {"name": op.name, "metadata": struct(state="RUNNING")}
    gets = lro_emulator.calls.filter(rpc="GetOperation")
    assert [(call.path, call.query.get("alt")) for call in gets] == [(f"/{service.version}/{op.name}", "json")] * 2


@pytest.mark.parametrize("service", ALL)
def test_list_next_pages_through_every_operation_once(
    lro_emulator: Emulator, operations: Any, service: Service
) -> None:
    names = [lro_emulator.add_operation(parent=service.parent).name for _ in range(7)]
    lro_emulator.add_operation(parent=service.parent + "-elsewhere")

    pages: list[list[str]] = []
    request = operations.list(name=service.parent, pageSize=3)
    for _ in range(10):
        if request is None:
            break
        response = request.execute()
        pages.append([operation["name"] for operation in response.get("operations", [])])
        request = operations.list_next(request, response)

    assert pages == [names[0:3], names[3:6], names[6:7]]
    lists = lro_emulator.calls.filter(rpc="ListOperations")
    assert [call.query.get("pageSize") for call in lists] == ["3"] * 3
    assert "pageToken" not in lists[0].query
    assert all(call.query.get("pageToken") for call in lists[1:])


@pytest.mark.parametrize("service", ALL)
def test_list_filters_across_pages(lro_emulator: Emulator, operations: Any, service: Service) -> None:
    made = [lro_emulator.add_operation(parent=service.parent) for _ in range(6)]
    for op in made[::2]:
        op.succeed()

    first = operations.list(name=service.parent, filter="done=true", pageSize=2).execute()
    second = operations.list_next(operations.list(name=service.parent, filter="done=true", pageSize=2), first)
    rest = second.execute()

    assert [o["name"] for o in first["operations"] + rest["operations"]] == [op.name for op in made[::2]]
    assert "nextPageToken" not in rest
    assert operations.list_next(second, rest) is None


@pytest.mark.parametrize("service", ALL)
def test_cancel_answers_empty_and_the_operation_then_shows_cancelled(
    lro_emulator: Emulator, operations: Any, service: Service
) -> None:
    op = lro_emulator.add_operation(parent=service.parent).succeed(at=HOUR)

    answer = cancel(operations, service, op.name).execute()
    after = operations.get(name=op.name).execute()

    assert answer == {}
    assert after["done"] is True
    assert after["error"]["code"] == 1
    assert "response" not in after
    call = lro_emulator.calls.filter(rpc="CancelOperation")[0]
    assert (call.method, call.path) == ("POST", f"/{service.version}/{op.name}:cancel")
    assert call.body == ({} if service.wait_timeout == "body" else None)


@pytest.mark.parametrize("service", WITH_DELETE)
def test_delete_forgets_the_operation_so_get_is_http_404(
    lro_emulator: Emulator, operations: Any, service: Service
) -> None:
    op = lro_emulator.add_operation(parent=service.parent)

    answer = operations.delete(name=op.name).execute()
    with pytest.raises(HttpError) as raised:
        operations.get(name=op.name).execute()

    assert answer == {}
    assert raised.value.resp.status == 404
    assert json.loads(raised.value.content)["error"]["status"] == "NOT_FOUND"
    assert lro_emulator.calls.filter(rpc="DeleteOperation")[0].method == "DELETE"


@pytest.mark.parametrize("service", WITH_WAIT)
def test_wait_on_an_hour_long_operation_moves_the_virtual_clock_to_its_end(
    lro_emulator: Emulator, operations: Any, service: Service
) -> None:
    start = lro_emulator.clock.now()
    op = lro_emulator.add_operation(parent=service.parent, metadata=struct(state="RUNNING"))
    op.succeed(struct(rows=42), at=HOUR, metadata=struct(state="SUCCEEDED"))

    answer = wait(operations, service, op.name, "7200s").execute()

    assert answer == {"name": op.name, "done": True, "metadata": struct(state="SUCCEEDED"),
                      "response": struct(rows=42)}
    assert lro_emulator.clock.now() - start == HOUR
    call = lro_emulator.calls.filter(rpc="WaitOperation")[0]
    assert call.path == f"/{service.version}/{op.name}:wait"
    if service.wait_timeout == "body":
        assert (call.body, call.query.get("timeout")) == ({"timeout": "7200s"}, None)
    else:
        assert (call.body, call.query.get("timeout")) == (None, "7200s")


@pytest.mark.parametrize("service", WITH_WAIT)
def test_wait_shorter_than_the_operation_returns_it_unfinished_after_the_timeout(
    lro_emulator: Emulator, operations: Any, service: Service
) -> None:
    start = lro_emulator.clock.now()
    op = lro_emulator.add_operation(parent=service.parent).succeed(at=HOUR)

    answer = wait(operations, service, op.name, "90s").execute()

    assert answer == {"name": op.name}
    assert lro_emulator.clock.now() - start == timedelta(seconds=90)


@pytest.mark.lro_emulator(profile="vertex")
def test_vertex_global_operations_are_reachable_and_listed(
    lro_emulator: Emulator, httplib2_http: httplib2.Http
) -> None:
    op = lro_emulator.add_operation("operations/global-1").succeed(at=60)
    lro_emulator.add_operation(parent="projects/p/locations/l")
    _, document = fetch(discovery_url(lro_emulator, "v1"))
    global_operations = discovery.build_from_document(document, http=httplib2_http).operations()

    answer = global_operations.wait(name=op.name, timeout="120s").execute()
    listed = global_operations.list().execute()

    assert answer["done"] is True
    assert set(document["resources"]["operations"]["methods"]) == {"get", "list", "cancel", "delete", "wait"}
    assert [operation["name"] for operation in listed["operations"]] == ["operations/global-1"]
    assert lro_emulator.calls.filter(rpc="WaitOperation")[0].path == "/v1/operations/global-1:wait"
    assert lro_emulator.calls.filter(rpc="ListOperations")[0].path == "/v1/operations"


# -- errors ------------------------------------------------------------------------------------------------

Call = Callable[[Any, Service], Any]

ERRORS: list[tuple[str, Call, int, str]] = [
    ("unknown-operation", lambda ops, s: ops.get(name=f"{s.parent}/operations/missing"), 404, "NOT_FOUND"),
    ("cancel-unknown-operation", lambda ops, s: cancel(ops, s, f"{s.parent}/operations/missing"), 404, "NOT_FOUND"),
    ("bad-filter", lambda ops, s: ops.list(name=s.parent, filter="done=="), 400, "INVALID_ARGUMENT"),
    ("unknown-filter-field", lambda ops, s: ops.list(name=s.parent, filter="colour=red"), 400, "INVALID_ARGUMENT"),
    ("negative-page-size", lambda ops, s: ops.list(name=s.parent, pageSize=-1), 400, "INVALID_ARGUMENT"),
    ("foreign-page-token", lambda ops, s: ops.list(name=s.parent, pageToken="not-ours"), 400, "INVALID_ARGUMENT"),
]


@pytest.mark.parametrize("service", ALL)
@pytest.mark.parametrize(("make", "status", "code"), [pytest.param(*e[1:], id=e[0]) for e in ERRORS])
def test_errors_arrive_as_http_error_with_the_aip_193_status(
    lro_emulator: Emulator, operations: Any, service: Service, make: Call, status: int, code: str
) -> None:
    lro_emulator.add_operation(parent=service.parent)

    with pytest.raises(HttpError) as raised:
        make(operations, service).execute()

    assert raised.value.resp.status == status
    error = json.loads(raised.value.content)["error"]
    assert (error["code"], error["status"]) == (status, code)
    assert error["message"] in str(raised.value)
    assert lro_emulator.calls[-1].code == code


@pytest.mark.parametrize("service", each((VERTEX,)))
def test_a_timeout_that_is_not_a_duration_is_http_400(
    lro_emulator: Emulator, operations: Any, service: Service
) -> None:
    op = lro_emulator.add_operation(parent=service.parent)

    with pytest.raises(HttpError) as raised:
        operations.wait(name=op.name, timeout="1.5").execute()

    assert raised.value.resp.status == 400
    assert json.loads(raised.value.content)["error"]["details"][-1]["fieldViolations"][0]["field"] == "timeout"


@pytest.mark.parametrize("service", ALL)
def test_names_outside_the_real_services_pattern_are_refused_before_sending(
    lro_emulator: Emulator, operations: Any, service: Service
) -> None:
    with pytest.raises(TypeError, match="does not match the pattern"):
        operations.get(name="folders/f/operations/x")

    assert lro_emulator.calls.filter(rpc="GetOperation").call_count == 0
