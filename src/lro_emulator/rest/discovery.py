"""Discovery documents of the emulated service, built from the route table and the active profile.

Google's discovery-based clients (``googleapiclient.discovery``, and Earth Engine's ``ee``, which is
built on it) learn a service's methods from its discovery document. The emulator serves one for the
active profile's operations resource, so those clients work against it unchanged:

- the methods are the Operations RPCs the profile offers, each bound to its route in
  `lro_emulator.routes.ROUTES` (HTTP method, path, custom verb);
- resources, method ids, parameter names and ``pattern``\\ s, and schema names mirror the real
  service's document (see `SERVICES`), because clients check names against those patterns before
  sending anything;
- the schemas of the messages (Operation, Status, ListOperationsResponse, Empty and the request
  bodies) are the package's JSON Schemas (``schemas/*.schema.json``), translated to discovery's
  schema dialect, so the document describes exactly what the emulator sends and accepts;
- ``rootUrl`` is the emulator's own address, and no OAuth scopes are declared, so that
  ``googleapiclient`` does not go looking for credentials.

For the ``earthengine`` profile the document also holds ``projects.algorithms.list``, which
``ee.Initialize`` calls, and `algorithms` answers it.

A client pointed at the wrong profile is told which one to start, wherever it can hear it:

- a document asked for by the name of an API another profile emulates (``apis/earthengine/v1``
  under the generic profile) is FAILED_PRECONDITION naming that profile. Not NOT_FOUND, as an API
  no profile emulates is: ``googleapiclient.discovery.build`` turns a 404 into
  ``UnknownApiNameOrVersion`` and drops the message, but raises a 400 as an ``HttpError`` that
  shows it;
- ``ee`` asks for ``/$discovery/rest`` with no API name and nothing else that tells it apart
  from any other client, so that request cannot be refused. The generic profile's document there
  declares ``projects.algorithms.list`` as well: ``ee.Initialize`` calls it first, and its
  NOT_FOUND, which says to start the earthengine profile, reaches the user as ``ee``'s
  exception. Without it ``ee`` fails on the missing resource itself (``AttributeError:
  'Resource' object has no attribute 'projects'``), which says nothing of profiles. Serving Earth
  Engine's resources from the generic profile instead would answer for names the generic profile
  does not check and make the earthengine profile's name checks moot.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

from ..wire.codes import Code
from ..wire.errors import StatusError
from ..wire.profiles import RPCS, Profile, collection_of
from ..wire.proto3_json import JSON
from ..wire.routes import CONVERTER_PATTERNS, ROUTES, SERVICE_ROUTES, STANDARD_QUERY_PARAMETERS, Route
from ..wire.validation import Schemas, load_schemas
from .discovery_schemas import SchemaTranslator

__all__ = [
    "SERVICES", "OperationsCollection", "ServiceNaming", "algorithms", "discovery_document", "naming_of",
    "published_collections",
]



@dataclasses.dataclass(frozen=True)
class OperationsCollection:
    """One operations resource of a discovery document, as the real service's document names it.

    ``resource`` is its path among the document's resources (``("projects", "operations")`` gives
    ``projects.operations``). ``name_pattern`` and ``parent_pattern`` are the ``pattern``\\ s of an
    operation name and of the list parent (None: the document sets none and any name goes).
    ``list_endpoint`` names the `ROUTES` entry its list method uses: ``"list"`` takes the parent in
    the path, ``"list_global"`` lists the global ``operations`` collection, which the document
    offers only if the profile lists the empty parent. ``flat`` says whether the resource path
    spells the names (``flatPath``: ``v1/projects/{projectsId}/operations/{operationsId}``).
    """

    resource: tuple[str, ...]
    name_pattern: str | None
    parent_pattern: str | None
    list_endpoint: Literal["list", "list_global"] = "list"
    flat: bool = True
    #: The RPCs the service binds for this collection (None: every RPC the profile offers).
    rpcs: frozenset[str] | None = None


@dataclasses.dataclass(frozen=True)
class ServiceNaming:
    """How one profile's real service names things in its discovery document.

    ``api`` is the service name (``earthengine``; None: any name a client asks for but another
    profile's, see the generic profile), ``versions`` the versions it answers (None: any API version segment).
    ``schema_style`` spells the schema names: ``plain`` (``Operation``), ``joined``
    (``GoogleLongrunningOperation``) or ``underscored`` (``GoogleLongrunning__Operation``).
    ``wait_timeout`` says where WaitOperation takes its timeout (``query`` or ``body``);
    ``cancel_body`` whether cancel declares a request body; ``partial_success`` whether list has
    ``returnPartialSuccess``; ``algorithms`` whether ``projects.algorithms.list`` is served.
    """

    api: str | None
    title: str
    documentation: str
    versions: tuple[str, ...] | None
    collections: tuple[OperationsCollection, ...]
    schema_style: Literal["plain", "joined", "underscored"]
    wait_timeout: Literal["query", "body"] = "query"
    cancel_body: bool = False
    partial_success: bool = True
    algorithms: bool = False

    @property
    def default_api(self) -> str:
        """The service name when the client does not ask for one (``$discovery/rest``)."""
        return self.api or "longrunning"


#: Each profile's naming, after the real discovery documents: Earth Engine's (``earthengine`` v1,
#: v1beta, v1alpha: ``projects.operations``, wait with a JSON body, ``projects.algorithms``), Vertex
#: AI's (``aiplatform`` v1, v1beta1: ``projects.locations.operations`` and the global
#: ``operations``, wait with ``timeout`` in the query), and AI Platform Training & Prediction's
#: (``ml`` v1: ``projects.operations`` with cancel, get and list) for the cancel-get-list profile.
#: Their operations resources are those of the bindings the profile publishes (`published_collections`):
#: Vertex AI's nested collections (``projects.locations.datasets.operations`` and a hundred more) included.
#:
#: The generic profile stands for any service: it answers for whatever API name a client asks but
#: those the other profiles emulate (``longrunning`` at ``$discovery/rest``) and any version, with
#: one top-level ``operations`` resource whose names and parents carry no pattern, wait taking its
#: timeout in the query, and the schema names of most Cloud APIs (``GoogleLongrunningOperation``).
#: The global collection (``GET /{version}/operations``) is left out there: its list would need a
#: second ``list``. At ``$discovery/rest`` it declares Earth Engine's ``projects.algorithms.list``
#: too, to tell an ``ee`` client which profile to start (see the module's docstring).
SERVICES: Mapping[str, ServiceNaming] = MappingProxyType({
    "generic": ServiceNaming(
        api=None,
        title="Long-running operations (lro-emulator)",
        documentation="https://google.aip.dev/151",
        versions=None,
        collections=(OperationsCollection(("operations",), None, None, flat=False),),
        schema_style="joined",
    ),
    "earthengine": ServiceNaming(
        api="earthengine",
        title="Google Earth Engine API",
        documentation="https://developers.google.com/earth-engine/",
        versions=("v1", "v1beta", "v1alpha"),
        collections=(),  # the profile's published bindings
        schema_style="plain",
        wait_timeout="body",
        cancel_body=True,
        partial_success=False,
        algorithms=True,
    ),
    "vertex": ServiceNaming(
        api="aiplatform",
        title="Vertex AI API",
        documentation="https://cloud.google.com/vertex-ai/",
        versions=("v1", "v1beta1"),
        collections=(),  # the profile's published bindings
        schema_style="joined",
    ),
    "cancel-get-list": ServiceNaming(
        api="ml",
        title="AI Platform Training & Prediction API",
        documentation="https://cloud.google.com/ml/",
        versions=("v1",),
        collections=(),  # the profile's published bindings
        schema_style="underscored",
    ),
})

# Discovery method names of the RPCs, as every Google document spells them.
_METHOD_NAMES = {
    "GetOperation": "get",
    "ListOperations": "list",
    "CancelOperation": "cancel",
    "DeleteOperation": "delete",
    "WaitOperation": "wait",
}

_DESCRIPTIONS = {
    "GetOperation": "Gets the latest state of a long-running operation. Clients can use this method to poll "
                    "the operation result at intervals as recommended by the API service.",
    "ListOperations": "Lists operations that match the specified filter in the request.",
    "CancelOperation": "Starts asynchronous cancellation on a long-running operation. On successful "
                       "cancellation, the operation is not deleted; instead, it becomes an operation with an "
                       "error whose code is 1, corresponding to `Code.CANCELLED`.",
    "DeleteOperation": "Deletes a long-running operation: the client is no longer interested in its result. "
                       "It does not cancel the operation.",
    "WaitOperation": "Waits until the specified long-running operation is done or reaches at most a specified "
                     "timeout, returning the latest state. It may return the latest state before the timeout "
                     "(including immediately), so even an immediate response is no guarantee that the "
                     "operation is done.",
}

# The route table's query parameter types, in discovery's words.
_QUERY_TYPES: dict[str, JSON] = {
    "string": {"type": "string"},
    "integer": {"type": "integer", "format": "int32"},
    "count": {"type": "integer", "format": "int32"},  # Google's documents declare no minimum
    "boolean": {"type": "boolean"},
    "duration": {"type": "string", "format": "google-duration"},
}

_QUERY_DESCRIPTIONS = {
    "filter": "The standard list filter.",
    "name": "The name of the operation's parent resource (empty for the global collection).",
    "pageSize": "The standard list page size.",
    "pageToken": "The standard list page token.",
    "returnPartialSuccess": "When true, operations that are reachable are returned as normal, and those that are "
                            "unreachable in ListOperationsResponse.unreachable. Only when reading across collections.",
    "timeout": "The maximum duration to wait before timing out.",
}

# The system parameters of Google's documents. Only those the server ignores are declared (all of
# them today): a declared parameter the server refused would break every call that sends it.
_SYSTEM_PARAMETERS: dict[str, JSON] = {
    "$.xgafv": {"description": "V1 error format.", "enum": ["1", "2"],
                "enumDescriptions": ["v1 error format", "v2 error format"]},
    "access_token": {"description": "OAuth access token (ignored by the emulator)."},
    "alt": {"default": "json", "description": "Data format for response.", "enum": ["json"],
            "enumDescriptions": ["Responses with Content-Type of application/json"]},
    "callback": {"description": "JSONP"},
    "fields": {"description": "Selector specifying which fields to include in a partial response."},
    "key": {"description": "API key (ignored by the emulator)."},
    "oauth_token": {"description": "OAuth 2.0 token for the current user (ignored by the emulator)."},
    "prettyPrint": {"default": "true", "description": "Returns response with indentations and line breaks.",
                    "type": "boolean"},
    "quotaUser": {"description": "Available to use for quota purposes for server-side applications."},
    "uploadType": {"description": "Legacy upload protocol for media (e.g. \"media\", \"multipart\")."},
    "upload_protocol": {"description": "Upload protocol for media (e.g. \"raw\", \"multipart\")."},
}

# The proto package of each message the document names, which the joined and underscored styles
# spell out. These messages' schemas are not written here: each is the JSON Schema titled with its
# name (operation.schema.json is "Operation"), translated by `SchemaTranslator`.
_PACKAGES = {
    "Operation": "Longrunning",
    "ListOperationsResponse": "Longrunning",
    "CancelOperationRequest": "Longrunning",
    "WaitOperationRequest": "Longrunning",
    "Status": "Rpc",
    "Empty": "Protobuf",
}

# Earth Engine's own messages for projects.algorithms.list, which no JSON Schema describes (the
# emulator only ever sends its fixed `_ALGORITHMS`). "$ref" values are kinds, renamed to the
# service's style when the document is built.
_EARTH_ENGINE_SCHEMAS: dict[str, JSON] = {
    "ListAlgorithmsResponse": {
        "description": "All the algorithms available for use in Expressions.",
        "properties": {
            "algorithms": {"description": "A list of the available algorithms.",
                           "items": {"$ref": "Algorithm"}, "type": "array"},
        },
        "type": "object",
    },
    "Algorithm": {
        "description": "The description of an algorithm available for Expressions.",
        "properties": {
            "arguments": {"description": "Descriptions of the arguments the algorithm takes.",
                          "items": {"$ref": "AlgorithmArgument"}, "type": "array"},
            "deprecated": {"description": "Whether the algorithm is deprecated.", "type": "boolean"},
            "deprecationReason": {"description": "If this algorithm is deprecated, the reason.", "type": "string"},
            "description": {"description": "A human-readable description of the algorithm.", "type": "string"},
            "hidden": {"description": "Whether this algorithm should be hidden in client applications.",
                       "type": "boolean"},
            "name": {"description": "The name of the algorithm, in the form \"algorithms/...\".", "type": "string"},
            "preview": {"description": "Whether this algorithm is a preview feature.", "type": "boolean"},
            "returnType": {"description": "The name of the type the algorithm returns.", "type": "string"},
            "sourceCodeUri": {"description": "URI of the algorithm's source code, if any.", "type": "string"},
        },
        "type": "object",
    },
    "AlgorithmArgument": {
        "description": "The description of an argument to an algorithm.",
        "properties": {
            "argumentName": {"description": "The name of the argument.", "type": "string"},
            "defaultValue": {"description": "The default value the argument takes if a value is not provided.",
                             "type": "any"},
            "description": {"description": "A human-readable description of the argument.", "type": "string"},
            "optional": {"description": "Whether the argument is optional.", "type": "boolean"},
            "type": {"description": "The name of the type of the argument.", "type": "string"},
        },
        "type": "object",
    },
}

# A few real Earth Engine signatures. ee.Initialize binds whatever it is given onto ee.Image,
# ee.Number, ... and, given none, refetches the list once per class it initializes; nothing it
# does at start needs a particular algorithm, and the emulator computes nothing.
_ALGORITHMS: tuple[JSON, ...] = (
    {
        "name": "algorithms/Image.constant",
        "description": "Generates an image containing a constant value everywhere.",
        "returnType": "Image",
        "arguments": [{"argumentName": "value", "type": "Object",
                       "description": "The value of the pixels in the constant image."}],
    },
    {
        "name": "algorithms/Number.add",
        "description": "Adds the first value to the second.",
        "returnType": "Number",
        "arguments": [
            {"argumentName": "left", "type": "Number", "description": "The left-hand value."},
            {"argumentName": "right", "type": "Number", "description": "The right-hand value."},
        ],
    },
    {
        "name": "algorithms/Element.set",
        "description": "Overrides one or more metadata properties of an Element.",
        "returnType": "Element",
        "arguments": [
            {"argumentName": "object", "type": "Element", "description": "The Element instance."},
            {"argumentName": "key", "type": "String", "description": "The name of the property to set."},
            {"argumentName": "value", "type": "Object", "description": "The value to set."},
        ],
    },
)

_API_NAME = re.compile(r"[a-z][a-z0-9]*")
_ALGORITHMS_ROUTE = next(route for route in SERVICE_ROUTES if route.endpoint == "algorithms")


def discovery_document(
    profile: Profile, root_url: str, version: str, api: str | None = None, *, schemas: Schemas | None = None
) -> JSON:
    """The discovery document of ``profile``'s operations resource, served from ``root_url``.

    ``api`` is the service name a client asked for (``/discovery/v1/apis/{api}/{version}/rest``),
    None for ``/$discovery/rest``. A version or an API the profile's service does not have is
    NOT_FOUND, naming what it does have; an API another profile emulates is FAILED_PRECONDITION,
    naming that profile (see the module's docstring). The messages' schemas are translated from ``schemas``
    (the package's, by default).
    """
    naming = naming_of(profile)
    name = _api_name(profile, naming, api)
    _check_version(profile, naming, name, version)
    translator = SchemaTranslator(load_schemas() if schemas is None else schemas, _PACKAGES)
    resources: JSON = {}
    collections = naming.collections if profile.bindings is None else published_collections(profile, version)
    for collection in collections:
        methods = _methods(profile, naming, name, version, collection, translator)
        if methods:
            _resource(resources, collection.resource)["methods"] = methods
    if naming.algorithms or (naming.api is None and api is None):  # the generic one: see the module's docstring
        _resource(resources, ("projects", "algorithms"))["methods"] = {
            "list": _algorithms_method(name, version, served=naming.algorithms),
        }
    document: JSON = {
        "kind": "discovery#restDescription",
        "discoveryVersion": "v1",
        "id": f"{name}:{version}",
        "name": name,
        "version": version,
        "revision": "0",
        "title": naming.title,
        "description": f"{naming.title}: the long-running operations of the lro-emulator's "
                       f"{profile.name} profile ({profile.description}).",
        "documentationLink": naming.documentation,
        "protocol": "rest",
        "rootUrl": root_url,
        "servicePath": "",
        "basePath": "",
        "baseUrl": root_url,
        "fullyEncodeReservedExpansion": True,
        "parameters": {
            key: {"location": "query", "type": "string", **copy.deepcopy(spec)}
            for key, spec in sorted(_SYSTEM_PARAMETERS.items())
            if key in STANDARD_QUERY_PARAMETERS
        },
        "resources": resources,
    }
    document["schemas"] = _schemas(naming, resources, translator)
    return document


def algorithms(profile: Profile, project: str) -> JSON:
    """Earth Engine's ``projects.algorithms.list`` answer (what ``ee.Initialize`` needs).

    A few real signatures: enough for ``ee.Initialize`` to bind them and stop asking. Other
    profiles have no such method and answer NOT_FOUND.
    """
    if not naming_of(profile).algorithms:
        raise StatusError(
            Code.NOT_FOUND,
            f"projects.algorithms.list is an Earth Engine method (ee.Initialize calls it), and this emulator runs "
            f"the {profile.name} profile, which is not Earth Engine; start it with the earthengine profile: "
            f"{_starting('earthengine')}",
            reason="ALGORITHMS_NOT_OFFERED",
        )
    return {"algorithms": copy.deepcopy(list(_ALGORITHMS))}


def published_collections(profile: Profile, version: str) -> list[OperationsCollection]:
    """The operations resources of a profile's published bindings under ``version``, as discovery documents name them.

    A collection's resource path is the literal segments of its operation names (``projects/*/locations/*/
    datasets/*/operations/*`` is ``projects.locations.datasets.operations``), its patterns those of the bindings,
    and its methods the RPCs bound for it. A ListOperations binding that does not end in ``/operations`` (Vertex AI
    publishes a few with ``:wait``) has no place in a discovery document and is left out of it.
    """
    assert profile.bindings is not None
    prefix = f"/{version}/"
    rpcs_of: dict[str, set[str]] = {}
    listed: set[str] = set()
    for rpc, texts in profile.bindings.items():
        for text in texts:
            template = text.split(" ", 1)[1]
            if not template.startswith(prefix):
                continue
            found = re.fullmatch(r"/[^/]+/\{name=([^}]*)\}(/operations)?(:\w+)?", template)
            if rpc == "ListOperations":
                if template == f"{prefix}operations":
                    listed.add("")
                elif found is not None and found.group(2) and not found.group(3):
                    listed.add(found.group(1))
            elif found is not None and not found.group(2):
                rpcs_of.setdefault(found.group(1), set()).add(rpc)
    collections = []
    for name, rpcs in rpcs_of.items():
        parent = collection_of(name)
        if parent in listed:
            rpcs.add("ListOperations")
        collections.append(OperationsCollection(
            tuple(segment for segment in name.split("/") if segment not in ("*", "**")),
            _pattern(name), _pattern(parent) if parent else None,
            list_endpoint="list" if parent else "list_global", rpcs=frozenset(rpcs)))
    return collections


def _pattern(template: str) -> str:
    """A path template as a discovery ``pattern``: ``projects/*/operations/**`` is
    ``^projects/[^/]+/operations/.+$``."""
    pieces = {"*": "[^/]+", "**": ".+"}
    return "^" + "/".join(pieces.get(segment, re.escape(segment)) for segment in template.split("/")) + "$"


def naming_of(profile: Profile) -> ServiceNaming:
    """The naming of ``profile``'s service; a profile made outside the package is described like the generic one."""
    return SERVICES.get(profile.name, SERVICES["generic"])


# -- building ----------------------------------------------------------------------------------------


def _starting(profile: str) -> str:
    """The ways to start an emulator on ``profile``: the marker, the constructor, the command line."""
    return (f"@pytest.mark.lro_emulator(profile={profile!r}), Emulator(profile={profile!r}) or "
            f"`lro-emulator serve --profile {profile}`")


def _api_name(profile: Profile, naming: ServiceNaming, api: str | None) -> str:
    if api is None:
        return naming.default_api
    if api == naming.api:
        return api
    # Another profile's API, even where any name goes: its clients need that profile's resources.
    served_by = next((key for key, value in SERVICES.items() if value.api == api), None)
    if served_by is not None:
        raise StatusError(
            Code.FAILED_PRECONDITION,
            f"no discovery document for API {api!r} here: this emulator runs the {profile.name} profile, whose "
            f"discovery document has none of {api}'s resources; start it with the {served_by} profile: "
            f"{_starting(served_by)}",
            reason="API_OF_ANOTHER_PROFILE",
            metadata={"api": api, "profile": profile.name, "servedBy": served_by},
        )
    if naming.api is None and _API_NAME.fullmatch(api):
        return api
    served = ", ".join(f"{key} serves {value.api!r}" for key, value in SERVICES.items() if value.api)
    wanted = "any API named in lowercase letters and digits" if naming.api is None else f"the {naming.api!r} API"
    raise StatusError(
        Code.NOT_FOUND,
        f"no discovery document for API {api!r}: the {profile.name} profile emulates {wanted}; "
        f"fetch /discovery/v1/apis/{naming.default_api}/v1/rest, or reset the emulator to the profile of "
        f"the service you need ({served})",
        reason="API_NOT_FOUND",
        metadata={"api": api, "profile": profile.name},
    )


def _check_version(profile: Profile, naming: ServiceNaming, api: str, version: str) -> None:
    if naming.versions is None:
        if re.fullmatch(CONVERTER_PATTERNS["version"], version):
            return
        served = "any version segment such as v1, v1beta1 or v2"
    elif version in naming.versions:
        return
    else:
        served = ", ".join(naming.versions)
    raise StatusError(
        Code.NOT_FOUND,
        f"no discovery document for {api} version {version!r}: the {profile.name} profile serves {served}; "
        f"ask for /$discovery/rest?version=v1 or /discovery/v1/apis/{api}/v1/rest",
        reason="API_VERSION_NOT_FOUND",
        metadata={"api": api, "version": version, "profile": profile.name},
    )


def _resource(resources: JSON, path: tuple[str, ...]) -> JSON:
    """The (possibly new) resource at ``path`` inside ``resources``."""
    node: JSON = {"resources": resources}
    for part in path:
        node = node.setdefault("resources", {}).setdefault(part, {})
    return node


def _methods(
    profile: Profile, naming: ServiceNaming, api: str, version: str, collection: OperationsCollection,
    translator: SchemaTranslator,
) -> JSON:
    methods: JSON = {}
    for rpc in RPCS:
        if not profile.offers(rpc) or (collection.rpcs is not None and rpc not in collection.rpcs):
            continue
        route = _route(rpc, collection)
        if route.endpoint == "list_global" and not profile.accepts_parent(""):
            continue  # the profile does not list the global collection, so the document does not offer it
        methods[_METHOD_NAMES[rpc]] = _method(naming, api, version, collection, route, translator)
    return methods


def _route(rpc: str, collection: OperationsCollection) -> Route:
    """The one route of ``rpc`` this collection uses (ListOperations has two)."""
    routes = [route for route in ROUTES if route.rpc == rpc]
    if rpc == "ListOperations":
        routes = [route for route in routes if route.endpoint == collection.list_endpoint]
    (route,) = routes
    return route


def _method(
    naming: ServiceNaming, api: str, version: str, collection: OperationsCollection, route: Route,
    translator: SchemaTranslator,
) -> JSON:
    rpc = route.rpc
    listing = rpc == "ListOperations"
    path = _path(route.rule, version)
    method: JSON = {
        "description": _DESCRIPTIONS[rpc],
        "httpMethod": route.method,
        "id": ".".join((api, *collection.resource, _METHOD_NAMES[rpc])),
        "parameterOrder": [],
        "parameters": {},
        "path": path,
    }
    if "{+name}" in path:
        pattern = collection.parent_pattern if listing else collection.name_pattern
        name: JSON = {
            "description": "The name of the operation's parent resource." if listing
            else "The name of the operation resource.",
            "location": "path",
            "required": True,
            "type": "string",
        }
        if pattern is not None:
            name["pattern"] = pattern
        method["parameters"]["name"] = name
        method["parameterOrder"] = ["name"]
    if collection.flat:
        segments = collection.resource[:-1] if listing else collection.resource
        flat = "/".join(f"{part}/{{{part}Id}}" for part in segments)
        method["flatPath"] = path.replace("{+name}", flat)
    for key, kind in route.query:
        # The route says what the server accepts; the service decides what its document declares.
        if (key == "returnPartialSuccess" and not naming.partial_success) or (
            key == "timeout" and naming.wait_timeout == "body"
        ):
            continue
        method["parameters"][key] = {"description": _QUERY_DESCRIPTIONS[key], "location": "query",
                                     **_QUERY_TYPES[kind]}
    body = translator.kind(route.request) if route.request else None
    if (body == "CancelOperationRequest" and naming.cancel_body) or (
        body == "WaitOperationRequest" and naming.wait_timeout == "body"
    ):
        method["request"] = {"$ref": body}
    method["response"] = {"$ref": translator.kind(route.response or "")}
    return method


def _path(rule: str, version: str) -> str:
    """A route rule as a discovery path: ``/<version:version>/<operation:name>:cancel`` -> ``v1/{+name}:cancel``."""
    def replace(match: re.Match[str]) -> str:
        converter = match.group(1)
        if converter == "version":
            return version
        if converter in ("operation", "collection"):
            return "{+name}"  # the real documents call the list parent "name" too
        raise ValueError(f"no discovery form for the route placeholder {match.group(0)} in {rule}")

    return re.sub(r"<(\w+):(\w+)>", replace, rule).lstrip("/")


def _algorithms_method(api: str, version: str, *, served: bool = True) -> JSON:
    # The route spells the project as one segment; the document, like Earth Engine's, takes the
    # whole "projects/{project}" as the parent.
    rule = _ALGORITHMS_ROUTE.rule.replace("projects/<project>", "{+parent}")
    path = _path(rule, version)
    method: JSON = {
        "description": "Gets the list of all the algorithms available for use in Expressions.",
        "flatPath": path.replace("{+parent}", "projects/{projectsId}"),
        "httpMethod": _ALGORITHMS_ROUTE.method,
        "id": f"{api}.projects.algorithms.list",
        "parameterOrder": ["parent"],
        "parameters": {
            "parent": {
                "description": "The project that is the service consumer for this request, `projects/{project-id}`.",
                "location": "path",
                "pattern": "^projects/[^/]+$",
                "required": True,
                "type": "string",
            },
        },
        "path": path,
        "response": {"$ref": "ListAlgorithmsResponse"},
    }
    if not served:
        # Declared only to answer NOT_FOUND (see the module's docstring): no response, so the document keeps
        # its own schemas alone.
        del method["response"]
        method["description"] = ("Earth Engine's algorithm list, which ee.Initialize reads first. Only the "
                                 "earthengine profile serves it; here it answers NOT_FOUND saying so.")
    return method


def _schemas(naming: ServiceNaming, resources: JSON, translator: SchemaTranslator) -> JSON:
    """The schemas the methods refer to, and those they refer to, renamed in the service's style."""
    wanted = sorted(_references(resources))
    found: dict[str, JSON] = {}
    while wanted:
        kind = wanted.pop()
        if kind not in found:
            found[kind] = translator.message(kind) if kind in _PACKAGES else _EARTH_ENGINE_SCHEMAS[kind]
            wanted.extend(_references(found[kind]))
    schemas: JSON = {}
    for kind in sorted(found):
        name = _schema_name(naming, kind)
        schemas[name] = {"id": name, **_renamed(naming, found[kind])}
    _rename_references(naming, resources)
    return schemas


def _references(node: object) -> set[str]:
    if isinstance(node, Mapping):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _references(value)
        return found
    if isinstance(node, list):
        return set().union(*(_references(value) for value in node)) if node else set()
    return set()


def _renamed(naming: ServiceNaming, node: Any) -> Any:
    if isinstance(node, Mapping):
        return {key: _schema_name(naming, value) if key == "$ref" else _renamed(naming, value)
                for key, value in node.items()}
    if isinstance(node, list):
        return [_renamed(naming, value) for value in node]
    return node


def _rename_references(naming: ServiceNaming, node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                node[key] = _schema_name(naming, value)
            else:
                _rename_references(naming, value)
    elif isinstance(node, list):
        for value in node:
            _rename_references(naming, value)


def _schema_name(naming: ServiceNaming, kind: str) -> str:
    package = _PACKAGES.get(kind)
    if package is None or naming.schema_style == "plain":
        return kind
    separator = "__" if naming.schema_style == "underscored" else ""
    return f"Google{package}{separator}{kind}"

